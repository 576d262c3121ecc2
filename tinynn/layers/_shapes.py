"""Argument parsing and call state shared by the pooling, reshaping and
embedding layers (Keras's ``conv_utils``: tuples, padding, data_format)."""

from __future__ import annotations

from typing import Any

import numpy as np


class _CallState:
    """What one call of a layer keeps for its backward pass (its input, output,
    argmax indices, masks). A layer without a caller-given context uses its own
    default one; a graph passes one per call site."""


def call_state(layer: Any, ctx: Any) -> Any:
    """`ctx`, or the layer's default state when the caller gives none."""
    if ctx is not None:
        return ctx
    state = layer.__dict__.get("_default_state")
    if state is None:
        state = layer._default_state = _CallState()
    return state


def int_tuple(value: Any, n: int, where: str, name: str, low: int = 1) -> tuple:
    """An int or a sequence of `n` ints, each >= `low`, as a tuple of n ints
    (Keras's ``standardize_tuple``)."""
    items = value if isinstance(value, (list, tuple)) else (value,) * n
    if len(items) != n or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items
    ):
        raise TypeError(
            f"{where}: {name} must be an int or a tuple of {n} ints; got {value!r}"
        )
    if any(int(v) < low for v in items):
        raise ValueError(f"{where}: {name} must hold integers >= {low}; got {value!r}")
    return tuple(int(v) for v in items)


def padding_mode(value: Any, where: str) -> str:
    """'valid' or 'same', in any case (Keras lower-cases it)."""
    if isinstance(value, str) and value.lower() in ("valid", "same"):
        return value.lower()
    raise ValueError(f"{where}: padding must be 'valid' or 'same'; got {value!r}")


def channels_last(value: Any, where: str) -> str:
    """data_format: None or 'channels_last' (tinynn has no channels_first)."""
    if value in (None, "channels_last"):
        return "channels_last"
    if value == "channels_first":
        raise ValueError(
            f"{where}: data_format='channels_first' is not supported yet; tinynn "
            "works on channels_last (batch, ..., channels) arrays only: transpose "
            "the data, e.g. x.transpose(0, 2, 3, 1)"
        )
    raise ValueError(
        f"{where}: data_format must be 'channels_last' or 'channels_first'; "
        f"got {value!r}"
    )


def window_geometry(
    size: int, pool: int, stride: int, padding: str, where: str, axis: str
) -> tuple[int, int]:
    """(output size, padding before) along one axis, TensorFlow's rule:
    valid: floor((size - pool) / stride) + 1; same: ceil(size / stride), the
    total padding split with the odd cell after (bottom/right)."""
    if padding == "valid":
        if size < pool:
            raise ValueError(
                f"{where}: the input's {axis} ({size}) is smaller than the pool "
                f"({pool}) with padding='valid'; the output would be empty "
                "(use padding='same' or a smaller pool_size)"
            )
        return (size - pool) // stride + 1, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + pool - size, 0)
    return out, total // 2


def grown(state: Any, attr: str, shape: tuple, dtype: Any) -> np.ndarray:
    """A buffer of `shape` kept on `state`, grown (never shrunk) to the largest
    batch seen: a view of its first prod(shape) values."""
    size = int(np.prod(shape, dtype=np.int64))
    buffer = getattr(state, attr, None)
    if buffer is None or buffer.size < size or buffer.dtype != np.dtype(dtype):
        buffer = np.empty(max(size, 1), dtype)
        setattr(state, attr, buffer)
    return buffer[:size].reshape(shape)
