"""Layers: Dense, Flatten, Activation, Dropout, InputLayer / Input,
BatchNormalization, LayerNormalization, PReLU, Normalization (with ``adapt``),
and the weightless Softmax, ReLU, LeakyReLU, ELU, Rescaling and Reshape.

Every layer has two faces:
- the Keras face used by `Sequential` (constructor arguments, names,
  ``get_weights``/``set_weights``, ``get_config``);
- a low-level face for hand-written training loops (the pure-NumPy article):
  ``forward(x, training=False)`` and ``backward(dy)`` return new arrays, and
  ``weights`` / ``gradients`` are the layer's live arrays (writing into
  ``weights`` changes the layer; ``backward`` fills ``gradients``).
Shapes: ``input_shape`` arguments exclude the batch axis; ``build`` and
``output_shape`` include it as None, as in Keras.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import (
    _backend,
    _random,
    activations,
    backend,
    constraints,
    initializers,
    registry,
    regularizers,
)
from ._checks import as_float_array, describe, positive_int, real_number, shape_tuple
from .tensor import Tensor, as_tensor

__all__ = [
    "ELU",
    "Activation",
    "BatchNormalization",
    "Dense",
    "Dropout",
    "Flatten",
    "Input",
    "InputLayer",
    "Layer",
    "LayerNormalization",
    "LeakyReLU",
    "Normalization",
    "PReLU",
    "ReLU",
    "Rescaling",
    "Reshape",
    "Softmax",
]

# Keras constructor arguments tinynn accepts only with their "off" value.
_UNSUPPORTED_IF_SET = (
    "kernel_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "bias_constraint",
)


class Layer:
    """Base class of all layers.

    Parameters
    ----------
    name : str, optional
        Defaults to the snake_case class name plus a session counter
        (``dense``, ``dense_1``...), as in Keras.
    dtype : str, optional
        'float32' or 'float64'; defaults to ``tinynn.backend.floatx()``.
    input_shape, input_dim, batch_input_shape : optional
        The input's shape without the batch axis (``input_dim=n`` means
        ``input_shape=(n,)``); only the first layer of a model uses it.
    trainable : bool
        False freezes the layer's weights during fit.
    """

    #: True when _forward writes into a preallocated output buffer.
    _buffered = True

    @property
    def output_activation(self) -> str | None:
        """The activation this layer applies last, by name, or None.

        A model whose loss has a fused kernel for that activation (softmax
        with cross-entropy, sigmoid with binary cross-entropy) calls the
        layer's ``_forward(..., activation="linear")`` in training and lets
        the loss apply it. A layer that names an activation here must accept
        that argument and remember it for ``_backward``.
        """
        return None

    def __init__(
        self,
        *,
        name: str | None = None,
        dtype: Any = None,
        input_shape: Any = None,
        input_dim: Any = None,
        batch_input_shape: Any = None,
        trainable: bool = True,
        **kwargs: Any,
    ):
        cls = type(self).__name__
        for key, value in kwargs.items():
            if key in _UNSUPPORTED_IF_SET and value is None:
                continue
            if key in _UNSUPPORTED_IF_SET:
                raise ValueError(
                    f"{cls}: {key} is not supported by tinynn; got {value!r}"
                )
            raise TypeError(f"{cls}: unexpected keyword argument {key!r}")
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"{cls}: name must be a non-empty string; got {name!r}")
        self.name = name or backend.unique_name(backend.snake_case(cls))
        self._dtype = backend.resolve_dtype(dtype, cls)
        self.trainable = bool(trainable)
        self._declared_input_shape = _declared_shape(
            cls, input_shape, input_dim, batch_input_shape
        )
        self.built = False
        self.input_shape: tuple | None = None
        self.output_shape: tuple | None = None
        self._params: list[np.ndarray] = []
        self._grads: list[np.ndarray] = []
        self._param_names: list[str] = []
        # Per weight: False for state that fit must not update through the
        # optimizer (BatchNormalization's moving statistics).
        self._param_trainable: list[bool] = []
        self._initializers: list[Any] = []
        # Per weight: its regularizer and constraint, or None.
        self._regularizers: list[Any] = []
        self._constraints: list[Any] = []
        self.activity_regularizer: Any = None
        self._last_input: np.ndarray | None = None
        self._last_output: np.ndarray | None = None

    # ---- structure -------------------------------------------------------
    @property
    def dtype(self) -> str:
        """The layer's float dtype name."""
        return self._dtype.name

    def build(self, input_shape: Any) -> None:
        """Create the weights for inputs of `input_shape` (batch axis first)."""
        shape = tuple(input_shape)
        features = shape_tuple(shape[1:], type(self).__name__, "input_shape")
        self._build(features)
        self.input_shape = (None, *features)
        self.output_shape = (None, *self._output_features(features))
        self._gradients_from_params()
        self.built = True

    def _build(self, features: tuple[int, ...]) -> None:
        """Create weights for inputs of shape (batch, *features); default: none."""

    def _output_features(self, features: tuple[int, ...]) -> tuple[int, ...]:
        return features

    def compute_output_shape(self, input_shape: Any) -> tuple:
        """The output shape (batch axis first) for `input_shape`."""
        shape = tuple(input_shape)
        return (shape[0], *self._output_features(tuple(shape[1:])))

    def _add_weight(
        self,
        name: str,
        shape: tuple[int, ...],
        initializer: Any,
        trainable: bool = True,
        regularizer: Any = None,
        constraint: Any = None,
    ) -> None:
        where = f"{type(self).__name__} {self.name}"
        self._params.append(initializers.call(initializer, shape, self._dtype, where))
        self._param_names.append(name)
        self._param_trainable.append(bool(trainable))
        self._regularizers.append(regularizer)
        self._constraints.append(constraint)

    # ---- penalties and constraints (Keras's regularizers/constraints) -------
    @property
    def _penalized(self) -> bool:
        """Whether the layer adds a penalty to the loss."""
        return self.activity_regularizer is not None or any(
            r is not None for r in self._regularizers
        )

    @property
    def _constrained(self) -> bool:
        """Whether some weight has a constraint."""
        return any(c is not None for c in self._constraints)

    def _penalty(self, gradients: bool) -> float:
        """The layer's penalty for the last forward pass: each regularized
        weight's, plus the activity regularizer's on the last output divided
        by the batch size (Keras 2). With `gradients`, each weight's penalty
        gradient is added to its gradient (the activity term's went into dy
        in ``_backward``)."""
        total = 0.0
        for w, g, reg in zip(self._params, self._grads, self._regularizers):
            if reg is not None:
                total += reg.penalty(w)
                if gradients:
                    reg.add_gradient(w, g)
        if self.activity_regularizer is not None and self._last_output is not None:
            out = self._last_output
            total += self.activity_regularizer.penalty(out) / len(out)
        return total

    def _apply_constraints(self) -> None:
        """Project each trained weight that has a constraint (after a step)."""
        if not self.trainable:
            return
        for w, flag, constraint in zip(
            self._params, self._param_trainable, self._constraints
        ):
            if constraint is not None and flag:
                constraint.apply(w)

    def _activity_gradient(self, dy: np.ndarray) -> None:
        """dy += d(activity penalty / batch) / d output, before the layer's own
        backward pass."""
        out = self._last_output
        self.activity_regularizer.add_gradient(out, dy, 1.0 / len(out))

    def _weight(self, name: str) -> np.ndarray | None:
        """The live weight called `name`, or None if the layer has none
        (BatchNormalization without gamma, say)."""
        if name not in self._param_names:
            return None
        return self._params[self._param_names.index(name)]

    def _gradients_from_params(self) -> None:
        self._grads = [np.zeros_like(p) for p in self._params]

    def _bind(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """Point the layer at views of a model's flat buffers (values copied)."""
        for old, new in zip(self._params, params):
            np.copyto(new, old)
        self._params, self._grads = list(params), list(grads)

    # ---- weights ---------------------------------------------------------
    @property
    def weights(self) -> list[np.ndarray]:
        """The layer's live weight arrays (kernel, then bias)."""
        return list(self._params)

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        """The weights fit updates: none when ``trainable`` is False, else
        those created trainable (not BatchNormalization's moving statistics)."""
        if not self.trainable:
            return []
        return [p for p, t in zip(self._params, self._param_trainable) if t]

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        """The weights fit leaves to the layer itself, or all when frozen."""
        if not self.trainable:
            return list(self._params)
        return [p for p, t in zip(self._params, self._param_trainable) if not t]

    @property
    def gradients(self) -> list[np.ndarray]:
        """Gradients of the last ``backward`` call, in the order of ``weights``."""
        return list(self._grads)

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights, kernel then bias."""
        return [p.copy() for p in self._params]

    def set_weights(self, weights: list[Any]) -> None:
        """Copy `weights` (same count, shapes as ``get_weights``) into the layer."""
        set_weight_values(self.name, self._params, weights)

    def count_params(self) -> int:
        """Number of weight values."""
        return int(sum(p.size for p in self._params))

    # ---- low-level face --------------------------------------------------
    def __call__(self, x: Any, training: bool = False) -> Tensor:
        return as_tensor(self.forward(x, training=training))

    def forward(self, x: Any, training: bool = False) -> np.ndarray:
        """Output for the batch `x` (a new array); remembers what backward needs."""
        where = f"{self.name}.forward"
        array = as_float_array(x, self._dtype, where, "x")
        if array.ndim < 2:
            raise ValueError(
                f"{where}: x must have a batch axis, shape (batch, ...); got shape "
                f"{array.shape}"
            )
        if not self.built:
            self.build((None, *array.shape[1:]))
        self._check_features(array, where)
        out = None
        if self._buffered:
            out = np.empty((array.shape[0], *self.output_shape[1:]), self._dtype)
        return self._forward(array, training, out)

    def backward(self, dy: Any) -> np.ndarray:
        """Gradient w.r.t. the last forward input; fills ``gradients``."""
        where = f"{self.name}.backward"
        if self._last_output is None:
            raise RuntimeError(f"{where}: call forward before backward")
        grad = as_float_array(dy, self._dtype, where, "dy").copy()
        if grad.shape != self._last_output.shape:
            raise ValueError(
                f"{where}: dy has shape {grad.shape}; expected the last output's "
                f"shape {self._last_output.shape}"
            )
        dx = np.empty_like(self._last_input)
        return self._backward(grad, dx)

    def _check_features(self, x: np.ndarray, where: str) -> None:
        expected = self.input_shape[1:]
        if tuple(x.shape[1:]) != tuple(expected):
            raise ValueError(
                f"{where}: input of layer {self.name!r} is incompatible: expected "
                f"shape (batch, {', '.join(map(str, expected))}), got {x.shape}"
            )

    def _forward(
        self, x: np.ndarray, training: bool, out: np.ndarray | None
    ) -> np.ndarray:
        """Compute the output into `out` (preallocated by the caller) and return it."""
        raise NotImplementedError

    def _backward(self, dy: np.ndarray, dx: np.ndarray | None) -> np.ndarray | None:
        """Gradients from `dy` (may be overwritten); dx written unless None."""
        raise NotImplementedError

    # ---- serialisation ---------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-able (Keras's get_config)."""
        config: dict[str, Any] = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": self.dtype,
        }
        if self._declared_input_shape is not None:
            config["batch_input_shape"] = [None, *self._declared_input_shape]
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """Rebuild a layer from ``get_config``'s output."""
        config = dict(config)
        batch_shape = config.pop("batch_input_shape", None)
        if batch_shape is not None:
            config["input_shape"] = tuple(batch_shape[1:])
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"


