"""Model structure: where backpropagation stops, and changes of structure
after training (pop/add)."""

from __future__ import annotations

import numpy as np
import pytest

import tinynn as tf
from tinynn import _backend


def data(n=96, shape=(6, 5), classes=4, seed=0):
    r = np.random.default_rng(seed)
    return r.random((n, *shape)).astype(np.float32), r.integers(0, classes, n)


def model_with(first_layers, seed=0):
    tf.set_seed(seed)
    model = tf.keras.Sequential(
        [
            *first_layers,
            tf.keras.layers.Dense(16, activation="relu"),
            tf.keras.layers.Dense(4, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize(
    "first",
    [
        lambda: [tf.keras.layers.Flatten(input_shape=(6, 5))],
        lambda: [
            tf.keras.layers.Flatten(input_shape=(6, 5)),
            tf.keras.layers.Dropout(0.1),
        ],
        lambda: [
            tf.keras.layers.InputLayer(input_shape=(6, 5)),
            tf.keras.layers.Flatten(),
        ],
    ],
)
def test_no_input_gradient_is_computed_for_the_data(first, dense_backward_calls):
    model = model_with(first())
    x, y = data()
    model.train_on_batch(x, y)
    # Backward runs from the output: the last Dense needs dx (a Dense with
    # weights is below it), the first Dense does not (only data below it).
    assert dense_backward_calls == [((16, 4), True), ((30, 16), False)]


def test_a_flatten_in_front_changes_no_result():
    x, y = data()
    flat = model_with([tf.keras.layers.Flatten(input_shape=(6, 5))])
    plain = model_with([tf.keras.layers.InputLayer(input_shape=(30,))])
    plain.set_weights(flat.get_weights())
    flat.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    plain.fit(
        x.reshape(len(x), -1), y, batch_size=16, epochs=2, shuffle=False, verbose=0
    )
    for a, b in zip(flat.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_pop_and_add_after_fit_train_the_new_structure():
    x, y = data()
    model = model_with([tf.keras.layers.Flatten(input_shape=(6, 5))])
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    model.pop()
    model.add(tf.keras.layers.Dense(7, activation="softmax"))
    model.compile("adam", "sparse_categorical_crossentropy")
    y7 = np.random.default_rng(1).integers(0, 7, len(x))
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y7, batch_size=32, epochs=1, verbose=0)
    assert model.predict(x, verbose=0).shape == (len(x), 7)
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def softmax_models():
    """Dense(4, softmax) and Dense(4) + Softmax() with the same weights."""
    tf.set_seed(3)
    fused = tf.keras.Sequential(
        [
            tf.keras.layers.Flatten(input_shape=(6, 5)),
            tf.keras.layers.Dense(4, activation="softmax"),
        ]
    )
    layered = tf.keras.Sequential(
        [
            tf.keras.layers.Flatten(input_shape=(6, 5)),
            tf.keras.layers.Dense(4),
            tf.keras.layers.Softmax(),
        ]
    )
    layered.set_weights(fused.get_weights())
    for model in (fused, layered):
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return fused, layered


def test_a_softmax_layer_fuses_with_cross_entropy_like_dense_softmax(monkeypatch):
    fused, layered = softmax_models()
    x, y = data()
    assert layered._trainer.output_mode() == "fused"
    calls = []
    real = _backend.softmax_xent
    monkeypatch.setattr(
        _backend, "softmax_xent", lambda *a: calls.append(1) or real(*a)
    )
    history_a = fused.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    history_b = layered.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert len(calls) == 2 * 2 * 6  # both models, 2 epochs of 6 batches: fused
    assert history_a.history == history_b.history
    for a, b in zip(fused.get_weights(), layered.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        fused.predict(x, verbose=0), layered.predict(x, verbose=0)
    )


def test_softmax_layer_round_trips_through_a_file_and_rejects_other_axes(tmp_path):
    _, layered = softmax_models()
    path = tmp_path / "softmax.tnn"
    layered.save(path)
    loaded = tf.keras.models.load_model(path)
    assert type(loaded.layers[-1]).__name__ == "Softmax"
    assert loaded.layers[-1].get_config()["axis"] == -1
    with pytest.raises(ValueError, match=r"Softmax: axis must be -1 .* got 1"):
        tf.keras.layers.Softmax(axis=1)


def test_a_layer_shared_by_two_models_trains_through_either():
    tf.set_seed(4)
    shared = tf.keras.layers.Dense(8, activation="relu", input_shape=(30,))
    first = tf.keras.Sequential(
        [shared, tf.keras.layers.Dense(4, activation="softmax")]
    )
    second = tf.keras.Sequential(
        [shared, tf.keras.layers.Dense(3, activation="softmax")]
    )
    for model in (first, second):
        model.compile(tf.keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    x, y = data(shape=(30,))
    for model, classes in ((first, 4), (second, 3), (first, 4)):
        before = shared.get_weights()
        model.fit(x, y % classes, batch_size=32, epochs=1, verbose=0)
        after = shared.get_weights()
        assert not np.array_equal(before[0], after[0]), "the shared layer was frozen"
        # Both models see the one set of shared weights.
        for m in (first, second):
            np.testing.assert_array_equal(m.layers[0].get_weights()[0], after[0])
    # The first model's outputs use the shared weights as they are now.
    h = np.maximum(x @ shared.get_weights()[0] + shared.get_weights()[1], 0)
    logits = h @ first.layers[1].get_weights()[0] + first.layers[1].get_weights()[1]
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(
        first.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6
    )


def test_get_layer_by_name_or_index_as_in_keras():
    model = model_with([tf.keras.layers.Flatten(input_shape=(6, 5))])
    flatten, hidden, out = model.layers
    assert model.get_layer(name=hidden.name) is hidden
    assert model.get_layer(hidden.name) is hidden
    assert model.get_layer(index=0) is flatten
    assert model.get_layer(index=-1) is out
    with pytest.raises(ValueError, match="no such layer: nope"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="at index 3 but model only has 3 layers"):
        model.get_layer(index=3)
    with pytest.raises(ValueError, match="only a layer name or a layer index"):
        model.get_layer(name=out.name, index=0)
    with pytest.raises(ValueError, match="either a layer name or a layer index"):
        model.get_layer()
    with pytest.raises(TypeError, match="index must be an int"):
        model.get_layer(index="0")


def test_sequential_delegates_training_and_keeps_its_public_signatures():
    import inspect

    from tinynn.training import Trainer

    for name in ("compile", "fit", "evaluate", "predict", "train_on_batch"):
        method = getattr(tf.keras.Sequential, name)
        assert inspect.signature(method) == inspect.signature(getattr(Trainer, name))
        assert method.__doc__ == getattr(Trainer, name).__doc__
    signature = inspect.signature(tf.keras.Sequential.fit)
    assert list(signature.parameters)[1:5] == ["x", "y", "batch_size", "epochs"]
    assert signature.parameters["batch_size"].default is None


# ---- a model nested in a Sequential (the TensorFlow tutorials' probability_model)
def test_sequential_given_a_model_applies_its_layers_then_the_next():
    tf.set_seed(3)
    inner = tf.Sequential(
        [
            tf.layers.InputLayer(shape=(4,)),  # the shape lives in the model only
            tf.layers.Dense(5, activation="relu"),
            tf.layers.Dense(3),
        ]
    )
    outer = tf.Sequential([inner, tf.layers.Softmax()])
    assert outer.built and outer.input_shape == (None, 4)  # from the inner model
    x = np.random.default_rng(0).normal(size=(7, 4)).astype(np.float32)
    logits = np.asarray(inner(x), dtype=np.float64)
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(np.asarray(outer(x)), expected, rtol=1e-5, atol=1e-7)
    assert outer.input_shape == (None, 4) and outer.output_shape == (None, 3)


def test_a_nested_model_shares_its_weights_with_the_outer_one():
    tf.set_seed(4)
    inner = tf.Sequential([tf.layers.Dense(3, input_shape=(2,))])
    outer = tf.Sequential([inner, tf.layers.Softmax()])
    outer.compile("sgd", "sparse_categorical_crossentropy")
    before = inner.get_weights()[0].copy()
    x = np.ones((8, 2), np.float32)
    outer.fit(x, np.zeros(8, np.int64), epochs=1, verbose=0)
    after = inner.get_weights()[0]
    assert not np.array_equal(before, after)  # training the outer trained the inner
    np.testing.assert_array_equal(after, outer.get_weights()[0])


def test_a_model_cannot_be_added_to_itself_or_add_nothing():
    model = tf.Sequential([tf.layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError, match="cannot be added to itself"):
        model.add(model)
    with pytest.raises(ValueError, match="has no layers"):
        tf.Sequential([tf.Sequential()])


# ---- what tinynn deliberately lacks says so (docs/keras-differences.md)
@pytest.mark.parametrize(
    "owner, name, hint",
    [
        ("tf", "GradientTape", "value_and_grad"),
        ("tf", "Variable", "NumPy arrays"),
        ("tf", "function", "@tf.function"),
        ("tf.keras.layers", "SeparableConv2D", "other convolutions"),
        ("tf.keras.layers", "LSTM", "recurrent"),
    ],
)
def test_unsupported_tensorflow_names_explain_themselves(owner, name, hint):
    module = tf if owner == "tf" else tf.keras.layers
    with pytest.raises(AttributeError, match="Differences from tf.keras") as info:
        getattr(module, name)
    assert f"{owner}.{name} is not available in tinynn" in str(info.value)
    assert hint in str(info.value)


def test_other_missing_names_are_plain_attribute_errors():
    assert not hasattr(tf, "no_such_name") and not hasattr(tf.keras.layers, "Nope")
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        _ = tf.no_such_name


# Keras 2's default layer names (as its summaries print them).
@pytest.mark.parametrize(
    "layer, name",
    [
        (lambda: tf.layers.Dense(2), "dense"),
        (lambda: tf.layers.ReLU(), "re_lu"),
        (lambda: tf.layers.LeakyReLU(), "leaky_re_lu"),
        (lambda: tf.layers.PReLU(), "p_re_lu"),
        (lambda: tf.layers.ELU(), "elu"),
        (lambda: tf.layers.BatchNormalization(), "batch_normalization"),
        (lambda: tf.layers.LayerNormalization(), "layer_normalization"),
    ],
)
def test_default_layer_names_follow_keras(layer, name):
    tf.backend.clear_session()
    assert layer().name == name
