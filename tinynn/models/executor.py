"""The executor: runs any model graph forward and backward in place.

A Plan is made from a graph (its nodes in topological order, its input and
output tensors) for batches of up to `rows` samples. Every tensor gets a
slot; every node a Step with its layer, the slots it reads and writes, its
own CallContext and a preallocated output buffer. Nothing is allocated per
batch.

Backward runs the steps in reverse order. A tensor's gradient is complete
when its producer runs, since all its consumers come after the producer.
Where a tensor feeds several consumers (fan-out), or is a model output that
is also consumed, the first contribution of the pass is written into the
tensor's gradient buffer and each later one into a scratch buffer that is
then added: the order of the sum is the reverse step order, fixed by the
graph, so results are the same run to run and for any thread count. A layer
called at several nodes overwrites its weight gradients at its first
backward call of the pass and adds to them at the others (``accumulate``).

Gradient skipping: a tensor needs a gradient only if a trainable weight lies
upstream of it, so no input gradient is computed for the data, nor below a
frozen part of the model.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .. import _backend
from .._call_context import CallContext

__all__ = ["Plan", "inline"]

#: Whether a max pooling runs inside the convolution before it where it
#: can (``Plan._fuse_conv_pools``). Results differ from the unfused steps
#: only in the order of the kernel gradient's sums; False is for A/B
#: comparisons (tests/test_conv_pool_fusion.py, benchmarks).
fuse_conv_pool = True

#: Whether a max pooling's backward applies the relu of the layer whose
#: output it alone reads (``Plan._gate_relus``), saving that layer a
#: pass over its output. Bit-identical either way; False is for A/B runs.
gate_relu_pools = True

#: The same for a Dense layer's input gradient (zeroed where its input, a
#: relu's output, is 0, as the GEMM stores it). Bit-identical either way;
#: False is for A/B runs.
gate_relu_dense = True

#: Whether a Flatten or Reshape that alone reads a tensor gets that tensor's
#: gradient as a view of its own output's (``Plan._share_reshape_gradients``)
#: instead of copying it. Bit-identical either way; False is for A/B runs.
share_reshape_gradients = True


class _Inlined:
    """A graph with nested models inlined: slots (one per distinct tensor,
    an inner model's inputs and outputs aliases of the tensors its call
    node reads and writes) and the calls of plain layers in order."""

    def __init__(self) -> None:
        self.shapes: list[tuple] = []
        self.calls: list[tuple[Any, list[int], int, bool]] = []
        self.input_slots: list[int] = []
        self.output_slots: list[int] = []


def inline(inputs: Sequence[Any], outputs: Sequence[Any], nodes: Sequence[Any]):
    """The graph between `inputs` and `outputs` through `nodes` (topological
    order) with every node of a nested model (a layer that has ``_nodes``,
    its own graph) replaced by its model's nodes, recursively. Each call
    site of a nested model gets its own scope, so a model used twice
    contributes two sets of steps (two CallContexts per layer) over the same
    layers: its weights are shared and their gradients accumulate."""
    graph = _Inlined()
    slot: dict[tuple, int] = {}
    alias: dict[tuple, tuple] = {}

    def key(scope: tuple, tensor: Any) -> tuple:
        k = (scope, id(tensor))
        while k in alias:
            k = alias[k]
        return k

    def slot_of(scope: tuple, tensor: Any) -> int:
        k = key(scope, tensor)
        if k not in slot:
            slot[k] = len(graph.shapes)
            graph.shapes.append(tuple(tensor.shape[1:]))
        return slot[k]

    def expand(scope: tuple, node_list: Sequence[Any]) -> None:
        for node in node_list:
            layer = node.layer
            if hasattr(layer, "_nodes") and hasattr(layer, "outputs"):  # a model
                inner = scope + (id(node),)
                for t_inner, t_outer in zip(layer.inputs, node.inputs):
                    alias[(inner, id(t_inner))] = key(scope, t_outer)
                expand(inner, layer._nodes)
                for t_inner, t_outer in zip(layer.outputs, node.outputs):
                    alias[(scope, id(t_outer))] = key(inner, t_inner)
                continue
            (tensor,) = node.outputs  # one output per layer call in tinynn
            in_slots = [slot_of(scope, t) for t in node.inputs]
            graph.calls.append((layer, in_slots, slot_of(scope, tensor), node.as_list))

    graph.input_slots = [slot_of((), t) for t in inputs]
    expand((), nodes)
    graph.output_slots = [slot_of((), t) for t in outputs]
    return graph


class _Step:
    """One node: its layer, slots, context and buffers."""

    __slots__ = (
        "layer",
        "inputs",
        "output",
        "as_list",
        "ctx",
        "out",
        "fuse_index",
        "wants_dx",
        "scratch",
        "backward",
        "last_of_layer",
    )


class Plan:
    """Buffers and steps to run a graph on batches of up to `rows` samples.

    Parameters
    ----------
    inputs, outputs : list of KerasTensor
        The model's input and output tensors.
    nodes : list of Node
        Every node between them (InputLayers' excluded), in topological order.
    rows : int
        The largest batch the buffers must hold.
    dtype : numpy dtype
        The model's float dtype.

    An output whose producer applies softmax/sigmoid last can be computed
    without it (``forward(..., fuse=...)``), the loss applying it in its
    fused kernel, unless another layer also reads that output (``fusable``).
    """

    def __init__(
        self,
        inputs: Sequence[Any],
        outputs: Sequence[Any],
        nodes: Sequence[Any],
        rows: int,
        dtype: np.dtype,
    ):
        self.rows = rows
        self.dtype = dtype
        graph = inline(inputs, outputs, nodes)
        shapes = graph.shapes
        self.input_slots = graph.input_slots
        consumers: dict[int, int] = {}
        steps = []
        for layer, in_slots, out_slot, as_list in graph.calls:
            step = _Step()
            step.layer = layer
            step.inputs = in_slots
            step.output = out_slot
            step.as_list = as_list
            step.ctx = CallContext()
            step.fuse_index = -1
            step.out = (
                _backend.aligned_empty((rows, *shapes[out_slot]), dtype)
                if layer._buffered
                else None
            )
            for s in step.inputs:
                consumers[s] = consumers.get(s, 0) + 1
            steps.append(step)
        self.steps = steps
        self.output_slots = graph.output_slots
        producer = {step.output: step for step in steps}
        self.fusable = []
        for k, s in enumerate(self.output_slots):
            step = producer.get(s)
            # Not when another layer reads the tensor: it would read the
            # values before the activation.
            ok = step is not None and consumers.get(s, 0) == 0 and step.fuse_index < 0
            if ok:
                step.fuse_index = k
            self.fusable.append(ok)
        self._plan_gradients(shapes, consumers)
        if share_reshape_gradients:
            self._share_reshape_gradients(shapes, consumers)
        if fuse_conv_pool:
            self._fuse_conv_pools(shapes, consumers)
        if gate_relu_pools or gate_relu_dense:
            self._gate_relus(consumers)
        self.values: list[Any] = [None] * len(shapes)
        # Per batch size: each step's output buffer cut to it; per batch size
        # and outputs with a loss: the backward pass's calls (_schedule).
        self._outs: dict[int, list[Any]] = {}
        self._schedules: dict[tuple, tuple[list[tuple], list[Any]]] = {}
        # Each layer's contexts (several for a shared layer): activity
        # penalties are per call.
        self.contexts: dict[int, list[CallContext]] = {}
        self.layers: list[Any] = []
        for step in steps:
            # A layer's first step is the last of its backward calls: its
            # weight gradients are final once that step is passed.
            step.last_of_layer = id(step.layer) not in self.contexts
            if step.last_of_layer:
                self.contexts[id(step.layer)] = []
                self.layers.append(step.layer)
            self.contexts[id(step.layer)].append(step.ctx)

    def _plan_gradients(self, shapes: list[tuple], consumers: dict[int, int]) -> None:
        """Which tensors need a gradient, their buffers, and scratch buffers
        for second and later contributions to a tensor's gradient."""
        needs = [False] * len(shapes)
        for step in self.steps:
            upstream = any(needs[s] for s in step.inputs)
            needs[step.output] = upstream or bool(step.layer.trainable_weights)
        self.needs_grad = needs
        contributions = dict(consumers)
        for s in self.output_slots:
            contributions[s] = contributions.get(s, 0) + 1
        self.grads: list[np.ndarray | None] = [
            _backend.aligned_empty((self.rows, *shape), self.dtype)
            if needs[s] or s in self.output_slots
            else None
            for s, shape in enumerate(shapes)
        ]
        for step in self.steps:
            step.wants_dx = [needs[s] for s in step.inputs]
            step.scratch = [
                _backend.aligned_empty((self.rows, *shapes[s]), self.dtype)
                if needs[s] and contributions.get(s, 0) > 1
                else None
                for s in step.inputs
            ]
            step.backward = needs[step.output]

    def _share_reshape_gradients(
        self, shapes: list[tuple], consumers: dict[int, int]
    ) -> None:
        """Where a reshaping layer (Flatten, Reshape) is the only reader of
        its input, make the input's gradient buffer a view of its output's:
        its backward then copies nothing. Last steps first, so a chain of
        reshapes shares one buffer."""
        for step in reversed(self.steps):
            slot = step.inputs[0] if not step.as_list else None
            if (
                slot is None
                or not step.layer._reshapes_only
                or not step.wants_dx[0]
                or consumers.get(slot, 0) != 1
                or slot in self.output_slots
                or self.grads[step.output] is None
            ):
                continue
            self.grads[slot] = self.grads[step.output].reshape(self.rows, *shapes[slot])
            step.ctx.gradient_shared = True

    def _fuse_conv_pools(self, shapes: list[tuple], consumers: dict[int, int]) -> None:
        """Run each max pooling inside the convolution whose output only it
        reads, where the layers allow it (``_fuse_max_pool``) and no input
        gradient is needed below the convolution (a model's first layers):
        one step then writes the pooled output, and the full-size output
        and its gradient are never stored."""
        producer = {step.output: step for step in self.steps}
        fused: set[int] = set()
        for pool_step in self.steps:
            conv_step = producer.get(pool_step.inputs[0])
            slot = pool_step.inputs[0]
            if (
                conv_step is None
                or pool_step.as_list
                or conv_step.as_list
                or consumers.get(slot, 0) != 1
                or slot in self.output_slots
                or pool_step.fuse_index >= 0
                or any(conv_step.wants_dx)
                or not hasattr(conv_step.layer, "_fuse_max_pool")
            ):
                continue
            window = conv_step.layer._fuse_max_pool(
                pool_step.layer, shapes[conv_step.inputs[0]], self.rows
            )
            if window is None:
                continue
            conv_step.ctx.max_pool = window
            conv_step.output, conv_step.out = pool_step.output, pool_step.out
            conv_step.backward = pool_step.backward
            self.grads[slot] = None
            fused.add(id(pool_step))
        self.steps = [step for step in self.steps if id(step) not in fused]

    def _gate_relus(self, consumers: dict[int, int]) -> None:
        """Where a layer that can gate (``_gates_relu``) alone reads the
        output of a layer with relu (and no activity penalty, which would
        add to the gradient before relu), its backward applies relu's
        backward to the gradient it writes, and the layer before skips its
        own pass over it. A max pooling routes its gradient only where the
        pooled value is above 0 (at each window's maximum the layer's output
        is the pooled value); a Dense layer zeroes its input gradient where
        its input is not above 0, as its product's tiles are stored."""
        producer = {step.output: step for step in self.steps}
        for reader in self.steps:
            slot = reader.inputs[0]
            step = producer.get(slot)
            layer = None if step is None else step.layer
            gates = getattr(reader.layer, "_gates_relu", None)
            if (
                step is None
                or not gates
                or not (gate_relu_pools if gates == "pool" else gate_relu_dense)
                or reader.as_list
                or step.as_list
                or not reader.wants_dx[0]
                or consumers.get(slot, 0) != 1
                or slot in self.output_slots
                or getattr(layer, "_activation", None) != "relu"
                or getattr(layer, "activity_regularizer", None) is not None
                or not getattr(layer, "_relu_gatable", False)
                or step.ctx.max_pool is not None  # fused: gates itself
            ):
                continue
            reader.ctx.relu_gate = step.ctx
            step.ctx.relu_by_consumer = True

    # ---- passes ----------------------------------------------------------------
    def forward(
        self,
        inputs: Sequence[np.ndarray],
        training: bool,
        fuse: Sequence[bool] | None = None,
    ) -> list[np.ndarray]:
        """The outputs for one batch (views of the plan's buffers); output k
        before its activation where `fuse[k]` (and ``fusable[k]``)."""
        values = self.values
        n = len(inputs[0])
        outs = self._outs.get(n)
        if outs is None:
            outs = self._outs[n] = [
                None if step.out is None else step.out[:n] for step in self.steps
            ]
        for s, x in zip(self.input_slots, inputs):
            values[s] = x
        for step, out in zip(self.steps, outs):
            if step.as_list:
                x = [values[s] for s in step.inputs]
            else:
                x = values[step.inputs[0]]
            if fuse is not None and step.fuse_index >= 0 and fuse[step.fuse_index]:
                y = step.layer._forward(x, training, out, step.ctx, activation="linear")
            else:
                y = step.layer._forward(x, training, out, step.ctx)
            values[step.output] = y
        return [values[s] for s in self.output_slots]

    def output_gradients(self, n: int) -> list[np.ndarray]:
        """Where each output's loss writes its gradient for a batch of `n`."""
        return [self.grads[s][:n] for s in self.output_slots]

    def backward(
        self,
        n: int,
        written: Sequence[bool] | None = None,
        final: Callable[[Any], None] | None = None,
    ) -> None:
        """Backpropagate the output gradients (``output_gradients``, filled by
        the losses; `written[k]` False for an output without a loss).

        `final(layer)`, if given, is called once for every layer of the plan
        as soon as its weight gradients are final: right after its last
        backward call of the pass (a shared layer's at its first call
        site), or, for a layer no gradient reached, at the end once its
        gradients are zeroed. Later steps never read that layer's weights,
        so `final` may update them (the fused optimizer step)."""
        key = (n, None if written is None else tuple(written))
        schedule = self._schedules.get(key)
        if schedule is None:
            schedule = self._schedules[key] = self._schedule(n, written)
        calls, unreached = schedule
        for step, dy, dx, accumulate, pending, weights_final in calls:
            if step is not None:
                step.layer._backward(dy, dx, step.ctx, accumulate)
                for total, scratch in pending:
                    _backend.add_inplace(total, scratch)
            if final is not None and weights_final is not None:
                final(weights_final)
        # A trainable layer no loss reached this pass: zero gradients, not
        # last batch's.
        for layer in unreached:
            if layer.trainable_weights:
                for g in layer._grads:
                    g.fill(0)
            if final is not None:
                final(layer)

    def _schedule(
        self, n: int, written: Sequence[bool] | None
    ) -> tuple[list[tuple], list[Any]]:
        """The backward pass for batches of `n` with these outputs written,
        worked out once: its calls, each (step or None, dy, dx (a list for
        a list-input layer), accumulate, [(gradient, scratch to add)], the
        layer whose weight gradients are final after it, or None), and the
        layers no gradient reaches. The graph fixes all of it."""
        done = [False] * len(self.grads)
        for k, s in enumerate(self.output_slots):
            if written is None or written[k]:
                done[s] = True
        called: set[int] = set()
        calls: list[tuple] = []
        for step in reversed(self.steps):
            if not (step.backward and done[step.output]):
                if step.last_of_layer and id(step.layer) in called:
                    calls.append((None, None, None, False, [], step.layer))
                continue
            targets, pending = [], []
            for s, wants, scratch in zip(step.inputs, step.wants_dx, step.scratch):
                if not wants:
                    targets.append(None)
                elif not done[s]:  # the first contribution: written in place
                    done[s] = True
                    targets.append(self.grads[s][:n])
                else:  # a later one: into scratch, added after the call
                    targets.append(scratch[:n])
                    pending.append((self.grads[s][:n], scratch[:n]))
            key = id(step.layer)
            accumulate = key in called
            called.add(key)
            calls.append(
                (
                    step,
                    self.grads[step.output][:n],
                    targets if step.as_list else targets[0],
                    accumulate,
                    pending,
                    step.layer if step.last_of_layer else None,
                )
            )
        unreached = [layer for layer in self.layers if id(layer) not in called]
        return calls, unreached
