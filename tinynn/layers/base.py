"""The Layer base class: weights, the Keras face and the low-level face.

Every layer has two faces:
- the Keras face used by `Sequential` (constructor arguments, names,
  ``get_weights``/``set_weights``, ``get_config``);
- a low-level face for hand-written training loops (the pure-NumPy article):
  ``forward(x, training=False)`` and ``backward(dy)`` return new arrays, and
  ``weights`` / ``gradients`` are the layer's live arrays (writing into
  ``weights`` changes the layer; ``backward`` fills ``gradients``).
Shapes: ``input_shape`` arguments exclude the batch axis; ``build`` and
``output_shape`` include it as None, as in Keras.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import (
    _backend,
    backend,
    initializers,
)
from .._checks import (
    as_float_array,
    describe,
    positive_int,
    real_number,
    shape_tuple,
)
from .._call_context import CallContext, missing_context_message
from ..symbolic import KerasTensor, Node, flatten, is_symbolic
from ..tensor import as_tensor
from ..variables import Variable, variables_of


_UNSUPPORTED_IF_SET = (
    "kernel_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "bias_constraint",
)


class Layer:
    """Base class of all layers.

    Parameters
    ----------
    name : str, optional
        Defaults to the snake_case class name plus a session counter
        (``dense``, ``dense_1``...), as in Keras.
    dtype : str, optional
        'float32' or 'float64'; defaults to ``tinynn.backend.floatx()``.
    input_shape, input_dim, batch_input_shape : optional
        The input's shape without the batch axis (``input_dim=n`` means
        ``input_shape=(n,)``); only the first layer of a model uses it.
    trainable : bool
        False freezes the layer's weights during fit.
    """

    #: True when _forward writes into a preallocated output buffer.
    _buffered = True
    #: True for layers called on a list of tensors (merge layers): their
    #: _forward gets a list of arrays and _backward a list of dx targets.
    _takes_list = False
    #: True when the output is the input reshaped (a view, the same values
    #: in the same order), so the input's gradient is the output's gradient
    #: reshaped: a model's executor may then give both one buffer, and
    #: _backward skips the copy when ``ctx.gradient_shared`` says it did.
    _reshapes_only = False

    @property
    def output_activation(self) -> str | None:
        """The activation this layer applies last, by name, or None.

        A model whose loss has a fused kernel for that activation (softmax
        with cross-entropy, sigmoid with binary cross-entropy) calls the
        layer's ``_forward(..., activation="linear")`` in training and lets
        the loss apply it. A layer that names an activation here must accept
        that argument and remember it for ``_backward``.
        """
        return None

    def __init__(
        self,
        *,
        name: str | None = None,
        dtype: Any = None,
        input_shape: Any = None,
        input_dim: Any = None,
        batch_input_shape: Any = None,
        trainable: bool = True,
        **kwargs: Any,
    ):
        cls = type(self).__name__
        for key, value in kwargs.items():
            if key in _UNSUPPORTED_IF_SET and value is None:
                continue
            if key in _UNSUPPORTED_IF_SET:
                raise ValueError(
                    f"{cls}: {key} is not supported by tinynn; got {value!r}"
                )
            raise TypeError(f"{cls}: unexpected keyword argument {key!r}")
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"{cls}: name must be a non-empty string; got {name!r}")
        self.name = name or backend.unique_name(backend.snake_case(cls))
        self._dtype = backend.resolve_dtype(dtype, cls)
        self.trainable = bool(trainable)
        self._declared_input_shape = _declared_shape(
            cls, input_shape, input_dim, batch_input_shape
        )
        self.built = False
        self.input_shape: tuple | None = None
        self.output_shape: tuple | None = None
        self._params: list[np.ndarray] = []
        self._grads: list[np.ndarray] = []
        self._param_names: list[str] = []
        # Per weight: False for state that fit must not update through the
        # optimizer (BatchNormalization's moving statistics).
        self._param_trainable: list[bool] = []
        self._initializers: list[Any] = []
        # Per weight: its regularizer and constraint, or None.
        self._regularizers: list[Any] = []
        self._constraints: list[Any] = []
        self.activity_regularizer: Any = None
        # The context of the low-level forward/backward calls.
        self._eager_context = CallContext()
        # One Node per call on symbolic tensors (tinynn.symbolic).
        self._inbound_nodes: list[Node] = []

    # ---- structure -------------------------------------------------------
    @property
    def dtype(self) -> str:
        """The layer's float dtype name."""
        return self._dtype.name

    def build(self, input_shape: Any) -> None:
        """Create the weights for inputs of `input_shape` (batch axis first)."""
        shape = tuple(input_shape)
        features = shape_tuple(shape[1:], type(self).__name__, "input_shape")
        self._build(features)
        self.input_shape = (None, *features)
        self.output_shape = (None, *self._output_features(features))
        self._gradients_from_params()
        self.built = True

    def _build(self, features: tuple[int, ...]) -> None:
        """Create weights for inputs of shape (batch, *features); default: none."""

    def _output_features(self, features: tuple[int, ...]) -> tuple[int, ...]:
        return features

    def compute_output_shape(self, input_shape: Any) -> tuple:
        """The output shape (batch axis first) for `input_shape`."""
        shape = tuple(input_shape)
        return (shape[0], *self._output_features(tuple(shape[1:])))

    def _add_weight(
        self,
        name: str,
        shape: tuple[int, ...],
        initializer: Any,
        trainable: bool = True,
        regularizer: Any = None,
        constraint: Any = None,
    ) -> None:
        where = f"{type(self).__name__} {self.name}"
        self._params.append(initializers.call(initializer, shape, self._dtype, where))
        self._param_names.append(name)
        self._param_trainable.append(bool(trainable))
        self._regularizers.append(regularizer)
        self._constraints.append(constraint)

    # ---- penalties and constraints (Keras's regularizers/constraints) -------
    @property
    def _penalized(self) -> bool:
        """Whether the layer adds a penalty to the loss."""
        return self.activity_regularizer is not None or any(
            r is not None for r in self._regularizers
        )

    @property
    def _constrained(self) -> bool:
        """Whether some weight has a constraint."""
        return any(c is not None for c in self._constraints)

    def _penalty(self, gradients: bool, contexts: Any = ()) -> float:
        """The layer's penalty for the last forward pass: each regularized
        weight's, plus the activity regularizer's on the output of each call
        (`contexts`) divided by the batch size (Keras 2). With `gradients`,
        each weight's penalty gradient is added to its gradient (the activity
        term's went into dy in ``_backward``)."""
        total = 0.0
        for w, g, reg in zip(self._params, self._grads, self._regularizers):
            if reg is not None:
                total += reg.penalty(w)
                if gradients:
                    reg.add_gradient(w, g)
        if self.activity_regularizer is not None:
            for ctx in contexts:
                if ctx.output is not None:
                    out = ctx.output
                    total += self.activity_regularizer.penalty(out) / len(out)
        return total

    def _apply_constraints(self) -> None:
        """Project each trained weight that has a constraint (after a step)."""
        if not self.trainable:
            return
        for w, flag, constraint in zip(
            self._params, self._param_trainable, self._constraints
        ):
            if constraint is not None and flag:
                constraint.apply(w)

    def _activity_gradient(self, dy: np.ndarray, ctx: CallContext) -> None:
        """dy += d(activity penalty / batch) / d output, before the layer's own
        backward pass."""
        out = ctx.output
        self.activity_regularizer.add_gradient(out, dy, 1.0 / len(out))

    def _gradient_targets(self, ctx: CallContext, accumulate: bool) -> list:
        """Where a backward kernel that always overwrites writes the weight
        gradients: the layer's own, or with `accumulate` (a second call of a
        shared layer in one pass) staging buffers that ``_add_staged`` then
        adds to them."""
        if not accumulate:
            return self._grads
        staged = []
        for i, gradient in enumerate(self._grads):
            buffer = ctx.buffer(f"staged_gradient_{i}", gradient.shape, gradient.dtype)
            buffer.fill(0)  # a kernel may leave some (non-trainable) ones unwritten
            staged.append(buffer)
        return staged

    def _add_staged(self, targets: list, accumulate: bool) -> None:
        """Add what ``_gradient_targets`` staged into the layer's gradients."""
        if accumulate:
            for gradient, staged in zip(self._grads, targets):
                _backend.add_inplace(gradient, staged)

    def _weight(self, name: str) -> np.ndarray | None:
        """The live weight called `name`, or None if the layer has none
        (BatchNormalization without gamma, say)."""
        if name not in self._param_names:
            return None
        return self._params[self._param_names.index(name)]

    def _gradients_from_params(self) -> None:
        self._grads = [np.zeros_like(p) for p in self._params]

    def _bind(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """Point the layer at views of a model's flat buffers (values copied)."""
        for old, new in zip(self._params, params):
            np.copyto(new, old)
        self._params, self._grads = list(params), list(grads)

    # ---- weights ---------------------------------------------------------
    @property
    def weights(self) -> list[np.ndarray]:
        """The layer's live weight arrays (kernel, then bias)."""
        return list(self._params)

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        """The weights fit updates: none when ``trainable`` is False, else
        those created trainable (not BatchNormalization's moving statistics)."""
        if not self.trainable:
            return []
        return [p for p, t in zip(self._params, self._param_trainable) if t]

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        """The weights fit leaves to the layer itself, or all when frozen."""
        if not self.trainable:
            return list(self._params)
        return [p for p, t in zip(self._params, self._param_trainable) if not t]

    # tf.Variable views of the weights (tinynn.variables): name 'dense/kernel:0'.
    @property
    def variables(self) -> list[Variable]:
        """The weights as Variables (name, shape, dtype, trainable, numpy, assign)."""
        return variables_of(self)

    @property
    def trainable_variables(self) -> list[Variable]:
        return [v for v in variables_of(self) if v.trainable]

    @property
    def non_trainable_variables(self) -> list[Variable]:
        return [v for v in variables_of(self) if not v.trainable]

    @property
    def gradients(self) -> list[np.ndarray]:
        """Gradients of the last ``backward`` call, in the order of ``weights``."""
        return list(self._grads)

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights, kernel then bias."""
        return [p.copy() for p in self._params]

    def set_weights(self, weights: list[Any]) -> None:
        """Copy `weights` (same count, shapes as ``get_weights``) into the layer."""
        set_weight_values(self.name, self._params, weights)

    def count_params(self) -> int:
        """Number of weight values."""
        return int(sum(p.size for p in self._params))

    # ---- calls -----------------------------------------------------------
    def __call__(self, x: Any, training: Any = None, **kwargs: Any) -> Any:
        """On symbolic tensors (``keras.Input`` and what layers return from
        it): record a node of a model's graph and return the output tensor.
        On arrays: the output for the batch `x` (dropout on if `training`)."""
        if kwargs:
            raise TypeError(
                f"{self.name}: unexpected keyword argument {next(iter(kwargs))!r}"
            )
        if is_symbolic(x):
            return self._call_symbolic(x)
        return as_tensor(self.forward(x, training=bool(training)))

    def _call_symbolic(self, x: Any) -> KerasTensor:
        where = f"{self.name}"
        as_list = isinstance(x, (list, tuple))
        tensors = list(flatten(x))
        for t in tensors:
            if not isinstance(t, KerasTensor):
                raise TypeError(
                    f"{where}: called on a mix of symbolic tensors and "
                    f"{describe(t)}; every input must be a symbolic tensor"
                )
        if not self._takes_list and len(tensors) != 1:
            raise ValueError(
                f'Layer "{self.name}" expects 1 input, but it received '
                f"{len(tensors)} input tensors."
            )
        if self._takes_list and not as_list:
            raise ValueError(
                f'Layer "{self.name}" expects a list of input tensors; got one tensor'
            )
        shapes = [tuple(t.shape) for t in tensors]
        if self._takes_list:
            self._build_or_check(shapes)
        else:
            self._build_or_check(shapes[0])
            as_list = False
        node = Node(self, tensors, as_list)
        out = KerasTensor(self.output_shape, self.dtype, self, node.index)
        node.outputs.append(out)
        return out

    def _build_or_check(self, shape: Any) -> None:
        """Build for `shape` (batch axis first) or check it matches the build."""
        if not self.built:
            self.build(shape)
            return
        if tuple(shape[1:]) != tuple(self.input_shape[1:]):
            raise ValueError(
                f'Input 0 of layer "{self.name}" is incompatible with the layer: '
                f"expected shape {self.input_shape}, but received input with shape "
                f"{tuple(shape)}"
            )

    @property
    def input(self) -> Any:
        """The symbolic input of the layer's one call in a graph."""
        node = self._only_node("input")
        return node.inputs if node.as_list else node.inputs[0]

    @property
    def output(self) -> Any:
        """The symbolic output of the layer's one call in a graph."""
        return self._only_node("output").outputs[0]

    def _only_node(self, what: str) -> Node:
        if not self._inbound_nodes:
            raise AttributeError(
                f"Layer {self.name} is not connected, no {what} to return."
            )
        if len(self._inbound_nodes) > 1:
            raise AttributeError(
                f"Layer {self.name} has multiple inbound nodes, hence the notion of "
                f'"layer {what}" is ill-defined. Use `get_{what}_at(node_index)` '
                "instead."
            )
        return self._inbound_nodes[0]

    def get_input_at(self, node_index: int) -> Any:
        """The symbolic input of call number `node_index`."""
        node = self._inbound_nodes[node_index]
        return node.inputs if node.as_list else node.inputs[0]

    def get_output_at(self, node_index: int) -> Any:
        """The symbolic output of call number `node_index`."""
        return self._inbound_nodes[node_index].outputs[0]

    # ---- low-level face --------------------------------------------------

    def forward(self, x: Any, training: bool = False) -> np.ndarray:
        """Output for the batch `x` (a new array); remembers what backward needs."""
        where = f"{self.name}.forward"
        array = as_float_array(x, self._dtype, where, "x")
        if array.ndim < 2:
            raise ValueError(
                f"{where}: x must have a batch axis, shape (batch, ...); got shape "
                f"{array.shape}"
            )
        if not self.built:
            self.build((None, *array.shape[1:]))
        self._check_features(array, where)
        out = None
        if self._buffered:
            out = np.empty((array.shape[0], *self.output_shape[1:]), self._dtype)
        # A fresh context per call: the arrays it keeps are this call's.
        self._eager_context = CallContext()
        self._eager_context.forward_ran = True
        return self._forward(array, training, out, self._eager_context)

    def backward(self, dy: Any) -> np.ndarray:
        """Gradient w.r.t. the last forward input; fills ``gradients``."""
        where = f"{self.name}.backward"
        ctx = self._eager_context
        if ctx.output is None or ctx.input is None:
            raise RuntimeError(missing_context_message(self, ctx, where))
        grad = as_float_array(dy, self._dtype, where, "dy").copy()
        if grad.shape != ctx.output.shape:
            raise ValueError(
                f"{where}: dy has shape {grad.shape}; expected the last output's "
                f"shape {ctx.output.shape}"
            )
        dx = np.empty_like(ctx.input)
        return self._backward(grad, dx, ctx)

    def _check_features(self, x: np.ndarray, where: str) -> None:
        expected = self.input_shape[1:]
        if tuple(x.shape[1:]) != tuple(expected):
            raise ValueError(
                f"{where}: input of layer {self.name!r} is incompatible: expected "
                f"shape (batch, {', '.join(map(str, expected))}), got {x.shape}"
            )

    def _forward(
        self, x: np.ndarray, training: bool, out: np.ndarray | None, ctx: CallContext
    ) -> np.ndarray:
        """Compute the output into `out` (preallocated by the caller) and
        return it; record in `ctx` what ``_backward`` will need."""
        raise NotImplementedError

    def _backward(
        self,
        dy: np.ndarray,
        dx: np.ndarray | None,
        ctx: CallContext,
        accumulate: bool = False,
    ) -> np.ndarray | None:
        """Gradients from `dy` (may be overwritten) for the call `ctx`
        recorded: the weights' into ``self._grads`` (added to them with
        `accumulate`, written otherwise), dx written unless None."""
        raise NotImplementedError

    # ---- serialisation ---------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-able (Keras's get_config)."""
        config: dict[str, Any] = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": self.dtype,
        }
        if self._declared_input_shape is not None:
            config["batch_input_shape"] = [None, *self._declared_input_shape]
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """Rebuild a layer from ``get_config``'s output."""
        config = dict(config)
        batch_shape = config.pop("batch_input_shape", None)
        if batch_shape is not None:
            config["input_shape"] = tuple(batch_shape[1:])
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"


