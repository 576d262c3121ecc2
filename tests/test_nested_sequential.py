"""A Sequential given to another Sequential is nested as one layer, as in
Keras 2 and 3 (the TensorFlow beginner tutorial's ``probability_model =
Sequential([model, Softmax()])``): ``layers``, ``summary`` and
``get_layer`` show the inner model once, its weights are shared with it,
and the files save it as a nested model. The executor inlines the inner
graph, so fitting the nested model gives bit for bit what the same layers
in one flat Sequential give (earlier tinynn flattened the inner model).

The Keras files of a nested Sequential written by real Keras are read in
tests/test_keras_fixtures.py (``keras<N>_nested_sequential``); the live
comparison with Keras is tests/test_keras_oracle_nested.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import tinynn as tf

keras = tf.keras
L = keras.layers


@pytest.fixture(autouse=True)
def _fresh_session():
    tf.backend.clear_session()
    tf.set_floatx("float32")


def tutorial_models(seed=0):
    """The tutorial's model (logits) and its probability_model around it."""
    tf.set_seed(seed)
    model = keras.Sequential(
        [
            L.Flatten(input_shape=(6, 5)),
            L.Dense(16, activation="relu"),
            L.Dense(10),
        ]
    )
    return model, keras.Sequential([model, L.Softmax()])


def images(n=12, seed=0):
    r = np.random.default_rng(seed)
    return r.random((n, 6, 5)).astype("float32"), r.integers(0, 10, n)


def summary_lines(model):
    lines = []
    model.summary(print_fn=lines.append)
    return lines


# ---- structure ----------------------------------------------------------------------
def test_the_tutorial_probability_model_holds_the_model_as_one_layer():
    model, probability_model = tutorial_models()
    x, y = images()
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x, y, epochs=1, verbose=0)
    kinds = [(layer.name, type(layer).__name__) for layer in probability_model.layers]
    assert kinds == [("sequential", "Sequential"), ("softmax", "Softmax")]
    assert probability_model.layers[0] is model
    assert probability_model.get_layer("sequential") is model
    assert probability_model.get_layer(index=0) is model
    assert probability_model.input_shape == (None, 6, 5)
    assert probability_model.output_shape == (None, 10)
    # the same arrays: the outer model's weights are the inner model's
    assert len(probability_model.weights) == 4
    assert all(a is b for a, b in zip(probability_model.weights, model.weights))
    assert probability_model.count_params() == model.count_params() == 666
    probabilities = np.asarray(probability_model(x[:5]))
    logits = np.asarray(model(x[:5]), np.float64)
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5, atol=1e-7)
    # the inner layers were called once, in the inner model's own graph
    assert all(len(layer._inbound_nodes) == 1 for layer in model.layers)


def test_summary_shows_the_nested_model_as_one_row_with_its_parameters():
    model, probability_model = tutorial_models()
    lines = summary_lines(probability_model)
    rows = [line.rstrip() for line in lines if line.endswith(")") or "(None" in line]
    assert rows == [
        "sequential (Sequential)      (None, 10)                666",
        "softmax (Softmax)            (None, 10)                0",
    ]
    assert "Total params: 666" in lines
    assert "Trainable params: 666" in lines
    assert "Non-trainable params: 0" in lines
    model.trainable = False
    lines = summary_lines(probability_model)
    assert "Trainable params: 0" in lines and "Non-trainable params: 666" in lines


