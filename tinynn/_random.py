"""The library's own random generator, so that set_seed makes runs repeatable.

Every source of randomness in tinynn (initializers, dropout masks, shuffling)
draws from `generator()`; `set_seed` replaces it with a freshly seeded one.
"""

from __future__ import annotations

import random
import numbers

import numpy as np

_generator = np.random.default_rng()


def generator() -> np.random.Generator:
    """The generator every tinynn component draws from."""
    return _generator


def set_seed(seed: int) -> None:
    """Seed tinynn, Python's `random` and NumPy's global generator.

    The same seed gives the same initial weights, dropout masks, shuffling
    and therefore the same trained weights at a fixed thread count.

    Parameters
    ----------
    seed : int
        A non-negative integer.

    Raises
    ------
    TypeError
        If `seed` is not an integer.
    ValueError
        If `seed` is negative.
    """
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"set_seed: seed must be an integer; got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"set_seed: seed must be >= 0; got {seed}")
    seed = int(seed)
    _generator = np.random.default_rng(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
