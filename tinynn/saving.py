"""Saving and loading models: tinynn's own single-file format and Keras HDF5.

tinynn format (any path not ending in .h5/.hdf5): a zip archive holding
``tinynn.json`` (format marker, architecture, compile settings, optimizer
step count) and one ``.npy`` per weight and optimizer state array. Arrays
are read with ``allow_pickle=False`` and nothing from the file is executed.
Every file is written to a temporary file in the target folder and renamed
over the target, so a crash mid-write leaves the previous file intact; the
temporary file of a killed writer is removed by the next save to the folder.

Loading checks every field and every declared shape and size before reading
the data it describes, and reports any problem as one ValueError naming the
file and the field.
"""

from __future__ import annotations

import io
import json
import math
import numbers
import os
import re
import socket
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import __version__, losses, optimizers
from .layers import LAYER_CLASSES

_FORMAT = "tinynn-model"
_WEIGHTS_FORMAT = "tinynn-weights"
_FORMAT_VERSION = 1
_MANIFEST = "tinynn.json"
# Architecture and settings are a few KB; anything far larger is not ours.
_MANIFEST_LIMIT = 16 * 2**20
# Optimizer step counts are 64-bit in the C core.
_MAX_ITERATIONS = 2**62


# ---- files ------------------------------------------------------------------
def _path(filepath: Any, where: str) -> Path:
    if not isinstance(filepath, (str, os.PathLike)):
        raise TypeError(
            f"{where}: filepath must be a str or os.PathLike; got "
            f"{type(filepath).__name__}"
        )
    return Path(filepath)


def _is_h5(path: Path) -> bool:
    return path.suffix.lower() in (".h5", ".hdf5", ".keras5") or path.name.endswith(
        ".weights.h5"
    )


def atomic_write(
    path: Path,
    write: Callable[[io.BufferedWriter], None],
    overwrite: bool = True,
    where: str = "save",
) -> None:
    """Write via `write(file)` into a temp file beside `path`, then rename over it."""
    if path.exists() and not overwrite:
        raise FileExistsError(f"{where}: {path} exists and overwrite=False")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"{where}: folder {folder} does not exist")
    remove_stale_temp_files(folder)
    handle, temp_name = tempfile.mkstemp(
        prefix=f".{path.name}.tinynn-{_HOST}-{os.getpid()}-", suffix=".tmp", dir=folder
    )
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp_name, path)
    except BaseException:
        try:
            os.unlink(temp_name)
        except FileNotFoundError:
            pass
        raise


# ".<target>.tinynn-<host>-<writer's pid>-<random>.tmp", from atomic_write. The
# host keeps a save from another machine (a shared folder) safe from our check
# of process ids, which only means something on this one.
_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"
_TEMP_NAME = re.compile(r"^\..+\.tinynn-([A-Za-z0-9]+)-(\d+)-[A-Za-z0-9_]+\.tmp$")


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's live process, or unknowable: keep the file
    return True


