"""Symbolic tensors and nodes: how a functional model records its graph.

``keras.Input(shape=(784,))`` returns a KerasTensor: no values, only a shape
(batch axis None first), a dtype and its history, the (layer, node index,
tensor index) that produced it. A layer called on KerasTensors builds itself
from their shapes, records a Node (which tensors went in, which came out)
in ``layer._inbound_nodes`` and returns new KerasTensors. A model is then
the graph between its input and output tensors; one executor runs it.

Arithmetic on KerasTensors (``a + b``, ``a - b``, ``a * b``) becomes the
Add, Subtract and Multiply merge layers, found through the registry so that
this module imports no layer module. Anything that would need values
(``if t > 0``, ``np.asarray(t)``, ``float(t)``, ``len(t)``) is a TypeError
that says what to do instead.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from . import registry

__all__ = ["KerasTensor", "Node", "flatten", "is_symbolic", "pack_like"]


class KerasTensor:
    """A placeholder for the values a layer will produce.

    Attributes
    ----------
    shape : tuple
        Batch axis first, None where unknown.
    dtype : str
        Its dtype name ('float32', 'int32'...).
    name : str
        ``<layer name>/<node index>/<tensor index>`` as Keras names them (an
        Input's tensor takes the input's name).
    """

    def __init__(
        self,
        shape: tuple,
        dtype: Any,
        layer: Any,
        node_index: int,
        tensor_index: int = 0,
        name: str | None = None,
    ):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = np.dtype(dtype).name
        self._keras_history = (layer, node_index, tensor_index)
        self.name = name or f"{layer.name}/{node_index}/{tensor_index}"

    @property
    def node(self) -> Node:
        """The node that produced this tensor."""
        layer, node_index, _ = self._keras_history
        return layer._inbound_nodes[node_index]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    # ---- arithmetic becomes merge layers --------------------------------------
    def _merge(self, class_name: str, other: Any, reverse: bool = False) -> KerasTensor:
        if not isinstance(other, KerasTensor):
            raise TypeError(
                f"KerasTensor {class_name.lower()}: both operands must be symbolic "
                f"tensors (outputs of layers or keras.Input); got {type(other).__name__}. "
                "Use a layer such as Rescaling for constants."
            )
        layer = registry.lookup("layer", class_name)()
        return layer([other, self] if reverse else [self, other])

    def __add__(self, other: Any) -> KerasTensor:
        return self._merge("Add", other)

    def __radd__(self, other: Any) -> KerasTensor:
        return self._merge("Add", other, reverse=True)

    def __sub__(self, other: Any) -> KerasTensor:
        return self._merge("Subtract", other)

    def __rsub__(self, other: Any) -> KerasTensor:
        return self._merge("Subtract", other, reverse=True)

    def __mul__(self, other: Any) -> KerasTensor:
        return self._merge("Multiply", other)

    def __rmul__(self, other: Any) -> KerasTensor:
        return self._merge("Multiply", other, reverse=True)

    # ---- what needs values is an error ------------------------------------------
    def _no_values(self, what: str):
        raise TypeError(
            f"{what} of a symbolic tensor ({self.name}): it has a shape but no values "
            "yet. A functional model (or a Model subclass's call(), which tinynn "
            "traces once with symbolic tensors) may only combine tensors with layers "
            "and + - *; no `if` on values, no NumPy or tf.* functions on them."
        )

    def __bool__(self):
        self._no_values("The truth value")

    def __array__(self, *args: Any, **kwargs: Any):
        self._no_values("A NumPy array")

    def __float__(self):
        self._no_values("float()")

    def __int__(self):
        self._no_values("int()")

    def __len__(self):
        self._no_values("len()")

    def __iter__(self):
        self._no_values("Iterating")

    def numpy(self):
        self._no_values(".numpy()")

    __hash__ = object.__hash__

    def __eq__(self, other: Any):  # keeps `t in list` an identity test
        return self is other

    def __ne__(self, other: Any):
        return self is not other

    def __gt__(self, other: Any):
        self._no_values("A comparison")

    __lt__ = __ge__ = __le__ = __gt__


class Node:
    """One call of a layer in a graph: its input tensors (flattened, with the
    structure the layer was called with), its output tensors."""

    def __init__(self, layer: Any, inputs: list[KerasTensor], as_list: bool):
        self.layer = layer
        self.inputs = list(inputs)
        self.as_list = as_list  # the layer was called with a list of tensors
        self.outputs: list[KerasTensor] = []
        self.index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)

    @property
    def parents(self) -> list[Node]:
        """The nodes that produced this node's inputs."""
        return [t.node for t in self.inputs]

    def __repr__(self) -> str:
        return f"<Node {self.layer.name}[{self.index}]>"


def is_symbolic(value: Any) -> bool:
    """Whether `value` holds a KerasTensor (itself, or in a list/tuple/dict)."""
    return any(isinstance(t, KerasTensor) for t in flatten(value))


def flatten(value: Any) -> Iterator[Any]:
    """The leaves of nested lists, tuples and dicts (dicts in key order given)."""
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from flatten(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from flatten(item)
    else:
        yield value


def pack_like(structure: Any, leaves: list[Any]) -> Any:
    """`leaves` put back into the nesting of `structure` (flatten's inverse)."""
    it = iter(leaves)

    def rebuild(value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return type(value)(rebuild(v) for v in value)
        if isinstance(value, dict):
            return {k: rebuild(v) for k, v in value.items()}
        return next(it)

    return rebuild(structure)
