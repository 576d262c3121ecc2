"""A Sequential nested in a Sequential against real Keras 2.x (``tf_keras``,
``.h5``) and Keras 3 (``.keras``), in float32: the TensorFlow beginner
tutorial's ``probability_model = Sequential([model, Softmax()])`` on the
same weights gives the same probabilities (1e-6) before and after fitting
the inner model with SGD (1e-5), the same ``layers``, the same summary
rows and parameter counts as Keras 2 (frozen or not), and files move both
ways: what tinynn writes loads in Keras as a nested Sequential with the
same predictions, and what Keras writes loads in tinynn so.

Optional oracle: each half skips without its Keras; TINYNN_REQUIRE_KERAS
makes a missing one fail. The required tests read files real Keras wrote
(tests/test_keras_fixtures.py, ``keras<N>_nested_sequential``).
"""

from __future__ import annotations

import numpy as np
import pytest
from keras_oracle import file_format_params, keras_2_and_3

import tinynn

keras2, keras3 = keras_2_and_3()
pytest.importorskip("h5py")
KERASES = file_format_params(keras2, keras3)


def real_keras(which):
    return keras2 if which == "keras2" else keras3


@pytest.fixture(autouse=True)
def float32_everywhere():
    tinynn.backend.clear_session()
    tinynn.set_floatx("float32")
    for k in (keras2, keras3):
        if k is not None:
            k.backend.clear_session()
    if keras3 is not None:
        before = keras3.config.floatx(), keras3.config.dtype_policy()
        keras3.config.set_floatx("float32")
        keras3.config.set_dtype_policy("float32")
    yield
    if keras3 is not None:
        keras3.config.set_floatx(before[0])
        keras3.config.set_dtype_policy(before[1])


def tutorial(k):
    """The tutorial's model (logits) and probability_model, in library `k`
    (tinynn.keras or a real Keras), 28x28 inputs as in MNIST."""
    model = k.Sequential(
        [
            k.layers.Flatten(input_shape=(28, 28)),
            k.layers.Dense(128, activation="relu"),
            k.layers.Dense(10),
        ]
    )
    return model, k.Sequential([model, k.layers.Softmax()])


def images(n=64, seed=0):
    r = np.random.default_rng(seed)
    return r.random((n, 28, 28)).astype(np.float32), r.integers(0, 10, n)


def both(which):
    """(Keras's tutorial models, tinynn's with Keras's initial weights)."""
    k = real_keras(which)
    theirs = tutorial(k)
    mine = tutorial(tinynn.keras)
    mine[0].set_weights(theirs[0].get_weights())
    return theirs, mine


def summary_rows(model):
    """Each table row and count line of a Keras 2-style summary, as tokens."""
    lines = []
    model.summary(print_fn=lambda line, *a, **kw: lines.append(line))
    rows = [line.split() for line in lines if "(None" in line]
    counts = [
        line.split("(")[0].split()
        for line in lines
        if line.strip().startswith(("Total", "Trainable", "Non-trainable"))
    ]
    return rows, counts


