"""A convolution fused with the max pooling that alone reads its output.

The kernels (_core.conv2d_maxpool_forward / _backward) against the explicit
loops of tests/reference.py: the pooled output and its argmax (the first
maximum), and the kernel and bias gradients of the pooled output's gradient
routed to the argmax through relu; float64 to 1e-12, float32 to 1e-5, on
every SIMD path, 1 and 2 threads, odd shapes (primes, strides 2 and 3,
dilation 2, explicit padding, windows 1x1 to 3x3 and 2x3, outputs whose
last row or column no window reads, many tiles across a row, more filters
than a micro-tile, a kernel as large as the input, Conv1D), both where the
window is small enough to compute directly (csrc/conv_direct.inc, at most
64 taps) and where tiles go through the indirect GEMM. The forward is
bit-identical to conv2d_forward then max_pool2d_forward; results are
bit-identical for any thread count; central differences check the
gradients. Then the executor: which steps it fuses, and that a fused fit
matches the unfused one.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference as ref
import tinynn as tf
from tinynn import _core
from tinynn.keras import layers
from tinynn.models import executor

RTOL = {np.float32: 1e-5, np.float64: 1e-12}
DTYPES = [np.float32, np.float64]

# (batch, height, width, channels, kh, kw, filters, strides, dilation,
#  padding (top, left, bottom, right), pool (pool_h, pool_w))
SHAPES = [
    (3, 28, 28, 1, 3, 3, 32, (1, 1), (1, 1), (0, 0, 0, 0), (2, 2)),  # MNIST
    (2, 13, 13, 7, 3, 3, 11, (1, 1), (1, 1), (0, 0, 0, 0), (2, 2)),  # row 10 unread
    (2, 11, 17, 3, 3, 2, 7, (1, 1), (1, 1), (0, 0, 0, 0), (3, 2)),
    (1, 5, 5, 1, 5, 5, 1, (1, 1), (1, 1), (0, 0, 0, 0), (1, 1)),  # kernel = input
    (2, 9, 30, 2, 2, 3, 5, (2, 1), (1, 2), (1, 0, 1, 2), (2, 3)),
    (3, 14, 14, 5, 3, 3, 37, (3, 3), (1, 1), (1, 1, 1, 1), (2, 2)),  # stride 3
    (2, 8, 11, 2, 3, 3, 3, (1, 1), (2, 2), (2, 2, 2, 2), (3, 3)),  # dilation 2
    (2, 6, 52, 3, 3, 3, 13, (1, 1), (1, 1), (0, 0, 0, 0), (2, 2)),  # 2 tiles across
    (1, 6, 6, 2, 3, 3, 300, (1, 1), (1, 1), (0, 0, 0, 0), (2, 2)),  # wide filters
    (2, 1, 31, 4, 1, 3, 6, (1, 1), (1, 1), (0, 0, 0, 0), (1, 2)),  # Conv1D
    # more than TNN_CONV_DIRECT_K (64) taps: tiles through the indirect GEMM
    (2, 12, 12, 8, 3, 3, 20, (1, 1), (1, 1), (0, 0, 0, 0), (2, 2)),
    # 81 taps, 3 filters: dot products for the forward (float64)
    (2, 10, 13, 9, 3, 3, 3, (2, 1), (1, 1), (1, 0, 1, 1), (2, 2)),
]
IDS = [
    "x".join(map(str, s[:4])) + f"-k{s[4]}x{s[5]}-f{s[6]}-pool{s[10][0]}x{s[10][1]}"
    for s in SHAPES
]


def conv_out(shape):
    batch, h, w, _, kh, kw, f, (sh, sw), (dh, dw), pad, _ = shape
    out_h = ref.conv_output_size(h, kh, sh, dh, pad[0], pad[2])
    out_w = ref.conv_output_size(w, kw, sw, dw, pad[1], pad[3])
    return out_h, out_w


def arrays(shape, dtype, seed=0):
    batch, h, w, c, kh, kw, f = shape[:7]
    r = np.random.default_rng(seed)
    x = r.standard_normal((batch, h, w, c)).astype(dtype)
    kernel = r.standard_normal((kh, kw, c, f)).astype(dtype)
    bias = (0.3 * r.standard_normal(f)).astype(dtype)
    return x, kernel, bias


def pooled_shape(shape):
    out_h, out_w = conv_out(shape)
    ph, pw = shape[10]
    return (shape[0], out_h // ph, out_w // pw, shape[6])


def fused_forward(x, kernel, bias, shape, activation, with_argmax=True):
    y = np.empty(pooled_shape(shape), x.dtype)
    argmax = np.empty(y.shape, np.int32) if with_argmax else None
    _core.conv2d_maxpool_forward(
        x, kernel, bias, y, argmax, *shape[7:10], shape[10], activation
    )
    return y, argmax


def fused_backward(x, dy, y, argmax, shape, activation, db=True):
    dw = np.empty(shape[4:6] + (shape[3], shape[6]), x.dtype)
    dbias = np.empty(shape[6], x.dtype) if db else None
    _core.conv2d_maxpool_backward(
        x, dy, y, argmax, dw, dbias, *shape[7:10], shape[10], activation
    )
    return dw, dbias


def reference_forward(x, kernel, bias, shape, activation):
    """(y, argmax) of the reference's convolution, then its max pooling."""
    z = ref.conv2d_forward(x, kernel, bias, *shape[7:10], activation)
    ph, pw = shape[10]
    return ref.max_pool2d(z, pooled_shape(shape)[1:3], (ph, pw, ph, pw, 0, 0))


