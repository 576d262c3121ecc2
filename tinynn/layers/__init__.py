"""Layers (``tf.keras.layers``).

Every layer has two faces:
- the Keras face used by `Sequential` (constructor arguments, names,
  ``get_weights``/``set_weights``, ``get_config``);
- a low-level face for hand-written training loops (the pure-NumPy article):
  ``forward(x, training=False)`` and ``backward(dy)`` return new arrays, and
  ``weights`` / ``gradients`` are the layer's live arrays (writing into
  ``weights`` changes the layer; ``backward`` fills ``gradients``).
Shapes: ``input_shape`` arguments exclude the batch axis; ``build`` and
``output_shape`` include it as None, as in Keras.

Modules: ``base`` (Layer), ``core``, ``merging``, ``normalization``.
"""

from .base import Layer, set_weight_values  # noqa: F401 (models import it here)
from .core import (
    ELU,
    Activation,
    Dense,
    Dropout,
    Flatten,
    Input,
    InputLayer,
    LeakyReLU,
    PReLU,
    ReLU,
    Rescaling,
    Reshape,
    Softmax,
)
from .merging import (
    Add,
    Average,
    Concatenate,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    maximum,
    minimum,
    multiply,
    subtract,
)
from .normalization import BatchNormalization, LayerNormalization, Normalization

__all__ = [
    "ELU",
    "Activation",
    "Add",
    "Average",
    "Concatenate",
    "Maximum",
    "Minimum",
    "Multiply",
    "Subtract",
    "add",
    "average",
    "concatenate",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
    "BatchNormalization",
    "Dense",
    "Dropout",
    "Flatten",
    "Input",
    "InputLayer",
    "Layer",
    "LayerNormalization",
    "LeakyReLU",
    "Normalization",
    "PReLU",
    "ReLU",
    "Rescaling",
    "Reshape",
    "Softmax",
]
