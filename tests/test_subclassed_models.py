"""Subclassed models: layers assigned in __init__ are tracked in order;
call() is traced once (per training value if it takes one) with symbolic
inputs shaped like the data into a graph the executor runs like a
functional model's. A subclassed model and its functional twin fit bit for
bit alike; values-dependent Python in call() is a TypeError that says what is
allowed; save() refuses as Keras 2 does while save_weights works.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinynn as tf
from tinynn.keras import layers

keras = tf.keras


class TwoTower(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = layers.Dense(8, activation="tanh")
        self.side = layers.Dense(8)
        self.out = layers.Dense(2, activation="softmax")

    def call(self, inputs, training=None):
        h = self.hidden(inputs)
        return self.out(h + self.side(inputs))  # + becomes an Add layer


def functional_twin(model):
    x = keras.Input(shape=(5,))
    h = model.hidden(x)
    return keras.Model(x, model.out(layers.Add()([h, model.side(x)])))


def data(n=40):
    r = np.random.default_rng(0)
    return r.normal(size=(n, 5)).astype("float32"), r.integers(0, 2, n)


def test_layers_tracked_in_assignment_order():
    model = TwoTower()
    assert [type(layer).__name__ for layer in model.layers] == ["Dense"] * 3
    assert model.layers == [model.hidden, model.side, model.out]
    model.build((None, 5))
    assert model.built and model.output_shape == (None, 2)
    # weights: hidden, side, out (then the weightless Add)
    assert [w.shape for w in model.weights] == [
        (5, 8),
        (8,),
        (5, 8),
        (8,),
        (8, 2),
        (2,),
    ]


def test_list_of_layers_tracked():
    class Stack(keras.Model):
        def __init__(self):
            super().__init__(name="stack")
            self.blocks = [layers.Dense(4, activation="relu") for _ in range(3)]
            self.head = layers.Dense(1)

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            return self.head(x)

    model = Stack()
    assert model.layers == [*model.blocks, model.head] and model.name == "stack"
    assert model.predict(np.ones((3, 2), "float32"), verbose=0).shape == (3, 1)


def test_fit_bit_identical_to_functional_twin():
    x, y = data()
    results = []
    for make in ("subclassed", "functional"):
        tf.set_seed(1)
        sub = TwoTower()
        sub.build((None, 5))
        model = sub if make == "subclassed" else functional_twin(sub)
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
        results.append(
            (history.history, model.get_weights(), model.predict(x, verbose=0))
        )
    (h1, w1, p1), (h2, w2, p2) = results
    assert h1 == h2
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(p1, p2)


def test_branch_on_values_is_a_type_error():
    class Branchy(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)

        def call(self, x):
            if x > 0:
                return self.dense(x)
            return x

    with pytest.raises(TypeError, match="no `if` on values") as info:
        Branchy().predict(np.ones((2, 3), "float32"), verbose=0)
    assert "A comparison of a symbolic tensor" in str(info.value)


def test_numpy_on_symbolic_is_a_type_error():
    class NumPy(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)

        def call(self, x):
            return self.dense(np.tanh(x))

    with pytest.raises(TypeError, match="symbolic tensor"):
        NumPy().build((None, 3))


def test_training_dependent_call_traced_once_per_value():
    class Noisy(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(3)
            self.extra = layers.Dense(3)
            self.traces = []

        def call(self, x, training=None):
            self.traces.append(training)
            y = self.dense(x)
            if training:  # a Python bool: fine
                y = self.extra(y)
            return y

    model = Noisy()
    x = np.random.default_rng(0).normal(size=(6, 3)).astype("float32")
    model.compile("sgd", "mse")
    model.fit(x, x, epochs=2, verbose=0)
    p = model.predict(x, verbose=0)
    W, b = model.dense.get_weights()
    np.testing.assert_allclose(p, x @ W + b, rtol=1e-5)  # predict skips `extra`
    before = model.extra.get_weights()[0].copy()
    model.fit(x, x, epochs=1, verbose=0)  # the training graph again: extra trains
    assert not np.array_equal(before, model.extra.get_weights()[0])
    model.predict(x, verbose=0)
    assert model.traces == [True, False]
    # one parameter store: both layers' weights, once
    assert len(model.weights) == 4


def test_integer_input_dtype_kept():
    class Embed(keras.Model):
        def __init__(self):
            super().__init__()
            self.embedding = layers.Embedding(10, 4)
            self.flatten = layers.Flatten()
            self.dense = layers.Dense(1)

        def call(self, ids):
            return self.dense(self.flatten(self.embedding(ids)))

    model = Embed()
    ids = np.array([[1, 2], [3, 9]], dtype=np.int32)
    model._ensure_graph(ids)
    assert model.inputs[0].dtype == "int32" and model.inputs[0].shape == (None, 2)
    assert model.predict(ids, verbose=0).shape == (2, 1)


def test_save_weights_round_trip_and_save_refused(tmp_path):
    x, _ = data(6)
    model = TwoTower()
    expected = model.predict(x, verbose=0)
    for suffix in (".weights.h5", ".tinynn"):
        model.save_weights(tmp_path / f"w{suffix}")
        other = TwoTower()
        other.build((None, 5))
        other.load_weights(tmp_path / f"w{suffix}")
        np.testing.assert_array_equal(other.predict(x, verbose=0), expected)
    for suffix in (".h5", ".keras"):
        with pytest.raises(NotImplementedError, match="requires the model to be a"):
            model.save(tmp_path / f"m{suffix}")


def test_subclassed_model_nested_in_functional():
    inner = TwoTower()
    inner.build((None, 5))
    x = keras.Input(shape=(5,))
    outer = keras.Model(x, layers.Dense(1)(inner(x)))
    assert len(outer.weights) == 8
    xs, _ = data(4)
    assert outer.predict(xs, verbose=0).shape == (4, 1)


def test_subclassed_model_inside_sequential():
    inner = TwoTower()
    model = keras.Sequential([keras.Input(shape=(5,)), inner, layers.Dense(1)])
    assert [type(layer).__name__ for layer in model.layers] == ["TwoTower", "Dense"]
    xs, _ = data(3)
    assert model.predict(xs, verbose=0).shape == (3, 1)


class TrainOnlyBranch(keras.Model):
    """call() takes a different path when training: Keras runs fit's
    validation with training=False, so val_loss must come from `plain`."""

    def __init__(self):
        super().__init__()
        self.plain = layers.Dense(2, activation="softmax")
        self.noisy = layers.Dense(2, activation="softmax")

    def call(self, inputs, training=None):
        return self.noisy(inputs) if training else self.plain(inputs)


def test_fit_validation_runs_the_inference_graph():
    x, y = data()
    model = TrainOnlyBranch()
    model.compile("sgd", "sparse_categorical_crossentropy")
    history = model.fit(
        x, y, validation_data=(x[:10], y[:10]), epochs=2, batch_size=8, verbose=0
    )
    # the inference graph's loss on the same data and weights, computed apart
    # (fit validates in batches of 8, evaluate in one of 10: the means are
    # summed in another order)
    inference = model.evaluate(x[:10], y[:10], verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(inference, rel=1e-6)
    # and training goes on on the training graph afterwards
    before = model.noisy.get_weights()[0].copy()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert not np.array_equal(before, model.noisy.get_weights()[0])
