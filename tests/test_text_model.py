"""TextVectorization as the first layer of a model: strings in fit, evaluate
and predict, int64 ids straight into the Embedding, no gradient into it, the
vocabulary saved with the model in every format, and the errors.

With Keras 3 installed (/work/kvenv), the ids such a model produces and the
files each side writes are checked against it (skipped otherwise)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import tinynn as tf
from tinynn import keras
from tinynn.datasets import toy_reviews

TEXTS = [
    "The cat sat, on the mat!",
    "the dog; ate my homework",
    "cat dog",
    "zz yy xx",
    "b a",
    "a great movie",
]
LABELS = np.array([1, 0, 1, 0, 1, 0])
PROBE = ["the cat ate a zebra", "mat", "ZZ top, dog!", ""]


def vectorizer(**kwargs):
    kwargs.setdefault("max_tokens", 12)
    kwargs.setdefault("output_sequence_length", 5)
    layer = keras.layers.TextVectorization(**kwargs)
    layer.adapt(TEXTS)
    return layer


def id_model(layer, dim=1):
    """TextVectorization then an Embedding whose row i is i: the model's
    output is the ids the first layer made."""
    size = layer.vocabulary_size()
    table = np.repeat(np.arange(size, dtype=np.float32)[:, None], dim, axis=1)
    embedding = keras.layers.Embedding(
        size, dim, embeddings_initializer=keras.initializers.Constant(0.0)
    )
    model = keras.Sequential([layer, embedding])
    model.build((None, 1))
    embedding.set_weights([table])
    return model


def classifier(layer, seed=0):
    tf.keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            layer,
            keras.layers.Embedding(layer.vocabulary_size(), 8),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(1),
        ]
    )
    model.compile("adam", keras.losses.BinaryCrossentropy(from_logits=True))
    return model


# ---- strings through the Trainer ----------------------------------------------------
@pytest.mark.parametrize(
    "x",
    [
        TEXTS,
        np.array(TEXTS),
        np.array(TEXTS, dtype=object),
        np.array(TEXTS).reshape(-1, 1),
        np.array([t.encode() for t in TEXTS]),
    ],
    ids=["list", "str_array", "object_array", "column", "bytes"],
)
def test_model_outputs_are_the_layers_ids(x):
    layer = vectorizer()
    model = id_model(layer)
    ids = model.predict(x, verbose=0)[..., 0]
    np.testing.assert_array_equal(ids, np.asarray(layer(TEXTS)))
    np.testing.assert_array_equal(model(x).numpy()[..., 0], ids)
    np.testing.assert_array_equal(model.predict_on_batch(x)[..., 0], ids)


def test_ids_reach_the_embedding_as_int64(monkeypatch):
    layer = vectorizer()
    model = classifier(layer)
    seen = []
    embedding = model.layers[1]
    original = type(embedding)._forward

    def spy(self, x, *args, **kwargs):
        seen.append(x.dtype)
        return original(self, x, *args, **kwargs)

    monkeypatch.setattr(type(embedding), "_forward", spy)
    model.fit(TEXTS, LABELS, epochs=1, batch_size=4, verbose=0)
    model.predict(["a new review"], verbose=0)
    assert seen and set(seen) == {np.dtype(np.int64)}


def test_fit_evaluate_predict_on_texts_learns_and_leaves_the_layer_alone():
    (x_train, y_train), (x_test, y_test) = toy_reviews.load_data(400, 100)
    layer = keras.layers.TextVectorization(max_tokens=80, output_sequence_length=40)
    layer.adapt(x_train)
    vocabulary = layer.get_vocabulary()
    model = classifier(layer)
    model.compile(
        "adam",
        keras.losses.BinaryCrossentropy(from_logits=True),
        # The output is a logit: as in TensorFlow's text-classification
        # tutorial, the accuracy's threshold is 0 (Keras compares the raw output)
        metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)],
    )
    history = model.fit(
        x_train,
        y_train,
        epochs=40,
        validation_data=(list(x_test), y_test),
        shuffle=True,
        verbose=0,
    )
    assert layer.weights == [] and layer.trainable_weights == []
    assert model.count_params() == layer.vocabulary_size() * 8 + 8 + 1
    assert history.history["val_binary_accuracy"][-1] >= 0.9
    loss, accuracy = model.evaluate(x_test.astype(object), y_test, verbose=0)
    assert accuracy >= 0.9
    assert model.predict(["the plot was superb"], verbose=0).shape == (1, 1)
    assert layer.get_vocabulary() == vocabulary  # fit does not adapt
    assert model.layers[0].output_shape == (None, 40)
    assert model.input_shape == (None, 1)


def test_validation_split_dataset_and_train_on_batch():
    layer = vectorizer()
    model = classifier(layer)
    model.fit(np.array(TEXTS), LABELS, validation_split=0.5, epochs=2, verbose=0)
    data = tf.data.Dataset.from_tensor_slices((np.array(TEXTS), LABELS)).batch(4)
    model.fit(data, epochs=2, verbose=0)
    texts_only = tf.data.Dataset.from_tensor_slices(np.array(TEXTS)).batch(4)
    np.testing.assert_allclose(
        model.predict(texts_only, verbose=0), model.predict(TEXTS, verbose=0)
    )
    assert np.isfinite(model.train_on_batch(TEXTS[:3], LABELS[:3]))
    assert np.isfinite(model.test_on_batch(TEXTS[:3], LABELS[:3]))


def test_string_input_layer_and_multi_hot_first_layer():
    layer = vectorizer()
    model = keras.Sequential(
        [
            keras.Input(shape=(), dtype="string"),
            layer,
            keras.layers.Embedding(12, 4),
            keras.layers.GlobalAveragePooling1D(),
        ]
    )
    assert model.input_shape == (None,)
    assert model.predict(TEXTS, verbose=0).shape == (6, 4)
    hot = vectorizer(output_mode="multi_hot", output_sequence_length=None)
    dense = keras.Sequential([hot, keras.layers.Dense(1, use_bias=False)])
    dense.build((None, 1))
    dense.layers[1].set_weights([np.arange(12, dtype=np.float32)[:, None]])
    expected = np.asarray(hot(TEXTS)) @ np.arange(12)
    np.testing.assert_allclose(dense.predict(TEXTS, verbose=0)[:, 0], expected)


# ---- saving -------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".tinynn", ".keras", ".h5"])
def test_saved_with_its_vocabulary_and_reloads_identically(tmp_path, suffix):
    layer = vectorizer(standardize="lower", max_tokens=None)
    model = classifier(layer)
    model.fit(TEXTS, LABELS, epochs=2, verbose=0)
    path = tmp_path / f"model{suffix}"
    model.save(path)
    again = keras.models.load_model(path)
    assert type(again.layers[0]).__name__ == "TextVectorization"
    assert again.layers[0].get_vocabulary() == layer.get_vocabulary()
    assert again.layers[0].get_config() == layer.get_config()
    for texts in (TEXTS, PROBE, ["a new review"]):
        np.testing.assert_array_equal(
            again.predict(texts, verbose=0), model.predict(texts, verbose=0)
        )


def test_config_holds_the_vocabulary_as_keras_names_it():
    config = vectorizer().get_config()
    assert config["vocabulary"] == vectorizer().get_vocabulary()[2:]
    assert config["vocabulary_size"] == 12
    for key in ("max_tokens", "standardize", "split", "ngrams", "output_mode"):
        assert key in config
    assert (config["sparse"], config["ragged"], config["encoding"]) == (
        False,
        False,
        "utf-8",
    )
    model = keras.Sequential([vectorizer(), keras.layers.Embedding(12, 2)])
    model.build((None, 1))
    entries = model.to_json()
    assert '"dtype": "string"' in entries  # the InputLayer, as Keras 3 writes it


# ---- errors --------------------------------------------------------------------------
def test_must_be_the_first_layer():
    with pytest.raises(ValueError, match="must be the first layer"):
        keras.Sequential([keras.layers.Dense(3), vectorizer()])
    model = keras.Sequential([keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="must be the first layer"):
        model.add(vectorizer())
    inputs = keras.Input(shape=(4,))
    with pytest.raises(ValueError, match="must be the first layer"):
        vectorizer()(keras.layers.Dense(3)(inputs))


def test_errors_name_the_problem():
    model = classifier(vectorizer())
    with pytest.raises(TypeError, match="x must hold strings"):
        model.fit(np.zeros((6, 1)), LABELS, verbose=0)
    with pytest.raises(TypeError, match=r"wrap it: \[text\]"):
        model.predict("one review")
    with pytest.raises(ValueError, match=r"shape \(n,\) or \(n, 1\)"):
        model.predict(np.array([["a", "b"]]))
    with pytest.raises(TypeError, match=r"x\[1\] is int"):
        model.predict(np.array(["a", 3], dtype=object))
    with pytest.raises(ValueError, match="x is empty"):
        model.predict([])
    unsized = keras.Sequential(
        [keras.layers.TextVectorization(), keras.layers.Embedding(5, 2)]
    )
    with pytest.raises(ValueError, match="output_sequence_length"):
        unsized.predict(TEXTS)
    empty = keras.Sequential(
        [
            keras.layers.TextVectorization(output_sequence_length=3),
            keras.layers.Embedding(5, 2),
        ]
    )
    with pytest.raises(ValueError, match="call adapt"):
        empty.predict(TEXTS)


# ---- the toy data set ----------------------------------------------------------------
def test_toy_reviews_are_deterministic_and_follow_their_rule():
    (x1, y1), (t1, u1) = toy_reviews.load_data(50, 20, seed=3)
    (x2, y2), _ = toy_reviews.load_data(50, 20, seed=3)
    assert x1.tolist() == x2.tolist() and y1.tolist() == y2.tolist()
    assert x1.shape == (50,) and t1.shape == (20,) and y1.dtype == np.int64
    for text, label in zip(np.concatenate([x1, t1]), np.concatenate([y1, u1])):
        words = text.replace(",", " ").replace(";", " ").rstrip(".!").split()
        good = sum(w in toy_reviews.POSITIVE for w in words)
        bad = sum(w in toy_reviews.NEGATIVE for w in words)
        assert label == int(good > bad) and good != bad
    (other, _), _ = toy_reviews.load_data(50, 20, seed=4)
    assert other.tolist() != x1.tolist()
    with pytest.raises(ValueError, match="odd"):
        toy_reviews.reviews(3, opinions=(2,))


# ---- Keras 3 as the oracle ---------------------------------------------------------
def keras3():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return pytest.importorskip("keras")


ORACLE_CASES = [
    {"output_sequence_length": 5},
    {"output_sequence_length": 3, "max_tokens": 6},
    {"output_sequence_length": 7, "standardize": "lower"},
    {"output_sequence_length": 9, "split": "character", "max_tokens": 10},
]


@pytest.mark.parametrize("kwargs", ORACLE_CASES)
def test_ids_of_a_text_first_model_match_keras(kwargs):
    k = keras3()
    theirs_layer = k.layers.TextVectorization(**kwargs)
    theirs_layer.adapt(np.array(TEXTS, dtype=object))
    size = theirs_layer.vocabulary_size()
    theirs = k.Sequential([theirs_layer, k.layers.Embedding(size, 1)])
    theirs.build((None,))
    theirs.layers[1].set_weights([np.arange(size, dtype=np.float32)[:, None]])
    kwargs = dict(kwargs)
    ours = id_model(vectorizer(max_tokens=kwargs.pop("max_tokens", None), **kwargs))
    for texts in (TEXTS, PROBE):
        expected = theirs.predict(np.array(texts, dtype=object), verbose=0)
        np.testing.assert_array_equal(ours.predict(texts, verbose=0), expected)


def test_keras_reads_our_file_and_we_read_keras_file(tmp_path):
    k = keras3()
    model = classifier(vectorizer())
    model.fit(TEXTS, LABELS, epochs=1, verbose=0)
    ours = tmp_path / "ours.keras"
    model.save(ours)
    theirs = k.models.load_model(ours)
    probe = np.array(TEXTS + PROBE, dtype=object)
    np.testing.assert_allclose(
        np.asarray(theirs.predict(probe, verbose=0)),
        model.predict(probe, verbose=0),
        rtol=1e-5,
        atol=1e-7,
    )
    # Keras 3 keeps the vocabulary in an asset file, not in the config
    written = tmp_path / "theirs.keras"
    theirs.save(written)
    back = keras.models.load_model(written)
    assert back.layers[0].get_vocabulary() == model.layers[0].get_vocabulary()
    np.testing.assert_allclose(
        back.predict(probe, verbose=0),
        np.asarray(theirs.predict(probe, verbose=0)),
        rtol=1e-5,
        atol=1e-7,
    )
