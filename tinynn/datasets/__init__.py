"""Dataset loaders with tf.keras's ``load_data`` API: ``mnist``,
``fashion_mnist``, ``cifar10``, ``cifar100``, ``imdb``, ``reuters``,
``boston_housing``; and ``toy``, ``toy_reviews`` (made on the spot)."""

from __future__ import annotations

from . import (
    boston_housing,
    cifar10,
    cifar100,
    fashion_mnist,
    imdb,
    mnist,
    reuters,
    toy,
    toy_reviews,
)

__all__ = [
    "boston_housing",
    "cifar10",
    "cifar100",
    "fashion_mnist",
    "imdb",
    "mnist",
    "reuters",
    "toy",
    "toy_reviews",
]
