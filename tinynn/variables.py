"""``tf.Variable``-like views of a layer's weights: ``layer.variables``,
``trainable_variables`` and ``non_trainable_variables`` (also on models).

A :class:`Variable` names one weight of one layer and always reads and
writes the layer's live array (the parameter store may lay the weights out
afresh: a Variable follows). ``numpy()`` returns a copy, ``assign`` writes in
place, as TensorFlow's do.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import describe
from .tensor import Tensor

__all__ = ["Variable"]


class Variable:
    """Weight `index` of `layer`, named ``'<layer>/<weight>:0'`` as Keras 2
    names it ('dense/kernel:0')."""

    __array_priority__ = 20  # NumPy defers `array + variable` to us

    def __init__(self, layer: Any, index: int):
        self._layer, self._index = layer, index

    @property
    def _array(self) -> np.ndarray:
        return self._layer._params[self._index]

    @property
    def name(self) -> str:
        return f"{self._layer.name}/{self._layer._param_names[self._index]}:0"

    @property
    def shape(self) -> tuple[int, ...]:
        return self._array.shape

    @property
    def dtype(self) -> np.dtype:
        return self._array.dtype

    @property
    def trainable(self) -> bool:
        return bool(self._layer.trainable and self._layer._param_trainable[self._index])

    def numpy(self) -> np.ndarray:
        """A copy of the values."""
        return self._array.copy()

    def value(self) -> Tensor:
        return self.numpy().view(Tensor)

    def read_value(self) -> Tensor:
        return self.value()

    def assign(
        self,
        value: Any,
        use_locking: Any = None,
        name: Any = None,
        read_value: bool = True,
    ) -> Variable:
        """Write `value` (same shape) into the weight, in place."""
        array = np.asarray(value)
        if array.shape != self.shape:
            raise ValueError(
                f"Variable.assign: value has shape {array.shape}; expected the shape "
                f"{self.shape} of {self.name!r}"
            )
        if array.dtype.kind not in "biuf":
            raise TypeError(
                f"Variable.assign: value must be numeric; got {describe(value)}"
            )
        np.copyto(self._array, array, casting="unsafe")
        return self

    def assign_add(
        self,
        delta: Any,
        use_locking: Any = None,
        name: Any = None,
        read_value: bool = True,
    ) -> Variable:
        return self.assign(self._array + np.asarray(delta))

    def assign_sub(
        self,
        delta: Any,
        use_locking: Any = None,
        name: Any = None,
        read_value: bool = True,
    ) -> Variable:
        return self.assign(self._array - np.asarray(delta))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self._array.astype(dtype) if dtype is not None else self._array.copy()

    def __len__(self) -> int:
        return len(self._array)

    def __getitem__(self, key: Any) -> Tensor:
        return np.asarray(self._array[key]).copy().view(Tensor)

    def _op(name: str):  # noqa: N805  (builds the arithmetic methods below)
        def method(self, other):
            return getattr(self.value(), name)(
                other.value() if isinstance(other, Variable) else other
            )

        method.__name__ = name
        return method

    for _name in (
        "__add__",
        "__radd__",
        "__sub__",
        "__rsub__",
        "__mul__",
        "__rmul__",
        "__truediv__",
        "__rtruediv__",
        "__matmul__",
        "__rmatmul__",
        "__pow__",
        "__lt__",
        "__le__",
        "__gt__",
        "__ge__",
    ):
        locals()[_name] = _op(_name)
    del _name, _op

    def __neg__(self) -> Tensor:
        return -self.value()

    def __repr__(self) -> str:
        return (
            f"<tf.Variable {self.name!r} shape={self.shape} dtype={self.dtype.name}, "
            f"numpy=\n{self._array!r}>"
        )


def variables_of(layer: Any) -> list[Variable]:
    """A Variable for each of `layer`'s weights, in the order of ``weights``."""
    return [Variable(layer, i) for i in range(len(layer._params))]
