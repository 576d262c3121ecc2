"""Losses with Keras's names, formulas and defaults.

Each loss is the mean over the batch of a per-sample loss, and its gradient
is that of the batch mean. A model whose last layer is softmax (sigmoid)
trains sparse/categorical (binary) cross-entropy through one fused C kernel
on the logits, exactly as tf.keras does; called on bare
arrays, the probability formulas clip at 1e-7 like Keras.

For hand-written loops: ``loss, dy = loss_object.value_and_grad(y_true, y_pred)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _backend, backend, registry
from ._checks import as_float_array, as_sparse_labels, describe, real_number
from .tensor import Tensor, as_tensor

__all__ = [
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "Huber",
    "Loss",
    "MAE",
    "MSE",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "SparseCategoricalCrossentropy",
    "binary_crossentropy",
    "categorical_crossentropy",
    "get",
    "huber",
    "mae",
    "mean_absolute_error",
    "mean_squared_error",
    "mse",
    "sparse_categorical_crossentropy",
]

_EPS = 1e-7


class Loss:
    """Base class. ``loss(y_true, y_pred)`` returns the batch-mean loss as a
    0-d Tensor (a float NumPy array with ``.numpy()``)."""

    #: Output activation whose pre-activation this loss can consume ("logits").
    fusable_activation: str | None = None

    def __init__(self, reduction: str = "sum_over_batch_size", name: str | None = None):
        if reduction not in ("sum_over_batch_size", "auto"):
            raise ValueError(
                f"{type(self).__name__}: reduction {reduction!r} is not supported; "
                "expected 'sum_over_batch_size'"
            )
        self.reduction = reduction
        self.name = name or _SNAKE[type(self)]
        self.from_logits = False

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        """The batch-mean loss as a 0-d float32/float64 Tensor (``.numpy()``).

        With `sample_weight` (one non-negative weight per sample), Keras's
        ``sum_over_batch_size``: sum(w_i * loss_i) / batch size.
        """
        pred = _as_pred(y_pred, self.name)
        if sample_weight is None:
            value = self.value_and_grad(y_true, y_pred, need_grad=False)[0]
        else:
            targets = self.prepare_targets(y_true, pred.shape, pred.dtype, self.name)
            weights = check_sample_weight(sample_weight, len(pred), self.name)
            value = self.compute_weighted(
                pred, targets, None, self.from_logits, weights
            )[0]
        return as_tensor(np.asarray(value, pred.dtype))

    def value_and_grad(
        self, y_true: Any, y_pred: Any, need_grad: bool = True
    ) -> tuple[float, np.ndarray | None]:
        """The batch-mean loss and its gradient with respect to `y_pred`.

        Parameters
        ----------
        y_true : array-like
            Targets (integer class ids for sparse cross-entropy).
        y_pred : array-like
            Predictions, shape (batch, outputs): logits when ``from_logits``.

        Returns
        -------
        (float, numpy.ndarray)
            The loss and dloss/dy_pred (same shape and dtype as `y_pred`).
        """
        where = f"{self.name}"
        pred = _as_pred(y_pred, where)
        targets = self.prepare_targets(y_true, pred.shape, pred.dtype, where)
        grad = np.empty_like(pred) if need_grad else None
        loss, _ = self.compute(pred, targets, grad, logits=self.from_logits)
        return loss, grad

    # ---- used by Sequential ------------------------------------------------
    def prepare_targets(
        self, y: Any, output_shape: tuple, dtype: np.dtype, where: str
    ) -> np.ndarray:
        """Convert targets once per fit; check they fit outputs of `output_shape`."""
        targets = as_float_array(y, dtype, where, "y")
        if targets.shape[1:] != tuple(output_shape[1:]):
            if targets.ndim == 1 and tuple(output_shape[1:]) == (1,):
                return targets.reshape(-1, 1)
            raise ValueError(
                f"{where}: y has shape {targets.shape} but the model's outputs have "
                f"shape {_fmt_shape(output_shape)}; expected targets of shape "
                f"(n, {', '.join(map(str, output_shape[1:]))}) for {self.name}"
            )
        return targets

    def compute(
        self,
        pred: np.ndarray,
        targets: np.ndarray,
        grad: np.ndarray | None,
        logits: bool,
    ) -> tuple[float, int | None]:
        """(mean loss, correct count or None); gradient into `grad` unless None.

        `logits` says `pred` is the pre-activation of `fusable_activation`.
        """
        raise NotImplementedError

    def per_sample(
        self, pred: np.ndarray, targets: np.ndarray, logits: bool
    ) -> np.ndarray:
        """Each sample's loss in float64, shape ``pred.shape[:-1]`` (the
        values whose mean `compute` returns). Only weighted batches use it."""
        raise NotImplementedError

    def compute_weighted(
        self,
        pred: np.ndarray,
        targets: np.ndarray,
        grad: np.ndarray | None,
        logits: bool,
        weights: np.ndarray,
    ) -> tuple[float, int | None]:
        """`compute` with one weight per sample, as Keras 2 reduces
        (``sum_over_batch_size``): loss = sum(w_i * loss_i) / batch size.

        The C kernel writes the gradient of the unweighted mean; row i of
        the weighted loss's gradient is that row times w_i, so the rows are
        scaled in place. `correct` stays unweighted (Keras 2's ``metrics``
        ignore sample weights).
        """
        _, correct = self.compute(pred, targets, grad, logits)
        if grad is not None:
            grad *= weights.reshape((-1,) + (1,) * (grad.ndim - 1))
        values = self.per_sample(pred, targets, logits)
        scaled = values * weights.reshape((-1,) + (1,) * (values.ndim - 1))
        return float(scaled.sum() / values.size), correct

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, for saving."""
        return {"name": self.name, "from_logits": self.from_logits}


