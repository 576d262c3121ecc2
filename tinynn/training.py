"""The Trainer: compile, fit, evaluate, predict and the ``*_on_batch`` calls
of a model, with the epoch iterator and the callback list.

A model's public training methods delegate here (Keras splits its Trainer
from Model the same way); the model keeps the structure and the parameter
store (tinynn.parameters). The Trainer owns what a pass needs beyond the
weights: the compiled metrics, per-layer activation and gradient buffers
sized for the largest batch, and the lock that makes batches atomic.

Input is checked once per call but kept in the user's dtype: each batch is
sliced (or gathered, when shuffled) and converted into a preallocated float
buffer, so memory stays input + model + O(batch) even for uint8 data sets.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import warnings
from typing import Any, Callable, Iterator

import numpy as np

from . import (
    _backend,
    _random,
    compile_utils,
    data_adapter,
    losses,
    metrics as metrics_module,
    optimizers,
)
from .losses import check_sample_weight
from ._checks import (
    as_numeric_array,
    check_finite,
    check_same_length,
    describe,
    non_negative_int,
    positive_int,
)
from .callbacks import Callback, CallbackList, History, ProgbarLogger
from .progress import Progbar
from .tensor import as_tensor

__all__ = ["Trainer"]

#: Whether training steps update each layer's weights as soon as backward has
#: their gradients final (True), or all weights in one call after backward
#: (False). Both give bit-identical results (tests/test_fused_update.py). Off
#: by default: on the Keras article's MLP at batch 32 the layer-by-layer
#: updates cost ~4% more CPU per step (docs/optimizer-step.md).
fused_update = False

#: Whether a Dense layer's backward kernel takes the optimizer's step on its
#: own weights, tile by tile as its kernel gradient is final and in cache
#: (True: Adam and AdamW without clipping, a layer called once, without a
#: regularizer or constraint), or every weight is updated after backward
#: (False). The same bits either way (tests/test_steps_in_backward.py).
steps_in_backward = True


class _StepsInBackward:
    """The layers of a plan whose backward kernel takes the optimizer's step
    on their weights (``ctx.optimizer_step``), and what is left for the
    flat-buffer update: the other layers' ranges, merged where adjacent."""

    def __init__(self, plan: Any, store: Any, optimizer: Any):
        self.plan, self.store, self.optimizer = plan, store, optimizer
        state = optimizer.flat_state()
        self._state = list(state.values())
        self.layers = []  # (layer, its one context, its moments' views)
        for layer in plan.layers:
            contexts = plan.contexts[id(layer)]
            if not (
                getattr(layer, "_steps_in_backward", False)
                and len(contexts) == 1  # a shared layer's gradient is a sum
                and not layer._penalized
                and not layer._constrained
                and all(store.is_trainable(layer, i) for i in range(len(layer._params)))
                and layer._params[0].dtype == store.params.dtype
            ):
                continue
            moments = []
            for i, param in enumerate(layer._params):  # kernel, bias
                start = store.offset(layer, i)
                moments += [
                    state[name][start : start + param.size].reshape(param.shape)
                    if name in state
                    else None
                    for name in ("m", "v", "vhat")
                ]
            moments += [None] * (6 - len(moments))  # no bias
            self.layers.append((layer, contexts[0], tuple(moments)))
        self.rest = store.ranges_except({id(layer) for layer, _, _ in self.layers})

    def matches(self, plan: Any, store: Any, optimizer: Any) -> bool:
        """Still valid for this plan, store and optimizer state."""
        state = list(optimizer.flat_state().values())
        return (
            plan is self.plan
            and store is self.store
            and optimizer is self.optimizer
            and len(state) == len(self._state)
            and all(a is b for a, b in zip(state, self._state))
        )

    def backward(self, run_backward: Callable[[], None]) -> list[Any]:
        """Run backward with the step armed on each layer's context; the
        layers that did not take it (no gradient reached them)."""
        args = self.optimizer.backward_step_args()
        for _, ctx, moments in self.layers:
            ctx.optimizer_step = (*moments, *args)
        try:
            run_backward()
        finally:
            missed = [layer for layer, ctx, _ in self.layers if ctx.optimizer_step]
            for _, ctx, _ in self.layers:
                ctx.optimizer_step = None
        return missed

    def update_rest(self, missed: list[Any]) -> None:
        """The flat-buffer update of every range no backward kernel took."""
        store, optimizer = self.store, self.optimizer
        ranges = list(self.rest)
        for layer in missed:
            ranges += store.ranges_of(layer)
        for start, stop, views in ranges:
            optimizer.update_range(store.params, store.grads, start, stop, views)


