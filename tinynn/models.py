"""Sequential: a stack of layers (structure only, as in Keras).

The model holds its layers and their parameter store (tinynn.parameters:
weights and gradients in one flat buffer each, per-weight trainable flags).
Its training methods (compile, fit, evaluate, predict, ``*_on_batch``)
delegate to its Trainer (tinynn.training), ``summary`` to tinynn.summary,
and ``save``/``save_weights``/``load_weights`` to tinynn.saving.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np

from . import _unsupported, backend, losses, optimizers, registry, saving
from . import summary as summary_module
from ._checks import describe
from .callbacks import History
from .layers import InputLayer, Layer, set_weight_values
from .parameters import ParameterStore, set_trainable
from .training import Trainer


def _delegate(name: str):
    """A Sequential method that runs the Trainer's method `name` (same
    signature and docstring, so help() shows the Trainer's)."""
    trainer_method = getattr(Trainer, name)

    @functools.wraps(trainer_method)
    def method(self, *args: Any, **kwargs: Any) -> Any:
        return trainer_method(self._trainer, *args, **kwargs)

    return method


@registry.register("model")
class Sequential:
    """A linear stack of layers (``tf.keras.Sequential``).

    Parameters
    ----------
    layers : list of Layer, optional
        Added in order with `add`.
    name : str, optional
        Defaults to ``sequential``, ``sequential_1``...

    Example
    -------
    >>> model = Sequential([Flatten(input_shape=(28, 28)),
    ...                     Dense(128, activation="relu"), Dense(10, activation="softmax")])
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
    ...               metrics=["accuracy"])
    """

    def __init__(self, layers: Sequence[Layer] | None = None, name: str | None = None):
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(
                f"Sequential: name must be a non-empty string; got {name!r}"
            )
        self.name = name or backend.unique_name("sequential")
        self._layers: list[Layer] = []
        self._input_features: tuple[int, ...] | None = None
        self._input_layer: InputLayer | None = None
        self.built = False
        # Set by compile (Keras's public model attributes).
        self.optimizer: optimizers.Optimizer | None = None
        self.loss: losses.Loss | None = None
        self.compiled_metrics: list[Any] = []
        self.stop_training = False
        self.history: History | None = None
        self._store: ParameterStore | None = None
        self._trainer = Trainer(self)
        if layers is not None:
            if isinstance(layers, Layer) or not hasattr(layers, "__iter__"):
                raise TypeError(
                    f"Sequential: layers must be a list of layers; got "
                    f"{describe(layers)}"
                )
            for layer in layers:
                self.add(layer)

    # ---- structure ---------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        """The layers, in order (an InputLayer is not listed, as in Keras)."""
        return list(self._layers)

    def add(self, layer: Layer) -> None:
        """Append a layer; builds the model at once if the input shape is known.

        A Sequential given as a layer (``Sequential([model, Softmax()])``, as
        in the TensorFlow tutorials) contributes its layers, shared: both
        models then use and train the same weights, as in Keras. Unlike
        Keras, ``layers`` and ``summary`` list those layers one by one
        rather than the inner model as one layer.
        """
        if isinstance(layer, Sequential):
            self._add_model(layer)
            return
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential.add: layer must be a tinynn layer; got {describe(layer)}"
            )
        if isinstance(layer, InputLayer):
            if self._layers or self._input_layer is not None:
                raise ValueError(
                    "Sequential.add: an InputLayer must be the first layer"
                )
            self._input_layer = layer
            self._input_features = layer._declared_input_shape
            return
        if any(existing.name == layer.name for existing in self._layers):
            raise ValueError(
                f"Sequential.add: all layers must have unique names; {layer.name!r} is "
                f"already in model {self.name!r}"
            )
        if not self._layers and self._input_features is None:
            self._input_features = layer._declared_input_shape
        if not self.trainable:
            layer.trainable = False
        self._layers.append(layer)
        if self._input_features is not None:
            self._build_layers(self._input_features)

    def _add_model(self, model: Sequential) -> None:
        if model is self:
            raise ValueError("Sequential.add: a model cannot be added to itself")
        if not model._layers:
            raise ValueError(
                f"Sequential.add: model {model.name!r} has no layers to add"
            )
        if not self._layers and self._input_features is None:
            self._input_features = model._input_features
        for inner in model._layers:
            self.add(inner)

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by name or by position in ``layers`` (as in Keras)."""
        if index is not None and name is not None:
            raise ValueError(
                "Sequential.get_layer: provide only a layer name or a layer index; "
                f"got name={name!r}, index={index!r}"
            )
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
                raise TypeError(
                    f"Sequential.get_layer: index must be an int; got {describe(index)}"
                )
            if not -len(self._layers) <= index < len(self._layers):
                raise ValueError(
                    f"Sequential.get_layer: was asked to retrieve layer at index "
                    f"{index} but model only has {len(self._layers)} layers."
                )
            return self._layers[index]
        if name is not None:
            for layer in self._layers:
                if layer.name == name:
                    return layer
            raise ValueError(
                f"Sequential.get_layer: no such layer: {name}. Existing layers are: "
                f"{[layer.name for layer in self._layers]}."
            )
        raise ValueError(
            "Sequential.get_layer: provide either a layer name or a layer index"
        )

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self._layers:
            raise TypeError("Sequential.pop: there are no layers in the model")
        layer = self._layers.pop()
        if self.built and self._layers:
            self._consolidate()
        return layer

    def build(self, input_shape: Any = None) -> None:
        """Create all weights for inputs of `input_shape` (batch axis first, e.g.
        ``(None, 784)``)."""
        if input_shape is None:
            if self._input_features is None:
                raise ValueError(
                    "Sequential.build: input_shape must be given, e.g. "
                    "model.build((None, 784))"
                )
            features = self._input_features
        else:
            shape = tuple(input_shape)
            if len(shape) < 2:
                raise ValueError(
                    f"Sequential.build: input_shape must include the batch "
                    f"axis, e.g. (None, 784); got {input_shape!r}"
                )
            features = tuple(int(d) for d in shape[1:])
        self._build_layers(features)

    def _build_layers(self, features: tuple[int, ...]) -> None:
        if not self._layers:
            self._input_features = features
            return
        dtypes = {layer.dtype for layer in self._layers}
        if len(dtypes) > 1:
            raise ValueError(
                f"Sequential: all layers must share one dtype; got "
                f"{sorted(dtypes)} (use tinynn.backend.set_floatx)"
            )
        shape: tuple = (None, *features)
        for layer in self._layers:
            if not layer.built:
                layer.build(shape)
            elif tuple(layer.input_shape) != tuple(shape):
                raise ValueError(
                    f'Input 0 of layer "{layer.name}" is incompatible with the layer: '
                    f"expected shape {layer.input_shape}, but received input with shape "
                    f"{shape}"
                )
            shape = layer.output_shape
        self._input_features = tuple(features)
        self._consolidate()
        self.built = True

    def _consolidate(self) -> None:
        """A new parameter store for the current layers (their values copied
        in); activation buffers and optimizer moments start afresh."""
        with self._trainer.lock:  # not while another thread runs a batch
            self._store = ParameterStore(self._layers, self.dtype)
            self._trainer.layout_changed()

    def _parameters(self) -> ParameterStore:
        """The parameter store, bound to the layers as they are now.

        A layer object in two models (shared weights, as in Keras) holds
        views of the buffer of whichever model bound it last; training this
        model through its own buffer would then leave that layer untouched.
        And a layer whose ``trainable`` flag changed since the store was
        laid out must move between its trainable and frozen parts. Either
        way a new store is laid out, the layers' current values copied in
        (so models sharing a layer keep seeing the same weights) and the
        optimizer's moments carried over for the weights that stay
        trainable."""
        with self._trainer.lock:
            if self._store is None:
                self._consolidate()
            elif not self._store.matches(self._layers):
                old = self._store
                self._store = ParameterStore(self._layers, self.dtype)
                self._store.carry_optimizer_state(old, self.optimizer)
                self._trainer.layout_changed(reset_optimizer=False)
            return self._store

    @property
    def dtype(self) -> np.dtype:
        """The model's float dtype (its layers')."""
        return self._layers[0]._dtype if self._layers else np.dtype(backend.floatx())

    @property
    def input_shape(self) -> tuple:
        """(None, *features) once known."""
        if self._input_features is None:
            raise AttributeError(
                "Sequential.input_shape: the model has no input shape yet"
            )
        return (None, *self._input_features)

    @property
    def output_shape(self) -> tuple:
        """The last layer's output shape (batch axis None)."""
        self._require_built("output_shape")
        return self._layers[-1].output_shape

    def _require_built(self, where: str) -> None:
        if not self.built:
            raise ValueError(
                f"{where}: This model has not yet been built. Build the model first by "
                "calling `build()` or by calling the model on a batch of data."
            )

    # ---- weights -----------------------------------------------------------
    @property
    def trainable(self) -> bool:
        """Whether fit updates this model's weights (Keras's ``model.trainable``).

        Setting it sets ``trainable`` on every layer of the model, as Keras
        does, so the transfer-learning idiom ``base.trainable = False`` then
        ``Sequential([base, Dense(1)])`` trains only the new head (the outer
        model shares base's layers); a layer added to a frozen model is
        frozen too."""
        return getattr(self, "_trainable", True)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        set_trainable(self, self._layers, value)

    @property
    def weights(self) -> list[np.ndarray]:
        """Every layer's live weights, in layer order (kernel, bias, ...)."""
        return [w for layer in self._layers for w in layer.weights]

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        """The weights fit updates."""
        return [w for layer in self._layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        """The weights fit does not update (frozen layers, moving statistics)."""
        return [w for layer in self._layers for w in layer.non_trainable_weights]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of all weights in layer order: [W0, b0, W1, b1, ...]."""
        return [w.copy() for w in self.weights]

    def set_weights(self, weights: list[Any]) -> None:
        """Copy a list shaped like ``get_weights()`` into the model."""
        with self._trainer.lock:  # not while another thread runs a batch
            set_weight_values(self.name, self.weights, weights)

    def count_params(self) -> int:
        """Total number of weight values."""
        self._require_built("count_params")
        return sum(layer.count_params() for layer in self._layers)

    # ---- training: delegated to the Trainer (tinynn/training.py) ------------
    compile = _delegate("compile")
    fit = _delegate("fit")
    evaluate = _delegate("evaluate")
    predict = _delegate("predict")
    train_on_batch = _delegate("train_on_batch")
    test_on_batch = _delegate("test_on_batch")
    predict_on_batch = _delegate("predict_on_batch")
    __call__ = _delegate("call")

    @property
    def metrics_names(self) -> list[str]:
        """['loss', then each compiled metric's name]."""
        return self._trainer.metrics_names

    @property
    def _compiled(self) -> bool:
        return self._trainer.compiled

    @property
    def _trainable_size(self) -> int:
        """Values in the trainable part of the parameter store (the size of
        the optimizer's state arrays), for the trainable flags as they are."""
        self._require_built("_trainable_size")
        return self._parameters().trainable_size

    # ---- summary ---------------------------------------------------------------
    def summary(
        self,
        line_length: int | None = None,
        positions: Any = None,
        print_fn: Any = None,
        **kwargs: Any,
    ) -> None:
        """Print the layer table in tf.keras 2's classic layout (width 65)."""
        self._require_built("summary")
        summary_module.print_summary(self, line_length, positions, print_fn)

    # ---- saving ---------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Architecture as JSON-able data (Keras's layout)."""
        layers = [
            {"class_name": type(layer).__name__, "config": layer.get_config()}
            for layer in self._layers
        ]
        config: dict[str, Any] = {"name": self.name, "layers": layers}
        if self._input_features is not None:
            config["build_input_shape"] = [None, *self._input_features]
        return config

    def save(
        self,
        filepath: Any,
        overwrite: bool = True,
        include_optimizer: bool = True,
        **kwargs: Any,
    ) -> None:
        """Write architecture, weights and optimizer state to one file, atomically.

        The suffix chooses the format, as in Keras: .keras is Keras 3's zip,
        .h5/.hdf5 Keras-layout HDF5, any other tinynn's own format.
        """
        if self.built:  # lay out for the current trainable flags first, so
            self._parameters()  # the optimizer state saved matches them
        saving.save_model(
            self, filepath, overwrite=overwrite, include_optimizer=include_optimizer
        )

    def save_weights(
        self, filepath: Any, overwrite: bool = True, **kwargs: Any
    ) -> None:
        """Write only the weights (same formats as `save`)."""
        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: Any, **kwargs: Any) -> None:
        """Read weights written by `save_weights` or `save` into this model."""
        saving.load_weights(self, filepath)

    def to_json(self, **kwargs: Any) -> str:
        """The architecture as Keras's JSON (``models.model_from_json`` reads it)."""
        return saving.to_json(self, **kwargs)

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the model does not have: explain the
        # tf.keras methods removed since the articles were written.
        raise _unsupported.missing_method(self, name)

    def __repr__(self) -> str:
        return f"<Sequential name={self.name!r} layers={len(self._layers)} built={self.built}>"


Model = Sequential
model_from_json = saving.model_from_json
