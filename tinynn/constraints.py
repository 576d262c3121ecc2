"""Weight constraints with Keras 2's names, defaults and formulas.

fit applies a weight's constraint right after each optimizer step, in place
(Keras assigns ``variable.constraint(variable)`` after the update). With
norms taken over `axis` (kept for broadcasting) and eps = 1e-7 (Keras's
``backend.epsilon()``):

- ``MaxNorm(max_value=2, axis=0)``: w * clip(norm, 0, max_value) / (eps + norm)
- ``NonNeg()``: w * (w >= 0)
- ``UnitNorm(axis=0)``: w / (eps + norm)
- ``MinMaxNorm(min_value=0, max_value=1, rate=1, axis=0)``:
  w * (rate * clip(norm, min_value, max_value) + (1 - rate) * norm) / (eps + norm)

For a Dense kernel of shape (input_dim, units), axis=0 constrains each unit's
incoming weight vector. ``max_norm``, ``non_neg``, ``unit_norm`` and
``min_max_norm`` are the Keras aliases.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import registry
from ._checks import describe, real_number

__all__ = [
    "Constraint",
    "MaxNorm",
    "MinMaxNorm",
    "NonNeg",
    "UnitNorm",
    "deserialize",
    "get",
    "max_norm",
    "min_max_norm",
    "non_neg",
    "serialize",
    "unit_norm",
]

_EPSILON = 1e-7


def _axis(value: Any, where: str) -> int | list[int]:
    if isinstance(value, (list, tuple)):
        return [_axis(v, where) for v in value]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"{where}: axis must be an int or a list of ints; got {value!r}"
        )
    return int(value)


class Constraint:
    """Base class: ``constraint(w)`` returns the projected weights."""

    def __call__(self, w: Any) -> np.ndarray:
        array = np.asarray(w)
        return self.project(array.astype(np.float64)).astype(array.dtype, copy=False)

    def project(self, w: np.ndarray) -> np.ndarray:
        """The constrained values of float64 weights `w`."""
        raise NotImplementedError

    def apply(self, w: np.ndarray) -> None:
        """Constrain the live weight array `w` in place."""
        np.copyto(w, self.project(w.astype(np.float64)), casting="unsafe")

    def _norms(self, w: np.ndarray) -> np.ndarray:
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        return np.sqrt(np.square(w).sum(axis=axis, keepdims=True))

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, as Keras writes them."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constraint:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@registry.register("constraint")
class MaxNorm(Constraint):
    """Rescale each slice along `axis` whose L2 norm exceeds `max_value`."""

    def __init__(self, max_value: float = 2, axis: Any = 0):
        self.max_value = real_number(max_value, "MaxNorm", "max_value", low=0.0)
        self.axis = _axis(axis, "MaxNorm")

    def project(self, w):
        norms = self._norms(w)
        return w * (np.clip(norms, 0, self.max_value) / (_EPSILON + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


@registry.register("constraint")
class NonNeg(Constraint):
    """Set negative weights to zero."""

    def project(self, w):
        return w * (w >= 0)


@registry.register("constraint")
class UnitNorm(Constraint):
    """Divide each slice along `axis` by its L2 norm (plus 1e-7)."""

    def __init__(self, axis: Any = 0):
        self.axis = _axis(axis, "UnitNorm")

    def project(self, w):
        return w / (_EPSILON + self._norms(w))

    def get_config(self):
        return {"axis": self.axis}


@registry.register("constraint")
class MinMaxNorm(Constraint):
    """Move each slice's norm into [min_value, max_value] at speed `rate`."""

    def __init__(
        self,
        min_value: float = 0.0,
        max_value: float = 1.0,
        rate: float = 1.0,
        axis: Any = 0,
    ):
        where = "MinMaxNorm"
        self.min_value = real_number(min_value, where, "min_value", low=0.0)
        self.max_value = real_number(max_value, where, "max_value", low=0.0)
        if self.max_value < self.min_value:
            raise ValueError(
                f"{where}: max_value must be >= min_value; got max_value="
                f"{max_value!r}, min_value={min_value!r}"
            )
        self.rate = real_number(rate, where, "rate", low=0.0, high=1.0)
        self.axis = _axis(axis, where)

    def project(self, w):
        norms = self._norms(w)
        desired = self.rate * np.clip(norms, self.min_value, self.max_value)
        desired += (1 - self.rate) * norms
        return w * (desired / (_EPSILON + norms))

    def get_config(self):
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "rate": self.rate,
            "axis": self.axis,
        }


max_norm = MaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
min_max_norm = MinMaxNorm

_BY_NAME = {
    "max_norm": MaxNorm,
    "maxnorm": MaxNorm,
    "non_neg": NonNeg,
    "nonneg": NonNeg,
    "unit_norm": UnitNorm,
    "unitnorm": UnitNorm,
    "min_max_norm": MinMaxNorm,
    "minmaxnorm": MinMaxNorm,
}


def get(identifier: Any, where: str) -> Constraint | None:
    """A constraint from None, a name ('max_norm', 'non_neg', 'unit_norm',
    'min_max_norm', a class name), a ``{"class_name", "config"}`` dict or
    an instance."""
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(
                f"{where}: unknown constraint {identifier!r}; expected 'max_norm', "
                "'non_neg', 'unit_norm', 'min_max_norm' or a tinynn.constraints object"
            )
        return cls()
    if isinstance(identifier, dict) and "class_name" in identifier:
        return deserialize(identifier, where)
    raise TypeError(
        f"{where}: constraint must be None, a name such as 'max_norm' or a "
        f"tinynn.constraints object; got {describe(identifier)}"
    )


def serialize(constraint: Constraint | None) -> dict[str, Any] | None:
    """Keras's ``{"class_name": ..., "config": ...}`` form, or None."""
    return registry.serialize(constraint)


def deserialize(config: dict[str, Any], where: str = "load_model") -> Constraint:
    """Rebuild a constraint from `serialize`'s (or Keras's) output."""
    return registry.deserialize("constraint", config, where)
