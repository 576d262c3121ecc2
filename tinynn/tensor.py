"""What model and layer calls return, and the few TensorFlow tensor functions
beginner code calls on it (``import tinynn as tf``: ``tf.reduce_sum``...).

A :class:`Tensor` is a NumPy array with a ``.numpy()`` method, so quickstart
code such as ``model(x).numpy()`` or ``tf.nn.softmax(p).numpy()`` runs; in
every other respect it is the ndarray it wraps. ``predict`` keeps returning
plain ndarrays, as Keras does.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ._checks import describe

__all__ = [
    "Tensor",
    "argmax",
    "as_tensor",
    "bool_",
    "cast",
    "constant",
    "convert_to_tensor",
    "float16",
    "float32",
    "float64",
    "get_logger",
    "int8",
    "int16",
    "int32",
    "int64",
    "ones",
    "reduce_mean",
    "reduce_sum",
    "uint8",
    "zeros",
]

# TensorFlow's dtype names, as NumPy dtypes (``tf.cast(x, tf.float32)``).
float16, float32, float64 = np.float16, np.float32, np.float64
int8, int16, int32, int64, uint8 = np.int8, np.int16, np.int32, np.int64, np.uint8
bool_ = np.bool_  # tf.bool (tinynn exports it under that name)


class Tensor(np.ndarray):
    """An ndarray with TensorFlow's ``.numpy()``.

    Arithmetic, indexing and NumPy functions behave exactly as on the
    underlying array (their results stay Tensors where NumPy keeps the
    subclass); ``np.asarray(t)`` gives the plain array.

    Example
    -------
    >>> t = as_tensor(np.ones(3))
    >>> type(t.numpy()).__name__
    'ndarray'
    """

    def numpy(self) -> np.ndarray:
        """The values as a plain NumPy array (a 0-d result as a NumPy scalar)."""
        plain = self.view(np.ndarray)
        return plain[()] if plain.ndim == 0 else plain


def as_tensor(array: Any) -> Tensor:
    """`array` viewed as a Tensor (no copy for an ndarray)."""
    return np.asarray(array).view(Tensor)


def _tf_dtype(dtype: Any, where: str) -> np.dtype | None:
    if dtype is None:
        return None
    name = getattr(dtype, "name", None)  # a tensorflow DType, if one is passed
    try:
        return np.dtype(name if isinstance(name, str) else dtype)
    except TypeError:
        raise TypeError(
            f"{where}: dtype must be a dtype such as tf.float32 or 'float32'; got "
            f"{describe(dtype)}"
        ) from None


def _tf_default(array: np.ndarray, value: Any) -> np.ndarray:
    """TensorFlow's defaults for Python values: floats float32, ints int32."""
    if isinstance(value, np.ndarray):
        return array
    if array.dtype == np.float64:
        return array.astype(np.float32)
    if array.dtype == np.int64:
        return array.astype(np.int32)
    return array


def constant(
    value: Any, dtype: Any = None, shape: Any = None, name: Any = None
) -> Tensor:
    """``tf.constant``: a Tensor holding `value` (Python floats become float32,
    ints int32, as in TensorFlow); `shape` broadcasts a scalar or reshapes.

    Raises
    ------
    TypeError, ValueError
        For a value that is not numeric, or that does not fit `shape`.
    """
    where = "constant"
    wanted = _tf_dtype(dtype, where)
    array = _numeric(value, where, "value")
    array = array.astype(wanted) if wanted is not None else _tf_default(array, value)
    if shape is not None:
        shape = tuple(int(d) for d in np.atleast_1d(shape))
        if array.size == 1:
            array = np.full(shape, array.reshape(()), array.dtype)
        elif array.size == int(np.prod(shape)):
            array = array.reshape(shape)
        else:
            raise ValueError(
                f"{where}: value has {array.size} elements, which do not fit shape "
                f"{shape}"
            )
    return as_tensor(np.array(array))


