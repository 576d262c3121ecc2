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

from .. import registry
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


@registry.register("model")
@registry.register("model", "Model")  # older Keras 2 files name it Model
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

    # ---- configs ------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The graph as Keras 2 writes a functional model's config: each
        layer's own config with its name and inbound nodes
        (``[[["dense", 0, 0, {}], ...], ...]``, one list per call), then
        ``input_layers`` and ``output_layers`` as [name, node, tensor]."""
        node_ids = _model_node_indices(self)
        entries = []
        for layer in self._layers:
            inbound = []
            for node in layer._inbound_nodes:
                if id(node) in node_ids and not isinstance(layer, InputLayer):
                    inbound.append([_history(t, node_ids) + [{}] for t in node.inputs])
            entries.append(
                {
                    "class_name": type(layer).__name__,
                    "config": layer.get_config(),
                    "name": layer.name,
                    "inbound_nodes": inbound,
                }
            )
        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": entries,
            "input_layers": _structure_config(self._input_structure, node_ids),
            "output_layers": _structure_config(self._output_structure, node_ids),
        }

    @classmethod
    def from_config(
        cls, config: dict[str, Any], make_layer: Any = None, build_shape: Any = None
    ) -> Functional:
        """Rebuild a functional model from its Keras 2 or Keras 3 config.

        `make_layer(entry, field)` builds one layer from its entry (the file
        readers pass theirs, which unwraps Keras 3's wrappers and names the
        file in errors); by default the class's ``from_config``.
        """
        make_layer = make_layer or _layer_from_entry
        entries = config.get("layers")
        if not isinstance(entries, list):
            raise ValueError("field 'layers' must be a list of layer entries")
        layers: dict[str, Layer] = {}
        pending: list[tuple[Layer, list]] = []
        for index, entry in enumerate(entries):
            field = f"layers[{index}]"
            if not isinstance(entry, dict):
                raise ValueError(f"field {field!r} must be a JSON object")
            layer = make_layer(entry, field)
            name = entry.get("name", layer.name)
            layers[name] = layer
            nodes = entry.get("inbound_nodes") or []
            if not isinstance(nodes, list):
                raise ValueError(f"field '{field}.inbound_nodes' must be a list")
            if not isinstance(layer, InputLayer):
                if not nodes:
                    raise ValueError(
                        f"field '{field}.inbound_nodes': layer {name!r} is not "
                        "connected to the graph (a functional model's layers each "
                        "list the tensors they are called on)"
                    )
                pending.append((layer, [_node_inputs(n, field) for n in nodes]))
        # (layer name, node index in this model) -> its output tensor
        made: dict[tuple[str, int], KerasTensor] = {}
        for name, layer in layers.items():
            if isinstance(layer, InputLayer):
                made[(name, 0, 0)] = layer.output
        calls = {id(layer): 0 for layer, _ in pending}
        first = _first_call_numbers(layers, pending, config.get("output_layers"))
        # Call layers whose inputs exist, pass after pass (Keras's loop).
        while pending:
            progressed = False
            for item in list(pending):
                layer, nodes = item
                while calls[id(layer)] < len(nodes):
                    args = nodes[calls[id(layer)]]
                    keys = list(args["tensors"])
                    if not all(k in made for k in keys):
                        break
                    tensors = [made[k] for k in keys]
                    out = layer(tensors if args["as_list"] else tensors[0])
                    # A nested model's calls are numbered from 1 (Keras).
                    number = calls[id(layer)] + first.get(layer.name, 0)
                    for t_index, t in enumerate(flatten(out)):
                        made[(layer.name, number, t_index)] = t
                    calls[id(layer)] += 1
                    progressed = True
                if calls[id(layer)] == len(nodes):
                    pending.remove(item)
                    progressed = True
            if not progressed:
                names = ", ".join(layer.name for layer, _ in pending)
                raise ValueError(
                    f"field 'layers': the inbound nodes of {names} name tensors no "
                    "layer produces"
                )

        def tensor_for(triple: Any, field: str) -> KerasTensor:
            if not (isinstance(triple, list) and len(triple) >= 2):
                raise ValueError(
                    f"field {field!r} must hold [layer name, node, tensor]"
                )
            key = (triple[0], triple[1], triple[2] if len(triple) > 2 else 0)
            if key not in made:
                raise ValueError(f"field {field!r} names an unknown tensor {triple!r}")
            return made[key]

        inputs = _structure_from_config(
            config.get("input_layers"), tensor_for, "input_layers"
        )
        outputs = _structure_from_config(
            config.get("output_layers"), tensor_for, "output_layers"
        )
        model = cls(inputs, outputs, name=config.get("name"))
        if config.get("trainable") is False:  # a frozen model
            model.trainable = False
        return model


def _first_call_numbers(
    layers: dict[str, Layer], pending: list, output_layers: Any
) -> dict[str, int]:
    """Per nested model, the number of its first call in the config: 1 as
    Keras 2 writes (node 0 being its own graph), 0 as Keras 3 writes. Every
    call of a nested model is referenced (an output or another layer's
    input), so a reference to node 0 means Keras 3's numbering."""
    nested = {name for name, layer in layers.items() if isinstance(layer, Model)}
    if not nested:
        return {}
    seen: dict[str, int] = {}
    refs = [t for _, nodes in pending for args in nodes for t in args["tensors"]]
    outs = output_layers if isinstance(output_layers, list) else []
    if isinstance(output_layers, dict):
        outs = list(output_layers.values())
    if outs and isinstance(outs[0], str):
        outs = [outs]
    refs += [tuple(t) for t in outs if isinstance(t, list) and len(t) >= 2]
    for ref in refs:
        if ref[0] in nested and isinstance(ref[1], int):
            seen[ref[0]] = min(seen.get(ref[0], ref[1]), ref[1])
    return {name: 0 if seen.get(name, 1) == 0 else 1 for name in nested}


