"""What both file formats share: paths, atomic writes and the clean-up of
their temporary files, the one error of a damaged file, architecture and
compile configs, and the checks of saved optimizer state.

Classes are found by the name a file gives through tinynn.registry, so this
package depends on no model, layer or optimizer class.
"""

from __future__ import annotations

import inspect
import io
import json
import numbers
import os
import re
import warnings
import socket
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import losses, metrics as metrics_module, optimizers, registry
from .._files import new_file_mode

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
        # mkstemp makes the file 0600; give it the mode open() would (or the
        # mode of the file it replaces), before any byte is written.
        os.chmod(temp_name, new_file_mode(path))
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


damaged_file = damaged


# A model's config is a few KB and nests about ten levels; far beyond these
# limits a file is damaged or hostile (deep nesting makes recursive code
# raise RecursionError, a huge text costs memory before any check runs).
JSON_SIZE_LIMIT = 16 * 2**20
JSON_DEPTH_LIMIT = 100


def load_json(text: Any, where: str, path: Any, field: str) -> Any:
    """`text` (str or bytes) parsed as JSON, or the damaged-file ValueError:
    not JSON, larger than JSON_SIZE_LIMIT, or nested deeper than
    JSON_DEPTH_LIMIT. With `path` None (a string argument, not a file) the
    message names only `field`."""

    def damaged(where, path, field, problem):
        if path is None:
            return ValueError(f"{where}: {field} {problem}")
        return damaged_file(where, path, field, problem)

    if len(text) > JSON_SIZE_LIMIT:
        raise damaged(
            where,
            path,
            field,
            f"is {len(text)} bytes; expected at most {JSON_SIZE_LIMIT}",
        )
    try:
        value = json.loads(text)
    except RecursionError:
        value = None
        deep = True
    except (ValueError, TypeError) as exc:
        raise damaged(where, path, field, f"is not valid JSON ({exc})") from None
    else:
        deep = _depth_exceeds(value, JSON_DEPTH_LIMIT)
    if deep:
        raise damaged(
            where, path, field, f"nests deeper than {JSON_DEPTH_LIMIT} levels"
        )
    return value


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether lists/objects in `value` nest more than `limit` deep (an
    explicit stack, so the check itself cannot recurse too deeply)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def guard_loader(where: str, path: Any, load: Callable[[], Any]) -> Any:
    """`load()`, with any exception but ValueError and OSError (a KeyError,
    IndexError or RecursionError from a damaged file that a check missed)
    reported as the damaged-file ValueError naming `path`: loaders promise
    only those two."""
    try:
        return load()
    except (ValueError, OSError, ImportError):  # ImportError: h5py missing
        raise
    except RecursionError:
        raise damaged(where, path, "content", "nests too deeply") from None
    except Exception as exc:  # noqa: BLE001 (the promise above)
        raise damaged(
            where, path, "content", f"is malformed ({type(exc).__name__}: {exc})"
        ) from None


def parse_field(where: str, path: Path, field: str, parse: Callable[[], Any]) -> Any:
    """`parse()`, with any error from malformed content reported as damaged."""
    try:
        return parse()
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
        kind = "" if isinstance(exc, ValueError) else f"{type(exc).__name__}: "
        raise damaged(where, path, field, f"is malformed ({kind}{exc})") from None


def compile_is_saved(model) -> bool:
    """Whether `model`'s compile settings go into its file: a compiled model
    whose metrics all have a name a file can hold. One output or several
    alike: losses, loss weights, metrics and weighted metrics travel per
    output. A metric function of your own (``metrics=[my_fn]``, not one of
    tinynn.metrics's functions) has no such name: save then warns and leaves
    the compile settings out (compile again after loading)."""
    if not model._compiled:
        return False
    for spec in model._trainer._specs:
        for entry in spec.metrics + spec.weighted:
            if metric_entry(entry) is None:
                fn = getattr(entry, "_fn", entry)
                warnings.warn(
                    f"save: the compile settings of {model.name!r} are not saved: "
                    f"the metric function {getattr(fn, '__name__', fn)!r} is not "
                    "one of tinynn.metrics's, so a file cannot name it; the file "
                    "holds the architecture and weights: call compile() again "
                    "after loading",
                    stacklevel=4,
                )
                return False
    return True


