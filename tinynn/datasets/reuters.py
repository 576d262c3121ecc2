"""Reuters newswires, 46 topics: 11,228 wires as lists of word ids, with
``load_data``, ``get_word_index`` and ``get_label_names`` as in tf.keras.
The stored object arrays are read without unpickling arbitrary objects
(tinynn/datasets/_npz.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _npz, _sequences
from ._fetch import fetch

__all__ = ["get_label_names", "get_word_index", "load_data"]

_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
_INDEX_MD5 = "4d44cc38712099c9e383dc6e5f11a921"

_LABELS = (
    "cocoa grain veg-oil earn acq wheat copper housing money-supply coffee sugar "
    "trade reserves ship cotton carcass crude nat-gas cpi money-fx interest gnp "
    "meal-feed alum oilseed gold tin strategic-metal livestock retail ipi "
    "iron-steel rubber heat jobs lei bop zinc orange pet-chem dlr gas silver wpi "
    "hog lead"
).split()


def load_data(
    path: Any = "reuters.npz",
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    test_split: float = 0.2,
    seed: int = 113,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
    **kwargs: Any,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``((x_train, y_train), (x_test, y_test))``: the wires shuffled with
    ``RandomState(seed)``, the last `test_split` of them for testing; ids
    as in imdb.load_data (start_char, index_from, skip_top, num_words,
    oov_char, maxlen)."""
    where = "reuters.load_data"
    _sequences.check_kwargs(kwargs, where)
    if not 0 <= test_split < 1:
        raise ValueError(f"{where}: test_split must be in [0, 1); got {test_split!r}")
    file = fetch("reuters", "reuters.npz", _URL + "reuters.npz", _SHA256, path)
    xs, labels = _npz.load(file, ("x", "y"))
    xs, labels = _sequences.shuffled(np.random.RandomState(seed), xs, labels)
    xs = _sequences.shift(xs, start_char, index_from)
    if maxlen:
        xs, labels = _sequences.drop_long(maxlen, xs, labels)
    xs = _sequences.limit_vocabulary(xs, num_words, skip_top, oov_char)
    n = int(len(xs) * (1 - test_split))
    labels = np.asarray(labels)
    return (
        (_sequences.object_array(xs[:n]), np.array(labels[:n])),
        (_sequences.object_array(xs[n:]), np.array(labels[n:])),
    )


def get_word_index(path: Any = "reuters_word_index.json") -> dict[str, int]:
    """{word: rank} for the Reuters word ids (before `index_from`)."""
    file = fetch(
        "reuters",
        "reuters_word_index.json",
        _URL + "reuters_word_index.json",
        _INDEX_MD5,
        path,
    )
    return _sequences.word_index(file, "reuters.get_word_index")


def get_label_names() -> tuple[str, ...]:
    """The 46 topic names, indexed by label."""
    return tuple(_LABELS)
