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
    "square",
    "sqrt",
    "exp",
    "log",
    "abs",
    "negative",
    "sigmoid",
    "tanh",
    "round",
    "add",
    "subtract",
    "multiply",
    "divide",
    "maximum",
    "minimum",
    "pow",
    "equal",
    "not_equal",
    "greater",
    "less",
    "matmul",
    "linspace",
    "range",
    "stack",
    "concat",
    "expand_dims",
    "squeeze",
    "reshape",
    "transpose",
    "one_hot",
    "reduce_max",
    "reduce_min",
    "reduce_prod",
    "reduce_std",
    "reduce_variance",
    "clip_by_value",
    "where",
    "shape",
    "random_normal",
    "random_uniform",
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


# ---- more TensorFlow functions beginner code calls ------------------------------
# Dtype rules (checked against TensorFlow 2.21): a Python float is float32 and
# a Python int int32; NumPy arrays keep their dtype; in a function of several
# values, Python numbers and lists take the dtype of the first array among
# them (tf.maximum(x32, 1.5) is float32), as TensorFlow converts them.


def _value(value: Any, where: str, name: str, dtype: Any = None) -> np.ndarray:
    array = _numeric(value, where, name)
    if dtype is not None and not isinstance(value, np.ndarray):
        return array.astype(dtype)
    return _tf_default(array, value)


def _values(where: str, *values: Any) -> list[np.ndarray]:
    """Several operands, Python values converted to the first array's dtype."""
    first = next((v for v in values if isinstance(v, np.ndarray)), None)
    dtype = None if first is None else first.dtype
    return [_value(v, where, f"argument {i}", dtype) for i, v in enumerate(values)]


def _unary(name: str, fn: Any, floats_only: bool = False) -> Any:
    def op(x: Any, name: Any = None) -> Tensor:
        array = _value(x, name_, "x")
        if floats_only and array.dtype.kind != "f":
            raise TypeError(
                f"{name_}: x must be floating point (TensorFlow does not promote "
                f"integers); got dtype {array.dtype}: use tf.cast(x, tf.float32)"
            )
        return as_tensor(np.asarray(fn(array)).astype(array.dtype, copy=False))

    name_ = name
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``tf.{name}``: element-wise, in x's dtype."
    return op


square = _unary("square", np.square)
sqrt = _unary("sqrt", np.sqrt, floats_only=True)
exp = _unary("exp", np.exp, floats_only=True)
log = _unary("log", np.log, floats_only=True)
abs = _unary("abs", np.abs)  # noqa: A001  (tf.abs)
negative = _unary("negative", np.negative)
sigmoid = _unary("sigmoid", lambda a: 1 / (1 + np.exp(-a)), floats_only=True)
tanh = _unary("tanh", np.tanh, floats_only=True)
round = _unary("round", np.round)  # noqa: A001  (tf.round: half to even)


def _binary(name: str, fn: Any) -> Any:
    def op(x: Any, y: Any, name: Any = None) -> Tensor:
        a, b = _values(name_, x, y)
        if a.dtype != b.dtype:
            raise TypeError(
                f"{name_}: x and y must have the same dtype (TensorFlow does not "
                f"promote); got {a.dtype} and {b.dtype}: use tf.cast"
            )
        return as_tensor(np.asarray(fn(a, b)))

    name_ = name
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``tf.{name}``: element-wise with broadcasting, same dtypes."
    return op


add = _binary("add", np.add)
subtract = _binary("subtract", np.subtract)
multiply = _binary("multiply", np.multiply)
divide = _binary(
    "divide",
    lambda a, b: (
        np.true_divide(a, b).astype(a.dtype)
        if a.dtype.kind == "f"
        else np.true_divide(a, b)
    ),
)
maximum = _binary("maximum", np.maximum)
minimum = _binary("minimum", np.minimum)
pow = _binary("pow", np.power)  # noqa: A001  (tf.pow)
equal = _binary("equal", np.equal)
not_equal = _binary("not_equal", np.not_equal)
greater = _binary("greater", np.greater)
less = _binary("less", np.less)


