"""Robustness: a generated catalogue of bad calls (each in a forked child, so
a crash is caught), Hypothesis property tests of the kernels, leak checks,
and concurrent training in two Python threads.

The catalogue is not forked from the pytest process: by the time it runs,
earlier tests have started kernel worker threads there, and forking a process
that has threads can deadlock the child (Python 3.12+ warns about it). A fresh
interpreter with no worker threads (TINYNN_NUM_THREADS=1 for tinynn's pool,
OMP_NUM_THREADS=1 for NumPy's OpenBLAS)
forks one child per case and reports every outcome; the tests below check
those outcomes case by case.
"""

from __future__ import annotations

import json
import functools
import os
import pickle
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import zipfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import reference as ref
import tinynn
import tinynn as tf
from tinynn import _core

ALLOWED = (TypeError, ValueError, RuntimeError, OSError)


# ---- the catalogue -------------------------------------------------------------------
def f64(*shape, fill=0.5):
    return np.full(shape, fill)


# Each entry: function name, valid arguments (arrays), names, which are outputs,
# which may be None.
CORE = [
    ("gemm", lambda: [f64(3, 4), f64(4, 5), f64(3, 5)], ["a", "b", "c"], {2}, set()),
    (
        "dense_forward",
        lambda: [f64(3, 4), f64(4, 5), f64(5), f64(3, 5)],
        ["x", "w", "b", "y"],
        {3},
        {2},
    ),
    (
        "dense_backward",
        lambda: [f64(3, 4), f64(4, 5), f64(3, 5), f64(3, 4), f64(4, 5), f64(5)],
        ["x", "w", "dy", "dx", "dw", "db"],
        {3, 4, 5},
        {3, 5},
    ),
    (
        "dense_backward_adam",
        lambda: [
            f64(3, 4),
            f64(4, 5),
            f64(5),
            f64(3, 5),
            f64(3, 4),
            f64(4, 5),
            f64(5),
            f64(4, 5),
            f64(4, 5),
            None,
            f64(5),
            f64(5),
            None,
        ],  # fmt: skip
        [
            "x",
            "w",
            "b",
            "dy",
            "dx",
            "dw",
            "db",
            "m_w",
            "v_w",
            "vhat_w",
            "m_b",
            "v_b",
            "vhat_b",
        ],  # fmt: skip
        {1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12},
        {4},  # b, db, m_b, v_b may be None only all together
    ),
    ("relu_forward", lambda: [f64(3, 4), f64(3, 4)], ["x", "y"], {1}, set()),
    (
        "sigmoid_backward",
        lambda: [f64(3, 4), f64(3, 4), f64(3, 4)],
        ["y", "dy", "dx"],
        {2},
        set(),
    ),
    ("softmax_forward", lambda: [f64(3, 4), f64(3, 4)], ["x", "y"], {1}, set()),
    ("leaky_relu_forward", lambda: [f64(3, 4), f64(3, 4)], ["x", "y"], {1}, set()),
    (
        "elu_backward",
        lambda: [f64(3, 4), f64(3, 4), f64(3, 4)],
        ["y", "dy", "dx"],
        {2},
        set(),
    ),
    (
        "gelu_backward",
        lambda: [f64(3, 4), f64(3, 4), f64(3, 4)],
        ["x", "dy", "dx"],
        {2},
        set(),
    ),
    (
        "relu_clip_backward",
        lambda: [f64(3, 4), f64(3, 4), f64(3, 4)],
        ["x", "dy", "dx"],
        {2},
        set(),
    ),
    (
        "rescale_forward",
        lambda: [f64(3, 4), f64(4), f64(4), f64(3, 4)],
        ["x", "scale", "offset", "y"],
        {3},
        set(),
    ),
    (
        "huber",
        lambda: [f64(3, 4), f64(3, 4), f64(3, 4)],
        ["pred", "target", "dpred"],
        {2},
        {2},
    ),
    (
        "softmax_xent",
        lambda: [f64(3, 4), np.array([0, 1, 3]), f64(3, 4)],
        ["logits", "labels", "dlogits"],
        {2},
        {2},
    ),
    (
        "softmax_xent_dense",
        lambda: [f64(3, 4), f64(3, 4), f64(3, 4)],
        ["logits", "targets", "dlogits"],
        {2},
        {2},
    ),
    (
        "mse",
        lambda: [f64(3, 4), f64(3, 4), f64(3, 4)],
        ["pred", "target", "dpred"],
        {2},
        {2},
    ),
    (
        "bce",
        lambda: [f64(3, 4), f64(3, 4), f64(3, 4)],
        ["pred", "target", "dpred"],
        {2},
        {2},
    ),
    (
        "sigmoid_bce",
        lambda: [f64(3, 4), f64(3, 4), f64(3, 4)],
        ["logits", "target", "dlogits"],
        {2},
        {2},
    ),
    (
        "adam_update",
        lambda: [f64(7), f64(7), f64(7), f64(7), None],
        ["w", "g", "m", "v", "vhat"],
        {0, 2, 3, 4},
        {4},
    ),
    (
        "adamw_update",
        lambda: [f64(7), f64(7), f64(7), f64(7), None],
        ["w", "g", "m", "v", "vhat"],
        {0, 2, 3, 4},
        {4},
    ),
    (
        "adadelta_update",
        lambda: [f64(7), f64(7), f64(7), f64(7)],
        ["w", "g", "accumulated_grad", "accumulated_delta"],
        {0, 2, 3},
        set(),
    ),
    (
        "adamax_update",
        lambda: [f64(7), f64(7), f64(7), f64(7)],
        ["w", "g", "m", "u"],
        {0, 2, 3},
        set(),
    ),
    (
        "nadam_update",
        lambda: [f64(7), f64(7), f64(7), f64(7)],
        ["w", "g", "m", "v"],
        {0, 2, 3},
        set(),
    ),
    (
        "adagrad_update",
        lambda: [f64(7), f64(7), f64(7)],
        ["w", "g", "accumulator"],
        {0, 2},
        set(),
    ),
    (
        "sgd_update",
        lambda: [f64(7), f64(7), f64(7)],
        ["w", "g", "velocity"],
        {0, 2},
        set(),
    ),
    (
        "batchnorm_forward",
        lambda: [f64(3, 4), f64(4), f64(4), f64(4), f64(4), f64(3, 4), f64(4), f64(4)],
        [
            "x",
            "gamma",
            "beta",
            "moving_mean",
            "moving_variance",
            "y",
            "mean",
            "inv_std",
        ],
        {3, 4, 5, 6, 7},
        {1, 2},
    ),
    (
        "batchnorm_backward",
        lambda: [
            f64(3, 4),
            f64(4),
            f64(3, 4),
            f64(4),
            f64(4),
            f64(3, 4),
            f64(4),
            f64(4),
        ],
        ["x", "gamma", "dy", "mean", "inv_std", "dx", "dgamma", "dbeta"],
        {5, 6, 7},
        {1, 5},
    ),
    (
        "layernorm_forward",
        lambda: [f64(3, 4), f64(4), f64(4), f64(3, 4), f64(3), f64(3)],
        ["x", "gamma", "beta", "y", "mean", "inv_std"],
        {3, 4, 5},
        {1, 2},
    ),
    (
        "layernorm_backward",
        lambda: [
            f64(3, 4),
            f64(4),
            f64(3, 4),
            f64(3),
            f64(3),
            f64(3, 4),
            f64(4),
            f64(4),
        ],
        ["x", "gamma", "dy", "mean", "inv_std", "dx", "dgamma", "dbeta"],
        {5, 6, 7},
        {1, 5},
    ),
    (
        "prelu_forward",
        lambda: [f64(3, 4, 2), f64(4), f64(3, 4, 2)],
        ["x", "alpha", "y"],
        {2},
        set(),
    ),
    (
        "prelu_backward",
        lambda: [f64(3, 4, 2), f64(4), f64(3, 4, 2), f64(3, 4, 2), f64(4)],
        ["x", "alpha", "dy", "dx", "dalpha"],
        {3, 4},
        {3},
    ),
    (
        "max_pool2d_forward",
        lambda: [f64(2, 5, 5, 3), f64(2, 2, 2, 3), np.zeros((2, 2, 2, 3), np.int32)],
        ["x", "y", "argmax"],
        {1, 2},
        {2},
    ),
    (
        "max_pool2d_backward",
        lambda: [f64(2, 2, 2, 3), np.zeros((2, 2, 2, 3), np.int32), f64(2, 5, 5, 3)],
        ["dy", "argmax", "dx"],
        {2},
        set(),
    ),
    (
        "avg_pool2d_forward",
        lambda: [f64(2, 5, 5, 3), f64(2, 2, 2, 3)],
        ["x", "y"],
        {1},
        set(),
    ),
    (
        "avg_pool2d_backward",
        lambda: [f64(2, 2, 2, 3), f64(2, 5, 5, 3)],
        ["dy", "dx"],
        {1},
        set(),
    ),
    ("global_pool_forward", lambda: [f64(3, 4, 2), f64(3, 2)], ["x", "y"], {1}, set()),
    (
        "global_max_pool_backward",
        lambda: [f64(3, 4, 2), f64(3, 2), f64(3, 2), f64(3, 4, 2)],
        ["x", "y", "dy", "dx"],
        {3},
        set(),
    ),
    ("pad2d", lambda: [f64(2, 3, 3, 1), f64(2, 5, 5, 1)], ["x", "y"], {1}, set()),
    ("crop2d", lambda: [f64(2, 5, 5, 1), f64(2, 3, 3, 1)], ["x", "y"], {1}, set()),
    (
        "upsample2d_backward",
        lambda: [f64(2, 4, 6, 1), f64(2, 2, 3, 1)],
        ["dy", "dx"],
        {1},
        set(),
    ),
    (
        "embedding_forward",
        lambda: [np.array([[0, 1], [2, 1]]), f64(3, 4), f64(2, 2, 4)],
        ["ids", "table", "y"],
        {2},
        set(),
    ),
    (
        "embedding_backward",
        lambda: [np.array([[0, 1], [2, 1]]), f64(2, 2, 4), f64(3, 4)],
        ["ids", "dy", "dtable"],
        {2},
        set(),
    ),
    # merge kernels taking single arrays (those taking lists of arrays have
    # their bad calls in tests/test_merge_kernels.py)
    (
        "merge_subtract",
        lambda: [f64(3, 4), f64(3, 4), f64(3, 4)],
        ["x0", "x1", "out"],
        {2},
        set(),
    ),
    (
        "merge_subtract_backward",
        lambda: [f64(3, 4), f64(3, 4), f64(3, 4)],
        ["dy", "dx0", "dx1"],
        {1, 2},
        {1, 2},
    ),
    ("scale", lambda: [f64(3, 4), f64(3, 4)], ["x", "out"], {1}, set()),
    ("uniform_pcg64", lambda: [f64(3, 4)], ["out"], {0}, set()),
    (
        "dropout_forward",
        lambda: [f64(3, 4), f64(3, 4), f64(3, 4)],
        ["mask", "x", "out"],
        {0, 2},
        set(),
    ),
    (
        "dropout_pcg64",
        lambda: [f64(3, 4), f64(3, 4), f64(3, 4)],
        ["mask", "x", "out"],
        {0, 2},
        set(),
    ),
    ("dot", lambda: [f64(3, 4), f64(3, 4), f64(3, 1)], ["x0", "x1", "out"], {2}, set()),
    (
        "dot_backward",
        lambda: [f64(3, 4), f64(3, 4), f64(3, 1), f64(3, 4), f64(3, 4)],
        ["x0", "x1", "dy", "dx0", "dx1"],
        {3, 4},
        {3, 4},
    ),
    (
        "batch_dot",
        lambda: [f64(2, 3, 4), f64(2, 5, 4), f64(2, 3, 5)],
        ["x0", "x1", "out"],
        {2},
        set(),
    ),
    (
        "batch_dot_backward",
        lambda: [f64(2, 3, 4), f64(2, 5, 4), f64(2, 3, 5), f64(2, 3, 4), f64(2, 5, 4)],
        ["x0", "x1", "dy", "dx0", "dx1"],
        {3, 4},
        {3, 4},
    ),
]
CORE += [
    (
        "conv2d_forward",
        lambda: [f64(2, 5, 4, 3), f64(3, 2, 3, 4), f64(4), f64(2, 3, 3, 4)],
        ["x", "w", "b", "y"],
        {3},
        {2},
    ),
    (
        "conv2d_backward",
        lambda: [
            f64(2, 5, 4, 3),
            f64(3, 2, 3, 4),
            f64(2, 3, 3, 4),
            f64(2, 5, 4, 3),
            f64(3, 2, 3, 4),
            f64(4),
        ],
        ["x", "w", "dy", "dx", "dw", "db"],
        {3, 4, 5},
        {3, 5},
    ),
    (
        "conv2d_transpose_forward",
        lambda: [f64(2, 3, 3, 4), f64(3, 2, 3, 4), f64(3), f64(2, 5, 4, 3)],
        ["x", "w", "b", "y"],
        {3},
        {2},
    ),
    (
        "conv2d_transpose_backward",
        lambda: [
            f64(2, 3, 3, 4),
            f64(3, 2, 3, 4),
            f64(2, 5, 4, 3),
            f64(2, 3, 3, 4),
            f64(3, 2, 3, 4),
            f64(3),
        ],
        ["x", "w", "dy", "dx", "dw", "db"],
        {3, 4, 5},
        {3, 5},
    ),
]