@pytest.mark.parametrize("which, suffix", KERASES)
def test_tutorial_probability_model_predicts_and_trains_as_keras(which, suffix):
    (model_k, prob_k), (model_t, prob_t) = both(which)
    k = real_keras(which)
    x, y = images()
    assert [(layer.name, type(layer).__name__) for layer in prob_t.layers] == [
        (layer.name, type(layer).__name__) for layer in prob_k.layers
    ]
    assert prob_t.count_params() == prob_k.count_params() == 101770
    np.testing.assert_allclose(
        np.asarray(prob_t(x[:5])), np.asarray(prob_k(x[:5])), rtol=0, atol=1e-6
    )
    # the tutorial fits the inner model; the outer one sees the new weights
    for lib, model in ((k, model_k), (tinynn.keras, model_t)):
        model.compile(
            optimizer=lib.optimizers.SGD(0.1),
            loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        model.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    np.testing.assert_allclose(
        prob_t.predict(x, verbose=0), prob_k.predict(x, verbose=0), rtol=0, atol=1e-5
    )
    # and fitting the outer model trains the inner one's weights, as in Keras
    for lib, model in ((k, prob_k), (tinynn.keras, prob_t)):
        model.compile(
            optimizer=lib.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy"
        )
        model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    np.testing.assert_allclose(
        model_t.predict(x, verbose=0), model_k.predict(x, verbose=0), rtol=0, atol=1e-4
    )


@pytest.mark.skipif(keras2 is None, reason="needs tf_keras")
@pytest.mark.parametrize("frozen", [False, True])
def test_summary_rows_and_counts_are_keras_2s(frozen):
    (model_k, prob_k), (model_t, prob_t) = both("keras2")
    if frozen:
        model_k.trainable = model_t.trainable = False
    rows_k, counts_k = summary_rows(prob_k)
    rows_t, counts_t = summary_rows(prob_t)
    assert (
        rows_t
        == rows_k
        == [
            [model_k.name, "(Sequential)", "(None,", "10)", "101770"],
            ["softmax", "(Softmax)", "(None,", "10)", "0"],
        ]
    )
    # Keras 2 prints counts without separators and with sizes in bytes
    assert [c[:-1] + [c[-1].replace(",", "")] for c in counts_t] == counts_k


@pytest.mark.parametrize("which, suffix", KERASES)
def test_tinynn_files_load_in_keras_as_a_nested_sequential(tmp_path, which, suffix):
    k = real_keras(which)
    model, probability_model = tutorial(tinynn.keras)
    x, y = images()
    probability_model.compile("adam", "sparse_categorical_crossentropy")
    probability_model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / f"tinynn{suffix}"
    probability_model.save(path)
    theirs = k.models.load_model(path)
    assert [(layer.name, type(layer).__name__) for layer in theirs.layers] == [
        (model.name, "Sequential"),
        ("softmax", "Softmax"),
    ]
    assert [layer.name for layer in theirs.layers[0].layers] == [
        layer.name for layer in model.layers
    ]
    np.testing.assert_allclose(
        theirs.predict(x, verbose=0),
        probability_model.predict(x, verbose=0),
        rtol=0,
        atol=1e-6,
    )
    # an inner model built by the outer one's Input, and a frozen one
    inner = tinynn.keras.Sequential(
        [tinynn.keras.layers.Dense(4), tinynn.keras.layers.Dense(3)], name="inner"
    )
    inner.trainable = False
    outer = tinynn.keras.Sequential(
        [tinynn.keras.Input((5,)), inner, tinynn.keras.layers.Softmax()]
    )
    outer.save(tmp_path / f"unbuilt{suffix}")
    theirs = k.models.load_model(tmp_path / f"unbuilt{suffix}")
    assert theirs.layers[0].name == "inner" and not theirs.trainable_weights
    x5 = np.random.default_rng(1).normal(size=(4, 5)).astype(np.float32)
    np.testing.assert_allclose(
        theirs.predict(x5, verbose=0), outer.predict(x5, verbose=0), rtol=0, atol=1e-6
    )


@pytest.mark.parametrize("which, suffix", KERASES)
def test_keras_files_load_in_tinynn_as_a_nested_sequential(tmp_path, which, suffix):
    k = real_keras(which)
    model, probability_model = tutorial(k)
    x, y = images()
    probability_model.compile("adam", "sparse_categorical_crossentropy")
    probability_model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / f"keras{suffix}"
    probability_model.save(path)
    ours = tinynn.keras.models.load_model(path)
    assert [(layer.name, type(layer).__name__) for layer in ours.layers] == [
        (model.name, "Sequential"),
        ("softmax", "Softmax"),
    ]
    inner = ours.get_layer(model.name)
    assert [layer.name for layer in inner.layers] == [
        layer.name for layer in model.layers
    ]
    np.testing.assert_allclose(
        ours.predict(x, verbose=0),
        probability_model.predict(x, verbose=0),
        rtol=0,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        inner.predict(x, verbose=0), model.predict(x, verbose=0), rtol=0, atol=1e-5
    )
    # and to_json both ways
    again = tinynn.keras.models.model_from_json(probability_model.to_json())
    assert [type(layer).__name__ for layer in again.layers] == ["Sequential", "Softmax"]
    theirs = k.models.model_from_json(ours.to_json())
    assert [type(layer).__name__ for layer in theirs.layers] == [
        "Sequential",
        "Softmax",
    ]
