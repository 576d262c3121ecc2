"""Dataset loaders: ``mnist``, ``fashion_mnist`` (tf.keras's API) and ``toy``."""

from __future__ import annotations

from . import fashion_mnist, mnist, toy

__all__ = ["fashion_mnist", "mnist", "toy"]