def _declared_shape(
    cls: str, input_shape: Any, input_dim: Any, batch_input_shape: Any
) -> tuple[int, ...] | None:
    """The input shape (no batch axis) from whichever Keras argument was given."""
    if batch_input_shape is not None:
        dims = tuple(batch_input_shape)
        return shape_tuple(dims[1:], cls, "batch_input_shape")
    if input_shape is not None:
        return shape_tuple(input_shape, cls, "input_shape")
    if input_dim is not None:
        return (positive_int(input_dim, cls, "input_dim"),)
    return None


def set_weight_values(owner: str, targets: list[np.ndarray], values: Any) -> None:
    """Copy `values` into the live arrays `targets`, checking count and shapes."""
    if not isinstance(values, (list, tuple)):
        raise TypeError(
            f"set_weights: weights must be a list of arrays; got {describe(values)}"
        )
    if len(values) != len(targets):
        raise ValueError(
            f'You called `set_weights(weights)` on layer "{owner}" with a weight list '
            f"of length {len(values)}, but the layer was expecting {len(targets)} weights."
        )
    converted = []
    for i, (target, value) in enumerate(zip(targets, values)):
        array = as_float_array(value, target.dtype, "set_weights", f"weights[{i}]")
        if array.shape != target.shape:
            raise ValueError(
                f"set_weights: weights[{i}] of {owner!r} has shape {array.shape}; "
                f"expected {target.shape}"
            )
        converted.append(array)
    for target, array in zip(targets, converted):
        np.copyto(target, array)