def metric_entry(entry: Any) -> Any:
    """A compiled metric entry as a file holds it: a name stays a name, a
    metric object becomes {class_name, config}, a tinynn.metrics function
    wrapped by compile its name (Keras resolves the name to the same
    metric); None for a function of the user's own."""
    fn = getattr(entry, "_fn", None)
    if isinstance(entry, metrics_module.MeanMetricWrapper) and fn is not None:
        name = getattr(fn, "__name__", None)
        if getattr(metrics_module, str(name), None) is fn and not entry._fn_kwargs:
            return name if entry.name == name else None
        return None
    return metrics_module.serialize(entry)


def compile_settings(model, loss_entry: Callable[[Any], Any]) -> dict[str, Any]:
    """compile's loss, loss_weights, metrics and weighted_metrics of a
    compiled `model`, each entry made JSON-able (`loss_entry(loss)` for a
    loss object, metric_entry for a metric), in the structure compile was
    given, as Keras 3 writes them: one model output: one loss and flat
    metric lists; several: the loss once, as a list in output order or a
    dict by output name, the loss weights likewise, and the metrics as a
    dict by output name (outputs with metrics) when compile got a dict,
    else one list per output (a flat list, which tinynn and Keras 2 apply
    to every output, is written out per output: Keras 3 would read a flat
    list as one metric per output).
    """
    trainer = model._trainer
    specs = trainer._specs
    loss_arg, weights_arg, metrics_arg, weighted_arg = trainer._compile_arguments
    single = len(specs) == 1
    if single or not isinstance(loss_arg, (list, tuple, dict)):
        loss = loss_entry(specs[0].loss)
    elif isinstance(loss_arg, dict):
        loss = {s.name: loss_entry(s.loss) for s in specs if s.loss is not None}
    else:
        loss = [None if s.loss is None else loss_entry(s.loss) for s in specs]
    if weights_arg is None:
        loss_weights = None
    elif isinstance(weights_arg, dict):
        loss_weights = {str(k): float(v) for k, v in weights_arg.items()}
    else:
        loss_weights = [s.weight for s in specs]

    def lists(attr: str, given: Any) -> Any:
        per = [[metric_entry(e) for e in getattr(s, attr)] for s in specs]
        if single:
            return per[0] if per[0] or attr == "metrics" else None
        if not any(per):
            return None
        if isinstance(given, dict):
            return {s.name: entries for s, entries in zip(specs, per) if entries}
        return per

    return {
        "loss": loss,
        "loss_weights": loss_weights,
        "metrics": lists("metrics", metrics_arg),
        "weighted_metrics": lists("weighted", weighted_arg),
    }


def _training_config(model) -> dict[str, Any] | None:
    """tinynn's own format: compile_settings with tinynn's loss configs."""
    if not compile_is_saved(model):
        return None
    return {
        **compile_settings(model, losses.serialize),
        "optimizer_config": optimizers.serialize(model.optimizer),
    }


