"""``tf.nn``-style functions, usable as Dense activations (``tinynn.nn.relu``)."""

from __future__ import annotations

from .activations import (
    elu,
    gelu,
    leaky_relu,
    relu,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    swish,
    tanh,
)

__all__ = [
    "elu",
    "gelu",
    "leaky_relu",
    "relu",
    "selu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "swish",
    "tanh",
]
