"""``tf.keras.datasets``: mnist and fashion_mnist loaders."""

from tinynn.datasets import fashion_mnist, mnist

__all__ = ["fashion_mnist", "mnist"]
