"""The tf.keras surface against real Keras 3 when TensorFlow is installed:
activations (functions and layers), metrics and the Huber loss on the same
float64 inputs. Optional oracle, skipped without TensorFlow (CI runs it in its
Keras venv); the required tests compare with NumPy references
(tests/test_keras_surface.py).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import tinynn

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip(
    "tensorflow", reason="TensorFlow is an optional oracle (pip install tensorflow-cpu)"
)
keras = tf.keras

RNG = np.random.default_rng(11)
X = RNG.normal(scale=3.0, size=(37, 13))  # odd sizes, both signs, tails


def keras_value(tensor):
    return np.asarray(tensor.numpy() if hasattr(tensor, "numpy") else tensor)


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("elu", {}),
        ("elu", {"alpha": 0.5}),
        ("selu", {}),
        ("softplus", {}),
        ("swish", {}),
        ("silu", {}),
        ("gelu", {}),
        ("gelu", {"approximate": True}),
        ("leaky_relu", {}),
        ("leaky_relu", {"negative_slope": 0.1}),
        ("relu", {}),
        ("sigmoid", {}),
        ("tanh", {}),
    ],
)
def test_activation_functions_match_keras(name, kwargs):
    mine = np.asarray(getattr(tinynn.activations, name)(X, **kwargs))
    theirs = keras_value(getattr(keras.activations, name)(X, **kwargs))
    np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.layers.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5),
        lambda m: m.layers.LeakyReLU(negative_slope=0.3),
        lambda m: m.layers.ELU(alpha=0.7),
        lambda m: m.layers.Rescaling(1 / 255.0, offset=-1.0),
        lambda m: m.layers.Softmax(),
    ],
)
def test_weightless_layers_match_keras(make):
    x = X.astype(np.float32)
    mine = np.asarray(make(tinynn.keras)(x))
    theirs = keras_value(make(keras)(x))
    np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


Y_BINARY = (RNG.random(200) < 0.4).astype(np.float64)
P_BINARY = np.clip(Y_BINARY * 0.3 + RNG.random(200) * 0.7, 0, 1)


@pytest.mark.parametrize("column", [False, True], ids=["1-d", "column"])
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("Precision", {}),
        ("Recall", {}),
        ("Precision", {"thresholds": 0.7}),
        ("AUC", {}),
        ("AUC", {"curve": "PR"}),
        ("AUC", {"summation_method": "minoring"}),
        ("TruePositives", {}),
        ("FalsePositives", {"thresholds": 0.3}),
        ("TrueNegatives", {}),
        ("FalseNegatives", {}),
        ("BinaryCrossentropy", {}),
        ("BinaryAccuracy", {}),
        ("BinaryAccuracy", {"threshold": 0.6}),
        ("MeanSquaredError", {}),
        ("MeanAbsoluteError", {}),
    ],
)
def test_binary_metrics_match_keras(name, kwargs, column):
    mine = getattr(tinynn.metrics, name)(**kwargs)
    theirs = getattr(keras.metrics, name)(**kwargs)
    y, p = (Y_BINARY[:, None], P_BINARY[:, None]) if column else (Y_BINARY, P_BINARY)
    for lo in range(0, 200, 64):  # several update_state calls, as in an epoch
        mine.update_state(y[lo : lo + 64], p[lo : lo + 64])
        theirs.update_state(y[lo : lo + 64], p[lo : lo + 64])
    np.testing.assert_allclose(
        float(mine.result()), float(keras_value(theirs.result())), rtol=1e-5
    )


def test_top_k_metrics_match_keras():
    probs = RNG.random((50, 7)).astype(np.float32)  # TensorFlow's in_top_k
    labels = RNG.integers(0, 7, 50)
    for k in (1, 3):
        mine = tinynn.metrics.SparseTopKCategoricalAccuracy(k=k)
        theirs = keras.metrics.SparseTopKCategoricalAccuracy(k=k)
        mine.update_state(labels, probs)
        theirs.update_state(labels, probs)
        assert float(mine.result()) == pytest.approx(float(theirs.result()))
        onehot = np.eye(7)[labels]
        mine = tinynn.metrics.TopKCategoricalAccuracy(k=k)
        theirs = keras.metrics.TopKCategoricalAccuracy(k=k)
        mine.update_state(onehot, probs)
        theirs.update_state(onehot, probs)
        assert float(mine.result()) == pytest.approx(float(theirs.result()))


@pytest.mark.parametrize("delta", [1.0, 0.3, 2.5])
def test_huber_loss_matches_keras(delta):
    y = RNG.normal(size=(40, 3))
    p = y + RNG.normal(scale=2.0, size=(40, 3))
    mine = float(tinynn.losses.Huber(delta=delta)(y, p))
    theirs = float(keras_value(keras.losses.Huber(delta=delta)(y, p)))
    assert mine == pytest.approx(theirs, rel=1e-6)
