"""Saving and loading models, the format chosen by the file's suffix as
Keras chooses it: ``.keras`` is Keras 3's zip (keras_zip.py), ``.h5`` /
``.hdf5`` Keras's HDF5 layout (h5.py; ``x.weights.h5`` from save_weights is
Keras 3's weights layout), anything else tinynn's own single-file format
(native.py). The Keras side of the configs is in keras_config.py.

Every file is written to a temporary file in the target folder and renamed
over the target, so a crash mid-write leaves the previous file intact; the
temporary file of a killed writer is removed by the next save to the folder.
Loading checks every field and every declared shape and size before reading
the data it describes, and reports any problem as one ValueError naming the
file and the field. Classes are found through tinynn.registry: this package
imports no model class.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from . import h5, keras_config, keras_zip, native
from .common import (
    _is_h5,
    _path,
    guard_loader,
    load_json,
    model_from_config,
    remove_stale_temp_files,
)

__all__ = [
    "load_model",
    "load_weights",
    "model_from_config",
    "model_from_json",
    "remove_stale_temp_files",
    "save_model",
    "save_weights",
    "to_json",
]


def _is_keras(path: Path) -> bool:
    """A ``.keras`` path that is not an older tinynn file of that name (tinynn
    used to write its own format for every suffix but .h5)."""
    if path.suffix.lower() != ".keras":
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return native._MANIFEST not in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return True  # a new file, or one keras_zip reports on


def _is_weights_h5(path: Path) -> bool:
    return path.name.lower().endswith(".weights.h5")


def save_model(
    model, filepath: Any, overwrite: bool = True, include_optimizer: bool = True
) -> None:
    """Write architecture, weights and optimizer state of `model` to `filepath`."""
    path = _path(filepath, "save")
    model._require_built("save")
    if path.suffix.lower() == ".keras":
        keras_zip.save_model(model, path, overwrite, include_optimizer)
    elif _is_h5(path):
        h5.save_model(model, path, overwrite, include_optimizer)
    else:
        native.save_model(model, path, overwrite, include_optimizer)


def load_model(
    filepath: Any,
    custom_objects: Any = None,
    compile: bool = True,
    safe_mode: bool = True,
):
    """Load a model saved by ``model.save`` of tinynn or Keras: ``.keras``
    (Keras 3), ``.h5``/``.hdf5`` (Keras 2.x or 3, or tinynn), or tinynn's
    own format.

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
    return guard_loader("load_model", path, lambda: _load_model(path, compile))


def _load_model(path: Path, compile: bool):
    if _is_keras(path):
        return keras_zip.load_model(path, compile)
    if _is_h5(path):
        return h5.load_model(path, compile)
    return native.load_model(path, compile)


def save_weights(model, filepath: Any, overwrite: bool = True) -> None:
    """Write only the weights of `model`: Keras 3's layout for a name ending
    in ``.weights.h5`` (what Keras 3 requires), Keras 2.x's for other
    ``.h5``, tinynn's format otherwise."""
    path = _path(filepath, "save_weights")
    model._require_built("save_weights")
    if _is_weights_h5(path):
        keras_zip.save_weights(model, path, overwrite)
    elif _is_h5(path):
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
    guard_loader(where, path, lambda: _load_weights(model, path, where))


def _load_weights(model, path: Path, where: str) -> None:
    if _is_keras(path):
        keras_zip.load_weights(model, path, where)
    elif _is_h5(path):
        if h5.is_keras3_weights(path, where):
            keras_zip.load_weights(model, path, where)
        else:
            model.set_weights(
                h5.read_weights(path, where, [w.shape for w in model.weights])
            )
    else:
        native.load_weights(model, path)


def to_json(model, **kwargs: Any) -> str:
    """``model.to_json()``: the architecture as tf.keras 2.x writes it (an
    explicit InputLayer, then each layer's config, with Keras 3's ``module``
    keys), which Keras 2.x, Keras 3 and ``model_from_json`` all read (Keras
    2.x and 3 cannot read each other's). `kwargs` go to ``json.dumps``."""
    model._require_built("to_json")
    config = keras_config.model_config(model, modules=True)
    config["keras_version"] = keras_config.KERAS2_VERSION
    config["backend"] = "tensorflow"
    return json.dumps(config, **kwargs)


def model_from_json(json_string: Any, custom_objects: Any = None):
    """A new, uncompiled model from ``to_json`` output of tinynn, Keras 2.x
    or Keras 3 (``tf.keras.models.model_from_json``). Weights are freshly
    initialised; load them with ``load_weights``."""
    where = "model_from_json"
    if not isinstance(json_string, (str, bytes)):
        raise TypeError(
            f"{where}: json_string must be a str; got {type(json_string).__name__}"
        )
    config = load_json(json_string, where, None, "json_string")
    return guard_loader(
        where,
        "the JSON string",
        lambda: model_from_config(config, where, "the JSON string"),
    )