def _model_node_indices(model: Functional) -> dict[int, int]:
    """id(node) -> its index among its layer's calls in this model (Keras
    numbers a layer's nodes per model, leaving out calls in other models)."""
    own = {id(n) for n in model._nodes}
    own |= {id(t.node) for t in model.inputs}
    indices: dict[int, int] = {}
    for layer in model._layers:
        kept = [n for n in layer._inbound_nodes if id(n) in own]
        # A nested model's node 0 is its own graph: its calls count from 1.
        first = 1 if isinstance(layer, Model) else 0
        for i, node in enumerate(kept):
            indices[id(node)] = first + i
    return indices


def _history(tensor: KerasTensor, node_ids: dict[int, int]) -> list:
    layer, _, tensor_index = tensor._keras_history
    return [layer.name, node_ids[id(tensor.node)], tensor_index]


def _structure_config(structure: Any, node_ids: dict[int, int]) -> Any:
    """input_layers/output_layers: Keras 2's list of triples (a dict's
    values in order; Keras 3 reads that too)."""
    tensors = (
        list(structure.values())
        if isinstance(structure, dict)
        else list(flatten(structure))
    )
    return [_history(t, node_ids) for t in tensors]


def _structure_from_config(value: Any, tensor_for: Any, field: str) -> Any:
    """Keras 2's list of triples, or Keras 3's bare triple, list or dict."""
    if isinstance(value, dict):
        return {k: tensor_for(v, f"{field}.{k}") for k, v in value.items()}
    if isinstance(value, list) and value and isinstance(value[0], str):
        return tensor_for(value, field)
    if isinstance(value, list) and value:
        tensors = [tensor_for(v, f"{field}[{i}]") for i, v in enumerate(value)]
        return tensors[0] if len(tensors) == 1 else tensors
    raise ValueError(f"field {field!r} must name the model's tensors; got {value!r}")


def _node_inputs(node: Any, field: str) -> dict[str, Any]:
    """One inbound node in Keras 2's form ``[["name", node, tensor, {}], ...]``
    or Keras 3's ``{"args": [tensor or [tensors]], "kwargs": {}}`` as
    {"tensors": [(name, node index)], "as_list": bool}."""
    where = f"field '{field}.inbound_nodes'"
    if isinstance(node, dict):  # Keras 3
        args = node.get("args")
        if not isinstance(args, list) or not args:
            raise ValueError(f"{where}: a node must have 'args'")
        first = args[0]
        as_list = isinstance(first, list)
        items = first if as_list else [first]
        tensors = []
        for item in items:
            history = (
                (item.get("config") or {}).get("keras_history")
                if isinstance(item, dict)
                else None
            )
            if not (isinstance(history, list) and len(history) == 3):
                raise ValueError(f"{where}: a tensor must have a keras_history")
            tensors.append((history[0], history[1], history[2]))
        return {"tensors": tensors, "as_list": as_list}
    if isinstance(node, list) and node:  # Keras 2
        tensors = []
        for item in node:
            if not (isinstance(item, list) and len(item) >= 3):
                raise ValueError(
                    f"{where}: expected [layer name, node, tensor, kwargs]"
                )
            tensors.append((item[0], item[1], item[2]))
        return {"tensors": tensors, "as_list": len(tensors) > 1}
    raise ValueError(f"{where}: a node must be a list (Keras 2) or object (Keras 3)")


def _layer_from_entry(entry: dict[str, Any], field: str) -> Layer:
    cls = registry.lookup("layer", entry.get("class_name"))
    if cls is None:
        cls = registry.lookup("model", entry.get("class_name"))  # nested
    if cls is None:
        raise ValueError(f"field '{field}.class_name': unknown layer class")
    return cls.from_config(entry.get("config", {}))


Model._functional_class = Functional
Model._map_graph = staticmethod(map_graph)