def reference_backward(x, kernel, dy, y, argmax, shape, activation):
    """(dw, db): dy routed to argmax, through relu where y is not above 0,
    then the reference convolution's kernel and bias gradients."""
    dz = ref.max_pool2d_backward(dy, argmax, conv_out(shape))
    if activation == "relu":
        # the routed pixel's relu output is the pooled value
        mask = ref.max_pool2d_backward((y > 0).astype(float), argmax, conv_out(shape))
        dz = dz * mask
    _, dw, db = ref.conv2d_backward(x, kernel, dz, *shape[7:10])
    return dw, db


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ["relu", "linear"])
@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_matches_reference(shape, activation, dtype, simd, threads):
    x, kernel, bias = arrays(shape, dtype)
    y, argmax = fused_forward(x, kernel, bias, shape, activation)
    y_ref, argmax_ref = reference_forward(x, kernel, bias, shape, activation)
    scale = ref.conv2d_forward(abs(x), abs(kernel), abs(bias), *shape[7:10]).max()
    np.testing.assert_allclose(y, y_ref, rtol=0, atol=RTOL[dtype] * scale)
    if dtype == np.float64:  # float32 rounding may reorder near-ties
        assert np.array_equal(argmax, argmax_ref)
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    dw, db = fused_backward(x, dy, y, argmax, shape, activation)
    dw_ref, db_ref = reference_backward(x, kernel, dy, y, argmax, shape, activation)
    dw_scale, _ = reference_backward(
        abs(x), kernel, abs(dy), y, argmax, shape, "linear"
    )
    np.testing.assert_allclose(
        dw, dw_ref, rtol=0, atol=RTOL[dtype] * (dw_scale.max() + 1)
    )
    np.testing.assert_allclose(
        db, db_ref, rtol=0, atol=RTOL[dtype] * (abs(dy).sum() + 1)
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_forward_is_the_unfused_pair_bit_for_bit(shape, dtype, simd):
    x, kernel, bias = arrays(shape, dtype, seed=2)
    y, argmax = fused_forward(x, kernel, bias, shape, "relu")
    z = np.empty((shape[0], *conv_out(shape), shape[6]), dtype)
    _core.conv2d_forward(x, kernel, bias, z, *shape[7:10], activation="relu")
    y2, argmax2 = np.empty_like(y), np.empty_like(argmax)
    ph, pw = shape[10]
    _core.max_pool2d_forward(z, y2, argmax2, ph, pw, ph, pw, 0, 0)
    assert np.array_equal(y, y2) and np.array_equal(argmax, argmax2)
    y3, none = fused_forward(x, kernel, bias, shape, "relu", with_argmax=False)
    assert none is None and np.array_equal(y3, y)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_bit_identical_for_any_thread_count(shape, dtype):
    x, kernel, bias = arrays(shape, dtype, seed=3)
    dy = np.random.default_rng(4).standard_normal(pooled_shape(shape)).astype(dtype)
    before = _core.get_num_threads()
    results = []
    try:
        for n in (1, 2, 3, 4):
            _core.set_num_threads(n)
            y, argmax = fused_forward(x, kernel, bias, shape, "relu")
            results.append(
                (y, argmax, *fused_backward(x, dy, y, argmax, shape, "relu"))
            )
    finally:
        _core.set_num_threads(before)
    for other in results[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(results[0], other))


def test_accumulate_adds_to_the_gradients():
    shape = SHAPES[1]
    x, kernel, bias = arrays(shape, np.float64)
    y, argmax = fused_forward(x, kernel, bias, shape, "relu")
    dy = np.random.default_rng(5).standard_normal(y.shape)
    dw, db = fused_backward(x, dy, y, argmax, shape, "relu")
    dw2, db2 = dw.copy() + 1.5, db.copy() - 2.0
    _core.conv2d_maxpool_backward(
        x, dy, y, argmax, dw2, db2, *shape[7:10], shape[10], "relu", True
    )
    np.testing.assert_allclose(dw2, 2 * dw + 1.5, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(db2, 2 * db - 2.0, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("activation", ["relu", "linear"])
@pytest.mark.parametrize("shape", [SHAPES[2], SHAPES[4], SHAPES[6]], ids=str)
def test_central_differences(shape, activation):
    """d(sum(y r))/dw and /db by central differences in float64."""
    x, kernel, bias = arrays(shape, np.float64, seed=6)
    r = np.random.default_rng(7).standard_normal(pooled_shape(shape))

    def loss(k, b):
        return float((fused_forward(x, k, b, shape, activation)[0] * r).sum())

    y, argmax = fused_forward(x, kernel, bias, shape, activation)
    dw, db = fused_backward(x, r, y, argmax, shape, activation)
    eps = 1e-6
    for values, grad in ((kernel, dw), (bias, db)):
        for index in np.ndindex(values.shape):
            keep = values[index]
            values[index] = keep + eps
            up = loss(kernel, bias)
            values[index] = keep - eps
            down = loss(kernel, bias)
            values[index] = keep
            assert abs((up - down) / (2 * eps) - grad[index]) < 1e-6 * (
                1 + abs(grad[index])
            ), index


def test_without_bias_gradient():
    shape = SHAPES[0]
    x, kernel, _ = arrays(shape, np.float32)
    y, argmax = fused_forward(x, kernel, None, shape, "relu")
    dy = np.ones_like(y)
    dw, none = fused_backward(x, dy, y, argmax, shape, "relu", db=False)
    dw_ref, _ = reference_backward(x, kernel, dy, y, argmax, shape, "relu")
    assert none is None
    np.testing.assert_allclose(dw, dw_ref, rtol=1e-5, atol=1e-3)


# ---- bad calls: clear errors, nothing written -----------------------------------
def test_argmax_outside_its_window_is_an_error_and_writes_nothing():
    shape = SHAPES[1]
    x, kernel, bias = arrays(shape, np.float64)
    y, argmax = fused_forward(x, kernel, bias, shape, "linear")
    argmax[1, 2, 3, 4] += 1  # the cell right of its window's
    argmax[1, 2, 3, 4] += shape[2]  # a row further down: outside
    dw = np.full(kernel.shape, 7.0)
    db = np.full(bias.shape, 7.0)
    with pytest.raises(ValueError, match="conv2d_maxpool_backward: argmax"):
        _core.conv2d_maxpool_backward(
            x, np.ones_like(y), y, argmax, dw, db, *shape[7:10], shape[10], "linear"
        )
    assert (dw == 7.0).all() and (db == 7.0).all()


@pytest.mark.parametrize(
    "change, pattern",
    [
        (dict(activation="tanh"), "activation must be 'relu' or 'linear'"),
        (dict(pool_size=(2,)), "pool_size must hold 2 integers"),
        (dict(pool_size=(0, 2)), "pool_size"),
        (dict(pool_size=(27, 2)), "fewer than pool_size\\[0\\] = 27"),
        (dict(y=np.empty((3, 13, 12, 32), np.float32)), "y has shape"),
        (
            dict(argmax=np.empty((3, 13, 13, 32), np.int64)),
            "argmax must have dtype int32",
        ),
        (
            dict(
                w=np.ones((1, 1, 1, 32), np.float32),
                x=np.ones((3, 26, 26, 1), np.float32),
            ),
            "do not fuse",
        ),
    ],
)
def test_bad_forward_calls(change, pattern):
    shape = SHAPES[0]
    x, kernel, bias = arrays(shape, np.float32)
    args = dict(
        x=x,
        w=kernel,
        b=bias,
        y=np.empty(pooled_shape(shape), np.float32),
        argmax=np.empty(pooled_shape(shape), np.int32),
        strides=(1, 1),
        dilation=(1, 1),
        padding=(0, 0, 0, 0),
        pool_size=(2, 2),
        activation="relu",
    )
    args.update(change)
    with pytest.raises((TypeError, ValueError), match=pattern):
        _core.conv2d_maxpool_forward(**args)


def test_fits_mirrors_the_kernels():
    assert _core.conv2d_maxpool_fits(128, 28, 28, 1, 3, 3, 32, 26, 26, 2, 2)
    assert not _core.conv2d_maxpool_fits(2, 9, 9, 4, 1, 1, 8, 9, 9, 2, 2)  # 1x1
    assert not _core.conv2d_maxpool_fits(2, 9, 9, 4, 3, 3, 8, 7, 7, 8, 2)  # window
    assert not _core.conv2d_maxpool_fits(2, 9, 9, 4, 3, 3, 2048, 7, 7, 2, 2)  # tile
    assert not _core.conv2d_maxpool_fits(2, 9, 9, 512, 3, 3, 64, 7, 7, 2, 2)  # grad


# ---- the executor --------------------------------------------------------------
def convnet(first_activation="relu", pool=None, **conv_args):
    tf.set_seed(0)
    model = tf.keras.Sequential(
        [
            layers.Conv2D(
                6, 3, activation=first_activation, input_shape=(12, 12, 2), **conv_args
            ),
            pool or layers.MaxPooling2D(2),
            layers.Conv2D(5, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def data():
    r = np.random.default_rng(8)
    return r.standard_normal((96, 12, 12, 2)), r.integers(0, 3, 96)


def fused_windows(model, rows=32):
    return [step.ctx.max_pool for step in model._make_plan(rows).steps]


def test_the_first_convolution_and_its_pooling_become_one_step():
    model = convnet()
    windows = fused_windows(model)
    # conv+pool fused; the second conv needs an input gradient: not fused
    assert windows == [(2, 2), None, None, None, None]


@pytest.mark.parametrize(
    "make",
    [
        lambda: convnet("tanh"),
        lambda: convnet(pool=layers.MaxPooling2D(2, strides=1)),
        lambda: convnet(pool=layers.MaxPooling2D(2, padding="same")),
        lambda: convnet(pool=layers.AveragePooling2D(2)),
        lambda: convnet(activity_regularizer="l2"),
    ],
    ids=["tanh", "overlapping windows", "same padding", "average", "activity penalty"],
)
def test_not_fused(make):
    assert all(window is None for window in fused_windows(make()))


def test_not_fused_when_the_output_is_read_elsewhere():
    x = tf.keras.Input(shape=(12, 12, 2))
    h = layers.Conv2D(6, 3, activation="relu")(x)
    pooled = layers.Flatten()(layers.MaxPooling2D(2)(h))
    other = layers.Flatten()(h)
    out = layers.Dense(3)(layers.concatenate([pooled, other]))
    fan_out = tf.keras.Model(x, out)
    as_output = tf.keras.Model(x, [layers.MaxPooling2D(2)(h), h])
    for model in (fan_out, as_output):
        assert all(window is None for window in fused_windows(model))


def fit(model, fused, monkeypatch):
    monkeypatch.setattr(executor, "fuse_conv_pool", fused)
    x, y = data()
    history = model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    return model.get_weights(), history.history, model.predict(x, verbose=0)


def test_fused_fit_matches_the_unfused_one(monkeypatch):
    """float64: the same History and weights to 1e-12 (only the kernel
    gradient's sums run in another order); predictions bit for bit."""
    tf.keras.backend.set_floatx("float64")
    try:
        weights, history, predicted = fit(convnet(), True, monkeypatch)
        weights2, history2, predicted2 = fit(convnet(), False, monkeypatch)
    finally:
        tf.keras.backend.set_floatx("float32")
    for a, b in zip(weights, weights2):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    for key in history:
        np.testing.assert_allclose(history[key], history2[key], rtol=1e-12)
    np.testing.assert_allclose(predicted, predicted2, rtol=1e-11, atol=1e-14)


def test_fused_fit_learns_as_the_unfused_one_in_float32(monkeypatch):
    weights, history, _ = fit(convnet(), True, monkeypatch)
    weights2, history2, _ = fit(convnet(), False, monkeypatch)
    for a, b in zip(weights, weights2):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(history["loss"], history2["loss"], rtol=1e-4)


def text_convnet():
    """Conv1D + MaxPooling1D, as Chollet's text models start."""
    tf.set_seed(1)
    model = tf.keras.Sequential(
        [
            layers.Conv1D(7, 5, activation="relu", input_shape=(40, 3)),
            layers.MaxPooling1D(3),
            layers.Flatten(),
            layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile("rmsprop", "sparse_categorical_crossentropy")
    return model


def test_conv1d_and_its_pooling_fuse_and_train_as_apart(monkeypatch):
    assert fused_windows(text_convnet()) == [(1, 3), None, None]
    r = np.random.default_rng(9)
    x, y = r.standard_normal((50, 40, 3)), r.integers(0, 2, 50)
    results = []
    tf.keras.backend.set_floatx("float64")
    try:
        for fused in (True, False):
            monkeypatch.setattr(executor, "fuse_conv_pool", fused)
            model = text_convnet()
            # 50 rows in batches of 16: the last batch is partial
            history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
            results.append((model.get_weights(), history.history["loss"]))
    finally:
        tf.keras.backend.set_floatx("float32")
    (weights, losses), (weights2, losses2) = results
    np.testing.assert_allclose(losses, losses2, rtol=1e-12)
    for a, b in zip(weights, weights2):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
