"""Convolution layers: Conv2D, Conv1D, Conv2DTranspose (channels_last).

All three run on the C kernels of csrc/conv.inc (indirect GEMMs on the
SIMD path's micro-kernels, docs/convolutions.md). A Conv2D or Conv1D whose
output only a MaxPooling layer reads may run fused with it (the model's
executor decides, ``_fuse_max_pool``): the convolution's output is then
never stored. Kernels are stored as Keras stores them: Conv2D (kh, kw, in,
filters), Conv1D (k, in, filters), Conv2DTranspose (kh, kw, filters, in), so
files move between tinynn and Keras unchanged. Padding is computed here, in
TensorFlow's way: "same" gives ceil(size / stride) outputs and puts the odd
padded row or column at the bottom/right.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .. import _backend, registry
from .._checks import positive_int
from .core import _KernelLayer


def _int_tuple(value: Any, rank: int, where: str, name: str, low: int = 1) -> tuple:
    """An int or a sequence of `rank` ints >= low, as a tuple (Keras's
    standardize_tuple)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,) * rank
    if not isinstance(value, (list, tuple)) or len(value) != rank:
        raise ValueError(
            f"{where}: {name} must be an integer or a tuple of {rank} integers; "
            f"got {value!r}"
        )
    for item in value:
        if isinstance(item, bool) or not isinstance(item, numbers.Integral):
            raise TypeError(f"{where}: {name} must hold integers; got {value!r}")
        if item < low:
            raise ValueError(
                f"{where}: {name} must hold integers >= {low}; got {value!r}"
            )
    return tuple(int(item) for item in value)


