"""Optimizers with Keras's names, defaults and update rules, as in tf.keras 2.

A model keeps its parameters, gradients and optimizer moments in one flat
buffer each, so a training step is a single C call. For hand-written loops,
``optimizer.apply_gradients(zip(grads, params))`` updates arrays in place,
keeping per-array state.
"""

from __future__ import annotations

import math
import weakref
from typing import Any, Iterable

import numpy as np

from . import _backend, registry, schedules
from ._checks import describe, real_number
from .schedules import LearningRateSchedule

__all__ = [
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Nadam",
    "Optimizer",
    "RMSprop",
    "SGD",
    "get",
    "schedules",
]

_CLIP_ARGUMENTS = ("clipnorm", "clipvalue", "global_clipnorm")

# Keras arguments tinynn accepts only with their "off" value.
_OFF_ARGUMENTS = (
    "weight_decay",
    "decay",
    "use_ema",
    "jit_compile",
)


def _scale_to_norm(flat: np.ndarray, parts: list[np.ndarray], limit: float) -> None:
    """Scale `parts` by limit / ||flat|| when that norm exceeds limit."""
    norm = math.sqrt(float(np.dot(flat, flat)))
    if norm > limit:
        for g in parts:
            g *= g.dtype.type(limit / norm)


class Optimizer:
    """Base class: holds the learning rate, the step count and the state arrays.

    Every optimizer takes Keras's gradient clipping, applied to the gradients
    before the update (at most one of the three; None or 0 is off):
    ``clipnorm`` rescales each variable's gradient to L2 norm <= clipnorm,
    ``global_clipnorm`` rescales all gradients together so that their joint
    norm is <= global_clipnorm, ``clipvalue`` clips each value to
    [-clipvalue, clipvalue]. ``learning_rate`` may be a number or a schedule
    (``tinynn.optimizers.schedules``), called with the iteration count.
    """

    #: Names of the per-parameter state arrays (moments), in save order.
    _state_names: tuple[str, ...] = ()

    def __init__(
        self,
        learning_rate: Any,
        name: str | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        **kwargs: Any,
    ):
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
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue}
        clips["global_clipnorm"] = global_clipnorm
        for key, value in clips.items():
            if value is not None:
                clips[key] = real_number(value, cls, key, low=0.0) or None
        given = [key for key, value in clips.items() if value is not None]
        if len(given) > 1:
            raise ValueError(
                f"{cls}: only one of clipnorm, clipvalue and global_clipnorm can "
                f"be set; got {', '.join(f'{k}={clips[k]!r}' for k in given)}"
            )
        self.clipnorm = clips["clipnorm"]
        self.clipvalue = clips["clipvalue"]
        self.global_clipnorm = clips["global_clipnorm"]
        self.iterations = 0
        self._schedule: LearningRateSchedule | None = None
        if isinstance(learning_rate, dict):  # a saved schedule
            learning_rate = schedules.deserialize(learning_rate, cls)
        self.learning_rate = learning_rate
        self.name = name or cls
        self._owner: Any = None  # weakref to the model compiled with it
        self._flat_state: dict[str, np.ndarray] = {}
        self._array_state: dict[int, tuple[np.ndarray, dict[str, np.ndarray]]] = {}

    _default_lr = 0.001

    @property
    def learning_rate(self) -> float:
        """The step size; assigning checks it (a str would otherwise reach the
        C core at the next step, far from the assignment). With a schedule,
        the rate of the latest step (the first step's before any), as in
        Keras 2; the schedule itself is ``learning_rate_schedule``."""
        if self._schedule is not None:
            return self._scheduled_rate(max(self.iterations - 1, 0))
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        cls = type(self).__name__
        if isinstance(value, LearningRateSchedule):
            self._schedule, self._learning_rate = value, None
            self._scheduled_rate(0)  # fail here, not at the first step
            return
        if self._schedule is not None:
            raise TypeError(
                f"{cls}: the learning rate comes from a "
                f"{type(self._schedule).__name__} schedule and cannot be set to a "
                "number; assign a new schedule or build a new optimizer"
            )
        self._learning_rate = real_number(value, cls, "learning_rate", low=0.0)

    @property
    def learning_rate_schedule(self) -> LearningRateSchedule | None:
        """The schedule given as learning_rate, or None."""
        return self._schedule

    def _scheduled_rate(self, step: int) -> float:
        schedule = type(self._schedule).__name__
        return real_number(
            self._schedule(step),
            type(self).__name__,
            f"the learning rate {schedule} gives at step {step}",
            low=0.0,
        )

    def _step_rate(self) -> float:
        """The rate of the step under way (iterations already counts it)."""
        if self._schedule is None:
            return self._learning_rate
        return self._scheduled_rate(self.iterations - 1)

    @property
    def lr(self) -> float:
        """Alias of learning_rate (old Keras)."""
        return self.learning_rate

    @lr.setter
    def lr(self, value: float) -> None:
        self.learning_rate = real_number(value, type(self).__name__, "lr", low=0.0)

    def _claim(self, model: Any, where: str = "compile") -> None:
        """Make `model` the one model this optimizer trains.

        Its moments, step count and schedule position belong to one model's
        weights, so a second model that still has this optimizer compiled
        in is refused (as Keras 3 refuses) rather than silently mixing both
        models' state. A model that was compiled with it and has since been
        compiled with another optimizer (or deleted) lets it go."""
        owner = self._owner() if self._owner is not None else None
        if (
            owner is not None
            and owner is not model
            and getattr(owner, "optimizer", None) is self
        ):
            raise ValueError(
                f"{where}: this {type(self).__name__} optimizer is already used by "
                f"model {getattr(owner, 'name', '?')!r}; an optimizer keeps one "
                "model's moments and step count, so give each model its own "
                f"optimizer object ({type(self).__name__}(...) once per model, or a "
                "name such as 'adam')"
            )
        self._owner = weakref.ref(model)

    # ---- the model's path: one call over the flat buffers -------------------
    def update_flat(
        self,
        params: np.ndarray,
        grads: np.ndarray,
        variables: list[np.ndarray] | None = None,
    ) -> None:
        """One step on a model's flat parameter buffer.

        `variables` are the views of `grads` that hold each weight's gradient
        (clipnorm clips each separately; without them the buffer counts as
        one variable). Clipping rewrites `grads` in place.
        """
        self._ensure_flat_state(params)
        self._clip([grads] if variables is None else variables, grads)
        self.iterations += 1
        self._update(params, grads, self._flat_state)

    def _ensure_flat_state(self, params: np.ndarray) -> None:
        """The model-path state, made afresh for a new parameter layout."""
        if (
            not self._flat_state
            or next(iter(self._flat_state.values())).shape != params.shape
        ):
            self._flat_state = self._new_state(params)

    # ---- the model's path, one weight at a time (fused into backward) -------
    # The same step as update_flat, taken range by range of the flat buffer
    # as the executor finishes each layer's gradients: every rule below is
    # element-wise and clipping is per variable (clipnorm) or per element
    # (clipvalue), so the ranges together give bit-identical weights and
    # moments. global_clipnorm needs every gradient first: not fusable.
    def fusable(self) -> bool:
        """Whether update_range may run weight by weight during backward:
        a built-in element-wise rule (a subclass that overrides the update
        keeps the whole-buffer step) without global_clipnorm."""
        cls = type(self)
        return (
            self.global_clipnorm is None
            and cls.update_flat is Optimizer.update_flat
            and cls._update in _ELEMENTWISE_UPDATES
        )

    # ---- the step taken inside a Dense layer's backward kernel -------------
    def steps_in_backward(self) -> bool:
        """Whether a Dense layer's backward kernel may take this optimizer's
        step on the layer's weights itself, tile by tile as the kernel
        gradient is final (``dense_backward_adam``): Adam and AdamW as
        built in, without clipping."""
        return False

    def begin_flat_step(self, params: np.ndarray) -> None:
        """Start one fused step on `params` (the whole trainable buffer):
        the state is made if needed and the step counted, as update_flat
        does before its update."""
        self._ensure_flat_state(params)
        self.iterations += 1

    def update_range(
        self,
        params: np.ndarray,
        grads: np.ndarray,
        start: int,
        stop: int,
        variables: list[np.ndarray],
    ) -> None:
        """The step of ``begin_flat_step`` on ``params[start:stop]``, whose
        gradients (`variables`: the weights' views in that range) are final."""
        self._clip(variables, grads[start:stop])
        state = {name: value[start:stop] for name, value in self._flat_state.items()}
        self._update(params[start:stop], grads[start:stop], state)

    def _clip(self, grads: list[np.ndarray], whole: np.ndarray | None) -> None:
        """Keras's clipping, in place on `grads` (`whole`: one array holding
        them all, for clipvalue and the global norm)."""
        if self.clipnorm is not None:
            for g in grads:
                _scale_to_norm(g.reshape(-1), [g], self.clipnorm)
        elif self.clipvalue is not None:
            for g in grads if whole is None else [whole]:
                np.clip(g, -self.clipvalue, self.clipvalue, out=g)
        elif self.global_clipnorm is not None:
            parts = grads if whole is None else [whole]
            squares = sum(float(np.dot(g.reshape(-1), g.reshape(-1))) for g in parts)
            norm = math.sqrt(squares)
            if norm > self.global_clipnorm:
                for g in parts:
                    g *= g.dtype.type(self.global_clipnorm / norm)

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
            # a copy when clipping: the caller's gradient stays as it was
            g = np.ascontiguousarray(grad, dtype=var.dtype)
            if self._clips() and np.may_share_memory(g, grad):
                g = g.copy()
            if g.shape != var.shape:
                raise ValueError(
                    f"apply_gradients: gradient {i} has shape {g.shape}; "
                    f"expected the variable's shape {var.shape}"
                )
            checked.append((g, var))
        self._clip([g for g, _ in checked], None)
        self.iterations += 1
        for g, var in checked:
            entry = self._array_state.get(id(var))
            if entry is None or entry[0] is not var:
                entry = (var, self._new_state(var))
                self._array_state[id(var)] = entry
            self._update(var, g, entry[1])

    # ---- per optimizer -----------------------------------------------------
    def _new_state(self, like: np.ndarray) -> dict[str, np.ndarray]:
        return {
            name: _backend.aligned_zeros(like.shape, like.dtype)
            for name in self._active_state_names()
        }

    def _active_state_names(self) -> tuple[str, ...]:
        return self._state_names

    def _update(
        self, w: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray]
    ) -> None:
        raise NotImplementedError

    def _clips(self) -> bool:
        return any(
            v is not None for v in (self.clipnorm, self.clipvalue, self.global_clipnorm)
        )

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, for saving (a schedule as Keras writes it:
        {"class_name": ..., "config": ...})."""
        rate = (
            schedules.serialize(self._schedule)
            if self._schedule is not None
            else self._learning_rate
        )
        config = {"name": self.name, "learning_rate": rate}
        for key in _CLIP_ARGUMENTS:
            if getattr(self, key) is not None:
                config[key] = getattr(self, key)
        return config

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
        self._flat_state = {k: _backend.aligned_copy(v) for k, v in state.items()}


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
            self._step_rate(),
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
            self._step_rate(),
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

    def steps_in_backward(self) -> bool:
        return (
            self.fusable()
            and not self._clips()
            and type(self)._update in (Adam._update, AdamW._update)
        )

    def _decoupled_decay(self) -> float:
        """AdamW's weight decay; Adam has none."""
        return 0.0

    def backward_step_args(self) -> tuple:
        """(learning_rate, beta_1, beta_2, epsilon, step, weight_decay) of the
        step under way, as ``dense_backward_adam`` takes them."""
        return (
            self._step_rate(),
            self.beta_1,
            self.beta_2,
            self.epsilon,
            self.iterations,
            self._decoupled_decay(),
        )

    def _update(self, w, g, state):
        _backend.adam_update(
            w,
            g,
            state["m"],
            state["v"],
            state.get("vhat"),
            self._step_rate(),
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
            w, g, state["accumulator"], self._step_rate(), self.epsilon
        )

    def get_config(self):
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


