"""``tf.keras.models``: Sequential, Model, load_model."""

from tinynn.models import Model, Sequential
from tinynn.saving import load_model

__all__ = ["Model", "Sequential", "load_model"]
