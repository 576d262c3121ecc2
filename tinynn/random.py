"""``tf.random.set_seed``: seeds tinynn's generator (and Python's and NumPy's)."""

from __future__ import annotations

from ._random import set_seed

__all__ = ["set_seed"]
