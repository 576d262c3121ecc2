"""``tf.keras``-compatible namespace: ``import tinynn as tf; tf.keras.layers.Dense``.

Only re-exports live here; the logic is in the tinynn modules.
"""

from __future__ import annotations

from . import (
    activations,
    backend,
    callbacks,
    constraints,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    preprocessing,
    regularizers,
    utils,
)
from .._version import __version__
from .layers import Input
from .models import Model, Sequential

__all__ = [
    "__version__",
    "activations",
    "backend",
    "callbacks",
    "constraints",
    "datasets",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "preprocessing",
    "regularizers",
    "utils",
    "Input",
    "Model",
    "Sequential",
]
