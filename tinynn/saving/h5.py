"""Keras-layout HDF5 files (.h5/.hdf5) through h5py.

Layout (tf.keras 2 legacy format): root attributes ``keras_version``,
``backend``, ``model_config`` and ``training_config`` (JSON); group
``model_weights`` with attribute ``layer_names``, one group per layer whose
``weight_names`` attribute lists datasets such as ``dense/kernel:0``; group
``optimizer_weights`` whose ``weight_names`` list the step count
(``iteration:0``) and then each per-weight state array in Keras's order
(``Adam/m/dense/kernel:0``...), as tf.keras 2.11+ writes it. Files of Keras
2.x and 3 are read (Keras 3 also lists its learning rate), as is the flat
state layout of older tinynn files.

Every dataset tinynn writes carries HDF5's fletcher32 checksum (Keras and
h5py read such files as usual); HDF5 verifies it on every read, so a flipped
byte is a ValueError at load, not a silently wrong weight. Declared shapes
are compared with the model before any dataset is read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from . import keras_config
from .._version import __version__
from .common import (
    _check_optimizer_fields,
    _compile_from,
    _restore_optimizer,
    atomic_write,
    damaged,
    load_json,
    model_from_config,
    PARKED_GROUP,
    parked_moments,
    parked_name,
    parse_field,
    parse_parked_name,
    restore_parked,
)


def _fixed(text: str) -> np.bytes_:
    """`text` as a fixed-length byte string attribute, as Keras 2 writes
    them: stored in the attribute itself, not in HDF5's global heap, whose
    damaged pointers can make HDF5 loop forever while reading a
    variable-length string (seen in the loader fuzz test)."""
    return np.bytes_(text.encode("utf-8"))


def _h5py(where: str):
    try:
        import h5py
    except ImportError:
        raise ImportError(
            f"{where}: .h5 files need h5py, which tinynn depends on but which is "
            "not importable here; install it with `pip install h5py`, or save to a "
            "path without .h5 to use tinynn's own format"
        ) from None
    return h5py


def save_model(
    model,
    path: Path,
    overwrite: bool,
    include_optimizer: bool,
    weights_only: bool = False,
) -> None:
    """Write `model` as Keras-layout HDF5, atomically."""
    where = "save_weights" if weights_only else "save"
    h5py = _h5py(where)

    def write(file):
        with h5py.File(file, "w") as root:
            root.attrs["keras_version"] = _fixed(keras_config.KERAS2_VERSION)
            root.attrs["backend"] = _fixed("tinynn " + __version__)
            if not weights_only:
                root.attrs["model_config"] = _fixed(
                    json.dumps(keras_config.model_config(model))
                )
                training = keras_config.training_config(model)
                if training is not None:
                    root.attrs["training_config"] = _fixed(json.dumps(training))
            group = root if weights_only else root.create_group("model_weights")
            group.attrs["keras_version"] = _fixed(keras_config.KERAS2_VERSION)
            group.attrs["backend"] = _fixed("tinynn " + __version__)
            group.attrs["layer_names"] = [layer.name.encode() for layer in model.layers]
            for layer in model.layers:
                layer_group = group.create_group(layer.name)
                names = [n.encode() for n in keras_config.h5_weight_names(layer)]
                layer_group.attrs["weight_names"] = names
                for name, value in zip(names, layer.get_weights()):
                    _dataset(layer_group, name.decode(), value)
            if not weights_only:
                group.create_group("top_level_model_weights").attrs["weight_names"] = []
            if include_optimizer and not weights_only and model._compiled:
                # Keras 2.x's layout: weight_names lists the step count, then
                # each per-weight state array in Keras's order.
                opt = root.create_group("optimizer_weights")
                arrays = [
                    ("iteration:0", np.array(model.optimizer.iterations, np.int64)),
                    *keras_config.optimizer_arrays(model),
                ]
                opt.attrs["weight_names"] = [name.encode() for name, _ in arrays]
                for name, value in arrays:
                    _dataset(opt, name, value)
                write_parked(root, model)

    atomic_write(path, write, overwrite, where)


def write_parked(root, model) -> None:
    """The moments of frozen weights (common.parked_moments), in a group of
    their own that Keras ignores."""
    parked = parked_moments(model)
    if parked:
        group = root.create_group(PARKED_GROUP)
        for position, index, name, array in parked:
            _dataset(group, parked_name(position, index, name), array)


def read_parked(root, model, path: Path, where: str) -> None:
    """Install what write_parked wrote, checked (common.restore_parked)."""
    if PARKED_GROUP not in root:
        return
    group = root[PARKED_GROUP]
    field = f"group {PARKED_GROUP!r}"
    entries = parse_field(
        where,
        path,
        field,
        lambda: [(*parse_parked_name(key), group[key]) for key in group],
    )
    restore_parked(
        model,
        entries,
        lambda dataset, shape: _read(dataset, where, path, shape),
        path,
        where,
    )


def _dataset(group, name: str, value: np.ndarray) -> None:
    """A dataset with a fletcher32 checksum (HDF5 needs chunks for filters,
    and an empty array has no chunk to checksum)."""
    group.create_dataset(name, data=value, fletcher32=value.ndim > 0 and value.size > 0)


def _read(dataset, where: str, path: Path, shape: tuple | None = None) -> np.ndarray:
    """A float dataset, its shape checked before its data is read; a failed
    checksum or a damaged chunk becomes the one ValueError."""
    field = f"dataset {getattr(dataset, 'name', dataset)!r}"
    if not isinstance(dataset, _h5py(where).Dataset):
        raise damaged(where, path, field, "is not a dataset")
    # A scalar integer weight is a counter Keras keeps as int64
    # (Normalization's count); tinynn holds it in the model's float dtype.
    counter = dataset.shape == () and dataset.dtype.kind in "iu"
    if dataset.dtype.kind != "f" and not counter:
        raise damaged(
            where,
            path,
            field,
            f"has dtype {dataset.dtype}; expected float32 or float64",
        )
    if shape is not None and tuple(dataset.shape) != tuple(shape):
        raise damaged(
            where,
            path,
            field,
            f"has shape {tuple(dataset.shape)}; the model expects {tuple(shape)}",
        )
    try:
        return dataset[()]
    except (OSError, ValueError, TypeError) as exc:
        raise damaged(
            where, path, field, f"cannot be read ({exc}; checksum or data damaged)"
        ) from None


def _open(path: Path, where: str):
    h5py = _h5py(where)
    if not path.exists():
        raise FileNotFoundError(f"{where}: no file at {path}")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(
            f"{where}: {path} is not a readable HDF5 file ({exc})"
        ) from None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _layer_weights(
    group, where: str, path: Path, shapes: list[tuple] | None = None
) -> list[np.ndarray]:
    """Weights in layer order; with `shapes`, count and shapes are compared
    before anything is read."""
    datasets = parse_field(
        where,
        path,
        "the Keras weight layout (layer_names, weight_names)",
        lambda: [
            group[_text(layer_name)][_text(weight_name)]
            for layer_name in group.attrs["layer_names"]
            for weight_name in group[_text(layer_name)].attrs["weight_names"]
        ],
    )
    if shapes is not None and len(datasets) != len(shapes):
        raise damaged(
            where,
            path,
            "the weight list",
            f"holds {len(datasets)} weights; the model expects {len(shapes)}",
        )
    return [
        _read(d, where, path, None if shapes is None else shapes[i])
        for i, d in enumerate(datasets)
    ]


def is_keras3_weights(path: Path, where: str) -> bool:
    """True for Keras 3's weights layout (``layers/<path>/vars``; Keras
    2.x's ``.weights.h5`` too), False for the layer_names layout."""
    with _open(path, where) as root:
        return "layers" in root and "layer_names" not in root.attrs


