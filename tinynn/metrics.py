"""Metrics with Keras's names, formulas and defaults, resolved the way Keras resolves them.

'accuracy' / 'acc' become binary, sparse categorical or categorical accuracy
from the SHAPES of targets and outputs, as tf.keras resolves them, and keep the user's
string as their name in logs and History ('crossentropy' / 'ce' likewise).

Every metric is a stateful object, as in Keras: ``update_state(y_true,
y_pred, sample_weight=None)``, ``result()``, ``reset_state()``, and calling
it updates the state and returns the result. In fit and evaluate the model
reports, per epoch: for mean metrics (accuracies, cross-entropies, mse...),
the exact running mean of per-sample values; for the confusion-matrix
metrics (Precision, Recall, AUC, TruePositives...), the metric of the counts
summed over every batch since the epoch began. The model keeps those sums
itself, so fit and evaluate leave a metric object's own state alone.
Metrics are NumPy code (not the hot path).
Metrics see the model's output, as in Keras 2 and 3. When tinynn fused the
model's softmax or sigmoid into the loss (it trains on the logits before
it), the model's output is still the probabilities: the metrics get
``logits=True`` and apply a sigmoid for one output column, a softmax for
several. A linear output trained with a ``from_logits=True`` loss is the
logits themselves, and the metrics get them as they are (``logits=False``):
``BinaryAccuracy(threshold=0.0)`` then counts the logits above 0, and
'accuracy' (0.5) and 'mse' see the raw values, as Keras reports them.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from ._checks import describe, positive_int, real_number
from .tensor import Tensor, as_tensor

__all__ = [
    "MeanMetricWrapper",
    "WeightedMetric",
    "AUC",
    "BatchCounts",
    "BinaryAccuracy",
    "BinaryCrossentropy",
    "CategoricalAccuracy",
    "CategoricalCrossentropy",
    "CosineSimilarity",
    "FalseNegatives",
    "FalsePositives",
    "Hinge",
    "KLDivergence",
    "LogCoshError",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "SquaredHinge",
    "Metric",
    "Precision",
    "Recall",
    "SparseCategoricalAccuracy",
    "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "TrueNegatives",
    "TruePositives",
    "binary_accuracy",
    "binary_crossentropy",
    "categorical_accuracy",
    "get",
    "sparse_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "top_k_categorical_accuracy",
]

_EPS = 1e-7


def _array(value: Any, where: str, name: str) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{where}: {name} must be numbers; got {describe(value)}")
    return array


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # never overflows


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _probabilities(outputs: np.ndarray, logits: bool) -> np.ndarray:
    """What a Keras metric sees when the model's softmax/sigmoid was fused."""
    out = np.asarray(outputs, np.float64)
    if not logits:
        return out
    return _sigmoid(out) if out.shape[-1] == 1 else _softmax(out)