def model_from_config(
    config: dict[str, Any], where: str = "load_model", path: Any = None
):
    """Rebuild an (uncompiled, initialised) model from a model config: tinynn's
    ``get_config`` data or the config Keras 2.x or 3 writes (``to_json``,
    ``.h5`` ``model_config``, ``.keras`` ``config.json``). Model and layer
    classes come from the registry by name, each layer from its class's
    ``from_config``; Keras's wrappers (``module``, ``registered_name``,
    ``build_config``, DTypePolicy objects) are unwrapped here, for any layer.

    Raises ValueError naming the file (`path`) and the field for a model or
    layer class tinynn does not have or an argument it does not support.
    """
    where_file = f"{where}: {path}" if path is not None else where
    if not isinstance(config, dict):
        raise ValueError(
            f"{where_file}: field 'model_config' must be a JSON object; got "
            f"{type(config).__name__}"
        )
    class_name = config.get("class_name")
    model_class = registry.lookup("model", class_name)
    if model_class is None:
        raise ValueError(
            f"{where_file}: field 'model_config.class_name' is {class_name!r}; "
            f"tinynn loads only {', '.join(registry.names('model'))} models "
            "(subclassed Keras models are not supported)"
        )
    body = config.get("config", {})
    if not isinstance(body, dict):
        raise ValueError(f"{where_file}: field 'model_config.config' must be an object")

    def make_layer(entry: Any, field: str) -> Any:
        field = f"model_config.{field}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where_file}: field {field!r} must be a JSON object")
        name = entry.get("class_name")
        cls = registry.lookup("layer", name)
        if cls is None and registry.lookup("model", name) is not None:
            # A nested model: its entry is a model config (plus name and
            # inbound nodes in a functional model).
            return model_from_config(entry, where, path)
        if cls is None:
            raise ValueError(
                f"{where_file}: field '{field}.class_name': layer class {name!r} "
                f"is not supported by tinynn; it has {registry.names('layer')}"
            )
        try:
            arguments = _known_arguments(cls, entry.get("config", {}))
            return cls.from_config(arguments)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{where_file}: field '{field}.config' ({name}): {exc}"
            ) from None

    build_shape = body.get("build_input_shape")
    if build_shape is None:
        build_shape = (config.get("build_config") or {}).get("input_shape")
    try:
        return model_class.from_config(body, make_layer, build_shape)
    except ValueError as exc:
        if str(exc).startswith(where_file):
            raise
        raise ValueError(f"{where_file}: model_config: {exc}") from None


# What Keras writes for an option that is off; an argument tinynn does not
# have is dropped only when it holds one of these.
_OFF_VALUES = (None, False, "channels_last", [], {})


def _keras_object(value: Any) -> Any:
    """A nested Keras object config ({module, class_name, config,
    registered_name}) as tinynn's {class_name, config}; a DTypePolicy as its
    dtype name; anything else unchanged."""
    if not isinstance(value, dict) or "class_name" not in value:
        return value
    if value["class_name"] in ("DTypePolicy", "Policy"):
        return (value.get("config") or {}).get("name", "float32")
    return {"class_name": value["class_name"], "config": value.get("config") or {}}