class Trainer:
    """Trains, evaluates and runs `model` (a Sequential) in place.

    The model object provides the structure: ``layers``, ``dtype``,
    ``input_shape``/``output_shape``, ``build``; the public attributes Keras
    gives a model (``optimizer``, ``loss``, ``compiled_metrics``,
    ``stop_training``, ``history``); ``_parameters()``, its parameter
    store bound to the layers as they are now; and ``_consolidate()``, which
    lays that store out afresh (compile calls it, so that the optimizer's
    state starts again).
    """

    def __init__(self, model: Any):
        self.model = model
        self._compiled = False
        self._metrics: list[metrics_module.Metric] | None = None
        self._weighted_entries: list[Any] = []
        # Per output: its loss, loss weight and metric entries (compile_utils).
        self._specs: list[compile_utils.OutputSpec] = []
        self._specs_for: list[str] = []  # the output names _specs were made for
        self._compile_arguments: tuple = (None, None, None, None)
        self._metric_slots: list[tuple[int, bool]] = []
        self._plan: Any = None  # the model's executor plan (buffers for a batch)
        self._buffer_rows = 0
        self._steps_in_backward: _StepsInBackward | None = None
        self._penalized: list[Any] = []
        self._constrained: list[Any] = []
        self._penalized_ids: set[int] = set()
        self._constrained_ids: set[int] = set()
        # Thread safety: every batch (a training step, or a forward pass of
        # predict/evaluate) runs holding `lock`, because it uses the
        # trainer's scratch buffers and the layers' saved activations, and an
        # optimizer step rewrites the weights in place. So concurrent
        # predict/evaluate calls are correct and each batch sees the weights
        # between two training steps. Two fits at once would interleave
        # their steps: _thread records the thread that is training.
        self.lock = threading.RLock()
        self._thread: int | None = None
        self._depth = 0

    @property
    def compiled(self) -> bool:
        """Whether compile was called."""
        return self._compiled

    def layout_changed(self, reset_optimizer: bool = True) -> None:
        """The layers or the parameter store changed: the buffers have the
        old shapes (and, unless the store carried them over, the optimizer's
        moments the old layout)."""
        with self.lock:
            self._plan, self._buffer_rows = None, 0
            if reset_optimizer and self.model._store is not None:
                self.model._store.reset_optimizer(self.model.optimizer)

    # ---- compile -----------------------------------------------------------
    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        metrics: Any = None,
        loss_weights: Any = None,
        weighted_metrics: Any = None,
        run_eagerly: Any = None,
        steps_per_execution: Any = None,
        jit_compile: Any = None,
        **kwargs: Any,
    ) -> None:
        """Choose optimizer, loss and metrics (tf.keras 2 argument order).

        Parameters
        ----------
        optimizer : str or Optimizer
            'rmsprop' (default), 'adam', 'sgd', or an optimizer object.
        loss : str or Loss
            e.g. 'sparse_categorical_crossentropy', 'mse', or a loss object.
        metrics : list, optional
            e.g. ['accuracy'] (the string is the key in History). As in
            Keras 2, these ignore sample_weight and class_weight.
        weighted_metrics : list, optional
            Metrics that count sample i w_i times (sample_weight times
            class_weight), reported after ``metrics``; a name already in
            ``metrics`` gets the prefix ``weighted_`` (Keras 2).

        Compiling again starts a fresh optimizer state; weights are kept.
        """
        if steps_per_execution is not None:
            raise ValueError(
                "compile: steps_per_execution is not supported by tinynn; got "
                f"{steps_per_execution!r}"
            )
        if kwargs:
            raise TypeError(
                f"compile: unexpected keyword argument {next(iter(kwargs))!r}"
            )
        optimizer_object = optimizers.get(optimizer)
        optimizer_object._claim(self.model, "compile")
        if optimizer_object is self.model.optimizer:
            optimizer_object.iterations = 0
            optimizer_object.reset_state()
        self._compile_arguments = (loss, loss_weights, metrics, weighted_metrics)
        specs = self._resolve_specs()
        self._weighted_entries = specs[0].weighted if len(specs) == 1 else []
        self.model.optimizer = optimizer_object
        # Keras's model.loss: the loss, or with several outputs one per output.
        self.model.loss = (
            specs[0].loss if len(specs) == 1 else {s.name: s.loss for s in specs}
        )
        self.model.compiled_metrics = specs[0].metrics if len(specs) == 1 else []
        self._metrics = None
        self._compiled = True
        if self.model.built:
            self.model._consolidate()

    def _resolve_specs(self) -> list[compile_utils.OutputSpec]:
        """compile's per-output settings for the model's outputs as they are
        now (a model traced after compile gets them on its first batch)."""
        output_names = self.model.output_names if self.model.built else ["output"]
        self._specs = compile_utils.resolve(
            output_names, *self._compile_arguments, _metric_entries
        )
        self._specs_for = list(output_names)
        return self._specs

    def _current_specs(self) -> None:
        """Resolve the specs again if the model's outputs changed since
        compile (a subclassed model traced on its first data)."""
        if self.model.built and self.model.output_names != self._specs_for:
            if len(self._specs) == 1 and len(self.model.outputs) == 1:
                self._specs_for = list(self.model.output_names)
                return
            self._resolve_specs()
            self._metrics = None

    @property
    def metrics_names(self) -> list[str]:
        """['loss', then (several outputs) each '<output>_loss', then each
        compiled metric's name ('<output>_<metric>' with several outputs)]."""
        if not self._compiled:
            return ["loss"]
        names = compile_utils.metric_names(
            self._specs, lambda e: e if isinstance(e, str) else e.name
        )
        return metrics_module.unique_names(names)

    def _require_compiled(self, where: str) -> None:
        if not self._compiled:
            raise RuntimeError(
                f"{where}: You must compile your model before training/testing. Use "
                "`model.compile(optimizer, loss)`."
            )

    def output_mode(self, k: int = 0) -> str:
        """'fused' (softmax/sigmoid folded into the loss kernel), 'logits' or
        'probs' for output `k` ('probs' for an output without a loss)."""
        return self._output_mode(k)

    def output_modes(self) -> list[str]:
        """output_mode of every output, in output order."""
        return [self._output_mode(k) for k in range(len(self._specs))]

    def _output_mode(self, k: int) -> str:
        loss = self._specs[k].loss
        if loss is None:
            return "probs"
        producer = _producer(self.model.outputs[k])
        activation = producer.output_activation
        fusable = loss.fusable_activation
        if fusable and activation == fusable and not self.model._output_consumed(k):
            if loss.from_logits:
                warnings.warn(
                    f"`{loss.name}` received `from_logits=True`, but the model's "
                    f"output is produced by a {fusable} activation and thus does not "
                    "represent logits. Was this intended? tinynn uses the logits before "
                    f"the {fusable}, as tf.keras does.",
                    stacklevel=5,
                )
            return "fused"
        return "logits" if loss.from_logits else "probs"

    def _resolve_metrics(self, targets: list) -> list[metrics_module.Metric]:
        """The compiled metrics as Metric objects, output by output (each
        knows its output's width and whether its targets are class ids);
        ``_metric_slots[i]`` is (output index, weighted) of metric i."""
        if self._metrics is None:
            names = self.metrics_names
            position = len(names) - sum(
                len(spec.metrics) + len(spec.weighted) for spec in self._specs
            )
            self._metrics, self._metric_slots = [], []
            for k, spec in enumerate(self._specs):
                target = targets[k]
                sparse = isinstance(
                    spec.loss, losses.SparseCategoricalCrossentropy
                ) or (target is not None and target.ndim == 1)
                width = int(self.model.outputs[k].shape[-1])
                for entry in spec.metrics:
                    self._metrics.append(
                        metrics_module.get(entry, sparse, width, "compile")
                    )
                    self._metric_slots.append((k, False))
                    position += 1
                for entry in spec.weighted:
                    metric = metrics_module.get(entry, sparse, width, "compile")
                    self._metrics.append(
                        metrics_module.WeightedMetric(metric, names[position])
                    )
                    self._metric_slots.append((k, True))
                    position += 1
        return self._metrics

    # ---- data --------------------------------------------------------------
    # x and y are handled as lists: one array per model input (in
    # ``model.inputs`` order) and one per output (None for an output without
    # a loss); a model with one input and one output has lists of one.
    def _prepare_x(self, x: Any, where: str) -> list[np.ndarray]:
        """`x` checked but not converted (see _Batches): the user's arrays,
        one per model input."""
        layers = self.model.layers
        if layers and getattr(layers[0], "_string_input", False):
            # TextVectorization first: texts as str objects, ids made per batch
            array = layers[0]._string_batch(x, self.model._input_features, where)
            if not self.model.built:
                self.model.build((None, *array.shape[1:]))
            return [array]
        arrays = self._split_inputs(x, where)
        if not self.model.built:  # a Sequential learns its input shape here
            array = self._check_input_array(arrays[0], 0, where, "x")
            self.model.build((None, *array.shape[1:]))
        checked = []
        for k, array in enumerate(arrays):
            name = "x" if len(arrays) == 1 else f"x[{k}]"
            checked.append(self._check_input_array(array, k, where, name))
        if len(checked) > 1:
            check_same_length(where, **{f"x[{k}]": a for k, a in enumerate(checked)})
        return checked

    def _split_inputs(self, x: Any, where: str) -> list[Any]:
        """`x` as one entry per model input: an array for a one-input model, a
        list/tuple in ``model.inputs`` order, or a dict by input name."""
        count = len(self.model.inputs) if self.model.built else 1
        if count == 1:
            if isinstance(x, dict) and len(x) == 1:
                return list(x.values())
            if isinstance(x, (list, tuple)) and len(x) == 1 and _is_array_like(x[0]):
                return [x[0]]
            return [x]
        names = self.model.input_names
        if isinstance(x, dict):
            missing = [name for name in names if name not in x]
            if missing:
                raise ValueError(
                    f"{where}: x has no entry for input {missing[0]!r}; the model's "
                    f"inputs are {names}"
                )
            unknown = [key for key in x if key not in names]
            if unknown:
                raise ValueError(
                    f"{where}: x has an entry {unknown[0]!r} that is not an input of "
                    f"the model; its inputs are {names}"
                )
            return [x[name] for name in names]
        if not isinstance(x, (list, tuple)) or len(x) != count:
            got = f"{len(x)} arrays" if isinstance(x, (list, tuple)) else describe(x)
            raise ValueError(
                f"{where}: the model has {count} inputs {names}: x must be a list of "
                f"{count} arrays (in that order) or a dict by input name; got {got}"
            )
        return list(x)

    def _check_input_array(self, x: Any, k: int, where: str, name: str) -> np.ndarray:
        """Input `k`'s array checked against the model's input shape."""
        array = as_numeric_array(x, where, name)
        features = (
            tuple(self.model.inputs[k].shape[1:])
            if self.model.built
            else self.model._input_features
        )
        if array.ndim == 1 and features is not None and tuple(features) == (1,):
            array = array.reshape(-1, 1)
        if array.ndim < 2:
            raise ValueError(
                f"{where}: {name} must have shape (samples, features...); got shape "
                f"{array.shape} (a single sample needs a batch axis: {name}[None])"
            )
        if len(array) == 0:
            raise ValueError(f"{where}: {name} is empty; expected at least one sample")
        integer_ids = self._input_dtype(array, k).kind in "iu"
        check_finite(array, where, name, None if integer_ids else self.model.dtype)
        if features is not None and tuple(array.shape[1:]) != tuple(features):
            layer = (
                self.model.layers[0].name
                if len(self.model.inputs) <= 1
                else self.model.input_names[k]
            )
            raise ValueError(
                f"{where}: {name} has shape {array.shape} but the model expects inputs "
                f"of shape (None, {', '.join(map(str, features))}) (layer {layer!r})"
            )
        if integer_ids and self.model.built:
            reader = self._reader(k)
            if hasattr(reader, "_check_input"):  # every id in range, named by place
                reader._check_input(array, where)
        return array

    def _prepare_xy(self, x: Any, y: Any, where: str) -> tuple[list, list]:
        """(x arrays, target arrays) checked: one target per output, None for
        an output without a loss."""
        if y is None:
            raise ValueError(f"{where}: y must be given (targets for x)")
        xs = self._prepare_x(x, where)
        self._current_specs()
        ys = self._split_targets(y, where)
        targets = []
        single = len(self._specs) == 1
        for k, (spec, value) in enumerate(zip(self._specs, ys)):
            if spec.loss is None:
                targets.append(None)
                continue
            name = "y" if single else f"y[{spec.name!r}]"
            if value is None:
                raise ValueError(
                    f"{where}: {name} must be given (output {spec.name!r})"
                )
            shape = tuple(self.model.outputs[k].shape)
            target = spec.loss.prepare_targets(value, shape, self.model.dtype, where)
            check_finite(target, where, name)
            targets.append(target)
        arrays = {"x" if len(xs) == 1 else f"x[{i}]": a for i, a in enumerate(xs)}
        for spec, target in zip(self._specs, targets):
            if target is not None:
                arrays["y" if single else f"y[{spec.name!r}]"] = target
        check_same_length(where, **arrays)
        return xs, targets

    def _split_targets(self, y: Any, where: str) -> list[Any]:
        """`y` as one entry per output: an array for a one-output model, a
        list/tuple in output order, or a dict by output name."""
        count = len(self._specs)
        if count == 1:
            if isinstance(y, dict) and len(y) == 1:
                return list(y.values())
            return [y]
        names = [spec.name for spec in self._specs]
        if isinstance(y, dict):
            unknown = [key for key in y if key not in names]
            if unknown:
                raise ValueError(
                    f"{where}: y has an entry {unknown[0]!r} that is not an output of "
                    f"the model; its outputs are {names}"
                )
            return [y.get(name) for name in names]
        if not isinstance(y, (list, tuple)) or len(y) != count:
            got = f"{len(y)} arrays" if isinstance(y, (list, tuple)) else describe(y)
            raise ValueError(
                f"{where}: the model has {count} outputs {names}: y must be a list of "
                f"{count} arrays (in that order) or a dict by output name; got {got}"
            )
        return list(y)

    @contextlib.contextmanager
    def _training(self, where: str):
        """Mark this thread as the one training the model (nesting allowed).

        Also takes the model's parameter store as it is now: rebound if a
        shared layer was bound by another model since, relaid out if a
        ``trainable`` flag changed (see Sequential._parameters)."""
        me = threading.get_ident()
        with self.lock:
            if self._thread not in (None, me):
                raise RuntimeError(
                    f"{where}: model {self.model.name!r} is being trained by another "
                    "thread; train a model from one thread at a time (predict "
                    "and evaluate may run alongside)"
                )
            self._store = self.model._parameters()
            self._thread = me
            self._depth += 1
        try:
            yield
        finally:
            with self.lock:
                self._depth -= 1
                if self._depth == 0:
                    self._thread = None

    def _as_batch(self, xs: list[np.ndarray]) -> list[np.ndarray]:
        """Whole (single-batch) inputs in the dtypes the model reads, C-contiguous."""
        return [
            np.ascontiguousarray(x, dtype=self._input_dtype(x, k))
            for k, x in enumerate(xs)
        ]

    def _reader(self, k: int) -> Any:
        """The layer that reads model input `k` (for a Sequential not yet
        built: its first layer), or None; inside a nested model that reads
        it, the inner layer that does."""
        model = self.model
        if model.built and model.inputs:
            target = model.inputs[k]
            while True:
                node = next(
                    (n for n in model._nodes if any(t is target for t in n.inputs)),
                    None,
                )
                if node is None or not _is_model(node.layer):
                    return None if node is None else node.layer
                model = node.layer
                position = [i for i, t in enumerate(node.inputs) if t is target][0]
                target = model.inputs[position]
        layer = model  # not built: the first layer, in nested models too
        while _is_model(layer):
            if layer is not model and layer.built and layer.inputs:
                return layer._trainer._reader(0)
            layer = next(
                (sub for sub in layer.layers if type(sub).__name__ != "InputLayer"),
                None,
            )
        return layer

    def _input_dtype(self, xs: np.ndarray, k: int = 0) -> np.dtype:
        """The dtype batches of input `k` reach the model in: the model's float
        dtype, except for ids: an integer ``keras.Input`` or a layer that
        reads integer ids (Embedding's ``_integer_input``) gets integer x as
        given (native byte order), other x (floats holding ids) converted
        batch by batch to int64, as Keras casts; texts stay str objects for a
        layer that reads strings (TextVectorization)."""
        reader = self._reader(k)
        if getattr(reader, "_string_input", False):
            return np.dtype(object)  # texts; the layer makes the ids
        integer_input = (
            self.model.built and np.dtype(self.model.inputs[k].dtype).kind in "iu"
        )
        if integer_input or getattr(reader, "_integer_input", False):
            if xs.dtype.kind in "iu":
                return xs.dtype.newbyteorder("=")
            return np.dtype(np.int64)
        return self.model.dtype

    def _ensure_buffers(self, rows: int) -> None:
        """Activation and gradient buffers for batches of up to `rows` samples."""
        with self.lock:
            if rows > self._buffer_rows or self._plan is None:
                self._allocate_buffers(rows)

    def _allocate_buffers(self, rows: int) -> None:
        """The model's executor plan (activation and gradient buffers, call
        contexts) for batches of up to `rows` samples."""
        plan = self._plan = self.model._make_plan(rows)
        self._buffer_rows = rows
        # Layers with regularizers or constraints, listed once per layout so
        # that a model without any pays one truth test per batch, nothing more.
        self._penalized = [
            (layer, plan.contexts[id(layer)])
            for layer in plan.layers
            if layer._penalized
        ]
        self._constrained = [layer for layer in plan.layers if layer._constrained]
        self._penalized_ids = {id(layer) for layer, _ in self._penalized}
        self._constrained_ids = {id(layer) for layer in self._constrained}

    # ---- passes --------------------------------------------------------------
    # A batch is xb (one array per input), yb (one target per output, None
    # without a loss), `modes` (output_mode's list) and wb (sample weights or
    # None).
    def _train_batch(
        self, xb: list, yb: list, modes: list[str], wb: np.ndarray | None = None
    ) -> list[float]:
        """One optimizer step; returns [loss, output losses, metric values] of
        this batch. `wb`: one weight per sample (sample_weight times
        class_weight) or None."""
        with self.lock:
            self._ensure_buffers(len(xb[0]))
            return self._train_batch_locked(xb, yb, modes, wb)

    def _train_batch_locked(self, xb, yb, modes, wb=None) -> list[float]:
        n = len(xb[0])
        outputs = self._plan.forward(xb, True, [m == "fused" for m in modes])
        grads = self._plan.output_gradients(n)
        losses_, corrects = self._losses(outputs, yb, modes, wb, grads)
        written = [spec.loss is not None for spec in self._specs]
        optimizer = self.model.optimizer
        total = self._total_loss(losses_)
        if fused_update and optimizer.fusable():
            # Each layer's update as soon as backward has its gradients final
            # (still in cache): the same arithmetic per weight, in another order.
            penalties: dict[int, float] = {}
            store = self._store
            store.begin_step(optimizer)

            penalized, constrained = self._penalized_ids, self._constrained_ids

            def final(layer: Any) -> None:
                key = id(layer)
                if key in penalized:
                    penalties[key] = layer._penalty(True, self._plan.contexts[key])
                store.update_layer(optimizer, layer)
                if key in constrained:
                    layer._apply_constraints()

            self._plan.backward(n, written, final)
            store.end_step(optimizer)
            if self._penalized:
                total += sum(penalties[id(layer)] for layer, _ in self._penalized)
        elif (
            steps_in_backward
            and self._store.trainable_size  # nothing to train: no step
            and optimizer.steps_in_backward()
        ):
            store = self._store
            optimizer.begin_flat_step(store.trainable_params)
            steps = self._steps_in_backward
            if steps is None or not steps.matches(self._plan, store, optimizer):
                steps = self._steps_in_backward = _StepsInBackward(
                    self._plan, store, optimizer
                )
            missed = steps.backward(lambda: self._plan.backward(n, written))
            total = self._with_penalties(total, training=True)
            steps.update_rest(missed)
            self._apply_constraints()
        else:
            self._plan.backward(n, written)
            total = self._with_penalties(total, training=True)
            self._store.apply(optimizer)
            self._apply_constraints()
        return self._values(total, losses_, yb, outputs, modes, corrects, wb)

    def _with_penalties(self, total: Any, training: bool) -> Any:
        """Keras 2's loss: `total` plus the sum of the layers' penalties."""
        if not self._penalized:
            return total
        return total + sum(
            layer._penalty(training, contexts) for layer, contexts in self._penalized
        )

    def _apply_constraints(self) -> None:
        """Keras applies the constraints right after the optimizer's update."""
        for layer in self._constrained:
            layer._apply_constraints()

    def _test_batch(self, xb, yb, modes, wb=None) -> list[float]:
        with self.lock:
            self._ensure_buffers(len(xb[0]))
            outputs = self._plan.forward(xb, False, [m == "fused" for m in modes])
            losses_, corrects = self._losses(outputs, yb, modes, wb, None)
            total = self._total_loss(losses_)
            total = self._with_penalties(total, training=False)  # Keras 2 too
            return self._values(total, losses_, yb, outputs, modes, corrects, wb)

    def _losses(self, outputs, yb, modes, wb, grads) -> tuple[list, list]:
        """Each output's loss (None without one) and correct-count, its
        gradient written into grads[k] (unless grads is None) and scaled by
        the output's loss weight."""
        values, corrects = [], []
        for k, spec in enumerate(self._specs):
            if spec.loss is None:
                values.append(None)
                corrects.append(None)
                continue
            dout = None if grads is None else grads[k]
            logits = modes[k] != "probs"
            if wb is None:
                loss, correct = spec.loss.compute(
                    outputs[k], yb[k], dout, logits=logits
                )
            else:
                loss, correct = spec.loss.compute_weighted(
                    outputs[k], yb[k], dout, logits, wb
                )
            if dout is not None and spec.weight != 1.0:
                _backend.scale(dout, dout, spec.weight)
            values.append(loss)
            corrects.append(correct)
        return values, corrects

    def _total_loss(self, losses_: list) -> float:
        """Keras 2's loss: the sum of each output's loss times its weight."""
        if len(losses_) == 1:
            weight = self._specs[0].weight
            return losses_[0] if weight == 1.0 else weight * losses_[0]
        total = 0.0
        for spec, loss in zip(self._specs, losses_):
            if loss is not None:
                total += spec.weight * loss
        return total

    def _values(self, total, losses_, yb, outputs, modes, corrects, wb) -> list:
        """[loss, each output's loss (several outputs), each metric's batch
        value]; weighted_metrics get `wb`."""
        values = [total]
        if len(losses_) > 1:
            values += [loss for loss in losses_ if loss is not None]
        for metric, (k, weighted) in zip(self._metrics, self._metric_slots):
            # A metric sees the model's output, as in Keras 2 and 3: the
            # probabilities where a softmax/sigmoid was fused into the loss
            # (`outputs` holds the logits before it), but the raw output of a
            # linear layer trained with from_logits=True (BinaryAccuracy's
            # threshold and 'accuracy''s 0.5 then compare the logits).
            logits = modes[k] == "fused"
            if weighted:
                values.append(
                    metric.batch_value(yb[k], outputs[k], logits, corrects[k], wb)
                )
            else:
                values.append(
                    metric.batch_value(yb[k], outputs[k], logits, corrects[k])
                )
        return values

    def _predict_batch(self, xb: list, outs: list, training: bool) -> None:
        """Outputs for one batch, copied into `outs` (one array per output)
        before the buffers are released to another thread."""
        with self.lock:
            self._ensure_buffers(len(xb[0]))
            for out, value in zip(outs, self._plan.forward(xb, training)):
                out[...] = value

    # ---- fit -----------------------------------------------------------------
    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: Any = "auto",
        callbacks: Any = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: Any = True,
        class_weight: Any = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: Any = None,
        validation_steps: Any = None,
        validation_batch_size: int | None = None,
        validation_freq: int = 1,
        **kwargs: Any,
    ) -> History:
        """Train for `epochs` epochs; returns a History (also ``model.history``).

        Each epoch reshuffles the training samples (``shuffle=True``), steps
        through ceil(n / batch_size) batches (the last may be short), and
        reports the batch-size-weighted means of each batch's loss and metrics
        taken before its update, as Keras does. ``validation_split=f`` holds
        out the LAST fraction f of the samples, before shuffling.

        ``sample_weight`` (one non-negative weight per sample) and
        ``class_weight`` ({class index: weight}, keys 0..K-1; the class of a
        sample is argmax(y) for one-hot y, else int(y)) multiply; each
        batch's loss is then Keras 2's sum(w_i loss_i) / batch size and its
        gradient rows scale by w_i. compile's ``metrics`` ignore the weights
        (Keras 2), its ``weighted_metrics`` use them. The reported loss
        includes the layers' regularization penalties.

        Raises
        ------
        RuntimeError
            If the model was not compiled.
        ValueError, TypeError
            For malformed data or arguments (the message names which).
        """
        where = "fit"
        self._require_compiled(where)
        stream = data_adapter.is_stream(x)
        val_stream = data_adapter.is_stream(validation_data)
        for key, value, given in (
            ("steps_per_epoch", steps_per_epoch, stream),
            ("validation_steps", validation_steps, val_stream),
        ):
            if value is not None and not given:
                raise ValueError(
                    f"fit: {key} is supported with a Dataset, generator or Sequence "
                    f"only (arrays are batched by batch_size); got {describe(value)}"
                )
        for key in kwargs:
            if key not in ("max_queue_size", "workers", "use_multiprocessing"):
                raise TypeError(f"fit: unexpected keyword argument {key!r}")
        batch_size = (
            32 if batch_size is None else positive_int(batch_size, where, "batch_size")
        )
        epochs = non_negative_int(epochs, where, "epochs")
        initial_epoch = non_negative_int(initial_epoch, where, "initial_epoch")
        verbose = _verbosity(verbose, where)
        if not isinstance(shuffle, (bool, np.bool_)) and shuffle != "batch":
            raise TypeError(f"fit: shuffle must be True or False; got {shuffle!r}")
        validation_freq = positive_int(validation_freq, where, "validation_freq")
        val_batch = (
            batch_size
            if validation_batch_size is None
            else positive_int(validation_batch_size, where, "validation_batch_size")
        )
        user_callbacks = _callback_list(callbacks, where)

        handler = None
        if stream:  # a Dataset, generator or Sequence (tinynn.data_adapter)
            data_adapter.check_stream_arguments(
                where, x, y, sample_weight, validation_split
            )
            handler = data_adapter.StreamHandler(
                x,
                self,
                where,
                steps_per_epoch,
                shuffle=shuffle,
                class_weight=class_weight,
                steps_name="steps_per_epoch",
            )
            targets = handler.peek()[1]
        else:
            xs, targets = self._prepare_xy(x, y, where)
            weights = self._sample_weights(
                y, len(xs[0]), sample_weight, class_weight, where
            )
        val = None
        if val_stream:
            val = data_adapter.StreamHandler(
                validation_data,
                self,
                "fit (validation_data)",
                validation_steps,
                steps_name="validation_steps",
            )
        elif validation_data is not None:
            val = self._validation_tuple(validation_data)
        elif validation_split:
            xs, targets, val = _split_tail(xs, targets, validation_split)
            if weights is not None:
                # Keras 2 splits sample_weight with the samples but applies
                # class_weight to the training part only.
                if sample_weight is not None:
                    val_weights = self._sample_weights(
                        y, len(weights), sample_weight, None, where
                    )
                    val = (*val, val_weights[len(xs[0]) :])
                weights = weights[: len(xs[0])]
        metrics = self._resolve_metrics(targets)
        mode = self.output_modes()
        handler_val = isinstance(val, data_adapter.StreamHandler)
        if handler is None:
            n = len(xs[0])
            steps = math.ceil(n / batch_size)
            self._ensure_buffers(
                max(
                    min(batch_size, n),
                    min(val_batch, len(val[0][0])) if isinstance(val, tuple) else 0,
                )
            )
            rows = min(batch_size, n)
            batches = _InputBatches(xs, self, rows)
            y_batch = [
                None if t is None else np.empty((rows, *t.shape[1:]), t.dtype)
                for t in targets
            ]
            w_batch = None if weights is None else np.empty(rows)
        else:
            steps = handler.steps  # None: unknown until the first epoch ends

        history = History()
        callback_list = CallbackList(
            ([ProgbarLogger(verbose)] if verbose else []) + user_callbacks + [history],
            model=self.model,
            params={"verbose": verbose, "epochs": epochs, "steps": steps},
        )
        with self._training(where):
            names = self.metrics_names
            self.model.stop_training = False
            self.model.history = history
            logs: dict[str, float] = {}  # Keras hands the last epoch's to on_train_end
            callback_list.on_train_begin()
            rng = _random.generator()
            for epoch in range(initial_epoch, epochs):
                started = time.perf_counter()
                callback_list.on_epoch_begin(epoch)
                sums = _RunningMeans(names, metrics)
                warned = False
                if handler is None:
                    order = rng.permutation(n) if shuffle else None
                    epoch_batches = _epoch_batches(
                        batches,
                        targets,
                        y_batch,
                        batch_size,
                        steps,
                        order,
                        weights,
                        w_batch,
                    )
                else:
                    epoch_batches = handler.epoch()
                for step, xb, yb, wb in epoch_batches:
                    callback_list.on_train_batch_begin(step)
                    values = self._train_batch(xb, yb, mode, wb)
                    if not warned and not math.isfinite(values[0]):
                        warned = True
                        warnings.warn(
                            f"fit: the loss is {values[0]} at epoch {epoch + 1}, batch "
                            f"{step + 1}; training has diverged (lower the learning rate, "
                            "check the data for huge values, or use TerminateOnNaN to stop)",
                            RuntimeWarning,
                            stacklevel=3,
                        )
                    sums.add(values, len(xb[0]))
                    history.record_batch(dict(zip(names, values)))
                    callback_list.on_train_batch_end(step, sums.means())
                    if self.model.stop_training:
                        break
                if handler is not None and handler.exhausted:
                    self.model.stop_training = True  # Keras: ran out of data
                    if not sums.count:  # nothing to report for this epoch
                        break
                logs = sums.means()
                # Keras: every validation_freq-th epoch counted from epoch 0,
                # not from initial_epoch.
                if val is not None and (epoch + 1) % validation_freq == 0:
                    val_x = val if handler_val else val[0]
                    with self.model._graph_for(val_x, training=False):
                        val_values = self._evaluate_arrays(
                            val_x,
                            None if handler_val else val[1],
                            val_batch,
                            mode,
                            callbacks=callback_list,
                            weights=(
                                val[2] if not handler_val and len(val) == 3 else None
                            ),
                        )
                    logs.update({f"val_{k}": v for k, v in zip(names, val_values)})
                history.record_epoch_time(time.perf_counter() - started)
                callback_list.on_epoch_end(epoch, logs)
                if self.model.stop_training:
                    break
            callback_list.on_train_end(logs)
        return history

    def _validation_tuple(self, data: Any) -> tuple:
        if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
            raise ValueError(
                "fit: validation_data must be a tuple or list (x_val, y_val); got "
                f"{describe(data)}"
                + (f" of length {len(data)}" if isinstance(data, (tuple, list)) else "")
            )
        where = "fit (validation_data)"
        xs, targets = self._prepare_xy(data[0], data[1], where)
        if len(data) == 3 and data[2] is not None:
            return xs, targets, check_sample_weight(data[2], len(xs[0]), where)
        return xs, targets

    def _sample_weights(
        self, y: Any, n: int, sample_weight: Any, class_weight: Any, where: str
    ) -> np.ndarray | None:
        """One weight per sample: sample_weight times class_weight[class of
        y] (Keras 2 multiplies the two), or None when neither is given."""
        weights = None
        if sample_weight is not None:
            weights = check_sample_weight(sample_weight, n, where)
        if class_weight is not None:
            if len(self._specs) > 1:
                raise ValueError(
                    f"{where}: class_weight is not supported for models with several "
                    "outputs (as in Keras 2); pass sample_weight instead"
                )
            per_class = _class_weights(
                class_weight, self._split_targets(y, where)[0], where
            )
            weights = per_class if weights is None else weights * per_class
        return weights

    def _evaluate_arrays(
        self,
        xs: Any,
        targets: Any,
        batch_size: int,
        mode: list[str],
        progbar: Progbar | None = None,
        callbacks: CallbackList | None = None,
        weights: np.ndarray | None = None,
    ) -> list[float]:
        """Loss and metrics over the set, calling the on_test_* hooks of
        `callbacks` as Keras does (evaluate, and fit's validation). With
        `weights`, each batch's loss is sum(w_i loss_i) / batch size.
        `xs` may be a data_adapter.StreamHandler, which gives the batches."""
        if isinstance(xs, data_adapter.StreamHandler):
            test_batches = xs.epoch()
        else:
            test_batches = _array_batches(xs, targets, batch_size, weights, self)
        sums = _RunningMeans(self.metrics_names, self._metrics)
        hooks = callbacks or CallbackList([])
        hooks.on_test_begin({})
        for step, xb, yb, wb in test_batches:
            hooks.on_test_batch_begin(step, {})
            sums.add(self._test_batch(xb, yb, mode, wb), len(xb[0]))
            hooks.on_test_batch_end(step, sums.means())
            if progbar is not None:
                progbar.update(step + 1, list(sums.means().items()))
        if progbar is not None and progbar.target is None:  # length was unknown
            progbar.update(progbar.current, list(sums.means().items()), finalize=True)
        hooks.on_test_end(sums.means())
        return list(sums.means().values())

    # ---- evaluate / predict -------------------------------------------------------
    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: Any = "auto",
        sample_weight: Any = None,
        steps: Any = None,
        callbacks: Any = None,
        return_dict: bool = False,
        **kwargs: Any,
    ) -> float | list[float] | dict[str, float]:
        """Loss (and metrics) over the whole set, with dropout off.

        Returns the loss as a float when no metrics were compiled, else
        ``[loss, metric, ...]`` in compile order (a dict with return_dict).
        """
        where = "evaluate"
        self._require_compiled(where)
        stream = data_adapter.is_stream(x)
        if steps is not None and not stream:
            raise ValueError(
                "evaluate: steps is supported with a Dataset, generator or Sequence "
                "only (arrays are batched by batch_size)"
            )
        batch_size = (
            32 if batch_size is None else positive_int(batch_size, where, "batch_size")
        )
        verbose = _verbosity(verbose, where)
        user_callbacks = _callback_list(callbacks, where)
        if stream:  # a Dataset, generator or Sequence (tinynn.data_adapter)
            data_adapter.check_stream_arguments(where, x, y, sample_weight)
            xs = data_adapter.StreamHandler(x, self, where, steps)
            targets, weights = xs.peek()[1], None
            steps_total = xs.steps
        else:
            xs, targets = self._prepare_xy(x, y, where)
            weights = self._sample_weights(y, len(xs[0]), sample_weight, None, where)
            steps_total = math.ceil(len(xs[0]) / batch_size)
        self._resolve_metrics(targets)
        mode = self.output_modes()
        progbar = Progbar(steps_total, verbose=verbose) if verbose else None
        hooks = CallbackList(
            user_callbacks,
            model=self.model,
            params={"verbose": verbose, "epochs": 1, "steps": steps_total},
        )
        values = self._evaluate_arrays(
            xs, targets, batch_size, mode, progbar, hooks, weights
        )
        names = self.metrics_names
        if return_dict:
            return dict(zip(names, values))
        return values[0] if len(values) == 1 else values

    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: Any = "auto",
        steps: Any = None,
        callbacks: Any = None,
        **kwargs: Any,
    ) -> np.ndarray:
        """Outputs for `x` (probabilities after a softmax), in batches, dropout off."""
        where = "predict"
        stream = data_adapter.is_stream(x)
        if steps is not None and not stream:
            raise ValueError(
                "predict: steps is supported with a Dataset, generator or Sequence "
                "only (arrays are batched by batch_size)"
            )
        batch_size = (
            32 if batch_size is None else positive_int(batch_size, where, "batch_size")
        )
        verbose = _verbosity(verbose, where)
        user_callbacks = _callback_list(callbacks, where)
        if stream:  # a Dataset, generator or Sequence (tinynn.data_adapter)
            handler = data_adapter.StreamHandler(x, self, where, steps, targets=False)
            return data_adapter.predict(self, handler, verbose, user_callbacks)
        xs = self._prepare_x(x, where)
        n = len(xs[0])
        self._ensure_buffers(min(batch_size, n))
        batches = _InputBatches(xs, self, min(batch_size, n))
        results = self._output_arrays(n)
        steps_total = math.ceil(n / batch_size)
        progbar = Progbar(steps_total, verbose=verbose) if verbose else None
        hooks = CallbackList(
            user_callbacks,
            model=self.model,
            params={"verbose": verbose, "epochs": 1, "steps": steps_total},
        )
        hooks.on_predict_begin({})
        for step, lo in enumerate(range(0, n, batch_size)):
            hi = min(n, lo + batch_size)
            hooks.on_predict_batch_begin(step, {})
            parts = [r[lo:hi] for r in results]
            self._predict_batch(batches.rows(lo, hi), parts, training=False)
            hooks.on_predict_batch_end(step, {"outputs": self._structured(parts)})
            if progbar is not None:
                progbar.update(step + 1)
        hooks.on_predict_end({})
        return self._structured(results)

    def _output_arrays(self, n: int) -> list[np.ndarray]:
        """One result array per output for `n` samples."""
        return [
            np.empty((n, *t.shape[1:]), self.model.dtype) for t in self.model.outputs
        ]

    def _structured(self, arrays: list) -> Any:
        """Per-output arrays as Keras 2 returns them: the array for one
        output, else a list in output order."""
        return arrays[0] if len(arrays) == 1 else list(arrays)

    def call(self, x: Any, training: bool = False) -> Any:
        """The model on one batch (``model(x)``), dropout on if `training`."""
        xs = self._as_batch(self._prepare_x(x, f"{type(self.model).__name__}.__call__"))
        results = self._output_arrays(len(xs[0]))
        self._predict_batch(xs, results, training=bool(training))
        tensors = [as_tensor(r) for r in results]  # .numpy(), as tf.keras's call
        return self._structured(tensors)

    def predict_on_batch(self, x: Any) -> Any:
        """Outputs for one batch: one forward pass, no progress bar."""
        result = self.call(x)
        if isinstance(result, list):
            return [np.asarray(r) for r in result]
        return np.asarray(result)

    def train_on_batch(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        class_weight: Any = None,
        reset_metrics: bool = True,
        return_dict: bool = False,
    ) -> float | list[float] | dict[str, float]:
        """One optimizer step on this batch; loss (and metrics) of the batch,
        computed before the update."""
        where = "train_on_batch"
        self._require_compiled(where)
        xs, targets = self._prepare_xy(x, y, where)
        weights = self._sample_weights(
            y, len(xs[0]), sample_weight, class_weight, where
        )
        xs = self._as_batch(xs)
        self._resolve_metrics(targets)
        with self._training(where):
            values = self._train_batch(xs, targets, self.output_modes(), weights)
        return self._batch_result(values, return_dict)

    def test_on_batch(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        reset_metrics: bool = True,
        return_dict: bool = False,
    ) -> float | list[float] | dict[str, float]:
        """Loss (and metrics) of this batch without updating the weights."""
        where = "test_on_batch"
        self._require_compiled(where)
        xs, targets = self._prepare_xy(x, y, where)
        weights = self._sample_weights(y, len(xs[0]), sample_weight, None, where)
        xs = self._as_batch(xs)
        self._resolve_metrics(targets)
        values = self._test_batch(xs, targets, self.output_modes(), weights)
        return self._batch_result(values, return_dict)

    def _batch_result(self, values: list[float], return_dict: bool):
        values = [float(v) for v in values]
        if return_dict:
            names = self.metrics_names
            return dict(zip(names, values))
        return values[0] if len(values) == 1 else values


