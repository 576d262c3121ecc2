"""Input conversion and validation for the public API.

Model inputs are checked once, at the entry of fit/evaluate/predict, and
kept in the user's dtype (lists become arrays); each batch is converted to
floats as it is gathered, so a uint8 data set never exists as a float copy.
Whole-input checks run in chunks of rows, never with a full-size mask.
Messages follow the template ``<function>: <argument> <what is wrong>;
expected <...>, got <...>``.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np


def describe(value: Any) -> str:
    """A short description of `value` for error messages."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    return type(value).__name__


def as_numeric_array(value: Any, where: str, name: str) -> np.ndarray:
    """`value` as an array of bool, integer or float type, in its own dtype.

    Arrays are returned as given (any layout, byte order or width); lists
    and scalars go through ``np.asarray``. Rejects None, strings, objects and
    complex numbers with a TypeError.
    """
    if value is None:
        raise TypeError(f"{where}: {name} must be an array of numbers; got None")
    if isinstance(value, np.ndarray):
        array = value
    else:
        try:
            array = np.asarray(value)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"{where}: {name} could not be converted to an array ({exc}); "
                "expected a rectangular array of numbers"
            ) from None
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{where}: {name} must hold numbers (bool, int or float); "
            f"got {describe(array)}"
        )
    return array


def as_float_array(value: Any, dtype: np.dtype, where: str, name: str) -> np.ndarray:
    """`value` as a C-contiguous array of `dtype`, converting numeric input once.

    Accepts arrays, nested lists and scalars of bool, integer or float type.
    Rejects None, strings, objects and complex numbers with a TypeError.
    """
    array = as_numeric_array(value, where, name)
    # not np.ascontiguousarray: it turns a 0-d array (Normalization's count)
    # into shape (1,)
    return np.asarray(array, dtype=dtype, order="C")


# Rows are checked this many values at a time: the temporary mask (and the
# converted chunk) stay a few MB however large the data set is.
_CHUNK_VALUES = 1 << 20


