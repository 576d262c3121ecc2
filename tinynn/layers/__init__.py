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

Modules: ``base`` (Layer), ``core``, ``convolutional``, ``merging``, ``normalization``,
``pooling``, ``reshaping`` (padding, cropping, upsampling), ``embedding``,
``regularization`` (SpatialDropout2D), ``preprocessing`` (TextVectorization).
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
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from .convolutional import Conv1D, Conv2D, Conv2DTranspose
from .embedding import Embedding
from .normalization import BatchNormalization, LayerNormalization, Normalization
from .pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AvgPool1D,
    AvgPool2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAvgPool1D,
    GlobalAvgPool2D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPool1D,
    MaxPool2D,
    MaxPooling1D,
    MaxPooling2D,
)
from .preprocessing import TextVectorization
from .regularization import SpatialDropout2D
from .reshaping import Cropping2D, UpSampling2D, ZeroPadding2D

__all__ = [
    "ELU",
    "Activation",
    "Add",
    "Average",
    "Concatenate",
    "Dot",
    "Maximum",
    "Minimum",
    "Multiply",
    "Subtract",
    "add",
    "average",
    "concatenate",
    "dot",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
    "AveragePooling1D",
    "AveragePooling2D",
    "AvgPool1D",
    "AvgPool2D",
    "BatchNormalization",
    "Conv1D",
    "Conv2D",
    "Conv2DTranspose",
    "Cropping2D",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "Input",
    "InputLayer",
    "Layer",
    "LayerNormalization",
    "LeakyReLU",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPooling1D",
    "MaxPooling2D",
    "Normalization",
    "PReLU",
    "ReLU",
    "Rescaling",
    "Reshape",
    "Softmax",
    "SpatialDropout2D",
    "TextVectorization",
    "UpSampling2D",
    "ZeroPadding2D",
]