def matmul(
    a: Any,
    b: Any,
    transpose_a: bool = False,
    transpose_b: bool = False,
    name: Any = None,
) -> Tensor:
    """``tf.matmul``: matrix product of the last two axes."""
    x, y = _values("matmul", a, b)
    if x.ndim < 2 or y.ndim < 2:
        raise ValueError(
            f"matmul: a and b must have rank >= 2; got shapes {x.shape} and {y.shape}"
        )
    if transpose_a:
        x = np.swapaxes(x, -1, -2)
    if transpose_b:
        y = np.swapaxes(y, -1, -2)
    if x.shape[-1] != y.shape[-2]:
        raise ValueError(
            f"matmul: a has {x.shape[-1]} columns but b has {y.shape[-2]} rows "
            f"(shapes {x.shape} and {y.shape})"
        )
    return as_tensor(np.matmul(x, y))


def linspace(
    start: Any, stop: Any, num: int, name: Any = None, axis: int = 0
) -> Tensor:
    """``tf.linspace``: `num` evenly spaced values from start to stop
    (float32 for Python floats; integers give float64, as TensorFlow)."""
    a, b = _values("linspace", start, stop)
    dtype = a.dtype if a.dtype.kind == "f" else np.float64
    return as_tensor(np.linspace(a, b, int(num), axis=axis).astype(dtype))


def range(
    start: Any,
    limit: Any = None,
    delta: Any = 1,
    dtype: Any = None,
    name: Any = "range",
) -> Tensor:  # noqa: A001  (tf.range)
    """``tf.range``: int32 for Python ints, float32 if any bound is a float."""
    if limit is None:
        start, limit = 0, start
    values = [_value(v, "range", "bound") for v in (start, limit, delta)]
    wanted = _tf_dtype(dtype, "range")
    if wanted is None:  # TensorFlow: the widest float among the bounds, if any
        floats = [v.dtype for v in values if v.dtype.kind == "f"]
        wanted = np.result_type(*(floats or [v.dtype for v in values]))
    return as_tensor(np.arange(*(v.item() for v in values)).astype(wanted))


def _many(values: Any, where: str) -> list[np.ndarray]:
    if not isinstance(values, (list, tuple)) or not values:
        raise TypeError(f"{where}: values must be a non-empty list of tensors")
    return _values(where, *values)


def stack(values: Any, axis: int = 0, name: Any = "stack") -> Tensor:
    """``tf.stack``: the tensors (same shape) along a new axis."""
    return as_tensor(np.stack(_many(values, "stack"), axis=axis))


def concat(values: Any, axis: int, name: Any = "concat") -> Tensor:
    """``tf.concat``: the tensors joined along an existing axis."""
    return as_tensor(np.concatenate(_many(values, "concat"), axis=axis))


def expand_dims(input: Any, axis: int, name: Any = None) -> Tensor:  # noqa: A002
    """``tf.expand_dims``: a new axis of length 1 at `axis`."""
    return as_tensor(np.expand_dims(_value(input, "expand_dims", "input"), axis))


def squeeze(input: Any, axis: Any = None, name: Any = None) -> Tensor:  # noqa: A002
    """``tf.squeeze``: drop axes of length 1 (all of them, or those in `axis`)."""
    array = _value(input, "squeeze", "input")
    if axis is not None:
        axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    return as_tensor(np.squeeze(array, axis=axis))


def reshape(tensor: Any, shape: Any, name: Any = None) -> Tensor:
    """``tf.reshape`` (one dimension may be -1)."""
    array = _value(tensor, "reshape", "tensor")
    dims = tuple(int(d) for d in np.atleast_1d(np.asarray(shape)))
    try:
        return as_tensor(array.reshape(dims))
    except ValueError:
        raise ValueError(
            f"reshape: a tensor of shape {array.shape} ({array.size} values) cannot "
            f"be reshaped to {dims}"
        ) from None


def transpose(
    a: Any, perm: Any = None, conjugate: bool = False, name: Any = None
) -> Tensor:
    """``tf.transpose``: axes reversed, or permuted by `perm`."""
    return as_tensor(np.transpose(_value(a, "transpose", "a"), perm))


