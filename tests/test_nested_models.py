"""Nested models: a model called on symbolic tensors is one node (one layer)
of the outer graph; the executor inlines its graph at every call site, each
with its own CallContexts, so a model used twice shares its weights and
accumulates their gradients. Gradients of a graph with a model used twice
are checked against float64 central differences through the Plan; the outer
model's weights are the inner layers' (each once, in Keras's order), and
fitting the inner model afterwards trains the same arrays.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import tinynn as tf
from tinynn.keras import layers
from test_functional_graph import check_gradients, data

keras = tf.keras


@pytest.fixture
def float64():
    tf.backend.set_floatx("float64")
    yield
    tf.backend.set_floatx("float32")


def inner_model(width=3, name="inner"):
    i = keras.Input(shape=(4,))
    h = layers.Dense(5, activation="tanh")(i)
    return keras.Model(i, layers.Dense(width, activation="sigmoid")(h), name=name)


def test_model_used_twice_is_one_layer_with_two_nodes():
    inner = inner_model()
    x = keras.Input(shape=(4,))
    a, b = inner(x), inner(x)
    outer = keras.Model(x, layers.Dense(1)(layers.Add()([a, b])), name="outer")
    assert [type(layer).__name__ for layer in outer.layers] == [
        "InputLayer",
        "Functional",
        "Add",
        "Dense",
    ]
    assert len(inner._inbound_nodes) == 2
    assert a.shape == (None, 3) and a._keras_history[:2] == (inner, 0)
    # weights: the inner model's layers once, then the outer Dense
    assert len(outer.weights) == 6
    assert all(w is v for w, v in zip(outer.weights[:4], inner.weights))
    lines = []
    outer.summary(print_fn=lines.append)
    rows = [line for line in lines if "(Functional)" in line]
    assert len(rows) == 1 and rows[0].split()[4] == str(inner.count_params())


def test_gradients_nested_model_used_twice(float64):
    inner = inner_model()
    x = keras.Input(shape=(4,))
    a = inner(x)
    b = inner(layers.Dense(4, activation="tanh")(x))  # second site, other input
    outer = keras.Model(x, layers.Dense(2)(layers.Multiply()([a, b])))
    check_gradients(outer, data((4,)))


def test_gradients_nested_sequential_and_functional(float64):
    inner_f = inner_model(width=4)
    inner_s = keras.Sequential([layers.Dense(3, activation="tanh"), layers.Dense(2)])
    x = keras.Input(shape=(4,))
    y = inner_s(inner_f(inner_f(x)))  # a model fed by itself, then a Sequential
    outer = keras.Model(x, y)
    assert [type(layer).__name__ for layer in outer.layers][1:] == [
        "Functional",
        "Sequential",
    ]
    check_gradients(outer, data((4,)))


def test_predict_equals_composition():
    inner = inner_model()
    x = keras.Input(shape=(4,))
    outer = keras.Model(x, inner(x))
    X = np.random.default_rng(0).normal(size=(7, 4)).astype("float32")
    np.testing.assert_array_equal(
        outer.predict(X, verbose=0), inner.predict(X, verbose=0)
    )


def test_fit_inner_afterwards_trains_the_same_weights():
    inner = inner_model()
    x = keras.Input(shape=(4,))
    outer = keras.Model(x, layers.Dense(1)(inner(x)))
    r = np.random.default_rng(0)
    X = r.normal(size=(16, 4)).astype("float32")
    outer.compile("adam", "mse")
    outer.fit(X, r.normal(size=(16, 1)), epochs=1, verbose=0)
    before = outer.get_weights()
    inner.compile("sgd", "mse")
    inner.fit(X, r.random(size=(16, 3)), epochs=1, verbose=0)
    after = outer.get_weights()
    assert not np.array_equal(before[0], after[0])  # changed through inner
    for w, v in zip(inner.get_weights(), after[:4]):
        np.testing.assert_array_equal(w, v)
    np.testing.assert_array_equal(before[-1], after[-1])  # the outer Dense not
    outer.fit(X, r.normal(size=(16, 1)), epochs=1, verbose=0)  # and back again
    for w, v in zip(inner.get_weights(), outer.get_weights()[:4]):
        np.testing.assert_array_equal(w, v)


def test_sequential_nests_a_functional_model():
    inner = inner_model()
    model = keras.Sequential([inner, layers.Dense(1)])
    assert [type(layer).__name__ for layer in model.layers] == ["Functional", "Dense"]
    X = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    expected = inner.predict(X, verbose=0) @ model.weights[-2] + model.weights[-1]
    np.testing.assert_allclose(model.predict(X, verbose=0), expected, rtol=1e-5)


def test_nested_model_input_shape_checked():
    inner = inner_model()
    with pytest.raises(ValueError, match="incompatible"):
        inner(keras.Input(shape=(5,)))


def nested_graph():
    """A functional model used twice and a Sequential, inside a functional
    model; and a Sequential holding the same functional model."""
    inner_f = keras.Model(
        i := keras.Input(shape=(4,), name="inner_in"),
        layers.Dense(3, activation="tanh", name="fd")(i),
        name="inner_f",
    )
    inner_s = keras.Sequential([layers.Dense(2, name="sd")], name="inner_s")
    inner_s.build((None, 3))
    x = keras.Input(shape=(4,), name="x")
    added = layers.Add(name="add")([inner_f(x), inner_f(x)])
    outer = keras.Model(x, inner_s(added), name="outer")
    seq = keras.Sequential([inner_f, layers.Dense(1, name="o")], name="seqn")
    return outer, seq


@pytest.mark.parametrize("suffix", [".tinynn", ".h5", ".keras"])
def test_nested_models_round_trip(tmp_path, suffix):
    outer, seq = nested_graph()
    X = np.random.default_rng(0).normal(size=(6, 4)).astype("float32")
    for model in (outer, seq):
        path = tmp_path / f"{model.name}{suffix}"
        model.save(path)
        loaded = keras.models.load_model(path)
        assert [layer.name for layer in loaded.layers] == [
            layer.name for layer in model.layers
        ]
        assert [type(layer).__name__ for layer in loaded.layers] == [
            type(layer).__name__ for layer in model.layers
        ]
        np.testing.assert_array_equal(
            loaded.predict(X, verbose=0), model.predict(X, verbose=0)
        )
    inner = [layer for layer in loaded.layers if layer.name == "inner_f"][0]
    assert len(inner._inbound_nodes) == 1  # the reloaded Sequential's one call


def test_config_numbers_nested_calls_as_each_keras_does():
    outer, _ = nested_graph()
    from tinynn.saving import keras_config

    keras2 = keras_config.model_config(outer)  # .h5 form: nested calls from 1
    by_name = {e["name"]: e for e in keras2["config"]["layers"]}
    assert [t[:2] for t in sum(by_name["add"]["inbound_nodes"], [])] == [
        ["inner_f", 1],
        ["inner_f", 2],
    ]
    assert by_name["inner_f"]["class_name"] == "Functional"
    assert by_name["inner_s"]["class_name"] == "Sequential"
    assert outer.get_config()["output_layers"] == [["inner_s", 1, 0]]
    keras3 = json.loads(outer.to_json())  # .keras and to_json: from 0
    by_name = {e["name"]: e for e in keras3["config"]["layers"]}
    assert [t[:2] for t in sum(by_name["add"]["inbound_nodes"], [])] == [
        ["inner_f", 0],
        ["inner_f", 1],
    ]
    # either numbering reads back to the same graph
    for config in (keras2, keras3):
        model = tf.saving.common.model_from_config(config)
        assert [layer.name for layer in model.layers] == [
            "x",
            "inner_f",
            "add",
            "inner_s",
        ]
        assert len(model.get_layer("inner_f")._inbound_nodes) == 2


def _keras(module):
    """Keras 3 (``keras``) or Keras 2.x (``tf_keras``), or a skip."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    k = pytest.importorskip(module)
    if module == "keras" and not k.__version__.startswith("3."):
        pytest.skip("Keras 3 oracle: pip install tensorflow-cpu==2.21.0")
    return k


