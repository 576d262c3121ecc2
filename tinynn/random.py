"""``tf.random``: ``set_seed`` seeds tinynn's generator (and Python's and
NumPy's); ``normal`` and ``uniform`` draw Tensors from it (or from `seed`)."""

from __future__ import annotations

from ._random import set_seed
from .tensor import random_normal as normal, random_uniform as uniform

__all__ = ["generator", "normal", "set_seed", "uniform"]


def generator():
    """tinynn's random generator (a numpy.random.Generator), reseeded by set_seed.

    Draw from it in hand-written training loops (e.g. ``generator().permutation(n)``
    to shuffle) to get the same random stream ``Sequential.fit`` uses.
    """
    from . import _random

    return _random.generator()