def _declared_shape(
    cls: str, input_shape: Any, input_dim: Any, batch_input_shape: Any
) -> tuple[int, ...] | None:
    """The input shape (no batch axis) from whichever Keras argument was given."""
    if batch_input_shape is not None:
        dims = tuple(batch_input_shape)
        return shape_tuple(dims[1:], cls, "batch_input_shape")
    if input_shape is not None:
        return shape_tuple(input_shape, cls, "input_shape")
    if input_dim is not None:
        return (positive_int(input_dim, cls, "input_dim"),)
    return None


def set_weight_values(owner: str, targets: list[np.ndarray], values: Any) -> None:
    """Copy `values` into the live arrays `targets`, checking count and shapes."""
    if not isinstance(values, (list, tuple)):
        raise TypeError(
            f"set_weights: weights must be a list of arrays; got {describe(values)}"
        )
    if len(values) != len(targets):
        raise ValueError(
            f'You called `set_weights(weights)` on layer "{owner}" with a weight list '
            f"of length {len(values)}, but the layer was expecting {len(targets)} weights."
        )
    converted = []
    for i, (target, value) in enumerate(zip(targets, values)):
        array = as_float_array(value, target.dtype, "set_weights", f"weights[{i}]")
        if array.shape != target.shape:
            raise ValueError(
                f"set_weights: weights[{i}] of {owner!r} has shape {array.shape}; "
                f"expected {target.shape}"
            )
        converted.append(array)
    for target, array in zip(targets, converted):
        np.copyto(target, array)