def test_get_config_and_to_json_write_the_inner_model_as_a_sequential_entry():
    model, probability_model = tutorial_models()
    config = probability_model.get_config()
    assert [entry["class_name"] for entry in config["layers"]] == [
        "Sequential",
        "Softmax",
    ]
    inner = config["layers"][0]["config"]
    assert inner["name"] == "sequential"
    assert [entry["class_name"] for entry in inner["layers"]] == [
        "Flatten",
        "Dense",
        "Dense",
    ]
    written = json.loads(probability_model.to_json())
    entries = written["config"]["layers"]
    assert [entry["class_name"] for entry in entries] == [
        "InputLayer",
        "Sequential",
        "Softmax",
    ]
    assert entries[1]["config"]["name"] == "sequential"
    assert [e["class_name"] for e in entries[1]["config"]["layers"]] == [
        "InputLayer",
        "Flatten",
        "Dense",
        "Dense",
    ]
    loaded = keras.models.model_from_json(probability_model.to_json())
    assert [type(layer).__name__ for layer in loaded.layers] == [
        "Sequential",
        "Softmax",
    ]
    assert [layer.name for layer in loaded.layers[0].layers] == [
        layer.name for layer in model.layers
    ]


# ---- the same numbers as the flat model ------------------------------------------------
def nested_and_flat(case):
    """(nested model, the same layers in one flat Sequential), same weights."""
    tf.set_seed(1)
    if case == "tutorial":
        inner = keras.Sequential(
            [L.Flatten(input_shape=(6, 5)), L.Dense(16, activation="relu"), L.Dense(10)]
        )
        nested = keras.Sequential([inner, L.Softmax()])
        flat = keras.Sequential(
            [
                L.Flatten(input_shape=(6, 5)),
                L.Dense(16, activation="relu"),
                L.Dense(10),
                L.Softmax(),
            ]
        )
    else:  # an unbuilt inner model last, its softmax fused into the loss,
        # two levels deep, with Dropout and BatchNormalization
        deepest = keras.Sequential([L.Dropout(0.25), L.Dense(10, activation="softmax")])
        inner = keras.Sequential([L.BatchNormalization(), deepest])
        nested = keras.Sequential(
            [keras.Input((6, 5)), L.Flatten(), L.Dense(16, activation="tanh"), inner]
        )
        flat = keras.Sequential(
            [
                keras.Input((6, 5)),
                L.Flatten(),
                L.Dense(16, activation="tanh"),
                L.BatchNormalization(),
                L.Dropout(0.25),
                L.Dense(10, activation="softmax"),
            ]
        )
    flat.set_weights(nested.get_weights())
    return nested, flat


@pytest.mark.parametrize("case", ["tutorial", "deep"])
def test_fit_nested_equals_fit_flat_bit_for_bit(case):
    nested, flat = nested_and_flat(case)
    assert len(nested.weights) == len(flat.weights)
    x, y = images(40, seed=2)
    runs = []
    for model in (nested, flat):
        model.compile(
            keras.optimizers.Adam(0.01),
            "sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        tf.set_seed(7)  # the same shuffles and dropout masks
        history = model.fit(
            x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0
        )
        runs.append(
            (
                history.history,
                model.get_weights(),
                model.predict(x, verbose=0),
                model.evaluate(x, y, verbose=0),
            )
        )
    (h1, w1, p1, e1), (h2, w2, p2, e2) = runs
    assert sorted(h1) == sorted(h2)
    for key in h1:
        assert np.array_equal(h1[key], h2[key]), key
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2))
    assert np.array_equal(p1, p2) and np.array_equal(e1, e2)
    assert not np.array_equal(w1[0], nested_and_flat(case)[0].get_weights()[0])


