"""Saving and loading models: tinynn's own single-file format (native.py) and
Keras-layout HDF5 (h5.py), chosen by the file's suffix.

Every file is written to a temporary file in the target folder and renamed
over the target, so a crash mid-write leaves the previous file intact; the
temporary file of a killed writer is removed by the next save to the folder.
Loading checks every field and every declared shape and size before reading
the data it describes, and reports any problem as one ValueError naming the
file and the field. Classes are found through tinynn.registry: this package
imports no model class.
"""

from __future__ import annotations

from typing import Any

from . import h5, native
from .common import _is_h5, _path, model_from_config, remove_stale_temp_files

__all__ = [
    "load_model",
    "load_weights",
    "model_from_config",
    "remove_stale_temp_files",
    "save_model",
    "save_weights",
]


def save_model(
    model, filepath: Any, overwrite: bool = True, include_optimizer: bool = True
) -> None:
    """Write architecture, weights and optimizer state of `model` to `filepath`."""
    path = _path(filepath, "save")
    model._require_built("save")
    if _is_h5(path):
        h5.save_model(model, path, overwrite, include_optimizer)
    else:
        native.save_model(model, path, overwrite, include_optimizer)


def load_model(
    filepath: Any,
    custom_objects: Any = None,
    compile: bool = True,
    safe_mode: bool = True,
):
    """Load a model saved by ``model.save`` (tinynn format or .h5).

    The architecture, weights and, when compiled, the optimizer and its
    state are restored, so ``fit`` continues exactly where it stopped.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        For a truncated, corrupted or foreign file, a malformed field, a
        weight or state array whose declared shape or size does not match
        the architecture, or invalid optimizer state (the message names the
        file and the field). Shapes and sizes are checked before reading.
    """
    path = _path(filepath, "load_model")
    if _is_h5(path):
        return h5.load_model(path, compile)
    return native.load_model(path, compile)


def save_weights(model, filepath: Any, overwrite: bool = True) -> None:
    """Write only the weights of `model`."""
    path = _path(filepath, "save_weights")
    model._require_built("save_weights")
    if _is_h5(path):
        h5.save_model(
            model, path, overwrite, include_optimizer=False, weights_only=True
        )
    else:
        native.save_weights(model, path, overwrite)


def load_weights(model, filepath: Any) -> None:
    """Read weights saved by ``save_weights`` or ``save`` into `model`."""
    where = "load_weights"
    path = _path(filepath, where)
    if not model.built:
        raise ValueError(
            f"{where}: build the model (give an input shape) before "
            "loading weights into it"
        )
    if _is_h5(path):
        model.set_weights(
            h5.read_weights(path, where, [w.shape for w in model.weights])
        )
    else:
        native.load_weights(model, path)