def _cells_argmax():
    """A valid argmax of 1x1 windows over a (2, 3, 3, 4) output: each cell."""
    cells = np.arange(9, dtype=np.int32).reshape(1, 3, 3, 1)
    return np.ascontiguousarray(np.broadcast_to(cells, (2, 3, 3, 4)))


CORE += [
    (
        "conv2d_maxpool_forward",
        lambda: [
            f64(2, 5, 4, 3),
            f64(3, 2, 3, 4),
            f64(4),
            f64(2, 3, 3, 4),
            np.zeros((2, 3, 3, 4), np.int32),
        ],
        ["x", "w", "b", "y", "argmax"],
        {3, 4},
        {2, 4},
    ),
    (
        "conv2d_maxpool_backward",
        lambda: [
            f64(2, 5, 4, 3),
            f64(2, 3, 3, 4),
            f64(2, 3, 3, 4),
            _cells_argmax(),
            f64(3, 2, 3, 4),
            f64(4),
        ],
        ["x", "dy", "y", "argmax", "dw", "db"],
        {4, 5},
        {5},
    ),
]
CONV_GEOMETRY = [(1, 1), (1, 1), (0, 0, 0, 0)]  # strides, dilation, padding
SCALARS = {
    "conv2d_forward": CONV_GEOMETRY,
    "conv2d_backward": CONV_GEOMETRY,
    "conv2d_transpose_forward": CONV_GEOMETRY,
    "conv2d_transpose_backward": CONV_GEOMETRY,
    "conv2d_maxpool_forward": [*CONV_GEOMETRY, (1, 1)],
    "conv2d_maxpool_backward": [*CONV_GEOMETRY, (1, 1)],
    "max_pool2d_forward": [2, 2, 2, 2, 0, 0],
    "avg_pool2d_forward": [2, 2, 2, 2, 0, 0],
    "avg_pool2d_backward": [2, 2, 2, 2, 0, 0],
    "global_pool_forward": [False],
    "pad2d": [1, 1],
    "crop2d": [1, 1],
    "layernorm_forward": [1e-3],
    "adam_update": [0.001, 0.9, 0.999, 1e-7, 1],
    "dense_backward_adam": [0.001, 0.9, 0.999, 1e-7, 1],
    "adagrad_update": [0.001, 1e-7],
    "adamw_update": [0.001, 0.9, 0.999, 1e-7, 1, 0.004],
    "adadelta_update": [0.001, 0.95, 1e-7],
    "adamax_update": [0.001, 0.9, 0.999, 1e-7, 1],
    "nadam_update": [0.001, 0.9, 0.999, 1e-7, 1, 0.45],
    "sgd_update": [0.1, 0.9, False],
    "batchnorm_forward": [0.99, 1e-3, True],
    "batchnorm_backward": [True],
    "scale": [-1.0],
    "dropout_forward": [0.5],
    "uniform_pcg64": [1, 2, 3, 5, False, 0],
    "dropout_pcg64": [0.5, 1, 2, 3, 5, False, 0],
}