def _is_model(layer: Any) -> bool:
    """Whether `layer` is a nested model (it has its own graph)."""
    return hasattr(layer, "_nodes") and hasattr(layer, "outputs")


def _producer(tensor: Any) -> Any:
    """The layer that computes `tensor`, looked up inside the nested models
    that output it (whose last layer's activation a loss may fuse)."""
    layer = tensor.node.layer
    while _is_model(layer) and layer.outputs:
        tensor = layer.outputs[tensor._keras_history[2]]
        layer = tensor.node.layer
    return layer


def _array_batches(xs, targets, batch_size, weights, trainer):
    """(step, x batches, y batches, w batch) over arrays, in order."""
    n = len(xs[0])
    trainer._ensure_buffers(min(batch_size, n))
    batches = _InputBatches(xs, trainer, min(batch_size, n))
    for step, lo in enumerate(range(0, n, batch_size)):
        hi = min(n, lo + batch_size)
        wb = None if weights is None else weights[lo:hi]
        yb = [None if t is None else t[lo:hi] for t in targets]
        yield step, batches.rows(lo, hi), yb, wb


#: Source dtypes whose rows `_backend.gather_rows` converts while gathering.
_GATHER_SOURCES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.uint8))


class _Batches:
    """Batches of the user's input `xs` in `dtype` (the model's float dtype,
    or the integer dtype of ids for an Embedding first layer).

    When `xs` already is C-contiguous in that dtype, a batch is a view (or,
    shuffled, a gather into the buffer), as before. Otherwise (uint8 images,
    float64 data for a float32 model, strided or byte-swapped arrays) the
    rows are converted batch by batch into one preallocated buffer, so no
    full-size float copy of the data set is ever made. Element-wise casts
    commute with row selection: the result is bit-identical to converting
    the whole array first.
    """

    def __init__(self, xs: np.ndarray, dtype: np.dtype, rows: int):
        self.xs = xs
        contiguous = xs.flags.c_contiguous and xs.flags.aligned
        self.direct = xs.dtype == dtype and contiguous
        self.out = _backend.aligned_empty((rows, *xs.shape[1:]), dtype)
        self.stage: np.ndarray | None = None  # source-dtype rows of a gather
        # Rows the C gather converts as it copies them (one pass, no staging
        # copy): float64 data or uint8 images for a float model.
        self.flat: np.ndarray | None = None
        if (
            not self.direct
            and contiguous
            and xs.dtype.isnative
            and xs.dtype in _GATHER_SOURCES
            and dtype in (np.float32, np.float64)
        ):
            self.flat = xs.reshape(len(xs), -1)

    def rows(self, lo: int, hi: int, index: np.ndarray | None = None) -> np.ndarray:
        """xs[lo:hi], or xs[index] when shuffled, in the model's dtype."""
        out = self.out[: hi - lo]
        if index is None:
            if self.direct:
                return self.xs[lo:hi]
            np.copyto(out, self.xs[lo:hi], casting="unsafe")
            return out
        if self.direct:
            return self.xs.take(index, axis=0, out=out)
        if self.flat is not None:
            _backend.gather_rows(index, self.flat, out.reshape(hi - lo, -1))
            return out
        if self.stage is None:
            self.stage = np.empty((len(self.out), *self.xs.shape[1:]), self.xs.dtype)
        stage = self.stage[: hi - lo]
        self.xs.take(index, axis=0, out=stage)
        np.copyto(out, stage, casting="unsafe")
        return out


