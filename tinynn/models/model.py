"""Model: what every model shares (weights, training, summary, saving).

A model is a graph between input and output tensors (tinynn.symbolic); a
Plan (executor.py) runs it. Subclasses say how the graph is made:
Functional from ``Model(inputs, outputs)``, Sequential from its list of
layers. The model holds its parameter store (tinynn.parameters: weights and
gradients in one flat buffer each, per-weight trainable flags). Its training
methods (compile, fit, evaluate, predict, ``*_on_batch``) delegate to its
Trainer (tinynn.training), ``summary`` to tinynn.summary, and
``save``/``save_weights``/``load_weights`` to tinynn.saving.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
from typing import Any

import numpy as np

from .. import (
    _unsupported,
    backend,
    losses,
    optimizers,
    saving,
    summary as summary_module,
)
from .._checks import describe
from ..callbacks import History
from ..layers import InputLayer, Layer, set_weight_values
from ..parameters import ParameterStore, set_trainable
from ..training import Trainer
from ..symbolic import KerasTensor, Node, flatten, is_symbolic, pack_like
from .executor import Plan, inline


def _delegate(name: str, training: Any = None):
    """A model method that runs the Trainer's method `name` (same signature
    and docstring, so help() shows the Trainer's). With `training` (True
    for fit, False for evaluate/predict), a subclassed model first makes
    sure its graph for that value is traced from x (``_ensure_graph``)."""
    trainer_method = getattr(Trainer, name)

    @functools.wraps(trainer_method)
    def method(self, *args: Any, **kwargs: Any) -> Any:
        if training is not None and self.__dict__.get("_subclassed"):
            x = args[0] if args else kwargs.get("x")
            self._ensure_graph(x, training)
        return trainer_method(self._trainer, *args, **kwargs)

    return method


def _snake_case(class_name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def _is_layer(value: Any) -> bool:
    return isinstance(value, (Layer, Model))


def _takes_training(model: Any) -> bool:
    try:
        parameters = inspect.signature(model.call).parameters
    except (TypeError, ValueError):
        return False
    return "training" in parameters or any(
        p.kind is p.VAR_KEYWORD for p in parameters.values()
    )


class _ShapeSpec:
    """A shape (batch axis first) or a list of them, given to ``build``."""

    def __init__(self, shape: Any):
        self.shape = shape


def _placeholders(x: Any) -> Any:
    """keras.Input tensors shaped like the data `x` (array; list/tuple of
    them; dict of them, keys as input names) or like a _ShapeSpec; None if
    `x` is neither (a Dataset, a generator)."""
    if isinstance(x, _ShapeSpec):
        shape = x.shape
        if (
            isinstance(shape, (list, tuple))
            and shape
            and isinstance(shape[0], (list, tuple))
        ):
            return [_input(tuple(s)[1:], None) for s in shape]
        return _input(tuple(shape)[1:], None)
    if isinstance(x, dict):
        leaves = {k: _placeholder(v, str(k)) for k, v in x.items()}
        return None if any(v is None for v in leaves.values()) else leaves
    if isinstance(x, (list, tuple)):
        leaves = [_placeholder(v, None) for v in x]
        return None if any(v is None for v in leaves) else type(x)(leaves)
    return _placeholder(x, None)


def _placeholder(value: Any, name: Any) -> Any:
    if isinstance(value, KerasTensor):
        return _input(value.shape[1:], value.dtype, name)
    if not hasattr(value, "shape") or not hasattr(value, "dtype"):
        return None
    array = np.asarray(value)
    if array.ndim == 0:
        return None
    shape = array.shape[1:] if array.ndim > 1 else (1,)
    dtype = array.dtype.name if array.dtype.kind in "iu" else None
    return _input(shape, dtype, name)


def _input(shape: tuple, dtype: Any, name: Any = None) -> Any:
    return InputLayer(shape=tuple(shape), dtype=dtype, name=name).output


class Model:
    """A model: ``keras.Model(inputs, outputs, name=None)`` (see Functional).

    ``Model(inputs=..., outputs=...)`` with tensors from ``keras.Input`` and
    layer calls, as a list, tuple or dict, makes a functional model.
    """

    def __new__(cls, *args: Any, **kwargs: Any):
        if cls is Model:  # Model(inputs, outputs) is a functional model
            return super().__new__(Model._functional_class)
        return super().__new__(cls)

    #: Set by functional.py (which imports this module, not the reverse).
    _functional_class: type
    _map_graph: Any

    def __init__(self, *args: Any, name: str | None = None, **kwargs: Any):
        """A subclassed model (``class MyModel(keras.Model)``): ``__init__``
        creates layers as attributes, ``call(inputs, training=None)``
        combines them; the first fit/evaluate/predict/call traces ``call``
        once with symbolic inputs shaped like the data into a graph that the
        executor runs like a functional model's."""
        for key in kwargs:
            if key not in ("trainable", "dtype"):
                raise TypeError(f"Model: unexpected keyword argument {key!r}")
        if args:
            raise TypeError(
                f"{type(self).__name__}: a subclassed model takes no inputs and "
                "outputs (call super().__init__() or super().__init__(name=...)); "
                "for a functional model use keras.Model(inputs, outputs)"
            )
        self.__dict__["_subclassed"] = True
        self.__dict__["_tracked"] = {}
        self._init_model(name, _snake_case(type(self).__name__))
        self._graphs: dict[Any, tuple] = {}
        self._graph_key: Any = None

    def __setattr__(self, name: str, value: Any) -> None:
        # A subclassed model tracks its layers (and lists of layers) in
        # assignment order: model.layers and the weight order, as Keras.
        tracked = self.__dict__.get("_tracked")
        if tracked is not None:
            if _is_layer(value) or (
                isinstance(value, (list, tuple))
                and value
                and all(_is_layer(v) for v in value)
            ):
                tracked[name] = value
            else:
                tracked.pop(name, None)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        tracked = self.__dict__.get("_tracked")
        if tracked is not None:
            tracked.pop(name, None)
        object.__delattr__(self, name)

    def call(self, inputs: Any, training: Any = None) -> Any:
        """A subclassed model's forward pass (override it)."""
        raise NotImplementedError(
            f"{type(self).__name__}: a subclassed model must define "
            "call(self, inputs, training=None)"
        )

    def _ensure_graph(self, x: Any, training: Any = None) -> None:
        """For a subclassed model: make sure the graph for this `training`
        value exists (trace ``call`` once with symbolic inputs shaped like
        `x`: an array gives keras.Input(x.shape[1:]) keeping an integer
        dtype, a list/tuple the same structure, a dict the same keys as input
        names; shapes (tuples with the batch axis) work too) and is the one
        the model runs. `training` matters only if ``call`` takes a
        ``training`` argument: the graph is then traced once per value
        (fit True, evaluate/predict False), over one parameter store. Does
        nothing for functional and Sequential models, or for data it cannot
        read shapes from (it is then traced when the Trainer builds the
        model from the first batch)."""
        if not self.__dict__.get("_subclassed"):
            return
        key = bool(training) if _takes_training(self) else None
        if key in self._graphs:
            self._use_graph(key)
            return
        placeholders = _placeholders(x)
        if placeholders is None:
            return
        if self.built:  # same structure and shapes as the first trace
            first = next(iter(self._graphs.values()))
            given = [(t.shape[1:], t.dtype) for t in flatten(placeholders)]
            known = [(t.shape[1:], t.dtype) for t in first[0]]
            if given != known:
                raise ValueError(
                    f"{type(self).__name__}: inputs of shapes "
                    f"{[s for s, _ in given]} but the model was traced for "
                    f"{[s for s, _ in known]}"
                )
            placeholders = pack_like(first[2], list(first[0]))
        self._trace(placeholders, key)

    @contextlib.contextmanager
    def _graph_for(self, x: Any, training: bool):
        """Run a block on the graph for `training` (a subclassed model whose
        ``call`` takes ``training``: fit's validation runs the inference
        graph, as Keras calls ``call(training=False)`` there), then return
        to the graph the model was running. Other models have one graph."""
        if not self.__dict__.get("_subclassed"):
            yield
            return
        before = self.__dict__.get("_graph_key")
        self._ensure_graph(x, training)
        try:
            yield
        finally:
            if before in self._graphs:
                self._use_graph(before)

    def _trace(self, placeholders: Any, key: Any) -> None:
        kwargs = {} if key is None else {"training": key}
        outputs = self.call(placeholders, **kwargs)  # errors reach the user as is
        out_tensors = list(flatten(outputs))
        if not out_tensors or not all(isinstance(t, KerasTensor) for t in out_tensors):
            raise TypeError(
                f"{type(self).__name__}.call must return the outputs of layers "
                "(a symbolic tensor, or a list, tuple or dict of them); got "
                f"{describe(outputs)}"
            )
        in_tensors = list(flatten(placeholders))
        nodes, graph_layers = Model._map_graph(in_tensors, out_tensors)
        self._graphs[key] = (in_tensors, out_tensors, placeholders, outputs, nodes)
        self.__dict__["_graph_layers"] = [
            layer
            for layer in graph_layers
            if not isinstance(layer, InputLayer)
            and id(layer) not in {id(t) for t in self.__dict__.get("_graph_layers", [])}
        ] + self.__dict__.get("_graph_layers", [])
        first = not self.built
        self._use_graph(key)
        if first:
            self._consolidate()

    def _use_graph(self, key: Any) -> None:
        if self.built and self._graph_key == key:
            return
        in_tensors, out_tensors, placeholders, outputs, nodes = self._graphs[key]
        self.inputs, self.outputs, self._nodes = (
            list(in_tensors),
            list(out_tensors),
            nodes,
        )
        self._input_structure, self._output_structure = placeholders, outputs
        self._input_features = (
            tuple(in_tensors[0].shape[1:]) if len(in_tensors) == 1 else None
        )
        was_built, self.built, self._graph_key = self.built, True, key
        if was_built:  # the Trainer's plan was made for the other graph
            self._trainer.layout_changed(reset_optimizer=False)

    def build(self, input_shape: Any = None) -> None:
        """A subclassed model: trace ``call`` for inputs of `input_shape`
        (batch axis first, e.g. ``(None, 784)``; a list of them for several
        inputs)."""
        if input_shape is None:
            raise ValueError(
                f"{type(self).__name__}.build: input_shape must be given, e.g. "
                "model.build((None, 784))"
            )
        self._ensure_graph(_ShapeSpec(input_shape), training=False)

    def _init_model(self, name: str | None, default_name: str) -> None:
        """The state every model has before its graph is known."""
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(
                f"{type(self).__name__}: name must be a non-empty string; got {name!r}"
            )
        self.name = name or backend.unique_name(default_name)
        self.built = False
        # The graph: input and output tensors, nodes in topological order.
        self.inputs: list[Any] = []
        self.outputs: list[Any] = []
        self._nodes: list[Any] = []
        self._input_features: tuple[int, ...] | None = None
        # Set by compile (Keras's public model attributes).
        self.optimizer: optimizers.Optimizer | None = None
        self.loss: losses.Loss | None = None
        self.compiled_metrics: list[Any] = []
        self.stop_training = False
        self.history: History | None = None
        self._store: ParameterStore | None = None
        self._trainer = Trainer(self)
        # This model's calls inside other models' graphs (it is then one
        # layer of theirs; the executor inlines its graph at each call).
        self._inbound_nodes: list[Any] = []

    # ---- structure -------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        """The model's layers: a subclassed model's layer attributes in the
        order they were assigned (Functional and Sequential define theirs)."""
        result, seen = [], set()
        for value in self.__dict__.get("_tracked", {}).values():
            for layer in value if isinstance(value, (list, tuple)) else [value]:
                if id(layer) not in seen:
                    seen.add(id(layer))
                    result.append(layer)
        return result

    @property
    def _weight_layers(self) -> list[Layer]:
        """Each layer once, in ``layers`` order, InputLayers left out: the
        layers whose weights the parameter store holds."""
        seen: set[int] = set()
        result = []
        for layer in self.layers:
            # A nested model contributes its own layers (Keras's weight order).
            inner = layer._weight_layers if isinstance(layer, Model) else [layer]
            for item in inner:
                if not isinstance(item, InputLayer) and id(item) not in seen:
                    seen.add(id(item))
                    result.append(item)
        # A subclassed model's call may use layers it does not hold as
        # attributes (merge layers from + - *, layers made inside call).
        for layer in self.__dict__.get("_graph_layers", []):
            inner = layer._weight_layers if isinstance(layer, Model) else [layer]
            for item in inner:
                if id(item) not in seen:
                    seen.add(id(item))
                    result.append(item)
        return result

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by name or by position in ``layers`` (as in Keras)."""
        where = f"{type(self).__name__}.get_layer"
        layers = self.layers
        if index is not None and name is not None:
            raise ValueError(
                f"{where}: provide only a layer name or a layer index; "
                f"got name={name!r}, index={index!r}"
            )
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
                raise TypeError(f"{where}: index must be an int; got {describe(index)}")
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"{where}: was asked to retrieve layer at index "
                    f"{index} but model only has {len(layers)} layers."
                )
            return layers[index]
        if name is not None:
            for layer in layers:
                if layer.name == name:
                    return layer
            raise ValueError(
                f"{where}: no such layer: {name}. Existing layers are: "
                f"{[layer.name for layer in layers]}."
            )
        raise ValueError(f"{where}: provide either a layer name or a layer index")

    @property
    def input_names(self) -> list[str]:
        return [t.node.layer.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        """Per output: its dict key, or the name of the layer producing it."""
        if isinstance(self._output_structure, dict):
            return list(self._output_structure)
        return [t.node.layer.name for t in self.outputs]

    def _consolidate(self) -> None:
        """A new parameter store for the current layers (their values copied
        in); activation buffers and optimizer moments start afresh."""
        with self._trainer.lock:  # not while another thread runs a batch
            self._store = ParameterStore(self._weight_layers, self.dtype)
            self._trainer.layout_changed()

    def _parameters(self) -> ParameterStore:
        """The parameter store, bound to the layers as they are now.

        A layer object in two models (shared weights, as in Keras) holds
        views of the buffer of whichever model bound it last; training this
        model through its own buffer would then leave that layer untouched.
        And a layer whose ``trainable`` flag changed since the store was
        laid out must move between its trainable and frozen parts. Either
        way a new store is laid out, the layers' current values copied in
        (so models sharing a layer keep seeing the same weights) and the
        optimizer's moments carried over for the weights that stay
        trainable."""
        with self._trainer.lock:
            layers = self._weight_layers
            if self._store is None:
                self._consolidate()
            elif not self._store.matches(layers):
                old = self._store
                self._store = ParameterStore(layers, self.dtype)
                self._store.carry_optimizer_state(old, self.optimizer)
                self._trainer.layout_changed(reset_optimizer=False)
            return self._store

    def _make_plan(self, rows: int) -> Plan:
        """An executor plan of the graph for batches of up to `rows`."""
        return Plan(self.inputs, self.outputs, self._nodes, rows, self.dtype)

    def _output_consumed(self, k: int) -> bool:
        """Whether a layer of the model also reads output `k` (then it cannot
        be left before its activation for a fused loss)."""
        graph = inline(self.inputs, self.outputs, self._nodes)
        target = graph.output_slots[k]
        return any(target in in_slots for _, in_slots, _, _ in graph.calls)

    @property
    def dtype(self) -> np.dtype:
        """The model's float dtype (its layers')."""
        layers = self._weight_layers
        return layers[0]._dtype if layers else np.dtype(backend.floatx())

    @property
    def input_shape(self) -> Any:
        """(None, *features) of the input, or a list of them."""
        if not self.inputs:
            raise AttributeError(
                f"{type(self).__name__}.input_shape: the model has no input shape yet"
            )
        shapes = [tuple(t.shape) for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        """The output's shape (batch axis None), or a list of them."""
        self._require_built("output_shape")
        shapes = [tuple(t.shape) for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def _require_built(self, where: str) -> None:
        if not self.built:
            raise ValueError(
                f"{where}: This model has not yet been built. Build the model first by "
                "calling `build()` or by calling the model on a batch of data."
            )

    # ---- weights -----------------------------------------------------------------
    @property
    def trainable(self) -> bool:
        """Whether fit updates this model's weights (Keras's ``model.trainable``).

        Setting it sets ``trainable`` on every layer of the model, as Keras
        does, so the transfer-learning idiom ``base.trainable = False`` then
        ``Sequential([base, Dense(1)])`` trains only the new head (the outer
        model shares base's layers); a layer added to a frozen Sequential is
        frozen too."""
        return self.__dict__.get("_trainable", True)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        set_trainable(self, self.layers, value)

    @property
    def weights(self) -> list[np.ndarray]:
        """Every layer's live weights, in layer order (kernel, bias, ...)."""
        return [w for layer in self._weight_layers for w in layer.weights]

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        """The weights fit updates."""
        return [w for layer in self._weight_layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        """The weights fit does not update (frozen layers, moving statistics)."""
        return [w for layer in self._weight_layers for w in layer.non_trainable_weights]

    @property
    def variables(self) -> list[Any]:
        """Every layer's weights as Variables ('dense/kernel:0'...)."""
        return [v for layer in self._weight_layers for v in layer.variables]

    @property
    def trainable_variables(self) -> list[Any]:
        return [v for layer in self._weight_layers for v in layer.trainable_variables]

    @property
    def non_trainable_variables(self) -> list[Any]:
        return [
            v for layer in self._weight_layers for v in layer.non_trainable_variables
        ]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of all weights in layer order: [W0, b0, W1, b1, ...]."""
        return [w.copy() for w in self.weights]

    def set_weights(self, weights: list[Any]) -> None:
        """Copy a list shaped like ``get_weights()`` into the model."""
        with self._trainer.lock:  # not while another thread runs a batch
            set_weight_values(self.name, self.weights, weights)

    def count_params(self) -> int:
        """Total number of weight values."""
        self._require_built("count_params")
        return sum(layer.count_params() for layer in self._weight_layers)

    # ---- training: delegated to the Trainer (tinynn/training.py) ------------------
    compile = _delegate("compile")
    fit = _delegate("fit", training=True)
    evaluate = _delegate("evaluate", training=False)
    predict = _delegate("predict", training=False)
    train_on_batch = _delegate("train_on_batch", training=True)
    test_on_batch = _delegate("test_on_batch", training=False)
    predict_on_batch = _delegate("predict_on_batch", training=False)
    _call_eager = _delegate("call")

    def __call__(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        """The model on a batch of data (an array, ``model(x, training=False)``),
        or, on symbolic tensors, one node of another model's graph: the model
        is then used as a layer (its weights shared with every other use)."""
        if is_symbolic(x):
            return self._call_symbolic(x)
        self._ensure_graph(x, kwargs.get("training", args[0] if args else False))
        return self._call_eager(x, *args, **kwargs)

    def _call_symbolic(self, x: Any) -> Any:
        """Record one node of this model in the graph `x` belongs to; its
        outputs are new tensors shaped like the model's outputs."""
        tensors = list(flatten(x))
        for t in tensors:
            if not isinstance(t, KerasTensor):
                raise TypeError(
                    f"{self.name}: called on a mix of symbolic tensors and "
                    f"{describe(t)}; every input must be a symbolic tensor"
                )
        if not self.built:
            self._build_for_symbolic(x)
        if len(tensors) != len(self.inputs):
            raise ValueError(
                f'Model "{self.name}" expects {len(self.inputs)} input(s), but it '
                f"received {len(tensors)} input tensors."
            )
        for k, (given, expected) in enumerate(zip(tensors, self.inputs)):
            if len(given.shape) != len(expected.shape) or any(
                a is not None and b is not None and a != b
                for a, b in zip(given.shape[1:], expected.shape[1:])
            ):
                raise ValueError(
                    f'Input {k} of model "{self.name}" is incompatible with the '
                    f"model: expected shape {tuple(expected.shape)}, but received "
                    f"input with shape {tuple(given.shape)}"
                )
        node = Node(self, tensors, isinstance(x, (list, tuple, dict)))
        outs = [
            KerasTensor(t.shape, t.dtype, self, node.index, k)
            for k, t in enumerate(self.outputs)
        ]
        node.outputs.extend(outs)
        return pack_like(self._output_structure, outs)

    def _build_for_symbolic(self, x: Any) -> None:
        """Make the graph for symbolic inputs like `x` (subclasses that can)."""
        self._ensure_graph(x, training=False)
        self._require_built(f"{self.name}(...)")

    # Shapes of the model as a layer of another model (its first call).
    @property
    def input(self) -> Any:
        return self._input_structure

    @property
    def output(self) -> Any:
        return self._output_structure

    @property
    def metrics_names(self) -> list[str]:
        """['loss', then each compiled metric's name]."""
        return self._trainer.metrics_names

    @property
    def _compiled(self) -> bool:
        return self._trainer.compiled

    @property
    def _trainable_size(self) -> int:
        """Values in the trainable part of the parameter store (the size of
        the optimizer's state arrays), for the trainable flags as they are."""
        self._require_built("_trainable_size")
        return self._parameters().trainable_size

    # ---- summary -------------------------------------------------------------------
    def summary(
        self,
        line_length: int | None = None,
        positions: Any = None,
        print_fn: Any = None,
        **kwargs: Any,
    ) -> None:
        """Print the layer table in tf.keras 2's classic layout."""
        self._require_built("summary")
        summary_module.print_summary(self, line_length, positions, print_fn)

    # ---- saving --------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Architecture as JSON-able data (Keras's layout)."""
        raise NotImplementedError

    def save(
        self,
        filepath: Any,
        overwrite: bool = True,
        include_optimizer: bool = True,
        **kwargs: Any,
    ) -> None:
        """Write architecture, weights and optimizer state to one file, atomically.

        The suffix chooses the format, as in Keras: .keras is Keras 3's zip,
        .h5/.hdf5 Keras-layout HDF5, any other tinynn's own format.
        """
        if self.__dict__.get("_subclassed"):
            # Keras 2's error (its SavedModel format has no tinynn counterpart).
            raise NotImplementedError(
                "Saving the model to HDF5 format requires the model to be a "
                "Functional model or a Sequential model. It does not work for "
                "subclassed models, because such models are defined via the "
                "body of a Python method, which isn't safely serializable. "
                "Consider using `save_weights`."
            )
        if self.built:  # lay out for the current trainable flags first, so
            self._parameters()  # the optimizer state saved matches them
        saving.save_model(
            self, filepath, overwrite=overwrite, include_optimizer=include_optimizer
        )

    def save_weights(
        self, filepath: Any, overwrite: bool = True, **kwargs: Any
    ) -> None:
        """Write only the weights (same formats as `save`)."""
        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: Any, **kwargs: Any) -> None:
        """Read weights written by `save_weights` or `save` into this model."""
        saving.load_weights(self, filepath)

    def to_json(self, **kwargs: Any) -> str:
        """The architecture as Keras's JSON (``models.model_from_json`` reads it)."""
        return saving.to_json(self, **kwargs)

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the model does not have: explain the
        # tf.keras methods removed since the articles were written.
        raise _unsupported.missing_method(self, name)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} name={self.name!r} layers={len(self.layers)} "
            f"built={self.built}>"
        )
