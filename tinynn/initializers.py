"""Weight initializers with Keras's names, defaults and formulas.

An initializer is called as ``init(shape, dtype)`` and returns a new array.
All randomness comes from tinynn's generator, so ``tinynn.set_seed`` makes it
repeatable. For a 2-D kernel, fan_in = rows and fan_out = columns.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from . import _random
from ._checks import describe, real_number

__all__ = [
    "Constant",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "Initializer",
    "LecunNormal",
    "LecunUniform",
    "Ones",
    "Orthogonal",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "Zeros",
    "deserialize",
    "get",
    "serialize",
]

# Standard deviation of a unit normal truncated to [-2, 2]; dividing by it
# makes the truncated draw have the requested spread (Keras's constant).
_TRUNCATED_STD = 0.87962566103423978


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base class: subclasses implement ``__call__(shape, dtype)``."""

    def __call__(self, shape: tuple[int, ...], dtype: Any = "float32") -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, for saving."""
        return {}


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype="float32"):
        return np.zeros(shape, dtype=dtype)


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype="float32"):
        return np.ones(shape, dtype=dtype)


class Constant(Initializer):
    """Every element equal to `value`, a number; or `value` itself, an array
    (or nested list) of the weight's shape or one that broadcasts to it."""

    def __init__(self, value: Any = 0.0):
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            self.value = real_number(value, "Constant", "value")
            return
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"Constant: value must be a number or an array of numbers; got "
                f"{describe(value)}"
            ) from None
        if not np.isfinite(array).all():
            raise ValueError("Constant: value must hold finite numbers only")
        self.value = array

    def __call__(self, shape, dtype="float32"):
        if not isinstance(self.value, np.ndarray):
            return np.full(shape, self.value, dtype=dtype)
        try:
            return np.broadcast_to(self.value, tuple(shape)).astype(dtype)
        except ValueError:
            raise ValueError(
                f"Constant: value has shape {self.value.shape}, which does not fit "
                f"a weight of shape {tuple(shape)}; give a number or an array of "
                "the weight's shape"
            ) from None

    def get_config(self):
        value = self.value
        return {"value": value.tolist() if isinstance(value, np.ndarray) else value}


