"""The parameter store: a model's weights and their gradients in one flat
buffer each, with a trainable flag per weight.

Layout: the trainable weights first (in layer order), then the others
(BatchNormalization's moving statistics, the weights of a layer whose
``trainable`` is False). Every weight starts on a 16-element boundary so SIMD
loads stay aligned. Layers hold views of the buffers (``Layer._bind``), so an
optimizer step is one C call over the trainable prefix, and the state of the
optimizer (moments) covers that prefix only: frozen weights neither change
nor advance any state.

The store is rebuilt when the structure changes (build, pop, compile) or, at
the next training call, when a weight's trainable flag or binding changed
(``matches``); ``carry_optimizer_state`` then moves the optimizer's
moments weight by weight, as Keras keeps one slot per variable.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import _backend

__all__ = ["ParameterStore"]

# Parameter views start on 16-element boundaries so SIMD loads stay aligned.
_ALIGN = 16


def _padded(size: int) -> int:
    return -(-size // _ALIGN) * _ALIGN


def _weight_flags(layer: Any) -> list[bool]:
    """Whether each of the layer's weights is trained now (layer and weight flags)."""
    return [bool(layer.trainable) and flag for flag in layer._param_trainable]


class ParameterStore:
    """Flat parameter and gradient buffers for `layers`, views bound to them.

    Parameters
    ----------
    layers : sequence of Layer
        Built layers; their current weight values are copied in.
    dtype : numpy dtype
        The model's float dtype.
    """

    def __init__(self, layers: Sequence[Any], dtype: np.dtype):
        self.layers = list(layers)
        entries = []  # (layer position, weight index, trainable)
        for position, layer in enumerate(self.layers):
            for index, flag in enumerate(_weight_flags(layer)):
                entries.append((position, index, flag))
        entries.sort(key=lambda entry: not entry[2])  # stable: trainable first
        offsets: dict[tuple[int, int], int] = {}
        total = trainable_total = 0
        for position, index, flag in entries:
            offsets[position, index] = total
            size = _padded(self.layers[position]._params[index].size)
            total += size
            trainable_total += size if flag else 0
        self.params = _backend.aligned_zeros(max(total, 1), dtype)
        self.grads = _backend.aligned_zeros(max(total, 1), dtype)
        self.trainable_size = trainable_total
        #: (layer, weight index) -> offset of that weight in the buffers
        self._offsets = {
            (id(self.layers[p]), i): start for (p, i), start in offsets.items()
        }
        for position, layer in enumerate(self.layers):
            views, grad_views = [], []
            for index, param in enumerate(layer._params):
                start = offsets[position, index]
                stop = start + param.size
                views.append(self.params[start:stop].reshape(param.shape))
                grad_views.append(self.grads[start:stop].reshape(param.shape))
            layer._bind(views, grad_views)
        self._views = [list(layer._params) for layer in self.layers]
        #: each trainable weight's gradient view (clipnorm clips them one by one)
        self.trainable_grad_views = [
            self.layers[p]._grads[i] for p, i, flag in entries if flag
        ]
        #: per layer (by id): its trainable weights as ranges of the buffers,
        #: each (start, stop, gradient views), for the fused update
        self._ranges: dict[int, list[tuple[int, int, list[np.ndarray]]]] = {}
        for p, i, flag in entries:
            if not flag:
                continue
            layer = self.layers[p]
            start = offsets[p, i]
            stop = start + _padded(layer._params[i].size)
            ranges = self._ranges.setdefault(id(layer), [])
            if ranges and ranges[-1][1] == start:  # contiguous: one range
                ranges[-1][1] = stop
                ranges[-1][2].append(layer._grads[i])
            else:
                ranges.append([start, stop, [layer._grads[i]]])
        self._pending: set[int] = set()  # layers not yet updated this fused step
        #: optimizer moments of weights frozen since they were trained
        self._parked: dict[tuple[int, int], dict[str, np.ndarray]] = {}
        self._flags = [_weight_flags(layer) for layer in self.layers]

    def matches(self, layers: Sequence[Any]) -> bool:
        """True while `layers` still hold this store's views with the same
        trainable flags (False after another model bound a shared layer, or
        after ``layer.trainable`` changed)."""
        if len(layers) != len(self.layers):
            return False
        for layer, mine, views, flags in zip(
            layers, self.layers, self._views, self._flags
        ):
            if layer is not mine or len(layer._params) != len(views):
                return False
            if any(p is not v for p, v in zip(layer._params, views)):
                return False
            if _weight_flags(layer) != flags:
                return False
        return True

    def offset(self, layer: Any, index: int) -> int:
        """Where weight `index` of `layer` starts in the buffers."""
        return self._offsets[id(layer), index]

    def is_trainable(self, layer: Any, index: int) -> bool:
        """Whether weight `index` of `layer` lies in the trainable part."""
        return self.offset(layer, index) < self.trainable_size

    @property
    def trainable_params(self) -> np.ndarray:
        """The prefix of the parameter buffer that the optimizer updates."""
        return self.params[: self.trainable_size]

    @property
    def trainable_grads(self) -> np.ndarray:
        """The gradients of ``trainable_params``."""
        return self.grads[: self.trainable_size]

    def apply(self, optimizer: Any) -> None:
        """One optimizer step over the trainable weights (none: no step)."""
        if self.trainable_size:
            optimizer.update_flat(
                self.trainable_params, self.trainable_grads, self.trainable_grad_views
            )

    # ---- the fused step: each layer's update as its gradients are final -------
    def begin_step(self, optimizer: Any) -> None:
        """Start a fused optimizer step (``update_layer`` per layer, then
        ``end_step``): the same updates as ``apply``, range by range."""
        self._pending = set(self._ranges)
        if self.trainable_size:
            optimizer.begin_flat_step(self.trainable_params)

    def update_layer(self, optimizer: Any, layer: Any) -> None:
        """Update `layer`'s trainable weights (their gradients are final)."""
        key = id(layer)
        if key in self._pending:
            self._pending.discard(key)
            for start, stop, views in self._ranges[key]:
                optimizer.update_range(self.params, self.grads, start, stop, views)

    def end_step(self, optimizer: Any) -> None:
        """Update what no ``update_layer`` reached (a layer outside the graph
        the executor runs: its gradients are as they were)."""
        for layer in self.layers:
            self.update_layer(optimizer, layer)

    def ranges_of(self, layer: Any) -> list[tuple[int, int, list[np.ndarray]]]:
        """`layer`'s trainable ranges, each (start, stop, gradient views)."""
        return self._ranges.get(id(layer), [])

    def ranges_except(self, skip: set[int]) -> list[tuple[int, int, list[np.ndarray]]]:
        """The trainable ranges of every layer whose id is not in `skip`,
        adjacent ones merged, each (start, stop, gradient views): what is
        left of a step when those layers' updates were taken elsewhere."""
        ranges = sorted(
            (r for key, rs in self._ranges.items() if key not in skip for r in rs),
            key=lambda r: r[0],
        )
        runs: list[tuple[int, int, list[np.ndarray]]] = []
        for start, stop, views in ranges:
            if runs and runs[-1][1] == start:
                runs[-1] = (runs[-1][0], stop, runs[-1][2] + views)
            else:
                runs.append((start, stop, list(views)))
        return runs

    def reset_optimizer(self, optimizer: Any) -> None:
        """Forget the optimizer's moments; its next step starts them afresh."""
        if optimizer is not None:
            optimizer.reset_state()

    def carry_optimizer_state(self, old: ParameterStore, optimizer: Any) -> None:
        """Move the optimizer's moments from the layout of `old` to this one,
        per weight, as Keras keeps a slot per variable: a weight trainable in
        both keeps its moments; a weight that became frozen has them set
        aside (they do not advance) and gets them back when it is trained
        again; a weight trained for the first time starts from the
        optimizer's initial state."""
        if optimizer is None:
            return
        state = optimizer.flat_state()
        if not state or any(
            value.shape != (old.trainable_size,) for value in state.values()
        ):
            optimizer.reset_state()
            return
        saved = dict(old._parked)
        sizes = {
            (id(layer), index): param.size
            for layer in old.layers
            for index, param in enumerate(layer._params)
        }
        for key, before in old._offsets.items():
            if before < old.trainable_size:
                size = sizes[key]
                saved[key] = {
                    n: v[before : before + size].copy() for n, v in state.items()
                }
        fresh = optimizer._new_state(self.trainable_params)
        for key, start in self._offsets.items():
            if key not in saved:
                continue
            if start >= self.trainable_size:
                self._parked[key] = saved[key]
                continue
            for name, value in fresh.items():
                moments = saved[key][name]
                value[start : start + moments.size] = moments
        optimizer.set_flat_state(optimizer.iterations, fresh)


def set_trainable(model: Any, layers: Sequence[Any], value: Any) -> None:
    """``model.trainable = value``: the model's flag and every layer's, as
    Keras sets it on all sublayers. A store laid out for the old flags is
    relaid out (moments carried per weight) at the next fit."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{getattr(model, 'name', 'model')}.trainable must be True or False; "
            f"got {value!r}"
        )
    model._trainable = bool(value)
    for layer in layers:
        layer.trainable = bool(value)