class _InputBatches:
    """One _Batches per model input, each in the dtype its input is read in;
    ``rows`` gives the list of batches."""

    def __init__(self, xs: list[np.ndarray], trainer: Trainer, rows: int):
        self.parts = [
            _Batches(x, trainer._input_dtype(x, k), rows) for k, x in enumerate(xs)
        ]

    def rows(self, lo: int, hi: int, index: np.ndarray | None = None) -> list:
        return [part.rows(lo, hi, index) for part in self.parts]


def _epoch_batches(
    batches: _InputBatches,
    targets: list,
    y_buffers: list,
    batch_size: int,
    steps: int,
    order: np.ndarray | None,
    weights: np.ndarray | None = None,
    w_buffer: np.ndarray | None = None,
) -> Iterator[tuple[int, list, list, np.ndarray | None]]:
    """One epoch: (step, x batches, y batches, weights batch or None) for
    `steps` steps of `batch_size` samples (fit takes ceil(n / batch_size): the
    last one is short), in `order` (a permutation) or in sequence. A
    shuffled batch is gathered into the preallocated buffers, so each batch
    is valid only until the next one is drawn."""
    n = len(batches.parts[0].xs)
    wb = None
    for step in range(steps):
        lo, hi = step * batch_size, min(n, (step + 1) * batch_size)
        if order is None:
            if weights is not None:
                wb = weights[lo:hi]
            yb = [None if t is None else t[lo:hi] for t in targets]
            yield step, batches.rows(lo, hi), yb, wb
        else:
            index = order[lo:hi]
            yb = []
            for t, buffer in zip(targets, y_buffers):
                if t is None:
                    yb.append(None)
                else:
                    yb.append(t.take(index, axis=0, out=buffer[: hi - lo]))
            if weights is not None:
                wb = weights.take(index, out=w_buffer[: hi - lo])
            yield step, batches.rows(lo, hi, index), yb, wb


