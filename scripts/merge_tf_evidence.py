"""What real TensorFlow does for Keras's merge layers: the evidence behind
docs/merge-kernels.md and the tie table in tests/test_merge_kernels.py.

Run with TensorFlow, Keras 3 and tf_keras installed (CI's Keras venv), from any
folder:

    TF_CPP_MIN_LOG_LEVEL=3 python scripts/merge_tf_evidence.py

It prints, for Keras 3 ("K3") and tf_keras 2 ("K2"), in float64:
- Maximum / Minimum on columns with ties, signed zeros and NaNs: the output and
  which input each column's dy (1, 2, ..., 12) went to;
- whether Average computes sum / n or sum * (1 / n), forward and backward;
- Dot(axes=1, normalize=True) near the l2-normalization's epsilon.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
import tf_keras

np.set_printoptions(precision=17)
NAN = np.nan
COLUMNS = [
    [1.0, 1.0, 1.0, 2.0, 1.0, 0.0, NAN, 1.0, 1.0, NAN, -0.0, 0.0],
    [1.0, 1.0, 2.0, 1.0, 2.0, 0.0, 1.0, NAN, 1.0, NAN, 0.0, -0.0],
    [1.0, 2.0, 1.0, 1.0, 2.0, 0.0, 1.0, 1.0, NAN, 1.0, 0.0, 0.0],
]
KERAS = (("K3", keras), ("K2", tf_keras))


def grads(layer, xs, dy):
    """The layer's output and the gradients of <output, dy> for each input."""
    ts = [tf.constant(x) for x in xs]
    with tf.GradientTape() as tape:
        for t in ts:
            tape.watch(t)
        y = layer(ts)
    g = tape.gradient(y, ts, output_gradients=tf.constant(dy))
    return y.numpy(), [gi.numpy() for gi in g]


def ties():
    xs = [np.array([row]) for row in COLUMNS]
    dy = np.arange(1.0, 13.0).reshape(1, 12)
    for name, mod in KERAS:
        for cls, count in (("Maximum", 3), ("Minimum", 3), ("Maximum", 2)):
            layer = getattr(mod.layers, cls)(dtype="float64")
            y, g = grads(layer, xs[:count], dy)
            print(name, cls, f"{count} inputs, out", y[0])
            for i, gi in enumerate(g):
                print(f"   d x{i}", gi[0])
    print("tf.maximum(nan, 1) =", tf.maximum(tf.constant(NAN), 1.0).numpy())
    print("tf.maximum(1, nan) =", tf.maximum(tf.constant(1.0), NAN).numpy())


def average():
    rng = np.random.default_rng(0)
    for n in (2, 3, 5, 6, 7):
        xs = [rng.standard_normal((64, 37)) for _ in range(n)]
        dy = rng.standard_normal((64, 37))
        total = xs[0].copy()
        for x in xs[1:]:
            total = total + x
        for name, mod in KERAS:
            y, g = grads(mod.layers.Average(dtype="float64"), xs, dy)
            print(
                name,
                f"Average n={n}:",
                "out == sum / n:",
                np.array_equal(y, total / n),
                "out == sum * (1 / n):",
                np.array_equal(y, total * (1.0 / n)),
                "dx == dy / n:",
                all(np.array_equal(gi, dy / n) for gi in g),
                "dx == dy * (1 / n):",
                all(np.array_equal(gi, dy * (1.0 / n)) for gi in g),
            )


def dot():
    for name, mod in KERAS:
        for s in (1e-3, 1e-6, 1e-6 * 0.999, 1e-7, 5e-8, 1e-8):
            a, b = np.array([[s, 0.0]]), np.array([[1.0, 1.0]])
            layer = mod.layers.Dot(axes=1, normalize=True, dtype="float64")
            y, g = grads(layer, [a, b], np.array([[1.0]]))
            print(name, f"Dot normalize x0=[[{s:g}, 0]], x1=[[1, 1]]: out", y.ravel())
            print("   dx0", g[0].ravel(), "dx1", g[1].ravel())


if __name__ == "__main__":
    print("tensorflow", tf.__version__, "keras", keras.__version__)
    ties()
    average()
    dot()
