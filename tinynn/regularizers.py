"""Weight and activity penalties with Keras 2's names, defaults and formulas.

A regularizer maps a weight array w to a penalty added to the training loss
(and to evaluate's loss, as Keras 2 does): ``L1``: l1 * sum(|w|), ``L2``:
l2 * sum(w^2), ``L1L2``: both. ``penalty`` is computed in float64;
``add_gradient`` adds d penalty / d w (l1 * sign(w) + 2 l2 w) to a gradient
array in place. ``l1``/``l2``/``l1_l2`` are the Keras aliases (factor 0.01).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import registry
from ._checks import describe, real_number

__all__ = [
    "L1",
    "L1L2",
    "L2",
    "Regularizer",
    "deserialize",
    "get",
    "l1",
    "l1_l2",
    "l2",
    "serialize",
]


def _factor(value: Any, where: str, name: str) -> float:
    return real_number(value, where, name)


class Regularizer:
    """Base class: ``regularizer(w)`` returns the penalty as a float."""

    l1 = 0.0
    l2 = 0.0

    def __call__(self, x: Any) -> float:
        return self.penalty(np.asarray(x))

    def penalty(self, w: np.ndarray) -> float:
        """l1 * sum(|w|) + l2 * sum(w^2), summed in float64."""
        w64 = w.astype(np.float64, copy=False)
        total = 0.0
        if self.l1:
            total += self.l1 * float(np.abs(w64).sum())
        if self.l2:
            total += self.l2 * float(np.square(w64).sum())
        return total

    def add_gradient(self, w: np.ndarray, grad: np.ndarray, scale: float = 1.0) -> None:
        """grad += scale * d penalty / d w (sign(0) = 0, as in Keras)."""
        if self.l1:
            grad += (scale * self.l1) * np.sign(w)
        if self.l2:
            grad += (2.0 * scale * self.l2) * w

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, as Keras writes them."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@registry.register("regularizer")
class L1L2(Regularizer):
    """l1 * sum(|w|) + l2 * sum(w^2); Keras 2's defaults l1=0.0, l2=0.0.

    Example
    -------
    >>> L1L2(l1=0.1, l2=0.5)(np.array([1.0, -2.0]))
    2.8
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = _factor(l1, "L1L2", "l1")
        self.l2 = _factor(l2, "L1L2", "l2")

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


@registry.register("regularizer")
class L1(Regularizer):
    """l1 * sum(|w|); Keras's default l1=0.01 (Keras 2 also spells it ``l``)."""

    def __init__(self, l1: float = 0.01, **kwargs: Any):
        if "l" in kwargs:
            l1 = kwargs.pop("l")
        if kwargs:
            raise TypeError(f"L1: unexpected keyword argument {next(iter(kwargs))!r}")
        self.l1 = _factor(l1, "L1", "l1")

    def get_config(self):
        return {"l1": self.l1}


@registry.register("regularizer")
class L2(Regularizer):
    """l2 * sum(w^2); Keras's default l2=0.01 (Keras 2 also spells it ``l``)."""

    def __init__(self, l2: float = 0.01, **kwargs: Any):
        if "l" in kwargs:
            l2 = kwargs.pop("l")
        if kwargs:
            raise TypeError(f"L2: unexpected keyword argument {next(iter(kwargs))!r}")
        self.l2 = _factor(l2, "L2", "l2")

    def get_config(self):
        return {"l2": self.l2}


l1 = L1
l2 = L2


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:
    """Keras's ``l1_l2``: an L1L2 with both factors 0.01 by default."""
    return L1L2(l1=l1, l2=l2)


_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": l1_l2, "l1l2": l1_l2}


def get(identifier: Any, where: str) -> Regularizer | None:
    """A regularizer from None, a name ('l1', 'l2', 'l1_l2', a class name),
    a ``{"class_name", "config"}`` dict or an instance."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        factory = _BY_NAME.get(identifier.lower()) or registry.lookup(
            "regularizer", identifier
        )
        if factory is None:
            raise ValueError(
                f"{where}: unknown regularizer {identifier!r}; expected 'l1', 'l2', "
                "'l1_l2' or a tinynn.regularizers object"
            )
        return factory()
    if isinstance(identifier, dict) and "class_name" in identifier:
        return deserialize(identifier, where)
    raise TypeError(
        f"{where}: regularizer must be None, a name such as 'l2' or a "
        f"tinynn.regularizers object; got {describe(identifier)}"
    )


def serialize(regularizer: Regularizer | None) -> dict[str, Any] | None:
    """Keras's ``{"class_name": ..., "config": ...}`` form, or None."""
    return registry.serialize(regularizer)


def deserialize(config: dict[str, Any], where: str = "load_model") -> Regularizer:
    """Rebuild a regularizer from `serialize`'s (or Keras's) output."""
    return registry.deserialize("regularizer", config, where)
