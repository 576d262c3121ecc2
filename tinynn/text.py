"""Keras 2's text preprocessing: ``pad_sequences``, ``Tokenizer``,
``text_to_word_sequence``, ``one_hot``, ``hashing_trick``.

Also reachable as ``tf.keras.preprocessing.sequence.pad_sequences``,
``tf.keras.utils.pad_sequences`` and ``tf.keras.preprocessing.text.*``.
The behaviour is Keras's (keras_preprocessing 1.1), down to the order of
words with equal counts (first seen first) and the tf-idf formula.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import OrderedDict, defaultdict
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from ._checks import describe
from .tensor import Tensor as _Tensor

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


# ---- TextVectorization ----------------------------------------------------------------
#: Keras's punctuation for standardize='lower_and_strip_punctuation'.
STRIP_REGEX = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'
_MODES = ("int", "multi_hot", "count", "tf_idf")


class TextVectorization:
    """Keras's TextVectorization on Python strings and NumPy string arrays:
    standardize, split, look up in a vocabulary learnt by ``adapt``.

    ``output_mode='int'``: int64 ids, 0 for padding and 1 for '[UNK]',
    padded with 0 (or cut) to `output_sequence_length`, else to the longest
    text of the batch. 'multi_hot', 'count', 'tf_idf': one float32 row per
    text over the vocabulary, column 0 for '[UNK]'. The vocabulary is
    sorted by count, ties by the token in descending order (as Keras);
    `max_tokens` counts the special tokens. tf-idf weights are
    ``log(1 + documents / (1 + documents with the token))``, '[UNK]' getting
    their mean, as in Keras.

    In tinynn it is a preprocessing step, not (yet) a model layer: call it
    on texts (``layer(["a text"])``) or in ``Dataset.map``.

    Example
    -------
    >>> v = TextVectorization(output_sequence_length=4)
    >>> v.adapt(["the cat sat", "the dog"])
    >>> v(["the dog ran"]).tolist()
    [[2, 4, 1, 0]]
    """

    def __init__(
        self,
        max_tokens: int | None = None,
        standardize: Any = "lower_and_strip_punctuation",
        split: Any = "whitespace",
        ngrams: Any = None,
        output_mode: str = "int",
        output_sequence_length: int | None = None,
        pad_to_max_tokens: bool = False,
        vocabulary: Any = None,
        idf_weights: Any = None,
        sparse: bool = False,
        ragged: bool = False,
        encoding: str = "utf-8",
        name: str | None = None,
        **kwargs: Any,
    ):
        where = "TextVectorization"
        if output_mode not in _MODES:
            raise ValueError(
                f"{where}: output_mode must be one of {list(_MODES)}; got {output_mode!r}"
            )
        if ngrams is not None or sparse or ragged:
            raise ValueError(
                f"{where}: ngrams, sparse and ragged are not supported by tinynn"
            )
        if standardize not in (
            "lower_and_strip_punctuation",
            "lower",
            "strip_punctuation",
            None,
        ) and not callable(standardize):
            raise ValueError(f"{where}: unknown standardize {standardize!r}")
        if split not in ("whitespace", "character", None) and not callable(split):
            raise ValueError(f"{where}: unknown split {split!r}")
        if output_sequence_length is not None and output_mode != "int":
            raise ValueError(
                f"{where}: output_sequence_length is only used with output_mode='int'"
            )
        if max_tokens is not None and (
            not isinstance(max_tokens, int) or max_tokens < 2
        ):
            raise ValueError(
                f"{where}: max_tokens must be None or an integer >= 2; got {max_tokens!r}"
            )
        self.max_tokens, self.standardize, self.split = max_tokens, standardize, split
        self.output_mode = output_mode
        self.output_sequence_length = output_sequence_length
        self.pad_to_max_tokens = pad_to_max_tokens
        self.name = name or "text_vectorization"
        self._vocabulary: list[str] = []
        self._idf: np.ndarray | None = None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # ---- text to tokens --------------------------------------------------------------
    def _tokens(self, text: str) -> list[str]:
        import re

        if callable(self.standardize):
            text = self.standardize(text)
        else:
            if self.standardize in ("lower", "lower_and_strip_punctuation"):
                text = text.lower()
            if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
                text = re.sub(STRIP_REGEX, "", text)
        if callable(self.split):
            return list(self.split(text))
        if self.split == "whitespace":
            return text.split()
        if self.split == "character":
            return list(text)
        return [text]

    @staticmethod
    def _texts(data: Any, where: str) -> list[str]:
        if isinstance(data, str):
            return [data]
        array = np.asarray(data)
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim == 0:
            array = array.reshape(1)
        if array.ndim != 1:
            raise ValueError(
                f"{where}: expected a batch of strings of shape (n,) or (n, 1); got shape "
                f"{array.shape}"
            )
        texts = [t.decode() if isinstance(t, bytes) else t for t in array.tolist()]
        for t in texts:
            if not isinstance(t, str):
                raise TypeError(f"{where}: expected strings; got {describe(t)}")
        return texts

    # ---- vocabulary ------------------------------------------------------------------
    def _specials(self) -> list[str]:
        return ["", "[UNK]"] if self.output_mode == "int" else ["[UNK]"]

    def adapt(self, data: Any, batch_size: Any = None, steps: Any = None) -> None:
        """Learn the vocabulary (and tf-idf weights) from `data`: strings, an
        array of them, or a Dataset yielding strings or batches of them."""
        where = "TextVectorization.adapt"
        if hasattr(data, "as_numpy_iterator"):
            batches = data.as_numpy_iterator()
            if steps is not None:
                batches = itertools.islice(batches, steps)
            texts = [t for batch in batches for t in self._texts(batch, where)]
        else:
            texts = self._texts(data, where)
        counts: dict[str, int] = {}
        documents: dict[str, int] = {}
        for text in texts:
            tokens = self._tokens(text)
            for token in tokens:
                counts[token] = counts.get(token, 0) + 1
            for token in set(tokens):
                documents[token] = documents.get(token, 0) + 1
        # by count, ties by the token, both descending (Keras's lexsort()[::-1])
        ranked = sorted(counts, key=lambda t: (counts[t], t), reverse=True)
        if self.max_tokens is not None:
            ranked = ranked[: self.max_tokens - len(self._specials())]
        self._vocabulary = ranked
        if self.output_mode == "tf_idf":
            n = len(texts)
            idf = np.log(1 + n / (1 + np.array([documents[t] for t in ranked], float)))
            self._idf = np.concatenate([[idf.mean() if len(idf) else 0.0], idf])

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Use `vocabulary` (tokens, without the special ones) as is."""
        tokens = [str(t) for t in vocabulary]
        specials = self._specials()
        while tokens and tokens[0] in specials:  # a get_vocabulary() list
            tokens.pop(0)
        if len(set(tokens)) != len(tokens):
            raise ValueError("TextVectorization: the vocabulary has repeated tokens")
        self._vocabulary = tokens
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError(
                    "TextVectorization: output_mode='tf_idf' with a vocabulary needs "
                    "idf_weights"
                )
            weights = np.asarray(idf_weights, float).reshape(-1)
            if len(weights) == len(tokens):
                weights = np.concatenate([[weights.mean()], weights])
            self._idf = weights

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[str]:
        """The tokens by id ('' and '[UNK]' first in 'int' mode)."""
        specials = self._specials() if include_special_tokens else []
        return specials + list(self._vocabulary)

    def vocabulary_size(self) -> int:
        return len(self.get_vocabulary())

    # ---- lookup ---------------------------------------------------------------------
    def __call__(self, inputs: Any) -> np.ndarray:
        """Ids (or rows) for a batch of texts (a single str gives one row)."""
        where = "TextVectorization"
        texts = self._texts(inputs, where)
        specials = self._specials()
        index = {t: i + len(specials) for i, t in enumerate(self._vocabulary)}
        oov = specials.index("[UNK]")
        rows = [[index.get(t, oov) for t in self._tokens(text)] for text in texts]
        if self.output_mode == "int":
            width = self.output_sequence_length
            if width is None:
                width = max((len(r) for r in rows), default=0)
            out = np.zeros((len(rows), width), np.int64)
            for i, r in enumerate(rows):
                r = r[:width]
                out[i, : len(r)] = r
            return out.view(_Tensor)
        size = self.vocabulary_size()
        if self.pad_to_max_tokens and self.max_tokens:
            size = max(size, self.max_tokens)
        out = np.zeros((len(rows), size), np.float32)
        for i, r in enumerate(rows):
            np.add.at(out[i], r, 1)
        if self.output_mode == "multi_hot":
            out = np.minimum(out, 1)
        elif self.output_mode == "tf_idf":
            weights = np.zeros(size)
            weights[: len(self._idf)] = self._idf
            out = (out * weights).astype(np.float32)
        return out.view(_Tensor)

    def get_config(self) -> dict[str, Any]:
        """Keras's config, with the vocabulary (and idf weights) in it."""
        return {
            "name": self.name,
            "max_tokens": self.max_tokens,
            "standardize": self.standardize
            if isinstance(self.standardize, str) or self.standardize is None
            else None,
            "split": self.split
            if isinstance(self.split, str) or self.split is None
            else None,
            "ngrams": None,
            "output_mode": self.output_mode,
            "output_sequence_length": self.output_sequence_length,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "vocabulary": list(self._vocabulary),
            "idf_weights": None if self._idf is None else self._idf[1:].tolist(),
            "vocabulary_size": self.vocabulary_size(),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TextVectorization:
        config = dict(config)
        config.pop("vocabulary_size", None)
        idf = config.pop("idf_weights", None)
        vocabulary = config.pop("vocabulary", None)
        layer = cls(**config)
        if vocabulary:
            layer.set_vocabulary(vocabulary, idf)
        return layer