def _like_outputs(targets: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Targets shaped as the outputs: (n,) ids one-hot for several columns."""
    t = np.asarray(targets)
    if t.shape == outputs.shape:
        return t
    if t.size == outputs.size:
        return t.reshape(outputs.shape)
    if t.ndim == 1 and outputs.ndim == 2 and t.dtype.kind in "iu":
        onehot = np.zeros(outputs.shape)
        onehot[np.arange(len(t)), t] = 1
        return onehot
    raise ValueError(
        f"metrics: y_true of shape {t.shape} does not match y_pred of shape "
        f"{outputs.shape}"
    )


def _weights(sample_weight: Any, n: int, where: str) -> np.ndarray | None:
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, np.float64).reshape(-1)
    if w.size == 1:
        return np.full(n, float(w[0]))
    if w.size != n:
        raise ValueError(
            f"{where}: sample_weight has {w.size} values; expected {n} (one per sample)"
        )
    return w


class BatchCounts(float):
    """A batch's metric value that also carries the counts (``.counts``) an
    epoch value is built from; the model sums them per fit epoch or evaluate
    run, so a metric object shared by concurrent evaluate calls keeps no
    per-run state."""

    counts: tuple


def _with_counts(value: float, counts: tuple) -> BatchCounts:
    out = BatchCounts(value)
    out.counts = counts
    return out


class Metric:
    """Base class: a stateful statistic; `name` is the key in logs and History.

    Subclasses give Keras's ``update_state`` / ``result`` / ``reset_state``;
    the model calls ``batch_value`` once per batch.
    """

    #: True: ``batch_value`` returns a BatchCounts, and fit and evaluate report
    #: ``value_from_counts`` of the epoch's summed counts instead of a
    #: batch-size-weighted mean of the batch values.
    accumulates = False

    def value_from_counts(self, counts: tuple) -> float:
        """The metric of summed BatchCounts (accumulating metrics only)."""
        raise NotImplementedError

    def __new__(cls, *args: Any, **kwargs: Any):
        # The constructor's arguments, kept for get_config: every metric
        # round-trips exactly what it was built with through the files.
        obj = super().__new__(cls)
        obj._init_arguments = (args, kwargs)
        return obj

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments (Keras's names; defaults filled in,
        ``name`` as the metric is called), JSON-able, for saving."""
        args, kwargs = getattr(self, "_init_arguments", ((), {}))
        signature = inspect.signature(type(self).__init__)
        bound = signature.bind_partial(self, *args, **kwargs)
        bound.apply_defaults()
        config = {
            key: _jsonable(value)
            for key, value in list(bound.arguments.items())[1:]
            if signature.parameters[key].kind
            in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
            and not key.startswith("_")
        }
        config["name"] = self.name
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)

    def __init__(self, name: str | None = None, dtype: Any = None):
        self.name = name or _DEFAULT_NAMES[type(self)]
        self.dtype = dtype
        self.reset_state()

    def reset_state(self) -> None:
        """Forget everything seen (Keras resets at each epoch and evaluate)."""

    def reset_states(self) -> None:
        """Keras 2's older name of ``reset_state``."""
        self.reset_state()

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add a batch of targets and predictions to the state."""
        raise NotImplementedError

    def result(self) -> Tensor:
        """The metric over everything since the last reset."""
        raise NotImplementedError

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def batch_value(
        self,
        targets: np.ndarray,
        outputs: np.ndarray,
        logits: bool,
        correct: int | None = None,
    ) -> float:
        """The batch mean. `logits` says outputs are the values before a
        softmax/sigmoid that the model fused into its loss (the metric sees
        the probabilities); `correct` is the fused loss kernel's count of
        right predictions."""
        raise NotImplementedError


class _MeanMetric(Metric):
    """The (sample-weighted) mean of a per-sample value."""

    def reset_state(self):
        self._total = 0.0
        self._count = 0.0

    def _per_sample(
        self, y_true: np.ndarray, y_pred: np.ndarray, logits: bool
    ) -> np.ndarray:
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        where = f"{self.name}.update_state"
        pred = _array(y_pred, where, "y_pred")
        values = np.asarray(
            self._per_sample(_array(y_true, where, "y_true"), pred, False), np.float64
        ).reshape(-1)
        w = _weights(sample_weight, values.size, where)
        self._total += float(values.sum() if w is None else (values * w).sum())
        self._count += float(values.size if w is None else w.sum())

    def result(self):
        return as_tensor(np.float32(self._total / self._count if self._count else 0.0))

    def batch_value(self, targets, outputs, logits, correct=None):
        return float(np.mean(self._per_sample(targets, outputs, logits)))


class MeanMetricWrapper(_MeanMetric):
    """A metric function ``fn(y_true, y_pred, **kwargs)`` (one value per
    sample, or per element) as a mean metric, named ``fn.__name__`` as Keras
    names it: ``compile(metrics=[tf.keras.metrics.binary_accuracy])`` logs
    'binary_accuracy'. ``fn`` sees probabilities, never logits."""

    def __init__(self, fn: Any, name: str | None = None, dtype: Any = None, **kwargs):
        if not callable(fn):
            raise TypeError(
                f"MeanMetricWrapper: fn must be callable; got {describe(fn)}"
            )
        self._fn, self._fn_kwargs = fn, kwargs
        super().__init__(
            name=name or getattr(fn, "__name__", type(fn).__name__), dtype=dtype
        )

    def _per_sample(self, y_true, y_pred, logits):
        pred = _probabilities(y_pred, logits) if logits else y_pred
        values = np.asarray(self._fn(y_true, pred, **self._fn_kwargs), np.float64)
        if values.ndim == 0 and len(pred):
            values = np.full(len(pred), float(values))
        return values


class SparseCategoricalAccuracy(_MeanMetric):
    """Fraction of rows whose argmax equals the integer label."""

    def _per_sample(self, y_true, y_pred, logits):
        return sparse_categorical_accuracy(y_true, y_pred)

    def batch_value(self, targets, outputs, logits, correct=None):
        if correct is None:
            correct = int(np.sum(np.argmax(outputs, axis=-1) == targets.reshape(-1)))
        return correct / len(outputs)


class CategoricalAccuracy(_MeanMetric):
    """Fraction of rows whose argmax equals the target's argmax."""

    def _per_sample(self, y_true, y_pred, logits):
        return categorical_accuracy(y_true, y_pred)

    def batch_value(self, targets, outputs, logits, correct=None):
        if correct is None:
            correct = int(np.sum(np.argmax(outputs, -1) == np.argmax(targets, -1)))
        return correct / len(outputs)


class BinaryAccuracy(_MeanMetric):
    """Fraction of outputs on the right side of `threshold` (0.5); for the
    logits before a fused sigmoid, of log(t / (1 - t))."""

    def __init__(
        self, name: str | None = None, dtype: Any = None, threshold: float = 0.5
    ):
        super().__init__(name, dtype)
        self.threshold = float(threshold)

    def _per_sample(self, y_true, y_pred, logits):
        if np.ndim(y_pred) == 1:
            # Keras's BinaryAccuracy counts each element of 1-d predictions as a
            # sample (its mean-squared-error and cross-entropy metrics do not:
            # there a 1-d batch is one value, in Keras 2 and 3 alike).
            y_pred = np.reshape(y_pred, (-1, 1))
            if np.size(y_true) == len(y_pred):
                y_true = np.reshape(y_true, (-1, 1))
        return binary_accuracy(y_true, y_pred, self.threshold)

    def batch_value(self, targets, outputs, logits, correct=None):
        if logits:  # sigmoid(z) > t  <=>  z > log(t / (1 - t)), -inf..inf at 0, 1
            with np.errstate(divide="ignore"):
                cut = np.log(self.threshold) - np.log1p(-self.threshold)
        else:
            cut = self.threshold
        return float(np.mean((outputs > cut) == (targets.reshape(outputs.shape) > 0.5)))


