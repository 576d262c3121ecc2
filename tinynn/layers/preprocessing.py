"""TextVectorization: strings -> integer ids (or one row per text), Keras's
preprocessing layer on Python strings and NumPy string arrays.

Used on its own (``layer(["a text"])``, ``Dataset.map(layer)``) or as the
first layer of a model: the Trainer (training.py) sees ``_string_input``,
checks the texts with ``_string_batch`` and hands the layer batches of
strings; the layer turns them into int64 ids that the next layer (an
Embedding) reads as they are. The layer has no weights, so no gradient
reaches it; its vocabulary travels in its config, in every file format.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import numpy as np

from .. import registry
from .._checks import describe
from .base import Layer

__all__ = ["TextVectorization"]

#: Keras's punctuation for standardize='lower_and_strip_punctuation'.
STRIP_REGEX = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'
_MODES = ("int", "multi_hot", "count", "tf_idf")


@registry.register("layer")
class TextVectorization(Layer):
    """Keras's TextVectorization: standardize, split, look up in a
    vocabulary learnt by ``adapt``.

    ``output_mode='int'``: int64 ids, 0 for padding and 1 for '[UNK]',
    padded with 0 (or cut) to `output_sequence_length`, else to the longest
    text of the batch. 'multi_hot', 'count', 'tf_idf': one float row per
    text over the vocabulary, column 0 for '[UNK]'. The vocabulary is
    sorted by count, ties by the token in descending order (as Keras);
    `max_tokens` counts the special tokens. tf-idf weights are
    ``log(1 + documents / (1 + documents with the token))``, '[UNK]' getting
    their mean, as in Keras.

    As the first layer of a model (``Sequential([vectorize, Embedding(...),
    ...])``) it takes the texts given to fit/evaluate/predict (a list of
    str, or a NumPy str/bytes/object array of shape (n,) or (n, 1)); in
    'int' mode it then needs `output_sequence_length`, since tinynn's models
    have fixed shapes. It must be the first layer: nothing else gives it
    strings.

    Example
    -------
    >>> v = TextVectorization(output_sequence_length=4)
    >>> v.adapt(["the cat sat", "the dog"])
    >>> v(["the dog ran"]).tolist()
    [[2, 4, 1, 0]]
    """

    #: The Trainer hands this layer batches of strings (training.py).
    _string_input = True
    #: _forward returns its own array (int64 ids), not the model's float buffer.
    _buffered = False

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
        kwargs.pop("vocabulary_size", None)  # in Keras's config, derived
        super().__init__(name=name, **kwargs)
        if output_mode not in _MODES:
            raise ValueError(
                f"{where}: output_mode must be one of {list(_MODES)}; got {output_mode!r}"
            )
        if ngrams is not None or sparse or ragged:
            raise ValueError(
                f"{where}: ngrams, sparse and ragged are not supported by tinynn"
            )
        if encoding not in ("utf-8", "utf8", "UTF-8"):
            raise ValueError(f"{where}: only encoding='utf-8' is supported")
        if standardize not in (
            "lower_and_strip_punctuation",
            "lower",
            "strip_punctuation",
            None,
        ) and not callable(standardize):
            raise ValueError(f"{where}: unknown standardize {standardize!r}")
        if split not in ("whitespace", "character", None) and not callable(split):
            raise ValueError(f"{where}: unknown split {split!r}")
        if output_sequence_length is not None:
            if output_mode != "int":
                raise ValueError(
                    f"{where}: output_sequence_length is only used with "
                    "output_mode='int'"
                )
            if (
                isinstance(output_sequence_length, bool)
                or not isinstance(output_sequence_length, (int, np.integer))
                or output_sequence_length < 1
            ):
                raise ValueError(
                    f"{where}: output_sequence_length must be None or a positive "
                    f"integer; got {output_sequence_length!r}"
                )
            output_sequence_length = int(output_sequence_length)
        if max_tokens is not None and (
            isinstance(max_tokens, bool)
            or not isinstance(max_tokens, (int, np.integer))
            or max_tokens < 2
        ):
            raise ValueError(
                f"{where}: max_tokens must be None or an integer >= 2; got {max_tokens!r}"
            )
        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.standardize, self.split = standardize, split
        self.output_mode = output_mode
        self.output_sequence_length = output_sequence_length
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self._vocabulary: list[str] = []
        self._index: dict[str, int] = {}
        self._idf: np.ndarray | None = None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # ---- text to tokens --------------------------------------------------------------
    def _tokens(self, text: str) -> list[str]:
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

    def _string_batch(self, x: Any, features: Any, where: str) -> np.ndarray:
        """The Trainer's hook (training.py ``_prepare_x``): the texts `x` of a
        fit/evaluate/predict call (a list of str, a str/bytes/object array of
        shape (n,) or (n, 1)) checked once, as an object array of str of shape
        (n, 1), or (n,) for a model built for inputs of shape (None,)."""
        if isinstance(x, (str, bytes)):
            raise TypeError(
                f"{where}: x must be a batch of strings (a list or an array), one "
                f"text per sample; got one {type(x).__name__} (wrap it: [text])"
            )
        try:
            array = np.asarray(x)
        except ValueError as exc:
            raise ValueError(
                f"{where}: x could not be converted to an array of strings ({exc})"
            ) from None
        if array.size == 0:
            raise ValueError(f"{where}: x is empty; expected at least one text")
        if array.dtype.kind not in "USO":
            raise TypeError(
                f"{where}: x must hold strings for {type(self).__name__} layer "
                f"{self.name!r} (the model's first layer); got {describe(array)}"
            )
        if array.ndim not in (1, 2) or (array.ndim == 2 and array.shape[1] != 1):
            raise ValueError(
                f"{where}: x must be a batch of strings of shape (n,) or (n, 1) for "
                f"{type(self).__name__} layer {self.name!r}; got shape {array.shape}"
            )
        flat = array.reshape(-1)
        texts = np.empty(len(flat), object)
        for i, t in enumerate(flat.tolist()):
            if isinstance(t, bytes):
                t = t.decode()
            if not isinstance(t, str):
                raise TypeError(
                    f"{where}: x[{i}] is {describe(t)}; expected a str (every sample "
                    f"of {type(self).__name__} layer {self.name!r} is one text)"
                )
            texts[i] = t
        if features is not None and tuple(features) == ():
            return texts
        return texts.reshape(-1, 1)

    # ---- vocabulary ------------------------------------------------------------------
    def _specials(self) -> list[str]:
        return ["", "[UNK]"] if self.output_mode == "int" else ["[UNK]"]

    def _set_tokens(self, tokens: list[str]) -> None:
        self._vocabulary = tokens
        first = len(self._specials())
        self._index = {t: i + first for i, t in enumerate(tokens)}

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
        self._set_tokens(ranked)
        if self.output_mode == "tf_idf":
            n = len(texts)
            idf = np.log(1 + n / (1 + np.array([documents[t] for t in ranked], float)))
            self._idf = np.concatenate([[idf.mean() if len(idf) else 0.0], idf])

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Use `vocabulary` (tokens; a leading '' / '[UNK]' as
        ``get_vocabulary`` gives them is skipped) as is."""
        tokens = [t.decode() if isinstance(t, bytes) else str(t) for t in vocabulary]
        specials = self._specials()
        for special in specials:  # a get_vocabulary() list
            if tokens and tokens[0] == special:
                tokens.pop(0)
        if len(set(tokens)) != len(tokens):
            raise ValueError("TextVectorization: the vocabulary has repeated tokens")
        self._set_tokens(tokens)
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
        return len(self._specials()) + len(self._vocabulary)

    def _width(self) -> int:
        """Columns of a 'multi_hot'/'count'/'tf_idf' row."""
        size = self.vocabulary_size()
        if self.pad_to_max_tokens and self.max_tokens:
            size = max(size, self.max_tokens)
        return size

    # ---- lookup ---------------------------------------------------------------------
    def _vectorize(self, texts: list[str], out: np.ndarray | None) -> np.ndarray:
        """Ids (or rows) for `texts`, written into `out` when given."""
        oov = 1 if self.output_mode == "int" else 0
        index = self._index
        rows = [[index.get(t, oov) for t in self._tokens(text)] for text in texts]
        if self.output_mode == "int":
            width = self.output_sequence_length
            if width is None:
                width = max((len(r) for r in rows), default=0)
            if out is None:
                out = np.empty((len(rows), width), np.int64)
            out.fill(0)
            for i, r in enumerate(rows):
                r = r[:width]
                out[i, : len(r)] = r
            return out
        size = self._width()
        counts = np.zeros((len(rows), size), np.float64)
        for i, r in enumerate(rows):
            np.add.at(counts[i], r, 1)
        if self.output_mode == "multi_hot":
            counts = np.minimum(counts, 1)
        elif self.output_mode == "tf_idf":
            weights = np.zeros(size)
            weights[: len(self._idf)] = self._idf
            counts *= weights
        if out is None:
            return counts.astype(np.float32)
        np.copyto(out, counts, casting="unsafe")
        return out

    def forward(self, x: Any, training: bool = False) -> np.ndarray:
        """Ids (or rows) for a batch of texts (a single str gives one row)."""
        return self._vectorize(self._texts(x, self.name), None)

    def _output_features(self, features):
        if tuple(features) not in ((), (1,)):
            raise ValueError(
                f"TextVectorization layer {self.name!r} must be the first layer of a "
                "model: it reads strings, one per sample (inputs of shape (None,) or "
                f"(None, 1)); got inputs of shape (None, "
                f"{', '.join(map(str, features))})"
            )
        if self.output_mode != "int":
            return (self._width(),)
        if self.output_sequence_length is None:
            raise ValueError(
                f"TextVectorization layer {self.name!r}: in a model, give "
                "output_sequence_length (tinynn's models have fixed shapes; the "
                "texts are padded or cut to that many ids)"
            )
        return (self.output_sequence_length,)

    def _forward(self, x, training, out, ctx=None):
        if not isinstance(x, np.ndarray) or x.dtype.kind not in "OUS":
            raise TypeError(
                f"TextVectorization layer {self.name!r} must be the first layer of a "
                f"model: it reads strings, and got {describe(x)} (the output of "
                "another layer)"
            )
        if not self._vocabulary:
            raise ValueError(
                f"TextVectorization layer {self.name!r} has no vocabulary: call "
                "adapt(texts) (or give vocabulary=...) before fit/evaluate/predict"
            )
        texts = [t.decode() if isinstance(t, bytes) else t for t in x.reshape(-1)]
        features = self.output_shape[1:]
        dtype = np.int64 if self.output_mode == "int" else self._dtype
        target = None
        if ctx is not None:
            target = ctx.buffer("output", (len(texts), *features), dtype)
        y = self._vectorize(texts, target)
        if ctx is not None:
            ctx.input, ctx.output = None, y
        return y

    def _backward(self, dy, dx, ctx=None, accumulate=False):
        return None  # no weights, and strings have no gradient

    # ---- serialisation ---------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Keras's config, with the vocabulary (and idf weights) in it."""
        config = super().get_config()
        config.update(
            max_tokens=self.max_tokens,
            standardize=self.standardize
            if isinstance(self.standardize, str) or self.standardize is None
            else None,
            split=self.split
            if isinstance(self.split, str) or self.split is None
            else None,
            ngrams=None,
            output_mode=self.output_mode,
            output_sequence_length=self.output_sequence_length,
            pad_to_max_tokens=self.pad_to_max_tokens,
            sparse=False,
            ragged=False,
            vocabulary=list(self._vocabulary),
            idf_weights=None if self._idf is None else self._idf[1:].tolist(),
            encoding="utf-8",
            vocabulary_size=self.vocabulary_size(),
        )
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TextVectorization:
        config = dict(config)
        if not config.get("vocabulary"):
            config.pop("vocabulary", None)
            config.pop("idf_weights", None)
        return super().from_config(config)
