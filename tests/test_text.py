"""Keras 2's text preprocessing: pad_sequences with every argument, the
Tokenizer (ids, matrices, JSON), hashing; documented examples, and
tf_keras itself as an oracle when installed."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import tinynn as tf
from tinynn.text import (
    Tokenizer,
    hashing_trick,
    one_hot,
    pad_sequences,
    text_to_word_sequence,
    tokenizer_from_json,
)

TEXTS = [
    "The cat sat on the mat.",
    "The dog ate my homework!",
    "Dogs and cats, living together; mass hysteria?",
    "",
    "the THE The\tthe\nend",
]


def test_names_are_where_keras_has_them():
    assert tf.keras.preprocessing.sequence.pad_sequences is pad_sequences
    assert tf.keras.utils.pad_sequences is pad_sequences
    assert tf.keras.preprocessing.text.Tokenizer is Tokenizer


def test_pad_sequences_documented_behaviour():
    seqs = [[1, 2, 3], [4, 5], [6]]
    assert pad_sequences(seqs).tolist() == [[1, 2, 3], [0, 4, 5], [0, 0, 6]]
    assert pad_sequences(seqs, padding="post").tolist()[2] == [6, 0, 0]
    assert pad_sequences(seqs, maxlen=2).tolist() == [[2, 3], [4, 5], [0, 6]]
    assert pad_sequences(seqs, maxlen=2, truncating="post")[0].tolist() == [1, 2]
    assert pad_sequences(seqs, value=-1)[2].tolist() == [-1, -1, 6]
    assert pad_sequences(seqs).dtype == np.int32
    out = pad_sequences([[0.5]], maxlen=2, dtype="float32")
    assert out.dtype == np.float32 and out.tolist() == [[0.0, 0.5]]
    assert pad_sequences([[], [1]]).tolist() == [[0], [1]]
    vectors = pad_sequences([np.ones((2, 3)), np.ones((1, 3))], dtype="float32")
    assert vectors.shape == (2, 2, 3) and vectors[1, 0].tolist() == [0, 0, 0]


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match='Padding type "middle" not understood'):
        pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match='Truncating type "x" not understood'):
        pad_sequences([[1]], truncating="x")
    with pytest.raises(ValueError, match="non-iterable"):
        pad_sequences([1, 2])
    with pytest.raises(ValueError, match="dtype=object"):
        pad_sequences([["a"]], value="x")


def test_text_to_word_sequence_and_hashing():
    assert text_to_word_sequence("Hello, World!  twice") == ["hello", "world", "twice"]
    assert text_to_word_sequence("a-b", filters="", lower=False) == ["a-b"]
    ids = hashing_trick("the cat the", 10, "md5")
    assert ids[0] == ids[2] and all(1 <= i <= 9 for i in ids)
    assert ids == hashing_trick("The cat THE", 10, "md5")
    assert len(one_hot("a b c", 5)) == 3


def test_tokenizer_ranks_by_count_then_first_seen():
    t = Tokenizer()
    t.fit_on_texts(["b a", "a c c"])
    assert t.word_index == {"a": 1, "c": 2, "b": 3}  # a, c twice (a seen first)
    assert t.word_counts == {"b": 1, "a": 2, "c": 2}
    assert t.texts_to_sequences(["c b d"]) == [[2, 3]]
    t = Tokenizer(num_words=3, oov_token="<OOV>")
    t.fit_on_texts(["b a", "a c c"])
    assert t.word_index["<OOV>"] == 1
    assert t.texts_to_sequences(["a c b zzz"]) == [[2, 1, 1, 1]]
    assert t.sequences_to_texts([[2, 1, 9]]) == ["a <OOV> <OOV>"]


def test_tokenizer_matrices():
    t = Tokenizer()
    t.fit_on_texts(["a a b", "b c"])
    binary = t.texts_to_matrix(["a a b"], mode="binary")
    assert binary.tolist() == [[0, 1, 1, 0]]
    assert t.texts_to_matrix(["a a b"], mode="count").tolist() == [[0, 2, 1, 0]]
    freq = t.texts_to_matrix(["a a b"], mode="freq")
    np.testing.assert_allclose(freq, [[0, 2 / 3, 1 / 3, 0]])
    tfidf = t.texts_to_matrix(["a a"], mode="tfidf")
    a = t.word_index["a"]
    expected = (1 + np.log(2)) * np.log(1 + 2 / (1 + 1))
    assert tfidf[0, a] == pytest.approx(expected)
    with pytest.raises(ValueError, match="Unknown vectorization mode"):
        t.texts_to_matrix(["a"], mode="nope")


def test_tokenizer_json_round_trip():
    t = Tokenizer(num_words=5, oov_token="?")
    t.fit_on_texts(TEXTS)
    back = tokenizer_from_json(t.to_json())
    assert back.word_index == t.word_index and back.num_words == 5
    assert back.texts_to_sequences(TEXTS) == t.texts_to_sequences(TEXTS)
    np.testing.assert_array_equal(
        back.texts_to_matrix(TEXTS, "tfidf"), t.texts_to_matrix(TEXTS, "tfidf")
    )
    assert json.loads(t.to_json())["class_name"] == "Tokenizer"


def test_char_level():
    t = Tokenizer(char_level=True)
    t.fit_on_texts(["abca"])
    assert t.word_index == {"a": 1, "b": 2, "c": 3}


# ---- tf_keras as an oracle (skipped without it) ---------------------------------------
def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return pytest.importorskip("tf_keras")


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"maxlen": 3},
        {"maxlen": 3, "padding": "post", "truncating": "post"},
        {"maxlen": 5, "value": 9, "dtype": "int64"},
        {"dtype": "float32", "value": 0.5, "padding": "post"},
    ],
)
def test_pad_sequences_matches_keras(kwargs):
    keras = _keras()
    seqs = [[1, 2, 3, 4], [5], [], [6, 7]]
    expected = keras.preprocessing.sequence.pad_sequences(seqs, **kwargs)
    ours = pad_sequences(seqs, **kwargs)
    assert ours.dtype == expected.dtype
    np.testing.assert_array_equal(ours, expected)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"num_words": 4},
        {"num_words": 4, "oov_token": "<OOV>"},
        {"lower": False, "filters": ""},
        {"char_level": True},
    ],
)
def test_tokenizer_matches_keras(kwargs):
    keras = _keras()
    theirs = keras.preprocessing.text.Tokenizer(**kwargs)
    ours = Tokenizer(**kwargs)
    theirs.fit_on_texts(TEXTS)
    ours.fit_on_texts(TEXTS)
    assert ours.word_index == theirs.word_index
    assert dict(ours.word_counts) == dict(theirs.word_counts)
    probe = TEXTS + ["unknown words and the cat"]
    assert ours.texts_to_sequences(probe) == theirs.texts_to_sequences(probe)
    seqs = theirs.texts_to_sequences(probe)
    assert ours.sequences_to_texts(seqs) == theirs.sequences_to_texts(seqs)
    for mode in ("binary", "count", "tfidf", "freq"):
        np.testing.assert_allclose(
            ours.texts_to_matrix(probe, mode), theirs.texts_to_matrix(probe, mode)
        )
    back = tokenizer_from_json(theirs.to_json())
    assert back.texts_to_sequences(probe) == theirs.texts_to_sequences(probe)


def test_hashing_trick_md5_matches_keras():
    keras = _keras()
    text = "The quick brown fox, jumps over the lazy dog!"
    assert hashing_trick(text, 50, "md5") == keras.preprocessing.text.hashing_trick(
        text, 50, "md5"
    )
    assert text_to_word_sequence(text) == (
        keras.preprocessing.text.text_to_word_sequence(text)
    )


# ---- TextVectorization ------------------------------------------------------------------
TV_TEXTS = [
    "The cat sat, on the mat!",
    "the dog; ate my homework",
    "cat dog",
    "zz yy xx",
    "b a",
]
TV_CASES = [
    {},
    {"max_tokens": 6},
    {"output_mode": "multi_hot", "max_tokens": 6},
    {"output_mode": "count"},
    {"output_mode": "tf_idf", "max_tokens": 6},
    {"output_sequence_length": 4},
    {"standardize": "lower", "split": "character", "max_tokens": 8},
]


def test_text_vectorization_documented_behaviour():
    v = tf.keras.layers.TextVectorization(output_sequence_length=4)
    v.adapt(["the cat sat", "the dog"])
    # 'the' twice, then ties by the token in descending order
    assert v.get_vocabulary() == ["", "[UNK]", "the", "sat", "dog", "cat"]
    assert v(["the dog ran"]).tolist() == [[2, 4, 1, 0]]
    assert v(np.array([["the cat"]])).tolist() == [[2, 5, 0, 0]]
    fixed = tf.keras.layers.TextVectorization(vocabulary=["a", "b"])
    assert fixed.get_vocabulary() == ["", "[UNK]", "a", "b"]
    assert fixed(["b c a"]).tolist() == [[3, 1, 2]]
    hot = tf.keras.layers.TextVectorization(
        vocabulary=["a", "b"], output_mode="multi_hot"
    )
    assert hot(["b b c"]).tolist() == [[1.0, 0.0, 1.0]]


def test_text_vectorization_adapts_on_a_dataset_and_keeps_its_config():
    texts = tf.data.Dataset.from_tensor_slices(np.array(TV_TEXTS)).batch(2)
    v = tf.keras.layers.TextVectorization(output_mode="tf_idf", max_tokens=6)
    v.adapt(texts)
    config = v.get_config()
    assert config["vocabulary"] == v.get_vocabulary()[1:]
    again = tf.keras.layers.TextVectorization.from_config(config)
    np.testing.assert_allclose(again(TV_TEXTS), v(TV_TEXTS))
    ids = tf.keras.layers.TextVectorization(output_sequence_length=3)
    ids.adapt(TV_TEXTS)
    mapped = tf.data.Dataset.from_tensor_slices(np.array(TV_TEXTS)).batch(2).map(ids)
    assert next(mapped.as_numpy_iterator()).shape == (2, 3)


@pytest.mark.parametrize("kwargs", TV_CASES)
def test_text_vectorization_matches_keras(kwargs):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    keras = pytest.importorskip("keras")
    theirs = keras.layers.TextVectorization(**kwargs)
    theirs.adapt(TV_TEXTS)
    ours = tf.keras.layers.TextVectorization(**kwargs)
    ours.adapt(TV_TEXTS)
    assert ours.get_vocabulary() == [str(t) for t in theirs.get_vocabulary()]
    probe = np.array(["the cat ate a zebra", "mat", "ZZ top, dog!"])
    np.testing.assert_allclose(ours(probe), np.asarray(theirs(probe)), rtol=1e-6)