class _RunningMeans:
    """Sample-weighted running means of a batch's loss and metrics (Keras's
    reporting: each batch's mean counts by its size), summed in double.
    Metrics that accumulate (Precision, AUC...) report the metric of their
    batches' summed counts (metrics.BatchCounts) instead."""

    def __init__(self, names: list[str], metrics: Any = ()):
        self.names = names
        self.totals = [0.0] * len(names)
        self.count = 0
        first = len(names) - len(metrics)  # the metrics are the last names
        self.accumulating = {
            names[first + i]: m for i, m in enumerate(metrics) if m.accumulates
        }
        self.counts: dict[str, tuple] = {}

    def add(self, values: list[float], size: int) -> None:
        self.totals = [t + float(v) * size for t, v in zip(self.totals, values)]
        self.count += size
        for name, value in zip(self.names, values):
            if name in self.accumulating:
                old = self.counts.get(name)
                new = value.counts
                self.counts[name] = (
                    new if old is None else tuple(a + b for a, b in zip(old, new))
                )

    def means(self) -> dict[str, float]:
        count = max(self.count, 1)
        means = {name: t / count for name, t in zip(self.names, self.totals)}
        for name, counts in self.counts.items():
            means[name] = self.accumulating[name].value_from_counts(counts)
        return means