class MeanSquaredError(_MeanMetric):
    """mean((y - y_pred)^2)."""

    def _per_sample(self, y_true, y_pred, logits):
        # On a fused softmax/sigmoid, Keras's metric sees the probabilities.
        pred = _probabilities(y_pred, logits)
        diff = pred - np.asarray(y_true).reshape(pred.shape)
        return np.mean(diff**2, axis=-1)


class MeanAbsoluteError(_MeanMetric):
    """mean(|y - y_pred|)."""

    def _per_sample(self, y_true, y_pred, logits):
        # On a fused softmax/sigmoid, Keras's metric sees the probabilities.
        pred = _probabilities(y_pred, logits)
        diff = pred - np.asarray(y_true).reshape(pred.shape)
        return np.mean(np.abs(diff), axis=-1)


class BinaryCrossentropy(_MeanMetric):
    """Mean binary cross-entropy (Keras 2's formula: p clipped to [1e-7, 1 - 1e-7],
    then 1e-7 added inside both logs; the stable logits form with
    ``from_logits=True``, or when the model fused its sigmoid)."""

    def __init__(
        self,
        name: str | None = None,
        dtype: Any = None,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
    ):
        super().__init__(name, dtype)
        self.from_logits = bool(from_logits)
        self.label_smoothing = real_number(
            label_smoothing, "BinaryCrossentropy", "label_smoothing", low=0.0, high=1.0
        )

    def _per_sample(self, y_true, y_pred, logits):
        return binary_crossentropy(
            y_true,
            y_pred,
            from_logits=self.from_logits or logits,
            label_smoothing=self.label_smoothing,
        )


class CategoricalCrossentropy(_MeanMetric):
    """Mean categorical cross-entropy of one-hot targets (Keras's clipping)."""

    def __init__(
        self, name: str | None = None, dtype: Any = None, from_logits: bool = False
    ):
        super().__init__(name, dtype)
        self.from_logits = bool(from_logits)

    def _per_sample(self, y_true, y_pred, logits):
        return _categorical_crossentropy(y_true, y_pred, self.from_logits or logits)


class SparseCategoricalCrossentropy(_MeanMetric):
    """Mean cross-entropy of integer class ids (Keras's clipping)."""

    def __init__(
        self, name: str | None = None, dtype: Any = None, from_logits: bool = False
    ):
        super().__init__(name, dtype)
        self.from_logits = bool(from_logits)

    def _per_sample(self, y_true, y_pred, logits):
        pred = np.asarray(y_pred, np.float64)
        ids = np.asarray(y_true).reshape(-1).astype(np.int64)
        onehot = np.zeros(pred.shape)
        onehot[np.arange(len(ids)), ids] = 1
        return _categorical_crossentropy(onehot, pred, self.from_logits or logits)


class TopKCategoricalAccuracy(_MeanMetric):
    """How often the target's class (argmax of one-hot y_true) is among the
    k highest predictions (k=5); tied scores at the boundary count as in
    the top k, as TensorFlow's in_top_k does."""

    def __init__(self, k: int = 5, name: str | None = None, dtype: Any = None):
        super().__init__(name, dtype)
        self.k = positive_int(k, type(self).__name__, "k")

    def _per_sample(self, y_true, y_pred, logits):
        return top_k_categorical_accuracy(y_true, y_pred, self.k)


class SparseTopKCategoricalAccuracy(TopKCategoricalAccuracy):
    """How often the integer label is among the k highest predictions (k=5)."""

    def _per_sample(self, y_true, y_pred, logits):
        return sparse_top_k_categorical_accuracy(y_true, y_pred, self.k)


class _FormulaMetric(_MeanMetric):
    """A Keras regression/probabilistic metric given by a per-sample formula
    over the last axis (on logits, the model's probabilities are used)."""

    def _per_sample(self, y_true, y_pred, logits):
        pred = np.asarray(y_pred, np.float64)
        if logits:
            pred = _probabilities(pred, True)
        t = _last_axis_targets(y_true, pred, self.name).astype(np.float64)
        return self._formula(t, pred)


class MeanAbsolutePercentageError(_FormulaMetric):
    """100 * mean(|y - p| / max(|y|, 1e-7))."""

    def _formula(self, t, p):
        return 100.0 * np.mean(np.abs(t - p) / np.maximum(np.abs(t), _EPS), axis=-1)


class MeanSquaredLogarithmicError(_FormulaMetric):
    """mean((log(max(p, 1e-7) + 1) - log(max(y, 1e-7) + 1))^2)."""

    def _formula(self, t, p):
        diff = np.log1p(np.maximum(p, _EPS)) - np.log1p(np.maximum(t, _EPS))
        return np.mean(diff**2, axis=-1)


