"""Optimizers with Keras's names, defaults and update rules, as in tf.keras 2.

A model keeps its parameters, gradients and optimizer moments in one flat
buffer each, so a training step is a single C call. For hand-written loops,
``optimizer.apply_gradients(zip(grads, params))`` updates arrays in place,
keeping per-array state.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from . import _backend, registry
from ._checks import describe, real_number

__all__ = ["Adagrad", "Adam", "Optimizer", "RMSprop", "SGD", "get"]

# Keras arguments tinynn accepts only with their "off" value.
_OFF_ARGUMENTS = (
    "clipnorm",
    "clipvalue",
    "global_clipnorm",
    "weight_decay",
    "decay",
    "use_ema",
    "jit_compile",
)


class Optimizer:
    """Base class: holds the learning rate, the step count and the state arrays."""

    #: Names of the per-parameter state arrays (moments), in save order.
    _state_names: tuple[str, ...] = ()

    def __init__(self, learning_rate: float, name: str | None = None, **kwargs: Any):
        cls = type(self).__name__
        if "lr" in kwargs:
            # Old articles write lr=...; TF 2.11+ silently ignored it, which
            # surprises learners (keras#17338), so tinynn honours it.
            lr = kwargs.pop("lr")
            if learning_rate is not None and learning_rate != self._default_lr:
                raise TypeError(f"{cls}: give learning_rate or lr, not both")
            learning_rate = lr
        for key, value in kwargs.items():
            if key in _OFF_ARGUMENTS and value in (None, False, 0):
                continue
            if key in _OFF_ARGUMENTS:
                raise ValueError(
                    f"{cls}: {key} is not supported by tinynn; got {value!r}"
                )
            raise TypeError(f"{cls}: unexpected keyword argument {key!r}")
        self.learning_rate = learning_rate
        self.name = name or cls
        self.iterations = 0
        self._flat_state: dict[str, np.ndarray] = {}
        self._array_state: dict[int, tuple[np.ndarray, dict[str, np.ndarray]]] = {}

    _default_lr = 0.001

    @property
    def learning_rate(self) -> float:
        """The step size; assigning checks it (a str would otherwise reach the
        C core at the next step, far from the assignment)."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._learning_rate = real_number(
            value, type(self).__name__, "learning_rate", low=0.0
        )

    @property
    def lr(self) -> float:
        """Alias of learning_rate (old Keras)."""
        return self.learning_rate

    @lr.setter
    def lr(self, value: float) -> None:
        self.learning_rate = real_number(value, type(self).__name__, "lr", low=0.0)

    # ---- the model's path: one call over the flat buffers -------------------
    def update_flat(self, params: np.ndarray, grads: np.ndarray) -> None:
        """One step on a model's flat parameter buffer."""
        if (
            not self._flat_state
            or next(iter(self._flat_state.values())).shape != params.shape
        ):
            self._flat_state = self._new_state(params)
        self.iterations += 1
        self._update(params, grads, self._flat_state)

    # ---- hand-written loops ------------------------------------------------
    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, np.ndarray]]) -> None:
        """Update each variable in place from its gradient; one optimizer step.

        Parameters
        ----------
        grads_and_vars : iterable of (gradient, variable)
            Variables are writeable float arrays (e.g. ``layer.weights``);
            gradients must have the same shape.
        """
        pairs = list(grads_and_vars)
        checked = []
        for i, pair in enumerate(pairs):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(
                    f"apply_gradients: item {i} must be a (gradient, variable) "
                    f"pair; got {describe(pair)}"
                )
            grad, var = pair
            if not isinstance(var, np.ndarray) or var.dtype.name not in (
                "float32",
                "float64",
            ):
                raise TypeError(
                    f"apply_gradients: variable {i} must be a float32 or float64 "
                    f"array; got {describe(var)}"
                )
            if not (var.flags.c_contiguous and var.flags.writeable):
                raise ValueError(
                    f"apply_gradients: variable {i} must be C-contiguous and "
                    "writeable (use layer.weights)"
                )
            g = np.ascontiguousarray(grad, dtype=var.dtype)
            if g.shape != var.shape:
                raise ValueError(
                    f"apply_gradients: gradient {i} has shape {g.shape}; "
                    f"expected the variable's shape {var.shape}"
                )
            checked.append((g, var))
        self.iterations += 1
        for g, var in checked:
            entry = self._array_state.get(id(var))
            if entry is None or entry[0] is not var:
                entry = (var, self._new_state(var))
                self._array_state[id(var)] = entry
            self._update(var, g, entry[1])

    # ---- per optimizer -----------------------------------------------------
    def _new_state(self, like: np.ndarray) -> dict[str, np.ndarray]:
        return {name: np.zeros_like(like) for name in self._active_state_names()}

    def _active_state_names(self) -> tuple[str, ...]:
        return self._state_names

    def _update(
        self, w: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray]
    ) -> None:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, for saving."""
        return {"name": self.name, "learning_rate": self.learning_rate}

    def reset_state(self) -> None:
        """Forget the model-path state (moments); the next step starts it
        afresh for the model's current parameter layout."""
        self._flat_state = {}

    def flat_state(self) -> dict[str, np.ndarray]:
        """The model-path state arrays (for saving)."""
        return self._flat_state

    def set_flat_state(self, iterations: int, state: dict[str, np.ndarray]) -> None:
        """Restore the model-path state (for loading)."""
        self.iterations = int(iterations)
        self._flat_state = {k: np.array(v) for k, v in state.items()}


