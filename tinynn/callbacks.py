"""Callbacks with tf.keras 2 semantics: History, ProgbarLogger, EarlyStopping,
ModelCheckpoint, LambdaCallback, TerminateOnNaN, LearningRateScheduler,
ReduceLROnPlateau, CSVLogger.

fit calls, in order: on_train_begin; per epoch on_epoch_begin, per batch
on_train_batch_begin / on_train_batch_end (logs hold running means), then
on_epoch_end (logs include val_*); finally on_train_end. It stops after the
current batch or epoch once a callback sets ``model.stop_training = True``.
As in Keras, every hook receives ``logs`` positionally (a dict, ``{}`` when
there is nothing to report), after the epoch or batch index where it has one,
so ``def on_train_begin(self, logs):`` works.
"""

from __future__ import annotations

import csv
import inspect
import math
import os
import warnings
from typing import Any, Callable

import numpy as np

from ._checks import describe, non_negative_int, real_number
from .progress import Progbar

__all__ = [
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
]

# Hooks that take an epoch or batch index before logs; the others take logs only.
_INDEXED_HOOKS = {
    f"on_{stage}_{end}"
    for stage in ("epoch", "batch", "train_batch", "test_batch", "predict_batch")
    for end in ("begin", "end")
}


class Callback:
    """Base class: override the hooks you need. ``self.model`` and
    ``self.params`` ({'verbose', 'epochs', 'steps'}) are set by fit."""

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs=None):
        """Called once before training."""

    def on_train_end(self, logs=None):
        """Called once after training."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called before each epoch (0-based)."""

    def on_epoch_end(self, epoch, logs=None):
        """Called after each epoch with its logs."""

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_batch_begin(self, batch, logs=None):
        """Alias hook for training batches."""

    def on_batch_end(self, batch, logs=None):
        """Alias hook for training batches."""

    def on_test_begin(self, logs=None):
        """Called before evaluation."""

    def on_test_end(self, logs=None):
        """Called after evaluation."""

    def on_test_batch_begin(self, batch, logs=None):
        """Before an evaluation batch."""

    def on_test_batch_end(self, batch, logs=None):
        """After an evaluation batch."""

    def on_predict_begin(self, logs=None):
        """Called before prediction."""

    def on_predict_end(self, logs=None):
        """Called after prediction."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Before a prediction batch."""

    def on_predict_batch_end(self, batch, logs=None):
        """After a prediction batch."""


class CallbackList:
    """Calls each hook on every callback, in order."""

    def __init__(
        self,
        callbacks: list[Callback],
        model: Any = None,
        params: dict[str, Any] | None = None,
    ):
        for item in callbacks:
            if not isinstance(item, Callback):
                raise TypeError(
                    f"callbacks: every item must be a tinynn Callback; got "
                    f"{describe(item)}"
                )
        self.callbacks = list(callbacks)
        for item in self.callbacks:
            item.set_model(model)
            item.set_params(dict(params or {}))

    def __getattr__(self, hook: str) -> Callable[..., None]:
        if not hook.startswith("on_"):
            raise AttributeError(hook)
        if hook in _INDEXED_HOOKS:

            def call_indexed(index: int, logs: dict | None = None) -> None:
                logs = {} if logs is None else logs
                for item in self.callbacks:
                    getattr(item, hook)(index, logs)

            return call_indexed

        def call_all(logs: dict | None = None) -> None:
            logs = {} if logs is None else logs
            for item in self.callbacks:
                getattr(item, hook)(logs)

        return call_all


class History(Callback):
    """Records the logs of every epoch: ``history.history['loss']`` etc.

    Also keeps ``batch_history``, each training batch's own loss and metrics
    (not running means), for per-iteration plots, and ``epoch_seconds``, the
    wall-clock time of each epoch (validation included).
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.batch_history: dict[str, list[float]] = {}
        self.epoch_seconds: list[float] = []

    def on_train_begin(self, logs=None):
        self.history, self.epoch, self.batch_history = {}, [], {}
        self.epoch_seconds = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(int(epoch))
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))

    def record_batch(self, values: dict[str, float]) -> None:
        """Append one training batch's own values."""
        for key, value in values.items():
            self.batch_history.setdefault(key, []).append(float(value))

    def record_epoch_time(self, seconds: float) -> None:
        """Append the wall-clock time of the epoch that just ended."""
        self.epoch_seconds.append(float(seconds))