# ---- shared weights -------------------------------------------------------------------
def test_training_the_outer_model_trains_the_inner_ones_weights():
    model, probability_model = tutorial_models()
    x, y = images()
    before = model.get_weights()
    probability_model.compile("adam", "sparse_categorical_crossentropy")
    probability_model.fit(x, y, epochs=1, verbose=0)
    after = model.get_weights()
    assert not np.array_equal(before[0], after[0])
    for a, b in zip(after, probability_model.get_weights()):
        np.testing.assert_array_equal(a, b)
    # inner.predict sees the trained weights; the outer its softmax of them
    logits = model.predict(x, verbose=0).astype(np.float64)
    soft = np.exp(logits - logits.max(axis=1, keepdims=True))
    soft /= soft.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(
        probability_model.predict(x, verbose=0), soft, rtol=1e-5, atol=1e-7
    )
    # and back: training the inner model changes the outer's predictions
    first = probability_model.predict(x, verbose=0)
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(first, probability_model.predict(x, verbose=0))
    for a, b in zip(model.get_weights(), probability_model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_the_same_inner_model_in_two_models_shares_its_weights():
    inner = keras.Sequential([L.Dense(4, activation="tanh", input_shape=(3,))])
    first = keras.Sequential([inner, L.Dense(1)])
    second = keras.Sequential([inner, L.Dense(2), L.Softmax()])
    assert first.layers[0] is second.layers[0] is inner
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    before = second.predict(x, verbose=0)
    first.compile("sgd", "mse")
    first.fit(x, np.ones((8, 1)), epochs=2, verbose=0)
    assert not np.array_equal(before, second.predict(x, verbose=0))
    for a, b in zip(inner.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
    # and in a functional model, called twice (its gradients accumulate)
    i = keras.Input((3,))
    twice = keras.Model(i, L.Add()([inner(i), inner(i)]))
    assert [type(layer).__name__ for layer in twice.layers] == [
        "InputLayer",
        "Sequential",
        "Add",
    ]
    np.testing.assert_allclose(
        twice.predict(x, verbose=0), 2 * inner.predict(x, verbose=0), rtol=1e-6
    )


def test_adding_the_same_inner_model_twice_to_one_sequential_is_refused():
    inner = keras.Sequential([L.Dense(3, input_shape=(3,))])
    with pytest.raises(ValueError, match="unique names; 'sequential' is already"):
        keras.Sequential([inner, inner])


# ---- an inner model without an input shape ------------------------------------------------
BUILDS = ["outer input", "outer input_shape", "input layer", "build", "fit", "predict"]


@pytest.mark.parametrize("how", BUILDS)
def test_an_unbuilt_inner_model_is_built_with_the_outer_one(how):
    tf.set_seed(0)
    inner = keras.Sequential([L.Dense(4, activation="relu"), L.Dense(3)])
    assert not inner.built
    head = [L.Softmax()]
    x = np.random.default_rng(0).normal(size=(6, 5)).astype("float32")
    if how == "outer input":
        outer = keras.Sequential([keras.Input((5,)), inner, *head])
    elif how == "outer input_shape":
        outer = keras.Sequential([L.Dense(5, input_shape=(5,)), inner, *head])
    elif how == "input layer":
        outer = keras.Sequential([L.InputLayer(input_shape=(5,)), inner, *head])
    else:
        outer = keras.Sequential([inner, *head])
        assert not outer.built
        if how == "build":
            outer.build((None, 5))
        elif how == "fit":
            outer.compile("adam", "categorical_crossentropy")
            outer.fit(x, np.full((6, 3), 1 / 3), epochs=1, verbose=0)
        else:
            outer.predict(x, verbose=0)
    assert outer.built and inner.built
    assert [type(layer).__name__ for layer in outer.layers][-2:] == [
        "Sequential",
        "Softmax",
    ]
    assert outer.input_shape == (None, 5) and outer.output_shape == (None, 3)
    assert inner.output_shape == (None, 3)
    h = x if how != "outer input_shape" else np.asarray(outer.layers[0](x))
    logits = inner.predict(h, verbose=0).astype(np.float64)
    soft = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(
        outer.predict(x, verbose=0),
        soft / soft.sum(axis=1, keepdims=True),
        rtol=1e-5,
        atol=1e-7,
    )
    extra = 2 if how == "outer input_shape" else 0  # that Dense's kernel, bias
    assert len(outer.weights) == len(inner.weights) + extra


def test_an_empty_inner_model_is_refused():
    with pytest.raises(ValueError, match="has no layers"):
        keras.Sequential([keras.Sequential()])
    with pytest.raises(ValueError, match="has no layers"):
        keras.Sequential([keras.Sequential([keras.Input((3,))])])


def test_an_inner_model_of_the_wrong_input_shape_is_refused():
    inner = keras.Sequential([L.Dense(2, input_shape=(4,))])
    with pytest.raises(ValueError, match="incompatible"):
        keras.Sequential([keras.Input((5,)), inner])


# ---- pop and trainable --------------------------------------------------------------------
def test_pop_removes_the_nested_model():
    model, probability_model = tutorial_models()
    x, _ = images(4)
    assert probability_model.pop().name == "softmax"
    assert probability_model.layers == [model]
    np.testing.assert_array_equal(
        probability_model.predict(x, verbose=0), model.predict(x, verbose=0)
    )
    probability_model.add(L.Dense(2))
    assert probability_model.output_shape == (None, 2)
    probability_model.pop()
    assert probability_model.pop() is model
    assert probability_model.layers == [] and not probability_model.built
    assert model.built and model.layers[-1].units == 10  # the inner model intact
    probability_model.add(model)  # and back in
    assert probability_model.output_shape == (None, 10)


def test_a_frozen_inner_model_keeps_its_weights_in_the_outer_fit():
    tf.set_seed(0)
    inner = keras.Sequential([L.Dense(4, activation="tanh", input_shape=(3,))])
    outer = keras.Sequential([inner, L.Dense(2)])
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    outer.compile("adam", "mse")
    outer.fit(x, np.ones((8, 2)), epochs=1, verbose=0)  # the store laid out
    inner.trainable = False
    assert not any(layer.trainable for layer in inner.layers)
    assert len(outer.trainable_weights) == 2 and len(outer.non_trainable_weights) == 2
    before_inner, before_head = inner.get_weights(), outer.layers[1].get_weights()
    outer.fit(x, np.ones((8, 2)), epochs=2, verbose=0)
    for a, b in zip(before_inner, inner.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(before_head[0], outer.layers[1].get_weights()[0])
    inner.trainable = True  # and unfrozen it trains again
    outer.fit(x, np.ones((8, 2)), epochs=1, verbose=0)
    assert not np.array_equal(before_inner[0], inner.get_weights()[0])


def test_a_frozen_outer_model_freezes_the_inner_one():
    inner = keras.Sequential([L.Dense(4, input_shape=(3,))])
    outer = keras.Sequential([inner, L.Dense(1)])
    outer.trainable = False
    assert not inner.trainable and not inner.layers[0].trainable
    added = keras.Sequential([L.Dense(2, input_shape=(1,))])
    outer.add(added)  # a model added to a frozen Sequential is frozen too
    assert not added.trainable and outer.trainable_weights == []


# ---- files ---------------------------------------------------------------------------------
SUFFIXES = [".tinynn", ".h5", ".keras"]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_nested_sequential_round_trips_with_optimizer_state(tmp_path, suffix):
    model, probability_model = tutorial_models()
    x, y = images()
    probability_model.compile("adam", "sparse_categorical_crossentropy")
    probability_model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    path = tmp_path / f"p{suffix}"
    probability_model.save(path)
    loaded = keras.models.load_model(path)
    assert [(layer.name, type(layer).__name__) for layer in loaded.layers] == [
        ("sequential", "Sequential"),
        ("softmax", "Softmax"),
    ]
    inner = loaded.get_layer("sequential")
    assert [layer.name for layer in inner.layers] == [
        layer.name for layer in model.layers
    ]
    assert all(a is b for a, b in zip(loaded.weights, inner.weights))
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), probability_model.predict(x, verbose=0)
    )
    assert loaded.optimizer.iterations == probability_model.optimizer.iterations
    for key, value in probability_model.optimizer.flat_state().items():
        np.testing.assert_array_equal(loaded.optimizer.flat_state()[key], value)
    # both continue alike
    for m in (probability_model, loaded):
        m.fit(x, y, epochs=1, batch_size=12, shuffle=False, verbose=0)
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), probability_model.predict(x, verbose=0)
    )