def remove_stale_temp_files(folder: Path) -> list[Path]:
    """Delete temporary files of atomic_write whose writer no longer runs (a
    save killed with SIGKILL cannot clean up after itself); returns them.

    Only names of our own pattern written on this host are touched, and only
    when the process id they carry is gone, so a save running in another
    process is left alone.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if not match or match.group(1) != _HOST:
            continue
        if not entry.is_file(follow_symlinks=False):
            continue
        if _process_exists(int(match.group(2))):
            continue
        try:
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            pass  # gone already, or not ours to delete
    return removed


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def damaged(where: str, path: Path, field: str, problem: str) -> ValueError:
    """The one error of a bad file: names the file and the field."""
    return ValueError(f"{where}: {path} is damaged: {field} {problem}")


def parse_field(where: str, path: Path, field: str, parse: Callable[[], Any]) -> Any:
    """`parse()`, with any error from malformed content reported as damaged."""
    try:
        return parse()
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
        kind = "" if isinstance(exc, ValueError) else f"{type(exc).__name__}: "
        raise damaged(where, path, field, f"is malformed ({kind}{exc})") from None


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


# ---- configs ----------------------------------------------------------------
def _training_config(model) -> dict[str, Any] | None:
    if not model._compiled:
        return None
    return {
        "loss": losses.serialize(model.loss),
        "metrics": [
            m if isinstance(m, str) else m.name for m in model.compiled_metrics
        ],
        "optimizer_config": optimizers.serialize(model.optimizer),
    }


def model_from_config(config: dict[str, Any], where: str = "load_model"):
    """Rebuild an (uncompiled, initialised) Sequential from ``get_config`` data."""
    from .models import Sequential

    if not isinstance(config, dict) or config.get("class_name") != "Sequential":
        raise ValueError(
            f"{where}: only Sequential models can be loaded; got "
            f"{config.get('class_name') if isinstance(config, dict) else config!r}"
        )
    body = config.get("config", {})
    model = Sequential(name=body.get("name"))
    for entry in body.get("layers", []):
        cls = LAYER_CLASSES.get(entry.get("class_name"))
        if cls is None:
            raise ValueError(
                f"{where}: unknown layer class {entry.get('class_name')!r}; "
                f"tinynn knows {sorted(LAYER_CLASSES)}"
            )
        model.add(cls.from_config(_known_arguments(cls, entry.get("config", {}))))
    shape = body.get("build_input_shape")
    if shape is not None and not model.built:
        model.build(tuple(shape))
    return model


# Keras config keys that have no tinynn equivalent and mean "off" when None.
_IGNORED_KEYS = {
    "kernel_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "bias_constraint",
    "data_format",
    "noise_shape",
    "sparse",
    "ragged",
}


def _known_arguments(cls: type, config: dict[str, Any]) -> dict[str, Any]:
    cleaned = {
        k: v for k, v in config.items() if not (k in _IGNORED_KEYS and v is None)
    }
    dtype = cleaned.get("dtype")
    if isinstance(dtype, dict):  # Keras 3 stores a DTypePolicy object
        cleaned["dtype"] = dtype.get("config", {}).get("name", "float32")
    if cleaned.get("dtype") not in (None, "float32", "float64"):
        cleaned["dtype"] = None
    for key in ("kernel_initializer", "bias_initializer"):
        value = cleaned.get(key)
        if (
            isinstance(value, dict) and "module" in value
        ):  # Keras 3 adds module/registered_name
            cleaned[key] = {
                "class_name": value["class_name"],
                "config": {
                    k: v for k, v in value.get("config", {}).items() if k != "seed" or v
                },
            }
    return cleaned


def _compile_from(model, training: dict[str, Any] | None, where: str) -> None:
    if not training:
        return
    model.compile(
        optimizer=optimizers.deserialize(training["optimizer_config"]),
        loss=losses.deserialize(training["loss"]),
        metrics=list(training.get("metrics", [])),
    )


# ---- tinynn format ------------------------------------------------------------
def save_model(
    model, filepath: Any, overwrite: bool = True, include_optimizer: bool = True
) -> None:
    """Write `model` to `filepath` (see the module docstring for the format)."""
    where = "save"
    path = _path(filepath, where)
    model._require_built(where)
    if _is_h5(path):
        from . import _h5

        _h5.save_model(model, path, overwrite, include_optimizer)
        return
    weights = model.get_weights()
    manifest: dict[str, Any] = {
        "format": _FORMAT,
        "format_version": _FORMAT_VERSION,
        "tinynn_version": __version__,
        "model_config": {"class_name": "Sequential", "config": model.get_config()},
        "training_config": _training_config(model),
        "weights": len(weights),
        "optimizer": None,
    }
    state = {}
    if include_optimizer and model._compiled:
        state = model.optimizer.flat_state()
        manifest["optimizer"] = {
            "iterations": model.optimizer.iterations,
            "state": sorted(state),
        }

    def write(file):
        with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr(_MANIFEST, json.dumps(manifest, indent=1))
            for index, array in enumerate(weights):
                archive.writestr(f"weights/{index}.npy", _npy_bytes(array))
            for name in sorted(state):
                archive.writestr(f"optimizer/{name}.npy", _npy_bytes(state[name]))

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
        manifest = json.loads(archive.read(info))
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


def _whole(value: Any, field: str, low: int, high: int) -> int:
    """`value` as an int in [low, high], else ValueError("'field' must be ...")."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Integral)
        or not low <= value <= high
    ):
        raise ValueError(
            f"{field!r} must be an integer in [{low}, {high}]; got {value!r}"
        )
    return int(value)


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
    where = "load_model"
    path = _path(filepath, where)
    if _is_h5(path):
        from . import _h5

        return _h5.load_model(path, compile)
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


def _check_optimizer_fields(
    model, iterations: Any, names: list[Any], path: Path, where: str
) -> None:
    """Step count and state names, checked before any state array is read."""
    try:
        _whole(iterations, "optimizer.iterations", 0, _MAX_ITERATIONS)
    except ValueError as exc:
        raise damaged(where, path, "field", str(exc)) from None
    expected = model.optimizer._active_state_names()
    if names and sorted(map(str, names)) != sorted(expected):
        raise damaged(
            where,
            path,
            "field 'optimizer.state'",
            f"lists {sorted(map(str, names))}; {type(model.optimizer).__name__} "
            f"with this configuration has {sorted(expected)}",
        )


def _restore_optimizer(
    model, iterations: Any, state: dict[str, np.ndarray], path: Path, where: str
) -> None:
    """Check (step count, names, shapes, finite values) and install the state."""
    _check_optimizer_fields(model, iterations, list(state), path, where)
    for name, array in state.items():
        if array.shape != (model._trainable_size,):
            raise damaged(
                where,
                path,
                f"optimizer state {name!r}",
                f"has shape {array.shape}; expected ({model._trainable_size},)",
            )
        if array.dtype.kind != "f" or not np.isfinite(array).all():
            raise damaged(
                where,
                path,
                f"optimizer state {name!r}",
                "holds non-finite or non-float values; expected finite floats",
            )
    model.optimizer.set_flat_state(
        int(iterations), {k: v.astype(model.dtype) for k, v in state.items()}
    )


def save_weights(model, filepath: Any, overwrite: bool = True) -> None:
    """Write only the weights of `model`."""
    where = "save_weights"
    path = _path(filepath, where)
    model._require_built(where)
    if _is_h5(path):
        from . import _h5

        _h5.save_model(
            model, path, overwrite, include_optimizer=False, weights_only=True
        )
        return
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
        from . import _h5

        model.set_weights(
            _h5.read_weights(path, where, [w.shape for w in model.weights])
        )
        return
    archive, manifest = _open_archive(path, where)
    with archive:
        if manifest["weights"] != len(model.weights):
            raise ValueError(
                f"{where}: {path} holds {manifest['weights']} weights but model "
                f"{model.name!r} is expecting {len(model.weights)} weights"
            )
        weights = _read_weights(archive, manifest, model, path, where)
    model.set_weights(weights)
