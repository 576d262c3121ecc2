"""IMDB movie reviews for sentiment (Maas et al., 2011): 25,000 training and
25,000 test reviews as lists of word ids, labels 0 (negative) / 1
(positive), with ``load_data`` and ``get_word_index`` as in tf.keras.

Keras's ``imdb.npz`` stores the reviews as a pickled object array; tinynn
reads it with an unpickler that builds only arrays of integer lists
(tinynn/datasets/_npz.py), never arbitrary objects.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _npz, _sequences
from ._fetch import fetch

__all__ = ["get_word_index", "load_data"]

_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"


def load_data(
    path: Any = "imdb.npz",
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    seed: int = 113,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
    **kwargs: Any,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``((x_train, y_train), (x_test, y_test))``: x are 1-d object arrays of
    lists of word ids, y int labels.

    Word ids are frequency ranks shifted by `index_from` (the most frequent
    word is ``1 + index_from``); each review starts with `start_char`; ids
    outside [skip_top, num_words) become `oov_char` (dropped when None);
    reviews of `maxlen` words or more are left out. Both sets are shuffled
    with ``numpy.random.RandomState(seed)``, as Keras does.

    `path`: an existing file (a Keras imdb.npz), or the file name to look
    for in ``$TINYNN_DATASETS/imdb/`` and ``~/.tinynn/datasets/imdb/``
    before downloading (sha256-checked).
    """
    where = "imdb.load_data"
    _sequences.check_kwargs(kwargs, where)
    file = fetch("imdb", "imdb.npz", _URL + "imdb.npz", _SHA256, path)
    x_train, y_train, x_test, y_test = _npz.load(
        file, ("x_train", "y_train", "x_test", "y_test")
    )
    rng = np.random.RandomState(seed)
    x_train, y_train = _sequences.shuffled(rng, x_train, y_train)
    x_test, y_test = _sequences.shuffled(rng, x_test, y_test)
    x_train = _sequences.shift(x_train, start_char, index_from)
    x_test = _sequences.shift(x_test, start_char, index_from)
    if maxlen:
        x_train, y_train = _sequences.drop_long(maxlen, x_train, y_train)
        x_test, y_test = _sequences.drop_long(maxlen, x_test, y_test)
        if not x_train or not x_test:
            raise ValueError(
                f"{where}: After filtering for sequences shorter than maxlen="
                f"{maxlen}, no sequence was kept. Increase maxlen."
            )
    xs = _sequences.limit_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([np.asarray(y_train), np.asarray(y_test)])
    n = len(x_train)
    return (
        (_sequences.object_array(xs[:n]), labels[:n]),
        (_sequences.object_array(xs[n:]), labels[n:]),
    )


def get_word_index(path: Any = "imdb_word_index.json") -> dict[str, int]:
    """{word: rank} (1 is the most frequent word; add `index_from` to match
    load_data's ids)."""
    file = fetch(
        "imdb", "imdb_word_index.json", _URL + "imdb_word_index.json", _INDEX_MD5, path
    )
    return _sequences.word_index(file, "imdb.get_word_index")
