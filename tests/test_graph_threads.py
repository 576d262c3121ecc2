"""Whole fits of graph models are bit-identical for 1, 2, 3 and 4 threads.

The kernels split their work by fixed blocks chosen from the shapes and
never split a sum over threads (tests/test_threads.py checks each kernel);
this checks that the graph executor keeps it so end to end: fan-out whose
gradients are summed, a layer called at two depths, several inputs and
outputs with loss weights, a nested model, and a small convnet. The sizes
are above the C core's threshold for using threads (tnn_threads_for in
csrc/threads_posix.c: 262144 operations per call), for the GEMMs and also
for the kernels that work per element or per column: a batch of 256 rows
of 1024 units is 262144 values, so bias sums, ReLU and the merges split
too (with a batch of 64 and 256 units only the GEMMs, tanh and the
optimizer updates would; breaking the bias column sum so that it splits
its rows by the thread count is caught here, and was not at those sizes).
"""

from __future__ import annotations

import numpy as np
import pytest

import tinynn as tf
from tinynn.keras import layers

keras = tf.keras
THREAD_COUNTS = (1, 2, 3, 4)  # more threads than cores is allowed
N, BATCH, WIDTH = 512, 256, 1024


def fan_out_add():
    x = keras.Input(shape=(64,))
    h = layers.Dense(WIDTH, activation="relu")(x)
    a = layers.Dense(WIDTH)(h)
    b = layers.Dense(WIDTH, activation="tanh")(h)
    out = layers.Dense(10, activation="softmax")(layers.Add()([a, b, h]))
    model = keras.Model(x, out)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    r = np.random.default_rng(1)
    return model, r.normal(size=(N, 64)), r.integers(0, 10, N)


def shared_dense_at_two_depths():
    x = keras.Input(shape=(WIDTH,))
    shared = layers.Dense(WIDTH, activation="relu", name="shared")
    h = shared(x)
    h = layers.Dense(WIDTH, activation="tanh")(h)
    h = shared(h)  # the same weights one level deeper
    model = keras.Model(x, layers.Dense(1)(h))
    model.compile("rmsprop", "mse", metrics=["mae"])
    r = np.random.default_rng(2)
    return model, r.normal(size=(N, WIDTH)), r.normal(size=(N, 1))


def two_inputs_two_outputs():
    a = keras.Input(shape=(64,), name="a")
    b = keras.Input(shape=(32,), name="b")
    h = layers.Dense(WIDTH, activation="relu")(layers.concatenate([a, b]))
    h = layers.Dense(WIDTH, activation="relu")(h)
    p = layers.Dense(1, activation="sigmoid", name="p")(h)
    q = layers.Dense(5, activation="softmax", name="q")(layers.concatenate([h, a]))
    model = keras.Model([a, b], [p, q])
    model.compile(
        "adam",
        loss={"p": "binary_crossentropy", "q": "sparse_categorical_crossentropy"},
        loss_weights={"p": 0.3, "q": 1.7},
        metrics={"p": ["accuracy"], "q": ["accuracy"]},
    )
    r = np.random.default_rng(3)
    x = {"a": r.normal(size=(N, 64)), "b": r.normal(size=(N, 32))}
    y = {"p": r.integers(0, 2, (N, 1)).astype(float), "q": r.integers(0, 5, N)}
    return model, x, y


def nested_model():
    i = keras.Input(shape=(WIDTH,))
    inner = keras.Model(
        i, layers.Dense(WIDTH, activation="relu")(layers.Dense(WIDTH)(i)), name="inner"
    )
    x = keras.Input(shape=(WIDTH,))
    h = inner(inner(x))  # one nested model at two call sites
    model = keras.Model(x, layers.Dense(3, activation="softmax")(h))
    model.compile(
        keras.optimizers.SGD(0.01, momentum=0.9), "sparse_categorical_crossentropy"
    )
    r = np.random.default_rng(4)
    return model, r.normal(size=(N, WIDTH)), r.integers(0, 3, N)


def small_convnet():
    x = keras.Input(shape=(16, 16, 3))
    h = layers.Conv2D(16, 3, activation="relu")(x)
    h = layers.MaxPooling2D()(h)
    h = layers.Conv2D(32, 3, activation="relu")(h)
    h = layers.GlobalAveragePooling2D()(h)
    model = keras.Model(x, layers.Dense(4, activation="softmax")(h))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    r = np.random.default_rng(5)
    return model, r.normal(size=(N, 16, 16, 3)), r.integers(0, 4, N)


MODELS = {
    "fan_out_add": fan_out_add,
    "shared_dense_at_two_depths": shared_dense_at_two_depths,
    "two_inputs_two_outputs": two_inputs_two_outputs,
    "nested_model": nested_model,
    "small_convnet": small_convnet,
}


@pytest.fixture
def restore_threads():
    before = tf.get_num_threads()
    yield
    tf.set_num_threads(before)


def fit_with(make, threads):
    """Final weights and History of two epochs with `threads` threads (the
    same seed, so the same initial weights and shuffles)."""
    tf.set_num_threads(threads)
    tf.set_seed(0)
    model, x, y = make()
    history = model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0)
    return model.get_weights(), history.history


@pytest.mark.parametrize("name", sorted(MODELS))
def test_graph_fit_is_bit_identical_for_any_thread_count(name, restore_threads):
    weights, history = fit_with(MODELS[name], 1)
    assert all(np.isfinite(values).all() for values in history.values())
    for threads in THREAD_COUNTS[1:]:
        other_weights, other_history = fit_with(MODELS[name], threads)
        assert tf.get_num_threads() == threads
        assert list(other_history) == list(history)
        for key in history:
            assert np.array_equal(other_history[key], history[key]), (
                f"{name}: History[{key!r}] with {threads} threads differs"
            )
        assert len(other_weights) == len(weights)
        for k, (mine, theirs) in enumerate(zip(weights, other_weights)):
            assert np.array_equal(mine, theirs), (
                f"{name}: weight {k} {mine.shape} with {threads} threads differs"
            )
