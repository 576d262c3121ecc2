"""The fast paths of issue #18: max pooling's vector blocks (K = 4, 2, 1
vectors of channels and a tail, per SIMD path), its one-write backward
(max_pool2d_backward given the window: windows apart, every argmax checked
to lie in its window, else the general path) and Dropout's fused forward.

Against tests/reference.py and against the general path bit for bit, on
channel counts around every path's vector widths, odd shapes, 'same' and
'valid' padding, gaps between windows, every SIMD path, 1 and 2 threads,
int32 and int64 argmax; bit-identical for 1 to 4 threads.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference as ref
from tinynn import _core, layers
from tinynn._call_context import CallContext

DTYPES = [np.float32, np.float64]
# Around the vector widths (4, 8, 16 float32; 2, 4, 8 float64) and their
# 4-vector blocks: every combination of whole blocks, K = 2, K = 1 and tail.
CHANNELS = [1, 3, 4, 8, 13, 16, 24, 37, 64, 67, 100]

# (batch, height, width, pool_h, pool_w, stride_h, stride_w, padding), the
# windows apart (pool <= stride): the one-write backward's cases.
APART = [
    (2, 8, 6, 2, 2, 2, 2, "valid"),  # the model's pooling, smaller
    (2, 7, 7, 2, 2, 2, 2, "valid"),  # a leftover row and column (11 -> 5)
    (1, 7, 9, 2, 2, 3, 3, "valid"),  # gaps between windows
    (2, 7, 5, 2, 2, 2, 2, "same"),  # the odd cell padded at the bottom/right
    (1, 10, 8, 3, 2, 3, 2, "same"),  # pad_top 1: the first window clipped
    (2, 1, 17, 1, 4, 1, 4, "same"),  # a 1-D pooling
    (1, 5, 4, 1, 1, 2, 2, "valid"),  # pool 1 stride 2: every other cell
]
# Overlapping windows: the window is passed but the general path runs.
OVERLAP = [(2, 7, 5, 3, 3, 2, 2, "same"), (1, 6, 7, 2, 3, 1, 1, "same")]


def case_id(case):
    return "x".join(map(str, case[:3])) + f"-p{case[3]}{case[4]}s{case[5]}{case[6]}"


def pooled(x, window, y_shape, index_type=np.int32):
    y = np.full(y_shape, np.nan, x.dtype)
    argmax = np.full(y_shape, -7, index_type)
    _core.max_pool2d_forward(x, y, argmax, *window)
    return y, argmax


def relu_like(r, shape, dtype):
    """Normal values with many exact zeros (ties) and a few repeats."""
    x = np.maximum(r.normal(size=shape) - 0.5, 0).astype(dtype)
    x.reshape(-1)[::7] = 0.25
    return x


_REFERENCE: dict = {}


def reference_pool(x, y_shape, window):
    key = (x.tobytes(), x.dtype.str, x.shape, y_shape, window)
    if key not in _REFERENCE:
        _REFERENCE[key] = ref.max_pool2d(x, y_shape[1:3], window)
    return _REFERENCE[key]


# ---- forward: the vector blocks --------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", CHANNELS)
def test_forward_blocks_match_the_reference(simd, threads, dtype, channels):
    for case in (APART[1], APART[4], OVERLAP[0]):
        x_shape, y_shape, window = ref.pool_case(case, channels)
        x = relu_like(np.random.default_rng(channels), x_shape, dtype)
        want_y, want_at = reference_pool(x, y_shape, window)
        for index_type in (np.int32, np.int64):
            y, argmax = pooled(x, window, y_shape, index_type)
            np.testing.assert_array_equal(y, want_y.astype(dtype))
            np.testing.assert_array_equal(argmax, want_at)
        y_inference = np.full(y_shape, np.nan, dtype)
        _core.max_pool2d_forward(x, y_inference, None, *window)
        np.testing.assert_array_equal(y_inference, y)


@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_nan_never_wins_after_the_first_cell(simd, dtype):
    """x > best is false for NaN: a NaN first cell stays the max, a later NaN
    never replaces one (the comparison, not a max instruction, decides)."""
    x = np.zeros((1, 2, 2, 37), dtype)
    x[0, 0, 0, :5] = np.nan  # first cell NaN: y NaN, argmax 0
    x[0, 1, 1, 5:10] = np.nan  # last cell NaN: y 0, argmax 0
    x[0, 0, 1, 10:] = -0.0
    x[0, 1, 0, 10:] = 1.0
    y, argmax = pooled(x, (2, 2, 2, 2, 0, 0), (1, 1, 1, 37))
    assert np.isnan(y[0, 0, 0, :5]).all() and (argmax[0, 0, 0, :10] == 0).all()
    assert (y[0, 0, 0, 5:10] == 0).all()
    assert (y[0, 0, 0, 10:] == 1).all() and (argmax[0, 0, 0, 10:] == 2).all()


# ---- backward: one write per dx value --------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", APART + OVERLAP, ids=case_id)
def test_windowed_backward_equals_the_general_path(simd, threads, dtype, case):
    for channels in (1, 5, 16, 37, 67):
        x_shape, y_shape, window = ref.pool_case(case, channels)
        r = np.random.default_rng(channels + sum(x_shape))
        x = relu_like(r, x_shape, dtype)
        dy = r.normal(size=y_shape).astype(dtype)
        dy.reshape(-1)[::5] = -0.0  # 0 + -0 is +0: the general path's bits
        dy.reshape(-1)[1::11] = np.inf
        dy.reshape(-1)[2::13] = np.nan
        _, want_at = reference_pool(x, y_shape, window)
        want = ref.max_pool2d_backward(dy, want_at, x_shape[1:3])
        for index_type in (np.int32, np.int64):
            _, argmax = pooled(x, window, y_shape, index_type)
            general = np.full(x_shape, 7, dtype)
            _core.max_pool2d_backward(dy, argmax, general)
            dx = np.full(x_shape, 7, dtype)
            _core.max_pool2d_backward(dy, argmax, dx, *window)
            assert dx.tobytes() == general.tobytes()
            if case in APART:  # one dy per cell: exact
                np.testing.assert_array_equal(dx, want.astype(dtype))
            else:  # overlapping windows add dy in the dtype
                rtol = 1e-5 if dtype == np.float32 else 1e-12
                np.testing.assert_allclose(dx, want, rtol=rtol, atol=1e-30)


@pytest.mark.parametrize("dtype", DTYPES)
def test_argmax_outside_its_window_takes_the_general_path(simd, threads, dtype):
    """An argmax in range but in another window (only a hand-made one can be)
    is routed where it points, as without the window."""
    x_shape, y_shape, window = ref.pool_case(APART[0], 37)
    r = np.random.default_rng(4)
    x = r.normal(size=x_shape).astype(dtype)
    dy = r.normal(size=y_shape).astype(dtype)
    for index_type in (np.int32, np.int64):
        _, argmax = pooled(x, window, y_shape, index_type)
        argmax[1, 2, 1, 36] = 0  # the top-left cell, not in window (2, 1)
        argmax[0, 0, 0, 3] = x_shape[1] * x_shape[2] - 1  # the last cell
        general = np.empty(x_shape, dtype)
        _core.max_pool2d_backward(dy, argmax, general)
        dx = np.full(x_shape, np.nan, dtype)
        _core.max_pool2d_backward(dy, argmax, dx, *window)
        assert dx.tobytes() == general.tobytes()
        want = ref.max_pool2d_backward(dy, argmax, x_shape[1:3])
        np.testing.assert_array_equal(dx, want.astype(dtype))


@pytest.mark.parametrize("bad", [-1, 48, 2**31 - 1, -(2**31)])
def test_windowed_backward_rejects_bad_argmax_before_any_write(bad):
    x_shape, y_shape, window = ref.pool_case(APART[0], 3)
    dy = np.ones(y_shape)
    for index_type in (np.int32, np.int64):
        _, argmax = pooled(np.ones(x_shape), window, y_shape, index_type)
        argmax[1, 3, 2, 2] = bad
        dx = np.full(x_shape, 7.0)
        with pytest.raises(ValueError, match=f"argmax holds {bad} at flat position"):
            _core.max_pool2d_backward(dy, argmax, dx, *window)
        assert (dx == 7.0).all()


def test_windowed_backward_checks_the_window():
    dy, dx = np.ones((1, 2, 2, 1)), np.ones((1, 5, 5, 1))
    argmax = np.zeros((1, 2, 2, 1), np.int32)
    with pytest.raises(TypeError, match="six integers .* or none; got 3"):
        _core.max_pool2d_backward(dy, argmax, dx, 2, 2, 2)
    with pytest.raises(ValueError, match="expected at most 1 x 1"):
        _core.max_pool2d_backward(dy, argmax, dx, 2, 2, 5, 5, 0, 0)
    with pytest.raises(TypeError, match="stride_h must be an integer"):
        _core.max_pool2d_backward(dy, argmax, dx, 2, 2, 2.0, 2, 0, 0)
    assert (dx == 1).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_bit_identical_for_any_thread_count(simd, dtype):
    r = np.random.default_rng(9)
    x = relu_like(r, (37, 22, 23, 67), dtype)
    dy = r.normal(size=(37, 11, 11, 67)).astype(dtype)
    window = (2, 2, 2, 2, 0, 0)
    before = _core.get_num_threads()
    results = []
    try:
        for count in (1, 2, 3, 4):
            _core.set_num_threads(count)
            y, argmax = pooled(x, window, dy.shape)
            dx = np.empty_like(x)
            _core.max_pool2d_backward(dy, argmax, dx, *window)
            results.append(y.tobytes() + argmax.tobytes() + dx.tobytes())
    finally:
        _core.set_num_threads(before)
    assert all(r == results[0] for r in results[1:])


@pytest.mark.parametrize(
    "cls, shape, pool, strides, padding",
    [
        (layers.MaxPooling2D, (3, 9, 7, 5), 2, None, "same"),
        (layers.MaxPooling2D, (3, 11, 11, 64), 2, None, "valid"),
        (layers.MaxPooling2D, (2, 9, 8, 3), 3, 2, "same"),  # overlapping
        (layers.MaxPooling1D, (2, 13, 6), 3, None, "valid"),
    ],
)
def test_layers_backward_equals_the_general_kernel(cls, shape, pool, strides, padding):
    layer = cls(pool, strides=strides, padding=padding)
    layer.build((None, *shape[1:]))
    x = relu_like(np.random.default_rng(1), shape, np.float32)
    ctx = CallContext()
    out = np.empty((shape[0], *layer._output_features(shape[1:])), np.float32)
    layer._forward(x, True, out, ctx)
    dy = np.random.default_rng(2).normal(size=out.shape).astype(np.float32)
    dx = layer._backward(dy, np.empty_like(x), ctx)
    argmax = ctx.buffer("argmax", layer._as4d(dy).shape, np.int32)
    want = np.empty_like(x)
    _core.max_pool2d_backward(layer._as4d(dy), argmax, layer._as4d(want))
    assert dx.tobytes() == want.tobytes()


# ---- Dropout ----------------------------------------------------------------------
def numpy_dropout(u, x, rate):
    """What Dropout computed before the kernel: NumPy's three passes."""
    keep = np.greater_equal(u, rate)
    mask = np.empty_like(u)
    np.multiply(keep, 1.0 / (1.0 - rate), out=mask)
    with np.errstate(invalid="ignore"):  # inf * 0
        return mask, x * mask


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [1, 7, 16384, 16384 * 3 + 5])
def test_dropout_forward(simd, threads, dtype, size):
    r = np.random.default_rng(size)
    x = r.normal(size=size).astype(dtype)
    x[:4] = [np.nan, np.inf, -0.0, -np.inf][: min(4, size)]
    for rate in (0.0, 0.1, 0.5, 1 / 3, 0.999):
        u = r.random(size, dtype=dtype)
        u[0] = dtype(rate)  # a draw equal to the rate is kept
        want_mask, want_out = numpy_dropout(u, x, rate)
        mask, out = u.copy(), np.empty_like(x)
        _core.dropout_forward(mask, x, out, rate)
        assert mask.tobytes() == want_mask.tobytes()
        assert out.tobytes() == want_out.tobytes()
        small = slice(0, min(size, 300))
        with np.errstate(invalid="ignore"):
            ref_mask, ref_out = ref.dropout_forward(u[small], x[small], rate)
        np.testing.assert_array_equal(mask[small], ref_mask)
        np.testing.assert_array_equal(out[small], ref_out.astype(dtype))
        in_place, mask = x.copy(), u.copy()
        _core.dropout_forward(mask, in_place, in_place, rate)
        assert in_place.tobytes() == out.tobytes()


