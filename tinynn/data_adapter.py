"""Data sources for fit/evaluate/predict beyond NumPy arrays, as Keras takes
them: a :class:`tinynn.data.Dataset`, a Python generator or iterator, or a
:class:`tinynn.utils.Sequence`, each yielding batches ``x``, ``(x,)``,
``(x, y)`` or ``(x, y, sample_weight)``.

:class:`StreamHandler` turns one such source into epochs of checked batches
``(step, x, y, w)`` plus a step count that may be unknown (None) until the
first epoch has run out, the way Keras 2's DataHandler does:

* a Dataset is iterated afresh each epoch, unless ``steps`` was given and
  differs from its cardinality: then one iterator runs through all epochs
  (so ``ds.repeat()`` with ``steps_per_epoch`` continues where it stopped);
* a generator or iterator cannot restart: it is drawn from across epochs;
* a Sequence is indexed ``0..len-1`` each epoch (in random order with
  ``shuffle=True``) and its ``on_epoch_end`` is called after each epoch.

When a source with a known step count runs out early, a warning says so
and ``exhausted`` tells the caller to stop training, as Keras does.

Batches are converted through the trainer given to the handler
(``_prepare_xy``/``_prepare_x``, ``_as_batch``, ``_sample_weights``), so
they pass the same checks as arrays, one batch at a time: memory stays
O(batch) whatever the size of the data behind the source.
"""

from __future__ import annotations

import types
import warnings
from typing import Any, Iterator

import numpy as np

from . import _random
from ._checks import describe
from .callbacks import CallbackList
from .data import INFINITE_CARDINALITY, Dataset
from .progress import Progbar
from .utils import Sequence

__all__ = ["StreamHandler", "check_stream_arguments", "is_stream", "predict"]


def is_stream(x: Any) -> bool:
    """Whether `x` is a source of batches rather than arrays."""
    return isinstance(x, (Dataset, Sequence, types.GeneratorType)) or (
        hasattr(x, "__next__") and hasattr(x, "__iter__")
    )


def _kind(x: Any) -> str:
    """How Keras names the input type in its messages."""
    if isinstance(x, Dataset):
        return "dataset"
    if isinstance(x, Sequence):
        return "`keras.utils.Sequence`"
    return "python generator"


def check_stream_arguments(
    where: str,
    x: Any,
    y: Any = None,
    sample_weight: Any = None,
    validation_split: Any = 0.0,
) -> None:
    """Keras's errors for arguments a batch source cannot take (batch_size
    is ignored, as in Keras 2 and 3: the source decides the batches)."""
    if y is not None:
        raise ValueError(
            f"{where}: `y` argument is not supported when using {_kind(x)} as input."
        )
    if sample_weight is not None:
        raise ValueError(
            f"{where}: `sample_weight` argument is not supported when using "
            f"{_kind(x)} as input."
        )
    if validation_split:
        raise ValueError(
            f"{where}: `validation_split` is only supported for Tensors or NumPy "
            f"arrays, found following types in the input: [{type(x)}]"
        )


def _steps(value: Any, where: str, name: str) -> int | None:
    if value is None or (isinstance(value, (int, np.integer)) and value == -1):
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"{where}: {name} must be a positive integer; got {describe(value)}"
        )
    if value < 1:
        raise ValueError(f"{where}: {name} must be a positive integer; got {value}")
    return int(value)


def unpack(element: Any, where: str) -> tuple[Any, Any, Any]:
    """Keras's unpack_x_y_sample_weight: x, (x,), (x, y), (x, y, w)."""
    if isinstance(element, list):
        element = tuple(element)
    if not isinstance(element, tuple):
        return element, None, None
    if len(element) == 1:
        return element[0], None, None
    if len(element) == 2:
        return element[0], element[1], None
    if len(element) == 3:
        return element
    raise ValueError(
        f"{where}: each batch must be x, (x,), (x, y) or (x, y, sample_weight); got "
        f"a tuple of {len(element)} values"
    )


