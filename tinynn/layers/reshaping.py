"""Spatial reshaping layers on channels_last images: ZeroPadding2D,
Cropping2D and UpSampling2D (nearest), copies in C (csrc/pool.inc).

Cropping's output is a strided window of its input and padding's a larger
array: neither is a view the next layer could use as a C-contiguous array, so
both are copied, in C like every O(size) per-batch pass (STYLE.md section 2).
"""

from __future__ import annotations

from typing import Any

from .. import _backend, registry
from ._shapes import call_state, channels_last, int_tuple
from .base import Layer


def _pairs(value: Any, where: str, name: str) -> tuple[tuple[int, int], ...]:
    """Keras's 2-D padding/cropping argument: an int (all four sides), two ints
    (symmetric height and width) or two pairs ((top, bottom), (left, right))."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        if all(isinstance(v, (list, tuple)) for v in value):
            return tuple(int_tuple(v, 2, where, name, low=0) for v in value)
        h, w = int_tuple(value, 2, where, name, low=0)
        return ((h, h), (w, w))
    if isinstance(value, (list, tuple)):
        raise ValueError(
            f"{where}: {name} must be an int, a tuple of 2 ints or a tuple of 2 "
            f"tuples of 2 ints; got {value!r}"
        )
    (p,) = int_tuple(value, 1, where, name, low=0)
    return ((p, p), (p, p))


class _Spatial2D(Layer):
    def _check_rank(self, features):
        if len(features) != 3:
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: expected input of shape "
                "(batch, height, width, channels); got "
                f"(batch, {', '.join(map(str, features))})"
            )

    def _build(self, features):
        self._check_rank(features)


@registry.register("layer")
class ZeroPadding2D(_Spatial2D):
    """Zero rows on top and bottom, zero columns left and right of
    (batch, height, width, channels) images."""

    def __init__(
        self, padding: Any = (1, 1), data_format: str | None = None, **kwargs: Any
    ):
        super().__init__(**kwargs)
        self.padding = _pairs(padding, "ZeroPadding2D", "padding")
        self.data_format = channels_last(data_format, "ZeroPadding2D")

    def _output_features(self, features):
        self._check_rank(features)
        (t, b), (left, r) = self.padding
        return (features[0] + t + b, features[1] + left + r, features[2])

    def _forward(self, x, training, out, ctx=None):
        state = call_state(self, ctx)
        _backend.pad2d(x, out, self.padding[0][0], self.padding[1][0])
        state.input, state.output = x, out
        self._last_input, self._last_output = x, out
        return out

    def _backward(self, dy, dx, ctx=None, accumulate=False):
        if dx is not None:
            _backend.crop2d(dy, dx, self.padding[0][0], self.padding[1][0])
        return dx

    def get_config(self):
        config = super().get_config()
        config.update(padding=self.padding, data_format=self.data_format)
        return config


@registry.register("layer")
class Cropping2D(_Spatial2D):
    """Drop rows from top and bottom and columns from left and right of
    (batch, height, width, channels) images."""

    def __init__(
        self,
        cropping: Any = ((0, 0), (0, 0)),
        data_format: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.cropping = _pairs(cropping, "Cropping2D", "cropping")
        self.data_format = channels_last(data_format, "Cropping2D")

    def _output_features(self, features):
        self._check_rank(features)
        (t, b), (left, r) = self.cropping
        h, w = features[0] - t - b, features[1] - left - r
        if h < 1 or w < 1:
            raise ValueError(
                f"Cropping2D {self.name!r}: cropping {self.cropping} leaves nothing "
                f"of a {features[0]} x {features[1]} input; expected at least one "
                "row and one column to remain"
            )
        return (h, w, features[2])

    def _forward(self, x, training, out, ctx=None):
        state = call_state(self, ctx)
        _backend.crop2d(x, out, self.cropping[0][0], self.cropping[1][0])
        state.input, state.output = x, out
        self._last_input, self._last_output = x, out
        return out

    def _backward(self, dy, dx, ctx=None, accumulate=False):
        if dx is not None:
            _backend.pad2d(dy, dx, self.cropping[0][0], self.cropping[1][0])
        return dx

    def get_config(self):
        config = super().get_config()
        config.update(cropping=self.cropping, data_format=self.data_format)
        return config


@registry.register("layer")
class UpSampling2D(_Spatial2D):
    """Repeat each row size[0] times and each column size[1] times
    (interpolation='nearest'; 'bilinear' is not supported yet)."""

    def __init__(
        self,
        size: Any = (2, 2),
        data_format: str | None = None,
        interpolation: str = "nearest",
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.size = int_tuple(size, 2, "UpSampling2D", "size")
        self.data_format = channels_last(data_format, "UpSampling2D")
        if interpolation != "nearest":
            raise ValueError(
                "UpSampling2D: interpolation must be 'nearest' (the only mode "
                f"tinynn supports yet); got {interpolation!r}"
            )
        self.interpolation = interpolation

    def _output_features(self, features):
        self._check_rank(features)
        return (features[0] * self.size[0], features[1] * self.size[1], features[2])

    def _forward(self, x, training, out, ctx=None):
        state = call_state(self, ctx)
        _backend.upsample2d_forward(x, out)
        state.input, state.output = x, out
        self._last_input, self._last_output = x, out
        return out

    def _backward(self, dy, dx, ctx=None, accumulate=False):
        if dx is not None:
            _backend.upsample2d_backward(dy, dx)
        return dx

    def get_config(self):
        config = super().get_config()
        config.update(
            size=self.size,
            data_format=self.data_format,
            interpolation=self.interpolation,
        )
        return config
