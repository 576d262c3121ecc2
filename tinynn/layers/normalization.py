"""Normalization layers: BatchNormalization, LayerNormalization and Normalization
(with ``adapt``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import (
    _backend,
    constraints,
    initializers,
    registry,
    regularizers,
)
from .._checks import as_float_array, positive_int, real_number
from ..tensor import Tensor, as_tensor
from .base import (
    _scalar_or_list,
    Layer,
    _bool_flag,
    _check_last_axis,
    _init_config,
    _last_axis,
)


# Keras arguments of BatchNormalization tinynn accepts only with their "off"
# value (Keras 2 writes several of them into every saved config).
_BATCHNORM_OFF = {
    "renorm": False,
    "renorm_clipping": None,
    "renorm_momentum": 0.99,
    "fused": None,
    "virtual_batch_size": None,
    "adjustment": None,
    "synchronized": False,
}


@registry.register("layer")
class BatchNormalization(Layer):
    """Normalize each feature over the batch (``tf.keras.layers.BatchNormalization``).

    Training (fit, or ``training=True``): with the batch's per-feature mean
    and (biased) variance, ``y = gamma (x - mean) / sqrt(var + epsilon) +
    beta``, and the moving statistics move towards the batch's:
    ``moving -= (moving - batch value) * (1 - momentum)``. Inference
    (predict, evaluate, validation) uses moving_mean and moving_variance.
    As in Keras 2, a layer whose ``trainable`` is False always runs in
    inference mode.

    Parameters
    ----------
    axis : int
        The feature axis: the last one (-1, Keras's default) in tinynn.
    momentum, epsilon : float
        Keras's defaults 0.99 and 1e-3.
    center, scale : bool
        Learn beta (an offset) and gamma (a factor); False fixes them at 0 and 1.
    beta_initializer, gamma_initializer, moving_mean_initializer,
    moving_variance_initializer
        Keras's defaults 'zeros', 'ones', 'zeros', 'ones'.
    beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint
        As Dense's kernel_regularizer and kernel_constraint, for beta and gamma.

    Weights, in Keras's order and names: gamma, beta (trainable),
    moving_mean, moving_variance (not trainable: fit's optimizer never
    touches them; the layer updates them itself).
    """

    def __init__(
        self,
        axis: Any = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        moving_mean_initializer: Any = "zeros",
        moving_variance_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ):
        where = "BatchNormalization"
        for key, off in _BATCHNORM_OFF.items():
            value = kwargs.pop(key, off)
            if key == "fused" and value in (True, False):
                continue  # an implementation choice in Keras, same results
            if value != off:
                raise ValueError(f"{where}: {key} is not supported; got {value!r}")
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)) and len(axis) == 1:
            axis = axis[0]
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"{where}: axis must be an int; got {axis!r}")
        self.axis = int(axis)
        self.momentum = real_number(momentum, where, "momentum", low=0.0, high=1.0)
        self.epsilon = real_number(epsilon, where, "epsilon", low=0.0)
        for key, value in (("center", center), ("scale", scale)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{where}: {key} must be True or False; got {value!r}")
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer, where)
        self.gamma_initializer = initializers.get(gamma_initializer, where)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer, where)
        self.moving_variance_initializer = initializers.get(
            moving_variance_initializer, where
        )
        self.beta_regularizer = regularizers.get(
            beta_regularizer, f"{where}: beta_regularizer"
        )
        self.gamma_regularizer = regularizers.get(
            gamma_regularizer, f"{where}: gamma_regularizer"
        )
        self.beta_constraint = constraints.get(
            beta_constraint, f"{where}: beta_constraint"
        )
        self.gamma_constraint = constraints.get(
            gamma_constraint, f"{where}: gamma_constraint"
        )
        self._spare: list[np.ndarray] = []

    def _build(self, features):
        if self.axis not in (-1, len(features)):
            raise ValueError(
                f"BatchNormalization: axis must be the last axis (-1 or "
                f"{len(features)} for inputs of shape (batch, "
                f"{', '.join(map(str, features))})); got {self.axis}"
            )
        channels = (features[-1],)
        if self.scale:
            self._add_weight(
                "gamma",
                channels,
                self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
            )
        if self.center:
            self._add_weight(
                "beta",
                channels,
                self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
            )
        self._add_weight(
            "moving_mean", channels, self.moving_mean_initializer, trainable=False
        )
        self._add_weight(
            "moving_variance",
            channels,
            self.moving_variance_initializer,
            trainable=False,
        )
        # dgamma/dbeta buffers for the kernel when gamma or beta is off.
        self._spare = [np.empty(channels, self._dtype) for _ in range(2)]

    def _forward(self, x, training, out, ctx):
        channels = x.shape[-1]
        ctx.batch_statistics = bool(training) and self.trainable
        # The batch mean and 1/std forward saves for backward.
        ctx.statistics = (
            ctx.buffer("mean", (channels,), self._dtype),
            ctx.buffer("inv_std", (channels,), self._dtype),
        )
        _backend.batchnorm_forward(
            x.reshape(-1, channels),
            self._weight("gamma"),
            self._weight("beta"),
            self._weight("moving_mean"),
            self._weight("moving_variance"),
            out.reshape(-1, channels),
            *ctx.statistics,
            self.momentum,
            self.epsilon,
            ctx.batch_statistics,
        )
        ctx.input, ctx.output = x, out
        return out

    def _backward(self, dy, dx, ctx, accumulate=False):
        channels = dy.shape[-1]
        targets = self._gradient_targets(ctx, accumulate)
        grads = dict(zip(self._param_names, targets))
        _backend.batchnorm_backward(
            ctx.input.reshape(-1, channels),
            self._weight("gamma"),
            dy.reshape(-1, channels),
            *ctx.statistics,
            None if dx is None else dx.reshape(-1, channels),
            grads.get("gamma", self._spare[0]),
            grads.get("beta", self._spare[1]),
            ctx.batch_statistics,
        )
        self._add_staged(targets, accumulate)
        return dx

    def get_config(self):
        config = super().get_config()
        config.update(
            axis=self.axis,
            momentum=self.momentum,
            epsilon=self.epsilon,
            center=self.center,
            scale=self.scale,
            beta_initializer=_init_config(self.beta_initializer),
            gamma_initializer=_init_config(self.gamma_initializer),
            moving_mean_initializer=_init_config(self.moving_mean_initializer),
            moving_variance_initializer=_init_config(self.moving_variance_initializer),
            beta_regularizer=regularizers.serialize(self.beta_regularizer),
            gamma_regularizer=regularizers.serialize(self.gamma_regularizer),
            beta_constraint=constraints.serialize(self.beta_constraint),
            gamma_constraint=constraints.serialize(self.gamma_constraint),
        )
        return config


# Keras arguments of LayerNormalization tinynn accepts only with their "off"
# value (Keras 2 writes the first four into every config, Keras 3 the last).
_LAYERNORM_OFF = {
    "beta_regularizer": None,
    "gamma_regularizer": None,
    "beta_constraint": None,
    "gamma_constraint": None,
    "rms_scaling": False,
}


@registry.register("layer")
class LayerNormalization(Layer):
    """Normalize each sample over its features (``tf.keras.layers.LayerNormalization``).

    Per row (every axis but the last is folded into rows): ``y = gamma (x -
    mean) / sqrt(var + epsilon) + beta`` with the row's own mean and biased
    variance, in training and inference alike.

    Parameters
    ----------
    axis : int
        The normalized axis: the last one (-1, Keras's default) in tinynn.
    epsilon : float
        Keras's default 1e-3.
    center, scale : bool
        Learn beta (an offset) and gamma (a factor) per feature; False fixes
        them at 0 and 1.
    beta_initializer, gamma_initializer
        Keras's defaults 'zeros' and 'ones'.

    Weights, in Keras's order and names: gamma, beta.

    Example
    -------
    >>> layer = LayerNormalization(input_shape=(8,))
    """

    def __init__(
        self,
        axis: Any = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        **kwargs: Any,
    ):
        where = "LayerNormalization"
        for key, off in _LAYERNORM_OFF.items():
            value = kwargs.pop(key, off)
            if value != off:
                raise ValueError(f"{where}: {key} is not supported; got {value!r}")
        super().__init__(**kwargs)
        self.axis = _last_axis(axis, where)
        self.epsilon = real_number(epsilon, where, "epsilon", low=0.0)
        self.center = _bool_flag(center, where, "center")
        self.scale = _bool_flag(scale, where, "scale")
        self.beta_initializer = initializers.get(beta_initializer, where)
        self.gamma_initializer = initializers.get(gamma_initializer, where)
        self._spare: list[np.ndarray] = []

    def _build(self, features):
        _check_last_axis(self.axis, features, "LayerNormalization")
        channels = (features[-1],)
        if self.scale:
            self._add_weight("gamma", channels, self.gamma_initializer)
        if self.center:
            self._add_weight("beta", channels, self.beta_initializer)
        # dgamma/dbeta buffers for the kernel when gamma or beta is off.
        self._spare = [np.empty(channels, self._dtype) for _ in range(2)]

    def _forward(self, x, training, out, ctx):
        channels = x.shape[-1]
        x2 = x.reshape(-1, channels)
        # Each row's mean and 1/std, saved for backward.
        ctx.statistics = (
            ctx.buffer("mean", (len(x2),), self._dtype),
            ctx.buffer("inv_std", (len(x2),), self._dtype),
        )
        _backend.layernorm_forward(
            x2,
            self._weight("gamma"),
            self._weight("beta"),
            out.reshape(-1, channels),
            *ctx.statistics,
            self.epsilon,
        )
        ctx.input, ctx.output = x, out
        return out

    def _backward(self, dy, dx, ctx, accumulate=False):
        channels = dy.shape[-1]
        targets = self._gradient_targets(ctx, accumulate)
        grads = dict(zip(self._param_names, targets))
        _backend.layernorm_backward(
            ctx.input.reshape(-1, channels),
            self._weight("gamma"),
            dy.reshape(-1, channels),
            *ctx.statistics,
            None if dx is None else dx.reshape(-1, channels),
            grads.get("gamma", self._spare[0]),
            grads.get("beta", self._spare[1]),
        )
        self._add_staged(targets, accumulate)
        return dx

    def get_config(self):
        config = super().get_config()
        config.update(
            axis=self.axis,
            epsilon=self.epsilon,
            center=self.center,
            scale=self.scale,
            beta_initializer=_init_config(self.beta_initializer),
            gamma_initializer=_init_config(self.gamma_initializer),
            beta_regularizer=None,
            gamma_regularizer=None,
            beta_constraint=None,
            gamma_constraint=None,
        )
        return config


# Keras's backend.epsilon(): the floor of the standard deviation Normalization
# divides by.
_NORMALIZATION_EPSILON = 1e-7


@registry.register("layer")
class Normalization(Layer):
    """Standardize features with a mean and variance computed by ``adapt``
    (``tf.keras.layers.Normalization``, Keras 2.x).

    ``y = (x - mean) / max(sqrt(variance), 1e-7)`` (Keras's epsilon floor on
    the standard deviation), or with ``invert=True`` the inverse,
    ``y = mean + x * max(sqrt(variance), 1e-7)``. One C kernel (Rescaling's)
    applies it per feature.

    Parameters
    ----------
    axis : int or None
        The axis that keeps its own statistics: the last one (-1, Keras's
        default), or None for one mean and variance over all values.
    mean, variance : number or list, optional
        Given together, they fix the statistics and the layer has no weights
        (as in Keras); otherwise ``adapt(data)`` computes them.
    invert : bool
        Undo a normalization instead (Keras's default False).

    Weights (not trainable, as in Keras 2): mean and variance, shape
    (features,) for axis=-1 or () for axis=None, and count, the number of
    values adapt has seen per feature.

    Example
    -------
    >>> norm = Normalization()
    >>> norm.adapt(x_train)
    """

    def __init__(
        self,
        axis: Any = -1,
        mean: Any = None,
        variance: Any = None,
        invert: bool = False,
        **kwargs: Any,
    ):
        where = "Normalization"
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)) and len(axis) == 0:
            axis = None  # Keras 2 writes axis=None as ()
        self.axis = None if axis is None else _last_axis(axis, where)
        if (mean is None) != (variance is None):
            raise ValueError(
                f"{where}: give both mean and variance, or neither (then call "
                f"adapt); got mean={mean!r}, variance={variance!r}"
            )
        self._input_mean = (
            None if mean is None else _scalar_or_list(mean, where, "mean")
        )
        self._input_variance = (
            None if variance is None else _scalar_or_list(variance, where, "variance")
        )
        if self._input_variance is not None and np.any(
            np.asarray(self._input_variance) < 0
        ):
            raise ValueError(
                f"{where}: variance must be >= 0; got {self._input_variance!r}"
            )
        self.invert = _bool_flag(invert, where, "invert")
        self._stats_shape: tuple[int, ...] = ()

    def _build(self, features):
        where = "Normalization"
        if self.axis is not None:
            _check_last_axis(self.axis, features, where)
        shape = (features[-1],) if self.axis is not None else ()
        self._stats_shape = shape
        if self._input_mean is None:
            zeros, ones = (
                initializers.get("zeros", where),
                initializers.get("ones", where),
            )
            self._add_weight("mean", shape, zeros, trainable=False)
            self._add_weight("variance", shape, ones, trainable=False)
            self._add_weight("count", (), zeros, trainable=False)
        else:
            for name in ("mean", "variance"):
                value = np.asarray(getattr(self, f"_input_{name}"), self._dtype)
                try:
                    np.broadcast_to(value, shape)
                except ValueError:
                    raise ValueError(
                        f"{where}: {name} of shape {value.shape} does not broadcast "
                        f"to the statistics' shape {shape} (inputs of shape (batch, "
                        f"{', '.join(map(str, features))}), axis={self.axis})"
                    ) from None
        # The kernel's per-column scale and offset, refreshed from the
        # statistics on each forward pass (they change with adapt and
        # set_weights); one column per feature, or one for axis=None.
        size = shape[0] if shape else 1
        self._scale_array = np.empty(size, self._dtype)
        self._offset_array = np.empty(size, self._dtype)

    def _statistics(self) -> tuple[np.ndarray, np.ndarray]:
        if self._input_mean is not None:
            return (
                np.asarray(self._input_mean, np.float64),
                np.asarray(self._input_variance, np.float64),
            )
        return self._params[0], self._params[1]

    @property
    def mean(self) -> Tensor | None:
        """The mean in Keras's broadcast shape (1, features), after build."""
        if not self.built:
            return None
        mean = np.broadcast_to(self._statistics()[0], self._stats_shape)
        return as_tensor(np.array(mean, self._dtype).reshape(1, -1))

    @property
    def variance(self) -> Tensor | None:
        """The variance in Keras's broadcast shape (1, features), after build."""
        if not self.built:
            return None
        variance = np.broadcast_to(self._statistics()[1], self._stats_shape)
        return as_tensor(np.array(variance, self._dtype).reshape(1, -1))

    def adapt(self, data: Any, batch_size: Any = None, steps: Any = None) -> None:
        """Compute mean and variance (biased) of `data` per feature, in float64.

        `data`: an array of samples, shape (n, *features); for axis=None any
        shape. Replaces the statistics of an earlier adapt, as Keras does.
        batch_size and steps are accepted for Keras's signature; the whole
        array is read at once.
        """
        where = f"{self.name}.adapt"
        if self._input_mean is not None:
            raise ValueError(
                f"{where}: the layer was given mean and variance; adapt only a "
                f"layer built without them"
            )
        for key, value in (("batch_size", batch_size), ("steps", steps)):
            if value is not None:
                positive_int(value, where, key)
        array = as_float_array(data, np.dtype(np.float64), where, "data")
        if array.ndim == 0 or array.size == 0:
            raise ValueError(
                f"{where}: data must hold at least one sample; got shape {array.shape}"
            )
        if array.ndim == 1:
            array = array.reshape(-1, 1)  # Keras: a vector is one feature
        if not self.built:
            self.build((None, *array.shape[1:]))
        self._check_features(array, where)
        if self.axis is None:
            values = array.reshape(-1)
        else:
            values = array.reshape(-1, array.shape[-1])
        mean = values.mean(axis=0)
        variance = ((values - mean) ** 2).mean(axis=0)
        np.copyto(self._params[0], mean, casting="unsafe")
        np.copyto(self._params[1], variance, casting="unsafe")
        np.copyto(self._params[2], len(values), casting="unsafe")

    def _refresh(self) -> None:
        mean, variance = self._statistics()
        # Keras 2: std = maximum(sqrt(variance), backend.epsilon())
        std = np.maximum(np.sqrt(variance), _NORMALIZATION_EPSILON)
        std = np.broadcast_to(std, self._scale_array.shape)
        mean = np.broadcast_to(mean, self._offset_array.shape)
        if self.invert:
            np.copyto(self._scale_array, std, casting="unsafe")
            np.copyto(self._offset_array, mean, casting="unsafe")
        else:
            np.divide(1.0, std, out=self._scale_array, casting="unsafe")
            np.multiply(
                -mean, self._scale_array, out=self._offset_array, casting="unsafe"
            )

    def _columns(self, array: np.ndarray) -> np.ndarray:
        return array.reshape(-1, self._scale_array.size)

    def _forward(self, x, training, out, ctx):
        self._refresh()
        _backend.rescale_forward(
            self._columns(x), self._scale_array, self._offset_array, self._columns(out)
        )
        ctx.input, ctx.output = x, out
        return out

    def _backward(self, dy, dx, ctx, accumulate=False):
        if dx is not None:
            _backend.rescale_backward(
                self._columns(dy), self._scale_array, self._columns(dx)
            )
        return dx

    def get_config(self):
        config = super().get_config()
        config.update(
            axis=[] if self.axis is None else [self.axis],
            mean=self._input_mean,
            variance=self._input_variance,
            invert=self.invert,
        )
        return config
