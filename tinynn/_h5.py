"""Keras-layout HDF5 files (.h5/.hdf5) through h5py.

Layout (tf.keras 2 legacy format): root attributes ``keras_version``,
``backend``, ``model_config`` and ``training_config`` (JSON); group
``model_weights`` with attribute ``layer_names``, one group per layer whose
``weight_names`` attribute lists datasets such as ``dense/kernel:0``; group
``optimizer_weights`` with tinynn's flat optimizer state and step count.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .saving import (
    _compile_from,
    _restore_optimizer,
    _training_config,
    atomic_write,
    model_from_config,
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
                    layer_group.create_dataset(name.decode(), data=value)
            if include_optimizer and not weights_only and model._compiled:
                opt = root.create_group("optimizer_weights")
                opt.attrs["iterations"] = model.optimizer.iterations
                for name, value in model.optimizer.flat_state().items():
                    opt.create_dataset(name, data=value)

    atomic_write(path, write, overwrite, where)


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


def _layer_weights(group, where: str, path: Path) -> list[np.ndarray]:
    try:
        weights = []
        for layer_name in group.attrs["layer_names"]:
            layer_name = (
                layer_name.decode() if isinstance(layer_name, bytes) else layer_name
            )
            layer_group = group[layer_name]
            for weight_name in layer_group.attrs["weight_names"]:
                if isinstance(weight_name, bytes):
                    weight_name = weight_name.decode()
                weights.append(np.asarray(layer_group[weight_name]))
        return weights
    except KeyError as exc:
        raise ValueError(
            f"{where}: {path} lacks the Keras weight layout ({exc})"
        ) from None


def read_weights(path: Path, where: str) -> list[np.ndarray]:
    """All weights of a Keras-layout file, in layer order."""
    with _open(path, where) as root:
        group = root["model_weights"] if "model_weights" in root else root
        return _layer_weights(group, where, path)


def load_model(path: Path, compile: bool = True):
    """Rebuild a model saved as Keras-layout HDF5."""
    where = "load_model"
    with _open(path, where) as root:
        if "model_config" not in root.attrs:
            raise ValueError(
                f"{where}: {path} has no model_config (a weights-only file?); "
                "build the model and call load_weights"
            )
        config = root.attrs["model_config"]
        config = json.loads(config.decode() if isinstance(config, bytes) else config)
        model = model_from_config(config, where)
        model.set_weights(_layer_weights(root["model_weights"], where, path))
        training = root.attrs.get("training_config")
        if compile and training is not None:
            training = json.loads(
                training.decode() if isinstance(training, bytes) else training
            )
            if "optimizer_config" in training and training["optimizer_config"].get(
                "class_name"
            ) in ("Adam", "SGD", "RMSprop"):
                _compile_from(model, _clean_training(training), where)
                if (
                    "optimizer_weights" in root
                    and "iterations" in root["optimizer_weights"].attrs
                ):
                    opt = root["optimizer_weights"]
                    state = {name: np.asarray(opt[name]) for name in opt}
                    _restore_optimizer(
                        model, int(opt.attrs["iterations"]), state, path, where
                    )
    return model


def _clean_training(training: dict[str, Any]) -> dict[str, Any]:
    """Keep only the optimizer/loss arguments tinynn understands (Keras adds more)."""
    keep = {
        "name",
        "learning_rate",
        "beta_1",
        "beta_2",
        "epsilon",
        "amsgrad",
        "momentum",
        "nesterov",
        "rho",
    }
    optimizer = training["optimizer_config"]
    config = {k: v for k, v in optimizer.get("config", {}).items() if k in keep}
    loss = training["loss"]
    if isinstance(loss, str):
        from . import losses

        loss = losses.serialize(losses.get(loss))
    return {
        **training,
        "loss": loss,
        "optimizer_config": {"class_name": optimizer["class_name"], "config": config},
    }