def _same_padding(size: int, span: int, stride: int) -> tuple[int, int]:
    """TF's "same": ceil(size / stride) outputs; the odd pad goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def _conv_output(where: str, size: int, span: int, stride: int, padding: str) -> int:
    if padding == "same":
        return -(-size // stride)
    if size < span:
        raise ValueError(
            f"{where}: the input has {size} pixels along a spatial axis but the "
            f"(dilated) kernel spans {span} with padding 'valid'; expected an input "
            "at least as large as the kernel (or padding='same')"
        )
    return (size - span) // stride + 1


class _Conv(_KernelLayer):
    """What Conv1D, Conv2D and Conv2DTranspose share: arguments, geometry,
    config; weights and activation as Dense's (_KernelLayer)."""

    _rank = 2
    _paddings = ("valid", "same")

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = 1,
        groups: int = 1,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        cls = type(self).__name__
        rank = self._rank
        self.filters = positive_int(filters, cls, "filters")
        self.kernel_size = _int_tuple(kernel_size, rank, cls, "kernel_size")
        self.strides = _int_tuple(strides, rank, cls, "strides")
        self.dilation_rate = _int_tuple(dilation_rate, rank, cls, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{cls}: strides > 1 not supported in conjunction with dilation_rate "
                f"> 1; got strides={self.strides} and "
                f"dilation_rate={self.dilation_rate}"
            )
        if not isinstance(padding, str) or padding.lower() not in self._paddings:
            raise ValueError(
                f"{cls}: padding must be one of {', '.join(map(repr, self._paddings))}"
                f" (any case); got {padding!r}"
            )
        self.padding = padding.lower()
        if data_format not in (None, "channels_last"):
            raise ValueError(
                f"{cls}: data_format must be 'channels_last' (tinynn stores images "
                f"as (batch, height, width, channels)); got {data_format!r}. "
                "Transpose channels_first data with np.moveaxis(x, 1, -1)"
            )
        self.data_format = "channels_last"
        if groups != 1:
            raise ValueError(f"{cls}: groups must be 1 in tinynn; got {groups!r}")
        self._init_kernel_layer(
            activation,
            use_bias,
            kernel_initializer,
            bias_initializer,
            kernel_regularizer,
            bias_regularizer,
            activity_regularizer,
            kernel_constraint,
            bias_constraint,
        )

    def _check_input(self, features: tuple[int, ...]) -> None:
        cls = type(self).__name__
        if len(features) != self._rank + 1:
            axes = (
                "(batch, steps, channels)"
                if self._rank == 1
                else ("(batch, height, width, channels)")
            )
            raise ValueError(
                f"{cls}: input must have shape {axes}; got (None, "
                f"{', '.join(map(str, features))})"
            )

    def _kernel_shape(self, channels: int) -> tuple[int, ...]:
        return (*self.kernel_size, channels, self.filters)

    def _bias_size(self) -> int:
        return self.filters

    def _build(self, features):
        self._check_input(features)
        self._output_features(features)  # raises for an input smaller than the kernel
        self._add_kernel_and_bias(self._kernel_shape(features[-1]), self._bias_size())

    # ---- geometry: everything as a 2-D convolution on 4-D views --------------
    def _spans(self) -> tuple[int, ...]:
        return tuple(
            (k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate)
        )

    def _geometry(self, spatial: tuple[int, ...]):
        """(strides, dilation, padding) of the 2-D kernels for an input (Conv2D,
        Conv1D) or output (Conv2DTranspose) of these spatial sizes."""
        pads = []
        for size, span, stride in zip(spatial, self._spans(), self.strides):
            if self.padding == "same":
                pads.append(_same_padding(size, span, stride))
            elif self.padding == "causal":
                pads.append((span - 1, 0))
            else:
                pads.append((0, 0))
        strides, dilation = self.strides, self.dilation_rate
        if self._rank == 1:
            pads, strides, dilation = [(0, 0), *pads], (1, *strides), (1, *dilation)
        (top, bottom), (left, right) = pads
        return strides, dilation, (top, left, bottom, right)

    def _as4d(self, array: np.ndarray) -> np.ndarray:
        """Conv1D's (batch, steps, channels) as (batch, 1, steps, channels)."""
        return (
            array
            if self._rank == 2
            else array.reshape(array.shape[0], 1, *array.shape[1:])
        )

    def _kernel4d(self, kernel: np.ndarray) -> np.ndarray:
        return kernel if self._rank == 2 else kernel.reshape(1, *kernel.shape)

    # ---- forward and backward (the activation: _KernelLayer's) -------------
    def _geometry_for(self, x: np.ndarray, out: np.ndarray):
        raise NotImplementedError

    def _conv(self, x4, out4, geometry, activation):
        raise NotImplementedError

    def _conv_backward(self, x4, dz4, dx4, geometry, accumulate):
        raise NotImplementedError

    def _linear(self, x, out, activation):
        geometry = self._geometry_for(x, out)
        self._conv(self._as4d(x), self._as4d(out), geometry, activation)

    def _linear_backward(self, x, dz, dx, ctx, accumulate):
        dx4 = None if dx is None else self._as4d(dx)
        geometry = self._geometry_for(x, dz)
        self._conv_backward(self._as4d(x), self._as4d(dz), dx4, geometry, accumulate)

    # ---- config --------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=list(self.kernel_size),
            strides=list(self.strides),
            padding=self.padding,
            data_format=self.data_format,
            dilation_rate=list(self.dilation_rate),
        )
        if not isinstance(self, Conv2DTranspose):
            config["groups"] = 1
        config.update(self._kernel_layer_config())
        return config