def test_dropout_forward_bit_identical_for_any_thread_count():
    r = np.random.default_rng(0)
    x = r.normal(size=(129, 1601)).astype(np.float32)
    u = r.random(x.shape, dtype=np.float32)
    before, results = _core.get_num_threads(), []
    try:
        for count in (1, 2, 3, 4):
            _core.set_num_threads(count)
            mask, out = u.copy(), np.empty_like(x)
            _core.dropout_forward(mask, x, out, 0.5)
            results.append(mask.tobytes() + out.tobytes())
    finally:
        _core.set_num_threads(before)
    assert all(r == results[0] for r in results[1:])


@pytest.mark.parametrize(
    "rate, error", [(1.0, ValueError), (-0.1, ValueError), ("half", TypeError)]
)
def test_dropout_forward_rejects_a_bad_rate(rate, error):
    x = np.ones((3, 4))
    with pytest.raises(error, match="rate"):
        _core.dropout_forward(np.zeros((3, 4)), x, np.empty_like(x), rate)


def test_dropout_forward_rejects_overlapping_mask():
    x = np.ones((3, 4))
    with pytest.raises(ValueError, match="mask"):
        _core.dropout_forward(x, x, np.empty_like(x), 0.5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dropout_layer_keeps_its_random_stream(dtype):
    """The mask is drawn exactly as before (rng.random into the mask in the
    layer's dtype), so a seed gives the masks it gave before the kernel."""
    x = np.random.default_rng(5).normal(size=(6, 50)).astype(dtype)
    layer = layers.Dropout(0.3, seed=11, dtype=dtype)
    first = np.asarray(layer(x, training=True))
    second = np.asarray(layer(x, training=True))
    rng = np.random.default_rng(11)
    for got in (first, second):
        u = rng.random(x.shape, dtype=np.dtype(dtype))
        _, want = numpy_dropout(u, x, 0.3)
        assert got.tobytes() == want.tobytes()