class KLDivergence(_FormulaMetric):
    """sum(y log(y / p)) with y and p clipped to [1e-7, 1]."""

    def _formula(self, t, p):
        t, p = np.clip(t, _EPS, 1), np.clip(p, _EPS, 1)
        return np.sum(t * np.log(t / p), axis=-1)


def _signed(t: np.ndarray) -> np.ndarray:
    """Keras's hinge targets: 0/1 labels become -1/1."""
    return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t


class Hinge(_FormulaMetric):
    """mean(max(1 - y p, 0)), 0/1 targets taken as -1/1."""

    def _formula(self, t, p):
        return np.mean(np.maximum(1 - _signed(t) * p, 0), axis=-1)


class SquaredHinge(_FormulaMetric):
    """mean(max(1 - y p, 0)^2), 0/1 targets taken as -1/1."""

    def _formula(self, t, p):
        return np.mean(np.maximum(1 - _signed(t) * p, 0) ** 2, axis=-1)


class Poisson(_FormulaMetric):
    """mean(p - y log(p + 1e-7))."""

    def _formula(self, t, p):
        with np.errstate(invalid="ignore", divide="ignore"):  # NaN for p < 0, as Keras
            return np.mean(p - t * np.log(p + _EPS), axis=-1)


class LogCoshError(_FormulaMetric):
    """mean(log(cosh(p - y))), computed without overflow."""

    def _formula(self, t, p):
        x = p - t
        return np.mean(x + np.logaddexp(0, -2 * x) - np.log(2), axis=-1)


class CosineSimilarity(_FormulaMetric):
    """sum(y p) / (|y| |p|) over the last axis (0 for a zero vector)."""

    def _formula(self, t, p):
        norms = np.linalg.norm(t, axis=-1) * np.linalg.norm(p, axis=-1)
        return _ratio(np.sum(t * p, axis=-1), norms)


# ---- confusion-matrix metrics ---------------------------------------------


class _Confusion(Metric):
    """Counts of true/false positives/negatives at each threshold (a
    prediction is positive when it is > the threshold; y_true is positive
    when non-zero), over all elements, or over column `class_id`."""

    accumulates = True

    def __init__(
        self,
        thresholds: Any = None,
        name: str | None = None,
        dtype: Any = None,
        class_id: int | None = None,
        _ends: bool = False,
        top_k: Any = None,
    ):
        where = type(self).__name__
        if top_k is not None:
            raise ValueError(
                f"{where}: top_k is not supported by tinynn; got {top_k!r}"
            )
        if thresholds is None:
            thresholds = 0.5
        self._scalar = np.ndim(thresholds) == 0
        values = np.atleast_1d(np.asarray(thresholds, np.float64))
        inner = values[1:-1] if _ends else values
        if values.size == 0 or not np.all((inner >= 0) & (inner <= 1)):
            raise ValueError(
                f"{where}: thresholds must be numbers in [0, 1]; got {thresholds!r}"
            )
        self.thresholds = values
        if class_id is not None and (
            isinstance(class_id, bool)
            or not isinstance(class_id, (int, np.integer))
            or class_id < 0
        ):
            raise ValueError(
                f"{where}: class_id must be an integer >= 0; got {class_id!r}"
            )
        self.class_id = class_id
        super().__init__(name, dtype)

    def reset_state(self):
        size = len(self.thresholds)
        self.true_positives = np.zeros(size)
        self.false_positives = np.zeros(size)
        self.true_negatives = np.zeros(size)
        self.false_negatives = np.zeros(size)

    def _counts(self, y_true, probs, sample_weight=None):
        """(tp, fp, fn, tn) arrays of this batch, one entry per threshold."""
        t = _like_outputs(y_true, probs)
        p = np.asarray(probs, np.float64)
        w = None
        if sample_weight is not None:
            w = _weights(sample_weight, len(p), type(self).__name__)
            w = np.broadcast_to(w.reshape((-1,) + (1,) * (p.ndim - 1)), p.shape)
        if self.class_id is not None:
            t, p = t[..., self.class_id], p[..., self.class_id]
            w = None if w is None else w[..., self.class_id]
        t = t.reshape(-1) != 0
        p = p.reshape(-1)
        _check_unit_interval(p, type(self).__name__)
        w = np.ones(p.shape) if w is None else np.asarray(w, np.float64).reshape(-1)
        pos, neg = w * t, w * ~t
        # Each prediction is above exactly the thresholds smaller than it: with
        # the thresholds sorted, that is a prefix whose length searchsorted
        # gives, so one histogram and a reverse cumulative sum count every
        # threshold at once (O(n log T) time, O(n + T) memory, like Keras's
        # bucketing). NaN is above no threshold.
        order = np.argsort(self.thresholds, kind="stable")
        above = np.searchsorted(self.thresholds[order], p, side="left")
        above[np.isnan(p)] = 0
        size = len(order)

        def count(weights):
            hist = np.bincount(above, weights=weights, minlength=size + 1)
            per_sorted = np.cumsum(hist[::-1])[::-1][1:]
            counts = np.empty(size)
            counts[order] = per_sorted
            return counts

        tp, fp = count(pos), count(neg)
        return tp, fp, pos.sum() - tp, neg.sum() - fp

    def _add(self, counts):
        tp, fp, fn, tn = counts
        self.true_positives += tp
        self.false_positives += fp
        self.false_negatives += fn
        self.true_negatives += tn

    def update_state(self, y_true, y_pred, sample_weight=None):
        where = f"{self.name}.update_state"
        probs = _array(y_pred, where, "y_pred")
        tp, fp, fn, tn = self._counts(
            _array(y_true, where, "y_true"), probs, sample_weight
        )
        self._add((tp, fp, fn, tn))

    def _value(self, tp, fp, tn, fn) -> np.ndarray:
        raise NotImplementedError

    def _shaped(self, values: np.ndarray) -> Tensor:
        values = np.asarray(values, np.float32)
        return as_tensor(values[0] if self._scalar else values)

    def result(self):
        return self._shaped(
            self._value(
                self.true_positives,
                self.false_positives,
                self.true_negatives,
                self.false_negatives,
            )
        )

    def batch_value(self, targets, outputs, logits, correct=None):
        counts = self._counts(targets, _probabilities(outputs, logits))
        return _with_counts(self.value_from_counts(counts), counts)

    def value_from_counts(self, counts):
        tp, fp, fn, tn = counts
        return float(np.atleast_1d(self._value(tp, fp, tn, fn))[0])