@pytest.mark.parametrize("suffix", SUFFIXES + [".weights.h5"])
def test_nested_weights_load_into_a_fresh_nested_model(tmp_path, suffix):
    _, probability_model = tutorial_models(seed=0)
    _, fresh = tutorial_models(seed=5)
    x, _ = images(4)
    path = tmp_path / f"w{suffix}"
    probability_model.save_weights(path)
    assert not np.array_equal(
        fresh.get_weights()[0], probability_model.get_weights()[0]
    )
    fresh.load_weights(path)
    np.testing.assert_array_equal(
        fresh.predict(x, verbose=0), probability_model.predict(x, verbose=0)
    )


@pytest.mark.parametrize("kind", ["sequential", "functional"])
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_frozen_inner_model_stays_frozen_through_files(tmp_path, suffix, kind):
    model, probability_model = tutorial_models()
    if kind == "functional":
        model = keras.Model(model.input, model.output, name="sequential")
        probability_model = keras.Sequential([model, L.Softmax()])
    model.trainable = False
    probability_model.save(tmp_path / f"f{suffix}")
    loaded = keras.models.load_model(tmp_path / f"f{suffix}")
    inner = loaded.get_layer("sequential")
    assert not inner.trainable and loaded.trainable
    assert loaded.trainable_weights == [] and len(loaded.non_trainable_weights) == 4


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_files_of_the_flattened_form_still_load(tmp_path, suffix):
    """Earlier tinynn flattened a nested Sequential: what it saved is a flat
    Sequential of the inner layers and the Softmax, which loads as such."""
    tf.set_seed(0)
    flat = keras.Sequential(
        [
            L.Flatten(input_shape=(6, 5)),
            L.Dense(16, activation="relu"),
            L.Dense(10),
            L.Softmax(),
        ]
    )
    flat.compile("adam", "sparse_categorical_crossentropy")
    x, y = images()
    flat.fit(x, y, epochs=1, verbose=0)
    flat.save(tmp_path / f"old{suffix}")
    loaded = keras.models.load_model(tmp_path / f"old{suffix}")
    assert [type(layer).__name__ for layer in loaded.layers] == [
        "Flatten",
        "Dense",
        "Dense",
        "Softmax",
    ]
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), flat.predict(x, verbose=0)
    )
    # and its weights fit the nested model of the same layers
    _, nested = tutorial_models(seed=3)
    nested.set_weights(loaded.get_weights())
    np.testing.assert_array_equal(
        nested.predict(x, verbose=0), flat.predict(x, verbose=0)
    )


@pytest.mark.parametrize("built", [False, True])
@pytest.mark.parametrize("ids", ["int32", "float32"])
def test_an_inner_model_reading_ids_gets_them_as_integers(built, ids):
    """The input goes to the inner model's first layer (an Embedding): ids
    stay integers, floats holding ids are cast, out-of-range ids named."""
    tf.set_seed(0)
    inner = keras.Sequential([L.Embedding(10, 3), L.Flatten(), L.Dense(2)])
    outer = keras.Sequential([inner, L.Softmax()])
    if built:
        outer.build((None, 4))
    x = np.random.default_rng(0).integers(0, 10, (6, 4)).astype(ids)
    outer.compile("adam", "sparse_categorical_crossentropy")
    outer.fit(x, np.zeros(6, np.int64), epochs=1, verbose=0)
    np.testing.assert_allclose(
        outer.predict(x, verbose=0).sum(axis=1), np.ones(6), rtol=1e-6
    )
    with pytest.raises(
        ValueError, match=r"x\[0, 0\] = 12(\.0)? is not a valid id for Emb"
    ):
        outer.fit(np.full((2, 4), 12, ids), np.zeros(2, np.int64), verbose=0)
