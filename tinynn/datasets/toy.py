"""The one-neuron article's data: six samples of three binary features whose
label is the first feature."""

from __future__ import annotations

import numpy as np

__all__ = ["load_data"]


def load_data() -> tuple[np.ndarray, np.ndarray]:
    """(inputs (6, 3), outputs (6, 1)), float64, in the article's order."""
    inputs = np.array(
        [[0, 1, 0], [0, 1, 1], [0, 0, 0], [1, 0, 0], [1, 1, 1], [1, 0, 1]],
        dtype=np.float64,
    )
    return inputs, inputs[:, :1].copy()