@registry.register("layer")
class Dense(Layer):
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
        self.kernel_regularizer = regularizers.get(
            kernel_regularizer, "Dense: kernel_regularizer"
        )
        self.bias_regularizer = regularizers.get(
            bias_regularizer, "Dense: bias_regularizer"
        )
        self.activity_regularizer = regularizers.get(
            activity_regularizer, "Dense: activity_regularizer"
        )
        self.kernel_constraint = constraints.get(
            kernel_constraint, "Dense: kernel_constraint"
        )
        self.bias_constraint = constraints.get(
            bias_constraint, "Dense: bias_constraint"
        )
        self._activation = activations.get(activation, "Dense")
        self.activation = activations.function(self._activation)
        if not isinstance(use_bias, (bool, np.bool_)):
            raise TypeError(f"Dense: use_bias must be True or False; got {use_bias!r}")
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer, "Dense")
        self.bias_initializer = initializers.get(bias_initializer, "Dense")
        self._last_activation = self._activation

    @property
    def kernel(self) -> np.ndarray:
        """The live (input_dim, units) weight matrix."""
        return self._params[0]

    @property
    def bias(self) -> np.ndarray | None:
        """The live (units,) bias vector, or None without bias."""
        return self._params[1] if self.use_bias else None

    def _build(self, features):
        fan_in = features[-1]
        self._add_weight(
            "kernel",
            (fan_in, self.units),
            self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        if self.use_bias:
            self._add_weight(
                "bias",
                (self.units,),
                self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def _output_features(self, features):
        return (*features[:-1], self.units)

    @property
    def output_activation(self) -> str | None:
        # The activity penalty is on the activation's output: not fusable.
        return None if self.activity_regularizer is not None else self._activation

    def _forward(self, x, training, out, activation: str | None = None):
        # activation="linear" lets the model fuse softmax into the loss kernel.
        act = self._last_activation = activation or self._activation
        x2 = x.reshape(-1, x.shape[-1])
        y2 = out.reshape(-1, self.units)
        if act in _backend.FUSED_ACTIVATIONS:
            _backend.dense_forward(x2, self.kernel, self.bias, y2, act)
        elif act in _backend.FROM_INPUT_ACTIVATIONS:
            # swish and gelu differentiate from x @ w + b: keep it.
            z = self._pre_activation(y2.shape)
            _backend.dense_forward(x2, self.kernel, self.bias, z, "linear")
            _backend.activation_forward(act, z, y2)
        else:
            _backend.dense_forward(x2, self.kernel, self.bias, y2, "linear")
            _backend.activation_forward(act, y2, y2)
        self._last_input, self._last_output = x, out
        return out

    def _pre_activation(self, shape: tuple[int, int]) -> np.ndarray:
        """The pre-activation buffer, grown (never shrunk) to the largest batch."""
        size = shape[0] * shape[1]
        buffer = getattr(self, "_pre_buffer", None)
        if buffer is None or buffer.size < size or buffer.dtype != self._dtype:
            buffer = self._pre_buffer = np.empty(size, self._dtype)
        return buffer[:size].reshape(shape)

    def _backward(self, dy, dx):
        x2 = self._last_input.reshape(-1, self._last_input.shape[-1])
        if self.activity_regularizer is not None:
            self._activity_gradient(dy)
        dz = dy.reshape(-1, self.units)
        act = self._last_activation
        if act in _backend.FROM_INPUT_ACTIVATIONS:
            z = self._pre_activation(dz.shape)
            _backend.activation_backward(act, z, dz, dz)
        elif act != "linear":
            y2 = self._last_output.reshape(-1, self.units)
            _backend.activation_backward(act, y2, dz, dz)
        dx2 = None if dx is None else dx.reshape(-1, x2.shape[1])
        db = self._grads[1] if self.use_bias else None
        _backend.dense_backward(x2, self.kernel, dz, dx2, self._grads[0], db)
        return dx

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
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
        return config


def _init_config(init: Any) -> Any:
    config = initializers.serialize(init)
    if config is None:
        raise ValueError(
            f"save: the custom initializer {init!r} cannot be saved; use a named "
            "initializer or set the weights after loading"
        )
    return config


@registry.register("layer")
class Flatten(Layer):
    """Reshape (batch, d1, d2, ...) to (batch, d1 * d2 * ...), in C order.

    A (batch,) input becomes (batch, 1). No weights, no copy.
    ``data_format`` is Keras's argument: only 'channels_last' (the default)
    is supported, since tinynn has no channel axis.
    """

    _buffered = False

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

    def _forward(self, x, training, out):
        self._last_input = x
        self._last_output = x.reshape(x.shape[0], -1)
        return self._last_output

    def _backward(self, dy, dx):
        if dx is not None:
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
        self._last_activation = self._activation

    @property
    def output_activation(self) -> str | None:
        return self._activation

    def _build(self, features):
        if self._activation == "softmax" and len(features) != 1:
            raise ValueError(
                f"Activation: softmax needs inputs of shape (batch, classes); got "
                f"(batch, {', '.join(map(str, features))})"
            )

    def _forward(self, x, training, out, activation: str | None = None):
        self._last_activation = activation or self._activation
        _backend.activation_forward(self._last_activation, x, out, self._alpha)
        self._last_input, self._last_output = x, out
        return out

    def _backward(self, dy, dx):
        if dx is not None:
            act = self._last_activation
            source = (
                self._last_input
                if act in _backend.FROM_INPUT_ACTIVATIONS
                else self._last_output
            )
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
        self._mask: np.ndarray | None = None
        self._keep: np.ndarray | None = None
        self._dropped = False

    def _forward(self, x, training, out):
        self._last_input = x
        self._dropped = bool(training) and self.rate > 0
        if not self._dropped:
            np.copyto(out, x)
            self._last_output = out
            return out
        mask, keep = self._mask_buffers(x.shape)
        rng = self._rng or _random.generator()
        rng.random(out=mask, dtype=mask.dtype)
        np.greater_equal(mask, self.rate, out=keep)
        np.multiply(keep, 1.0 / (1.0 - self.rate), out=mask)
        np.multiply(x, mask, out=out)
        self._last_output = out
        return out

    def _mask_buffers(self, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Mask and keep buffers for `shape`, grown (never shrunk) to the largest batch."""
        size = int(np.prod(shape))
        if self._mask is None or self._mask.size < size:
            self._mask = np.empty(size, self._dtype)
            self._keep = np.empty(size, bool)
        return self._mask[:size].reshape(shape), self._keep[:size].reshape(shape)

    def _backward(self, dy, dx):
        if dx is None:
            return None
        if self._dropped:
            np.multiply(dy, self._mask[: dy.size].reshape(dy.shape), out=dx)
        else:
            np.copyto(dx, dy)
        return dx

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, seed=self.seed)
        return config


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
        self._statistics: tuple[np.ndarray, np.ndarray] | None = None
        self._spare: list[np.ndarray] = []
        self._batch_statistics = False

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
        # The statistics forward saves for backward, and dgamma/dbeta
        # buffers for the kernel when gamma or beta is off.
        self._statistics = (
            np.empty(channels, self._dtype),
            np.empty(channels, self._dtype),
        )
        self._spare = [np.empty(channels, self._dtype) for _ in range(2)]

    def _forward(self, x, training, out):
        channels = x.shape[-1]
        self._batch_statistics = bool(training) and self.trainable
        _backend.batchnorm_forward(
            x.reshape(-1, channels),
            self._weight("gamma"),
            self._weight("beta"),
            self._weight("moving_mean"),
            self._weight("moving_variance"),
            out.reshape(-1, channels),
            *self._statistics,
            self.momentum,
            self.epsilon,
            self._batch_statistics,
        )
        self._last_input, self._last_output = x, out
        return out

    def _backward(self, dy, dx):
        channels = dy.shape[-1]
        grads = dict(zip(self._param_names, self._grads))
        _backend.batchnorm_backward(
            self._last_input.reshape(-1, channels),
            self._weight("gamma"),
            dy.reshape(-1, channels),
            *self._statistics,
            None if dx is None else dx.reshape(-1, channels),
            grads.get("gamma", self._spare[0]),
            grads.get("beta", self._spare[1]),
            self._batch_statistics,
        )
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


@registry.register("layer")
class InputLayer(Layer):
    """Declares the input shape of a Sequential model (not listed in model.layers).

    ``InputLayer(shape=(784,))`` or ``input_shape=(784,)``; with the batch
    axis, Keras 2's ``batch_input_shape=(None, 784)`` or Keras 3's
    ``batch_shape=(None, 784)``.
    """

    _buffered = False

    def __init__(
        self,
        input_shape: Any = None,
        batch_size: int | None = None,
        shape: Any = None,
        batch_shape: Any = None,
        **kwargs: Any,
    ):
        given = shape if shape is not None else input_shape
        if batch_shape is not None:
            kwargs.setdefault("batch_input_shape", batch_shape)
        if given is None and kwargs.get("batch_input_shape") is None:
            raise ValueError("InputLayer: shape must be given, e.g. shape=(784,)")
        super().__init__(input_shape=given, **kwargs)

    def _forward(self, x, training, out):
        return x

    def _backward(self, dy, dx):
        return dx


def Input(
    shape: Any = None,
    batch_size: int | None = None,
    name: str | None = None,
    dtype: Any = None,
    **kwargs: Any,
) -> InputLayer:
    """``tf.keras.Input``: the first entry of ``Sequential([Input((784,)), ...])``."""
    return InputLayer(
        shape=shape, batch_size=batch_size, name=name, dtype=dtype, **kwargs
    )


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

    def _forward(self, x, training, out):
        self._last_input, self._last_output = x, out
        if not self._general:
            if self.negative_slope == 0:
                return _backend.activation_forward("relu", x, out)
            return _backend.activation_forward(
                "leaky_relu", x, out, self.negative_slope
            )
        return _backend.relu_clip_forward(
            x, out, self.max_value, self.negative_slope, self.threshold
        )

    def _backward(self, dy, dx):
        if dx is None:
            return None
        if not self._general:
            if self.negative_slope == 0:
                return _backend.activation_backward("relu", self._last_output, dy, dx)
            return _backend.activation_backward(
                "leaky_relu", self._last_output, dy, dx, self.negative_slope
            )
        return _backend.relu_clip_backward(
            self._last_input,
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


def _scalar_or_list(value: Any, where: str, name: str) -> float | list:
    """A number, or a list of numbers broadcast over the input's last axes."""
    if isinstance(value, (list, tuple, np.ndarray)):
        array = np.asarray(value, dtype=np.float64)
        if array.dtype.kind != "f" or not np.all(np.isfinite(array)):
            raise ValueError(f"{where}: {name} must hold finite numbers; got {value!r}")
        return array.tolist()
    return real_number(value, where, name)


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

    def _forward(self, x, training, out):
        x2, out2 = x.reshape(len(x), -1), out.reshape(len(out), -1)
        _backend.rescale_forward(x2, self._scale_array, self._offset_array, out2)
        self._last_input, self._last_output = x, out
        return out

    def _backward(self, dy, dx):
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

    def _forward(self, x, training, out):
        self._last_input = x
        self._last_output = x.reshape(x.shape[0], *self.output_shape[1:])
        return self._last_output

    def _backward(self, dy, dx):
        if dx is not None:
            np.copyto(dx, dy.reshape(dx.shape))
        return dx

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = list(self.target_shape)
        return config


def _bool_flag(value: Any, where: str, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{where}: {name} must be True or False; got {value!r}")
    return bool(value)


def _last_axis(axis: Any, where: str) -> int:
    """An axis argument that may only name the last axis: an int or a
    one-element list (Keras 2 writes ``[1]`` into configs)."""
    if isinstance(axis, (list, tuple)) and len(axis) == 1:
        axis = axis[0]
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{where}: axis must be an int (the last axis); got {axis!r}")
    return int(axis)


def _check_last_axis(axis: int, features: tuple[int, ...], where: str) -> None:
    if axis not in (-1, len(features)):
        raise ValueError(
            f"{where}: axis must be the last axis (-1 or {len(features)} for inputs "
            f"of shape (batch, {', '.join(map(str, features))})); got {axis}"
        )


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
        self._statistics: tuple[np.ndarray, np.ndarray] | None = None
        self._spare: list[np.ndarray] = []

    def _build(self, features):
        _check_last_axis(self.axis, features, "LayerNormalization")
        channels = (features[-1],)
        if self.scale:
            self._add_weight("gamma", channels, self.gamma_initializer)
        if self.center:
            self._add_weight("beta", channels, self.beta_initializer)
        # dgamma/dbeta buffers for the kernel when gamma or beta is off; the
        # per-row statistics are sized by the batch, on first use.
        self._spare = [np.empty(channels, self._dtype) for _ in range(2)]
        self._statistics = (np.empty(0, self._dtype), np.empty(0, self._dtype))

    def _row_statistics(self, rows: int) -> tuple[np.ndarray, np.ndarray]:
        """Views of rows entries of the statistics buffers, grown (never
        shrunk) when a batch is larger than any before."""
        if self._statistics[0].size < rows:
            self._statistics = (
                np.empty(rows, self._dtype),
                np.empty(rows, self._dtype),
            )
        return self._statistics[0][:rows], self._statistics[1][:rows]

    def _forward(self, x, training, out):
        channels = x.shape[-1]
        x2 = x.reshape(-1, channels)
        _backend.layernorm_forward(
            x2,
            self._weight("gamma"),
            self._weight("beta"),
            out.reshape(-1, channels),
            *self._row_statistics(len(x2)),
            self.epsilon,
        )
        self._last_input, self._last_output = x, out
        return out

    def _backward(self, dy, dx):
        channels = dy.shape[-1]
        x2 = self._last_input.reshape(-1, channels)
        grads = dict(zip(self._param_names, self._grads))
        _backend.layernorm_backward(
            x2,
            self._weight("gamma"),
            dy.reshape(-1, channels),
            *self._row_statistics(len(x2)),
            None if dx is None else dx.reshape(-1, channels),
            grads.get("gamma", self._spare[0]),
            grads.get("beta", self._spare[1]),
        )
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

    def _forward(self, x, training, out):
        _backend.prelu_forward(
            self._cube(x), self._params[0].reshape(-1), self._cube(out)
        )
        self._last_input, self._last_output = x, out
        return out

    def _backward(self, dy, dx):
        _backend.prelu_backward(
            self._cube(self._last_input),
            self._params[0].reshape(-1),
            self._cube(dy),
            None if dx is None else self._cube(dx),
            self._grads[0].reshape(-1),
        )
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

    def _forward(self, x, training, out):
        self._refresh()
        _backend.rescale_forward(
            self._columns(x), self._scale_array, self._offset_array, self._columns(out)
        )
        self._last_input, self._last_output = x, out
        return out

    def _backward(self, dy, dx):
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
