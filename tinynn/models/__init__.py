"""Models (``tf.keras.models``): Model, Functional, Sequential.

``model.py`` is what every model shares (weights, training through the
Trainer, summary, saving), ``functional.py`` the model between
``keras.Input`` tensors and layer outputs, ``sequential.py`` the stack of
layers (a chain graph), ``executor.py`` the Plan that runs any graph.
"""

from .. import saving
from .functional import Functional
from .model import Model
from .sequential import Sequential

model_from_json = saving.model_from_json

__all__ = ["Functional", "Model", "Sequential", "model_from_json"]