class RandomNormal(Initializer):
    """Normal draws with the given mean and standard deviation (Keras: 0, 0.05)."""

    def __init__(
        self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None
    ):
        self.mean = real_number(mean, "RandomNormal", "mean")
        self.stddev = real_number(stddev, "RandomNormal", "stddev", low=0.0)
        self.seed = seed

    def __call__(self, shape, dtype="float32"):
        rng = _rng(self.seed)
        return rng.normal(self.mean, self.stddev, size=shape).astype(dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    """Uniform draws in [minval, maxval) (Keras: -0.05, 0.05)."""

    def __init__(
        self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None
    ):
        self.minval = real_number(minval, "RandomUniform", "minval")
        self.maxval = real_number(maxval, "RandomUniform", "maxval")
        if self.maxval < self.minval:
            raise ValueError(
                f"RandomUniform: maxval must be >= minval; got minval={minval}, "
                f"maxval={maxval}"
            )
        self.seed = seed

    def __call__(self, shape, dtype="float32"):
        rng = _rng(self.seed)
        return rng.uniform(self.minval, self.maxval, size=shape).astype(dtype)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(Initializer):
    """Normal draws with the given mean and standard deviation, any draw
    more than two standard deviations from the mean redrawn (Keras: 0,
    0.05; stddev is the spread before truncation, as in Keras)."""

    def __init__(
        self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None
    ):
        self.mean = real_number(mean, "TruncatedNormal", "mean")
        self.stddev = real_number(stddev, "TruncatedNormal", "stddev", low=0.0)
        self.seed = seed

    def __call__(self, shape, dtype="float32"):
        values = _truncated_normal(_rng(self.seed), self.stddev, shape)
        return (values + self.mean).astype(dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class Orthogonal(Initializer):
    """A random orthogonal matrix times `gain` (Keras's rule): the weight is
    viewed as rows = product of all but the last dimension by cols = the
    last; a normal matrix of the taller of the two shapes is QR-factored, Q's
    columns take the signs of R's diagonal, and Q (transposed when there
    are fewer rows than columns) is reshaped to the weight."""

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        self.gain = real_number(gain, "Orthogonal", "gain")
        self.seed = seed

    def __call__(self, shape, dtype="float32"):
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(
                f"Orthogonal: the weight must have at least two dimensions; got "
                f"shape {shape}"
            )
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = _rng(self.seed).normal(size=(max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape).astype(dtype)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class VarianceScaling(Initializer):
    """Keras's VarianceScaling: spread sqrt(scale / n), n from the fans by `mode`.

    uniform: U(-L, L) with L = sqrt(3 scale / n); normal: a normal truncated at
    two standard deviations whose spread after truncation is sqrt(scale / n).
    """

    _modes = ("fan_in", "fan_out", "fan_avg")
    _distributions = ("uniform", "truncated_normal", "normal", "untruncated_normal")

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: int | None = None,
    ):
        name = type(self).__name__
        self.scale = real_number(scale, name, "scale", low=0.0)
        if self.scale <= 0:
            raise ValueError(f"{name}: scale must be > 0; got {scale}")
        if mode not in self._modes:
            raise ValueError(f"{name}: mode must be one of {self._modes}; got {mode!r}")
        if distribution not in self._distributions:
            raise ValueError(
                f"{name}: distribution must be one of {self._distributions}; "
                f"got {distribution!r}"
            )
        self.mode, self.distribution, self.seed = mode, distribution, seed

    def __call__(self, shape, dtype="float32"):
        fan_in, fan_out = _fans(tuple(shape))
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[
            self.mode
        ]
        variance = self.scale / max(1.0, n)
        rng = _rng(self.seed)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            values = rng.uniform(-limit, limit, size=shape)
        elif self.distribution == "untruncated_normal":
            values = rng.normal(0.0, math.sqrt(variance), size=shape)
        else:
            values = _truncated_normal(rng, math.sqrt(variance) / _TRUNCATED_STD, shape)
        return values.astype(dtype)

    def get_config(self):
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "seed": self.seed,
        }


def _truncated_normal(rng: np.random.Generator, sigma: float, shape) -> np.ndarray:
    """Normal(0, sigma) draws, redrawing any that fall outside +-2 sigma."""
    values = rng.normal(0.0, sigma, size=shape)
    outside = np.abs(values) > 2 * sigma
    while outside.any():
        values[outside] = rng.normal(0.0, sigma, size=int(outside.sum()))
        outside = np.abs(values) > 2 * sigma
    return values


class GlorotUniform(VarianceScaling):
    """U(-L, L), L = sqrt(6 / (fan_in + fan_out)); Dense's default kernel init."""

    def __init__(self, seed: int | None = None):
        super().__init__(1.0, "fan_avg", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class GlorotNormal(VarianceScaling):
    """Truncated normal with spread sqrt(2 / (fan_in + fan_out))."""

    def __init__(self, seed: int | None = None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class HeUniform(VarianceScaling):
    """U(-L, L), L = sqrt(6 / fan_in)."""

    def __init__(self, seed: int | None = None):
        super().__init__(2.0, "fan_in", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class HeNormal(VarianceScaling):
    """Truncated normal with spread sqrt(2 / fan_in)."""

    def __init__(self, seed: int | None = None):
        super().__init__(2.0, "fan_in", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class LecunUniform(VarianceScaling):
    """U(-L, L), L = sqrt(3 / fan_in)."""

    def __init__(self, seed: int | None = None):
        super().__init__(1.0, "fan_in", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class LecunNormal(VarianceScaling):
    """Truncated normal with spread sqrt(1 / fan_in)."""

    def __init__(self, seed: int | None = None):
        super().__init__(1.0, "fan_in", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


def _rng(seed: int | None) -> np.random.Generator:
    if seed is None:
        return _random.generator()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"initializer: seed must be an integer or None; got {seed!r}")
    return np.random.default_rng(int(seed))


_BY_NAME = {
    "zeros": Zeros,
    "ones": Ones,
    "constant": Constant,
    "random_normal": RandomNormal,
    "random_uniform": RandomUniform,
    "truncated_normal": TruncatedNormal,
    "orthogonal": Orthogonal,
    "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform,
    "he_normal": HeNormal,
    "lecun_uniform": LecunUniform,
    "lecun_normal": LecunNormal,
    "variance_scaling": VarianceScaling,
}
_CLASS_NAMES = {cls.__name__: name for name, cls in _BY_NAME.items()}
# Keras's short aliases (Embedding's default is "uniform").
_BY_NAME.update(uniform=RandomUniform, normal=RandomNormal)


def get(identifier: Any, where: str) -> Any:
    """An initializer from a name, a class name, an instance or a callable.

    None gives glorot_uniform: Keras accepts ``bias_initializer=None`` (and
    ``kernel_initializer=None``) and its add_weight then falls back to
    glorot_uniform for float weights (not zeros), in Keras 2 and 3 alike.
    """
    if identifier is None:
        return GlorotUniform()
    if isinstance(identifier, str):
        key = _CLASS_NAMES.get(identifier, identifier.lower())
        if key not in _BY_NAME:
            raise ValueError(
                f"{where}: unknown initializer {identifier!r}; expected one of "
                f"{sorted(_BY_NAME)} or a callable(shape, dtype)"
            )
        return _BY_NAME[key]()
    if isinstance(identifier, dict) and "class_name" in identifier:
        return deserialize(identifier, where)
    if callable(identifier):
        return identifier
    raise TypeError(
        f"{where}: initializer must be a name or a callable(shape, dtype); "
        f"got {type(identifier).__name__}"
    )


def serialize(init: Any) -> dict[str, Any] | None:
    """A JSON-able description, or None for a plain callable (not savable)."""
    if isinstance(init, Initializer):
        return {"class_name": type(init).__name__, "config": init.get_config()}
    return None


def deserialize(config: dict[str, Any], where: str = "load_model") -> Initializer:
    """Rebuild an initializer from `serialize`'s output."""
    cls = globals().get(config.get("class_name", ""))
    if not (isinstance(cls, type) and issubclass(cls, Initializer)):
        raise ValueError(f"{where}: unknown initializer {config.get('class_name')!r}")
    return cls(**config.get("config", {}))


def call(init: Any, shape: tuple[int, ...], dtype: np.dtype, where: str) -> np.ndarray:
    """Run an initializer and check it returned an array of the right shape."""
    values = np.asarray(init(shape, dtype))
    if values.shape != tuple(shape):
        raise ValueError(
            f"{where}: initializer returned shape {values.shape}; expected {tuple(shape)}"
        )
    return values.astype(dtype, copy=False)
