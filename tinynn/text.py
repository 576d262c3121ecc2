"""Keras 2's text preprocessing: ``pad_sequences``, ``Tokenizer``,
``text_to_word_sequence``, ``one_hot``, ``hashing_trick``.

Also reachable as ``tf.keras.preprocessing.sequence.pad_sequences``,
``tf.keras.utils.pad_sequences`` and ``tf.keras.preprocessing.text.*``.
``TextVectorization`` is a layer (tinynn.layers.preprocessing), also
reachable here.
The behaviour is Keras's (keras_preprocessing 1.1), down to the order of
words with equal counts (first seen first) and the tf-idf formula.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict, defaultdict
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from ._checks import describe
from .layers.preprocessing import TextVectorization

__all__ = [
    "TextVectorization",
    "Tokenizer",
    "hashing_trick",
    "one_hot",
    "pad_sequences",
    "text_to_word_sequence",
    "tokenizer_from_json",
]

#: Keras's default filters: punctuation, tab and newline.
FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'


# ---- sequences ----------------------------------------------------------------------
def pad_sequences(
    sequences: Any,
    maxlen: int | None = None,
    dtype: Any = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0.0,
) -> np.ndarray:
    """Lists of ids as one array of shape (len(sequences), maxlen).

    Sequences shorter than `maxlen` (default: the longest) are filled with
    `value` before (``padding='pre'``, the default) or after ('post');
    longer ones lose their beginning (``truncating='pre'``) or end ('post').
    Elements may themselves be arrays (every one of the same shape).

    Example
    -------
    >>> pad_sequences([[1, 2, 3], [4]], maxlen=2).tolist()
    [[2, 3], [0, 4]]
    """
    where = "pad_sequences"
    if not hasattr(sequences, "__len__"):
        raise ValueError(
            f"{where}: `sequences` must be iterable; got {describe(sequences)}"
        )
    if padding not in ("pre", "post"):
        raise ValueError(f'{where}: Padding type "{padding}" not understood')
    if truncating not in ("pre", "post"):
        raise ValueError(f'{where}: Truncating type "{truncating}" not understood')
    lengths, sample_shape = [], ()
    shape_found = False
    for s in sequences:
        try:
            lengths.append(len(s))
        except TypeError:
            raise ValueError(
                f"{where}: `sequences` must be a list of iterables. Found non-iterable: "
                f"{s!r}"
            ) from None
        if not shape_found and len(s):
            sample_shape = np.asarray(s).shape[1:]
            shape_found = True
    if maxlen is None:
        maxlen = max(lengths, default=0)
    elif (
        isinstance(maxlen, bool)
        or not isinstance(maxlen, (int, np.integer))
        or maxlen < 0
    ):
        raise ValueError(
            f"{where}: maxlen must be a non-negative integer; got {maxlen!r}"
        )
    dtype = np.dtype(dtype)
    textual = dtype.kind in "US"
    if isinstance(value, str) and dtype.kind != "O" and not textual:
        raise ValueError(
            f"{where}: `dtype` {dtype} is not compatible with `value`'s type: "
            f"{type(value)}\nYou should set `dtype=object` for variable length strings."
        )
    out = np.full((len(lengths), int(maxlen), *sample_shape), value, dtype=dtype)
    if maxlen == 0:
        return out
    for i, s in enumerate(sequences):
        if not len(s):
            continue
        kept = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != sample_shape:
            raise ValueError(
                f"{where}: Shape of sample {kept.shape[1:]} of sequence at position {i} "
                f"is different from expected shape {sample_shape}"
            )
        if padding == "post":
            out[i, : len(kept)] = kept
        else:
            out[i, -len(kept) :] = kept
    return out


# ---- words ----------------------------------------------------------------------------
def text_to_word_sequence(
    input_text: str, filters: str = FILTERS, lower: bool = True, split: str = " "
) -> list[str]:
    """The words of `input_text`: lower-cased, every character of `filters`
    turned into `split`, split on `split`, empty pieces dropped."""
    if not isinstance(input_text, str):
        raise TypeError(
            f"text_to_word_sequence: input_text must be a str; got {describe(input_text)}"
        )
    if lower:
        input_text = input_text.lower()
    table = str.maketrans({c: split for c in filters})
    return [w for w in input_text.translate(table).split(split) if w]


def _md5(word: str) -> int:
    return int(hashlib.md5(word.encode()).hexdigest(), 16)


def hashing_trick(
    text: str,
    n: int,
    hash_function: Any = None,
    filters: str = FILTERS,
    lower: bool = True,
    split: str = " ",
    analyzer: Callable[[str], list[str]] | None = None,
) -> list[int]:
    """Each word of `text` as ``hash(word) % (n - 1) + 1`` (ids 1..n-1; 0 is
    left for padding). ``hash_function='md5'`` is stable across runs;
    Python's ``hash`` (the default) changes with PYTHONHASHSEED."""
    if hash_function is None:
        hash_function = hash
    elif hash_function == "md5":
        hash_function = _md5
    if not callable(hash_function):
        raise TypeError(
            f"hashing_trick: hash_function must be None, 'md5' or a callable; got "
            f"{hash_function!r}"
        )
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"hashing_trick: n must be an integer >= 2; got {n!r}")
    words = (
        analyzer(text)
        if analyzer is not None
        else text_to_word_sequence(text, filters=filters, lower=lower, split=split)
    )
    return [hash_function(w) % (n - 1) + 1 for w in words]


