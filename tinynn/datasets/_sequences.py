"""What imdb.load_data and reuters.load_data do to the stored word-id
lists, as Keras does it: shuffle with ``RandomState(seed)``, prepend
`start_char`, shift by `index_from`, drop sequences of `maxlen` or more
words, map ids outside [skip_top, num_words) to `oov_char` (or drop them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def shuffled(rng: np.random.RandomState, *arrays: np.ndarray) -> list[np.ndarray]:
    order = np.arange(len(arrays[0]))
    rng.shuffle(order)
    return [a[order] for a in arrays]


def shift(xs: Any, start_char: Any, index_from: int) -> list[list[int]]:
    if start_char is not None:
        return [[start_char] + [w + index_from for w in x] for x in xs]
    if index_from:
        return [[w + index_from for w in x] for x in xs]
    return [list(x) for x in xs]


def drop_long(maxlen: int, xs: list, labels: Any) -> tuple[list, list]:
    """Only the sequences shorter than `maxlen` (Keras's _remove_long_seq)."""
    kept = [(x, y) for x, y in zip(xs, labels) if len(x) < maxlen]
    return [x for x, _ in kept], [y for _, y in kept]


def limit_vocabulary(xs: list, num_words: Any, skip_top: int, oov_char: Any) -> list:
    if not num_words:
        num_words = max(max(x) for x in xs if x) if any(xs) else 0
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def object_array(xs: list) -> np.ndarray:
    """A 1-d object array of lists (also when every list has the same length)."""
    out = np.empty(len(xs), dtype=object)
    for i, x in enumerate(xs):
        out[i] = x
    return out


def word_index(path: Path, where: str) -> dict[str, int]:
    try:
        with open(path, encoding="utf-8") as file:
            index = json.load(file)
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"{where}: {path} is not a readable JSON word index ({exc})"
        ) from None
    if not isinstance(index, dict):
        raise ValueError(f"{where}: {path} does not hold a {{word: id}} object")
    return index


def check_kwargs(kwargs: dict, where: str) -> None:
    if kwargs:
        raise TypeError(f"{where}: Unrecognized keyword arguments: {kwargs}.")