def mutations(array):
    """(label, bad replacement) for one array argument."""
    if array is None:
        return [("list", [0.5] * 7)]
    shape = array.shape
    out = [
        ("int64", array.astype(np.int64)),
        ("bool", array.astype(bool)),
        ("float16", array.astype(np.float16)),
        ("object", array.astype(object)),
        ("float32 among float64", array.astype(np.float32)),
        ("None", None),
        ("list", array.tolist()),
        ("scalar", 1.0),
        ("extra dim", array[None]),
        ("wrong size", np.resize(array, (shape[0] + 1,) + shape[1:])),
        ("byte-swapped", array.astype(array.dtype.newbyteorder())),
    ]
    if array.ndim == 2 and shape[1] > 1:
        out.append(("non-contiguous", np.ones((shape[0], shape[1] * 2))[:, ::2]))
        out.append(("transposed", np.ascontiguousarray(array.T).T))
    if array.ndim >= 1 and shape[0] > 1:
        out.append(("reversed", np.ones(shape)[::-1]))
    return out


INTEGER_ARGS = {
    ("max_pool2d_forward", "argmax"),
    ("max_pool2d_backward", "argmax"),
    ("conv2d_maxpool_forward", "argmax"),
    ("conv2d_maxpool_backward", "argmax"),
    ("embedding_forward", "ids"),
    ("embedding_backward", "ids"),
}


def core_cases():
    cases = []
    for name, make, names, outputs, optional in CORE:
        for position in range(len(names)):
            for label, bad in mutations(make()[position]):
                if bad is None and position in optional:
                    continue  # None is valid there
                if name == "softmax_xent" and position == 1 and label in ("int64",):
                    continue  # integer labels are the valid kind
                if (name, names[position]) in INTEGER_ARGS and label == "int64":
                    continue  # integer ids and indices are the valid kind
                if names[position] in ("table", "dtable") and label == "wrong size":
                    continue  # one more row is a larger vocabulary: valid
                if name == "sgd_update" and position == 2 and label == "None":
                    continue  # velocity None is valid (momentum 0 is checked separately)
                if name.endswith("_update") and label == "extra dim":
                    continue  # updates treat any shape as flat, by design
                if name == "uniform_pcg64" and label in (
                    "extra dim",
                    "wrong size",
                    "float32 among float64",
                ):
                    continue  # draws fill one array of any shape and float dtype
                cases.append(
                    (
                        f"_core.{name}({names[position]}: {label})",
                        "core",
                        name,
                        position,
                        label,
                        names[position],
                    )
                )
            if position in outputs and make()[position] is not None:
                cases.append(
                    (
                        f"_core.{name}({names[position]}: read-only)",
                        "core",
                        name,
                        position,
                        "read-only",
                        names[position],
                    )
                )
    return cases


def run_core_case(name, position, label):
    entry = next(e for e in CORE if e[0] == name)
    args = entry[1]()
    original = args[position]
    if label == "read-only":
        original = original.copy()
        original.flags.writeable = False
        args[position] = original
    else:
        args[position] = dict(mutations(original))[label]
    getattr(_core, name)(*args, *SCALARS.get(name, []))


def model():
    m = tf.keras.Sequential(
        [tf.keras.layers.Dense(3, activation="softmax", input_shape=(4,))]
    )
    m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    return m


X, Y = np.ones((6, 4)), np.array([0, 1, 2, 0, 1, 2])
IDS = np.array([[0, 1, 4], [2, 3, 3], [1, 1, 0], [4, 4, 4], [0, 0, 0], [3, 2, 1]])


def text_model():
    """Embedding (5 ids) -> pooling -> softmax, for the id checks."""
    layers = tf.keras.layers
    m = tf.keras.Sequential(
        [
            layers.Embedding(5, 2, input_length=3),
            layers.GlobalAveragePooling1D(),
            layers.Dense(3, activation="softmax"),
        ]
    )
    m.compile("adam", "sparse_categorical_crossentropy")
    return m


def _ids_with(value, dtype=np.int64):
    ids = IDS.astype(dtype)
    ids[3, 1] = value
    return ids


NAN_X = X.copy()
NAN_X[2, 1] = np.nan


# Damaged files of the catalogue live here (children write, the parent removes).
FILES = tempfile.mkdtemp(prefix="tinynn-catalogue-")


@pytest.fixture(scope="module", autouse=True)
def _remove_catalogue_files():
    yield
    shutil.rmtree(FILES, ignore_errors=True)


def saved(suffix, edit):
    """A trained model saved in a fresh folder, then damaged by edit(path)."""
    path = os.path.join(tempfile.mkdtemp(dir=FILES), "m" + suffix)
    m = model()
    m.fit(X, Y, verbose=0)
    m.save(path)
    edit(path)
    return path


def manifest_set(key, field, value):
    """An edit: set manifest[key][field] (field None: manifest[key]) in a .tnn zip."""

    def edit(path):
        with zipfile.ZipFile(path) as archive:
            members = {n: archive.read(n) for n in archive.namelist()}
        manifest = json.loads(members["tinynn.json"])
        if field is None:
            manifest[key] = value
        else:
            manifest[key][field] = value
        members["tinynn.json"] = json.dumps(manifest)
        with zipfile.ZipFile(path, "w") as archive:
            for name, payload in members.items():
                archive.writestr(name, payload)

    return edit


def first_kernel(root):
    """The first layer's weight group and kernel name (layer names depend on
    how many layers this process made before)."""
    text = lambda v: v.decode() if isinstance(v, bytes) else str(v)  # noqa: E731
    group = root["model_weights"]
    layer = text(group.attrs["layer_names"][0])
    return group[layer], text(group[layer].attrs["weight_names"][0])


def h5_flip_kernel_byte(path):
    import h5py

    with h5py.File(path, "r") as root:
        group, kernel = first_kernel(root)
        offset = group[kernel].id.get_chunk_info(0).byte_offset
    with open(path, "r+b") as f:
        f.seek(offset + 3)
        byte = f.read(1)[0]
        f.seek(offset + 3)
        f.write(bytes([byte ^ 1]))


def h5_huge_kernel(path):
    import h5py

    with h5py.File(path, "r+") as root:
        group, kernel = first_kernel(root)
        del group[kernel]
        group.create_dataset(kernel, (4, 2 * 10**9), "f4", chunks=(1, 4096))


