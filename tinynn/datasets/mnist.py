"""MNIST handwritten digits (Yann LeCun, Corinna Cortes, Christopher J.C.
Burges; CC BY-SA 3.0): ``load_data`` as in tf.keras, plus a small sample that
ships with tinynn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ._loader import Data, Dataset, find_local, load, search

__all__ = [
    "find_data",
    "load_data",
    "load_data_or_sample",
    "load_sample",
    "search_data",
]

# Mirrors re-compress the files, so the checksums are over the decompressed
# bytes (the official values; see ../shared/datasets/mnist/README.md).
MNIST = Dataset(
    name="mnist",
    url="https://ossci-datasets.s3.amazonaws.com/mnist/",
    md5={
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    },
    md5_of_decompressed=True,
)

SAMPLE = Path(__file__).resolve().parent / "data" / "mnist_sample.npz"


def load_data(path: Any = None) -> Data:
    """``((x_train, y_train), (x_test, y_test))``: uint8 arrays of shapes
    (60000, 28, 28), (60000,), (10000, 28, 28), (10000,).

    Parameters
    ----------
    path : str or path-like, optional
        A folder with the four IDX files (gzip or raw), or a Keras
        ``mnist.npz``; used alone when given (a bare ``"mnist.npz"``, Keras's
        cache name, reads ``~/.keras/datasets/mnist.npz`` if Keras left one
        there, else searches as without `path`). Otherwise tinynn looks in
        ``$TINYNN_DATASETS/mnist/``, ``../shared/datasets/mnist/`` (from the
        current folder and from the clone), ``~/.tinynn/datasets/mnist/``,
        and finally downloads the files, checks their MD5 sums and caches
        them there. A folder that is incomplete or damaged is passed over;
        the error names every folder read and why it was rejected.

    Raises
    ------
    FileNotFoundError
        When the files are nowhere and cannot be downloaded; the message
        says where to put them.
    ValueError
        For a truncated, damaged or foreign file.
    """
    return load(MNIST, path)


def load_sample() -> Data:
    """6,000 training and 1,000 test digits shipped inside tinynn (same
    structure and dtypes as load_data), for quick runs with no data on disk."""
    with np.load(SAMPLE, allow_pickle=False) as archive:
        return (
            (archive["x_train"], archive["y_train"]),
            (archive["x_test"], archive["y_test"]),
        )


def find_data(roots: Sequence[Any] = ()) -> tuple[Path | None, list[Path]]:
    """Where full MNIST is on disk, never downloading: (the first folder holding
    the four files, or None; every folder looked in, in order).

    The order is ``$TINYNN_DATASETS/mnist/``, ``<root>/mnist/`` for each of
    `roots` (dataset folders such as ``../shared/datasets``), then
    ``~/.tinynn/datasets/mnist/``.
    """
    return find_local(MNIST, roots)


def search_data(download: bool = False):
    """(data, the folder it came from, [(folder, why it was passed over)]),
    in load_data's order (which the main job and the notebooks share);
    raises FileNotFoundError/ValueError naming every folder read and why
    it was rejected. Downloads only with `download`."""
    return search(MNIST, download=download)


def load_data_or_sample() -> tuple[Data, bool]:
    """(full MNIST if it is on disk, else the bundled sample; is_sample).
    Never downloads."""
    try:
        return load(MNIST, download=False), False
    except (FileNotFoundError, ValueError):
        return load_sample(), True
