"""Pooling layers: MaxPooling1D/2D, AveragePooling1D/2D and the global
average/max poolings, on channels_last arrays, all work in C (csrc/pool.inc).

1-D layers are the 2-D kernels on a height of 1: (batch, steps, channels) is
viewed as (batch, 1, steps, channels), no copy. Windows follow TensorFlow:
'valid' drops the cells that fill no whole window; 'same' gives ceil(size /
stride) outputs and pads the odd cell at the bottom/right; padded cells never
win a max and are not counted in an average. Max pooling's backward routes dy
to the first maximum of each window in row-major order (TensorFlow's CPU
MaxPoolGrad), through the argmax indices the training forward pass saves.
"""

from __future__ import annotations

import math

from typing import Any

import numpy as np

from .. import _backend, registry
from .base import Layer, _bool_flag
from ._shapes import (
    channels_last,
    int_tuple,
    padding_mode,
    window_geometry,
)


class _Pooling(Layer):
    """Windowed pooling over the `rank` spatial axes of channels_last input."""

    _rank = 2

    def __init__(
        self,
        pool_size: Any = 2,
        strides: Any = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.pool_size = int_tuple(pool_size, self._rank, cls, "pool_size")
        self.strides = (
            self.pool_size
            if strides is None
            else int_tuple(strides, self._rank, cls, "strides")
        )
        self.padding = padding_mode(padding, cls)
        self.data_format = channels_last(data_format, cls)

    def _geometry(self, features: tuple[int, ...]) -> tuple[tuple, tuple]:
        """((out sizes per spatial axis), kernel window tuple)."""
        cls = type(self).__name__
        if len(features) != self._rank + 1:
            want = (
                "(batch, steps, channels)"
                if self._rank == 1
                else ("(batch, height, width, channels)")
            )
            raise ValueError(
                f"{cls} {self.name!r}: expected input of shape {want}; got "
                f"(batch, {', '.join(map(str, features))})"
            )
        spatial = features[:-1]
        axes = ("steps",) if self._rank == 1 else ("height", "width")
        geo = [
            window_geometry(s, p, t, self.padding, f"{cls} {self.name!r}", a)
            for s, p, t, a in zip(spatial, self.pool_size, self.strides, axes)
        ]
        outs = tuple(g[0] for g in geo)
        pads = tuple(g[1] for g in geo)
        if self._rank == 1:
            window = (1, self.pool_size[0], 1, self.strides[0], 0, pads[0])
        else:
            window = (*self.pool_size, *self.strides, *pads)
        return outs, window

    def _build(self, features):
        _, self._window = self._geometry(features)

    def _output_features(self, features):
        outs, _ = self._geometry(features)
        return (*outs, features[-1])

    def _as4d(self, a: np.ndarray) -> np.ndarray:
        """A (batch, 1, steps, channels) view of 1-D input; 2-D as is."""
        return a if self._rank == 2 else a.reshape(a.shape[0], 1, *a.shape[1:])

    def get_config(self):
        config = super().get_config()
        config.update(
            pool_size=self.pool_size,
            padding=self.padding,
            strides=self.strides,
            data_format=self.data_format,
        )
        return config


class _MaxPooling(_Pooling):
    #: Its backward can apply the relu of the layer whose output it alone
    #: reads (``Plan._gate_relus``).
    _gates_relu = "pool"

    def _fusable_window(self, rank: int) -> tuple[int, int] | None:
        """(pool_h, pool_w) as the 4-D kernels see it, if a convolution of
        `rank` spatial axes whose output only this layer reads may pool it
        in its own kernel (windows side by side: strides equal to the
        window, 'valid' padding); else None."""
        if rank != self._rank or self.padding != "valid":
            return None
        if tuple(self.strides) != tuple(self.pool_size):
            return None
        return (1, self.pool_size[0]) if rank == 1 else tuple(self.pool_size)

    def _forward(self, x, training, out, ctx):
        y4 = self._as4d(out)
        argmax = None
        if training:
            argmax = ctx.buffer("argmax", y4.shape, self._index_dtype(x))
        _backend.max_pool2d_forward(self._as4d(x), y4, argmax, self._window)
        ctx.input, ctx.output, ctx.argmax_valid = x, out, bool(training)
        return out

    @staticmethod
    def _index_dtype(x: np.ndarray) -> type:
        cells = math.prod(x.shape[1:-1])
        return np.int32 if cells < 2**31 else np.int64

    def _backward(self, dy, dx, ctx, accumulate=False):
        if dx is None:
            return None
        dy4 = self._as4d(dy)
        argmax = ctx.buffer("argmax", dy4.shape, self._index_dtype(ctx.input))
        if not ctx.argmax_valid:  # forward ran at inference: find them now
            scratch = ctx.buffer("scratch", dy4.shape, dy.dtype)
            _backend.max_pool2d_forward(
                self._as4d(ctx.input), scratch, argmax, self._window
            )
            ctx.argmax_valid = True
        producer = ctx.relu_gate  # see CallContext: relu's backward, here
        gate = None
        if producer is not None and producer.activation == "relu":
            gate = self._as4d(ctx.output)
        _backend.max_pool2d_backward(
            dy4, argmax, self._as4d(dx), self._window, gate=gate
        )
        return dx


class _AveragePooling(_Pooling):
    def _forward(self, x, training, out, ctx):
        _backend.avg_pool2d_forward(self._as4d(x), self._as4d(out), self._window)
        ctx.input, ctx.output = x, out
        return out

    def _backward(self, dy, dx, ctx, accumulate=False):
        if dx is None:
            return None
        _backend.avg_pool2d_backward(self._as4d(dy), self._as4d(dx), self._window)
        return dx


@registry.register("layer")
class MaxPooling2D(_MaxPooling):
    """Max over pool_size windows moved by strides (default: pool_size) over
    (batch, height, width, channels) input; padding 'valid' or 'same'."""

    def __init__(
        self,
        pool_size=(2, 2),
        strides=None,
        padding="valid",
        data_format=None,
        **kwargs,
    ):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@registry.register("layer")
class MaxPooling1D(_MaxPooling):
    """Max over pool_size steps moved by strides (default: pool_size) over
    (batch, steps, channels) input; padding 'valid' or 'same'."""

    _rank = 1

    def __init__(
        self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs
    ):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@registry.register("layer")
class AveragePooling2D(_AveragePooling):
    """Mean over pool_size windows of (batch, height, width, channels) input;
    with 'same', each window divides by the input cells it covers."""

    def __init__(
        self,
        pool_size=(2, 2),
        strides=None,
        padding="valid",
        data_format=None,
        **kwargs,
    ):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@registry.register("layer")
class AveragePooling1D(_AveragePooling):
    """Mean over pool_size steps of (batch, steps, channels) input; with
    'same', each window divides by the input steps it covers."""

    _rank = 1

    def __init__(
        self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs
    ):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class _GlobalPooling(Layer):
    """Mean or max over every spatial axis of channels_last input."""

    _rank = 2
    _maximum = False

    def __init__(
        self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any
    ):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.data_format = channels_last(data_format, cls)
        self.keepdims = _bool_flag(keepdims, cls, "keepdims")

    def _build(self, features):
        if len(features) != self._rank + 1:
            want = (
                "(batch, steps, channels)"
                if self._rank == 1
                else ("(batch, height, width, channels)")
            )
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: expected input of shape "
                f"{want}; got (batch, {', '.join(map(str, features))})"
            )
        if any(f < 1 for f in features[:-1]):
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: every spatial size must be "
                f">= 1; got (batch, {', '.join(map(str, features))})"
            )

    def _output_features(self, features):
        if self.keepdims:
            return (*([1] * (len(features) - 1)), features[-1])
        return (features[-1],)

    @staticmethod
    def _as3d(a: np.ndarray) -> np.ndarray:
        return a.reshape(a.shape[0], -1, a.shape[-1])

    def _forward(self, x, training, out, ctx):
        _backend.global_pool_forward(
            self._as3d(x), out.reshape(len(x), x.shape[-1]), self._maximum
        )
        ctx.input, ctx.output = x, out
        return out

    def _backward(self, dy, dx, ctx, accumulate=False):
        if dx is None:
            return None
        dy2 = dy.reshape(len(dy), dy.shape[-1])
        if self._maximum:
            y2 = ctx.output.reshape(dy2.shape)
            _backend.global_max_pool_backward(
                self._as3d(ctx.input), y2, dy2, self._as3d(dx)
            )
        else:
            _backend.global_avg_pool_backward(dy2, self._as3d(dx))
        return dx

    def get_config(self):
        config = super().get_config()
        config.update(data_format=self.data_format, keepdims=self.keepdims)
        return config


@registry.register("layer")
class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over height and width: (batch, h, w, c) -> (batch, c), or
    (batch, 1, 1, c) with keepdims."""


@registry.register("layer")
class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over the steps: (batch, steps, c) -> (batch, c), or (batch, 1, c)
    with keepdims."""

    _rank = 1


@registry.register("layer")
class GlobalMaxPooling2D(_GlobalPooling):
    """Max over height and width; the gradient is shared equally by tied
    maxima (TensorFlow's reduce_max gradient)."""

    _maximum = True


@registry.register("layer")
class GlobalMaxPooling1D(_GlobalPooling):
    """Max over the steps; the gradient is shared equally by tied maxima."""

    _rank = 1
    _maximum = True


# Keras's short names for the same classes.
MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
