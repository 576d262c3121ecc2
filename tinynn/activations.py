"""Activation functions by name and as callables (``tinynn.nn.relu``).

Each has a C forward and backward kernel; a Dense layer fuses its activation
into the forward kernel. Calling one directly on an array returns a new
array, as ``tf.nn.relu(x)`` does.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import _backend, backend
from ._checks import as_float_array

__all__ = ["get", "linear", "relu", "sigmoid", "softmax", "tanh"]

ALIASES = {
    None: "linear",
    "linear": "linear",
    "relu": "relu",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "softmax": "softmax",
}
# Keras names tinynn knows but does not implement: a precise error beats "unknown".
_KERAS_ONLY = (
    "elu",
    "selu",
    "softplus",
    "softsign",
    "swish",
    "silu",
    "gelu",
    "exponential",
    "hard_sigmoid",
    "mish",
    "leaky_relu",
    "relu6",
    "log_softmax",
)


def _apply(name: str, x: Any) -> np.ndarray:
    array = as_float_array(x, _float_dtype_of(x), name, "x")
    if name == "softmax" and array.ndim != 2:
        if array.ndim == 1:
            return _apply(name, array[None, :])[0]
        raise ValueError(f"softmax: x must be 1-D or 2-D; got shape {array.shape}")
    out = np.empty_like(array)
    return _backend.activation_forward(name, array, out)


def _float_dtype_of(x: Any) -> np.dtype:
    dtype = getattr(x, "dtype", None)
    if dtype is not None and np.dtype(dtype).name in ("float32", "float64"):
        return np.dtype(dtype)
    return np.dtype(backend.floatx())


def linear(x: Any) -> np.ndarray:
    """Identity: returns x as a new float array."""
    return _apply("linear", x)


def relu(x: Any) -> np.ndarray:
    """max(x, 0), element-wise."""
    return _apply("relu", x)


def sigmoid(x: Any) -> np.ndarray:
    """1 / (1 + exp(-x)), element-wise."""
    return _apply("sigmoid", x)


def tanh(x: Any) -> np.ndarray:
    """Hyperbolic tangent, element-wise."""
    return _apply("tanh", x)


def softmax(x: Any) -> np.ndarray:
    """Row-wise softmax of a 2-D array (or of a 1-D vector), computed stably."""
    return _apply("softmax", x)


_BY_FUNCTION: dict[Callable[..., Any], str] = {
    linear: "linear",
    relu: "relu",
    sigmoid: "sigmoid",
    tanh: "tanh",
    softmax: "softmax",
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


def function(name: str) -> Callable[[Any], np.ndarray]:
    """The public callable for a kernel name (what ``layer.activation`` returns)."""
    return {v: k for k, v in _BY_FUNCTION.items()}[name]
