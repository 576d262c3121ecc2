"""Fashion-MNIST (Zalando Research, MIT licence): 28x28 grey images of ten
kinds of clothing, in MNIST's format. Labels: 0 T-shirt/top, 1 Trouser,
2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.
"""

from __future__ import annotations

from typing import Any

from ._loader import Data, Dataset, load

__all__ = ["CLASS_NAMES", "load_data"]

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

# MD5 sums of the DECOMPRESSED files, because copies are re-compressed:
# Debian's dataset-fashion-mnist gzip files differ from the official ones
# (official gzip MD5s 8d4fb7e6..., 25c81989..., bef4ecab..., bb300cfd...)
# while their contents agree; these sums were computed from those contents.
FASHION_MNIST = Dataset(
    name="fashion-mnist",
    url="https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    md5={
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    },
    md5_of_decompressed=True,
    system_folders=("/usr/share/datasets/fashion-mnist",),
    aliases=("fashion_mnist",),
)


def load_data(path: Any = None) -> Data:
    """``((x_train, y_train), (x_test, y_test))``, uint8, shapes as MNIST's.

    Looks in `path` alone when given; otherwise in
    ``$TINYNN_DATASETS/fashion-mnist/``, ``~/.tinynn/datasets/fashion-mnist/``,
    Debian's ``/usr/share/datasets/fashion-mnist/`` (``apt-get install
    dataset-fashion-mnist``), then downloads and verifies the official files.
    """
    return load(FASHION_MNIST, path)