@registry.register("optimizer")
class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    momentum 0: w -= lr g. Otherwise v = momentum v - lr g, then w += v, or
    w += momentum v - lr g with nesterov.
    """

    _default_lr = 0.01

    def __init__(
        self,
        learning_rate: float = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, name, **kwargs)
        self.momentum = real_number(
            momentum, "SGD", "momentum", low=0.0, high=1.0, high_open=True
        )
        self.nesterov = bool(nesterov)

    def _active_state_names(self):
        return ("velocity",) if self.momentum > 0 else ()

    def _update(self, w, g, state):
        _backend.sgd_update(
            w,
            g,
            state.get("velocity"),
            self.learning_rate,
            self.momentum,
            self.nesterov,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "momentum": self.momentum,
            "nesterov": self.nesterov,
        }


@registry.register("optimizer")
class RMSprop(Optimizer):
    """RMSprop: s = rho s + (1 - rho) g^2; w -= lr g / sqrt(s + epsilon)."""

    def __init__(
        self,
        learning_rate: float = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, name, **kwargs)
        self.rho = real_number(rho, "RMSprop", "rho", low=0.0, high=1.0, high_open=True)
        self.momentum = real_number(
            momentum, "RMSprop", "momentum", low=0.0, high=1.0, high_open=True
        )
        self.epsilon = real_number(epsilon, "RMSprop", "epsilon", low=0.0)
        if centered:
            raise ValueError("RMSprop: centered=True is not supported by tinynn")

    def _active_state_names(self):
        return ("rms", "velocity") if self.momentum > 0 else ("rms",)

    def _update(self, w, g, state):
        _backend.rmsprop_update(
            w,
            g,
            state["rms"],
            state.get("velocity"),
            self.learning_rate,
            self.rho,
            self.momentum,
            self.epsilon,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
        }


@registry.register("optimizer")
class Adam(Optimizer):
    """Adam with Keras's rule: epsilon is added to the uncorrected sqrt(v).

    alpha_t = lr sqrt(1 - beta_2^t) / (1 - beta_1^t); m, v are the moving
    averages of g and g^2; w -= alpha_t m / (sqrt(v) + epsilon).
    """

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, name, **kwargs)
        self.beta_1 = real_number(
            beta_1, "Adam", "beta_1", low=0.0, high=1.0, high_open=True
        )
        self.beta_2 = real_number(
            beta_2, "Adam", "beta_2", low=0.0, high=1.0, high_open=True
        )
        self.epsilon = real_number(epsilon, "Adam", "epsilon", low=0.0)
        self.amsgrad = bool(amsgrad)

    def _active_state_names(self):
        return ("m", "v", "vhat") if self.amsgrad else ("m", "v")

    def _update(self, w, g, state):
        _backend.adam_update(
            w,
            g,
            state["m"],
            state["v"],
            state.get("vhat"),
            self.learning_rate,
            self.beta_1,
            self.beta_2,
            self.epsilon,
            self.iterations,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }


@registry.register("optimizer")
class Adagrad(Optimizer):
    """Adagrad with Keras 2's rule: each weight's accumulator starts at
    ``initial_accumulator_value`` and adds g^2 every step;
    w -= lr g / (sqrt(accumulator) + epsilon)."""

    _state_names = ("accumulator",)

    def __init__(
        self,
        learning_rate: float = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, name, **kwargs)
        self.initial_accumulator_value = real_number(
            initial_accumulator_value, "Adagrad", "initial_accumulator_value", low=0.0
        )
        self.epsilon = real_number(epsilon, "Adagrad", "epsilon", low=0.0)

    def _new_state(self, like):
        return {"accumulator": np.full_like(like, self.initial_accumulator_value)}

    def _update(self, w, g, state):
        _backend.adagrad_update(
            w, g, state["accumulator"], self.learning_rate, self.epsilon
        )

    def get_config(self):
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


_BY_NAME = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adagrad": Adagrad}
_KERAS_ONLY = ("adadelta", "adamax", "nadam", "ftrl", "adamw", "lion")


def get(identifier: Any, where: str = "compile") -> Optimizer:
    """An optimizer from a name ('adam', case-insensitive), a class or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in _BY_NAME:
            return _BY_NAME[key]()
        extra = (
            " (a Keras optimizer tinynn does not implement)"
            if key in _KERAS_ONLY
            else ""
        )
        raise ValueError(
            f"{where}: unknown optimizer {identifier!r}{extra}; expected "
            f"one of {sorted(_BY_NAME)} or a tinynn optimizer object"
        )
    raise TypeError(
        f"{where}: optimizer must be a name or a tinynn.optimizers object; "
        f"got {describe(identifier)}"
    )


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """JSON-able description (class and constructor arguments)."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config: dict[str, Any]) -> Optimizer:
    """Rebuild an optimizer from `serialize`'s output."""
    cls = registry.lookup("optimizer", config.get("class_name"))
    if cls is None:
        raise ValueError(
            f"load_model: unknown optimizer {config.get('class_name')!r}; tinynn "
            f"knows {registry.names('optimizer')}"
        )
    return cls(**config.get("config", {}))
