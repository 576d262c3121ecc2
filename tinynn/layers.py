"""Layers: Dense, Flatten, Activation, Dropout, InputLayer / Input.

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

from . import _backend, _random, activations, backend, initializers, registry
from ._checks import as_float_array, describe, positive_int, real_number, shape_tuple

__all__ = [
    "Activation",
    "Dense",
    "Dropout",
    "Flatten",
    "Input",
    "InputLayer",
    "Layer",
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
        self._initializers: list[Any] = []
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

    def _add_weight(self, name: str, shape: tuple[int, ...], initializer: Any) -> None:
        where = f"{type(self).__name__} {self.name}"
        self._params.append(initializers.call(initializer, shape, self._dtype, where))
        self._param_names.append(name)

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
        """The weights fit updates (all of them unless trainable is False)."""
        return list(self._params) if self.trainable else []

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
    def __call__(self, x: Any, training: bool = False) -> np.ndarray:
        return self.forward(x, training=training)

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
        'relu', 'sigmoid', 'tanh', 'softmax', 'linear' or None, or the
        matching ``tinynn.nn`` function. It runs fused in the C kernel.
    use_bias : bool
        Whether to add a bias vector.
    kernel_initializer, bias_initializer : str or callable
        Keras defaults: 'glorot_uniform' and 'zeros'.

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
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.units = positive_int(units, "Dense", "units")
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
        self._add_weight("kernel", (fan_in, self.units), self.kernel_initializer)
        if self.use_bias:
            self._add_weight("bias", (self.units,), self.bias_initializer)

    def _output_features(self, features):
        return (*features[:-1], self.units)

    @property
    def output_activation(self) -> str | None:
        return self._activation

    def _forward(self, x, training, out, activation: str | None = None):
        # activation="linear" lets the model fuse softmax into the loss kernel.
        self._last_activation = activation or self._activation
        x2 = x.reshape(-1, x.shape[-1])
        y2 = out.reshape(-1, self.units)
        _backend.dense_forward(x2, self.kernel, self.bias, y2, self._last_activation)
        self._last_input, self._last_output = x, out
        return out

    def _backward(self, dy, dx):
        x2 = self._last_input.reshape(-1, self._last_input.shape[-1])
        dz = dy.reshape(-1, self.units)
        if self._last_activation != "linear":
            y2 = self._last_output.reshape(-1, self.units)
            _backend.activation_backward(self._last_activation, y2, dz, dz)
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
    """Apply an activation function: 'relu', 'sigmoid', 'tanh', 'softmax', 'linear'."""

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
        _backend.activation_forward(self._last_activation, x, out)
        self._last_input, self._last_output = x, out
        return out

    def _backward(self, dy, dx):
        if dx is not None:
            _backend.activation_backward(
                self._last_activation, self._last_output, dy, dx
            )
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
