"""Compile settings of models with several outputs (issue #17) in files.

Per-output losses, loss weights, metrics and weighted metrics, in every
structure compile takes (dicts by output name, lists in output order, one
value for every output, Keras 2's flat metric list), saved in tinynn's
format, ``.h5`` (Keras 2's ``training_config``) and ``.keras`` (Keras 3's
``compile_config``) and loaded compiled: the loaded model evaluates to the
same named values, has the optimizer state, and continues ``fit``
bit-identically to the original. Real Keras reading and writing these
files: tests/test_keras_oracle_multiout.py.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import tinynn as tf
from tinynn.keras import layers

keras = tf.keras
SUFFIXES = [".tnn", ".h5", ".keras"]


def two_output_model():
    a = keras.Input(shape=(4,), name="a")
    b = keras.Input(shape=(3,), name="b")
    h = layers.Dense(6, activation="relu", name="h")(layers.concatenate([a, b]))
    p = layers.Dense(1, activation="sigmoid", name="p")(h)
    q = layers.Dense(3, activation="softmax", name="q")(h)
    return keras.Model([a, b], [p, q], name="two")


def data(n=40, seed=0):
    r = np.random.default_rng(seed)
    x = [r.normal(size=(n, 4)), r.normal(size=(n, 3))]
    y = [r.integers(0, 2, (n, 1)).astype(float), r.integers(0, 3, n)]
    return x, y


SETTINGS = {
    "dicts": lambda: dict(
        loss={
            "p": "binary_crossentropy",
            "q": keras.losses.SparseCategoricalCrossentropy(),
        },
        loss_weights={"p": 0.5, "q": 2.0},
        metrics={"p": ["accuracy", keras.metrics.AUC(name="auc")], "q": "accuracy"},
        weighted_metrics={"q": ["accuracy"]},
    ),
    "lists": lambda: dict(
        loss=["binary_crossentropy", "sparse_categorical_crossentropy"],
        loss_weights=[0.25, 1.5],
        metrics=[["accuracy"], ["accuracy", "sparse_top_k_categorical_accuracy"]],
    ),
    # Keras 2's flat list: every metric for every output
    "flat": lambda: dict(
        loss={"p": "mse", "q": "sparse_categorical_crossentropy"},
        metrics=["accuracy", keras.metrics.Precision(name="prec")],
    ),
    # an output without a loss is not trained (a loss dict leaves it out)
    "one_loss": lambda: dict(
        loss={"q": "sparse_categorical_crossentropy"},
        metrics={"q": ["accuracy"]},
        loss_weights={"q": 3.0},
    ),
}


def compiled(settings, optimizer="adam"):
    tf.set_seed(0)
    model = two_output_model()
    model.compile(optimizer=optimizer, **SETTINGS[settings]())
    return model


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("settings", sorted(SETTINGS))
def test_round_trip_keeps_every_output_setting_and_the_optimizer(
    tmp_path, suffix, settings
):
    model = compiled(settings)
    x, y = data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / f"m{suffix}")
    loaded = keras.models.load_model(tmp_path / f"m{suffix}")
    assert loaded._compiled
    assert loaded.metrics_names == model.metrics_names
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == model.evaluate(
        x, y, verbose=0, return_dict=True
    )
    assert loaded.optimizer.iterations == model.optimizer.iterations == 5
    mine, theirs = model.optimizer.flat_state(), loaded.optimizer.flat_state()
    assert sorted(mine) == sorted(theirs)
    for name in mine:
        np.testing.assert_array_equal(mine[name], theirs[name])
    # training continues the same way: same losses, weights, metrics
    more = [
        m.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        for m in (model, loaded)
    ]
    assert more[0].history == more[1].history
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_loss_weights_and_losses_reach_the_loaded_model(tmp_path):
    """The loaded model's loss is its saved loss weights times its losses."""
    model = compiled("lists")
    x, y = data()
    for suffix in SUFFIXES:
        model.save(tmp_path / f"m{suffix}")
        loaded = keras.models.load_model(tmp_path / f"m{suffix}")
        result = loaded.evaluate(x, y, verbose=0, return_dict=True)
        assert result["loss"] == pytest.approx(
            0.25 * result["p_loss"] + 1.5 * result["q_loss"], rel=1e-6
        )
        assert isinstance(loaded.loss["p"], tf.losses.BinaryCrossentropy)
        assert isinstance(loaded.loss["q"], tf.losses.SparseCategoricalCrossentropy)


