"""Small tf.keras surfaces beginner code reaches for: metric functions in
compile, layer/model variables, TensorFlow tensor helpers (dtype rules
checked against real TensorFlow when it is installed)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import tinynn
import tinynn as tf


@pytest.fixture(autouse=True)
def _fresh_session():
    tinynn.backend.clear_session()
    yield


def test_metric_functions_are_named_by_their_function_name():
    def my_mae(y_true, y_pred):
        return np.abs(y_true - y_pred).mean(axis=-1)

    tinynn.set_seed(0)
    x = np.random.default_rng(0).random((40, 3)).astype("float32")
    y = (x.sum(1) > 1.5).astype("float32")
    m = tf.keras.Sequential([tf.keras.layers.Dense(1, activation="sigmoid")])
    m.compile(
        "adam",
        "binary_crossentropy",
        metrics=[tf.keras.metrics.binary_accuracy, my_mae],
    )
    history = m.fit(x, y, verbose=0, validation_data=(x, y))
    assert list(history.history) == [
        "loss",
        "binary_accuracy",
        "my_mae",
        "val_loss",
        "val_binary_accuracy",
        "val_my_mae",
    ]
    result = m.evaluate(x, y, verbose=0, return_dict=True)
    p = m.predict(x, verbose=0)
    assert result["my_mae"] == pytest.approx(np.abs(y[:, None] - p).mean(), rel=1e-5)
    expected = ((p[:, 0] > 0.5) == y).mean()
    assert result["binary_accuracy"] == pytest.approx(expected)


def test_metric_function_sees_probabilities_when_the_softmax_is_fused():
    seen = []

    def spy(y_true, y_pred):
        seen.append(np.asarray(y_pred).sum(axis=-1))
        return np.zeros(len(y_pred))

    m = tf.keras.Sequential([tf.keras.layers.Dense(3, activation="softmax")])
    m.compile("sgd", "sparse_categorical_crossentropy", metrics=[spy])
    m.fit(np.ones((4, 2)), np.array([0, 1, 2, 0]), verbose=0)
    np.testing.assert_allclose(seen[0], 1.0, rtol=1e-5)


def test_variables_of_layers_and_models():
    m = tf.keras.Sequential(
        [
            tf.keras.layers.Dense(2, input_shape=(3,)),
            tf.keras.layers.BatchNormalization(),
        ]
    )
    names = [v.name for v in m.variables]
    assert names == [
        "dense/kernel:0",
        "dense/bias:0",
        "batch_normalization/gamma:0",
        "batch_normalization/beta:0",
        "batch_normalization/moving_mean:0",
        "batch_normalization/moving_variance:0",
    ]
    assert [v.name for v in m.non_trainable_variables] == names[4:]
    kernel = m.layers[0].variables[0]
    assert kernel.shape == (3, 2) and kernel.dtype == np.float32 and kernel.trainable
    kernel.assign(np.ones((3, 2)))
    np.testing.assert_array_equal(m.get_weights()[0], np.ones((3, 2)))
    copy = kernel.numpy()
    copy[0, 0] = 5
    assert m.get_weights()[0][0, 0] == 1  # numpy() is a copy
    m.layers[0].trainable = False
    assert not kernel.trainable and len(m.trainable_variables) == 2
    with pytest.raises(ValueError, match="expected the shape"):
        kernel.assign(np.ones(3))


# ---- tensor helpers: TensorFlow's dtype rules ----------------------------------
CASES = {
    "linspace_f": lambda t: t.linspace(0.0, 1.0, 5),
    "linspace_i": lambda t: t.linspace(0, 1, 5),
    "range_i": lambda t: t.range(5),
    "range_f": lambda t: t.range(0.0, 1.0, 0.25),
    "range_mix": lambda t: t.range(0, 2.5),
    "stack": lambda t: t.stack([1.0, 2.0]),
    "concat": lambda t: t.concat([[1, 2], [3]], 0),
    "expand": lambda t: t.expand_dims([1.0, 2.0], 0),
    "squeeze": lambda t: t.squeeze(np.zeros((1, 3, 1))),
    "reshape": lambda t: t.reshape([1, 2, 3, 4], (2, 2)),
    "transpose": lambda t: t.transpose([[1.0, 2.0]]),
    "one_hot": lambda t: t.one_hot([0, 2, 5], 3),
    "matmul": lambda t: t.matmul([[1.0, 2.0]], [[3.0], [4.0]]),
    "square_i": lambda t: t.square(3),
    "sqrt": lambda t: t.sqrt(4.0),
    "exp": lambda t: t.exp(1.0),
    "log": lambda t: t.math.log(np.array([1.0, 2.0])),
    "abs": lambda t: t.abs(-2),
    "maximum": lambda t: t.maximum(np.ones(2, np.float32), 1.5),
    "minimum": lambda t: t.minimum(3, 4),
    "reduce_max": lambda t: t.reduce_max([1, 5, 3]),
    "reduce_min": lambda t: t.reduce_min([[1.0, 5.0]], axis=1),
    "reduce_prod": lambda t: t.reduce_prod([1.0, 5.0]),
    "reduce_std": lambda t: t.math.reduce_std([1.0, 3.0]),
    "clip": lambda t: t.clip_by_value([1.0, 5.0], 2, 3),
    "where": lambda t: t.where([True, False], 1.0, 2.0),
    "where1": lambda t: t.where([True, False, True]),
    "equal": lambda t: t.equal([1, 2], 1),
    "shape": lambda t: t.shape(np.zeros((2, 3))),
    "add_mixed": lambda t: t.add(np.ones(2, np.float32), 1),
    "uniform_i": lambda t: t.random.uniform((2,), maxval=10, dtype=t.int32),
}

EXPECTED_DTYPES = {
    "linspace_i": "float64",
    "range_i": "int32",
    "range_mix": "float32",
    "concat": "int32",
    "squeeze": "float64",
    "one_hot": "float32",
    "square_i": "int32",
    "log": "float64",
    "where1": "int64",
    "equal": "bool",
    "shape": "int32",
    "uniform_i": "int32",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tensor_helpers_follow_tensorflow_dtypes(case):
    result = CASES[case](tf)
    assert isinstance(result, tf.Tensor)
    expected = EXPECTED_DTYPES.get(case, "float32" if case != "reduce_max" else "int32")
    if case in ("abs", "minimum", "reshape"):
        expected = "int32"
    assert result.dtype.name == expected


@pytest.mark.parametrize("case", sorted(CASES))
def test_tensor_helpers_match_tensorflow(case):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    real = pytest.importorskip("tensorflow")
    ours, theirs = CASES[case](tf), CASES[case](real)
    assert ours.dtype == theirs.dtype.as_numpy_dtype
    assert ours.shape == tuple(theirs.shape)
    if case != "uniform_i":
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-6)


def test_random_draws_follow_the_seed():
    a = tf.random.normal((3,), seed=1)
    np.testing.assert_array_equal(a, tf.random.normal((3,), seed=1))
    tf.random.set_seed(5)
    b = tf.random.uniform((4,))
    tf.random.set_seed(5)
    np.testing.assert_array_equal(b, tf.random.uniform((4,)))
    assert b.dtype == np.float32 and (b >= 0).all() and (b < 1).all()


def test_helpers_refuse_what_tensorflow_refuses():
    with pytest.raises(TypeError, match="same dtype"):
        tf.add(np.ones(2, np.float32), np.ones(2, np.int32))
    with pytest.raises(TypeError, match="floating point"):
        tf.sqrt(4)
    with pytest.raises(ValueError, match="cannot be reshaped"):
        tf.reshape([1, 2, 3], (2, 2))
    with pytest.raises(ValueError, match="columns but b has"):
        tf.matmul(np.ones((2, 3)), np.ones((2, 3)))