def zip_inflated_member(path):
    """weights/0.npy becomes a valid header plus 64 MB of deflated zeros."""
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    head = members["weights/0.npy"]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, payload in members.items():
            if name != "weights/0.npy":
                archive.writestr(name, payload)
        with archive.open("weights/0.npy", "w", force_zip64=True) as out:
            out.write(head)
            for _ in range(16):
                out.write(bytes(2**22))


def npz_dataset(**arrays):
    path = os.path.join(tempfile.mkdtemp(dir=FILES), "d.npz")
    np.savez(path, **arrays)
    return path


def idx_folder(dims):
    """An MNIST folder whose train images declare `dims` with no payload."""
    folder = tempfile.mkdtemp(dir=FILES)
    header = struct.pack(">I3I", 0x803, *dims)
    labels = struct.pack(">II", 0x801, 1) + b"\x00"
    for stem, data in (
        ("train-images-idx3-ubyte", header),
        ("train-labels-idx1-ubyte", labels),
        ("t10k-images-idx3-ubyte", struct.pack(">I3I", 0x803, 1, 1, 1) + b"\x00"),
        ("t10k-labels-idx1-ubyte", labels),
    ):
        with open(os.path.join(folder, stem), "wb") as f:
            f.write(data)
    return folder


# (label, call, argument name expected in the message, or None when the call is
# valid after a documented conversion and must succeed)
API = [
    (
        "fit ids too large",
        lambda: text_model().fit(_ids_with(5), Y, verbose=0),
        "x[3, 1] = 5",
    ),
    (
        "fit ids negative",
        lambda: text_model().fit(_ids_with(-2), Y, verbose=0),
        "x[3, 1] = -2",
    ),
    (
        "predict ids int8 negative",
        lambda: text_model().predict(_ids_with(-1, np.int8), verbose=0),
        "x[3, 1] = -1",
    ),
    (
        "evaluate ids huge uint64",
        lambda: text_model().evaluate(_ids_with(2**63, np.uint64), Y, verbose=0),
        "x[3, 1]",
    ),
    (
        "fit ids NaN",
        lambda: text_model().fit(_ids_with(np.nan, float), Y, verbose=0),
        "x",
    ),
    ("fit ids strings", lambda: text_model().fit(IDS.astype(str), Y, verbose=0), "x"),
    (
        "fit ids uint8 (valid)",
        lambda: text_model().fit(IDS.astype(np.uint8), Y, verbose=0),
        None,
    ),
    (
        "fit ids float (valid)",
        lambda: text_model().fit(IDS.astype(float), Y, verbose=0),
        None,
    ),
    (
        "fit ids byte-swapped (valid)",
        lambda: text_model().fit(IDS.astype(">i4"), Y, verbose=0),
        None,
    ),
    (
        "Embedding mask_zero",
        lambda: tf.keras.layers.Embedding(5, 2, mask_zero=True),
        "mask",
    ),
    ("Embedding input_dim 0", lambda: tf.keras.layers.Embedding(0, 2), "input_dim"),
    (
        "MaxPooling2D channels_first",
        lambda: tf.keras.layers.MaxPooling2D(data_format="channels_first"),
        "channels_first",
    ),
    (
        "MaxPooling2D padding",
        lambda: tf.keras.layers.MaxPooling2D(padding="full"),
        "padding",
    ),
    ("MaxPooling2D pool 0", lambda: tf.keras.layers.MaxPooling2D(0), "pool_size"),
    (
        "AveragePooling1D strides",
        lambda: tf.keras.layers.AveragePooling1D(2, (1, 2)),
        "strides",
    ),
    (
        "MaxPooling2D pool larger than input",
        lambda: tf.keras.Sequential(
            [tf.keras.layers.MaxPooling2D(5, input_shape=(4, 4, 1))]
        ).build(),
        "pool",
    ),
    (
        "UpSampling2D bilinear",
        lambda: tf.keras.layers.UpSampling2D(interpolation="bilinear"),
        "interpolation",
    ),
    (
        "Cropping2D too much",
        lambda: tf.keras.layers.Cropping2D(2).build((None, 4, 4, 1)),
        "cropping",
    ),
    ("ZeroPadding2D negative", lambda: tf.keras.layers.ZeroPadding2D(-1), "padding"),
    ("SpatialDropout2D rate 1", lambda: tf.keras.layers.SpatialDropout2D(1.0), "rate"),
    ("fit x None", lambda: model().fit(None, Y, verbose=0), "x"),
    ("fit x strings", lambda: model().fit(np.full((6, 4), "a"), Y, verbose=0), "x"),
    ("fit x object", lambda: model().fit(np.array([object()] * 6), Y, verbose=0), "x"),
    ("fit x NaN", lambda: model().fit(NAN_X, Y, verbose=0), "x"),
    ("fit x Inf", lambda: model().fit(X * np.inf, Y, verbose=0), "x"),
    ("fit x wrong width", lambda: model().fit(np.ones((6, 5)), Y, verbose=0), "x"),
    ("fit x 1-D", lambda: model().fit(np.ones(6), Y, verbose=0), "x"),
    ("fit x empty", lambda: model().fit(np.ones((0, 4)), Y[:0], verbose=0), "x"),
    ("fit x ragged list", lambda: model().fit([[1, 2], [3]], Y, verbose=0), "x"),
    ("fit x list (valid)", lambda: model().fit(X.tolist(), Y, verbose=0), None),
    (
        "fit x uint8 (valid)",
        lambda: model().fit(X.astype(np.uint8), Y, verbose=0),
        None,
    ),
    (
        "fit x float16 (valid)",
        lambda: model().fit(X.astype(np.float16), Y, verbose=0),
        None,
    ),
    ("fit y None", lambda: model().fit(X, None, verbose=0), "y"),
    ("fit y negative", lambda: model().fit(X, -Y, verbose=0), "y"),
    ("fit y too large", lambda: model().fit(X, Y + 5, verbose=0), "y"),
    ("fit y fractional", lambda: model().fit(X, Y + 0.5, verbose=0), "y"),
    ("fit y NaN", lambda: model().fit(X, Y * np.nan, verbose=0), "y"),
    ("fit y wrong length", lambda: model().fit(X, Y[:4], verbose=0), "y"),
    ("fit y strings", lambda: model().fit(X, np.array(list("abcabc")), verbose=0), "y"),
    ("fit y bool", lambda: model().fit(X, Y > 0, verbose=0), "y"),
    ("fit y one-hot", lambda: model().fit(X, np.eye(3)[Y], verbose=0), "y"),
    ("fit y 3-D", lambda: model().fit(X, np.ones((6, 1, 1)), verbose=0), "y"),
    (
        "fit y float whole (valid)",
        lambda: model().fit(X, Y.astype(float), verbose=0),
        None,
    ),
    ("fit y list (valid)", lambda: model().fit(X, Y.tolist(), verbose=0), None),
    (
        "fit batch_size 0",
        lambda: model().fit(X, Y, batch_size=0, verbose=0),
        "batch_size",
    ),
    (
        "fit batch_size -1",
        lambda: model().fit(X, Y, batch_size=-1, verbose=0),
        "batch_size",
    ),
    (
        "fit batch_size 2.5",
        lambda: model().fit(X, Y, batch_size=2.5, verbose=0),
        "batch_size",
    ),
    (
        "fit batch_size str",
        lambda: model().fit(X, Y, batch_size="32", verbose=0),
        "batch_size",
    ),
    ("fit epochs -1", lambda: model().fit(X, Y, epochs=-1, verbose=0), "epochs"),
    ("fit epochs float", lambda: model().fit(X, Y, epochs=1.5, verbose=0), "epochs"),
    (
        "fit initial_epoch -1",
        lambda: model().fit(X, Y, initial_epoch=-1, verbose=0),
        "initial_epoch",
    ),
    (
        "fit validation_split 1.5",
        lambda: model().fit(X, Y, validation_split=1.5, verbose=0),
        "validation_split",
    ),
    (
        "fit validation_split -0.1",
        lambda: model().fit(X, Y, validation_split=-0.1, verbose=0),
        "validation_split",
    ),
    (
        "fit validation_split str",
        lambda: model().fit(X, Y, validation_split="x", verbose=0),
        "validation_split",
    ),
    (
        "fit validation_split leaves no training data",
        lambda: model().fit(X, Y, validation_split=0.9, verbose=0),
        "validation_split",
    ),
    (
        "fit validation_data 1-tuple",
        lambda: model().fit(X, Y, validation_data=(X,), verbose=0),
        "validation_data",
    ),
    (
        "fit validation_data int",
        lambda: model().fit(X, Y, validation_data=5, verbose=0),
        "validation_data",
    ),
    (
        "fit validation_data bad labels",
        lambda: model().fit(X, Y, validation_data=(X, Y + 9), verbose=0),
        "y",
    ),
    (
        "fit validation_data list (valid)",
        lambda: model().fit(X, Y, validation_data=[X, Y], verbose=0),
        None,
    ),
    ("fit verbose -1", lambda: model().fit(X, Y, verbose=-1), "verbose"),
    ("fit verbose str", lambda: model().fit(X, Y, verbose="loud"), "verbose"),
    ("fit shuffle str", lambda: model().fit(X, Y, shuffle="yes", verbose=0), "shuffle"),
    (
        "fit callbacks str",
        lambda: model().fit(X, Y, callbacks="stop", verbose=0),
        "callbacks",
    ),
    (
        "fit class_weight",
        lambda: model().fit(X, Y, class_weight={0: 2}, verbose=0),
        "class_weight",
    ),
    (
        "fit sample_weight short",
        lambda: model().fit(X, Y, sample_weight=np.ones(3), verbose=0),
        "sample_weight",
    ),
    (
        "fit sample_weight nan",
        lambda: model().fit(X, Y, sample_weight=np.full(len(X), np.nan), verbose=0),
        "sample_weight",
    ),
    ("fit unknown kwarg", lambda: model().fit(X, Y, epoch=2, verbose=0), "epoch"),
    (
        "fit before compile",
        lambda: tf.keras.Sequential([tf.keras.layers.Dense(2)]).fit(X, Y),
        "compile",
    ),
    (
        "evaluate before compile",
        lambda: tf.keras.Sequential([tf.keras.layers.Dense(2)]).evaluate(X, Y),
        "compile",
    ),
    ("evaluate y too large", lambda: model().evaluate(X, Y + 3, verbose=0), "y"),
    (
        "evaluate batch_size 0",
        lambda: model().evaluate(X, Y, batch_size=0, verbose=0),
        "batch_size",
    ),
    ("predict x NaN", lambda: model().predict(NAN_X, verbose=0), "x"),
    ("predict x wrong width", lambda: model().predict(np.ones((2, 3)), verbose=0), "x"),
    ("predict x scalar", lambda: model().predict(3.0, verbose=0), "x"),
    ("predict x None", lambda: model().predict(None, verbose=0), "x"),
    (
        "predict x list (valid)",
        lambda: model().predict([[1, 2, 3, 4]], verbose=0),
        None,
    ),
    ("train_on_batch y too large", lambda: model().train_on_batch(X, Y + 3), "y"),
    ("test_on_batch x wrong", lambda: model().test_on_batch(np.ones((6, 2)), Y), "x"),
    (
        "set_weights wrong count",
        lambda: model().set_weights([np.ones((4, 3))]),
        "weight",
    ),
    (
        "set_weights wrong shape",
        lambda: model().set_weights([np.ones((3, 4)), np.ones(3)]),
        "weights[0]",
    ),
    ("set_weights not list", lambda: model().set_weights(np.ones(3)), "weights"),
    ("compile optimizer unknown", lambda: model().compile("adamx", "mse"), "optimizer"),
    ("compile optimizer int", lambda: model().compile(5, "mse"), "optimizer"),
    ("compile loss unknown", lambda: model().compile("adam", "foo"), "loss"),
    ("compile loss None", lambda: model().compile("adam", None), "loss"),
    (
        "compile metrics int",
        lambda: model().compile("adam", "mse", metrics=5),
        "metrics",
    ),
    (
        "compile metric unknown",
        lambda: (
            lambda m: (
                m.compile("adam", "mse", ["f1"]),
                m.fit(X, np.ones((6, 3)), verbose=0),
            )
        )(model()),
        "metric",
    ),
    ("Dense units 0", lambda: tf.keras.layers.Dense(0), "units"),
    ("Dense units -3", lambda: tf.keras.layers.Dense(-3), "units"),
    ("Dense units float", lambda: tf.keras.layers.Dense(2.5), "units"),
    ("Dense units str", lambda: tf.keras.layers.Dense("10"), "units"),
    ("Dense units None", lambda: tf.keras.layers.Dense(None), "units"),
    (
        "Dense activation unknown",
        lambda: tf.keras.layers.Dense(2, activation="foo"),
        "activation",
    ),
    (
        "Dense activation int",
        lambda: tf.keras.layers.Dense(2, activation=5),
        "activation",
    ),
    (
        "Dense activation lambda",
        lambda: tf.keras.layers.Dense(2, activation=lambda v: v),
        "activation",
    ),
    (
        "Dense initializer unknown",
        lambda: tf.keras.layers.Dense(2, kernel_initializer="magic"),
        "initializer",
    ),
    (
        "Dense use_bias str",
        lambda: tf.keras.layers.Dense(2, use_bias="yes"),
        "use_bias",
    ),
    (
        "Dense input_shape negative",
        lambda: tf.keras.layers.Dense(2, input_shape=(-1,)),
        "input_shape",
    ),
    ("Dense input_dim 0", lambda: tf.keras.layers.Dense(2, input_dim=0), "input_dim"),
    ("Dense dtype int", lambda: tf.keras.layers.Dense(2, dtype="int32"), "dtype"),
    (
        "Dense regularizer unknown",
        lambda: tf.keras.layers.Dense(2, kernel_regularizer="l3"),
        "kernel_regularizer",
    ),
    (
        "Dense constraint int",
        lambda: tf.keras.layers.Dense(2, kernel_constraint=3),
        "kernel_constraint",
    ),
    ("Dropout rate 1.5", lambda: tf.keras.layers.Dropout(1.5), "rate"),
    ("Dropout rate -0.1", lambda: tf.keras.layers.Dropout(-0.1), "rate"),
    ("Dropout rate str", lambda: tf.keras.layers.Dropout("half"), "rate"),
    ("Activation unknown", lambda: tf.keras.layers.Activation("swish2"), "activation"),
    ("Sequential layers int", lambda: tf.keras.Sequential(5), "layers"),
    ("Sequential add non-layer", lambda: tf.keras.Sequential().add("dense"), "layer"),
    (
        "Sequential duplicate names",
        lambda: tf.keras.Sequential(
            [tf.keras.layers.Dense(2, name="a"), tf.keras.layers.Dense(2, name="a")]
        ),
        "names",
    ),
    (
        "Sequential summary unbuilt",
        lambda: tf.keras.Sequential([tf.keras.layers.Dense(2)]).summary(),
        "build",
    ),
    (
        "layer backward before forward",
        lambda: tf.keras.layers.Dense(2).backward(np.ones((1, 2))),
        "forward",
    ),
    ("layer forward 1-D", lambda: tf.keras.layers.Dense(2).forward(np.ones(3)), "x"),
    ("Adam learning_rate -1", lambda: tf.keras.optimizers.Adam(-1), "learning_rate"),
    ("Adam beta_1 1", lambda: tf.keras.optimizers.Adam(beta_1=1.0), "beta_1"),
    ("SGD momentum 2", lambda: tf.keras.optimizers.SGD(momentum=2), "momentum"),
    ("RMSprop rho str", lambda: tf.keras.optimizers.RMSprop(rho="x"), "rho"),
    ("optimizer unknown kwarg", lambda: tf.keras.optimizers.Adam(beta=0.9), "beta"),
    (
        "apply_gradients shape",
        lambda: tf.keras.optimizers.SGD().apply_gradients([(np.ones(3), np.ones(2))]),
        "gradient",
    ),
    (
        "apply_gradients int var",
        lambda: tf.keras.optimizers.SGD().apply_gradients(
            [(np.ones(3), np.ones(3, int))]
        ),
        "variable",
    ),
    (
        "apply_gradients not pairs",
        lambda: tf.keras.optimizers.SGD().apply_gradients([np.ones(3)]),
        "pair",
    ),
    (
        "loss y_pred None",
        lambda: tf.keras.losses.MeanSquaredError()(np.ones(3), None),
        "y_pred",
    ),
    (
        "loss labels out of range",
        lambda: tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
            np.array([5]), np.ones((1, 3))
        ),
        "y",
    ),
    (
        "loss from_logits str",
        lambda: tf.keras.losses.SparseCategoricalCrossentropy(from_logits="yes"),
        "from_logits",
    ),
    ("to_categorical negative", lambda: tf.keras.utils.to_categorical([-1, 2]), "y"),
    ("to_categorical fraction", lambda: tf.keras.utils.to_categorical([1.5]), "y"),
    ("to_categorical strings", lambda: tf.keras.utils.to_categorical(["a"]), "y"),
    (
        "to_categorical too large",
        lambda: tf.keras.utils.to_categorical([3], 2),
        "num_classes",
    ),
    ("set_seed negative", lambda: tinynn.set_seed(-1), "seed"),
    ("set_seed float", lambda: tinynn.set_seed(1.5), "seed"),
    ("set_seed str", lambda: tinynn.set_seed("1"), "seed"),
    ("set_num_threads 0", lambda: tinynn.set_num_threads(0), "n"),
    ("set_num_threads str", lambda: tinynn.set_num_threads("2"), "n"),
    ("set_floatx float16", lambda: tinynn.set_floatx("float16"), "value"),
    (
        "load_model missing",
        lambda: tinynn.load_model("/nonexistent/model.tnn"),
        "no file",
    ),
    ("load_model folder", lambda: tinynn.load_model("/"), "folder"),
    ("load_model int", lambda: tinynn.load_model(3), "filepath"),
    (
        "load_model .keras missing",
        lambda: tinynn.load_model("/nonexistent/m.keras"),
        "no file",
    ),
    (
        "model_from_json not JSON",
        lambda: tinynn.models.model_from_json("{"),
        "json_string",
    ),
    ("model_from_json int", lambda: tinynn.models.model_from_json(3), "json_string"),
    (
        "model_from_json Conv3D",
        lambda: tinynn.models.model_from_json(
            '{"class_name": "Sequential", "config": {"layers": '
            '[{"class_name": "Conv3D", "config": {}}]}}'
        ),
        "class_name",
    ),
    (
        "to_json unbuilt",
        lambda: tf.keras.Sequential([tf.keras.layers.Dense(2)]).to_json(),
        "to_json",
    ),
    (
        "save to missing folder",
        lambda: model().save("/nonexistent/dir/m.tnn"),
        "folder",
    ),
    ("mnist path int", lambda: tinynn.datasets.mnist.load_data(3), "path"),
    (
        "mnist path missing",
        lambda: tinynn.datasets.mnist.load_data("/nonexistent"),
        "path",
    ),
    (
        "EarlyStopping patience -1",
        lambda: tf.keras.callbacks.EarlyStopping(patience=-1),
        "patience",
    ),
    ("EarlyStopping mode", lambda: tf.keras.callbacks.EarlyStopping(mode="up"), "mode"),
    (
        "ModelCheckpoint path int",
        lambda: tf.keras.callbacks.ModelCheckpoint(3),
        "filepath",
    ),
    (
        "ModelCheckpoint save_freq",
        lambda: tf.keras.callbacks.ModelCheckpoint("m", save_freq=0),
        "save_freq",
    ),
    (
        "LambdaCallback not callable",
        lambda: tf.keras.callbacks.LambdaCallback(on_epoch_end=3),
        "on_epoch_end",
    ),
    ("plot history wrong type", lambda: tinynn.plot.history(5), "History"),
    # data that never betrays
    (
        "fit y longlong (valid)",
        lambda: model().fit(X, Y.astype(np.longlong), verbose=0),
        None,
    ),
    (
        "evaluate y ulonglong (valid)",
        lambda: model().evaluate(X, Y.astype(np.ulonglong), verbose=0),
        None,
    ),
    (
        "fit y big-endian int16 (valid)",
        lambda: model().fit(X, Y.astype(">i2"), verbose=0),
        None,
    ),
    (
        "fit x big-endian float32 (valid)",
        lambda: model().fit(X.astype(">f4"), Y, verbose=0),
        None,
    ),
    (
        "fit x Fortran order (valid)",
        lambda: model().fit(np.asfortranarray(X), Y, verbose=0),
        None,
    ),
    (
        "fit x float64 beyond float32",
        lambda: model().fit(X * 1e39, Y, verbose=0),
        "x contains NaN or Inf",
    ),
    (
        "fit y 1e20",
        lambda: model().fit(X, np.where(Y == 2, 1e20, Y), verbose=0),
        "y[2] = 100000000000000000000 is outside",
    ),
    (
        "fit y uint64 2**63",
        lambda: model().fit(X, np.array([0, 1, 2**63, 0, 1, 2], np.uint64), verbose=0),
        "y[2] = 9223372036854775808 is outside",
    ),
    ("set_num_threads 10**20", lambda: tinynn.set_num_threads(10**20), "n must be"),
    (
        "optimizer learning_rate str",
        lambda: setattr(tf.keras.optimizers.Adam(), "learning_rate", "0.1"),
        "learning_rate",
    ),
    (
        "load_model iterations -10",
        lambda: tinynn.load_model(
            saved(".tnn", manifest_set("optimizer", "iterations", -10))
        ),
        "'optimizer.iterations'",
    ),
    (
        "load_model iterations 1e30",
        lambda: tinynn.load_model(
            saved(".tnn", manifest_set("optimizer", "iterations", 1e30))
        ),
        "'optimizer.iterations'",
    ),
    (
        "load_model unknown optimizer slot",
        lambda: tinynn.load_model(
            saved(".tnn", manifest_set("optimizer", "state", ["m", "v", "w2"]))
        ),
        "'optimizer.state'",
    ),
    (
        "load_model model_config a number",
        lambda: tinynn.load_model(saved(".tnn", manifest_set("model_config", None, 3))),
        "'model_config'",
    ),
    (
        "load_model weights count a string",
        lambda: tinynn.load_model(saved(".tnn", manifest_set("weights", None, "2"))),
        "'weights'",
    ),
    (
        "load_model inflated zip member",
        lambda: tinynn.load_model(saved(".tnn", zip_inflated_member)),
        "'weights/0.npy' declares",
    ),
    (
        "load_model h5 flipped kernel byte",
        lambda: tinynn.load_model(saved(".h5", h5_flip_kernel_byte)),
        "kernel:0' cannot be read",
    ),
    (
        "load_model h5 huge declared kernel",
        lambda: tinynn.load_model(saved(".h5", h5_huge_kernel)),
        "has shape (4, 2000000000)",
    ),
    (
        "mnist npz 5 images 2 labels",
        lambda: tinynn.datasets.mnist.load_data(
            npz_dataset(
                x_train=np.zeros((5, 2, 2)),
                y_train=np.zeros(2),
                x_test=np.zeros((1, 2, 2)),
                y_test=np.zeros(1),
            )
        ),
        "the labels 2 samples",
    ),
    (
        "mnist IDX dimensions overflow",
        lambda: tinynn.datasets.mnist.load_data(idx_folder((2**31, 2**31, 4))),
        "train-images-idx3-ubyte: payload has 0 bytes",
    ),
    *[
        (
            f"core conv2d_forward {label}",
            lambda geo=geo, y=y: _core.conv2d_forward(
                f64(2, 5, 4, 3), f64(3, 2, 3, 4), None, f64(*y), *geo
            ),
            message,
        )
        for label, geo, y, message in [
            ("strides 0", [(0, 1), (1, 1), (0,) * 4], (2, 3, 3, 4), "strides[0]"),
            ("strides float", [(1.0, 1), (1, 1), (0,) * 4], (2, 3, 3, 4), "strides[0]"),
            ("strides 3 items", [(1, 1, 1), (1, 1), (0,) * 4], (2, 3, 3, 4), "strides"),
            ("strides int", [1, (1, 1), (0,) * 4], (2, 3, 3, 4), "strides"),
            ("dilation -1", [(1, 1), (1, -1), (0,) * 4], (2, 3, 3, 4), "dilation[1]"),
            (
                "padding negative",
                [(1, 1), (1, 1), (0, -1, 0, 0)],
                (2, 3, 3, 4),
                "padding[1]",
            ),
            ("padding 2 items", [(1, 1), (1, 1), (0, 0)], (2, 3, 3, 4), "padding"),
            (
                "padding huge",
                [(1, 1), (1, 1), (2**40, 0, 0, 0)],
                (2, 3, 3, 4),
                "padding[0]",
            ),
            ("y height", [(2, 1), (1, 1), (0,) * 4], (2, 3, 3, 4), "along the height"),
            (
                "y width",
                [(1, 1), (1, 1), (0, 1, 0, 1)],
                (2, 3, 3, 4),
                "along the width",
            ),
            (
                "kernel too large",
                [(1, 1), (3, 1), (0,) * 4],
                (2, 3, 3, 4),
                "dilated kernel",
            ),
            ("y filters", [(1, 1), (1, 1), (0,) * 4], (2, 3, 3, 5), "filters"),
            ("y batch", [(1, 1), (1, 1), (0,) * 4], (3, 3, 3, 4), "samples"),
        ]
    ],
    (
        "core conv2d_forward w zero filters",
        lambda: _core.conv2d_forward(
            f64(2, 5, 4, 3), f64(3, 2, 3, 0), None, f64(2, 3, 3, 0), *CONV_GEOMETRY
        ),
        "conv2d_forward: w",
    ),
    (
        "core conv2d_forward x channels",
        lambda: _core.conv2d_forward(
            f64(2, 5, 4, 2), f64(3, 2, 3, 4), None, f64(2, 3, 3, 4), *CONV_GEOMETRY
        ),
        "conv2d_forward: x has shape (2, 5, 4, 2) but w has 3 input channels",
    ),
    (
        "core conv2d_forward b length",
        lambda: _core.conv2d_forward(
            f64(2, 5, 4, 3), f64(3, 2, 3, 4), f64(3), f64(2, 3, 3, 4), *CONV_GEOMETRY
        ),
        "conv2d_forward: b",
    ),
    (
        "core conv2d_forward activation",
        lambda: _core.conv2d_forward(
            f64(2, 5, 4, 3),
            f64(3, 2, 3, 4),
            None,
            f64(2, 3, 3, 4),
            *CONV_GEOMETRY,
            activation="elu",
        ),
        "conv2d_forward: activation",
    ),
    (
        "core conv2d_backward dx aliases x",
        lambda: (
            lambda x: _core.conv2d_backward(
                x,
                f64(3, 2, 3, 4),
                f64(2, 3, 3, 4),
                x,
                f64(3, 2, 3, 4),
                None,
                *CONV_GEOMETRY,
            )
        )(f64(2, 5, 4, 3)),
        "conv2d_backward: dx",
    ),
    (
        "core conv2d_transpose_backward db length",
        lambda: _core.conv2d_transpose_backward(
            f64(2, 3, 3, 4),
            f64(3, 2, 3, 4),
            f64(2, 5, 4, 3),
            None,
            f64(3, 2, 3, 4),
            f64(4),
            *CONV_GEOMETRY,
        ),
        "conv2d_transpose_backward: db",
    ),
    (
        "core learning_rate str",
        lambda: _core.sgd_update(f64(3), f64(3), None, "0.1", 0.0, False),
        "sgd_update: learning_rate",
    ),
    # issue #20
    (
        "compile misspelled metric",
        lambda: model().compile("adam", "mse", ["acuracy"]),
        "acuracy",
    ),
    (
        "compile optimizer of another model",
        lambda: _two_models_one_optimizer(),
        "already used by model",
    ),
    ("model trainable str", lambda: setattr(model(), "trainable", "no"), "trainable"),
    (
        "AUC scores above 1",
        lambda: tf.keras.metrics.AUC()(np.array([0.0, 1.0]), np.array([0.5, 3.0])),
        "predictions must be <= 1",
    ),
]