def test_h5_training_config_is_keras2s_structure(tmp_path):
    h5py = pytest.importorskip("h5py")
    model = compiled("dicts")
    x, y = data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as root:
        training = json.loads(root.attrs["training_config"])
    assert training["loss"] == {
        "p": "binary_crossentropy",
        "q": "sparse_categorical_crossentropy",
    }
    assert training["loss_weights"] == {"p": 0.5, "q": 2.0}
    # one list per output, each metric the object tf.keras 2.x compiled,
    # named as Keras 2 reports it
    p_metrics, q_metrics = training["metrics"]
    assert p_metrics[0] == {
        "class_name": "MeanMetricWrapper",
        "config": {"name": "p_accuracy", "dtype": "float32", "fn": "binary_accuracy"},
    }
    assert p_metrics[1]["class_name"] == "AUC"
    assert p_metrics[1]["config"]["name"] == "p_auc"
    assert q_metrics[0]["config"]["fn"] == "sparse_categorical_accuracy"
    assert training["weighted_metrics"][0] == [None]
    assert training["weighted_metrics"][1][0]["config"]["name"] == (
        "q_weighted_accuracy"
    )


def test_keras_compile_config_is_compiles_arguments(tmp_path):
    model = compiled("dicts")
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        config = json.loads(archive.read("config.json"))["compile_config"]
    assert config["loss"]["p"] == "binary_crossentropy"
    assert config["loss_weights"] == {"p": 0.5, "q": 2.0}
    assert config["metrics"]["p"][0] == "accuracy"
    assert config["metrics"]["p"][1]["module"] == "keras.metrics"
    assert config["metrics"]["p"][1]["config"]["name"] == "auc"
    assert config["weighted_metrics"] == {"q": ["accuracy"]}
    # Keras 2's flat list is written per output (Keras 3 reads a flat list as
    # one metric per output)
    compiled("flat").save(tmp_path / "flat.keras")
    with zipfile.ZipFile(tmp_path / "flat.keras") as archive:
        config = json.loads(archive.read("config.json"))["compile_config"]
    assert [entry[0] for entry in config["metrics"]] == ["accuracy", "accuracy"]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_single_output_keeps_weighted_metrics_and_loss_weights(tmp_path, suffix):
    tf.set_seed(0)
    model = keras.Sequential([layers.Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(
        "sgd",
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
        weighted_metrics=["accuracy"],
    )
    r = np.random.default_rng(1)
    x, y, w = r.normal(size=(12, 4)), r.integers(0, 3, 12), r.random(12)
    model.save(tmp_path / f"m{suffix}")
    loaded = keras.models.load_model(tmp_path / f"m{suffix}")
    assert loaded.metrics_names == ["loss", "accuracy", "weighted_accuracy"]
    assert loaded.evaluate(x, y, sample_weight=w, verbose=0) == model.evaluate(
        x, y, sample_weight=w, verbose=0
    )


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_metric_function_of_ones_own_leaves_compile_out_with_a_warning(
    tmp_path, suffix
):
    def gap(y_true, y_pred):
        return np.abs(y_true - y_pred).mean(axis=-1)

    model = compiled("lists")
    model.compile("adam", loss="mse", metrics=[gap, tf.metrics.binary_accuracy])
    with pytest.warns(UserWarning, match="metric function 'gap'"):
        model.save(tmp_path / f"m{suffix}")
    loaded = keras.models.load_model(tmp_path / f"m{suffix}")
    assert not loaded._compiled
    # tinynn's own metric functions are saved by name
    model.compile("adam", loss="mse", metrics=[tf.metrics.binary_accuracy])
    model.save(tmp_path / f"n{suffix}")
    loaded = keras.models.load_model(tmp_path / f"n{suffix}")
    x, y = data()
    y = [y[0], np.eye(3)[y[1]]]
    mine = model.evaluate(x, y, verbose=0, return_dict=True)
    theirs = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert list(mine) == list(theirs)  # p_binary_accuracy, q_binary_accuracy
    # (the function averages each row in float32, the class in float64)
    assert list(theirs.values()) == pytest.approx(list(mine.values()), rel=1e-6)