def read_weights(
    path: Path, where: str, shapes: list[tuple] | None = None
) -> list[np.ndarray]:
    """All weights of a Keras-layout file, in layer order."""
    with _open(path, where) as root:
        group = root["model_weights"] if "model_weights" in root else root
        return _layer_weights(group, where, path, shapes)


def load_model(path: Path, compile: bool = True):
    """Rebuild a model saved as Keras-layout HDF5."""
    where = "load_model"
    with _open(path, where) as root:
        if "model_config" not in root.attrs:
            raise ValueError(
                f"{where}: {path} has no model_config (a weights-only file?); "
                "build the model and call load_weights"
            )
        model = parse_field(
            where,
            path,
            "attribute 'model_config'",
            lambda: model_from_config(
                load_json(
                    _text(root.attrs["model_config"]),
                    where,
                    path,
                    "attribute 'model_config'",
                ),
                where,
                path,
            ),
        )
        if "model_weights" not in root:
            raise damaged(where, path, "group 'model_weights'", "is missing")
        shapes = [w.shape for w in model.weights]
        model.set_weights(_layer_weights(root["model_weights"], where, path, shapes))
        training = root.attrs.get("training_config")
        if compile and training is not None:
            training = parse_field(
                where,
                path,
                "attribute 'training_config'",
                lambda: keras_config.clean_training(
                    load_json(
                        _text(training), where, path, "attribute 'training_config'"
                    ),
                    model.output_names,
                    # tf.keras 2.x (and tinynn) names metric objects by output
                    not _text(root.attrs.get("keras_version", "")).startswith("3."),
                ),
            )
            if training is not None:
                parse_field(
                    where,
                    path,
                    "attribute 'training_config'",
                    lambda: _compile_from(model, training, where),
                )
                if "optimizer_weights" in root:
                    _load_optimizer(model, root["optimizer_weights"], path, where)
                    read_parked(root, model, path, where)
    return model


