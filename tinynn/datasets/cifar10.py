"""CIFAR-10 (Alex Krizhevsky, 2009): 50,000 training and 10,000 test colour
images 32x32 in 10 classes. ``load_data`` as in tf.keras, read from the
official binary archive (cifar-10-binary.tar.gz), never from pickles.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._cifar import read_records
from ._fetch import fetch

__all__ = ["load_data"]

_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"  # published on the CIFAR page
_FOLDER = "cifar-10-batches-bin"


def load_data(
    path: Any = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``((x_train, y_train), (x_test, y_test))``: uint8 images of shape
    (n, 32, 32, 3) (channels last) and uint8 labels of shape (n, 1), in
    the files' order, as Keras returns them.

    `path`: the cifar-10-binary.tar.gz (else looked for in
    ``$TINYNN_DATASETS/cifar10/`` and ``~/.tinynn/datasets/cifar10/``, then
    downloaded and md5-checked).
    """
    where = "cifar10.load_data"
    archive = fetch("cifar10", "cifar-10-binary.tar.gz", _URL, _MD5, path)
    parts = [
        read_records(archive, f"{_FOLDER}/data_batch_{i}.bin", 1, where)
        for i in range(1, 6)
    ]
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    x_test, y_test = read_records(archive, f"{_FOLDER}/test_batch.bin", 1, where)
    return (x_train, y_train), (x_test, y_test)
