"""Data that never betrays: inputs kept in the user's dtype and converted per
batch (bit-identical to converting first, memory input + O(batch)), every
integer label type, labels and finiteness reported with their true values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tinynn
import tinynn as tf
from tinynn import _checks


@pytest.fixture(autouse=True)
def _fresh_session():
    tinynn.backend.clear_session()
    tinynn.set_floatx("float32")
    yield
    tinynn.set_floatx("float32")


def make_model(features=(6, 5), seed=3):
    tinynn.set_seed(seed)
    m = tf.keras.Sequential(
        [
            tf.keras.layers.Flatten(input_shape=features),
            tf.keras.layers.Dense(16, activation="relu"),
            tf.keras.layers.Dense(4, activation="softmax"),
        ]
    )
    m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    return m


def images(n=97, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 6, 5), dtype=np.uint8)
    y = rng.integers(0, 4, size=n)
    return x, y


def run(x, y, shuffle=True):
    """Weights, history, predictions and evaluation of one short training run."""
    m = make_model()
    history = m.fit(x, y, batch_size=16, epochs=2, shuffle=shuffle, verbose=0)
    return (
        m.get_weights(),
        history.history,
        m.predict(x, batch_size=10, verbose=0),
        m.evaluate(x, y, batch_size=10, verbose=0),
    )


def assert_same_run(a, b):
    for wa, wb in zip(a[0], b[0]):
        np.testing.assert_array_equal(wa, wb)
    assert a[1] == b[1]
    np.testing.assert_array_equal(a[2], b[2])
    assert a[3] == b[3]


def variants(x):
    """The same values in other dtypes and layouts."""
    fortran = np.asfortranarray(x)
    strided = np.repeat(x, 2, axis=0)[::2]
    return {
        "uint8": x,
        "int64": x.astype(np.int64),
        "float64": x.astype(np.float64),
        "float16": x.astype(np.float16),
        "big-endian float32": x.astype(">f4"),
        "fortran uint8": fortran,
        "strided uint8": strided,
        "list": x.tolist(),
    }


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize(
    "kind", list(variants(images()[0])), ids=list(variants(images()[0]))
)
def test_per_batch_conversion_is_bit_identical(kind, shuffle):
    x, y = images()
    # The reference: today's behaviour, the whole array converted first.
    want = run(x.astype(np.float32), y, shuffle)
    assert_same_run(run(variants(x)[kind], y, shuffle), want)


def test_float64_data_for_a_float32_model_rounds_as_astype_does():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 6, 5)) * 1e3
    y = rng.integers(0, 4, 40)
    assert_same_run(run(x, y), run(x.astype(np.float32), y))


def test_validation_data_and_split_in_uint8_match_float():
    x, y = images(120)

    def losses(data):
        m = make_model()
        h = m.fit(data, y, batch_size=16, validation_split=0.25, verbose=0)
        h2 = m.fit(
            data, y, batch_size=16, validation_data=(data[:30], y[:30]), verbose=0
        )
        return h.history, h2.history

    assert losses(x) == losses(x.astype(np.float32))


def test_user_array_is_neither_copied_nor_changed():
    x, y = images()
    before = x.copy()
    m = make_model()
    m.fit(x, y, batch_size=16, verbose=0)
    m.predict(x, verbose=0)
    np.testing.assert_array_equal(x, before)
    assert x.dtype == np.uint8


@pytest.mark.parametrize("call", ["fit", "predict", "evaluate"])
def test_nan_is_found_in_a_late_chunk_and_named_by_row(call, monkeypatch):
    # Small chunks, so the bad row is far past the first one checked.
    monkeypatch.setattr(_checks, "_CHUNK_VALUES", 64)
    x, y = images(200)
    x = x.astype(np.float64)
    x[173, 4, 2] = np.nan
    m = make_model()
    method = getattr(m, call)
    args = (x,) if call == "predict" else (x, y)
    with pytest.raises(ValueError) as info:
        method(*args, verbose=0)
    assert str(info.value) == (
        f"{call}: x contains NaN or Inf (first at [173, 4, 2] = nan); "
        "expected finite numbers"
    )


def test_float64_beyond_float32_range_counts_as_inf():
    x, y = images(20)
    x = x.astype(np.float64)
    x[7, 0, 1] = 1e39  # finite in float64, Inf once converted for the model
    with pytest.raises(
        ValueError, match=r"fit: x contains NaN or Inf \(first at \[7, 0, 1\]"
    ):
        make_model().fit(x, y, verbose=0)


def test_check_finite_chunks_keep_the_first_bad_value():
    a = np.zeros((10, 3))
    a[4, 2], a[9, 0] = np.inf, np.nan
    for chunk in (1, 2, 5, 1000):
        _checks._CHUNK_VALUES, old = chunk, _checks._CHUNK_VALUES
        try:
            with pytest.raises(ValueError, match=r"first at \[4, 2\] = inf"):
                _checks.check_finite(a, "f", "x")
        finally:
            _checks._CHUNK_VALUES = old


# ---- labels ---------------------------------------------------------------------
INTEGER_TYPES = [
    np.int8, np.int16, np.int32, np.int64, np.longlong, np.intc,
    np.uint8, np.uint16, np.uint32, np.uint64, np.ulonglong, np.uintc,
    ">i2", ">i8", ">u4",
]  # fmt: skip


@pytest.mark.parametrize("dtype", INTEGER_TYPES, ids=str)
def test_every_integer_label_type_trains_like_int64(dtype):
    x, y = images(40)
    want = run(x, y)
    assert_same_run(run(x, y.astype(dtype)), want)


@pytest.mark.parametrize(
    "labels, shown",
    [
        (np.array([0, 1, 1e20]), "100000000000000000000"),
        (np.array([0, 1, -1e20]), "-100000000000000000000"),
        (np.array([0, 1, 2**63], np.uint64), "9223372036854775808"),
        (np.array([0, 1, 7.0]), "7"),
        (np.array([0, 1, 300], ">i2"), "300"),
    ],
)
def test_out_of_range_labels_are_shown_as_given(labels, shown):
    m = make_model()
    with pytest.raises(ValueError) as info:
        m.fit(np.zeros((3, 6, 5)), labels, verbose=0)
    assert str(info.value) == (
        f"fit: y[2] = {shown} is outside [0, 4); expected class ids for the "
        "model's 4 outputs"
    )


# ---- optimizer arguments ---------------------------------------------------------
@pytest.mark.parametrize("cls", ["Adam", "SGD", "RMSprop"])
def test_learning_rate_assignment_is_checked(cls):
    opt = getattr(tf.keras.optimizers, cls)()
    with pytest.raises(
        TypeError, match=f"{cls}: learning_rate must be a number; got '0.1'"
    ):
        opt.learning_rate = "0.1"
    with pytest.raises(ValueError, match=f"{cls}: learning_rate must be a finite"):
        opt.learning_rate = -1.0
    opt.learning_rate = np.float32(0.5)
    assert opt.learning_rate == 0.5 and type(opt.learning_rate) is float


# ---- memory -------------------------------------------------------------------------
PEAK_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys
    import numpy as np
    import tinynn as tf

    n = int(sys.argv[1])
    x = np.random.default_rng(0).integers(0, 256, (n, 784), dtype=np.uint8)
    y = np.arange(n) % 10
    m = tf.keras.Sequential([tf.keras.layers.Dense(10, activation="softmax",
                                                   input_shape=(784,))])
    m.compile("sgd", "sparse_categorical_crossentropy", ["accuracy"])
    m.fit(x[:64], y[:64], batch_size=32, verbose=0)  # warm up: buffers, imports
    m.evaluate(x[:64], y[:64], verbose=0)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    m.fit(x, y, batch_size=256, epochs=1, verbose=0)
    m.evaluate(x, y, batch_size=256, verbose=0)
    m.predict(x, batch_size=256, verbose=0)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"input": x.nbytes, "grown": (after - before) * 1024}))
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss in KiB is Linux's")
def test_fit_on_uint8_does_not_copy_the_data_set():
    n = 100_000  # 78 MB of uint8; a float32 copy would be 314 MB
    out = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(n)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TINYNN_NUM_THREADS": "1"},
        cwd="/",  # the installed tinynn, not the source folder
    )
    peak = json.loads(out.stdout)
    # The labels (int64, 0.8 MB), the permutation and the predictions (4 MB)
    # are O(n) but small; a float copy of x would add 4 bytes per pixel.
    assert peak["grown"] < 0.25 * peak["input"], peak


# ---- datasets --------------------------------------------------------------------------
def idx(magic, dims, payload=b""):
    import struct

    return struct.pack(">I", magic) + struct.pack(f">{len(dims)}I", *dims) + payload


@pytest.mark.parametrize("dims", [(2**31, 2**31, 4), (2**32 - 1, 2**32 - 1, 2**32 - 1)])
def test_idx_dimensions_that_overflow_int64_name_the_file(tmp_path, dims):
    from tinynn.datasets import _idx

    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx(0x00000803, dims))
    with pytest.raises(ValueError) as info:
        _idx.read(path, _idx.IMAGES_MAGIC)
    want = f"{path}: payload has 0 bytes; the header {dims} says {np.prod(dims, dtype=object)}"
    assert str(info.value).startswith(want)


def test_npz_with_more_images_than_labels_is_refused(tmp_path):
    path = tmp_path / "mnist.npz"
    u8 = np.uint8
    np.savez(
        path,
        x_train=np.zeros((5, 28, 28), u8),
        y_train=np.zeros(2, u8),
        x_test=np.zeros((3, 28, 28), u8),
        y_test=np.zeros(3, u8),
    )
    with pytest.raises(ValueError) as info:
        tinynn.datasets.mnist.load_data(path)
    assert str(info.value) == (
        f"{path}: the train images hold 5 samples but the labels 2 samples; "
        "expected one label per image"
    )
    np.savez(
        path,
        x_train=np.zeros((2, 28, 28), u8),
        y_train=np.zeros(2, u8),
        x_test=np.zeros((3, 28, 28), u8),
        y_test=np.array(7, u8),
    )
    with pytest.raises(
        ValueError, match="the test images hold 3 samples but the labels a scalar"
    ):
        tinynn.datasets.mnist.load_data(path)