def _two_models_one_optimizer():
    optimizer = tf.keras.optimizers.Adam()
    first = model()
    first.compile(optimizer, "sparse_categorical_crossentropy")
    model().compile(optimizer, "sparse_categorical_crossentropy")
    return first


def run_in_child(function):
    """Run `function` in a forked child; returns ('ok', None), ('raised', (type
    name, is-allowed, message)) or ('crashed', signal)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: one kernel thread (the parent is run with one, too)
        os.close(read_end)
        try:
            _core.set_num_threads(1)
            function()
            result = ("ok", None)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            result = (
                "raised",
                (type(exc).__name__, isinstance(exc, ALLOWED), str(exc)),
            )
        with os.fdopen(write_end, "wb") as pipe:
            pickle.dump(result, pipe)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        payload = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return ("crashed", signal.Signals(os.WTERMSIG(status)).name)
    return pickle.loads(payload)


CORE_CASES = core_cases()
HERE = Path(__file__).resolve().parent


def thread_count() -> int:
    """Threads of this process (from /proc; 1 where /proc is missing)."""
    try:
        with open("/proc/self/status") as status:
            line = next(x for x in status if x.startswith("Threads:"))
    except OSError:
        return 1
    return int(line.split()[1])


def run_catalogue(path: str) -> None:
    """Run every case in its own forked child and pickle to `path` a dict:
    outcomes by case id, this process's thread count when it started forking,
    and any DeprecationWarning the forks raised. Meant for a fresh interpreter
    (see the `catalogue` fixture), never for the pytest process."""
    calls = {
        case[0]: functools.partial(run_core_case, case[2], case[3], case[4])
        for case in CORE_CASES
    }
    calls.update({label: call for label, call, _ in API})
    threads = thread_count()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DeprecationWarning)
            outcomes = {case_id: run_in_child(call) for case_id, call in calls.items()}
    finally:  # this interpreter's FILES: pytest's fixture removes only its own
        shutil.rmtree(FILES, ignore_errors=True)
    report = {
        "outcomes": outcomes,
        "threads": threads,
        "warnings": [
            str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)
        ],
    }
    with open(path, "wb") as file:
        pickle.dump(report, file)


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    """The report of run_catalogue, run in a fresh single-threaded interpreter
    that imports the same tinynn as this process."""
    out = tmp_path_factory.mktemp("catalogue") / "report.pickle"
    package_parent = str(Path(tinynn.__file__).resolve().parents[1])
    env = {
        **os.environ,
        "TINYNN_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "PYTHONPATH": os.pathsep.join(
            [package_parent, str(HERE), os.environ.get("PYTHONPATH", "")]
        ),
    }
    code = "import sys, test_robustness; test_robustness.run_catalogue(sys.argv[1])"
    result = subprocess.run(
        [sys.executable, "-c", code, str(out)],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    with open(out, "rb") as file:
        return pickle.load(file)


def test_catalogue_is_large_enough():
    assert len(CORE_CASES) + len(API) >= 200
    ids = [c[0] for c in CORE_CASES] + [c[0] for c in API]
    assert len(set(ids)) == len(ids), "case ids must be unique"


def test_catalogue_forks_from_a_single_threaded_process(catalogue):
    assert catalogue["threads"] == 1
    assert catalogue["warnings"] == []


@pytest.mark.parametrize("case", CORE_CASES, ids=[c[0] for c in CORE_CASES])
def test_bad_core_call(case, catalogue):
    _, _, name, position, label, arg = case
    outcome, detail = catalogue["outcomes"][case[0]]
    assert outcome == "raised", f"{case[0]}: {outcome} {detail}"
    kind, allowed, message = detail
    assert allowed and kind in ("TypeError", "ValueError"), f"{kind}: {message}"
    assert message.startswith(name) and arg in message, message


@pytest.mark.parametrize("case", API, ids=[c[0] for c in API])
def test_bad_public_call(case, catalogue):
    label, call, argument = case
    outcome, detail = catalogue["outcomes"][label]
    if argument is None:
        assert outcome == "ok", f"{label}: {detail}"
        return
    assert outcome == "raised", f"{label}: {outcome} {detail}"
    kind, allowed, message = detail
    assert allowed, f"{label}: {kind}: {message}"
    assert argument in message, f"{label}: {kind}: {message}"


# ---- properties ------------------------------------------------------------------------
dims = st.integers(min_value=1, max_value=40)


@settings(max_examples=60, deadline=None)
@given(
    m=dims,
    n=dims,
    k=st.integers(0, 70),
    ta=st.booleans(),
    tb=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_gemm_property(m, n, k, ta, tb, seed):
    r = np.random.default_rng(seed)
    a = r.normal(size=(k, m) if ta else (m, k))
    b = r.normal(size=(n, k) if tb else (k, n))
    c = np.empty((m, n))
    _core.gemm(a, b, c, trans_a=ta, trans_b=tb)
    scale = ref.gemm(np.abs(a), np.abs(b), trans_a=ta, trans_b=tb)
    assert np.all(
        np.abs(c - ref.gemm(a, b, trans_a=ta, trans_b=tb)) <= 1e-12 * scale + 1e-300
    )


@settings(max_examples=60, deadline=None)
@given(batch=dims, classes=dims, scale=st.floats(0.01, 1e4), seed=st.integers(0, 2**31))
# Found by Hypothesis: a softmax probability of 1 - 6e-7 lost 1 - p's digits
# when the kernel formed top + log(sum) before subtracting.
@example(batch=34, classes=8, scale=4881.0, seed=10)
def test_softmax_xent_property(batch, classes, scale, seed):
    r = np.random.default_rng(seed)
    z = r.normal(size=(batch, classes)) * scale
    labels = r.integers(0, classes, batch)
    d = np.empty_like(z)
    loss, correct = _core.softmax_xent(z, labels, d)
    want, want_d, want_correct = ref.softmax_xent(z, labels)
    assert loss == pytest.approx(want, rel=1e-12, abs=1e-12)
    assert np.allclose(d, want_d, rtol=1e-10, atol=1e-14)
    assert correct == want_correct


@settings(max_examples=40, deadline=None)
@given(
    shape=st.tuples(dims, dims),
    seed=st.integers(0, 2**31),
    name=st.sampled_from(["relu", "sigmoid", "tanh", "softmax", "linear"]),
)
def test_activation_property(shape, seed, name):
    x = np.random.default_rng(seed).normal(size=shape) * 5
    y = np.empty_like(x)
    getattr(_core, f"{name}_forward")(x, y)
    assert np.allclose(y, ref.ACTIVATIONS[name](x), rtol=1e-12, atol=1e-300)


# ---- leaks -------------------------------------------------------------------------------
def rss_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_resident_memory_stops_growing():
    m = model()
    x = np.random.default_rng(0).normal(size=(64, 4))
    y = np.arange(64) % 3
    bad = np.full((2, 3), 1.0)

    def round_trip():
        m.fit(x, y, batch_size=16, epochs=1, verbose=0)
        m.evaluate(x, y, verbose=0)
        m.predict(x, verbose=0)
        _core.softmax_xent(bad, np.array([0, 1]), None)
        try:
            _core.softmax_xent(bad, np.array([0, 7]), None)
        except ValueError:
            pass
        try:
            m.fit(x, y + 5, verbose=0)
        except ValueError:
            pass

    for _ in range(200):
        round_trip()
    before = rss_bytes()
    for _ in range(2000):
        round_trip()
    grown = rss_bytes() - before
    assert grown < 4 * 2**20, f"resident memory grew by {grown / 2**20:.1f} MB"
    refs = [sys.getrefcount(v) for v in (x, y, bad)]
    round_trip()
    assert [sys.getrefcount(v) for v in (x, y, bad)] == refs


# ---- threads -----------------------------------------------------------------------------
def test_two_models_in_two_threads_match_sequential_training():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(512, 20)), rng.integers(0, 5, 512)

    def make(seed):
        tinynn.set_seed(seed)
        m = tf.keras.Sequential(
            [
                tf.keras.layers.Dense(64, activation="relu", input_shape=(20,)),
                tf.keras.layers.Dense(5, activation="softmax"),
            ]
        )
        m.compile("adam", "sparse_categorical_crossentropy")
        return m

    def train(m):
        # shuffle=False: both fits would otherwise draw permutations from the one
        # tinynn generator, and thread interleaving would change who gets which.
        m.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)

    sequential = [make(1), make(2)]
    for m in sequential:
        train(m)
    concurrent = [make(1), make(2)]
    threads = [threading.Thread(target=train, args=(m,)) for m in concurrent]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(sequential, concurrent):
        for wa, wb in zip(a.get_weights(), b.get_weights()):
            np.testing.assert_array_equal(wa, wb)


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_packing_space_is_freed_when_threads_exit():
    a = np.ones((32, 600), np.float32)
    b = np.ones((600, 300), np.float32)

    def work():
        c = np.empty((32, 300), np.float32)
        _core.gemm(a, b, c)
        assert c[0, 0] == 600

    def run_threads(count):
        for _ in range(count):
            thread = threading.Thread(target=work)
            thread.start()
            thread.join()

    run_threads(20)
    before = rss_bytes()
    run_threads(300)  # each touches its own packing space (over 600 KB here)
    grown = rss_bytes() - before
    assert grown < 16 * 2**20, f"resident memory grew by {grown / 2**20:.1f} MB"