def convert_to_tensor(
    value: Any, dtype: Any = None, dtype_hint: Any = None, name: Any = None
) -> Tensor:
    """``tf.convert_to_tensor``: like :func:`constant`, without copying an array
    that already has the requested dtype."""
    where = "convert_to_tensor"
    wanted = _tf_dtype(dtype, where)
    array = _numeric(value, where, "value")
    if wanted is not None:
        if array.dtype != wanted and not np.can_cast(array.dtype, wanted, "same_kind"):
            raise TypeError(
                f"{where}: value of dtype {array.dtype} cannot be converted to "
                f"{wanted}; use tf.cast"
            )
        array = array.astype(wanted, copy=False)
    else:
        array = _tf_default(array, value)
    return as_tensor(array)


def _numeric(value: Any, where: str, arg: str) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {arg} is not a rectangular array ({exc})") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{where}: {arg} must be numbers or booleans; got {describe(value)}"
        )
    return array


def _shape(shape: Any, where: str) -> tuple[int, ...]:
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    for d in dims:
        if isinstance(d, (float, np.floating)) or not (
            isinstance(d, (int, np.integer)) and d >= 0
        ):
            raise ValueError(
                f"{where}: shape must hold non-negative integers; got {shape!r}"
            )
    return tuple(int(d) for d in dims)


def ones(shape: Any, dtype: Any = np.float32, name: Any = None) -> Tensor:
    """``tf.ones``: a float32 Tensor of ones by default."""
    return as_tensor(np.ones(_shape(shape, "ones"), _tf_dtype(dtype, "ones")))


def zeros(shape: Any, dtype: Any = np.float32, name: Any = None) -> Tensor:
    """``tf.zeros``: a float32 Tensor of zeros by default."""
    return as_tensor(np.zeros(_shape(shape, "zeros"), _tf_dtype(dtype, "zeros")))


def _axis(axis: Any, ndim: int, where: str) -> Any:
    if axis is None:
        return None
    axes = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    for a in axes:
        if not isinstance(a, (int, np.integer)) or not -ndim <= a < max(ndim, 1):
            raise ValueError(
                f"{where}: axis {axis!r} is out of range for a tensor of rank {ndim}"
            )
    return axes if len(axes) > 1 else axes[0]


def reduce_sum(
    input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Any = None
) -> Tensor:
    """``tf.reduce_sum``: the sum over `axis` (all axes by default)."""
    array = _numeric(input_tensor, "reduce_sum", "input_tensor")
    axis = _axis(axis, array.ndim, "reduce_sum")
    return as_tensor(np.sum(array, axis=axis, keepdims=keepdims, dtype=array.dtype))


def reduce_mean(
    input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Any = None
) -> Tensor:
    """``tf.reduce_mean``: the mean over `axis`, in the input's dtype (an
    integer mean is truncated, as in TensorFlow)."""
    array = _numeric(input_tensor, "reduce_mean", "input_tensor")
    axis = _axis(axis, array.ndim, "reduce_mean")
    mean = np.mean(array, axis=axis, keepdims=keepdims)
    return as_tensor(np.asarray(mean).astype(array.dtype))


def argmax(
    input: Any, axis: Any = None, output_type: Any = np.int64, name: Any = None
) -> Tensor:  # noqa: A002
    """``tf.argmax``: index of the largest value along `axis` (TensorFlow's
    default axis is 0); the first index wins ties."""
    array = _numeric(input, "argmax", "input")
    if array.ndim == 0:
        raise ValueError("argmax: input must have at least one dimension; got a scalar")
    axis = _axis(0 if axis is None else axis, array.ndim, "argmax")
    return as_tensor(
        np.argmax(array, axis=axis).astype(_tf_dtype(output_type, "argmax"))
    )


def cast(x: Any, dtype: Any, name: Any = None) -> Tensor:
    """``tf.cast``: `x` converted to `dtype` (floats truncate toward zero)."""
    wanted = _tf_dtype(dtype, "cast")
    return as_tensor(_numeric(x, "cast", "x").astype(wanted))


def get_logger() -> logging.Logger:
    """``tf.get_logger()``: tinynn's logger (``setLevel('ERROR')`` works)."""
    return logging.getLogger("tinynn")
