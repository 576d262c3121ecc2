"""Boston housing prices (Harrison & Rubinfeld, 1978; the Carnegie Mellon
StatLib copy): 506 districts, 13 features, the median home value in
k$. ``load_data`` as in tf.keras (Keras's boston_housing.npz, read with
``allow_pickle=False``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._fetch import fetch

__all__ = ["load_data"]

_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/boston_housing.npz"
_SHA256 = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(
    path: Any = "boston_housing.npz", test_split: float = 0.2, seed: int = 113
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``((x_train, y_train), (x_test, y_test))``: float64 features (n, 13)
    and prices (n,), shuffled with ``RandomState(seed)``; the last
    `test_split` of the rows (102 of 506 by default) are the test set."""
    where = "boston_housing.load_data"
    if not 0 <= test_split < 1:
        raise ValueError(f"{where}: test_split must be in [0, 1); got {test_split!r}")
    file = fetch("boston_housing", "boston_housing.npz", _URL, _SHA256, path)
    try:
        with np.load(file, allow_pickle=False) as archive:
            x, y = archive["x"], archive["y"]
    except KeyError as exc:
        raise ValueError(f"{where}: {file} lacks the array {exc}") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{where}: {file} is not a readable .npz ({exc})") from None
    if len(x) != len(y):
        raise ValueError(f"{where}: {file} holds {len(x)} rows of x but {len(y)} of y")
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    n = int(len(x) * (1 - test_split))
    return (x[:n], y[:n]), (x[n:], y[n:])
