"""Make mnist_sample.npz: the first 6,000 training and 1,000 test digits of
MNIST, compressed. Run from the repository root with the IDX files in
../shared/datasets/mnist (or pass their folder):

    python scripts/make_mnist_sample.py [mnist-folder]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from tinynn.datasets import mnist

folder = sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets/mnist"
(x_train, y_train), (x_test, y_test) = mnist.load_data(folder)
np.savez_compressed(
    Path(__file__).resolve().parents[1]
    / "tinynn"
    / "datasets"
    / "data"
    / "mnist_sample.npz",
    x_train=x_train[:6000],
    y_train=y_train[:6000],
    x_test=x_test[:1000],
    y_test=y_test[:1000],
)
