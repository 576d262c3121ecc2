"""What compiled metrics see, by hand-computed values: the model's output.

With ``loss=BinaryCrossentropy(from_logits=True)`` on a linear output the
output IS the logits, and Keras 2 and 3 compare it with BinaryAccuracy's
threshold as it is (the TensorFlow text-classification tutorial's
``BinaryAccuracy(threshold=0.0)``), 'accuracy' with 0.5, and compute 'mse' on
it. Where tinynn fused a sigmoid into the loss, the model's output is the
probability, and that is what metrics see. (Real Keras numbers:
tests/test_keras_oracle_multiout.py.)
"""

from __future__ import annotations

import numpy as np
import pytest

import tinynn as tf

X = np.array([[-2.0], [-0.3], [0.2], [0.7], [1.5], [-1.0]])
Y = np.array([[0.0], [1.0], [1.0], [0.0], [1.0], [0.0]])


@pytest.fixture(autouse=True)
def float64():
    tf.set_floatx("float64")
    yield
    tf.set_floatx("float32")


def identity_model(activation=None):
    """One Dense unit with kernel 1 and bias 0: the output is x (or its
    sigmoid)."""
    model = tf.keras.Sequential(
        [tf.keras.layers.Dense(1, activation=activation, input_shape=(1,))]
    )
    model.set_weights([np.ones((1, 1)), np.zeros(1)])
    return model


def test_metrics_compare_the_logits_of_a_linear_output_as_they_are():
    model = identity_model()
    model.compile(
        "sgd",
        loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[
            tf.keras.metrics.BinaryAccuracy(threshold=0.0, name="at_zero"),
            "accuracy",
            tf.keras.metrics.BinaryAccuracy(name="at_half"),
            "mse",
        ],
    )
    result = model.evaluate(X, Y, verbose=0, return_dict=True)
    # outputs -2, -0.3, 0.2, 0.7, 1.5, -1 against 0, 1, 1, 0, 1, 0:
    # above 0: right, wrong, right, wrong, right, right -> 4/6;
    # above 0.5 (only 0.7 and 1.5): right, wrong, wrong, wrong, right, right -> 3/6
    assert result["at_zero"] == pytest.approx(4 / 6, abs=1e-12)
    assert result["accuracy"] == pytest.approx(3 / 6, abs=1e-12)
    assert result["at_half"] == pytest.approx(3 / 6, abs=1e-12)
    # (4 + 1.69 + 0.64 + 0.49 + 0.25 + 1) / 6 on the raw outputs
    assert result["mse"] == pytest.approx(8.07 / 6, rel=1e-12)
    history = model.fit(X, Y, batch_size=6, epochs=1, shuffle=False, verbose=0)
    assert history.history["at_zero"] == [pytest.approx(4 / 6, abs=1e-12)]


def test_weighted_metrics_on_logits_count_each_sample_by_its_weight():
    model = identity_model()
    model.compile(
        "sgd",
        loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
        weighted_metrics=[tf.keras.metrics.BinaryAccuracy(threshold=0.0)],
    )
    w = np.array([1.0, 2.0, 1.0, 1.0, 1.0, 3.0])
    result = model.evaluate(X, Y, sample_weight=w, verbose=0, return_dict=True)
    # right: samples 0, 2, 4, 5 -> (1 + 1 + 1 + 3) / 9
    assert result["binary_accuracy"] == pytest.approx(6 / 9, abs=1e-12)


def test_metrics_see_the_probabilities_of_a_fused_sigmoid():
    model = identity_model("sigmoid")
    model.compile(
        "sgd",
        loss="binary_crossentropy",
        metrics=[
            tf.keras.metrics.BinaryAccuracy(threshold=0.0, name="at_zero"),
            "accuracy",
            "mse",
        ],
    )
    assert model._trainer.output_mode() == "fused"
    result = model.evaluate(X, Y, verbose=0, return_dict=True)
    p = 1 / (1 + np.exp(-X))
    # every probability is > 0: all six predicted 1, the three positives right
    assert result["at_zero"] == pytest.approx(3 / 6, abs=1e-12)
    assert result["accuracy"] == pytest.approx(4 / 6, abs=1e-12)  # p > 0.5: x > 0
    assert result["mse"] == pytest.approx(np.mean((p - Y) ** 2), rel=1e-12)


def test_confusion_metrics_on_logits_need_their_own_from_logits():
    model = identity_model()
    model.compile(
        "sgd",
        loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[tf.keras.metrics.AUC()],
    )
    with pytest.raises(ValueError, match="predictions must be >= 0"):
        model.evaluate(X, Y, verbose=0)
    model.compile(
        "sgd",
        loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[tf.keras.metrics.AUC(from_logits=True)],
    )
    # positives at 1.5, 0.2, -0.3; negatives at 0.7, -1, -2: of the 9 pairs,
    # only (0.2, 0.7) and (-0.3, 0.7) are ordered wrongly
    assert model.evaluate(X, Y, verbose=0)[1] == pytest.approx(7 / 9, abs=1e-3)
