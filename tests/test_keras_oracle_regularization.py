"""sample_weight, class_weight, weighted_metrics, regularizers and
constraints against real tf.keras 2 (the ``tf_keras`` package TensorFlow
>= 2.16 pairs with), when it is installed: the same float64 model and data,
two training steps compared weight by weight, and evaluate's loss.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import tinynn

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
pytest.importorskip(
    "tensorflow", reason="TensorFlow is an optional oracle (pip install tensorflow-cpu)"
)
keras = pytest.importorskip(
    "tf_keras", reason="Keras 2 is an optional oracle (pip install tf-keras)"
)


@pytest.fixture(autouse=True)
def keras_in_float64():
    # NonNeg casts its mask to floatx: float64 weights need floatx float64.
    before = keras.backend.floatx()
    keras.backend.set_floatx("float64")
    yield
    keras.backend.set_floatx(before)


def build(lib, regularizers, constraints):
    layers = lib.layers
    return [
        layers.Dense(
            4,
            activation="relu",
            kernel_regularizer=regularizers.l1_l2(l1=0.01, l2=0.02),
            bias_regularizer="l2",
            kernel_constraint=constraints.max_norm(0.6),
            dtype="float64",
        ),
        layers.Dense(
            3,
            activation="softmax",
            activity_regularizer=regularizers.L2(0.05),
            bias_constraint=constraints.non_neg(),
            dtype="float64",
        ),
    ]


@pytest.fixture
def pair():
    r = np.random.default_rng(0)
    ours = tinynn.keras.Sequential(
        build(tinynn.keras, tinynn.regularizers, tinynn.constraints)
    )
    ours.build((None, 5))
    theirs = keras.Sequential(build(keras, keras.regularizers, keras.constraints))
    theirs.build((None, 5))
    weights = [r.normal(scale=0.5, size=w.shape) for w in ours.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    for model, lib in ((ours, tinynn.keras), (theirs, keras)):
        model.compile(
            lib.optimizers.SGD(0.25),
            "sparse_categorical_crossentropy",
            metrics=["accuracy"],
            weighted_metrics=["accuracy"],
        )
    return ours, theirs


def data():
    r = np.random.default_rng(1)
    x = r.normal(size=(9, 5))
    y = r.integers(0, 3, 9)
    return x, y, r.uniform(0.2, 2.0, 9), {0: 1.0, 1: 0.5, 2: 2.0}


def test_two_steps_and_evaluate_match_keras_2(pair):
    ours, theirs = pair
    x, y, sw, cw = data()
    for step in range(2):
        a = ours.train_on_batch(x, y, sample_weight=sw, class_weight=cw)
        b = theirs.train_on_batch(x, y, sample_weight=sw, class_weight=cw)
        np.testing.assert_allclose(a, b, rtol=1e-9, err_msg=f"step {step}")
        for got, want in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        ours.evaluate(x, y, sample_weight=sw, batch_size=4, verbose=0),
        theirs.evaluate(x, y, sample_weight=sw, batch_size=4, verbose=0),
        rtol=1e-9,
    )


def test_fit_history_matches_keras_2(pair):
    ours, theirs = pair
    x, y, sw, cw = data()
    a = ours.fit(
        x, y, sample_weight=sw, class_weight=cw, batch_size=9, epochs=2, verbose=0
    ).history
    b = theirs.fit(
        x, y, sample_weight=sw, class_weight=cw, batch_size=9, epochs=2, verbose=0
    ).history
    assert list(a) == list(b)
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-9, err_msg=key)


def test_weighted_metrics_on_a_sigmoid_output_match_keras_2():
    r = np.random.default_rng(2)
    x, y = r.normal(size=(23, 4)), r.integers(0, 2, (23, 1)).astype(np.float64)
    sw = r.uniform(0.0, 2.0, 23)
    kernel, bias = r.normal(size=(4, 1)), np.zeros(1)
    results = []
    for lib in (tinynn.keras, keras):
        model = lib.Sequential([lib.layers.Dense(1, "sigmoid", dtype="float64")])
        model.build((None, 4))
        model.set_weights([kernel, bias])
        model.compile(
            lib.optimizers.SGD(0.1),
            "binary_crossentropy",
            metrics=["mse"],
            weighted_metrics=[lib.metrics.Precision(), "mae", "accuracy"],
        )
        if lib is keras:
            # tf_keras 2.21 fails on class_weight with one output column and
            # sample weights ("partially known TensorShape"): hand it the
            # product its data adapter would form.
            weights = {"sample_weight": sw * np.where(y[:, 0] > 0, 1.5, 0.5)}
        else:
            weights = {"sample_weight": sw, "class_weight": {0: 0.5, 1: 1.5}}
        history = model.fit(
            x, y, batch_size=5, shuffle=False, verbose=0, **weights
        ).history
        evaluated = model.evaluate(
            x, y, sample_weight=sw, batch_size=7, verbose=0, return_dict=True
        )
        results.append((history, evaluated))
    (ours, ours_eval), (theirs, theirs_eval) = results
    assert list(ours) == list(theirs)
    for key in ours:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-6, err_msg=key)
    assert set(ours_eval) == set(theirs_eval)
    for key in ours_eval:
        np.testing.assert_allclose(
            ours_eval[key], theirs_eval[key], rtol=1e-6, err_msg=key
        )