class WeightedMetric(Metric):
    """An entry of compile's ``weighted_metrics``: `metric` with sample i
    counted w_i times (sample_weight times class_weight; 1 without them).
    Keras 2 passes the sample weights to these and not to ``metrics``.

    A mean metric reports sum(w_i v_i) / sum(w_i) over the epoch (Keras's
    weighted ``Mean``); a confusion-matrix metric (Precision, AUC...) adds
    w_i to its counts. The per-batch values are counts (``accumulates``).
    """

    accumulates = True

    def __init__(self, metric: Metric, name: str):
        if not isinstance(metric, (_MeanMetric, _Confusion)):
            raise TypeError(
                f"compile: weighted_metrics supports tinynn's built-in metrics; got "
                f"{describe(metric)}"
            )
        self.metric = metric
        self.name = name

    def batch_value(self, targets, outputs, logits, correct=None, weights=None):
        n = len(outputs)
        w = np.ones(n) if weights is None else weights
        if logits and not isinstance(self.metric, _FROM_LOGITS):
            outputs, logits = _probabilities(outputs, True), False
        if isinstance(self.metric, _Confusion):
            counts = self.metric._counts(
                targets, _probabilities(outputs, logits), sample_weight=w
            )
        else:
            values = np.asarray(
                self.metric._per_sample(targets, outputs, logits), np.float64
            ).reshape(n, -1)
            weight = w.reshape(n, 1)
            counts = (
                float((values * weight).sum()),
                float(weight.sum() * values.shape[1]),
            )
        return _with_counts(self.value_from_counts(counts), counts)

    def value_from_counts(self, counts):
        if isinstance(self.metric, _Confusion):
            return self.metric.value_from_counts(counts)
        total, weight = counts
        return total / weight if weight else 0.0


def _check_unit_interval(p: np.ndarray, where: str) -> None:
    """Confusion-matrix metrics count probabilities: scores below 0 or above 1
    (logits fed without ``from_logits``) would be counted against fixed
    thresholds in [0, 1] and give a silently wrong value. TensorFlow's
    confusion-matrix update asserted the same range with these messages."""
    known = p[~np.isnan(p)]
    if known.size == 0:
        return
    low, high = known.min(), known.max()
    if low < 0:
        raise ValueError(
            f"{where}: predictions must be >= 0; got {float(low)!r} (the metric "
            "expects probabilities: pass from_logits=True to AUC, or add a "
            "sigmoid/softmax to the model)"
        )
    if high > 1:
        raise ValueError(
            f"{where}: predictions must be <= 1; got {float(high)!r} (the metric "
            "expects probabilities: pass from_logits=True to AUC, or add a "
            "sigmoid/softmax to the model)"
        )


def unique_names(names: list[str]) -> list[str]:
    """`names` with each repeat renamed as Keras names a second object of a
    class: ``precision``, ``precision_1``, ``precision_2``... (a suffix
    already taken is skipped)."""
    taken = set(names)
    seen: set[str] = set()
    out = []
    for name in names:
        if name in seen:
            suffix = 1
            while f"{name}_{suffix}" in taken:
                suffix += 1
            name = f"{name}_{suffix}"
            taken.add(name)
        seen.add(name)
        out.append(name)
    return out