def _verbosity(verbose: Any, where: str) -> int:
    if isinstance(verbose, (bool, np.bool_)):  # Keras: False is 0, True is 1
        return int(verbose)
    if verbose == "auto":
        return 1
    if not isinstance(verbose, (int, np.integer)) or verbose < 0:
        raise ValueError(f"{where}: verbose must be 'auto', 0, 1 or 2; got {verbose!r}")
    return int(verbose)


def _callback_list(callbacks: Any, where: str) -> list[Callback]:
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(
            f"{where}: callbacks must be a list of Callback objects; got "
            f"{describe(callbacks)}"
        )
    for item in callbacks:
        if not isinstance(item, Callback):
            raise TypeError(
                f"{where}: callbacks must hold Callback objects; got {describe(item)}"
            )
    return list(callbacks)


def _split_tail(xs: list, targets: list, fraction: Any):
    """Keras's validation_split: the LAST samples, taken before any shuffling."""
    if (
        isinstance(fraction, bool)
        or not isinstance(fraction, (int, float))
        or not (0.0 <= float(fraction) < 1.0)
    ):
        raise ValueError(
            f"fit: validation_split must be a number in [0, 1); got {fraction!r}"
        )
    n = len(xs[0])
    split_at = int(n * (1.0 - float(fraction)))
    if split_at in (0, n):
        raise ValueError(
            f"fit: Training data contains {n} samples, which is not sufficient to split "
            f"it into a validation and training set as specified by `validation_split="
            f"{fraction}`. Either provide more data, or a different value for the "
            "`validation_split` argument."
        )

    def head(arrays: list) -> list:
        return [None if a is None else a[:split_at] for a in arrays]

    def tail(arrays: list) -> list:
        return [None if a is None else a[split_at:] for a in arrays]

    return head(xs), head(targets), (tail(xs), tail(targets))