class ProgbarLogger(Callback):
    """Prints ``Epoch i/N`` and a progress bar per epoch (verbose 1) or one
    line per epoch (verbose 2); any other verbose value prints only headers."""

    def __init__(self, verbose: int = 1):
        super().__init__()
        self.verbose = verbose
        self._bar: Progbar | None = None
        self._seen: int | None = None

    def on_epoch_begin(self, epoch, logs=None):
        epochs = self.params.get("epochs", 1)
        if epochs > 1:
            print(f"Epoch {epoch + 1}/{epochs}", flush=True)
        if self.verbose in (1, 2):
            # An unknown length ('N/Unknown') is known after the first epoch (Keras 2).
            steps = self.params.get("steps") or self._seen
            self._bar = Progbar(steps, verbose=self.verbose)

    def on_train_batch_end(self, batch, logs=None):
        if self._bar is not None:  # verbose 2 counts steps but draws at the end
            # Never finalize here: the epoch's last line also carries val_* values.
            self._bar.update(batch + 1, list((logs or {}).items()), finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None:
            done = self._bar.current or self._bar.target or 0
            if self._bar.target is None:
                self._seen = self._bar.current
            self._bar.update(done, list((logs or {}).items()), finalize=True)
            self._bar = None


def _auto_mode(monitor: str) -> str:
    return "max" if monitor.endswith(("acc", "accuracy", "auc")) else "min"


class _Monitor:
    """Best-value bookkeeping shared by EarlyStopping and ModelCheckpoint."""

    def __init__(self, where: str, monitor: str, mode: str, min_delta: float = 0.0):
        if not isinstance(monitor, str):
            raise TypeError(
                f"{where}: monitor must be a string such as 'val_loss'; got {monitor!r}"
            )
        if mode not in ("auto", "min", "max"):
            raise ValueError(
                f"{where}: mode must be 'auto', 'min' or 'max'; got {mode!r}"
            )
        self.monitor = monitor
        self.mode = _auto_mode(monitor) if mode == "auto" else mode
        self.min_delta = abs(min_delta)

    def improved(self, current: float, best: float) -> bool:
        if self.mode == "max":
            return current - self.min_delta > best
        return current + self.min_delta < best

    def initial(self) -> float:
        return -math.inf if self.mode == "max" else math.inf


class EarlyStopping(Callback):
    """Stop training when `monitor` has not improved for `patience` epochs.

    Parameters follow tf.keras 2: mode 'auto' maximises names ending in
    'acc', 'accuracy' or 'auc' and minimises the rest; with
    ``restore_best_weights`` the best epoch's weights are restored when the
    callback stops training.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ):
        super().__init__()
        min_delta = real_number(min_delta, "EarlyStopping", "min_delta")
        self._monitor = _Monitor("EarlyStopping", monitor, mode, min_delta)
        self.monitor, self.mode = self._monitor.monitor, self._monitor.mode
        self.patience = non_negative_int(patience, "EarlyStopping", "patience")
        self.start_from_epoch = non_negative_int(
            start_from_epoch, "EarlyStopping", "start_from_epoch"
        )
        self.verbose = verbose
        self.baseline = (
            None
            if baseline is None
            else real_number(baseline, "EarlyStopping", "baseline")
        )
        self.restore_best_weights = bool(restore_best_weights)
        self.min_delta = self._monitor.min_delta

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = self._monitor.initial()
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(
                f"EarlyStopping: monitor {self.monitor!r} is not in the logs; available "
                f"keys: {sorted(logs or {})}",
                RuntimeWarning,
                stacklevel=2,
            )
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self._monitor.improved(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._monitor.improved(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                if self.verbose > 0:
                    print(
                        "Restoring model weights from the end of the best epoch: "
                        f"{self.best_epoch + 1}."
                    )
                self.model.set_weights(self.best_weights)

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")


class ModelCheckpoint(Callback):
    """Save the model (or its weights) after epochs, optionally only the best.

    `filepath` may hold format fields filled from the epoch (1-based) and the
    epoch's logs, e.g. ``weights.{epoch:02d}-{val_loss:.2f}.h5``. Files are
    written atomically by the model's save.
    """

    def __init__(
        self,
        filepath: Any,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: Any = "epoch",
        initial_value_threshold: float | None = None,
    ):
        super().__init__()
        if not isinstance(filepath, (str, os.PathLike)):
            raise TypeError(
                f"ModelCheckpoint: filepath must be a str or path; got "
                f"{describe(filepath)}"
            )
        self.filepath = os.fspath(filepath)
        self._monitor = _Monitor("ModelCheckpoint", monitor, mode)
        self.monitor = monitor
        self.verbose, self.save_best_only = verbose, bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(
                f"ModelCheckpoint: save_freq must be 'epoch' or a positive "
                f"number of batches; got {save_freq!r}"
            )
        self.save_freq = save_freq
        self.best = (
            self._monitor.initial()
            if initial_value_threshold is None
            else float(initial_value_threshold)
        )
        self._batches = 0
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches += 1
        if self._batches % self.save_freq == 0:
            self._save(self._epoch, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, logs or {})

    def _path(self, epoch: int, logs: dict[str, float]) -> str:
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as exc:
            raise ValueError(
                f"ModelCheckpoint: filepath {self.filepath!r} uses {exc.args[0]!r}, which "
                f"is not in the logs; available: {['epoch', *sorted(logs)]}"
            ) from None

    def _save(self, epoch: int, logs: dict[str, float]) -> None:
        path = self._path(epoch, logs)
        folder = os.path.dirname(path)
        if folder:  # Keras creates a missing folder
            os.makedirs(folder, exist_ok=True)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(
                    f"ModelCheckpoint: can save best model only with "
                    f"{self.monitor!r} available, skipping",
                    RuntimeWarning,
                    stacklevel=2,
                )
                return
            if not self._monitor.improved(current, self.best):
                if self.verbose > 0:
                    print(
                        f"Epoch {epoch + 1}: {self.monitor} did not improve from "
                        f"{self.best:.5f}"
                    )
                return
            if self.verbose > 0:
                print(
                    f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} "
                    f"to {current:.5f}, saving model to {path}"
                )
            self.best = current
        elif self.verbose > 0:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda
    epoch, logs: print(logs['loss']))``."""

    def __init__(
        self,
        on_epoch_begin=None,
        on_epoch_end=None,
        on_batch_begin=None,
        on_batch_end=None,
        on_train_begin=None,
        on_train_end=None,
        **kwargs,
    ):
        super().__init__()
        given = dict(
            on_epoch_begin=on_epoch_begin,
            on_epoch_end=on_epoch_end,
            on_batch_begin=on_batch_begin,
            on_batch_end=on_batch_end,
            on_train_begin=on_train_begin,
            on_train_end=on_train_end,
            **kwargs,
        )
        for hook, function in given.items():
            if function is None:
                continue
            if not hook.startswith("on_") or not hasattr(Callback, hook):
                raise TypeError(f"LambdaCallback: unknown hook {hook!r}")
            if not callable(function):
                raise TypeError(
                    f"LambdaCallback: {hook} must be callable; got {describe(function)}"
                )
            setattr(self, hook, function)


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


def _current_rate(where: str, model: Any) -> float:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError(f"{where}: the model has no optimizer; compile it first")
    return float(optimizer.learning_rate)


def _set_rate(where: str, model: Any, value: Any) -> float:
    rate = real_number(value, where, "the new learning rate", low=0.0)
    try:
        model.optimizer.learning_rate = rate
    except TypeError as exc:  # a schedule owns the rate
        raise TypeError(f"{where}: {exc}") from None
    return rate


def _takes_two(function: Callable) -> bool | None:
    """True when `function` takes (epoch, lr), False for (epoch), None when
    its signature cannot be read."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    positional = [
        p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if any(p.kind == p.VAR_POSITIONAL for p in parameters):
        return True
    return len(positional) >= 2


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of every epoch to
    ``schedule(epoch)`` or ``schedule(epoch, lr)`` (epoch 0-based, lr the
    current rate), as Keras 2 does; the rate is also logged as ``lr`` at the
    end of each epoch (so it appears in the History)."""

    def __init__(self, schedule: Callable, verbose: int = 0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                f"LearningRateScheduler: schedule must be callable; got "
                f"{describe(schedule)}"
            )
        self.schedule = schedule
        self.verbose = verbose
        self._two = _takes_two(schedule)

    def on_epoch_begin(self, epoch, logs=None):
        where = "LearningRateScheduler"
        lr = _current_rate(where, self.model)
        if self._two is None:  # Keras's way: try (epoch, lr) first
            try:
                value = self.schedule(epoch, lr)
            except TypeError:
                value = self.schedule(epoch)
        else:
            value = self.schedule(epoch, lr) if self._two else self.schedule(epoch)
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise ValueError(
                f"{where}: the schedule must return a float; got {describe(value)} "
                f"at epoch {epoch}"
            )
        rate = _set_rate(where, self.model, value)
        if self.verbose > 0:
            print(
                f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate "
                f"to {rate}."
            )

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = _current_rate("LearningRateScheduler", self.model)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by `factor` when `monitor` has not improved
    by more than `min_delta` for `patience` epochs, then wait `cooldown`
    epochs before counting again; never below `min_lr`. Keras 2's defaults
    and rule: mode 'auto' maximises a monitor whose name contains 'acc' and
    minimises the rest. The rate is logged as ``lr`` every epoch."""

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
        **kwargs: Any,
    ):
        super().__init__()
        where = "ReduceLROnPlateau"
        if "epsilon" in kwargs:  # Keras 1's name for min_delta
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise TypeError(
                f"{where}: unexpected keyword argument {next(iter(kwargs))!r}"
            )
        if not isinstance(monitor, str):
            raise TypeError(f"{where}: monitor must be a string; got {monitor!r}")
        self.factor = real_number(factor, where, "factor", low=0.0)
        if self.factor >= 1.0:
            raise ValueError(
                f"{where}: factor must be < 1.0 (the rate is multiplied by it); "
                f"got {factor!r}"
            )
        if mode not in ("auto", "min", "max"):
            raise ValueError(
                f"{where}: mode must be 'auto', 'min' or 'max'; got {mode!r}"
            )
        self.monitor, self.mode = monitor, mode
        self.patience = non_negative_int(patience, where, "patience")
        self.cooldown = non_negative_int(cooldown, where, "cooldown")
        self.min_delta = real_number(min_delta, where, "min_delta")
        self.min_lr = real_number(min_lr, where, "min_lr", low=0.0)
        self.verbose = verbose
        self._reset()

    def _reset(self) -> None:
        self._maximise = self.mode == "max" or (
            self.mode == "auto" and "acc" in self.monitor
        )
        self.best = -math.inf if self._maximise else math.inf
        self.wait = 0
        self.cooldown_counter = 0

    def _improved(self, current: float) -> bool:
        if self._maximise:
            return current > self.best + self.min_delta
        return current < self.best - self.min_delta

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        where = "ReduceLROnPlateau"
        logs = {} if logs is None else logs
        logs["lr"] = _current_rate(where, self.model)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"{where}: learning-rate reduction is conditioned on {self.monitor!r}, "
                f"which is not in the logs; available: {sorted(logs)}",
                RuntimeWarning,
                stacklevel=2,
            )
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best, self.wait = current, 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old = logs["lr"]
                # Keras holds the rate in float32: compare both in float32
                # (a float64 rate just above float32(min_lr) would otherwise
                # keep "reducing" to min_lr, printing it every epoch).
                if np.float32(old) > np.float32(self.min_lr):
                    new = _set_rate(
                        where, self.model, max(old * self.factor, self.min_lr)
                    )
                    if self.verbose > 0:
                        print(
                            f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing "
                            f"learning rate to {new}."
                        )
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class CSVLogger(Callback):
    """Write one row per epoch to a CSV file in Keras 2's format: a header
    ``epoch,<log keys sorted>``, then the 0-based epoch and each value. When
    the first epoch has no ``val_*`` keys, ``val_`` columns are added for
    every key (filled with ``NA`` when missing, as with validation_freq).
    With ``append`` the rows go after an existing file's, without a second
    header."""

    def __init__(self, filename: Any, separator: str = ",", append: bool = False):
        super().__init__()
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(
                f"CSVLogger: filename must be a str or path; got {describe(filename)}"
            )
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(
                f"CSVLogger: separator must be a single character; got {separator!r}"
            )
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = bool(append)
        self.keys: list[str] | None = None
        self.writer: csv.DictWriter | None = None
        self.csv_file: Any = None
        self.append_header = True

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, encoding="utf-8") as f:
                    self.append_header = not f.readline()
            mode = "a"
        else:
            mode = "w"
        self.csv_file = open(self.filename, mode, newline="", encoding="utf-8")
        self.keys, self.writer = None, None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if not any(key.startswith("val_") for key in self.keys):
                self.keys += ["val_" + key for key in self.keys]
        if self.writer is None:
            self.writer = csv.DictWriter(
                self.csv_file,
                fieldnames=["epoch"] + self.keys,
                delimiter=self.sep,
                lineterminator="\r\n",
            )
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, _csv_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None:
            self.csv_file.close()
        self.csv_file, self.writer = None, None


def _csv_value(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, (np.floating, np.integer)) or (
        isinstance(value, np.ndarray) and value.ndim == 0
    ):
        return value.item()  # csv writes repr(): 0.25, not np.float32(0.25)
    if isinstance(value, np.ndarray) and value.ndim:
        return f'"[{", ".join(map(str, value))}]"'
    if isinstance(value, (list, tuple)):
        return f'"[{", ".join(map(str, value))}]"'
    return value