def one_hot(
    indices: Any,
    depth: int,
    on_value: Any = None,
    off_value: Any = None,
    axis: int = -1,
    dtype: Any = np.float32,
    name: Any = None,
) -> Tensor:
    """``tf.one_hot``: float32 rows with 1 at each index (ids outside
    [0, depth) give all-zero rows, as in TensorFlow)."""
    ids = _value(indices, "one_hot", "indices")
    if ids.dtype.kind not in "iu":
        raise TypeError(f"one_hot: indices must be integers; got dtype {ids.dtype}")
    wanted = _tf_dtype(dtype, "one_hot")
    on = 1 if on_value is None else on_value
    off = 0 if off_value is None else off_value
    hot = ids[..., None] == np.arange(int(depth))
    out = np.where(hot, on, off).astype(wanted)
    if axis != -1:
        out = np.moveaxis(out, -1, axis)
    return as_tensor(out)


def _reduce(name: str, fn: Any, floats_only: bool = False) -> Any:
    def op(
        input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Any = None
    ) -> Tensor:
        array = _value(input_tensor, name_, "input_tensor")
        if floats_only and array.dtype.kind != "f":
            raise TypeError(
                f"{name_}: input_tensor must be floating point; got dtype {array.dtype}"
            )
        axis = _axis(axis, array.ndim, name_)
        result = fn(array, axis=axis, keepdims=keepdims)
        return as_tensor(np.asarray(result).astype(array.dtype))

    name_ = name
    op.__name__ = op.__qualname__ = name
    op.__doc__ = (
        f"``tf.{name}`` over `axis` (all axes by default), in the input's dtype."
    )
    return op


reduce_max = _reduce("reduce_max", np.max)
reduce_min = _reduce("reduce_min", np.min)
reduce_prod = _reduce("reduce_prod", np.prod)
reduce_std = _reduce("reduce_std", np.std, floats_only=True)
reduce_variance = _reduce("reduce_variance", np.var, floats_only=True)


def clip_by_value(
    t: Any, clip_value_min: Any, clip_value_max: Any, name: Any = None
) -> Tensor:
    """``tf.clip_by_value``: values limited to [min, max], in t's dtype."""
    a, lo, hi = _values("clip_by_value", t, clip_value_min, clip_value_max)
    return as_tensor(np.clip(a, lo, hi).astype(a.dtype))


def where(condition: Any, x: Any = None, y: Any = None, name: Any = None) -> Tensor:
    """``tf.where``: x where condition else y; with condition alone, the
    int64 coordinates of its True entries (one row each)."""
    cond = np.asarray(condition)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be boolean; got dtype {cond.dtype}")
    if x is None and y is None:
        return as_tensor(np.argwhere(cond).astype(np.int64))
    if x is None or y is None:
        raise ValueError("where: give both x and y, or neither")
    a, b = _values("where", x, y)
    return as_tensor(np.where(cond, a, b))


def shape(input: Any, out_type: Any = np.int32, name: Any = None) -> Tensor:  # noqa: A002
    """``tf.shape``: the shape as an int32 tensor."""
    return as_tensor(np.asarray(np.shape(input), _tf_dtype(out_type, "shape")))


def _generator(seed: Any) -> np.random.Generator:
    if seed is None:
        from . import _random

        return _random.generator()
    return np.random.default_rng(int(seed))


def random_normal(
    shape: Any,
    mean: Any = 0.0,
    stddev: Any = 1.0,
    dtype: Any = np.float32,
    seed: Any = None,
    name: Any = None,
) -> Tensor:
    """``tf.random.normal``: from tinynn's generator (``tf.random.set_seed``), or
    from `seed` alone when given. Values differ from TensorFlow's."""
    wanted = _tf_dtype(dtype, "random.normal")
    draw = _generator(seed).normal(mean, stddev, _shape(shape, "random.normal"))
    return as_tensor(draw.astype(wanted))


def random_uniform(
    shape: Any,
    minval: Any = 0,
    maxval: Any = None,
    dtype: Any = np.float32,
    seed: Any = None,
    name: Any = None,
) -> Tensor:
    """``tf.random.uniform``: [minval, maxval) (maxval 1 for floats; required
    for integer dtypes, as in TensorFlow)."""
    wanted = _tf_dtype(dtype, "random.uniform")
    dims = _shape(shape, "random.uniform")
    rng = _generator(seed)
    if wanted.kind in "iu":
        if maxval is None:
            raise ValueError("random.uniform: maxval must be given for integer dtypes")
        return as_tensor(rng.integers(minval, maxval, dims).astype(wanted))
    high = 1.0 if maxval is None else maxval
    return as_tensor(rng.uniform(minval, high, dims).astype(wanted))