def check_finite(
    array: np.ndarray, where: str, name: str, dtype: np.dtype | None = None
) -> None:
    """Raise ValueError naming the first NaN or Inf in `array` as `dtype`.

    With `dtype` (the model's float type), values are checked after the
    conversion a batch will make, so a float64 1e39 bound for float32 counts
    as Inf. Integer and bool arrays convert to finite floats and are skipped.
    """
    if array.dtype.kind != "f":
        return
    target = array.dtype if dtype is None else np.dtype(dtype)
    if _scanned_in_c(array, target):
        return
    rows = array.reshape(1, -1) if array.ndim == 0 else array
    row_values = max(1, int(np.prod(rows.shape[1:], dtype=np.int64)))
    step = max(1, _CHUNK_VALUES // row_values)
    for lo in range(0, len(rows), step):
        chunk = rows[lo : lo + step]
        if chunk.dtype != target:
            with np.errstate(over="ignore"):
                chunk = chunk.astype(target)
        finite = np.isfinite(chunk)
        if finite.all():
            continue
        first = np.unravel_index(np.flatnonzero(~finite)[0], chunk.shape)
        value = chunk[first]
        first = (first[0] + lo, *first[1:])
        if array.ndim == 0:
            first = ()
        index = ", ".join(str(int(i)) for i in first)
        raise ValueError(
            f"{where}: {name} contains NaN or Inf (first at [{index}] = "
            f"{value}); expected finite numbers"
        )


_C_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _scanned_in_c(array: np.ndarray, target: np.dtype) -> bool:
    """True when the C scan finds every value of `array` finite as `target`
    (float32/float64 arrays in memory order, read as is); False when it
    cannot scan the array or found a value that is not: check_finite's
    chunks then name it."""
    if not (
        array.dtype in _C_FLOATS
        and target in _C_FLOATS
        and array.ndim > 0
        and array.flags.c_contiguous
        and array.flags.aligned
        and array.dtype.isnative
    ):
        return False
    from . import _backend  # here: the rest of _checks needs no extension

    narrow = array.dtype.itemsize > target.itemsize
    return _backend.first_nonfinite(array, as_float32=narrow) < 0


def as_sparse_labels(
    value: Any, classes: int, where: str, name: str = "y"
) -> np.ndarray:
    """Integer class ids in [0, classes) as a flat int64 array.

    Accepts shape (n,) or (n, 1); integer dtypes, or floats that are whole
    numbers (Keras users often pass float labels).
    """
    array = np.asarray(value) if not isinstance(value, np.ndarray) else value
    if array.dtype.kind not in "iuf" or array.dtype == np.bool_:
        raise TypeError(
            f"{where}: {name} must be integer class ids; got {describe(array)}"
        )
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(
            f"{where}: {name} must have shape (n,) or (n, 1) for sparse labels; got "
            f"shape {array.shape} (use categorical_crossentropy for one-hot labels)"
        )
    if array.dtype.kind == "f":
        if not np.isfinite(array).all() or (array != np.round(array)).any():
            bad = int(
                np.flatnonzero(~np.isfinite(array) | (array != np.round(array)))[0]
            )
            raise ValueError(
                f"{where}: {name}[{bad}] = {array[bad]} is not a whole number; "
                "expected integer class ids"
            )
    # The range is checked in the labels' own dtype, before the cast to int64:
    # a float 1e20 or a uint64 2**63 would wrap to a negative int64 and be
    # reported as -9223372036854775808.
    if array.size:
        low, high = array.min(), array.max()
        if low < 0 or high >= classes:
            bad = int(np.flatnonzero((array < 0) | (array >= classes))[0])
            raise ValueError(
                f"{where}: {name}[{bad}] = {int(array[bad])} is outside [0, "
                f"{classes}); expected class ids for the model's {classes} outputs"
            )
    labels = (
        array.astype(np.int64, copy=False) if array.size else array.astype(np.int64)
    )
    return np.ascontiguousarray(labels)


def check_same_length(where: str, **arrays: np.ndarray) -> int:
    """The common number of samples; ValueError naming each array otherwise."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ValueError(
            f"{where}: data cardinality is ambiguous: {listed} samples; "
            "expected all arrays to contain the same number of samples"
        )
    return next(iter(lengths.values()))


def positive_int(value: Any, where: str, name: str) -> int:
    """`value` as a Python int > 0, else TypeError/ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where}: {name} must be a positive integer; got {value!r}")
    if value <= 0:
        raise ValueError(f"{where}: {name} must be a positive integer; got {value}")
    return int(value)


def non_negative_int(value: Any, where: str, name: str) -> int:
    """`value` as a Python int >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where}: {name} must be an integer >= 0; got {value!r}")
    if value < 0:
        raise ValueError(f"{where}: {name} must be an integer >= 0; got {value}")
    return int(value)


def real_number(
    value: Any,
    where: str,
    name: str,
    low: float | None = None,
    high: float | None = None,
    high_open: bool = False,
) -> float:
    """`value` as a finite float within [low, high] (or [low, high) if high_open)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a number; got {value!r}")
    number = float(value)
    too_high = high is not None and (number >= high if high_open else number > high)
    if not np.isfinite(number) or (low is not None and number < low) or too_high:
        right = ")" if high_open else "]"
        span = f"[{low if low is not None else '-inf'}, "
        span += f"{high if high is not None else 'inf'}{right}"
        raise ValueError(
            f"{where}: {name} must be a finite number in {span}; got {value!r}"
        )
    return number


def shape_tuple(value: Any, where: str, name: str) -> tuple[int, ...]:
    """A shape given as an int or a sequence of positive ints, as a tuple."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,)
    try:
        dims = tuple(value)
    except TypeError:
        raise TypeError(
            f"{where}: {name} must be a tuple of positive integers; got {value!r}"
        ) from None
    for dim in dims:
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or dim <= 0:
            raise ValueError(
                f"{where}: {name} must be a tuple of positive integers; got {value!r}"
            )
    return tuple(int(d) for d in dims)