def _class_weights(class_weight: Any, y: Any, where: str) -> np.ndarray:
    """Keras 2's class_weight as one weight per sample: the class of a
    sample is argmax(y) for one-hot targets (rank 2, more than one column),
    else int(y); the keys must be exactly 0 .. K-1."""
    if not isinstance(class_weight, dict):
        raise TypeError(
            f"{where}: class_weight must be a dict {{class index: weight}}; got "
            f"{describe(class_weight)}"
        )
    keys = sorted(
        class_weight, key=lambda k: (not isinstance(k, (int, np.integer)), str(k))
    )
    if (
        not keys
        or any(
            isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer))
            for k in keys
        )
        or [int(k) for k in keys] != list(range(len(keys)))
    ):
        raise ValueError(
            f"{where}: Expected `class_weight` to be a dict with keys from 0 to one "
            f"less than the number of classes, found {class_weight!r}"
        )
    table = np.empty(len(keys))
    for k in keys:
        try:
            table[int(k)] = float(class_weight[k])
        except (TypeError, ValueError):
            raise TypeError(
                f"{where}: class_weight[{k}] must be a number; got "
                f"{describe(class_weight[k])}"
            ) from None
    bad = np.flatnonzero(~np.isfinite(table) | (table < 0))
    if bad.size:
        raise ValueError(
            f"{where}: class_weight[{int(bad[0])}] = {float(table[bad[0]])!r}; expected "
            "finite non-negative weights"
        )
    labels = np.asarray(y)
    if labels.ndim > 2:
        raise ValueError(
            f"{where}: class_weight is not supported for 3+ dimensional targets; "
            f"y has shape {labels.shape}"
        )
    if labels.ndim == 2 and labels.shape[1] > 1:
        classes = np.argmax(labels, axis=1)
    else:
        classes = labels.reshape(-1).astype(np.int64)
    outside = np.flatnonzero((classes < 0) | (classes >= len(table)))
    if outside.size:
        i = int(outside[0])
        raise ValueError(
            f"{where}: y[{i}] is class {int(classes[i])}, which has no entry in "
            f"class_weight (keys 0..{len(table) - 1})"
        )
    return table[classes]


