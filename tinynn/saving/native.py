"""tinynn's own single-file format (any path not ending in .h5/.hdf5).

A zip archive holding ``tinynn.json`` (format marker, architecture, compile
settings, optimizer step count) and one ``.npy`` per weight and optimizer
state array. Arrays are read with ``allow_pickle=False`` and nothing from the
file is executed.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from .common import (
    _check_optimizer_fields,
    _compile_from,
    _restore_optimizer,
    _training_config,
    _whole,
    atomic_write,
    damaged,
    load_json,
    model_from_config,
    parked_moments,
    parked_name,
    parse_field,
    restore_parked,
)

_FORMAT = "tinynn-model"


_WEIGHTS_FORMAT = "tinynn-weights"


_FORMAT_VERSION = 1


_MANIFEST = "tinynn.json"


# Architecture and settings are a few KB; anything far larger is not ours.
_MANIFEST_LIMIT = 16 * 2**20


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array, order="C"), allow_pickle=False)
    return buffer.getvalue()


def _read_npy(
    archive: zipfile.ZipFile,
    name: str,
    path: Path,
    where: str,
    shape: tuple[int, ...] | None = None,
) -> np.ndarray:
    """A float array member, its header and declared size checked before its
    data is read (so a small file cannot make us inflate gigabytes)."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise damaged(where, path, f"member {name!r}", "is missing") from None
    try:
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                header = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                header = np.lib.format.read_array_header_2_0(member)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            declared, fortran, dtype = header
            if dtype.kind != "f" or dtype.itemsize not in (4, 8):
                raise ValueError(f"holds dtype {dtype}; expected float32 or float64")
            if shape is not None and tuple(declared) != tuple(shape):
                raise ValueError(
                    f"has shape {tuple(declared)}; the model expects {tuple(shape)}"
                )
            nbytes = math.prod(declared) * dtype.itemsize
            if info.file_size != member.tell() + nbytes:
                raise ValueError(
                    f"declares {info.file_size} bytes; its header says "
                    f"{member.tell() + nbytes}"
                )
            data = member.read(nbytes)
            if len(data) != nbytes:
                raise ValueError(f"is truncated ({len(data)} of {nbytes} bytes)")
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise damaged(where, path, f"member {name!r}", str(exc)) from None
    order = "F" if fortran else "C"
    return np.frombuffer(data, dtype).reshape(declared, order=order)


def save_model(model, path: Path, overwrite: bool, include_optimizer: bool) -> None:
    """Write `model` to `path` (see the module docstring for the format)."""
    where = "save"
    weights = model.get_weights()
    manifest: dict[str, Any] = {
        "format": _FORMAT,
        "format_version": _FORMAT_VERSION,
        "tinynn_version": __version__,
        "model_config": {
            "class_name": type(model).__name__,
            "config": model.get_config(),
        },
        "training_config": _training_config(model),
        "weights": len(weights),
        "optimizer": None,
    }
    state = {}
    parked = []
    if include_optimizer and model._compiled:
        state = model.optimizer.flat_state()
        parked = parked_moments(model)
        manifest["optimizer"] = {
            "iterations": model.optimizer.iterations,
            "state": sorted(state),
            "parked": [list(entry[:3]) for entry in parked],
        }

    def write(file):
        with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr(_MANIFEST, json.dumps(manifest, indent=1))
            for index, array in enumerate(weights):
                archive.writestr(f"weights/{index}.npy", _npy_bytes(array))
            for name in sorted(state):
                archive.writestr(f"optimizer/{name}.npy", _npy_bytes(state[name]))
            for position, index, name, array in parked:
                member = f"optimizer/parked/{parked_name(position, index, name)}.npy"
                archive.writestr(member, _npy_bytes(array))

    atomic_write(path, write, overwrite, where)