def _load_optimizer(model, opt, path: Path, where: str) -> None:
    """Optimizer state in Keras 2.x's or 3's layout (weight_names: the step
    count, Keras 3's learning rate, then the per-weight arrays), or in the
    flat layout of older tinynn files (attribute iterations)."""
    if "iterations" in opt.attrs:
        iterations = opt.attrs["iterations"]
        names = list(opt)
        _check_optimizer_fields(model, iterations, names, path, where)
        size = (model._trainable_size,)
        state = {name: _read(opt[name], where, path, size) for name in names}
        _restore_optimizer(model, iterations, state, path, where)
        return
    field = "group 'optimizer_weights'"
    datasets = parse_field(
        where,
        path,
        f"{field} attribute 'weight_names'",
        lambda: [opt[_text(name)] for name in opt.attrs["weight_names"]],
    )
    first = re.sub(r":\d+$", "", _text(datasets[0].name)) if datasets else ""
    if not first.endswith("iteration"):
        raise damaged(
            where,
            path,
            field,
            "does not start with the step count 'iteration' (the layouts of "
            "Keras 2.x and 3 are read; not that of TF <= 2.10's legacy optimizers)",
        )
    iterations = _scalar(datasets[0], where, path)
    rest = datasets[1:]
    if rest and _text(rest[0].name).endswith("learning_rate"):
        rest = rest[1:]  # Keras 3 keeps the learning rate as a variable
    keras_config.restore_optimizer(
        model,
        iterations,
        rest,
        lambda dataset, shape: _read(dataset, where, path, shape),
        path,
        where,
        field,
    )


def _scalar(dataset, where: str, path: Path) -> Any:
    """The step count: a scalar integer dataset."""
    field = f"dataset {dataset.name!r}"
    if not isinstance(dataset, _h5py(where).Dataset) or dataset.shape != ():
        raise damaged(where, path, field, "must be a scalar (the step count)")
    if dataset.dtype.kind not in "iu":
        raise damaged(
            where, path, field, f"has dtype {dataset.dtype}; expected an integer"
        )
    try:
        return dataset[()].item()
    except (OSError, ValueError, TypeError) as exc:
        raise damaged(where, path, field, f"cannot be read ({exc})") from None