def check_identifier(identifier: Any, where: str = "compile") -> None:
    """Raise at compile time for a metric name tinynn does not know (the
    same ValueError `get` would raise at the first fit)."""
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in ("accuracy", "acc", "crossentropy", "ce") and not (
            _BY_NAME.get(key) or _CLASS_BY_NAME.get(key)
        ):
            raise ValueError(
                f"{where}: unknown metric {identifier!r}; expected 'accuracy', "
                f"'acc', 'crossentropy', or one of {sorted(_BY_NAME)}"
            )


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den is 0 (TensorFlow's divide_no_nan)."""
    num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


class Precision(_Confusion):
    """tp / (tp + fp) at `thresholds` (0.5), 0 when nothing is predicted positive."""

    def __init__(
        self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None
    ):
        super().__init__(thresholds, name, dtype, class_id, top_k=top_k)

    def _value(self, tp, fp, tn, fn):
        return _ratio(tp, tp + fp)


class Recall(_Confusion):
    """tp / (tp + fn) at `thresholds` (0.5), 0 when there are no positives."""

    def __init__(
        self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None
    ):
        super().__init__(thresholds, name, dtype, class_id, top_k=top_k)

    def _value(self, tp, fp, tn, fn):
        return _ratio(tp, tp + fn)


class TruePositives(_Confusion):
    """Number (sample-weighted) of positives predicted positive."""

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(thresholds, name, dtype)

    def _value(self, tp, fp, tn, fn):
        return tp


class FalsePositives(TruePositives):
    """Number (sample-weighted) of negatives predicted positive."""

    def _value(self, tp, fp, tn, fn):
        return fp


class TrueNegatives(TruePositives):
    """Number (sample-weighted) of negatives predicted negative."""

    def _value(self, tp, fp, tn, fn):
        return tn


class FalseNegatives(TruePositives):
    """Number (sample-weighted) of positives predicted negative."""

    def _value(self, tp, fp, tn, fn):
        return fn


class AUC(_Confusion):
    """Area under the ROC or precision-recall curve (Keras's AUC).

    Parameters
    ----------
    num_thresholds : int
        200: thresholds i / (num_thresholds - 1) for i = 1 .. num_thresholds - 2,
        plus -1e-7 and 1 + 1e-7 at the ends (or `thresholds` given explicitly).
    curve : {'ROC', 'PR'}
    summation_method : {'interpolation', 'minoring', 'majoring'}
        'interpolation' is the trapezoidal rule for ROC and Davis & Goadrich's
        interpolation for PR (as Keras); minoring / majoring use the lower /
        upper of the two heights of each step.
    from_logits : bool
        Apply a sigmoid to the predictions first.

    Labels and predictions are flattened (``multi_label=False``).
    """

    def __init__(
        self,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        name: str | None = None,
        dtype: Any = None,
        thresholds: Any = None,
        multi_label: bool = False,
        num_labels: Any = None,
        label_weights: Any = None,
        from_logits: bool = False,
    ):
        if multi_label or label_weights is not None:
            raise ValueError(
                "AUC: multi_label and label_weights are not supported by tinynn"
            )
        self.curve = str(curve).upper()
        if self.curve not in ("ROC", "PR"):
            raise ValueError(f"AUC: curve must be 'ROC' or 'PR'; got {curve!r}")
        self.summation_method = str(summation_method).lower()
        if self.summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(
                "AUC: summation_method must be 'interpolation', 'minoring' or "
                f"'majoring'; got {summation_method!r}"
            )
        if thresholds is not None:
            inner = np.sort(np.atleast_1d(np.asarray(thresholds, np.float64)))
            self.num_thresholds = len(inner) + 2
        else:
            n = positive_int(num_thresholds, "AUC", "num_thresholds")
            if n < 2:
                raise ValueError(f"AUC: num_thresholds must be > 1; got {n}")
            self.num_thresholds = n
            inner = np.arange(1, n - 1, dtype=np.float64) / (n - 1)
        if np.any((inner < 0) | (inner > 1)):
            raise ValueError(f"AUC: thresholds must be in [0, 1]; got {thresholds!r}")
        self.from_logits = bool(from_logits)
        super().__init__(
            np.concatenate([[-_EPS], inner, [1 + _EPS]]), name, dtype, _ends=True
        )
        self._scalar = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        pred = _array(y_pred, f"{self.name}.update_state", "y_pred")
        if self.from_logits:
            pred = _sigmoid(np.asarray(pred, np.float64))
        super().update_state(y_true, pred, sample_weight)

    def batch_value(self, targets, outputs, logits, correct=None):
        return super().batch_value(targets, outputs, logits or self.from_logits)

    def _value(self, tp, fp, tn, fn):
        # Thresholds ascend, so rates descend along the arrays.
        if self.curve == "PR" and self.summation_method == "interpolation":
            return np.array([_pr_auc_interpolated(tp, fp, fn)])
        if self.curve == "ROC":
            x, y = _ratio(fp, fp + tn), _ratio(tp, tp + fn)
        else:
            x, y = _ratio(tp, tp + fn), _ratio(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return np.array([np.sum((x[:-1] - x[1:]) * heights)])


def _pr_auc_interpolated(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> float:
    """Davis & Goadrich (2006): between two thresholds, precision follows
    tp / p as tp and p = tp + fp move linearly, which integrates in closed
    form over recall (Keras's interpolate_pr_auc, in our words)."""
    dtp = tp[:-1] - tp[1:]
    p = tp + fp
    dp = p[:-1] - p[1:]
    slope = _ratio(dtp, np.maximum(dp, 0))
    intercept = tp[1:] - slope * p[1:]
    both = (p[:-1] > 0) & (p[1:] > 0)
    p_ratio = np.where(both, _ratio(p[:-1], np.maximum(p[1:], 0)), 1.0)
    with np.errstate(divide="ignore"):
        log_ratio = np.where(
            p_ratio > 0, np.log(np.where(p_ratio > 0, p_ratio, 1.0)), 0.0
        )
    return float(
        np.sum(
            _ratio(
                slope * (dtp + intercept * log_ratio), np.maximum(tp[1:] + fn[1:], 0)
            )
        )
    )


# ---- function forms: one value per sample, as Keras's -----------------------


def _last_axis_targets(y_true: Any, y_pred: np.ndarray, where: str) -> np.ndarray:
    t = _array(y_true, where, "y_true")
    if t.shape != y_pred.shape and t.size == y_pred.size:
        t = t.reshape(y_pred.shape)
    if t.shape != y_pred.shape:
        raise ValueError(
            f"{where}: y_true has shape {t.shape}; expected y_pred's shape {y_pred.shape}"
        )
    return t


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> Tensor:
    """Per sample: the fraction of the last axis where (y_pred > threshold)
    equals y_true."""
    pred = np.asarray(_array(y_pred, "binary_accuracy", "y_pred"))
    t = _last_axis_targets(y_true, pred, "binary_accuracy")
    hits = (t == (pred > threshold)).astype(np.float32)
    return as_tensor(hits.mean(axis=-1) if hits.ndim else hits)


def categorical_accuracy(y_true: Any, y_pred: Any) -> Tensor:
    """Per sample: 1.0 where argmax(y_pred) == argmax(y_true) (one-hot y_true)."""
    pred = _array(y_pred, "categorical_accuracy", "y_pred")
    t = _last_axis_targets(y_true, pred, "categorical_accuracy")
    return as_tensor((np.argmax(pred, -1) == np.argmax(t, -1)).astype(np.float32))


def _sparse_ids(y_true: Any, pred: np.ndarray, where: str) -> np.ndarray:
    ids = _array(y_true, where, "y_true")
    if ids.ndim == pred.ndim and ids.shape[-1] == 1:
        ids = ids[..., 0]
    if ids.shape != pred.shape[:-1]:
        raise ValueError(
            f"{where}: y_true has shape {np.shape(y_true)}; expected class ids of "
            f"shape {pred.shape[:-1]} for y_pred of shape {pred.shape}"
        )
    return ids


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> Tensor:
    """Per sample: 1.0 where argmax(y_pred) equals the integer label."""
    pred = _array(y_pred, "sparse_categorical_accuracy", "y_pred")
    ids = _sparse_ids(y_true, pred, "sparse_categorical_accuracy")
    return as_tensor((np.argmax(pred, -1) == ids).astype(np.float32))


def _in_top_k(pred: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    """TensorFlow's in_top_k: fewer than k scores are strictly above the target's."""
    pred = np.asarray(pred, np.float64)
    ids = np.asarray(ids).astype(np.int64)
    target = np.take_along_axis(pred, ids[..., None], axis=-1)
    return ((pred > target).sum(axis=-1) < k).astype(np.float32)


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> Tensor:
    """Per sample: 1.0 where argmax(y_true) is among the k highest predictions."""
    pred = _array(y_pred, "top_k_categorical_accuracy", "y_pred")
    t = _last_axis_targets(y_true, pred, "top_k_categorical_accuracy")
    k = positive_int(k, "top_k_categorical_accuracy", "k")
    return as_tensor(_in_top_k(pred, np.argmax(t, -1), k))


def sparse_top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> Tensor:
    """Per sample: 1.0 where the integer label is among the k highest predictions."""
    pred = _array(y_pred, "sparse_top_k_categorical_accuracy", "y_pred")
    ids = _sparse_ids(y_true, pred, "sparse_top_k_categorical_accuracy")
    k = positive_int(k, "sparse_top_k_categorical_accuracy", "k")
    return as_tensor(_in_top_k(pred, ids, k))


def binary_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0
) -> Tensor:
    """Per sample: Keras 2's binary cross-entropy averaged over the last axis."""
    pred = np.asarray(_array(y_pred, "binary_crossentropy", "y_pred"), np.float64)
    t = _last_axis_targets(y_true, pred, "binary_crossentropy").astype(np.float64)
    if label_smoothing:
        t = t * (1 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        values = np.maximum(pred, 0) - pred * t + np.log1p(np.exp(-np.abs(pred)))
    else:
        q = np.clip(pred, _EPS, 1 - _EPS)
        values = -(t * np.log(q + _EPS) + (1 - t) * np.log(1 - q + _EPS))
    return as_tensor(values.mean(axis=-1) if values.ndim else values)


def _categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool
) -> np.ndarray:
    pred = np.asarray(y_pred, np.float64)
    t = _last_axis_targets(y_true, pred, "categorical_crossentropy").astype(np.float64)
    if from_logits:
        shifted = pred - pred.max(axis=-1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    else:
        logp = np.log(np.clip(pred / pred.sum(axis=-1, keepdims=True), _EPS, 1 - _EPS))
    return -(t * logp).sum(axis=-1)


_DEFAULT_NAMES = {
    SparseCategoricalAccuracy: "sparse_categorical_accuracy",
    CategoricalAccuracy: "categorical_accuracy",
    BinaryAccuracy: "binary_accuracy",
    MeanSquaredError: "mean_squared_error",
    MeanAbsoluteError: "mean_absolute_error",
    BinaryCrossentropy: "binary_crossentropy",
    CategoricalCrossentropy: "categorical_crossentropy",
    SparseCategoricalCrossentropy: "sparse_categorical_crossentropy",
    TopKCategoricalAccuracy: "top_k_categorical_accuracy",
    SparseTopKCategoricalAccuracy: "sparse_top_k_categorical_accuracy",
    Precision: "precision",
    Recall: "recall",
    AUC: "auc",
    TruePositives: "true_positives",
    FalsePositives: "false_positives",
    TrueNegatives: "true_negatives",
    FalseNegatives: "false_negatives",
    MeanAbsolutePercentageError: "mean_absolute_percentage_error",
    MeanSquaredLogarithmicError: "mean_squared_logarithmic_error",
    KLDivergence: "kl_divergence",
    Hinge: "hinge",
    SquaredHinge: "squared_hinge",
    Poisson: "poisson",
    LogCoshError: "logcosh",
    CosineSimilarity: "cosine_similarity",
}
_BY_NAME = {name: cls for cls, name in _DEFAULT_NAMES.items()}
_BY_NAME.update(
    {
        "mse": MeanSquaredError,
        "mae": MeanAbsoluteError,
        "mape": MeanAbsolutePercentageError,
        "msle": MeanSquaredLogarithmicError,
        "kld": KLDivergence,
        "kullback_leibler_divergence": KLDivergence,
    }
)
_CLASS_BY_NAME = {cls.__name__.lower(): cls for cls in _DEFAULT_NAMES}


def get(
    identifier: Any, sparse_targets: bool, output_width: int, where: str = "compile"
) -> Metric:
    """Resolve a metric given by name or object against the model's shapes.

    `sparse_targets` says targets are integer ids; `output_width` is the size
    of the outputs' last axis. Names are Keras's metric strings ('accuracy',
    'binary_crossentropy', 'top_k_categorical_accuracy', 'mse'...) and class
    names ('AUC', 'Precision'), case-insensitively.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier) and not isinstance(identifier, (str, type)):
        return MeanMetricWrapper(identifier)
    if not isinstance(identifier, str):
        raise TypeError(
            f"{where}: metrics entries must be names or tinynn.metrics."
            f"Metric objects; got {describe(identifier)}"
        )
    key = identifier.lower()
    if key in ("accuracy", "acc", "crossentropy", "ce"):
        accuracy = key in ("accuracy", "acc")
        if output_width == 1 and not sparse_targets:
            cls = BinaryAccuracy if accuracy else BinaryCrossentropy
        elif sparse_targets:
            cls = (
                SparseCategoricalAccuracy if accuracy else SparseCategoricalCrossentropy
            )
        else:
            cls = CategoricalAccuracy if accuracy else CategoricalCrossentropy
        return cls(name=identifier)
    cls = _BY_NAME.get(key) or _CLASS_BY_NAME.get(key)
    if cls is None:
        raise ValueError(
            f"{where}: unknown metric {identifier!r}; expected 'accuracy', 'acc', "
            f"'crossentropy', or one of {sorted(_BY_NAME)}"
        )
    return cls(name=identifier)


#: Mean metrics whose per-sample formula takes logits itself.
_FROM_LOGITS = (
    _FormulaMetric,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, type) and issubclass(value, np.generic):
        return np.dtype(value).name
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


_CLASSES = {cls.__name__: cls for cls in _DEFAULT_NAMES}


def known_class(name: Any) -> bool:
    """Whether `name` is one of tinynn's metric classes (as files name them)."""
    return isinstance(name, str) and name in _CLASSES


def serialize(metric: Any) -> Any:
    """A compile ``metrics`` entry as files store it: a name stays a name, a
    metric object becomes {"class_name", "config"} with its full config
    (so AUC(curve='PR') reloads as PR and Precision(name='prec') as itself)."""
    if isinstance(metric, str):
        return metric
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(entry: Any, where: str = "load_model") -> Any:
    """`serialize`'s output back to a name or a metric object.

    Raises ValueError for an entry that is neither, an unknown class or an
    argument the class rejects."""
    if isinstance(entry, str):
        check_identifier(entry, where)
        return entry
    if not isinstance(entry, dict) or not isinstance(entry.get("config", {}), dict):
        raise ValueError(
            f"{where}: a metric must be a name or {{class_name, config}}; got "
            f"{describe(entry)}"
        )
    cls = _CLASSES.get(str(entry.get("class_name")))
    if cls is None:
        raise ValueError(
            f"{where}: unknown metric class {entry.get('class_name')!r}; tinynn "
            f"has {sorted(_CLASSES)}"
        )
    config = dict(entry.get("config") or {})
    parameters = inspect.signature(cls.__init__).parameters
    unknown = [key for key in config if key not in parameters or key == "self"]
    for key in unknown:  # what Keras writes and tinynn does not take, when off
        if config[key] in (None, False, [], {}):
            del config[key]
    if not isinstance(config.get("dtype"), (str, type(None))):
        config.pop("dtype")  # a Keras 3 DTypePolicy
    try:
        return cls(**config)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: metric {cls.__name__}: {exc}") from None