@pytest.mark.parametrize("module, suffix", [("keras", ".keras"), ("tf_keras", ".h5")])
def test_nested_files_both_ways_with_keras(tmp_path, module, suffix):
    k = _keras(module)
    X = np.random.default_rng(0).normal(size=(6, 4)).astype("float32")
    outer, seq = nested_graph()
    for model in (outer, seq):  # tinynn -> Keras
        path = tmp_path / f"tn_{model.name}{suffix}"
        model.save(path)
        theirs = k.models.load_model(path)
        assert [layer.name for layer in theirs.layers] == [
            layer.name for layer in model.layers
        ]
        np.testing.assert_allclose(
            theirs.predict(X, verbose=0), model.predict(X, verbose=0), atol=1e-6
        )
    L = k.layers  # Keras -> tinynn
    i = k.Input((4,), name="inner_in")
    inner_f = k.Model(i, L.Dense(3, activation="tanh", name="fd")(i), name="inner_f")
    inner_s = k.Sequential([k.Input((3,)), L.Dense(2, name="sd")], name="inner_s")
    x = k.Input((4,), name="x")
    added = L.Add(name="add")([inner_f(x), inner_f(x)])
    theirs = [
        k.Model(x, inner_s(added), name="outer"),
        k.Sequential([inner_f, L.Dense(1, name="o")], name="seqn"),
    ]
    for model in theirs:
        path = tmp_path / f"k_{model.name}{suffix}"
        model.save(path)
        ours = keras.models.load_model(path)
        assert [layer.name for layer in ours.layers] == [
            layer.name for layer in model.layers
        ]
        np.testing.assert_allclose(
            ours.predict(X, verbose=0), model.predict(X, verbose=0), atol=1e-6
        )


@pytest.mark.parametrize("suffix", [".tinynn", ".h5", ".keras"])
def test_nested_model_with_two_outputs(tmp_path, suffix):
    i = keras.Input(shape=(4,))
    h = layers.Dense(3, name="h")(i)
    two = keras.Model(i, [layers.Dense(2, name="p")(h), layers.Dense(5, name="q")(h)])
    x = keras.Input(shape=(4,))
    p, q = two(x)
    assert p._keras_history[2] == 0 and q._keras_history[2] == 1
    model = keras.Model(x, layers.Concatenate()([p, q, p]))
    X = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    out = model.predict(X, verbose=0)
    a, b = (v.copy() for v in two._make_plan(3).forward([X], training=False))
    np.testing.assert_array_equal(out, np.concatenate([a, b, a], axis=1))
    model.save(tmp_path / f"m{suffix}")
    loaded = keras.models.load_model(tmp_path / f"m{suffix}")
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), out)