def _open_archive(path: Path, where: str) -> tuple[zipfile.ZipFile, dict[str, Any]]:
    if not path.exists():
        raise FileNotFoundError(f"{where}: no file at {path}")
    if path.is_dir():
        raise IsADirectoryError(
            f"{where}: {path} is a folder (TensorFlow SavedModel "
            "folders are not supported); expected a file saved by tinynn"
        )
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ValueError(
            f"{where}: {path} is not a tinynn model file (not a zip "
            "archive; truncated or foreign)"
        ) from None
    try:
        info = archive.getinfo(_MANIFEST)
        if info.file_size > _MANIFEST_LIMIT:
            raise damaged(
                where,
                path,
                _MANIFEST,
                f"declares {info.file_size} bytes; expected at most {_MANIFEST_LIMIT}",
            )
        manifest = load_json(archive.read(info), where, path, _MANIFEST)
    except KeyError:
        archive.close()
        raise ValueError(
            f"{where}: {path} is a zip archive but not a tinynn model "
            f"file ({_MANIFEST} is missing)"
        ) from None
    except (ValueError, zipfile.BadZipFile, OSError) as exc:
        archive.close()
        if str(exc).startswith(f"{where}: "):
            raise
        raise damaged(where, path, _MANIFEST, f"cannot be read ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") not in (
        _FORMAT,
        _WEIGHTS_FORMAT,
    ):
        archive.close()
        raise ValueError(f"{where}: {path} is not a tinynn model file")
    try:
        version = _whole(manifest.get("format_version"), "format_version", 0, 2**31)
        if version > _FORMAT_VERSION:
            raise ValueError(
                f"{where}: {path} was written by a newer tinynn (format "
                f"version {version}); upgrade tinynn"
            )
        _whole(manifest.get("weights"), "weights", 0, 2**31)
    except ValueError as exc:
        archive.close()
        if str(exc).startswith(f"{where}: "):
            raise
        raise damaged(where, path, "field", str(exc)) from None
    return archive, manifest


def load_model(path: Path, compile: bool = True):
    """Rebuild a model saved in tinynn's format."""
    where = "load_model"
    archive, manifest = _open_archive(path, where)
    with archive:
        if manifest["format"] != _FORMAT:
            raise ValueError(
                f"{where}: {path} holds only weights; build the model and "
                "call model.load_weights(path)"
            )
        model = parse_field(
            where,
            path,
            "field 'model_config'",
            lambda: model_from_config(manifest["model_config"], where),
        )
        model.set_weights(_read_weights(archive, manifest, model, path, where))
        if compile:
            parse_field(
                where,
                path,
                "field 'training_config'",
                lambda: _compile_from(model, manifest.get("training_config"), where),
            )
            saved = manifest.get("optimizer")
            if saved and model._compiled:
                iterations, names = parse_field(
                    where,
                    path,
                    "field 'optimizer'",
                    lambda: (saved["iterations"], list(saved["state"])),
                )
                _check_optimizer_fields(model, iterations, names, path, where)
                state = {
                    name: _read_npy(
                        archive,
                        f"optimizer/{name}.npy",
                        path,
                        where,
                        (model._trainable_size,),
                    )
                    for name in names
                }
                _restore_optimizer(model, iterations, state, path, where)
                entries = parse_field(
                    where,
                    path,
                    "field 'optimizer.parked'",
                    lambda: [
                        (
                            _whole(p, "position", 0, 2**31),
                            _whole(i, "index", 0, 2**31),
                            str(n),
                            f"optimizer/parked/{parked_name(p, i, n)}.npy",
                        )
                        for p, i, n in saved.get("parked", [])
                    ],
                )
                restore_parked(
                    model,
                    entries,
                    lambda member, shape: _read_npy(
                        archive, member, path, where, shape
                    ),
                    path,
                    where,
                )
    return model


def _read_weights(archive, manifest, model, path: Path, where: str) -> list:
    """The weight members, their count and shapes checked against `model`."""
    targets = model.weights
    if manifest["weights"] != len(targets):
        raise damaged(
            where,
            path,
            "field 'weights'",
            f"declares {manifest['weights']} arrays; the model has {len(targets)}",
        )
    return [
        _read_npy(archive, f"weights/{i}.npy", path, where, target.shape)
        for i, target in enumerate(targets)
    ]


def save_weights(model, path: Path, overwrite: bool) -> None:
    """Write only the weights of `model`."""
    where = "save_weights"
    weights = model.get_weights()
    manifest = {
        "format": _WEIGHTS_FORMAT,
        "format_version": _FORMAT_VERSION,
        "tinynn_version": __version__,
        "weights": len(weights),
        "shapes": [list(w.shape) for w in weights],
    }

    def write(file):
        with zipfile.ZipFile(file, "w") as archive:
            archive.writestr(_MANIFEST, json.dumps(manifest))
            for index, array in enumerate(weights):
                archive.writestr(f"weights/{index}.npy", _npy_bytes(array))

    atomic_write(path, write, overwrite, where)


def load_weights(model, path: Path) -> None:
    """Read weights saved by ``save_weights`` or ``save`` into `model`."""
    where = "load_weights"
    archive, manifest = _open_archive(path, where)
    with archive:
        if manifest["weights"] != len(model.weights):
            raise ValueError(
                f"{where}: {path} holds {manifest['weights']} weights but model "
                f"{model.name!r} is expecting {len(model.weights)} weights"
            )
        weights = _read_weights(archive, manifest, model, path, where)
    model.set_weights(weights)
