"""CallContext: the per-call state a layer's backward pass reads.

Its own module because both sides use it: the layers write into it, and
whatever runs a model (the Trainer today, a graph executor tomorrow) keeps
one per place a layer is called.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _backend


class CallContext:
    """What one call of a layer keeps for its backward pass.

    A layer may be called at several places of one model (shared weights),
    so nothing its backward pass reads may live on the layer: the caller
    hands each place its own context. A layer's ``_forward`` sets
    ``input``, ``output`` and whatever else its ``_backward`` needs
    (``activation``, a dropout mask, batch statistics...); ``buffer`` gives
    scratch arrays that grow to the largest batch and are then reused, so
    no batch allocates.
    """

    def __init__(self) -> None:
        self.input: Any = None
        self.output: Any = None
        # Set by the executor on a convolution's context when the max
        # pooling that alone reads its output runs inside it: the window.
        self.max_pool: tuple[int, int] | None = None
        # Set by the executor where a max pooling or a Dense layer alone
        # reads a relu layer's output: the reader's context gets the layer's
        # (``relu_gate``) and its backward applies relu's backward to the
        # gradient it writes, and the layer's (``relu_by_consumer``) then
        # skips it.
        self.relu_gate: CallContext | None = None
        self.relu_by_consumer = False
        # Set by the executor on a reshaping layer's context when its input
        # gradient is a view of its output gradient's buffer: nothing to copy.
        self.gradient_shared = False
        # Set by the Trainer for one training step on the context of a
        # layer whose backward kernel takes the optimizer's step itself
        # (Dense: _backend.dense_backward_adam's `step`); the layer sets it
        # back to None once taken.
        self.optimizer_step: tuple | None = None
        self._buffers: dict[str, np.ndarray] = {}

    def buffer(self, name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """A scratch array of `shape` kept under `name` for this call site."""
        size = math.prod(shape)  # np.prod costs microseconds per call
        buffer = self._buffers.get(name)
        if buffer is None or buffer.size < size or buffer.dtype != dtype:
            buffer = self._buffers[name] = _backend.aligned_empty(size, dtype)
        return buffer[:size].reshape(shape)


def missing_context_message(layer: Any, ctx: CallContext, where: str) -> str:
    """Why ``layer.backward`` cannot run: forward was never called, or the
    layer's ``_forward`` did not record what backward needs on its context."""
    if not getattr(ctx, "forward_ran", False):
        return f"{where}: call forward before backward"
    missing = " and ".join(
        f"ctx.{n}" for n in ("input", "output") if getattr(ctx, n) is None
    )
    return (
        f"{where}: forward ran, but {type(layer).__name__}._forward did not record "
        f"{missing}, which backward needs; a layer's _forward must store on its "
        "ctx everything its _backward reads (CONTRIBUTING.md, 'add a layer')"
    )