def _unit(value: Any, where: str, name: str) -> float:
    return real_number(value, where, name, low=0.0, high=1.0, high_open=True)


@registry.register("optimizer")
class AdamW(Adam):
    """Adam with decoupled weight decay (Keras 2.11+ and Keras 3, same
    defaults): each step first shrinks the weights, w -= w * lr *
    weight_decay, then takes Adam's step."""

    def __init__(
        self,
        learning_rate: float = 0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(
            learning_rate, beta_1, beta_2, epsilon, amsgrad, name, **kwargs
        )
        self.weight_decay = real_number(weight_decay, "AdamW", "weight_decay", low=0.0)

    def _decoupled_decay(self) -> float:
        return self.weight_decay

    def _update(self, w, g, state):
        _backend.adamw_update(
            w,
            g,
            state["m"],
            state["v"],
            state.get("vhat"),
            self._step_rate(),
            self.beta_1,
            self.beta_2,
            self.epsilon,
            self.iterations,
            self.weight_decay,
        )

    def get_config(self):
        return {**super().get_config(), "weight_decay": self.weight_decay}


@registry.register("optimizer")
class Adadelta(Optimizer):
    """Adadelta with Keras's rule (Keras 2 and 3 alike), epsilon inside both
    roots: a = rho a + (1 - rho) g^2; d = -sqrt(ad + epsilon) g /
    sqrt(a + epsilon); ad = rho ad + (1 - rho) d^2; w += lr d. Keras's
    default learning rate is 0.001 (the paper's method uses 1.0)."""

    _state_names = ("accumulated_grad", "accumulated_delta_var")

    def __init__(
        self,
        learning_rate: float = 0.001,
        rho: float = 0.95,
        epsilon: float = 1e-7,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, name, **kwargs)
        self.rho = _unit(rho, "Adadelta", "rho")
        self.epsilon = real_number(epsilon, "Adadelta", "epsilon", low=0.0)

    def _update(self, w, g, state):
        _backend.adadelta_update(
            w,
            g,
            state["accumulated_grad"],
            state["accumulated_delta_var"],
            self._step_rate(),
            self.rho,
            self.epsilon,
        )

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


@registry.register("optimizer")
class Adamax(Optimizer):
    """Adamax, Adam with the infinity norm (Keras 2.11+ and Keras 3 rule):
    m = beta_1 m + (1 - beta_1) g; u = max(beta_2 u, |g|);
    w -= lr m / ((1 - beta_1^t) (u + epsilon))."""

    _state_names = ("m", "u")

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, name, **kwargs)
        self.beta_1 = _unit(beta_1, "Adamax", "beta_1")
        self.beta_2 = _unit(beta_2, "Adamax", "beta_2")
        self.epsilon = real_number(epsilon, "Adamax", "epsilon", low=0.0)

    def _update(self, w, g, state):
        _backend.adamax_update(
            w,
            g,
            state["m"],
            state["u"],
            self._step_rate(),
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
        }