def one_hot(
    input_text: str,
    n: int,
    filters: str = FILTERS,
    lower: bool = True,
    split: str = " ",
    analyzer: Callable[[str], list[str]] | None = None,
) -> list[int]:
    """Keras's ``text.one_hot``: ``hashing_trick`` with Python's hash (word
    ids, not one-hot vectors, despite the name)."""
    return hashing_trick(
        input_text,
        n,
        hash,
        filters=filters,
        lower=lower,
        split=split,
        analyzer=analyzer,
    )


# ---- the Tokenizer ---------------------------------------------------------------------
class Tokenizer:
    """Words to integer ids by frequency (``keras.preprocessing.text.Tokenizer``).

    ``fit_on_texts`` counts words; id 1 goes to the most frequent word (or
    to `oov_token` when given), ties in first-seen order; 0 is never used.
    ``texts_to_sequences`` keeps only ids below `num_words` (the others are
    dropped, or become the oov id), ``texts_to_matrix`` gives one row per
    text in mode 'binary', 'count', 'tfidf' or 'freq'.

    Example
    -------
    >>> t = Tokenizer(num_words=3)
    >>> t.fit_on_texts(["the cat", "the dog"])
    >>> t.word_index
    {'the': 1, 'cat': 2, 'dog': 3}
    >>> t.texts_to_sequences(["the dog"])
    [[1]]
    """

    def __init__(
        self,
        num_words: int | None = None,
        filters: str = FILTERS,
        lower: bool = True,
        split: str = " ",
        char_level: bool = False,
        oov_token: str | None = None,
        analyzer: Callable[[str], list[str]] | None = None,
        document_count: int = 0,
        **kwargs: Any,
    ):
        if "nb_words" in kwargs:  # Keras 1's name
            num_words = kwargs.pop("nb_words")
        if kwargs:
            raise TypeError(
                f"Tokenizer: unrecognized keyword arguments: {sorted(kwargs)}"
            )
        if num_words is not None and (
            isinstance(num_words, bool)
            or not isinstance(num_words, (int, np.integer))
            or num_words < 0
        ):
            raise ValueError(
                f"Tokenizer: num_words must be None or a non-negative integer; got "
                f"{num_words!r}"
            )
        self.num_words = num_words
        self.filters, self.lower, self.split = filters, lower, split
        self.char_level, self.oov_token, self.analyzer = char_level, oov_token, analyzer
        self.document_count = document_count
        self.word_counts: OrderedDict[str, int] = OrderedDict()
        self.word_docs: defaultdict[str, int] = defaultdict(int)
        self.index_docs: defaultdict[int, int] = defaultdict(int)
        self.word_index: dict[str, int] = {}
        self.index_word: dict[int, str] = {}

    def _words(self, text: Any) -> list[str]:
        if self.char_level or isinstance(text, list):
            if self.lower:
                text = (
                    [t.lower() for t in text]
                    if isinstance(text, list)
                    else text.lower()
                )
            return list(text)
        if not isinstance(text, str):
            raise TypeError(f"Tokenizer: texts must be strings; got {describe(text)}")
        if self.analyzer is not None:
            return self.analyzer(text)
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    def fit_on_texts(self, texts: Iterable[Any]) -> None:
        """Count the words of `texts` (strings, or lists of words)."""
        if isinstance(texts, str):
            raise TypeError(
                "Tokenizer.fit_on_texts: texts must be a list of strings; got one str "
                "(wrap it: [text])"
            )
        for text in texts:
            self.document_count += 1
            words = self._words(text)
            for w in words:
                self.word_counts[w] = self.word_counts.get(w, 0) + 1
            for w in set(words):
                self.word_docs[w] += 1
        # sorted() is stable: words with equal counts keep first-seen order
        ranked = sorted(self.word_counts.items(), key=lambda wc: wc[1], reverse=True)
        vocabulary = [] if self.oov_token is None else [self.oov_token]
        vocabulary += [w for w, _ in ranked]
        self.word_index = {w: i for i, w in enumerate(vocabulary, 1)}
        self.index_word = {i: w for w, i in self.word_index.items()}
        for w, c in self.word_docs.items():
            self.index_docs[self.word_index[w]] = c

    def fit_on_sequences(self, sequences: Iterable[Iterable[int]]) -> None:
        """Count documents per id (for tfidf) from sequences of ids."""
        for seq in sequences:
            self.document_count += 1
            for i in set(seq):
                self.index_docs[i] += 1

    def texts_to_sequences_generator(self, texts: Iterable[Any]) -> Iterator[list[int]]:
        oov = self.word_index.get(self.oov_token)
        for text in texts:
            ids = []
            for w in self._words(text):
                i = self.word_index.get(w)
                if i is not None and not (self.num_words and i >= self.num_words):
                    ids.append(i)
                elif oov is not None:
                    ids.append(oov)
            yield ids

    def texts_to_sequences(self, texts: Iterable[Any]) -> list[list[int]]:
        """Each text as a list of word ids."""
        if isinstance(texts, str):
            raise TypeError(
                "Tokenizer.texts_to_sequences: texts must be a list of strings; got one "
                "str (wrap it: [text])"
            )
        return list(self.texts_to_sequences_generator(texts))

    def sequences_to_texts_generator(self, sequences: Iterable[Any]) -> Iterator[str]:
        oov = self.word_index.get(self.oov_token)
        for seq in sequences:
            words = []
            for i in seq:
                word = self.index_word.get(int(i))
                if word is not None and not (self.num_words and i >= self.num_words):
                    words.append(word)
                elif oov is not None:
                    words.append(self.index_word[oov])
            yield " ".join(words)

    def sequences_to_texts(self, sequences: Iterable[Any]) -> list[str]:
        """Each sequence of ids back as words joined by spaces."""
        return list(self.sequences_to_texts_generator(sequences))

    def texts_to_matrix(self, texts: Iterable[Any], mode: str = "binary") -> np.ndarray:
        """One row per text, one column per id (num_words columns, or
        len(word_index) + 1); see sequences_to_matrix for `mode`."""
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences: Any, mode: str = "binary") -> np.ndarray:
        """Rows for sequences of ids: 'binary' (1 where present), 'count',
        'freq' (count / length) or 'tfidf' ((1 + log count) *
        log(1 + documents / (1 + documents with the id)))."""
        if mode not in ("binary", "count", "tfidf", "freq"):
            raise ValueError(
                f"Tokenizer: Unknown vectorization mode: {mode!r}; expected 'binary', "
                "'count', 'tfidf' or 'freq'"
            )
        if self.num_words:
            width = self.num_words
        elif self.word_index:
            width = len(self.word_index) + 1
        else:
            raise ValueError(
                "Tokenizer: Specify a dimension (`num_words` argument), or fit on some "
                "text data first."
            )
        if mode == "tfidf" and not self.document_count:
            raise ValueError(
                "Tokenizer: Fit the Tokenizer on some data before using tfidf mode."
            )
        out = np.zeros((len(sequences), width))
        for row, seq in enumerate(sequences):
            if not len(seq):
                continue
            counts: dict[int, int] = {}
            for j in seq:
                if j < width:
                    counts[int(j)] = counts.get(int(j), 0) + 1
            for j, c in counts.items():
                if mode == "count":
                    out[row, j] = c
                elif mode == "freq":
                    out[row, j] = c / len(seq)
                elif mode == "binary":
                    out[row, j] = 1
                else:
                    tf = 1 + np.log(c)
                    idf = np.log(
                        1 + self.document_count / (1 + self.index_docs.get(j, 0))
                    )
                    out[row, j] = tf * idf
        return out

    def get_config(self) -> dict[str, Any]:
        """Keras's config: counts and indexes as JSON strings."""
        return {
            "num_words": self.num_words,
            "filters": self.filters,
            "lower": self.lower,
            "split": self.split,
            "char_level": self.char_level,
            "oov_token": self.oov_token,
            "document_count": self.document_count,
            "word_counts": json.dumps(self.word_counts),
            "word_docs": json.dumps(self.word_docs),
            "index_docs": json.dumps(self.index_docs),
            "index_word": json.dumps(self.index_word),
            "word_index": json.dumps(self.word_index),
        }

    def to_json(self, **kwargs: Any) -> str:
        """The tokenizer as Keras's JSON (``tokenizer_from_json`` reads it back)."""
        return json.dumps(
            {"class_name": "Tokenizer", "config": self.get_config()}, **kwargs
        )


def tokenizer_from_json(json_string: str) -> Tokenizer:
    """A Tokenizer from ``Tokenizer.to_json`` (tinynn's or Keras's)."""
    try:
        config = dict(json.loads(json_string)["config"])
        word_counts = json.loads(config.pop("word_counts"))
        word_docs = json.loads(config.pop("word_docs"))
        index_docs = {
            int(k): v for k, v in json.loads(config.pop("index_docs")).items()
        }
        index_word = {
            int(k): v for k, v in json.loads(config.pop("index_word")).items()
        }
        word_index = json.loads(config.pop("word_index"))
    except (TypeError, KeyError, ValueError) as exc:
        raise ValueError(
            f"tokenizer_from_json: not a Tokenizer's JSON (from Tokenizer.to_json): {exc}"
        ) from None
    tokenizer = Tokenizer(**config)
    tokenizer.word_counts = OrderedDict(word_counts)
    tokenizer.word_docs = defaultdict(int, word_docs)
    tokenizer.index_docs = defaultdict(int, index_docs)
    tokenizer.index_word = index_word
    tokenizer.word_index = word_index
    return tokenizer