def _metric_entries(metrics: Any, key: str) -> list[Any]:
    """compile's `metrics` (or `weighted_metrics`) as a checked list."""
    if metrics is None:
        return []
    if callable(metrics) and not isinstance(metrics, (metrics_module.Metric, type)):
        metrics = [metrics]  # a metric function: Keras names it fn.__name__
    if isinstance(metrics, (str, metrics_module.Metric)):
        metrics_module.check_identifier(metrics, f"compile ({key})")
        return [metrics]
    if not isinstance(metrics, (list, tuple)):
        raise TypeError(
            f"compile: {key} must be a list such as ['accuracy']; got "
            f"{describe(metrics)}"
        )
    entries = []
    for entry in metrics:
        if callable(entry) and not isinstance(entry, (metrics_module.Metric, type)):
            entry = metrics_module.MeanMetricWrapper(entry)
        if not isinstance(entry, (str, metrics_module.Metric)):
            raise TypeError(
                f"compile: {key} entries must be names, Metric objects or functions "
                f"(y_true, y_pred); got {describe(entry)}"
            )
        metrics_module.check_identifier(entry, f"compile ({key})")
        entries.append(entry)
    return entries


def _is_array_like(value: Any) -> bool:
    """Whether a one-entry list holds one input's whole array (a NumPy array
    with a batch axis), not one sample written as a nested Python list."""
    return isinstance(value, np.ndarray) and value.ndim >= 2
