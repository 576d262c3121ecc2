"""Embedding: integer ids -> rows of a trained (input_dim, output_dim) table.

Ids of any integer dtype are read in place by the C gather (no float copy);
every id is checked in [0, input_dim) before anything is written. The
gradient is dense, as Keras's when the layer is followed by ordinary layers
on the CPU: a zeroed table gradient with each dy row added at its id, in
sample order (docs/embedding.md compares it with TensorFlow's sparse
updates).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _backend, constraints, initializers, registry, regularizers
from .._checks import as_numeric_array, positive_int
from ._shapes import call_state, grown
from .base import Layer, _init_config


@registry.register("layer")
class Embedding(Layer):
    """Turns integer ids (batch, ...) into vectors (batch, ..., output_dim).

    Parameters
    ----------
    input_dim : int
        The vocabulary size: ids must lie in [0, input_dim).
    output_dim : int
        The length of each embedding vector.
    embeddings_initializer : str or callable
        Keras's default 'uniform' = RandomUniform(-0.05, 0.05).
    embeddings_regularizer, activity_regularizer, embeddings_constraint :
        As Dense's kernel_regularizer, activity_regularizer, kernel_constraint.
    mask_zero : bool
        Only False: masking is not supported yet.
    input_length : int or tuple, optional
        Keras 2's way to give the input shape (the ids per sample).
    """

    #: The Trainer hands this layer integer ids unconverted (training.py).
    _integer_input = True

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer: Any = "uniform",
        embeddings_regularizer: Any = None,
        activity_regularizer: Any = None,
        embeddings_constraint: Any = None,
        mask_zero: bool = False,
        input_length: Any = None,
        **kwargs: Any,
    ):
        if mask_zero:
            raise ValueError(
                "Embedding: mask_zero=True is not supported: masking is not "
                "supported yet in tinynn (pad with an id the model learns to "
                "ignore, or trim the sequences)"
            )
        if input_length is not None:
            length = (
                tuple(input_length)
                if isinstance(input_length, (list, tuple))
                else (input_length,)
            )
            for value in length:
                positive_int(value, "Embedding", "input_length")
            if not any(
                kwargs.get(k) is not None for k in ("input_shape", "batch_input_shape")
            ):
                kwargs["input_shape"] = length
        super().__init__(**kwargs)
        self.input_dim = positive_int(input_dim, "Embedding", "input_dim")
        self.output_dim = positive_int(output_dim, "Embedding", "output_dim")
        self.input_length = input_length
        self.mask_zero = False
        self.embeddings_initializer = initializers.get(
            embeddings_initializer, "Embedding"
        )
        self.embeddings_regularizer = regularizers.get(
            embeddings_regularizer, "Embedding: embeddings_regularizer"
        )
        self.activity_regularizer = regularizers.get(
            activity_regularizer, "Embedding: activity_regularizer"
        )
        self.embeddings_constraint = constraints.get(
            embeddings_constraint, "Embedding: embeddings_constraint"
        )

    @property
    def embeddings(self) -> np.ndarray:
        """The live (input_dim, output_dim) table."""
        return self._params[0]

    def _build(self, features):
        self._add_weight(
            "embeddings",
            (self.input_dim, self.output_dim),
            self.embeddings_initializer,
            regularizer=self.embeddings_regularizer,
            constraint=self.embeddings_constraint,
        )

    def _output_features(self, features):
        return (*features, self.output_dim)

    def forward(self, x: Any, training: bool = False) -> np.ndarray:
        """Vectors for the ids `x` (integers, or floats holding integers)."""
        ids = self._ids(x, f"{self.name}.forward")
        if not self.built:
            self.build((None, *ids.shape[1:]))
        self._check_features(ids, f"{self.name}.forward")
        out = np.empty((*ids.shape, self.output_dim), self._dtype)
        return self._forward(ids, training, out)

    @staticmethod
    def _ids(x: Any, where: str) -> np.ndarray:
        array = as_numeric_array(x, where, "x")
        if array.ndim < 2:
            raise ValueError(
                f"{where}: x must have shape (batch, ids...); got shape {array.shape}"
            )
        if array.dtype.kind in "iu" and array.dtype.isnative:
            return np.ascontiguousarray(array)
        # Keras casts other inputs to integers (floats are truncated).
        return np.ascontiguousarray(array, dtype=np.int64)

    def _check_input(self, x: np.ndarray, where: str) -> None:
        """Every id of the whole input `x` in [0, input_dim) (the Trainer calls
        this once per fit/evaluate/predict, so a bad id is named by its place
        in the data, not in a batch)."""
        ids = x if x.dtype.kind in "iu" else np.trunc(x)
        bad = (ids < 0) | (ids >= self.input_dim)
        if bad.any():
            at = np.unravel_index(np.flatnonzero(bad)[0], x.shape)
            value = x[at].item()
            raise ValueError(
                f"{where}: x[{', '.join(map(str, at))}] = {value} is not a valid id "
                f"for Embedding layer {self.name!r}: expected ids in [0, "
                f"{self.input_dim}) (input_dim)"
            )

    def _forward(self, x, training, out, ctx=None):
        state = call_state(self, ctx)
        if x.dtype.kind not in "iu":
            x = self._ids(x, self.name)
        _backend.embedding_forward(x, self._params[0], out)
        state.input, state.output = x, out
        self._last_input, self._last_output = x, out
        return out

    def _backward(self, dy, dx, ctx=None, accumulate=False):
        state = call_state(self, ctx)
        if self.activity_regularizer is not None:
            self._activity_gradient(dy)
        grad = self._grads[0]
        if accumulate:
            scratch = grown(state, "scratch", grad.shape, grad.dtype)
            _backend.embedding_backward(state.input, dy, scratch)
            grad += scratch
        else:
            _backend.embedding_backward(state.input, dy, grad)
        return None  # ids have no gradient

    def get_config(self):
        config = super().get_config()
        config.update(
            input_dim=self.input_dim,
            output_dim=self.output_dim,
            embeddings_initializer=_init_config(self.embeddings_initializer),
            embeddings_regularizer=regularizers.serialize(self.embeddings_regularizer),
            activity_regularizer=regularizers.serialize(self.activity_regularizer),
            embeddings_constraint=constraints.serialize(self.embeddings_constraint),
            mask_zero=self.mask_zero,
            input_length=self.input_length,
        )
        return config
