"""Learning-rate schedules (``tf.keras.optimizers.schedules``), Keras 2's formulas.

A schedule is passed as an optimizer's ``learning_rate``; the optimizer calls
it with its iteration count (0 for the first update) and uses the value as
that step's rate. Schedules are saved with the optimizer through
``get_config`` / ``from_config`` and the registry.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from . import registry
from ._checks import describe, real_number

__all__ = [
    "CosineDecay",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LearningRateSchedule",
    "PiecewiseConstantDecay",
    "deserialize",
    "serialize",
]


def _step(step: Any, where: str) -> float:
    if isinstance(step, bool) or not isinstance(step, numbers.Real):
        raise TypeError(f"{where}: step must be a number; got {describe(step)}")
    step = float(step)
    if not step >= 0:
        raise ValueError(f"{where}: step must be >= 0; got {step!r}")
    return step


class LearningRateSchedule:
    """Base class: ``schedule(step)`` is the learning rate at that step."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "LearningRateSchedule":
        return cls(**config)


def _positive(value: Any, where: str, name: str) -> float:
    value = real_number(value, where, name, low=0.0)
    if value == 0:
        raise ValueError(f"{where}: {name} must be > 0; got {value!r}")
    return value


class _StepDecay(LearningRateSchedule):
    """What ExponentialDecay and InverseTimeDecay share: their arguments and
    the progress step / decay_steps (floored with ``staircase``)."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: float,
        decay_rate: float,
        staircase: bool = False,
        name: str | None = None,
    ):
        where = type(self).__name__
        self.initial_learning_rate = real_number(
            initial_learning_rate, where, "initial_learning_rate", low=0.0
        )
        self.decay_steps = _positive(decay_steps, where, "decay_steps")
        self.decay_rate = real_number(decay_rate, where, "decay_rate", low=0.0)
        self.staircase = bool(staircase)
        self.name = name

    def _progress(self, step) -> float:
        p = _step(step, type(self).__name__) / self.decay_steps
        return math.floor(p) if self.staircase else p

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


@registry.register("schedule")
class ExponentialDecay(_StepDecay):
    """initial_learning_rate * decay_rate ** (step / decay_steps); with
    ``staircase`` the exponent is floored (the rate drops every decay_steps)."""

    def __call__(self, step):
        return self.initial_learning_rate * self.decay_rate ** self._progress(step)


@registry.register("schedule")
class InverseTimeDecay(_StepDecay):
    """initial_learning_rate / (1 + decay_rate * step / decay_steps); with
    ``staircase`` step / decay_steps is floored."""

    def __call__(self, step):
        return self.initial_learning_rate / (1 + self.decay_rate * self._progress(step))


@registry.register("schedule")
class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] while step <= boundaries[0], values[i] while
    boundaries[i-1] < step <= boundaries[i], values[-1] after the last."""

    def __init__(self, boundaries: Any, values: Any, name: str | None = None):
        where = "PiecewiseConstantDecay"
        if not isinstance(boundaries, (list, tuple)) or not isinstance(
            values, (list, tuple)
        ):
            raise TypeError(
                f"{where}: boundaries and values must be lists; got "
                f"{describe(boundaries)} and {describe(values)}"
            )
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                f"{where}: values must have one more entry than boundaries; got "
                f"{len(boundaries)} boundaries and {len(values)} values"
            )
        self.boundaries = [
            real_number(b, where, f"boundaries[{i}]") for i, b in enumerate(boundaries)
        ]
        if any(a >= b for a, b in zip(self.boundaries, self.boundaries[1:])):
            raise ValueError(
                f"{where}: boundaries must be increasing; got {self.boundaries}"
            )
        self.values = [
            real_number(v, where, f"values[{i}]", low=0.0) for i, v in enumerate(values)
        ]
        self.name = name

    def __call__(self, step):
        step = _step(step, "PiecewiseConstantDecay")
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self):
        return {
            "boundaries": list(self.boundaries),
            "values": list(self.values),
            "name": self.name,
        }


@registry.register("schedule")
class CosineDecay(LearningRateSchedule):
    """Cosine decay from the initial rate (or, after a linear warmup of
    ``warmup_steps`` steps, from ``warmup_target``) down to ``alpha`` times it
    over decay_steps steps, then constant:
    rate * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decay_steps) /
    decay_steps)) + alpha)."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: float,
        alpha: float = 0.0,
        name: str | None = None,
        warmup_target: float | None = None,
        warmup_steps: float = 0,
    ):
        where = "CosineDecay"
        self.initial_learning_rate = real_number(
            initial_learning_rate, where, "initial_learning_rate", low=0.0
        )
        self.decay_steps = _positive(decay_steps, where, "decay_steps")
        self.alpha = real_number(alpha, where, "alpha", low=0.0, high=1.0)
        self.name = name
        self.warmup_target = (
            None
            if warmup_target is None
            else real_number(warmup_target, where, "warmup_target", low=0.0)
        )
        self.warmup_steps = real_number(warmup_steps, where, "warmup_steps", low=0.0)

    def _decay(self, step: float, start: float) -> float:
        fraction = step / self.decay_steps
        cosine = 0.5 * (1 + math.cos(math.pi * fraction))
        return start * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        step = _step(step, "CosineDecay")
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            rise = self.warmup_target - self.initial_learning_rate
            return self.initial_learning_rate + rise * step / self.warmup_steps
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """Keras's form: {"class_name": ..., "config": {...}}."""
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config: Any, where: str = "deserialize") -> LearningRateSchedule:
    """Rebuild a schedule from `serialize`'s output (Keras 3 adds keys such
    as "module"; they are ignored)."""
    name = config.get("class_name") if isinstance(config, dict) else None
    cls = registry.lookup("schedule", name)
    if cls is None:
        raise ValueError(
            f"{where}: unknown learning-rate schedule {name!r}; tinynn knows "
            f"{registry.names('schedule')}"
        )
    return cls.from_config(
        registry.constructor_arguments(cls, dict(config.get("config") or {}))
    )
