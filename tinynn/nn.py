"""``tf.nn``-style functions, usable as Dense activations (``tinynn.nn.relu``)."""

from __future__ import annotations

from .activations import relu, sigmoid, softmax, tanh

__all__ = ["relu", "sigmoid", "softmax", "tanh"]
