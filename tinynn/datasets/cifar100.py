"""CIFAR-100 (Alex Krizhevsky, 2009): 50,000 training and 10,000 test colour
images 32x32 in 100 fine classes grouped in 20 coarse ones. ``load_data``
as in tf.keras, read from the official binary archive
(cifar-100-binary.tar.gz), never from pickles.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._cifar import read_records
from ._fetch import fetch

__all__ = ["load_data"]

_URL = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"
_MD5 = "03b5dce01913d631647c71ecec9e9cb8"  # published on the CIFAR page
_FOLDER = "cifar-100-binary"


def load_data(
    label_mode: str = "fine", path: Any = None
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``((x_train, y_train), (x_test, y_test))``: uint8 images (n, 32, 32, 3)
    and uint8 labels (n, 1): the 100 fine classes (``label_mode='fine'``)
    or the 20 coarse ones ('coarse')."""
    where = "cifar100.load_data"
    if label_mode not in ("fine", "coarse"):
        raise ValueError(
            f'{where}: `label_mode` must be one of `"fine"`, `"coarse"`. Received: '
            f"label_mode={label_mode}."
        )
    archive = fetch("cifar100", "cifar-100-binary.tar.gz", _URL, _MD5, path)
    column = 1 if label_mode == "fine" else 0  # each record: coarse, fine, pixels
    out = []
    for part in ("train", "test"):
        x, labels = read_records(archive, f"{_FOLDER}/{part}.bin", 2, where)
        out.append((x, labels[:, column : column + 1].copy()))
    return out[0], out[1]