def _init_config(init: Any) -> Any:
    config = initializers.serialize(init)
    if config is None:
        raise ValueError(
            f"save: the custom initializer {init!r} cannot be saved; use a named "
            "initializer or set the weights after loading"
        )
    return config


def _bool_flag(value: Any, where: str, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{where}: {name} must be True or False; got {value!r}")
    return bool(value)


def _last_axis(axis: Any, where: str) -> int:
    """An axis argument that may only name the last axis: an int or a
    one-element list (Keras 2 writes ``[1]`` into configs)."""
    if isinstance(axis, (list, tuple)) and len(axis) == 1:
        axis = axis[0]
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{where}: axis must be an int (the last axis); got {axis!r}")
    return int(axis)


def _check_last_axis(axis: int, features: tuple[int, ...], where: str) -> None:
    if axis not in (-1, len(features)):
        raise ValueError(
            f"{where}: axis must be the last axis (-1 or {len(features)} for inputs "
            f"of shape (batch, {', '.join(map(str, features))})); got {axis}"
        )


def _scalar_or_list(value: Any, where: str, name: str) -> float | list:
    """A number, or a list of numbers broadcast over the input's last axes."""
    if isinstance(value, (list, tuple, np.ndarray)):
        array = np.asarray(value, dtype=np.float64)
        if array.dtype.kind != "f" or not np.all(np.isfinite(array)):
            raise ValueError(f"{where}: {name} must hold finite numbers; got {value!r}")
        return array.tolist()
    return real_number(value, where, name)