@registry.register("optimizer")
class Nadam(Optimizer):
    """Adam with Nesterov momentum, Keras 2.11+'s rule (Keras 3 alike).

    With the momentum schedule u_t = beta_1 (1 - 0.5 * 0.96^t) and P_t =
    u_1 ... u_t: m, v as Adam's; m_hat = u_{t+1} m / (1 - P_t u_{t+1}) +
    (1 - u_t) g / (1 - P_t); v_hat = v / (1 - beta_2^t);
    w -= lr m_hat / (sqrt(v_hat) + epsilon). P_t follows from the step
    count, so saving m and v and the iterations saves the whole state.
    """

    _state_names = ("m", "v")

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, name, **kwargs)
        self.beta_1 = _unit(beta_1, "Nadam", "beta_1")
        self.beta_2 = _unit(beta_2, "Nadam", "beta_2")
        self.epsilon = real_number(epsilon, "Nadam", "epsilon", low=0.0)
        self._product = (0, 1.0)  # (t, u_1 ... u_t)

    def _u_product(self, t: int) -> float:
        """u_1 ... u_t, from the cached product when t is the next step."""
        cached_t, product = self._product
        if cached_t > t:
            cached_t, product = 0, 1.0
        while cached_t < t and product > 0:
            cached_t += 1
            product *= self.beta_1 * (1 - 0.5 * 0.96**cached_t)
            if product < 1e-30:  # 1 - product is 1 from here on; 0 ends the loop
                product = 0.0
        self._product = (t, product)
        return product

    def _update(self, w, g, state):
        _backend.nadam_update(
            w,
            g,
            state["m"],
            state["v"],
            self._step_rate(),
            self.beta_1,
            self.beta_2,
            self.epsilon,
            self.iterations,
            self._u_product(self.iterations),
        )

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


# The element-wise update rules update_range may split by weight.
_ELEMENTWISE_UPDATES = frozenset(
    cls._update for cls in (SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta, Adamax, Nadam)
)

_BY_NAME = {
    "sgd": SGD,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adagrad": Adagrad,
    "adadelta": Adadelta,
    "adamax": Adamax,
    "nadam": Nadam,
    "adamw": AdamW,
}
_KERAS_ONLY = ("ftrl", "lion", "adafactor", "lamb", "loss_scale_optimizer")


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
