"""Functional: the model between ``keras.Input`` tensors and layer outputs.

    inputs = keras.Input(shape=(784,))
    x = layers.Dense(64, activation="relu")(inputs)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)

The graph is found by walking back from the outputs through the nodes the
layer calls recorded (tinynn.symbolic); ``layers`` are ordered as Keras
orders them (by depth from the outputs, deepest first; ties in the order the
walk met them).
"""

from __future__ import annotations

from typing import Any

from ..layers import InputLayer, Layer
from ..symbolic import KerasTensor, flatten
from .model import Model


def _structure(value: Any, what: str) -> tuple[Any, list[KerasTensor]]:
    """(the structure as given, its tensors flattened), checked."""
    if isinstance(value, KerasTensor):
        return value, [value]
    if isinstance(value, dict):
        tensors = list(value.values())
    elif isinstance(value, (list, tuple)):
        tensors = list(flatten(value))
    else:
        raise TypeError(
            f"Model: {what} must be a tensor from keras.Input or a layer call, or a "
            f"list, tuple or dict of them; got {type(value).__name__}"
        )
    if not tensors:
        raise ValueError(f"Model: {what} must not be empty")
    for t in tensors:
        if not isinstance(t, KerasTensor):
            raise TypeError(
                f"Model: every entry of {what} must be a symbolic tensor (from "
                f"keras.Input or a layer call); got {type(t).__name__}"
            )
    return value, tensors


def map_graph(inputs: list[KerasTensor], outputs: list[KerasTensor]):
    """(nodes in execution order, layers in Keras's order) of the graph
    between `inputs` and `outputs`; errors for tensors not reachable from the
    inputs, cycles and duplicate layer names."""
    finished: list[Any] = []  # nodes in post-order: every parent first
    seen: set[int] = set()
    layer_index: dict[int, int] = {}
    layer_of: dict[int, Layer] = {}
    input_ids = {id(t) for t in inputs}

    def visit(tensor: KerasTensor, path: tuple) -> None:
        node = tensor.node
        layer = node.layer
        if id(layer) not in layer_index:
            layer_index[id(layer)] = len(layer_index)
            layer_of[id(layer)] = layer
        if id(node) in seen:
            return
        if id(node) in path:
            raise ValueError(
                f"Model: the graph has a cycle through layer {layer.name!r}"
            )
        if isinstance(layer, InputLayer) and id(tensor) not in input_ids:
            raise ValueError(
                f"Graph disconnected: cannot obtain value for tensor {tensor.name} "
                f"(the Input {layer.name!r} is not among the model's inputs)"
            )
        for parent in node.inputs:
            visit(parent, path + (id(node),))
        seen.add(id(node))
        finished.append(node)

    for t in outputs:
        visit(t, ())
    # Depth: 0 at the outputs, a parent one deeper than its deepest child.
    depth: dict[int, int] = {}
    for node in reversed(finished):
        d = depth.setdefault(id(node), 0)
        for parent in node.parents:
            depth[id(parent)] = max(depth.get(id(parent), 0), d + 1)
    order = sorted(range(len(finished)), key=lambda i: -depth[id(finished[i])])
    nodes = [finished[i] for i in order]
    layer_depth: dict[int, int] = {}
    for node in finished:
        key = id(node.layer)
        layer_depth[key] = max(layer_depth.get(key, 0), depth[id(node)])
    layers = sorted(
        (layer_of[key] for key in layer_index),
        key=lambda layer: (-layer_depth[id(layer)], layer_index[id(layer)]),
    )
    names = [layer.name for layer in layers]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(
                f'The name "{name}" is used {names.count(name)} times in the model. '
                "All layer names should be unique."
            )
    for t in inputs:
        if not isinstance(t.node.layer, InputLayer):
            raise ValueError(
                f"Model: inputs must come from keras.Input; {t.name} is the output "
                f"of layer {t.node.layer.name!r}"
            )
    return [n for n in nodes if not isinstance(n.layer, InputLayer)], layers


# Not registered as a "model" class yet: the file formats do not write or
# read functional configs (the loaders reject them by name, as before).
class Functional(Model):
    """A model defined by its input and output tensors (``keras.Model(inputs,
    outputs, name=None)``).

    Parameters
    ----------
    inputs : KerasTensor, or list, tuple or dict of them
        Tensors returned by ``keras.Input``.
    outputs : KerasTensor, or list, tuple or dict of them
        Tensors returned by layer calls on (tensors derived from) the inputs.
    name : str, optional
        Defaults to ``model``, ``model_1``...

    Example
    -------
    >>> inputs = Input(shape=(4,))
    >>> outputs = Dense(3, activation="softmax")(Dense(8, activation="relu")(inputs))
    >>> model = Model(inputs, outputs)
    """

    def __init__(
        self,
        inputs: Any = None,
        outputs: Any = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        for key in kwargs:
            if key != "trainable":
                raise TypeError(f"Model: unexpected keyword argument {key!r}")
        if inputs is None or outputs is None:
            raise TypeError(
                "Model: give inputs and outputs, e.g. keras.Model(inputs, outputs), or "
                "subclass keras.Model"
            )
        self._init_model(name, "model")
        self._set_graph(inputs, outputs)

    def _set_graph(self, inputs: Any, outputs: Any) -> None:
        self._input_structure, self.inputs = _structure(inputs, "inputs")
        self._output_structure, self.outputs = _structure(outputs, "outputs")
        self._nodes, self._layers = map_graph(self.inputs, self.outputs)
        # The single input's shape without the batch axis (what chain code reads).
        self._input_features = (
            tuple(self.inputs[0].shape[1:]) if len(self.inputs) == 1 else None
        )
        dtypes = {layer.dtype for layer in self._weight_layers}
        if len(dtypes) > 1:
            raise ValueError(
                f"Model: all layers must share one dtype; got {sorted(dtypes)} "
                "(use tinynn.backend.set_floatx)"
            )
        self.built = True
        self._consolidate()

    @property
    def layers(self) -> list[Layer]:
        """Every layer of the graph, InputLayers included, in Keras's order."""
        return list(self._layers)

    @property
    def input_names(self) -> list[str]:
        return [t.node.layer.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        """Per output: its dict key, or the name of the layer producing it."""
        if isinstance(self._output_structure, dict):
            return list(self._output_structure)
        return [t.node.layer.name for t in self.outputs]

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(
            "Functional.get_config: saving functional models is not written yet"
        )


Model._functional_class = Functional
