"""Clear errors for TensorFlow names tinynn deliberately does not provide.

``import tinynn as tf`` runs tf.keras beginner code; code that reaches for
TensorFlow's machinery beyond that gets an AttributeError saying what tinynn
offers instead, not Python's bare "has no attribute" (README: "Differences
from tf.keras").
"""

from __future__ import annotations

from typing import Callable

_SEE = "see 'Differences from tf.keras' in tinynn's README"

#: top-level TensorFlow names -> what to do instead
TENSORFLOW = {
    "GradientTape": "tinynn has no automatic differentiation of arbitrary code; "
    "layers have explicit backward passes: train with model.fit, or call "
    "loss.value_and_grad, layer.backward and optimizer.apply_gradients",
    "function": "tinynn runs eagerly and has no graph compiler; remove the "
    "@tf.function decorator",
    "Variable": "tinynn's weights are NumPy arrays (layer.weights, "
    "model.get_weights/set_weights)",
    "Module": "tinynn has no tf.Module; build models with Sequential",
    "config": "tinynn has no tf.config (no GPUs or devices to configure); set "
    "the kernel threads with tf.set_num_threads(n) or TINYNN_NUM_THREADS, the "
    "float type with tf.keras.backend.set_floatx",
    "math": "tinynn has no tf.math module; use NumPy on the arrays (np.argmax, "
    "np.exp...), or tf.reduce_sum / tf.reduce_mean / tf.argmax at the top level",
}

#: tf.keras.callbacks names tinynn does not have
CALLBACKS = {
    "TensorBoard": "tinynn writes no TensorBoard logs; use CSVLogger, the History "
    "that fit returns, or tinynn.plot.history(history) for the curves",
}

#: tf.keras.optimizers names tinynn does not have
OPTIMIZERS = {
    "legacy": "tinynn's optimizers already follow Keras 2 (and accept lr=); use "
    "tf.keras.optimizers.Adam, SGD... directly",
}

#: tf.keras.utils names tinynn does not have
UTILS = {
    "plot_model": "tinynn cannot draw model graphs; model.summary() prints the "
    "layers, their output shapes and parameter counts",
}

#: Sequential methods removed from tf.keras that old articles still call
MODEL = {
    "predict_classes": "it was removed in TensorFlow 2.6; use "
    "np.argmax(model.predict(x), axis=-1) (softmax output) or "
    "(model.predict(x) > 0.5).astype('int32') (sigmoid output)",
    "predict_proba": "it was removed in TensorFlow 2.6; use model.predict(x)",
    "fit_generator": "it was removed from tf.keras; use model.fit with NumPy arrays",
    "evaluate_generator": "it was removed from tf.keras; use model.evaluate",
    "predict_generator": "it was removed from tf.keras; use model.predict",
}


def missing_method(owner: object, name: str) -> AttributeError:
    """The AttributeError for `name` on `owner` (a model): Python's usual
    message, plus what to do instead for the methods in MODEL."""
    message = f"{type(owner).__name__!r} object has no attribute {name!r}"
    if name in MODEL:
        message += f": {MODEL[name]} ({_SEE})"
    return AttributeError(message)


_NOT_YET = "tinynn has dense, normalization, Conv1D/Conv2D/Conv2DTranspose, pooling "
_NOT_YET += "and embedding layers (no other convolutions, recurrent or attention "
_NOT_YET += "layers yet)"

#: tf.keras.layers names of layer kinds tinynn does not have
LAYERS = dict.fromkeys(
    [
        "Conv3D",
        "DepthwiseConv2D",
        "SeparableConv2D",
        "SimpleRNN",
        "LSTM",
        "GRU",
        "Bidirectional",
        "TimeDistributed",
        "MultiHeadAttention",
    ],
    _NOT_YET,
)


def module_getattr(
    module: str, missing: dict[str, str], shown_as: str
) -> Callable[[str], object]:
    """A module-level ``__getattr__`` for `module` that explains the names in
    `missing`, calling the module `shown_as` (the name user code gives it)."""

    def __getattr__(name: str) -> object:
        if name in missing:
            raise AttributeError(
                f"{shown_as}.{name} is not available in tinynn: {missing[name]} "
                f"({_SEE})"
            )
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
