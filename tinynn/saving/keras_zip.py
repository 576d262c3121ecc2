"""Keras 3's formats: ``.keras`` (a zip of ``config.json``,
``metadata.json`` and ``model.weights.h5``) and ``.weights.h5``.

The weights file holds ``layers/<path>/vars/<i>`` for each layer, where
``<path>`` comes from the layer's class (``dense``, ``dense_1``...: see
``keras_config.keras3_layer_paths``), and, with an optimizer,
``optimizer/vars/<i>``: the step count, Keras 3's learning rate, then the
per-weight state in Keras's order. Every dataset tinynn writes carries a
fletcher32 checksum; every declared size and shape is checked before data
is read.
"""

from __future__ import annotations

import datetime
import io
import json
from functools import partial
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from . import keras_config
from .common import (
    _compile_from,
    atomic_write,
    damaged,
    load_json,
    model_from_config,
    parse_field,
)
from .h5 import _dataset, _h5py, _open, _read, _scalar, read_parked, write_parked

_CONFIG = "config.json"
_METADATA = "metadata.json"
_WEIGHTS = "model.weights.h5"
_JSON_LIMIT = 16 * 2**20


def _weights_h5(model, include_optimizer: bool, where: str) -> bytes:
    """Keras 3's weights file of `model`, in memory."""
    h5py = _h5py(where)
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as root:
        root.create_group("vars").attrs["name"] = model.name
        for path, layer in keras_config.keras3_weight_groups(model):
            group = root.create_group(f"{path}/vars")
            group.attrs["name"] = layer.name
            if keras_config.is_model(layer):
                continue  # its layers have their own groups
            for index, value in enumerate(layer.get_weights()):
                _dataset(group, str(index), value)
        if include_optimizer and model._compiled:
            group = root.create_group("optimizer/vars")
            group.attrs["name"] = model.optimizer.name
            arrays = [
                np.array(model.optimizer.iterations, np.int64),
                np.array(model.optimizer.learning_rate, np.float32),
                *(value for _, value in keras_config.optimizer_arrays(model)),
            ]
            for index, value in enumerate(arrays):
                _dataset(group, str(index), value)
            write_parked(root, model)
    return buffer.getvalue()


def save_weights(model, path: Path, overwrite: bool) -> None:
    """``model.save_weights("x.weights.h5")``: Keras 3's weights-only file."""
    data = _weights_h5(model, False, "save_weights")
    atomic_write(path, lambda file: file.write(data), overwrite, "save_weights")


def save_model(model, path: Path, overwrite: bool, include_optimizer: bool) -> None:
    """``model.save("x.keras")``: Keras 3's zip format."""
    where = "save"
    config = keras_config.model_config(model, modules=True)
    config["compile_config"] = keras_config.compile_config(model)
    metadata = {
        "keras_version": keras_config.KERAS3_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
        "saved_by": f"tinynn {__version__}",
    }
    weights = _weights_h5(model, include_optimizer, where)

    def write(file):
        with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr(_METADATA, json.dumps(metadata))
            archive.writestr(_CONFIG, json.dumps(config))
            archive.writestr(_WEIGHTS, weights)

    atomic_write(path, write, overwrite, where)


def _archive(path: Path, where: str) -> zipfile.ZipFile:
    if not path.exists():
        raise FileNotFoundError(f"{where}: no file at {path}")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValueError(
            f"{where}: {path} is not a .keras file (not a zip archive: {exc})"
        ) from None


def _member(archive: zipfile.ZipFile, name: str, limit: int, path: Path, where: str):
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ValueError(
            f"{where}: {path} is not a Keras 3 .keras file (member {name!r} is "
            f"missing; it holds {sorted(archive.namelist())[:5]})"
        ) from None
    if info.file_size > limit:
        raise damaged(
            where,
            path,
            f"member {name!r}",
            f"declares {info.file_size} bytes; expected at most {limit}",
        )
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise damaged(
            where, path, f"member {name!r}", f"cannot be read ({exc})"
        ) from None


def _weights_limit(model) -> int:
    """The largest weights file a model of this size can have (the weights,
    up to three state arrays each, in float64), plus 16 MB of HDF5 overhead."""
    return 4 * 8 * sum(w.size for w in model.weights) + 16 * 2**20


def load_model(path: Path, compile: bool = True):
    """Rebuild a model from a ``.keras`` file (Keras 3's or tinynn's)."""
    where = "load_model"
    with _archive(path, where) as archive:
        text = _member(archive, _CONFIG, _JSON_LIMIT, path, where)
        config = load_json(text, where, path, f"member {_CONFIG!r}")
        model = parse_field(
            where,
            path,
            f"member {_CONFIG!r}",
            lambda: model_from_config(config, where, path),
        )
        _read_vocabularies(archive, model, path, where)
        data = _member(archive, _WEIGHTS, _weights_limit(model), path, where)
        keras2 = _written_by_keras2(archive, path, where)
    with _open_bytes(data, path, where) as root:
        model.set_weights(_layer_vars(root, model, path, where))
        compile_config = config.get("compile_config") if compile else None
        if compile_config:
            _compile(model, compile_config, root, path, where, keras2)
    return model


def _written_by_keras2(archive, path: Path, where: str) -> bool:
    """Whether ``metadata.json`` names a Keras 2.x version (tf-keras 2.13+
    writes .keras files too); a missing or unreadable one counts as Keras 3."""
    if _METADATA not in archive.namelist():
        return False
    try:
        text = _member(archive, _METADATA, _JSON_LIMIT, path, where)
        metadata = load_json(text, where, path, f"member {_METADATA!r}")
    except ValueError:
        return False
    version = metadata.get("keras_version") if isinstance(metadata, dict) else None
    return isinstance(version, str) and version.startswith("2.")