class _ForwardConv(_Conv):
    """Conv2D and Conv1D: y = act(conv(x, kernel) + bias)."""

    def _output_features(self, features):
        self._check_input(features)
        spatial = tuple(
            _conv_output(type(self).__name__, size, span, stride, self.padding)
            for size, span, stride in zip(features[:-1], self._spans(), self.strides)
        )
        return (*spatial, self.filters)

    def _geometry_for(self, x, out):
        return self._geometry(tuple(x.shape[1:-1]))

    def _conv(self, x4, out4, geometry, activation):
        _backend.conv2d_forward(
            x4, self._kernel4d(self.kernel), self.bias, out4, *geometry, activation
        )

    # ---- fused with the max pooling that alone reads the output ----------
    def _fuse_max_pool(self, pool: Any, features: tuple[int, ...], rows: int):
        """The pooling window (pool_h, pool_w) if this layer, on inputs of
        `features` per sample and batches of up to `rows`, can run fused with
        the pooling layer `pool` (``_forward(..., ctx)`` with
        ``ctx.max_pool`` set then writes the pooled output and its argmax);
        else None. Not with an activity penalty, which needs the output."""
        window = getattr(pool, "_fusable_window", lambda rank: None)(self._rank)
        if (
            window is None
            or self._activation not in ("relu", "linear")
            or self.activity_regularizer is not None
            or len(features) != self._rank + 1
        ):
            return None
        x4 = (rows, *((1,) if self._rank == 1 else ()), *features)
        out4 = (rows, *self._as4d_shape(self._output_features(features)))
        w4 = (1,) * (4 - len(self.kernel.shape)) + tuple(self.kernel.shape)
        if not _backend.conv2d_maxpool_fits(x4, w4, out4, window):
            return None
        return window

    def _as4d_shape(self, features: tuple[int, ...]) -> tuple[int, ...]:
        return features if self._rank == 2 else (1, *features)

    def _forward(self, x, training, out, ctx, activation=None):
        window = ctx.max_pool
        if window is None:
            return super()._forward(x, training, out, ctx, activation)
        y4 = self._as4d(out)
        argmax = ctx.buffer("argmax", y4.shape, np.int32) if training else None
        _backend.conv2d_maxpool_forward(
            self._as4d(x),
            self._kernel4d(self.kernel),
            self.bias,
            y4,
            argmax,
            *self._geometry_for(x, None),
            window,
            self._activation,
        )
        ctx.activation = self._activation
        ctx.input, ctx.output, ctx.argmax_valid = x, out, bool(training)
        return out

    def _backward(self, dy, dx, ctx, accumulate=False):
        window = ctx.max_pool
        if window is None:
            return super()._backward(dy, dx, ctx, accumulate)
        if dx is not None:  # the executor fuses only where none is needed
            raise RuntimeError(
                f"{type(self).__name__} {self.name!r}: a convolution fused with "
                "its max pooling computes no input gradient"
            )
        x4, y4, dy4 = self._as4d(ctx.input), self._as4d(ctx.output), self._as4d(dy)
        geometry = self._geometry_for(ctx.input, None)
        argmax = ctx.buffer("argmax", y4.shape, np.int32)
        if not ctx.argmax_valid:  # forward ran at inference: find them now
            _backend.conv2d_maxpool_forward(
                x4,
                self._kernel4d(self.kernel),
                self.bias,
                ctx.buffer("scratch", y4.shape, y4.dtype),
                argmax,
                *geometry,
                window,
                self._activation,
            )
            ctx.argmax_valid = True
        _backend.conv2d_maxpool_backward(
            x4,
            dy4,
            y4,
            argmax,
            self._kernel4d(self._grads[0]),
            self._grads[1] if self.use_bias else None,
            *geometry,
            window,
            self._activation,
            accumulate,
        )
        return None

    def _conv_backward(self, x4, dz4, dx4, geometry, accumulate):
        db = self._grads[1] if self.use_bias else None
        _backend.conv2d_backward(
            x4,
            self._kernel4d(self.kernel),
            dz4,
            dx4,
            self._kernel4d(self._grads[0]),
            db,
            *geometry,
            accumulate=accumulate,
        )


@registry.register("layer")
class Conv2D(_ForwardConv):
    """2-D convolution over (batch, height, width, channels) images.

    ``output[n, i, j, f] = activation(bias[f] + sum over a, b, c of
    x[n, i*sh + a*dh - top, j*sw + b*dw - left, c] * kernel[a, b, c, f])``
    with zeros outside the image.

    Parameters
    ----------
    filters : int
        Number of output channels.
    kernel_size : int or (int, int)
        Height and width of the window.
    strides : int or (int, int)
        Step between windows (default 1).
    padding : str
        'valid' (no padding) or 'same' (output ceil(size / stride), zeros
        added evenly with the odd one at the bottom/right, as TensorFlow);
        any case.
    data_format : None or 'channels_last'
        'channels_first' is not supported (a ValueError).
    dilation_rate : int or (int, int)
        Spacing of the window's taps; > 1 only with strides 1.
    groups : int
        Must be 1.
    activation, use_bias, kernel_initializer, bias_initializer,
    kernel_regularizer, bias_regularizer, activity_regularizer,
    kernel_constraint, bias_constraint
        As for Dense.

    The kernel has shape (kh, kw, input channels, filters), the bias
    (filters,), as in Keras.

    Example
    -------
    >>> layer = Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1))
    """


