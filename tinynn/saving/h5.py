"""Keras-layout HDF5 files (.h5/.hdf5) through h5py.

Layout (tf.keras 2 legacy format): root attributes ``keras_version``,
``backend``, ``model_config`` and ``training_config`` (JSON); group
``model_weights`` with attribute ``layer_names``, one group per layer whose
``weight_names`` attribute lists datasets such as ``dense/kernel:0``; group
``optimizer_weights`` with tinynn's flat optimizer state and step count.

Every dataset tinynn writes carries HDF5's fletcher32 checksum (Keras and
h5py read such files as usual); HDF5 verifies it on every read, so a flipped
byte is a ValueError at load, not a silently wrong weight. Declared shapes
are compared with the model before any dataset is read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .. import losses, registry
from .._version import __version__
from .common import (
    _check_optimizer_fields,
    _compile_from,
    _restore_optimizer,
    _training_config,
    atomic_write,
    damaged,
    model_from_config,
    parse_field,
)


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
            root.attrs["keras_version"] = "2.15.0"
            root.attrs["backend"] = "tinynn " + __version__
            if not weights_only:
                root.attrs["model_config"] = json.dumps(
                    {"class_name": "Sequential", "config": model.get_config()}
                )
                training = _training_config(model)
                if training is not None:
                    root.attrs["training_config"] = json.dumps(training)
            group = root if weights_only else root.create_group("model_weights")
            group.attrs["layer_names"] = [layer.name.encode() for layer in model.layers]
            for layer in model.layers:
                layer_group = group.create_group(layer.name)
                names = [f"{layer.name}/{n}:0".encode() for n in layer._param_names]
                layer_group.attrs["weight_names"] = names
                for name, value in zip(names, layer.get_weights()):
                    _dataset(layer_group, name.decode(), value)
            if include_optimizer and not weights_only and model._compiled:
                opt = root.create_group("optimizer_weights")
                opt.attrs["iterations"] = model.optimizer.iterations
                for name, value in model.optimizer.flat_state().items():
                    _dataset(opt, name, value)

    atomic_write(path, write, overwrite, where)


def _dataset(group, name: str, value: np.ndarray) -> None:
    """A dataset with a fletcher32 checksum (HDF5 needs chunks for filters,
    and an empty array has no chunk to checksum)."""
    group.create_dataset(name, data=value, fletcher32=value.size > 0)


def _read(dataset, where: str, path: Path, shape: tuple | None = None) -> np.ndarray:
    """A float dataset, its shape checked before its data is read; a failed
    checksum or a damaged chunk becomes the one ValueError."""
    field = f"dataset {getattr(dataset, 'name', dataset)!r}"
    if not isinstance(dataset, _h5py(where).Dataset):
        raise damaged(where, path, field, "is not a dataset")
    if dataset.dtype.kind != "f":
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
                json.loads(_text(root.attrs["model_config"])), where
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
                lambda: _keras_training(json.loads(_text(training))),
            )
            if training is not None:
                parse_field(
                    where,
                    path,
                    "attribute 'training_config'",
                    lambda: _compile_from(model, training, where),
                )
                if (
                    "optimizer_weights" in root
                    and "iterations" in root["optimizer_weights"].attrs
                ):
                    opt = root["optimizer_weights"]
                    iterations = opt.attrs["iterations"]
                    names = list(opt)
                    _check_optimizer_fields(model, iterations, names, path, where)
                    size = (model._trainable_size,)
                    state = {
                        name: _read(opt[name], where, path, size) for name in names
                    }
                    _restore_optimizer(model, iterations, state, path, where)
    return model


def _keras_training(training: dict[str, Any]) -> dict[str, Any] | None:
    """The training config tinynn can compile from, or None (an optimizer
    Keras has and tinynn has not: the model loads uncompiled)."""
    optimizer = training.get("optimizer_config")
    if (
        optimizer is None
        or registry.lookup("optimizer", optimizer.get("class_name")) is None
    ):
        return None
    return _clean_training(training)


def _clean_training(training: dict[str, Any]) -> dict[str, Any]:
    """Keep only the optimizer arguments tinynn's class takes (Keras writes
    more), and a loss given by name as tinynn's config."""
    optimizer = training["optimizer_config"]
    cls = registry.lookup("optimizer", optimizer["class_name"])
    config = registry.constructor_arguments(cls, optimizer.get("config", {}))
    loss = training["loss"]
    if isinstance(loss, str):
        loss = losses.serialize(losses.get(loss))
    return {
        **training,
        "loss": loss,
        "optimizer_config": {"class_name": optimizer["class_name"], "config": config},
    }
