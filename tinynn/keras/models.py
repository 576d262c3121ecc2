"""``tf.keras.models``: Sequential, Model, load_model, model_from_json."""

from tinynn.models import Model, Sequential
from tinynn.saving import load_model, model_from_json

__all__ = ["Model", "Sequential", "load_model", "model_from_json"]
