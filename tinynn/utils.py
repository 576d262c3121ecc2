"""Helpers from ``tf.keras.utils``: one-hot encoding and seeding."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import describe
from ._random import set_seed
from .text import pad_sequences

__all__ = ["Sequence", "pad_sequences", "to_categorical", "set_random_seed", "set_seed"]


def to_categorical(
    y: Any, num_classes: int | None = None, dtype: Any = "float32"
) -> np.ndarray:
    """One-hot encode integer class ids: shape (n,) -> (n, num_classes).

    Parameters
    ----------
    y : array-like of int
        Class ids in [0, num_classes); shape (n,) or (n, 1).
    num_classes : int, optional
        Defaults to max(y) + 1.
    dtype : str
        Output dtype (Keras 2 default float32).

    Example
    -------
    >>> to_categorical([0, 2], 3)
    array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    labels = np.asarray(y)
    if labels.dtype.kind == "f" and labels.size and (labels != np.round(labels)).any():
        raise ValueError("to_categorical: y must hold whole numbers (class ids)")
    if labels.dtype.kind not in "iuf" or labels.dtype == np.bool_:
        raise TypeError(
            f"to_categorical: y must be integer class ids; got {describe(labels)}"
        )
    if labels.ndim >= 2 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    labels = labels.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(f"to_categorical: y must be >= 0; got {labels.min()}")
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    elif labels.size and labels.max() >= num_classes:
        raise ValueError(
            f"to_categorical: y holds {labels.max()}, outside [0, "
            f"{num_classes}) given by num_classes"
        )
    out = np.zeros((*labels.shape, int(num_classes)), dtype=dtype)
    np.put_along_axis(out, labels[..., None], 1, axis=-1)
    return out


def set_random_seed(seed: int) -> None:
    """Seed every source of randomness tinynn uses (alias of tinynn.set_seed)."""
    set_seed(seed)


class Sequence:
    """Base class for batches computed on demand (``keras.utils.Sequence``).

    Subclass it with ``__len__`` (number of batches) and ``__getitem__(index)``
    (batch `index` as ``(x, y)``, ``(x, y, sample_weight)`` or ``x``), and
    optionally ``on_epoch_end``; pass an instance to fit, evaluate or
    predict. fit visits the batches in a new random order each epoch when
    ``shuffle=True`` (Keras 2) and calls ``on_epoch_end`` after each epoch.

    Example
    -------
    >>> class Halves(Sequence):
    ...     def __init__(self, x, y):
    ...         self.x, self.y = x, y
    ...     def __len__(self):
    ...         return 2
    ...     def __getitem__(self, i):
    ...         n = len(self.x) // 2
    ...         return self.x[i * n : (i + 1) * n], self.y[i * n : (i + 1) * n]
    """

    def __init__(
        self,
        workers: int = 1,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
    ):
        # Keras 3's PyDataset arguments, accepted; tinynn loads in the
        # calling thread.
        self.workers = workers
        self.use_multiprocessing = use_multiprocessing
        self.max_queue_size = max_queue_size

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def on_epoch_end(self) -> None:
        """Called by fit after each epoch (reshuffle your data here)."""

    def __iter__(self) -> Any:
        for index in range(len(self)):
            yield self[index]