def _accepted(cls: type) -> set[str]:
    """Named constructor parameters of `cls` and its bases."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            parameters = inspect.signature(klass.__init__).parameters.values()
            names |= {
                p.name
                for p in parameters
                if p.name != "self"
                and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            }
    return names


def _known_arguments(cls: type, config: dict[str, Any]) -> dict[str, Any]:
    """A layer config as `cls.from_config` takes it: Keras 3 wrappers
    unwrapped, and arguments tinynn does not have dropped when Keras wrote
    their "off" value (an argument set to anything else stays, and the layer
    rejects it)."""
    if not isinstance(config, dict):
        raise TypeError(f"must be a JSON object; got {type(config).__name__}")
    cleaned = {key: _keras_object(value) for key, value in config.items()}
    accepted = _accepted(cls)
    for key in list(cleaned):
        if key not in accepted and cleaned[key] in _OFF_VALUES:
            del cleaned[key]
    dtype = cleaned.get("dtype")
    text_input = dtype == "string" and cls.__name__ == "InputLayer"
    if dtype is not None and dtype not in ("float32", "float64") and not text_input:
        raise ValueError(f"dtype {dtype!r} is not supported (float32 or float64)")
    for key, value in list(cleaned.items()):
        if key.endswith("_initializer") and isinstance(value, dict):
            cleaned[key] = _initializer_config(value)
    return cleaned


def _initializer_config(value: dict[str, Any]) -> dict[str, Any]:
    """An initializer config without the arguments Keras 3 adds that tinynn's
    class lacks (``input_axes``/``output_axes`` when None, a None seed)."""
    from .. import initializers

    cls = getattr(initializers, str(value["class_name"]), None)
    config = dict(value.get("config") or {})
    if isinstance(cls, type):
        accepted = _accepted(cls)
        config = {
            k: v for k, v in config.items() if k in accepted or v not in _OFF_VALUES
        }
    return {"class_name": value["class_name"], "config": config}


def _is_object_config(value: Any) -> bool:
    """A {class_name, config} object, not a dict by output name."""
    return isinstance(value, dict) and isinstance(value.get("class_name"), str)


def per_output(value: Any, read: Callable[[Any], Any], single: Callable) -> Any:
    """`value` (one entry, a list in output order or a dict by output name)
    with `read` applied to each entry; `single(value)` says whether a dict or
    list is one entry itself; None entries stay None."""
    if value is None or single(value):
        return None if value is None else read(value)
    if isinstance(value, dict):
        return {k: per_output(v, read, single) for k, v in value.items()}
    if isinstance(value, list):
        return [per_output(v, read, single) for v in value]
    return read(value)


def _compile_from(model, training: dict[str, Any] | None, where: str) -> None:
    """compile `model` with a file's settings (tinynn's own format, or what
    keras_config.clean_training made of Keras's)."""
    if not training:
        return

    def metrics(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, dict) and not _is_object_config(value):
            return {k: metrics(v) for k, v in value.items()}
        if isinstance(value, list):
            return [metrics(v) for v in value if v is not None]
        return metrics_module.deserialize(value, where)

    model.compile(
        optimizer=optimizers.deserialize(training["optimizer_config"]),
        loss=per_output(training["loss"], losses.deserialize, _is_object_config),
        metrics=metrics(training.get("metrics")) or [],
        loss_weights=training.get("loss_weights"),
        weighted_metrics=metrics(training.get("weighted_metrics")),
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


# ---- optimizer moments set aside for frozen weights -------------------------------
#: The HDF5 group (.h5, and the weights file of .keras) holding them; Keras's
#: loaders ignore groups they do not know.
PARKED_GROUP = "tinynn_parked_moments"


def parked_moments(model) -> list[tuple[int, int, str, np.ndarray]]:
    """(layer position, weight index, state name, moments) of every weight
    frozen since it was trained: the parameter store sets their optimizer
    moments aside (parameters.ParameterStore.carry_optimizer_state), and a
    save keeps them so that unfreezing after a load continues them."""
    store = getattr(model, "_store", None)
    if store is None or not model._compiled:
        return []
    position = {id(layer): p for p, layer in enumerate(model.layers)}
    entries = []
    for (layer_id, index), state in store._parked.items():
        if layer_id in position:
            for name, array in state.items():
                entries.append((position[layer_id], index, name, array))
    return sorted(entries, key=lambda e: e[:3])


def parked_name(position: int, index: int, name: str) -> str:
    return f"{position}_{index}_{name}"


def parse_parked_name(text: str) -> tuple[int, int, str]:
    position, index, name = str(text).split("_", 2)
    return int(position), int(index), name


def restore_parked(
    model, entries: list[tuple[int, int, str, Any]], read, path: Path, where: str
) -> None:
    """Check and install `entries` (position, index, name, source), reading
    each array with ``read(source, shape)``, as the store's parked moments."""
    field = "optimizer state of frozen weights"
    store = model._parameters()
    names = set(model.optimizer._active_state_names())
    parked: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    layers = model.layers
    for position, index, name, source in entries:
        if not (0 <= position < len(layers)) or not (
            0 <= index < len(layers[position]._params)
        ):
            raise damaged(
                where, path, field, f"names weight {index} of layer {position}"
            )
        if name not in names:
            raise damaged(where, path, field, f"names state {name!r}")
        layer = layers[position]
        array = read(source, (layer._params[index].size,))
        if array.dtype.kind != "f" or not np.isfinite(array).all():
            raise damaged(where, path, field, "holds non-finite or non-float values")
        parked.setdefault((position, index), {})[name] = np.array(
            array, dtype=model.dtype
        )
    for (position, index), state in parked.items():
        layer = layers[position]
        if set(state) != names:
            raise damaged(
                where, path, field, f"has {sorted(state)}; expected {sorted(names)}"
            )
        if not store.is_trainable(layer, index):
            store._parked[id(layer), index] = state
