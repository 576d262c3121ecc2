"""Clear errors for TensorFlow names tinynn deliberately does not provide.

``import tinynn as tf`` runs tf.keras beginner code; code that reaches for
TensorFlow's machinery beyond that gets an AttributeError saying what tinynn
offers instead, not Python's bare "has no attribute" (docs/keras-differences.md:
"Differences from tf.keras").
"""

from __future__ import annotations

from typing import Callable

_SEE = "see 'Differences from tf.keras' in tinynn's docs/keras-differences.md"

#: top-level TensorFlow names -> what to do instead
TENSORFLOW = {
    "GradientTape": "tinynn has no automatic differentiation of arbitrary code; "
    "layers have explicit backward passes: train with model.fit, or call "
    "loss.value_and_grad, layer.backward and optimizer.apply_gradients",
    "function": "tinynn runs eagerly and has no graph compiler; remove the "
    "@tf.function decorator",
    "data": "tinynn has no tf.data pipelines; pass NumPy arrays to fit, evaluate "
    "and predict, which batch and shuffle them",
    "Variable": "tinynn's weights are NumPy arrays (layer.weights, "
    "model.get_weights/set_weights)",
    "Module": "tinynn has no tf.Module; build models with Sequential",
}

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
