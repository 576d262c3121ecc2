"""Sequential: a stack of layers, run as a chain graph (as in Keras).

The model keeps its list of layers; once the input shape is known (the first
layer's ``input_shape``, an ``Input``/``InputLayer``, ``build`` or the first
batch of data) it calls them one after the other on a symbolic input, so
that the model is a graph like any functional model: ``layer.input``,
``layer.output``, ``model.inputs`` and ``model.outputs`` work, and the same
executor runs it. ``add`` extends the chain, ``pop`` shortens it.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import registry
from .._checks import describe
from ..layers import InputLayer, Layer
from ..symbolic import KerasTensor
from .functional import Functional
from .model import Model


@registry.register("model")
class Sequential(Functional):
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
        self._init_model(name, "sequential")
        self._layers: list[Layer] = []
        self._input_features: tuple[int, ...] | None = None
        # The InputLayer the user gave (saved as Keras saves it), if any.
        self._input_layer: InputLayer | None = None
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

        ``keras.Input(shape)`` (a symbolic tensor) or an InputLayer first
        declares the input shape. A model given as a layer, Sequential or
        functional (``Sequential([model, Softmax()])``, as in the TensorFlow
        tutorials), is nested as one layer, as in Keras: ``layers`` and
        ``summary`` list it once, ``get_layer(model.name)`` returns it, the
        files save it as a nested model, and both models use and train the
        same weights (``model.trainable = False`` freezes them in the outer
        model's fit). An inner model without an input shape is built when the
        outer one is.
        """
        if isinstance(layer, KerasTensor) and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer
        nested = isinstance(layer, Model)  # a model: one layer, nested
        if nested and layer is self:
            raise ValueError("Sequential.add: a model cannot be added to itself")
        if isinstance(layer, Sequential) and not layer._layers:
            raise ValueError(
                f"Sequential.add: model {layer.name!r} has no layers to add"
            )
        if not (nested or isinstance(layer, Layer)):
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
        if self._layers and getattr(layer, "_string_input", False):
            raise ValueError(
                f"Sequential.add: {type(layer).__name__} layer {layer.name!r} must be "
                "the first layer of the model (it reads the input strings)"
            )
        if not self._layers and self._input_features is None:
            self._input_features = (
                layer._input_features if nested else layer._declared_input_shape
            )
        if not self.trainable:
            layer.trainable = False
        self._layers.append(layer)
        if self.built:  # extend the chain by one node
            try:
                output = layer(self.outputs[0])
            except Exception:
                self._layers.pop()
                raise
            self._set_chain(self.inputs[0], self._nodes + [output.node])
        elif self._input_features is not None:
            self._build_layers(self._input_features)

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self._layers:
            raise TypeError("Sequential.pop: there are no layers in the model")
        layer = self._layers.pop()
        if self.built:
            if self._layers:
                self._set_chain(self.inputs[0], self._nodes[:-1])
            else:
                self.built = False
                self._nodes, self.outputs = [], []
        return layer

    def _build_for_symbolic(self, x: Any) -> None:
        if isinstance(x, KerasTensor):
            self.build(x.shape)
        else:
            super()._build_for_symbolic(x)

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
        if self.built and tuple(features) == tuple(self._input_features):
            return
        self._build_layers(features)

    def _build_layers(self, features: tuple[int, ...]) -> None:
        """Call the layers in order on a symbolic input of shape (None, *features)."""
        if not self._layers:
            self._input_features = features
            return
        dtypes = {np.dtype(layer.dtype).name for layer in self._layers}
        if len(dtypes) > 1:
            raise ValueError(
                f"Sequential: all layers must share one dtype; got "
                f"{sorted(dtypes)} (use tinynn.backend.set_floatx)"
            )
        given = self._input_layer
        if given is not None and tuple(given._declared_input_shape) == tuple(features):
            source = given
        else:
            source = InputLayer(
                shape=features, dtype=self._layers[0].dtype, name=f"{self.name}_input"
            )
        x = source.output
        nodes = []
        for layer in self._layers:
            x = layer(x)
            nodes.append(x.node)
        self._input_features = tuple(features)
        self._set_chain(source.output, nodes)

    def _set_chain(self, input_tensor: KerasTensor, nodes: list[Any]) -> None:
        """The graph: `input_tensor` through `nodes` (one per layer, in order)."""
        self.inputs = [input_tensor]
        self.outputs = [nodes[-1].outputs[0]]
        self._input_structure = input_tensor
        self._output_structure = self.outputs[0]
        self._nodes = list(nodes)
        self.built = True
        self._consolidate()

    @property
    def input_shape(self) -> tuple:
        """(None, *features) once known."""
        if self._input_features is None:
            raise AttributeError(
                "Sequential.input_shape: the model has no input shape yet"
            )
        return (None, *self._input_features)

    # ---- saving ---------------------------------------------------------------
    @classmethod
    def from_config(
        cls, config: dict[str, Any], make_layer: Any = None, build_shape: Any = None
    ) -> Sequential:
        """A Sequential from its config (tinynn's, Keras 2's or Keras 3's):
        each entry of ``layers`` made by `make_layer(entry, field)` (the file
        readers pass theirs) and added, then built for `build_shape` (the
        config's ``build_input_shape``) if the layers did not give one."""
        model = cls(name=config.get("name"))
        entries = config.get("layers", [])
        if not isinstance(entries, list):
            raise ValueError("field 'layers' must be a list of layer entries")
        for index, entry in enumerate(entries):
            if make_layer is None:
                layer = registry.lookup("layer", entry["class_name"]).from_config(
                    entry.get("config", {})
                )
            else:
                layer = make_layer(entry, f"layers[{index}]")
            model.add(layer)
        if build_shape is not None and not model.built:
            model.build(tuple(build_shape))
        if config.get("trainable") is False:  # a frozen model (Keras 3 writes it)
            model.trainable = False
        return model

    def get_config(self) -> dict[str, Any]:
        """Architecture as JSON-able data (Keras's layout)."""
        layers = [
            {"class_name": type(layer).__name__, "config": layer.get_config()}
            for layer in self._layers
        ]
        config: dict[str, Any] = {"name": self.name, "layers": layers}
        if not self.trainable:
            config["trainable"] = False
        if self._input_features is not None:
            config["build_input_shape"] = [None, *self._input_features]
        return config