def check_sample_weight(sample_weight: Any, n: int, where: str) -> np.ndarray:
    """`sample_weight` as a float64 vector of `n` finite, non-negative weights."""
    if isinstance(sample_weight, (str, bytes, dict)):
        raise TypeError(
            f"{where}: sample_weight must be an array of one weight per sample; "
            f"got {describe(sample_weight)}"
        )
    try:
        weights = np.asarray(sample_weight, np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{where}: sample_weight must be an array of numbers; got "
            f"{describe(sample_weight)}"
        ) from None
    if weights.ndim == 2 and weights.shape[1] == 1:
        weights = weights[:, 0]
    if weights.ndim != 1 or len(weights) != n:
        raise ValueError(
            f"{where}: sample_weight has shape {weights.shape}; expected ({n},), "
            "one weight per sample"
        )
    bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{where}: sample_weight[{i}] = {float(weights[i])!r}; expected finite "
            "non-negative weights"
        )
    return np.ascontiguousarray(weights)


def _log_softmax64(pred: np.ndarray) -> np.ndarray:
    z = pred.astype(np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _fmt_shape(shape: tuple) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _as_pred(y_pred: Any, where: str) -> np.ndarray:
    dtype = getattr(y_pred, "dtype", None)
    if dtype is None or np.dtype(dtype).name not in ("float32", "float64"):
        dtype = np.dtype(backend.floatx())
    pred = as_float_array(y_pred, np.dtype(dtype), where, "y_pred")
    if pred.ndim < 1 or pred.size == 0:
        raise ValueError(
            f"{where}: y_pred must be a non-empty array; got shape {pred.shape}"
        )
    return pred


@registry.register("loss")
class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy with integer class ids as targets (shape (n,) or (n, 1)).

    loss = -log softmax(z)[y] from logits; from probabilities p (Keras):
    -log(q_y / sum_k q_k) with q = clip(p, 1e-7, 1 - 1e-7).
    """

    fusable_activation = "softmax"

    def __init__(
        self,
        from_logits: bool = False,
        ignore_class: Any = None,
        reduction: str = "sum_over_batch_size",
        name: str | None = None,
    ):
        super().__init__(reduction, name)
        self.from_logits = _bool(from_logits, type(self).__name__, "from_logits")
        if ignore_class is not None:
            raise ValueError(f"{self.name}: ignore_class is not supported")

    def prepare_targets(self, y, output_shape, dtype, where):
        if len(output_shape) != 2:
            raise ValueError(
                f"{where}: sparse_categorical_crossentropy needs outputs of shape "
                f"(batch, classes); the model's outputs have shape {_fmt_shape(output_shape)}"
            )
        array = np.asarray(y) if not isinstance(y, np.ndarray) else y
        if (
            array.ndim == 2
            and array.shape[1] == output_shape[1]
            and output_shape[1] > 1
        ):
            raise ValueError(
                f"{where}: y has shape {array.shape}, which looks one-hot; "
                "sparse_categorical_crossentropy expects integer class ids of shape (n,): "
                "use categorical_crossentropy for one-hot labels or y.argmax(axis=1)"
            )
        return as_sparse_labels(array, int(output_shape[1]), where, "y")

    def compute(self, pred, targets, grad, logits):
        if logits:
            return _backend.softmax_xent(pred, targets, grad)
        if pred.ndim != 2:
            raise ValueError(
                f"{self.name}: y_pred must have shape (batch, classes); "
                f"got {pred.shape}"
            )
        q = np.clip(pred.astype(np.float64), _EPS, 1 - _EPS)
        total = q.sum(axis=1)
        rows = np.arange(len(targets))
        picked = q[rows, targets]
        loss = float(np.mean(self.per_sample(pred, targets, False)))
        if grad is not None:
            # d/dp of log(sum q) - log(q_y), zero where the clip was active.
            g = np.broadcast_to(1.0 / total[:, None], q.shape).copy()
            g[rows, targets] -= 1.0 / picked
            g *= (pred > _EPS) & (pred < 1 - _EPS)
            np.copyto(grad, g / len(targets), casting="unsafe")
        correct = int(np.sum(np.argmax(pred, axis=1) == targets))
        return loss, correct

    def per_sample(self, pred, targets, logits):
        rows = np.arange(len(targets))
        if logits:
            return -_log_softmax64(pred)[rows, targets]
        q = np.clip(pred.astype(np.float64), _EPS, 1 - _EPS)
        return np.log(q.sum(axis=1)) - np.log(q[rows, targets])


class _SmoothedCrossentropy(Loss):
    """Constructor shared by the categorical and binary cross-entropies.

    `prepare_targets` keeps the user's labels (the model's metrics see them,
    as in Keras); `label_smoothing` is applied inside `compute` and
    `per_sample`, to the loss only."""

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str = "sum_over_batch_size",
        name: str | None = None,
    ):
        super().__init__(reduction, name)
        where = type(self).__name__
        self.from_logits = _bool(from_logits, where, "from_logits")
        self.label_smoothing = real_number(
            label_smoothing, where, "label_smoothing", low=0.0, high=1.0
        )
        if axis != -1:
            raise ValueError(f"{where}: only axis=-1 is supported; got {axis!r}")

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


@registry.register("loss")
class CategoricalCrossentropy(_SmoothedCrossentropy):
    """Cross-entropy with one-hot (or probability) targets of shape (n, classes).

    From probabilities (Keras): p is renormalised to sum 1 per row, clipped to
    [1e-7, 1 - 1e-7], and loss = -sum y log p. `label_smoothing` s replaces y
    by y (1 - s) + s / classes.
    """

    fusable_activation = "softmax"

    def prepare_targets(self, y, output_shape, dtype, where):
        array = np.asarray(y) if not isinstance(y, np.ndarray) else y
        if array.ndim == 1 or (
            array.ndim == 2 and array.shape[1] == 1 and output_shape[-1] > 1
        ):
            raise ValueError(
                f"{where}: Shapes {_fmt_shape((None, *array.shape[1:]))} and "
                f"{_fmt_shape(output_shape)} are incompatible: categorical_crossentropy "
                "expects one-hot targets; use sparse_categorical_crossentropy for integer "
                "labels or tinynn.keras.utils.to_categorical(y)"
            )
        targets = super().prepare_targets(array, output_shape, dtype, where)
        return np.ascontiguousarray(targets, dtype=dtype)

    def _smoothed(self, targets: np.ndarray) -> np.ndarray:
        if not self.label_smoothing:
            return targets
        s = self.label_smoothing
        return (targets * (1 - s) + s / targets.shape[-1]).astype(targets.dtype)

    def compute(self, pred, targets, grad, logits):
        labels = targets
        targets = self._smoothed(targets)
        if logits:
            return _backend.softmax_xent_dense(pred, targets, grad)
        p64 = pred.astype(np.float64)
        total = p64.sum(axis=1, keepdims=True)
        q = np.clip(p64 / total, _EPS, 1 - _EPS)
        loss = float(np.mean(-(targets * np.log(q)).sum(axis=1)))
        if grad is not None:
            active = ((p64 / total) > _EPS) & ((p64 / total) < 1 - _EPS)
            dq = -targets / q * active
            # q_k = p_k / S: dL/dp_j = (dq_j - sum_k dq_k q_k) / S
            g = (dq - (dq * (p64 / total)).sum(axis=1, keepdims=True)) / total
            np.copyto(grad, g / len(pred), casting="unsafe")
        correct = int(np.sum(np.argmax(pred, axis=1) == np.argmax(labels, axis=1)))
        return loss, correct

    def per_sample(self, pred, targets, logits):
        targets = self._smoothed(targets)
        if logits:
            return -(targets * _log_softmax64(pred)).sum(axis=-1)
        p64 = pred.astype(np.float64)
        q = np.clip(p64 / p64.sum(axis=-1, keepdims=True), _EPS, 1 - _EPS)
        return -(targets * np.log(q)).sum(axis=-1)


@registry.register("loss")
class BinaryCrossentropy(_SmoothedCrossentropy):
    """Element-wise binary cross-entropy, averaged over all outputs.

    From probabilities (Keras 2): p clipped to [1e-7, 1 - 1e-7], then
    -(y log(p + 1e-7) + (1 - y) log(1 - p + 1e-7)). From logits: the stable
    max(z, 0) - z y + log(1 + exp(-|z|)).
    """

    fusable_activation = "sigmoid"

    def prepare_targets(self, y, output_shape, dtype, where):
        targets = super().prepare_targets(y, output_shape, dtype, where)
        return np.ascontiguousarray(targets, dtype=dtype)

    def _smoothed(self, targets: np.ndarray) -> np.ndarray:
        if not self.label_smoothing:
            return targets
        s = self.label_smoothing
        return (targets * (1 - s) + 0.5 * s).astype(targets.dtype)

    def compute(self, pred, targets, grad, logits):
        labels = targets
        targets = self._smoothed(targets)
        if logits:
            loss = _backend.sigmoid_bce(pred, targets, grad)
            predicted = pred > 0
        else:
            loss = _backend.bce(pred, targets, grad)
            predicted = pred > 0.5
        correct = (
            int(np.sum(predicted == (labels > 0.5))) if pred.shape[-1] == 1 else None
        )
        return loss, correct

    def per_sample(self, pred, targets, logits):
        z, t = pred.astype(np.float64), self._smoothed(targets).astype(np.float64)
        if logits:
            values = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
        else:
            q = np.clip(z, _EPS, 1 - _EPS)
            values = -(t * np.log(q + _EPS) + (1 - t) * np.log(1 - q + _EPS))
        return values.mean(axis=-1)


@registry.register("loss")
class MeanSquaredError(Loss):
    """mean((y_true - y_pred) ** 2) over the last axis, then over the batch."""

    def compute(self, pred, targets, grad, logits):
        return _backend.mse(pred, targets, grad), None

    def per_sample(self, pred, targets, logits):
        return ((pred.astype(np.float64) - targets) ** 2).mean(axis=-1)


@registry.register("loss")
class MeanAbsoluteError(Loss):
    """mean(|y_true - y_pred|) over the last axis, then over the batch."""

    def compute(self, pred, targets, grad, logits):
        diff = pred.astype(np.float64) - targets
        if grad is not None:
            np.copyto(grad, np.sign(diff) / diff.size, casting="unsafe")
        return float(np.mean(np.abs(diff))), None

    def per_sample(self, pred, targets, logits):
        return np.abs(pred.astype(np.float64) - targets).mean(axis=-1)


@registry.register("loss")
class Huber(Loss):
    """Keras's Huber loss: with e = y_pred - y_true, 0.5 e^2 where |e| <= delta
    and delta (|e| - 0.5 delta) beyond, averaged over the last axis and then
    over the batch. One C kernel gives the value and gradient.

    Example
    -------
    >>> float(Huber()([[0.0, 1.0]], [[0.5, 3.0]]))
    0.8125
    """

    def __init__(
        self,
        delta: float = 1.0,
        reduction: str = "sum_over_batch_size",
        name: str | None = None,
    ):
        super().__init__(reduction, name)
        self.delta = real_number(delta, "Huber", "delta", low=0.0)
        if self.delta == 0:
            raise ValueError("Huber: delta must be > 0; got 0")

    def compute(self, pred, targets, grad, logits):
        return _backend.huber(pred, targets, grad, self.delta), None

    def per_sample(self, pred, targets, logits):
        a = np.abs(pred.astype(np.float64) - targets)
        d = self.delta
        return np.where(a <= d, 0.5 * a * a, d * a - 0.5 * d * d).mean(axis=-1)

    def get_config(self):
        config = super().get_config()
        del config["from_logits"]
        config["delta"] = self.delta
        return config


def _bool(value: Any, where: str, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{where}: {name} must be True or False; got {value!r}")
    return bool(value)


_SNAKE = {
    SparseCategoricalCrossentropy: "sparse_categorical_crossentropy",
    CategoricalCrossentropy: "categorical_crossentropy",
    BinaryCrossentropy: "binary_crossentropy",
    MeanSquaredError: "mean_squared_error",
    MeanAbsoluteError: "mean_absolute_error",
    Huber: "huber_loss",
}
_BY_NAME = {name: cls for cls, name in _SNAKE.items()}
_BY_NAME.update(
    {
        "mse": MeanSquaredError,
        "mae": MeanAbsoluteError,
        "bce": BinaryCrossentropy,
        "huber": Huber,
    }
)
_CLASS_BY_NAME = {cls.__name__: cls for cls in _SNAKE}


def _function(cls: type[Loss]):
    def loss_function(y_true: Any, y_pred: Any, from_logits: bool = False) -> float:
        instance = cls(from_logits=from_logits) if cls.fusable_activation else cls()
        return instance(y_true, y_pred)

    loss_function.__name__ = _SNAKE[cls]
    loss_function.__doc__ = f"Functional form of :class:`{cls.__name__}` (batch mean)."
    return loss_function


sparse_categorical_crossentropy = _function(SparseCategoricalCrossentropy)
categorical_crossentropy = _function(CategoricalCrossentropy)
binary_crossentropy = _function(BinaryCrossentropy)
mean_squared_error = mse = MSE = _function(MeanSquaredError)
mean_absolute_error = mae = MAE = _function(MeanAbsoluteError)


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Tensor:
    """Functional form of :class:`Huber` (batch mean)."""
    return Huber(delta=delta)(y_true, y_pred)


_FUNCTIONS = {
    f: _BY_NAME[f.__name__]
    for f in (
        sparse_categorical_crossentropy,
        categorical_crossentropy,
        binary_crossentropy,
        mean_squared_error,
        mean_absolute_error,
        huber,
    )
}


def get(identifier: Any, where: str = "compile") -> Loss:
    """A Loss from a name ('mse', 'sparse_categorical_crossentropy'...), class,
    instance, or one of this module's functions."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        cls = _BY_NAME.get(key) or _CLASS_BY_NAME.get(identifier)
        if cls is None:
            raise ValueError(
                f"{where}: unknown loss {identifier!r}; expected one of "
                f"{sorted(_BY_NAME)} or a tinynn.losses.Loss"
            )
        return cls()
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if identifier in _FUNCTIONS:
        return _FUNCTIONS[identifier]()
    if identifier is None:
        raise ValueError(
            f"{where}: loss must be given, e.g. loss='sparse_categorical_crossentropy'"
        )
    raise TypeError(
        f"{where}: loss must be a name or a tinynn.losses.Loss; got "
        f"{describe(identifier)}"
    )


def serialize(loss: Loss) -> dict[str, Any]:
    """JSON-able description of a loss."""
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def deserialize(config: dict[str, Any]) -> Loss:
    """Rebuild a loss from `serialize`'s output."""
    cls = registry.lookup("loss", config.get("class_name"))
    if cls is None:
        raise ValueError(
            f"load_model: unknown loss {config.get('class_name')!r}; tinynn knows "
            f"{registry.names('loss')}"
        )
    kwargs = dict(config.get("config", {}))
    if not cls.fusable_activation:
        kwargs.pop("from_logits", None)
    return cls(**kwargs)
