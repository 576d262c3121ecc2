"""What both file formats share: paths, atomic writes and the clean-up of
their temporary files, the one error of a damaged file, architecture and
compile configs, and the checks of saved optimizer state.

Classes are found by the name a file gives through tinynn.registry, so this
package depends on no model, layer or optimizer class.
"""

from __future__ import annotations

import io
import numbers
import os
import re
import socket
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import losses, optimizers, registry

# Optimizer step counts are 64-bit in the C core.
_MAX_ITERATIONS = 2**62


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
    """Rebuild an (uncompiled, initialised) model from ``get_config`` data,
    with the model and layer classes the registry knows by name."""
    class_name = config.get("class_name") if isinstance(config, dict) else config
    model_class = registry.lookup("model", class_name)
    if model_class is None:
        raise ValueError(
            f"{where}: only {', '.join(registry.names('model'))} models can be "
            f"loaded; got {class_name!r}"
        )
    body = config.get("config", {})
    model = model_class(name=body.get("name"))
    for entry in body.get("layers", []):
        cls = registry.lookup("layer", entry.get("class_name"))
        if cls is None:
            raise ValueError(
                f"{where}: unknown layer class {entry.get('class_name')!r}; "
                f"tinynn knows {registry.names('layer')}"
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
