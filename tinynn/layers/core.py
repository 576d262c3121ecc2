"""Core layers: Dense, Activation, Softmax, ReLU, LeakyReLU, ELU, PReLU, Dropout,
Flatten, Reshape, Rescaling, and InputLayer / Input."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import (
    _backend,
    _random,
    backend,
    activations,
    constraints,
    initializers,
    registry,
    regularizers,
)
from .._checks import as_float_array, describe, positive_int, real_number
from ..symbolic import KerasTensor, Node
from .base import (
    _scalar_or_list,
    Layer,
    _init_config,
)


def _as_rows(a: np.ndarray) -> np.ndarray:
    """`a` as rows of its last axis: itself when it is 2-D already (no new
    view object on the per-batch path)."""
    return a if a.ndim == 2 else a.reshape(-1, a.shape[-1])


class _KernelLayer(Layer):
    """What Dense and the convolution layers share: an activation (fused into
    the kernel when it can be), a kernel and an optional bias with their
    initializers, regularizers and constraints, and their config entries.
    Subclasses implement ``_linear(x, out, activation)`` (out = act(x * kernel
    + bias) for a fused activation, else linear) and ``_linear_backward(x, dz,
    dx, ctx, accumulate)`` from the pre-activation gradient dz."""

    #: Its relu's backward may be left to a max pooling that alone reads its
    #: output (``ctx.relu_by_consumer``; the executor decides).
    _relu_gatable = True

    def _init_kernel_layer(
        self,
        activation: Any,
        use_bias: Any,
        kernel_initializer: Any,
        bias_initializer: Any,
        kernel_regularizer: Any,
        bias_regularizer: Any,
        activity_regularizer: Any,
        kernel_constraint: Any,
        bias_constraint: Any,
    ) -> None:
        cls = type(self).__name__
        self.kernel_regularizer = regularizers.get(
            kernel_regularizer, f"{cls}: kernel_regularizer"
        )
        self.bias_regularizer = regularizers.get(
            bias_regularizer, f"{cls}: bias_regularizer"
        )
        self.activity_regularizer = regularizers.get(
            activity_regularizer, f"{cls}: activity_regularizer"
        )
        self.kernel_constraint = constraints.get(
            kernel_constraint, f"{cls}: kernel_constraint"
        )
        self.bias_constraint = constraints.get(
            bias_constraint, f"{cls}: bias_constraint"
        )
        self._activation = activations.get(activation, cls)
        self.activation = activations.function(self._activation)
        if not isinstance(use_bias, (bool, np.bool_)):
            raise TypeError(f"{cls}: use_bias must be True or False; got {use_bias!r}")
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer, cls)
        self.bias_initializer = initializers.get(bias_initializer, cls)

    @property
    def kernel(self) -> np.ndarray:
        """The live kernel, in Keras's shape."""
        return self._params[0]

    @property
    def bias(self) -> np.ndarray | None:
        """The live bias vector, or None without bias."""
        return self._params[1] if self.use_bias else None

    def _add_kernel_and_bias(self, kernel_shape: tuple[int, ...], bias_size: int):
        self._add_weight(
            "kernel",
            kernel_shape,
            self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        if self.use_bias:
            self._add_weight(
                "bias",
                (bias_size,),
                self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    @property
    def output_activation(self) -> str | None:
        # The activity penalty is on the activation's output: not fusable.
        return None if self.activity_regularizer is not None else self._activation

    def _linear(self, x, out, activation):
        raise NotImplementedError

    def _linear_backward(self, x, dz, dx, ctx, accumulate):
        raise NotImplementedError

    def _forward(self, x, training, out, ctx, activation: str | None = None):
        # activation="linear" lets the model fuse softmax into the loss kernel.
        act = ctx.activation = activation or self._activation
        # Activations work on the last axis (softmax per row or pixel).
        if act in _backend.FUSED_ACTIVATIONS:
            self._linear(x, out, act)
        elif act in _backend.FROM_INPUT_ACTIVATIONS:
            # swish and gelu differentiate from the pre-activation: keep it.
            z = ctx.buffer("pre_activation", out.shape, self._dtype)
            self._linear(x, z, "linear")
            _backend.activation_forward(act, _as_rows(z), _as_rows(out))
        else:
            self._linear(x, out, "linear")
            out2 = _as_rows(out)
            _backend.activation_forward(act, out2, out2)
        ctx.input, ctx.output = x, out
        return out

    def _backward(self, dy, dx, ctx, accumulate=False):
        if self.activity_regularizer is not None:
            self._activity_gradient(dy, ctx)
        dz = _as_rows(dy)
        act = ctx.activation
        if act == "relu" and ctx.relu_by_consumer:
            act = "linear"  # the max pooling after this layer applied it
        if act in _backend.FROM_INPUT_ACTIVATIONS:
            z = ctx.buffer("pre_activation", dy.shape, self._dtype)
            _backend.activation_backward(act, _as_rows(z), dz, dz)
        elif act != "linear":
            y2 = _as_rows(ctx.output)
            _backend.activation_backward(act, y2, dz, dz)
        self._linear_backward(ctx.input, dy, dx, ctx, accumulate)
        return dx

    def _kernel_layer_config(self) -> dict[str, Any]:
        """The config entries of the arguments ``_init_kernel_layer`` took."""
        return dict(
            activation=self._activation,
            use_bias=self.use_bias,
            kernel_initializer=_init_config(self.kernel_initializer),
            bias_initializer=_init_config(self.bias_initializer),
            kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
            bias_regularizer=regularizers.serialize(self.bias_regularizer),
            activity_regularizer=regularizers.serialize(self.activity_regularizer),
            kernel_constraint=constraints.serialize(self.kernel_constraint),
            bias_constraint=constraints.serialize(self.bias_constraint),
        )


@registry.register("layer")
class Dense(_KernelLayer):
    """Fully connected layer: ``output = activation(x @ kernel + bias)``.

    Parameters
    ----------
    units : int
        Number of outputs, a positive integer.
    activation : str or callable, optional
        'relu', 'sigmoid', 'tanh', 'softmax', 'linear' or None (fused into
        the C kernel), or 'elu', 'selu', 'softplus', 'leaky_relu',
        'swish'/'silu', 'gelu' (their C kernel right after it), or the
        matching ``tinynn.nn`` function.
    use_bias : bool
        Whether to add a bias vector.
    kernel_initializer, bias_initializer : str or callable
        Keras defaults: 'glorot_uniform' and 'zeros'.
    kernel_regularizer, bias_regularizer : str or Regularizer, optional
        'l1', 'l2', 'l1_l2' or a ``tinynn.regularizers`` object: its penalty
        is added to the loss (fit's and evaluate's) and its gradient to the
        weight's before each optimizer step.
    activity_regularizer : str or Regularizer, optional
        A penalty on the layer's output, divided by the batch size (Keras 2).
        A softmax/sigmoid layer with one is not fused into the loss kernel.
    kernel_constraint, bias_constraint : str or Constraint, optional
        A ``tinynn.constraints`` object applied after each optimizer step.

    The kernel has shape (input_dim, units), the bias (units,). An input of
    rank > 2 is multiplied on its last axis, as Keras does.

    Example
    -------
    >>> layer = Dense(3, activation="relu", input_dim=4)
    """

    def __init__(
        self,
        units: int,
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
        self.units = positive_int(units, "Dense", "units")
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

    #: Its backward kernel can take an Adam step on its weights itself
    #: (``ctx.optimizer_step``, set by the Trainer; tinynn/training.py).
    _steps_in_backward = True

    #: Its backward can apply the relu of the layer whose output it alone
    #: reads to its input gradient (``Plan._gate_relus``).
    _gates_relu = "dense"

    def _build(self, features):
        self._add_kernel_and_bias((features[-1], self.units), self.units)

    def _output_features(self, features):
        return (*features[:-1], self.units)

    def _linear(self, x, out, activation):
        # rank > 2 inputs: the last axis only, as Keras
        params = self._params  # kernel, bias (use_bias)
        _backend.dense_forward(
            _as_rows(x),
            params[0],
            params[1] if self.use_bias else None,
            _as_rows(out),
            activation,
        )

    def _linear_backward(self, x, dz, dx, ctx, accumulate):
        x2, dz2 = _as_rows(x), _as_rows(dz)
        dx2 = None if dx is None else _as_rows(dx)
        params, grads = self._params, self._grads  # kernel, bias (use_bias)
        db = grads[1] if self.use_bias else None
        # The input is the relu output of the layer before, whose backward
        # is left to this one (Plan._gate_relus).
        producer = ctx.relu_gate
        gate = x2 if producer is not None and producer.activation == "relu" else None
        step = ctx.optimizer_step
        if step is not None and not accumulate:
            ctx.optimizer_step = None  # taken: the Trainer checks
            _backend.dense_backward_adam(
                x2,
                params[0],
                params[1] if self.use_bias else None,
                dz2,
                dx2,
                grads[0],
                db,
                step,
                keep_dw=False,  # the step is its only reader
                gate=gate,
            )
            return
        _backend.dense_backward(
            x2, params[0], dz2, dx2, grads[0], db, accumulate=accumulate, gate=gate
        )

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, **self._kernel_layer_config())
        return config


@registry.register("layer")
class Flatten(Layer):
    """Reshape (batch, d1, d2, ...) to (batch, d1 * d2 * ...), in C order.

    A (batch,) input becomes (batch, 1). No weights, no copy.
    ``data_format`` is Keras's argument: only 'channels_last' (the default)
    is supported, since tinynn has no channel axis.
    """

    _buffered = False
    _reshapes_only = True

    def __init__(self, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(
                "Flatten: data_format must be 'channels_last' (the default; "
                f"tinynn has no channel axis to move first); got {data_format!r}"
            )
        self.data_format = "channels_last"

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config

    def _output_features(self, features):
        return (int(np.prod(features, dtype=np.int64)),)

    def forward(self, x: Any, training: bool = False) -> np.ndarray:
        array = as_float_array(x, self._dtype, f"{self.name}.forward", "x")
        if array.ndim == 1:
            array = array.reshape(-1, 1)
        return super().forward(array, training)

    def _forward(self, x, training, out, ctx):
        ctx.input = x
        ctx.output = x.reshape(x.shape[0], -1)
        return ctx.output

    def _backward(self, dy, dx, ctx, accumulate=False):
        if dx is not None and not ctx.gradient_shared:
            np.copyto(dx, dy.reshape(dx.shape))
        return dx


@registry.register("layer")
class Activation(Layer):
    """Apply an activation function by name ('relu', 'gelu', ...) or tinynn function."""

    #: elu's / leaky_relu's alpha; None is the kernel's default.
    _alpha: float | None = None

    def __init__(self, activation: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self._activation = activations.get(activation, "Activation")
        self.activation = activations.function(self._activation)

    @property
    def output_activation(self) -> str | None:
        return self._activation

    def _build(self, features):
        if self._activation == "softmax" and len(features) != 1:
            raise ValueError(
                f"Activation: softmax needs inputs of shape (batch, classes); got "
                f"(batch, {', '.join(map(str, features))})"
            )

    def _forward(self, x, training, out, ctx, activation: str | None = None):
        ctx.activation = activation or self._activation
        _backend.activation_forward(ctx.activation, x, out, self._alpha)
        ctx.input, ctx.output = x, out
        return out

    def _backward(self, dy, dx, ctx, accumulate=False):
        if dx is not None:
            act = ctx.activation
            source = ctx.input if act in _backend.FROM_INPUT_ACTIVATIONS else ctx.output
            _backend.activation_backward(act, source, dy, dx, self._alpha)
        return dx

    def get_config(self):
        config = super().get_config()
        config["activation"] = self._activation
        return config


@registry.register("layer")
class Softmax(Activation):
    """Softmax over the last axis (``tf.keras.layers.Softmax``). After a
    Dense layer and with a cross-entropy loss it fuses into the loss kernel
    exactly as ``Dense(..., activation="softmax")`` does."""

    def __init__(self, axis: Any = -1, **kwargs: Any):
        if axis != -1 and axis != [-1]:
            raise ValueError(
                f"Softmax: axis must be -1 (the last axis) in tinynn; got {axis!r}"
            )
        super().__init__("softmax", **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["activation"]
        config["axis"] = -1
        return config


@registry.register("layer")
class Dropout(Layer):
    """Inverted dropout: in training, zero a `rate` fraction and scale by 1/(1-rate).

    Identity at inference (evaluate, predict, validation). Masks come from
    tinynn's generator, so ``tinynn.set_seed`` makes them repeatable.
    """

    def __init__(
        self,
        rate: float,
        noise_shape: Any = None,
        seed: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.rate = real_number(
            rate, "Dropout", "rate", low=0.0, high=1.0, high_open=True
        )
        if noise_shape is not None:
            raise ValueError(
                f"Dropout: noise_shape is not supported; got {noise_shape!r}"
            )
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def _forward(self, x, training, out, ctx):
        ctx.input, ctx.output = x, out
        ctx.dropped = bool(training) and self.rate > 0
        if not ctx.dropped:
            np.copyto(out, x)
            return out
        mask = ctx.mask = ctx.buffer("mask", x.shape, self._dtype)
        # uniform draws; keep where the draw >= rate, scaled by 1 / (1 - rate);
        # out = x mask
        rng = self._rng or _random.generator()
        _backend.dropout_draw_forward(rng, mask, x, out, self.rate)
        return out

    def _backward(self, dy, dx, ctx, accumulate=False):
        if dx is None:
            return None
        if ctx.dropped:  # in C on the worker pool: NumPy's product, bit for bit
            _backend.merge_multiply([dy, ctx.mask], dx)
        else:
            np.copyto(dx, dy)
        return dx

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, seed=self.seed)
        return config


@registry.register("layer")
class InputLayer(Layer):
    """The entry of a model: ``keras.Input(shape)`` makes one and returns its
    symbolic output tensor. In a Sequential it only declares the input shape
    (and is not listed in ``model.layers``, as in Keras).

    ``InputLayer(shape=(784,))`` or ``input_shape=(784,)``; with the batch
    axis, Keras 2's ``batch_input_shape=(None, 784)`` or Keras 3's
    ``batch_shape=(None, 784)``. ``dtype`` may be an integer dtype for
    inputs of ids (the tensor keeps it; the layer has no weights), or
    'string' for texts (a TextVectorization next).
    """

    _buffered = False

    def __init__(
        self,
        input_shape: Any = None,
        batch_size: int | None = None,
        shape: Any = None,
        batch_shape: Any = None,
        dtype: Any = None,
        **kwargs: Any,
    ):
        given = shape if shape is not None else input_shape
        if batch_shape is not None:
            kwargs.setdefault("batch_input_shape", batch_shape)
        if given is None and kwargs.get("batch_input_shape") is None:
            raise ValueError("InputLayer: shape must be given, e.g. shape=(784,)")
        tensor_dtype = _input_dtype(dtype)
        float_dtype = None if tensor_dtype.kind in "iuO" else dtype
        super().__init__(input_shape=given, dtype=float_dtype, **kwargs)
        self.batch_size = (
            None
            if batch_size is None
            else positive_int(batch_size, "Input", "batch_size")
        )
        self.input_dtype = tensor_dtype if tensor_dtype.kind in "iuO" else self._dtype
        features = self._declared_input_shape
        self.input_shape = self.output_shape = (None, *features)
        self.built = True
        node = Node(self, [], as_list=False)
        node.outputs.append(
            KerasTensor(
                (self.batch_size, *features), self.input_dtype, self, 0, 0, self.name
            )
        )

    def _forward(self, x, training, out, ctx):
        return x

    def _backward(self, dy, dx, ctx, accumulate=False):
        return dx

    def get_config(self):
        config = super().get_config()
        if self.input_dtype.kind in "iu":
            config["dtype"] = self.input_dtype.name
        elif self.input_dtype.kind == "O":
            config["dtype"] = "string"
        return config


def _input_dtype(dtype: Any) -> np.dtype:
    """An Input's dtype: a float dtype tinynn computes in, or an integer one."""
    if dtype is None:
        return np.dtype(backend.floatx())
    if (
        dtype in ("string", "str")
        if isinstance(dtype, str)
        else (getattr(dtype, "name", None) == "string")
    ):
        return np.dtype(object)  # texts, for a TextVectorization first layer
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is not None and resolved.kind in "iu":
        return resolved
    return backend.resolve_dtype(dtype, "Input")


def Input(
    shape: Any = None,
    batch_size: int | None = None,
    name: str | None = None,
    dtype: Any = None,
    batch_shape: Any = None,
    **kwargs: Any,
) -> KerasTensor:
    """``keras.Input``: a symbolic tensor to build a functional model from.

    Parameters
    ----------
    shape : tuple of int
        One sample's shape, without the batch axis: ``(784,)``, ``(28, 28)``.
    batch_size : int, optional
        A fixed batch size (None: any).
    name : str, optional
        The input's name (``model.input_names``; the key of dict inputs).
    dtype : str, optional
        floatx() by default; an integer dtype for ids (Embedding inputs).

    Example
    -------
    >>> inputs = Input(shape=(784,))
    >>> x = Dense(64, activation="relu")(inputs)
    """
    layer = InputLayer(
        shape=shape,
        batch_size=batch_size,
        name=name,
        dtype=dtype,
        batch_shape=batch_shape,
        **kwargs,
    )
    return layer.output


@registry.register("layer")
class ReLU(Layer):
    """``tf.keras.layers.ReLU(max_value=None, negative_slope=0.0, threshold=0.0)``.

    ``f(x) = min(x, max_value)`` for ``x > threshold``, otherwise
    ``negative_slope * (x - threshold)`` (Keras's formula; all three >= 0).
    With the defaults it is the relu kernel, with only ``negative_slope`` the
    leaky_relu kernel, otherwise the relu_clip kernel.

    Example
    -------
    >>> layer = ReLU(max_value=6.0)
    """

    def __init__(
        self,
        max_value: float | None = None,
        negative_slope: float = 0.0,
        threshold: float = 0.0,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.max_value = (
            None
            if max_value is None
            else real_number(max_value, "ReLU", "max_value", low=0.0)
        )
        self.negative_slope = real_number(
            negative_slope, "ReLU", "negative_slope", low=0.0
        )
        self.threshold = real_number(threshold, "ReLU", "threshold", low=0.0)
        self._general = self.max_value is not None or self.threshold != 0

    def _forward(self, x, training, out, ctx):
        ctx.input, ctx.output = x, out
        if not self._general:
            if self.negative_slope == 0:
                return _backend.activation_forward("relu", x, out)
            return _backend.activation_forward(
                "leaky_relu", x, out, self.negative_slope
            )
        return _backend.relu_clip_forward(
            x, out, self.max_value, self.negative_slope, self.threshold
        )

    def _backward(self, dy, dx, ctx, accumulate=False):
        if dx is None:
            return None
        if not self._general:
            if self.negative_slope == 0:
                return _backend.activation_backward("relu", ctx.output, dy, dx)
            return _backend.activation_backward(
                "leaky_relu", ctx.output, dy, dx, self.negative_slope
            )
        return _backend.relu_clip_backward(
            ctx.input,
            dy,
            dx,
            self.max_value,
            self.negative_slope,
            self.threshold,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            max_value=self.max_value,
            negative_slope=self.negative_slope,
            threshold=self.threshold,
        )
        return config


@registry.register("layer")
class LeakyReLU(Activation):
    """``f(x) = x`` for ``x > 0``, ``alpha * x`` otherwise; Keras 2's default
    ``alpha=0.3`` (Keras 3 spells it ``negative_slope``; both accepted, >= 0)."""

    def __init__(
        self,
        alpha: float | None = None,
        negative_slope: float | None = None,
        **kwargs: Any,
    ):
        if alpha is not None and negative_slope is not None and alpha != negative_slope:
            raise ValueError(
                f"LeakyReLU: give alpha or negative_slope, not both; got {alpha!r} "
                f"and {negative_slope!r}"
            )
        given = alpha if alpha is not None else negative_slope
        super().__init__("leaky_relu", **kwargs)
        self.alpha = real_number(
            0.3 if given is None else given, "LeakyReLU", "alpha", low=0.0
        )
        self._alpha = self.alpha

    @property
    def negative_slope(self) -> float:
        """Keras 3's name for alpha."""
        return self.alpha

    def get_config(self):
        config = super().get_config()
        del config["activation"]
        config["alpha"] = self.alpha
        return config


@registry.register("layer")
class ELU(Activation):
    """``f(x) = x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise
    (``alpha=1.0``, >= 0 in tinynn)."""

    def __init__(self, alpha: float = 1.0, **kwargs: Any):
        super().__init__("elu", **kwargs)
        self.alpha = real_number(alpha, "ELU", "alpha", low=0.0)
        self._alpha = self.alpha

    def get_config(self):
        config = super().get_config()
        del config["activation"]
        config["alpha"] = self.alpha
        return config


@registry.register("layer")
class Rescaling(Layer):
    """``output = x * scale + offset`` (Keras's preprocessing layer), e.g.
    ``Rescaling(1. / 255, input_shape=(28, 28))`` for uint8 images.

    `scale` and `offset` are numbers, or lists broadcastable to the input's
    feature axes; one C kernel applies them per feature.
    """

    def __init__(self, scale: Any, offset: Any = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.scale = _scalar_or_list(scale, "Rescaling", "scale")
        self.offset = _scalar_or_list(offset, "Rescaling", "offset")

    def _build(self, features):
        size = int(np.prod(features, dtype=np.int64))
        for name in ("scale", "offset"):
            value = np.asarray(getattr(self, name), self._dtype)
            try:
                full = np.broadcast_to(value, tuple(features))
            except ValueError:
                raise ValueError(
                    f"Rescaling: {name} of shape {value.shape} does not broadcast to "
                    f"the input's features {tuple(features)}"
                ) from None
            # One value per flattened feature, for the C kernel's columns.
            setattr(self, f"_{name}_array", np.ascontiguousarray(full).reshape(size))

    def _forward(self, x, training, out, ctx):
        x2, out2 = x.reshape(len(x), -1), out.reshape(len(out), -1)
        _backend.rescale_forward(x2, self._scale_array, self._offset_array, out2)
        ctx.input, ctx.output = x, out
        return out

    def _backward(self, dy, dx, ctx, accumulate=False):
        if dx is not None:
            _backend.rescale_backward(
                dy.reshape(len(dy), -1), self._scale_array, dx.reshape(len(dx), -1)
            )
        return dx

    def get_config(self):
        config = super().get_config()
        config.update(scale=self.scale, offset=self.offset)
        return config


@registry.register("layer")
class Reshape(Layer):
    """Reshape each sample to `target_shape` (no batch axis; one entry may be
    -1, inferred from the rest), in C order, as ``tf.keras.layers.Reshape``."""

    _buffered = False
    _reshapes_only = True

    def __init__(self, target_shape: Any, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(target_shape, (int, np.integer)) and not isinstance(
            target_shape, bool
        ):
            target_shape = (target_shape,)
        try:
            dims = tuple(target_shape)
        except TypeError:
            raise TypeError(
                f"Reshape: target_shape must be a tuple of integers; got "
                f"{describe(target_shape)}"
            ) from None
        if (
            not dims
            or any(
                isinstance(d, bool)
                or not isinstance(d, (int, np.integer))
                or (d < 1 and d != -1)
                for d in dims
            )
            or sum(d == -1 for d in dims) > 1
        ):
            raise ValueError(
                f"Reshape: target_shape must be positive integers with at most one "
                f"-1; got {target_shape!r}"
            )
        self.target_shape = tuple(int(d) for d in dims)

    def _output_features(self, features):
        total = int(np.prod(features, dtype=np.int64))
        known = int(np.prod([d for d in self.target_shape if d != -1], dtype=np.int64))
        if -1 in self.target_shape:
            if known == 0 or total % known:
                raise ValueError(
                    f"Reshape: cannot reshape inputs of shape (batch, "
                    f"{', '.join(map(str, features))}) to {self.target_shape}: the "
                    f"total size {total} is not a multiple of {known}"
                )
            return tuple(total // known if d == -1 else d for d in self.target_shape)
        if known != total:
            raise ValueError(
                f"Reshape: total size of new array must be unchanged: inputs of shape "
                f"(batch, {', '.join(map(str, features))}) have {total} values per "
                f"sample, target_shape {self.target_shape} has {known}"
            )
        return self.target_shape

    def _forward(self, x, training, out, ctx):
        ctx.input = x
        ctx.output = x.reshape(x.shape[0], *self.output_shape[1:])
        return ctx.output

    def _backward(self, dy, dx, ctx, accumulate=False):
        if dx is not None and not ctx.gradient_shared:
            np.copyto(dx, dy.reshape(dx.shape))
        return dx

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = list(self.target_shape)
        return config


@registry.register("layer")
class PReLU(Layer):
    """Parametric ReLU (``tf.keras.layers.PReLU``): ``f(x) = x`` for ``x > 0``,
    ``alpha * x`` otherwise, with a learned slope ``alpha`` per feature.

    Parameters
    ----------
    alpha_initializer : str or callable
        Keras's default 'zeros' (the layer starts as a ReLU).
    alpha_regularizer, alpha_constraint
        Accepted only as None (not supported by tinynn yet).
    shared_axes : int or list of int, optional
        Input axes (1 is the first after the batch axis) along which one
        slope is shared, as in Keras. tinynn supports shared axes that are
        leading or trailing feature axes (e.g. ``[1, 2]`` for images, channels
        last), not shared axes between unshared ones.

    The weight ``alpha`` has the input's shape without the batch axis, with
    1 on each shared axis (Keras's shape).

    Example
    -------
    >>> layer = PReLU(input_shape=(10,))
    """

    def __init__(
        self,
        alpha_initializer: Any = "zeros",
        alpha_regularizer: Any = None,
        alpha_constraint: Any = None,
        shared_axes: Any = None,
        **kwargs: Any,
    ):
        where = "PReLU"
        for key, value in (
            ("alpha_regularizer", alpha_regularizer),
            ("alpha_constraint", alpha_constraint),
        ):
            if value is not None:
                raise ValueError(f"{where}: {key} is not supported; got {value!r}")
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer, where)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = (
                [shared_axes]
                if isinstance(shared_axes, (int, np.integer))
                else shared_axes
            )
            try:
                axes = list(axes)
            except TypeError:
                raise TypeError(
                    f"{where}: shared_axes must be None, an int or a list of ints; "
                    f"got {shared_axes!r}"
                ) from None
            if any(
                isinstance(a, bool) or not isinstance(a, (int, np.integer)) or a < 1
                for a in axes
            ):
                raise ValueError(
                    f"{where}: shared_axes must be input axes >= 1 (axis 0 is the "
                    f"batch); got {shared_axes!r}"
                )
            self.shared_axes = sorted({int(a) for a in axes})
        self._split = (1, 1, 1)

    def _build(self, features):
        n = len(features)
        shared = set(self.shared_axes or ())
        if shared and max(shared) > n:
            raise ValueError(
                f"PReLU: shared_axes {self.shared_axes} name an axis beyond the "
                f"input's {n} feature axes (inputs of shape (batch, "
                f"{', '.join(map(str, features))}))"
            )
        flags = [i + 1 in shared for i in range(n)]
        lead = next((i for i, f in enumerate(flags) if not f), n)
        trail = next((i for i, f in enumerate(reversed(flags)) if not f), n)
        if lead + trail < n and any(flags[lead : n - trail]):
            raise ValueError(
                f"PReLU: shared_axes {self.shared_axes} must be leading or trailing "
                f"feature axes in tinynn (a shared axis between unshared ones is not "
                f"supported); inputs have shape (batch, "
                f"{', '.join(map(str, features))})"
            )
        shape = tuple(1 if f else d for f, d in zip(flags, features))
        self._add_weight("alpha", shape, self.alpha_initializer)

        def prod(dims):
            return int(np.prod(dims, dtype=np.int64))

        # x is viewed as (batch * outer, channels, inner) for the kernel
        trail = min(trail, n - lead)
        self._split = (
            prod(features[:lead]),
            prod(features[lead : n - trail]),
            prod(features[n - trail :]),
        )

    def _cube(self, array: np.ndarray) -> np.ndarray:
        outer, channels, inner = self._split
        return array.reshape(len(array) * outer, channels, inner)

    def _forward(self, x, training, out, ctx):
        _backend.prelu_forward(
            self._cube(x), self._params[0].reshape(-1), self._cube(out)
        )
        ctx.input, ctx.output = x, out
        return out

    def _backward(self, dy, dx, ctx, accumulate=False):
        (dalpha,) = targets = self._gradient_targets(ctx, accumulate)
        _backend.prelu_backward(
            self._cube(ctx.input),
            self._params[0].reshape(-1),
            self._cube(dy),
            None if dx is None else self._cube(dx),
            dalpha.reshape(-1),
        )
        self._add_staged(targets, accumulate)
        return dx

    def get_config(self):
        config = super().get_config()
        config.update(
            alpha_initializer=_init_config(self.alpha_initializer),
            alpha_regularizer=None,
            alpha_constraint=None,
            shared_axes=self.shared_axes,
        )
        return config