def _read_vocabularies(archive, model, path: Path, where: str) -> None:
    """Keras 3 keeps a TextVectorization's vocabulary in the asset
    ``assets/layers/<name>/vocabulary.txt`` (one token a line, '' and
    '[UNK]' first), not in its config: read it for a layer whose config
    gave none (tinynn writes the vocabulary into the config)."""
    names = set(archive.namelist())
    for layer, prefix in zip(model.layers, keras_config.keras3_layer_paths(model)):
        if not getattr(layer, "_string_input", False) or layer._vocabulary:
            continue
        name = f"assets/{prefix}/vocabulary.txt"
        if name in names:
            data = _member(archive, name, _JSON_LIMIT, path, where)
            parse_field(
                where,
                path,
                f"member {name!r}",
                partial(_set_vocabulary, layer, data),
            )


def _set_vocabulary(layer, data: bytes) -> None:
    layer.set_vocabulary(data.decode("utf-8").split("\n"))


def _compile(
    model,
    compile_config: dict[str, Any],
    root,
    path: Path,
    where: str,
    keras2: bool = False,
):
    """compile `model` as `compile_config` says, with the saved optimizer
    state; `keras2`: the file is tf-keras 2.x's (its metadata says so)."""
    field = f"member {_CONFIG!r} field 'compile_config'"
    names = model.output_names

    def clean(config):
        return keras_config.clean_training(config, names, keras2)

    training = parse_field(where, path, field, lambda: clean(compile_config))
    restore = True
    if training is None and compile_config.get("optimizer") is None:
        # Keras 3.15 writes no optimizer here; its load_model then compiles
        # with compile()'s default, RMSprop, and so does tinynn.
        with_default = {**compile_config, "optimizer": "RMSprop"}
        training = parse_field(where, path, field, lambda: clean(with_default))
        restore = False
        warnings.warn(
            f"{where}: {path} names no optimizer (Keras 3.15 leaves it out of "
            ".keras files); compiled with RMSprop, as Keras does, and without "
            "the saved optimizer state",
            stacklevel=4,
        )
    if training is None:
        return
    parse_field(where, path, field, lambda: _compile_from(model, training, where))
    if restore and "optimizer" in root:
        group = root["optimizer"]
        datasets = parse_field(
            where,
            path,
            "group 'optimizer/vars'",
            lambda: [group["vars"][str(i)] for i in range(len(group["vars"]))],
        )
        slots = len(keras_config.optimizer_slots(model))
        if len(datasets) == slots + 2:  # Keras 3: step count, learning rate
            del datasets[1]
        if not datasets:
            raise damaged(where, path, "group 'optimizer/vars'", "is empty")
        keras_config.restore_optimizer(
            model,
            _scalar(datasets[0], where, path),
            datasets[1:],
            lambda dataset, shape: _read(dataset, where, path, shape),
            path,
            where,
            "group 'optimizer/vars'",
        )
        read_parked(root, model, path, where)


def _open_bytes(data: bytes, path: Path, where: str):
    h5py = _h5py(where)
    try:
        return h5py.File(io.BytesIO(data), "r")
    except OSError as exc:
        raise damaged(
            where, path, f"member {_WEIGHTS!r}", f"is not readable HDF5 ({exc})"
        ) from None


def _layer_vars(root, model, path: Path, where: str) -> list[np.ndarray]:
    """Each layer's ``layers/<path>/vars/<i>``, count and shapes checked
    before any data is read."""
    datasets, shapes = [], []
    for layer_path, layer in keras_config.keras3_weight_groups(model):
        if keras_config.is_model(layer):
            continue  # its layers are listed after it
        group = root.get(f"{layer_path}/vars")
        if group is None:
            raise damaged(
                where,
                path,
                f"group '{layer_path}/vars'",
                f"is missing (layer {layer.name!r}, {type(layer).__name__}); the "
                "file was written for another architecture",
            )
        if len(group) != len(layer._params):
            raise damaged(
                where,
                path,
                f"group '{layer_path}/vars'",
                f"holds {len(group)} arrays; layer {layer.name!r} has "
                f"{len(layer._params)} weights",
            )
        for index, param in enumerate(layer._params):
            if str(index) not in group:
                raise damaged(
                    where, path, f"group '{layer_path}/vars'", f"has no array {index}"
                )
            datasets.append(group[str(index)])
            shapes.append(param.shape)
    for dataset, shape in zip(datasets, shapes):
        if tuple(dataset.shape) != tuple(shape):
            raise damaged(
                where,
                path,
                f"dataset {dataset.name!r}",
                f"has shape {tuple(dataset.shape)}; the model expects {tuple(shape)}",
            )
    return [_read(d, where, path, s) for d, s in zip(datasets, shapes)]


def load_weights(model, path: Path, where: str = "load_weights") -> None:
    """Weights of a ``.keras`` file or a Keras 3 layout ``.weights.h5``."""
    if path.suffix.lower() == ".keras":
        with _archive(path, where) as archive:
            data = _member(archive, _WEIGHTS, _weights_limit(model), path, where)
        with _open_bytes(data, path, where) as root:
            model.set_weights(_layer_vars(root, model, path, where))
        return
    with _open(path, where) as root:
        model.set_weights(_layer_vars(root, model, path, where))
