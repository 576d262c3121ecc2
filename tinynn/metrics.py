"""Metrics with Keras's names, resolved the way Keras resolves them.

'accuracy' / 'acc' become binary, sparse categorical or categorical accuracy
from the SHAPES of targets and outputs, as tf.keras resolves them, and keep the user's
string as their name in logs and History. Each metric gives a per-batch mean;
the model keeps exact running means (sum of per-sample values / count).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import describe

__all__ = [
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "Metric",
    "SparseCategoricalAccuracy",
    "get",
]


class Metric:
    """A per-batch statistic; `name` is the key in logs and History."""

    def __init__(self, name: str | None = None):
        self.name = name or _DEFAULT_NAMES[type(self)]

    def batch_value(
        self,
        targets: np.ndarray,
        outputs: np.ndarray,
        logits: bool,
        correct: int | None = None,
    ) -> float:
        """The batch mean. `logits` says outputs are pre-softmax/sigmoid values;
        `correct` is the fused loss kernel's count of right predictions."""
        raise NotImplementedError


class SparseCategoricalAccuracy(Metric):
    """Fraction of rows whose argmax equals the integer label."""

    def batch_value(self, targets, outputs, logits, correct=None):
        if correct is None:
            correct = int(np.sum(np.argmax(outputs, axis=-1) == targets.reshape(-1)))
        return correct / len(outputs)


class CategoricalAccuracy(Metric):
    """Fraction of rows whose argmax equals the target's argmax."""

    def batch_value(self, targets, outputs, logits, correct=None):
        if correct is None:
            correct = int(np.sum(np.argmax(outputs, -1) == np.argmax(targets, -1)))
        return correct / len(outputs)


class BinaryAccuracy(Metric):
    """Fraction of outputs on the right side of 0.5 (of 0 for logits)."""

    def __init__(self, name: str | None = None, threshold: float = 0.5):
        super().__init__(name)
        self.threshold = float(threshold)

    def batch_value(self, targets, outputs, logits, correct=None):
        cut = (
            np.log(self.threshold / (1 - self.threshold)) if logits else self.threshold
        )
        return float(np.mean((outputs > cut) == (targets.reshape(outputs.shape) > 0.5)))


class MeanSquaredError(Metric):
    """mean((y - y_pred)^2)."""

    def batch_value(self, targets, outputs, logits, correct=None):
        return float(np.mean((outputs - targets.reshape(outputs.shape)) ** 2))


class MeanAbsoluteError(Metric):
    """mean(|y - y_pred|)."""

    def batch_value(self, targets, outputs, logits, correct=None):
        return float(np.mean(np.abs(outputs - targets.reshape(outputs.shape))))


_DEFAULT_NAMES = {
    SparseCategoricalAccuracy: "sparse_categorical_accuracy",
    CategoricalAccuracy: "categorical_accuracy",
    BinaryAccuracy: "binary_accuracy",
    MeanSquaredError: "mean_squared_error",
    MeanAbsoluteError: "mean_absolute_error",
}
_BY_NAME = {name: cls for cls, name in _DEFAULT_NAMES.items()}
_BY_NAME.update({"mse": MeanSquaredError, "mae": MeanAbsoluteError})
_CLASS_BY_NAME = {cls.__name__: cls for cls in _DEFAULT_NAMES}


def get(
    identifier: Any, sparse_targets: bool, output_width: int, where: str = "compile"
) -> Metric:
    """Resolve a metric given by name or object against the model's shapes.

    `sparse_targets` says targets are integer ids; `output_width` is the size
    of the outputs' last axis.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if not isinstance(identifier, str):
        raise TypeError(
            f"{where}: metrics entries must be names or tinynn.metrics."
            f"Metric objects; got {describe(identifier)}"
        )
    key = identifier.lower()
    if key in ("accuracy", "acc"):
        if output_width == 1 and not sparse_targets:
            return BinaryAccuracy(name=identifier)
        if sparse_targets:
            return SparseCategoricalAccuracy(name=identifier)
        return CategoricalAccuracy(name=identifier)
    cls = _BY_NAME.get(key) or _CLASS_BY_NAME.get(identifier)
    if cls is None:
        raise ValueError(
            f"{where}: unknown metric {identifier!r}; expected 'accuracy', 'acc', or one "
            f"of {sorted(_BY_NAME)}"
        )
    return cls(name=identifier)