@registry.register("layer")
class Conv1D(_ForwardConv):
    """1-D convolution over (batch, steps, channels) sequences.

    Conv2D on a (batch, 1, steps, channels) view; the kernel has shape
    (kernel_size, input channels, filters). ``padding`` may also be
    'causal': kernel_size - 1 (dilated) zeros before the sequence, none
    after, so output t sees inputs up to t only.

    Example
    -------
    >>> layer = Conv1D(128, 5, activation="relu", input_shape=(100, 16))
    """

    _rank = 1
    _paddings = ("valid", "same", "causal")

    def _output_features(self, features):
        if self.padding != "causal":
            return super()._output_features(features)
        self._check_input(features)
        # 'valid' on the input with span - 1 zeros in front
        return ((features[0] - 1) // self.strides[0] + 1, self.filters)


@registry.register("layer")
class Conv2DTranspose(_Conv):
    """Transposed 2-D convolution ("deconvolution"): the gradient of a Conv2D
    with respect to its input, used as a layer that upsamples.

    Parameters as Conv2D, plus ``output_padding`` (None, an int or two ints,
    each < its stride): extra rows/columns at the bottom/right of the
    output. Output size per axis, as Keras: without output_padding,
    ``size * stride + max(span - stride, 0)`` ('valid') or ``size * stride``
    ('same'); with it, ``(size - 1) * stride + span - 2 * pad +
    output_padding``, pad = span // 2 for 'same', 0 for 'valid' (span: the
    dilated kernel size). The kernel has shape (kh, kw, filters, input
    channels), as in Keras.

    Example
    -------
    >>> layer = Conv2DTranspose(16, 3, strides=2, padding="same")
    """

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        output_padding: Any = None,
        data_format: str | None = None,
        dilation_rate: Any = 1,
        **kwargs: Any,
    ):
        super().__init__(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            **kwargs,
        )
        self.output_padding = None
        if output_padding is not None:
            cls = type(self).__name__
            self.output_padding = _int_tuple(
                output_padding, 2, cls, "output_padding", 0
            )
            for axis, (pad, stride) in enumerate(
                zip(self.output_padding, self.strides)
            ):
                if pad >= stride:
                    raise ValueError(
                        f"{cls}: output_padding must be strictly less than strides "
                        f"for all dimensions; at dimension {axis} output_padding is "
                        f"{pad} but strides is {stride}"
                    )

    def _kernel_shape(self, channels):
        return (*self.kernel_size, self.filters, channels)

    def _output_features(self, features):
        self._check_input(features)
        sizes = []
        for axis, (size, span, stride) in enumerate(
            zip(features[:-1], self._spans(), self.strides)
        ):
            if self.output_padding is None:
                if self.padding == "valid":
                    sizes.append(size * stride + max(span - stride, 0))
                else:
                    sizes.append(size * stride)
            else:
                pad = span // 2 if self.padding == "same" else 0
                sizes.append(
                    (size - 1) * stride + span - 2 * pad + self.output_padding[axis]
                )
        return (*sizes, self.filters)

    def _geometry_for(self, x, out):
        """The padding of the convolution this layer transposes: the one
        TensorFlow derives for a conv from `out` back to `x` (the odd row at
        the bottom/right)."""
        pads = []
        for size_in, size_out, span, stride in zip(
            x.shape[1:3], out.shape[1:3], self._spans(), self.strides
        ):
            total = max((size_in - 1) * stride + span - size_out, 0)
            pads.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = pads
        return self.strides, self.dilation_rate, (top, left, bottom, right)

    def _conv(self, x4, out4, geometry, activation):
        _backend.conv2d_transpose_forward(
            x4, self.kernel, self.bias, out4, *geometry, activation
        )

    def _conv_backward(self, x4, dz4, dx4, geometry, accumulate):
        db = self._grads[1] if self.use_bias else None
        _backend.conv2d_transpose_backward(
            x4,
            self.kernel,
            dz4,
            dx4,
            self._grads[0],
            db,
            *geometry,
            accumulate=accumulate,
        )

    def get_config(self):
        config = super().get_config()
        items = list(config.items())
        position = [key for key, _ in items].index("padding") + 1
        op = None if self.output_padding is None else list(self.output_padding)
        items.insert(position, ("output_padding", op))
        return dict(items)