class StreamHandler:
    """Epochs of checked batches from a Dataset, generator or Sequence.

    Parameters
    ----------
    source : Dataset, generator/iterator or Sequence
    trainer : tinynn.training.Trainer
        Converts and checks each batch.
    where : str
        'fit', 'evaluate', 'predict' or 'fit (validation_data)' for messages.
    steps : int, optional
        Batches per epoch (steps_per_epoch, validation_steps or steps).
    targets : bool
        Whether batches must carry y (fit, evaluate) or may omit it (predict).
    shuffle : bool
        Visit a Sequence's batches in a new random order each epoch.
    class_weight : dict, optional
        Applied to each batch's y (fit).
    """

    def __init__(
        self,
        source: Any,
        trainer: Any,
        where: str,
        steps: Any = None,
        targets: bool = True,
        shuffle: bool = False,
        class_weight: Any = None,
        steps_name: str = "steps",
    ):
        self.source, self.trainer, self.where = source, trainer, where
        self.targets, self.shuffle = targets, bool(shuffle)
        self.class_weight = class_weight
        user_steps = _steps(steps, where, steps_name)
        self.steps: int | None = user_steps
        self.exhausted = False
        self._iterator: Iterator[Any] | None = None
        self._fresh = False  # _iterator was made by peek, not used by an epoch yet
        self._peeked: list[Any] = []
        if isinstance(source, Dataset):
            size = int(source.cardinality())
            if size == INFINITE_CARDINALITY and user_steps is None:
                raise ValueError(
                    f"{where}: When providing an infinite dataset, you must specify "
                    "the number of steps to run (if you did not intend to create an "
                    "infinite dataset, make sure to not call `repeat()` on the "
                    "dataset)."
                )
            if size >= 0 and user_steps is None:
                self.steps = size
            self.recreate = user_steps is None or user_steps == size
        elif isinstance(source, Sequence):
            if user_steps is None:
                self.steps = len(source)
            self.recreate = True
        else:
            self.recreate = False
            self._iterator = iter(source)
            self._fresh = True

    # ---- iterators -----------------------------------------------------------------
    def _new_iterator(self) -> Iterator[Any]:
        if isinstance(self.source, Dataset):
            return iter(self.source._iterate())
        if isinstance(self.source, Sequence):
            n = len(self.source)
            order = _random.generator().permutation(n) if self.shuffle else range(n)
            return (self.source[int(i)] for i in order)
        return iter(self.source)

    def _next_element(self) -> Any:
        if self._peeked:
            return self._peeked.pop()
        return next(self._iterator)

    def peek(self) -> tuple[np.ndarray, Any, Any]:
        """The first batch, converted (it will also be the first batch of the
        first epoch); ValueError when the source yields nothing."""
        if self._iterator is None:
            self._iterator, self._fresh = self._new_iterator(), True
        if not self._peeked:
            try:
                self._peeked.append(next(self._iterator))
            except StopIteration:
                raise ValueError(
                    f"{self.where}: Expected input data to be non-empty; the "
                    f"{_kind(self.source).strip('`')} yielded no batch"
                ) from None
        return self.convert(self._peeked[0])

    def epoch(self) -> Iterator[tuple[int, np.ndarray, Any, Any]]:
        """One epoch of ``(step, x, y, w)``: y and w may be None. A batch is
        valid until the next one is drawn."""
        if self._iterator is None or (self.recreate and not self._fresh):
            self._iterator = self._new_iterator()
            self._peeked = []
        self._fresh = False
        step = 0
        while self.steps is None or step < self.steps:
            try:
                element = self._next_element()
            except StopIteration:
                if self.steps is None:
                    self.steps = step  # known from now on (Keras 2)
                else:
                    self.exhausted = True
                    warnings.warn(
                        "Your input ran out of data; interrupting training. Make sure "
                        "that your dataset or generator can generate at least "
                        "`steps_per_epoch * epochs` batches. You may need to use the "
                        "repeat() function when building your dataset.",
                        UserWarning,
                        stacklevel=3,
                    )
                break
            yield (step, *self.convert(element))
            step += 1
        if isinstance(self.source, Sequence):
            self.source.on_epoch_end()

    # ---- conversion ---------------------------------------------------------------
    def convert(self, element: Any) -> tuple[np.ndarray, Any, Any]:
        """One batch checked as arrays would be, x in the model's dtype."""
        x, y, w = unpack(element, self.where)
        x, y, w = _plain(x), _plain(y), _plain(w)
        trainer = self.trainer
        if not self.targets:
            return trainer._as_batch(trainer._prepare_x(x, self.where)), None, None
        if y is None:
            raise ValueError(
                f"{self.where}: the {_kind(self.source).strip('`')} yields x only; "
                "expected batches (x, y) or (x, y, sample_weight) to compute the loss"
            )
        xs, ys = trainer._prepare_xy(x, y, self.where)
        weights = trainer._sample_weights(
            y, len(xs[0]), w, self.class_weight, self.where
        )
        return trainer._as_batch(xs), ys, weights


def _plain(value: Any) -> Any:
    """A Tensor (an ndarray subclass) as its plain array; other values as given."""
    if isinstance(value, np.ndarray) and type(value) is not np.ndarray:
        return value.view(np.ndarray)
    return value


def predict(
    trainer: Any, handler: StreamHandler, verbose: int, callbacks: list[Any]
) -> np.ndarray:
    """Trainer.predict over a batch source: the outputs of every batch, in
    order, as one array (a batch's y and sample_weight are ignored)."""
    model = trainer.model
    progbar = Progbar(handler.steps, verbose=verbose) if verbose else None
    hooks = CallbackList(
        callbacks,
        model=model,
        params={"verbose": verbose, "epochs": 1, "steps": handler.steps},
    )
    hooks.on_predict_begin({})
    outputs = []  # per batch, one array per model output
    for step, xb, _, _ in handler.epoch():
        hooks.on_predict_batch_begin(step, {})
        parts = trainer._output_arrays(len(xb[0]))
        trainer._predict_batch(xb, parts, training=False)
        outputs.append(parts)
        hooks.on_predict_batch_end(step, {"outputs": trainer._structured(parts)})
        if progbar is not None:
            progbar.update(step + 1)
    if progbar is not None and progbar.target is None:
        progbar.update(progbar.current, finalize=True)
    hooks.on_predict_end({})
    if not outputs:
        raise ValueError(f"{handler.where}: the input yielded no batch to predict")
    return trainer._structured([np.concatenate(column) for column in zip(*outputs)])
