"""SpatialDropout2D: dropout of whole channels of channels_last images."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _random, registry
from .._checks import real_number
from ._shapes import call_state, channels_last, grown
from .base import Layer


@registry.register("layer")
class SpatialDropout2D(Layer):
    """In training, zero each channel of each sample with probability `rate`
    (the whole height x width map at once) and scale the kept ones by
    1 / (1 - rate); identity at inference. Input (batch, height, width,
    channels). Masks come from tinynn's generator (``tinynn.set_seed``), or
    from the layer's own when `seed` is given."""

    def __init__(
        self,
        rate: float,
        data_format: str | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.rate = real_number(
            rate, "SpatialDropout2D", "rate", low=0.0, high=1.0, high_open=True
        )
        self.data_format = channels_last(data_format, "SpatialDropout2D")
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def _build(self, features):
        if len(features) != 3:
            raise ValueError(
                f"SpatialDropout2D {self.name!r}: expected input of shape (batch, "
                f"height, width, channels); got (batch, "
                f"{', '.join(map(str, features))})"
            )

    def _forward(self, x, training, out, ctx=None):
        state = call_state(self, ctx)
        state.input, state.output = x, out
        self._last_input, self._last_output = x, out
        state.dropped = bool(training) and self.rate > 0
        if not state.dropped:
            np.copyto(out, x)
            return out
        # One draw per sample and channel, broadcast over height and width.
        shape = (len(x), 1, 1, x.shape[-1])
        mask = grown(state, "mask", shape, x.dtype)
        keep = grown(state, "keep", shape, bool)
        rng = self._rng or _random.generator()
        rng.random(out=mask, dtype=mask.dtype)
        np.greater_equal(mask, self.rate, out=keep)
        np.multiply(keep, 1.0 / (1.0 - self.rate), out=mask)
        np.multiply(x, mask, out=out)
        return out

    def _backward(self, dy, dx, ctx=None, accumulate=False):
        if dx is None:
            return None
        state = call_state(self, ctx)
        if state.dropped:
            np.multiply(
                dy,
                state.mask.reshape(-1)[: len(dy) * dy.shape[-1]].reshape(
                    len(dy), 1, 1, dy.shape[-1]
                ),
                out=dx,
            )
        else:
            np.copyto(dx, dy)
        return dx

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, seed=self.seed, data_format=self.data_format)
        return config
