"""Real Keras against tinynn for two things of issue #17, in float32:

- compile settings of a model with two outputs in files, both ways: a
  tinynn-written ``.h5`` loads compiled in tf.keras 2.x (``tf_keras``) and a
  ``.keras`` in Keras 3, and files those write load compiled in tinynn; each
  side's ``evaluate`` gives the same named values (loss, per-output losses
  with their loss weights, per-output metrics and weighted metrics) to 1e-6;
- what metrics see on a linear output trained with ``from_logits=True``:
  the raw output (BinaryAccuracy's threshold, 'accuracy''s 0.5 and 'mse' on
  the logits), in Keras 2 and 3 alike.

Optional oracle: each half skips without its Keras; TINYNN_REQUIRE_KERAS
makes a missing one fail (CI's Keras step runs this file).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from keras_oracle import file_format_params, keras_2_and_3

import tinynn

keras2, keras3 = keras_2_and_3()
pytest.importorskip("h5py")
TOL = 1e-6
KERASES = file_format_params(keras2, keras3)


def real_keras(which):
    return keras2 if which == "keras2" else keras3


@pytest.fixture(autouse=True)
def float32_everywhere():
    tinynn.backend.clear_session()
    tinynn.set_floatx("float32")
    if keras3 is not None:
        before = keras3.config.floatx(), keras3.config.dtype_policy()
        keras3.config.set_floatx("float32")
        keras3.config.set_dtype_policy("float32")
    yield
    if keras3 is not None:
        keras3.config.set_floatx(before[0])
        keras3.config.set_dtype_policy(before[1])


# ---- a two-output model, written once for all three libraries --------------------
def two_output_model(k):
    a = k.Input(shape=(4,), name="a")
    b = k.Input(shape=(3,), name="b")
    h = k.layers.Dense(6, activation="relu", name="h")(
        k.layers.Concatenate(name="cat")([a, b])
    )
    p = k.layers.Dense(1, activation="sigmoid", name="p")(h)
    q = k.layers.Dense(3, activation="softmax", name="q")(h)
    return k.Model([a, b], [p, q], name="two")


SETTINGS = {
    "dicts": lambda k: dict(
        loss={
            "p": "binary_crossentropy",
            "q": k.losses.SparseCategoricalCrossentropy(),
        },
        loss_weights={"p": 0.5, "q": 2.0},
        metrics={"p": ["accuracy", k.metrics.AUC(name="auc")], "q": "accuracy"},
        weighted_metrics={"q": ["accuracy"]},
    ),
    "lists": lambda k: dict(
        loss=["binary_crossentropy", "sparse_categorical_crossentropy"],
        loss_weights=[0.25, 1.5],
        metrics=[["accuracy"], ["accuracy", "sparse_top_k_categorical_accuracy"]],
    ),
}


def data(n=48, seed=0):
    r = np.random.default_rng(seed)
    x = [
        r.normal(size=(n, 4)).astype(np.float32),
        r.normal(size=(n, 3)).astype(np.float32),
    ]
    y = [r.integers(0, 2, (n, 1)).astype(np.float32), r.integers(0, 3, n)]
    return x, y


def sample_weights(n=48):
    return np.linspace(0.5, 1.5, n).astype(np.float32)


def close_by_name(mine: dict, theirs: dict, what: str):
    assert sorted(mine) == sorted(theirs), what
    for name in mine:
        assert abs(mine[name] - theirs[name]) <= TOL * max(1.0, abs(theirs[name])), (
            f"{what}: {name}: tinynn {mine[name]!r}, Keras {theirs[name]!r}"
        )


def evaluate(model, x, y):
    """evaluate in one batch: Keras 3 averages an output's loss over the
    batches of an evaluate without weighting them by their sizes."""
    return {
        key: float(value)
        for key, value in model.evaluate(
            x,
            y,
            sample_weight=sample_weights(),
            batch_size=len(y[1]),
            verbose=0,
            return_dict=True,
        ).items()
    }


@pytest.mark.parametrize("settings", sorted(SETTINGS))
@pytest.mark.parametrize("which, suffix", KERASES)
def test_tinynn_file_loads_compiled_in_keras(tmp_path, which, suffix, settings):
    tinynn.set_seed(0)
    model = two_output_model(tinynn.keras)
    model.compile(
        tinynn.keras.optimizers.Adam(0.01), **SETTINGS[settings](tinynn.keras)
    )
    x, y = data()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    path = tmp_path / f"tinynn{suffix}"
    model.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = real_keras(which).models.load_model(path)
    close_by_name(evaluate(model, x, y), evaluate(theirs, x, y), which)
    if which == "keras2":  # Keras 3 starts a Keras 2.x-layout state afresh
        assert int(theirs.optimizer.iterations.numpy()) == 3


@pytest.mark.parametrize("settings", sorted(SETTINGS))
@pytest.mark.parametrize("which, suffix", KERASES)
def test_keras_file_loads_compiled_in_tinynn(tmp_path, which, suffix, settings):
    k = real_keras(which)
    k.utils.set_random_seed(0)
    theirs = two_output_model(k)
    theirs.compile(k.optimizers.Adam(0.01), **SETTINGS[settings](k))
    x, y = data()
    theirs.fit(x, y, batch_size=16, epochs=1, verbose=0)
    path = tmp_path / f"keras{suffix}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.save(path)
        mine = tinynn.keras.models.load_model(path)
    assert mine._compiled
    close_by_name(evaluate(mine, x, y), evaluate(theirs, x, y), which)
    if which == "keras2":  # Keras 3.15 writes no optimizer into .keras
        assert mine.optimizer.iterations == 3


def single_output_model(k):
    """One output, a weighted metric with the name of a plain one (Keras 2
    writes it as ``weighted_accuracy``)."""
    model = k.Sequential(
        [k.Input(shape=(4,)), k.layers.Dense(3, activation="softmax", name="d")]
    )
    model.compile(
        k.optimizers.Adam(0.01),
        "categorical_crossentropy",
        metrics=["accuracy"],
        weighted_metrics=["accuracy", k.metrics.MeanSquaredError(name="mse")],
    )
    return model


def single_data():
    r = np.random.default_rng(1)
    x = r.normal(size=(48, 4)).astype(np.float32)
    return [x], [np.eye(3, dtype=np.float32)[r.integers(0, 3, 48)], None]


def evaluate_single(model, x, y):
    return {
        key: float(value)
        for key, value in model.evaluate(
            x[0],
            y[0],
            sample_weight=sample_weights(),
            batch_size=48,
            verbose=0,
            return_dict=True,
        ).items()
    }


@pytest.mark.parametrize("which, suffix", KERASES)
def test_weighted_metrics_of_one_output_both_ways(tmp_path, which, suffix):
    k = real_keras(which)
    x, y = single_data()
    tinynn.set_seed(0)
    ours = single_output_model(tinynn.keras)
    ours.fit(x[0], y[0], sample_weight=sample_weights(), epochs=1, verbose=0)
    ours.save(tmp_path / f"tinynn{suffix}")
    k.utils.set_random_seed(0)
    theirs = single_output_model(k)
    theirs.fit(x[0], y[0], sample_weight=sample_weights(), epochs=1, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.save(tmp_path / f"keras{suffix}")
        loaded_by_keras = k.models.load_model(tmp_path / f"tinynn{suffix}")
        loaded_by_tinynn = tinynn.keras.models.load_model(tmp_path / f"keras{suffix}")
    assert "weighted_accuracy" in evaluate_single(ours, x, y)
    close_by_name(
        evaluate_single(ours, x, y), evaluate_single(loaded_by_keras, x, y), which
    )
    close_by_name(
        evaluate_single(loaded_by_tinynn, x, y), evaluate_single(theirs, x, y), which
    )


# ---- metrics on a linear output trained on logits ---------------------------------
def logits_model(k, weights):
    inputs = k.Input(shape=(4,))
    model = k.Model(inputs, k.layers.Dense(1, name="logit")(inputs))
    model.set_weights(weights)
    model.compile(
        "sgd",
        loss=k.losses.BinaryCrossentropy(from_logits=True),
        metrics=[
            k.metrics.BinaryAccuracy(threshold=0.0, name="at_zero"),
            "accuracy",
            k.metrics.BinaryAccuracy(name="at_half"),
            "mse",
            "binary_crossentropy",
        ],
    )
    return model


@pytest.mark.parametrize("which", ["keras2", "keras3"])
def test_metrics_see_the_logits_as_keras_does(which):
    k = real_keras(which)
    if k is None:
        pytest.skip(f"needs {which}")
    r = np.random.default_rng(0)
    x = r.normal(size=(200, 4)).astype(np.float32)
    y = (x[:, :1] + 0.3 * r.normal(size=(200, 1)) > 0).astype(np.float32)
    weights = [
        np.array([[2.0], [0.1], [0.0], [0.0]], np.float32),
        np.array([-0.2], np.float32),
    ]
    mine = logits_model(tinynn.keras, weights).evaluate(
        x, y, verbose=0, return_dict=True
    )
    theirs = {
        key: float(value)
        for key, value in logits_model(k, weights)
        .evaluate(x, y, verbose=0, return_dict=True)
        .items()
    }
    if which == "keras3":
        # Keras 3's binary cross-entropy on probabilities clips without
        # Keras 2's extra 1e-7 in the logs; on raw logits (values outside
        # [0, 1], clipped) that shows. tinynn follows Keras 2.
        del mine["binary_crossentropy"], theirs["binary_crossentropy"]
    close_by_name(mine, theirs, which)
    # the logits compared with 0: the real accuracy; with 0.5: a lower one
    z = x @ weights[0] + weights[1]
    assert mine["at_zero"] == pytest.approx(np.mean((z > 0) == (y > 0.5)))
    assert mine["accuracy"] == pytest.approx(np.mean((z > 0.5) == (y > 0.5)))
    assert mine["at_zero"] > mine["accuracy"]
