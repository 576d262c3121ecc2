"""Activation functions by name and as callables (``tinynn.nn.relu``).

Each has a C forward and backward kernel; a Dense layer fuses linear, relu,
sigmoid, tanh and softmax into its forward kernel and applies the others
(elu, selu, softplus, leaky_relu, swish/silu, gelu) right after it. Calling
one directly on an array returns a new array (a :class:`tinynn.Tensor`), as
``tf.nn.relu(x)`` does.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import _backend, backend
from ._checks import as_float_array, real_number
from .tensor import Tensor, as_tensor

__all__ = [
    "elu",
    "gelu",
    "get",
    "leaky_relu",
    "linear",
    "relu",
    "selu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "swish",
    "tanh",
]

ALIASES = {
    None: "linear",
    "linear": "linear",
    "relu": "relu",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "softmax": "softmax",
    "elu": "elu",
    "selu": "selu",
    "softplus": "softplus",
    "leaky_relu": "leaky_relu",
    "swish": "swish",
    "silu": "swish",
    "gelu": "gelu",
}
# Keras names tinynn knows but does not implement: a precise error beats "unknown".
_KERAS_ONLY = (
    "softsign",
    "exponential",
    "hard_sigmoid",
    "mish",
    "relu6",
    "log_softmax",
)


def _apply(name: str, x: Any, alpha: float | None = None) -> Tensor:
    array = as_float_array(x, _float_dtype_of(x), name, "x")
    if name == "softmax" and array.ndim != 2:
        if array.ndim == 1:
            return _apply(name, array[None, :])[0]
        raise ValueError(f"softmax: x must be 1-D or 2-D; got shape {array.shape}")
    out = np.empty_like(array)
    return as_tensor(_backend.activation_forward(name, array, out, alpha))


def _float_dtype_of(x: Any) -> np.dtype:
    dtype = getattr(x, "dtype", None)
    if dtype is not None and np.dtype(dtype).name in ("float32", "float64"):
        return np.dtype(dtype)
    return np.dtype(backend.floatx())


def linear(x: Any) -> Tensor:
    """Identity: returns x as a new float array."""
    return _apply("linear", x)


def relu(x: Any) -> Tensor:
    """max(x, 0), element-wise."""
    return _apply("relu", x)


def sigmoid(x: Any) -> Tensor:
    """1 / (1 + exp(-x)), element-wise."""
    return _apply("sigmoid", x)


def tanh(x: Any) -> Tensor:
    """Hyperbolic tangent, element-wise."""
    return _apply("tanh", x)


def softmax(x: Any) -> Tensor:
    """Row-wise softmax of a 2-D array (or of a 1-D vector), computed stably."""
    return _apply("softmax", x)


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    """x for x > 0, alpha (exp(x) - 1) otherwise (Keras: alpha=1.0, >= 0 here)."""
    return _apply("elu", x, _alpha(alpha, "elu", "alpha"))


def selu(x: Any) -> Tensor:
    """scale * elu(x, alpha) with Keras's constants (1.0507..., 1.6732...)."""
    return _apply("selu", x)


def softplus(x: Any) -> Tensor:
    """log(1 + exp(x)), without overflow."""
    return _apply("softplus", x)


def leaky_relu(
    x: Any, alpha: float | None = None, negative_slope: float = 0.2
) -> Tensor:
    """x for x > 0, slope * x otherwise; Keras 3's ``negative_slope=0.2`` (also
    ``tf.nn.leaky_relu``'s ``alpha=0.2``), >= 0."""
    slope = negative_slope if alpha is None else alpha
    return _apply("leaky_relu", x, _alpha(slope, "leaky_relu", "negative_slope"))


def swish(x: Any) -> Tensor:
    """x * sigmoid(x) (Keras's swish, also called silu)."""
    return _apply("swish", x)


silu = swish


def gelu(x: Any, approximate: bool = False) -> Tensor:
    """Gaussian error linear unit: x * Phi(x) with the erf form (Keras's
    default), or its tanh approximation with ``approximate=True``."""
    if not isinstance(approximate, (bool, np.bool_)):
        raise TypeError(f"gelu: approximate must be True or False; got {approximate!r}")
    return _apply("gelu_tanh" if approximate else "gelu", x)


def _alpha(value: Any, where: str, name: str) -> float:
    return real_number(value, where, name, low=0.0)


_BY_FUNCTION: dict[Callable[..., Any], str] = {
    linear: "linear",
    relu: "relu",
    sigmoid: "sigmoid",
    tanh: "tanh",
    softmax: "softmax",
    elu: "elu",
    selu: "selu",
    softplus: "softplus",
    leaky_relu: "leaky_relu",
    swish: "swish",
    gelu: "gelu",
}


def get(identifier: Any, where: str) -> str:
    """The kernel name of an activation given by name, None, or tinynn function.

    Raises
    ------
    ValueError
        For an unknown or unsupported name.
    TypeError
        For a callable tinynn cannot differentiate, or another kind of object.
    """
    if identifier is None or isinstance(identifier, str):
        key = identifier.lower() if isinstance(identifier, str) else None
        if key in ALIASES:
            return ALIASES[key]
        supported = ", ".join(repr(n) for n in ALIASES if n)
        if key in _KERAS_ONLY:
            raise ValueError(
                f"{where}: activation {identifier!r} is a Keras activation tinynn does "
                f"not implement; expected one of {supported}"
            )
        raise ValueError(
            f"{where}: Unknown activation function {identifier!r}; expected one of "
            f"{supported}, None, or tinynn.nn.relu-style functions"
        )
    if callable(identifier):
        if identifier in _BY_FUNCTION:
            return _BY_FUNCTION[identifier]
        name = getattr(identifier, "__name__", "")
        if (
            name in ALIASES
            and name
            and getattr(identifier, "__module__", "").startswith(
                ("tensorflow", "keras", "tf_keras", "torch")
            )
        ):
            return name
        raise TypeError(
            f"{where}: activation {getattr(identifier, '__name__', identifier)!r} is a "
            "callable tinynn cannot differentiate; expected a name such as 'relu' or "
            "a tinynn function such as tinynn.nn.relu"
        )
    raise TypeError(
        f"{where}: activation must be a string, None or a tinynn activation function; "
        f"got {type(identifier).__name__}"
    )


def function(name: str) -> Callable[..., Tensor]:
    """The public callable for a kernel name (what ``layer.activation`` returns)."""
    return {v: k for k, v in _BY_FUNCTION.items()}[name]
