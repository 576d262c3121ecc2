"""The conv2d kernels of tinynn._core against tests/reference.py.

Forward, backward (dx, dw, db with and without accumulate), transpose
forward and backward, on odd geometries: primes, strides 2 and 3, dilation
2, even kernels with TF's asymmetric "same" padding, a kernel as large as
the input, one channel, one filter, batch 1, 1x1 kernels (x is its own
columns matrix), and shapes whose output lines cross im2col panel edges
(mid-sample, and samples larger than one panel), kernels with more taps
than one tap group, outputs wider than a micro-tile. float64 to 1e-12 and
float32 to 1e-5 relative to |x| * |w| (the reference run on absolute
values), on every SIMD path and with 1 and 2 threads; central differences
for every gradient.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference as ref
from tinynn import _core

RTOL = {np.float32: 1e-5, np.float64: 1e-12}
DTYPES = [np.float32, np.float64]


def same_padding(size, kernel, stride, dilation):
    """TF's "same": out = ceil(size / stride), the odd pad at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def geometry(h, w, kh, kw, strides, dilation, padding):
    """padding: 'valid', 'same' or explicit (top, left, bottom, right)."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        top, bottom = same_padding(h, kh, strides[0], dilation[0])
        left, right = same_padding(w, kw, strides[1], dilation[1])
        return (top, left, bottom, right)
    return padding


# (batch, height, width, channels, kh, kw, filters, strides, dilation, padding)
SHAPES = [
    (1, 1, 1, 1, 1, 1, 1, (1, 1), (1, 1), "valid"),
    (2, 7, 5, 3, 3, 2, 4, (1, 1), (1, 1), "valid"),
    (3, 13, 11, 2, 3, 3, 5, (2, 3), (1, 1), "same"),
    (2, 11, 13, 3, 3, 3, 7, (3, 2), (2, 1), (1, 2, 2, 1)),
    (1, 9, 9, 1, 4, 4, 1, (1, 1), (1, 1), "same"),  # even kernel, same
    (2, 8, 6, 3, 2, 4, 3, (2, 2), (1, 1), "same"),
    (2, 10, 10, 3, 3, 3, 2, (1, 1), (2, 2), "same"),  # dilation 2
    (2, 12, 9, 2, 3, 2, 3, (2, 1), (2, 3), "valid"),
    (3, 5, 7, 1, 5, 7, 1, (1, 1), (1, 1), "valid"),  # kernel = input
    (2, 5, 5, 3, 5, 5, 2, (2, 2), (1, 1), "same"),
    (2, 6, 7, 5, 1, 1, 3, (1, 1), (1, 1), "valid"),  # pointwise
    (2, 6, 7, 5, 1, 1, 3, (2, 2), (1, 1), "valid"),  # 1x1 strided
    (1, 1, 13, 7, 1, 3, 5, (1, 2), (1, 1), "same"),  # Conv1D
    (4, 1, 17, 3, 1, 5, 4, (1, 1), (1, 3), "valid"),  # Conv1D dilated
    (1, 7, 7, 67, 3, 3, 3, (1, 1), (1, 1), "same"),  # channels > 64
    (3, 34, 34, 32, 3, 3, 5, (1, 1), (1, 1), "valid"),  # parts of many chunks
    (2, 64, 64, 32, 3, 3, 3, (1, 1), (1, 1), "same"),
    (1, 10, 9, 2, 9, 8, 3, (1, 1), (1, 1), "same"),  # 72 taps: two tap groups
    (2, 6, 5, 3, 3, 3, 37, (1, 1), (1, 1), "same"),  # filters: 2-3 panels + fringe
    (2, 5, 6, 37, 3, 2, 2, (2, 1), (1, 1), "same"),  # channels: panels, stride 2
    (1, 3, 4, 1, 2, 2, 70, (1, 1), (1, 1), "valid"),  # fewer pixels than parts
    # input-gradient rows cut into more segments than grouped (natural order)
    (2, 1, 40, 2, 1, 19, 3, (1, 1), (1, 1), "same"),
    # grouped input-gradient rows: a short last block of samples that a chunk
    # reaches from the one before (for every micro-tile height: 8, 6, 4)
    (11, 5, 4, 2, 3, 3, 3, (1, 1), (1, 1), "same"),
    # a big kernel gradient (over TNN_CONV_SMALL_GRAD elements): im2col
    # panels, whose edges fall mid-sample in both dtypes
    (2, 60, 10, 64, 3, 3, 128, (1, 1), (1, 1), "valid"),
]
IDS = [f"s{i}" for i in range(len(SHAPES))]
_CACHE: dict = {}


def case(index, dtype):
    """Inputs, geometry and float64 references of SHAPES[index] (cached)."""
    key = (index, dtype)
    if key in _CACHE:
        return _CACHE[key]
    n, h, w, c, kh, kw, f, strides, dilation, padding = SHAPES[index]
    pad = geometry(h, w, kh, kw, strides, dilation, padding)
    r = np.random.default_rng(index)
    x = r.normal(size=(n, h, w, c)).astype(dtype)
    k = r.normal(size=(kh, kw, c, f)).astype(dtype)
    b = r.normal(size=f).astype(dtype)
    oh = ref.conv_output_size(h, kh, strides[0], dilation[0], pad[0], pad[2])
    ow = ref.conv_output_size(w, kw, strides[1], dilation[1], pad[1], pad[3])
    dy = r.normal(size=(n, oh, ow, f)).astype(dtype)
    bt = r.normal(size=c).astype(dtype)
    dyt = r.normal(size=(n, h, w, c)).astype(dtype)
    geo = (strides, dilation, pad)
    a = [np.abs(v.astype(np.float64)) for v in (x, k, b, dy, bt, dyt)]
    result = dict(
        x=x,
        k=k,
        b=b,
        dy=dy,
        bt=bt,
        dyt=dyt,
        geo=geo,
        fwd=ref.conv2d_forward(x, k, b, *geo),
        fwd_scale=ref.conv2d_forward(a[0], a[1], a[2], *geo),
        bwd=ref.conv2d_backward(x, k, dy, *geo),
        bwd_scale=ref.conv2d_backward(a[0], a[1], a[3], *geo),
        tfwd=ref.conv2d_transpose_forward(dy, k, bt, (h, w), *geo),
        tfwd_scale=ref.conv2d_transpose_forward(a[3], a[1], a[4], (h, w), *geo),
        tbwd=ref.conv2d_transpose_backward(dy, k, dyt, *geo),
        tbwd_scale=ref.conv2d_transpose_backward(a[3], a[1], a[5], *geo),
    )
    _CACHE[key] = result
    return result


def assert_close(got, want, scale, dtype):
    got = np.asarray(got, np.float64)
    bound = RTOL[dtype] * np.maximum(np.asarray(scale, np.float64), 1e-30)
    err = np.abs(got - want)
    assert np.all(err <= bound), f"max error ratio {np.max(err / bound):.3g}"


def test_shapes_reach_every_kernel_gradient_path():
    """The big SHAPE crosses im2col panel edges; the others sum in parts."""
    for itemsize in (4, 8):
        n, h, w, c, kh, kw, f = SHAPES[-1][:7]
        out_h, out_w = h - kh + 1, w - kw + 1
        lines = _core.conv2d_panel_lines(n, out_h, out_w, kh, kw, c, f, itemsize)
        assert 0 < lines < n * out_h and lines % out_h != 0
        small = SHAPES[-6]  # (2, 6, 5, 3, 3, 3, 37, ...): summed in parts
        n, h, w, c, kh, kw, f = small[:7]
        assert _core.conv2d_panel_lines(n, h, w, kh, kw, c, f, itemsize) == 0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index", range(len(SHAPES)), ids=IDS)
def test_conv2d_forward(simd, threads, dtype, index):
    t = case(index, dtype)
    x0 = t["x"].copy()
    y = np.full(t["fwd"].shape, np.nan, dtype)
    _core.conv2d_forward(t["x"], t["k"], t["b"], y, *t["geo"])
    assert_close(y, t["fwd"], t["fwd_scale"], dtype)
    np.testing.assert_array_equal(t["x"], x0)
    # No bias; fused activations (1-Lipschitz: bound by the row's scale).
    _core.conv2d_forward(t["x"], t["k"], None, y, *t["geo"], activation="linear")
    assert_close(y, t["fwd"] - t["b"], t["fwd_scale"], dtype)
    row_scale = t["fwd_scale"].max(axis=-1, keepdims=True)
    for act in ("relu", "sigmoid", "tanh", "softmax"):
        _core.conv2d_forward(t["x"], t["k"], t["b"], y, *t["geo"], activation=act)
        want = ref._act_last_axis(act, t["fwd"])
        assert_close(y, want, row_scale if act != "relu" else t["fwd_scale"], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index", [1, 2, 14, 18, 19])
def test_fused_relu_is_relu_of_the_linear_output_exactly(simd, dtype, index):
    """relu (fused into the micro-tile's store) is bit for bit the linear
    output with negatives set to 0; NaN stays NaN, as the activation does."""
    t = case(index, dtype)
    x = t["x"].copy()
    x.reshape(-1)[::7] = np.nan  # NaN in some windows
    linear = np.empty(t["fwd"].shape, dtype)
    fused = np.empty_like(linear)
    _core.conv2d_forward(x, t["k"], t["b"], linear, *t["geo"], activation="linear")
    _core.conv2d_forward(x, t["k"], t["b"], fused, *t["geo"], activation="relu")
    assert np.isnan(linear).any()
    want = np.where(linear < 0, dtype(0), linear)
    np.testing.assert_array_equal(fused, want)  # NaN positions equal too


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index", range(len(SHAPES)), ids=IDS)
def test_conv2d_backward(simd, threads, dtype, index):
    t = case(index, dtype)
    dx = np.full(t["x"].shape, np.nan, dtype)
    dw = np.full(t["k"].shape, np.nan, dtype)
    db = np.full(t["b"].shape, np.nan, dtype)
    _core.conv2d_backward(t["x"], t["k"], t["dy"], dx, dw, db, *t["geo"])
    for got, want, scale in zip((dx, dw, db), t["bwd"], t["bwd_scale"]):
        assert_close(got, want, scale, dtype)
    # accumulate adds to dw and db; None skips dx and db.
    _core.conv2d_backward(
        t["x"], t["k"], t["dy"], None, dw, db, *t["geo"], accumulate=True
    )
    assert_close(dw, 2 * t["bwd"][1], 2 * t["bwd_scale"][1], dtype)
    assert_close(db, 2 * t["bwd"][2], 2 * t["bwd_scale"][2], dtype)
    _core.conv2d_backward(t["x"], t["k"], t["dy"], None, dw, None, *t["geo"])
    assert_close(dw, t["bwd"][1], t["bwd_scale"][1], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index", range(len(SHAPES)), ids=IDS)
def test_conv2d_transpose(simd, threads, dtype, index):
    t = case(index, dtype)
    y = np.full(t["x"].shape, np.nan, dtype)
    _core.conv2d_transpose_forward(t["dy"], t["k"], t["bt"], y, *t["geo"])
    assert_close(y, t["tfwd"], t["tfwd_scale"], dtype)
    _core.conv2d_transpose_forward(
        t["dy"], t["k"], t["bt"], y, *t["geo"], activation="relu"
    )
    assert_close(y, np.maximum(t["tfwd"], 0), t["tfwd_scale"], dtype)
    row_scale = t["tfwd_scale"].max(axis=-1, keepdims=True)
    for act in ("sigmoid", "tanh", "softmax"):  # applied row by row after
        _core.conv2d_transpose_forward(
            t["dy"], t["k"], t["bt"], y, *t["geo"], activation=act
        )
        assert_close(y, ref._act_last_axis(act, t["tfwd"]), row_scale, dtype)
    dx = np.full(t["dy"].shape, np.nan, dtype)
    dw = np.full(t["k"].shape, np.nan, dtype)
    db = np.full(t["bt"].shape, np.nan, dtype)
    _core.conv2d_transpose_backward(t["dy"], t["k"], t["dyt"], dx, dw, db, *t["geo"])
    for got, want, scale in zip((dx, dw, db), t["tbwd"], t["tbwd_scale"]):
        assert_close(got, want, scale, dtype)
    _core.conv2d_transpose_backward(
        t["dy"], t["k"], t["dyt"], None, dw, db, *t["geo"], accumulate=True
    )
    assert_close(dw, 2 * t["tbwd"][1], 2 * t["tbwd_scale"][1], dtype)
    assert_close(db, 2 * t["tbwd"][2], 2 * t["tbwd_scale"][2], dtype)


def test_transpose_is_the_input_gradient_and_its_backward_the_forward():
    """conv2d_transpose_forward(dy) == conv2d_backward's dx, and
    conv2d_transpose_backward's dx == conv2d_forward (bit for bit: one body)."""
    t = case(3, np.float64)
    dx = np.empty_like(t["x"])
    dw = np.empty_like(t["k"])
    _core.conv2d_backward(t["x"], t["k"], t["dy"], dx, dw, None, *t["geo"])
    y = np.empty_like(t["x"])
    _core.conv2d_transpose_forward(t["dy"], t["k"], None, y, *t["geo"])
    np.testing.assert_array_equal(y, dx)
    fwd = np.empty_like(t["dy"])
    _core.conv2d_forward(t["x"], t["k"], None, fwd, *t["geo"])
    tdx = np.empty_like(t["dy"])
    _core.conv2d_transpose_backward(t["dy"], t["k"], t["x"], tdx, dw, None, *t["geo"])
    np.testing.assert_array_equal(tdx, fwd)


def test_empty_batch_writes_zero_gradients():
    x = np.zeros((0, 5, 5, 2))
    k = np.ones((3, 3, 2, 4))
    y = np.empty((0, 3, 3, 4))
    _core.conv2d_forward(x, k, None, y, (1, 1), (1, 1), (0, 0, 0, 0))
    dw, db = np.full_like(k, np.nan), np.full(4, np.nan)
    _core.conv2d_backward(x, k, y, np.empty_like(x), dw, db, (1, 1), (1, 1), (0,) * 4)
    assert not dw.any() and not db.any()


# ---- central differences (float64) ------------------------------------------------
GRAD_SHAPES = [
    (2, 5, 6, 2, 3, 2, 3, (2, 1), (1, 2), "same"),
    (1, 6, 5, 3, 4, 4, 2, (3, 2), (1, 1), "same"),
    (2, 4, 4, 1, 1, 1, 2, (1, 1), (1, 1), "valid"),
    (1, 1, 9, 2, 1, 3, 2, (1, 2), (1, 1), (0, 1, 0, 2)),
]


def numeric_gradient(f, v, eps=1e-6):
    g = np.zeros_like(v)
    flat, gflat = v.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + eps
        plus = f()
        flat[i] = keep - eps
        minus = f()
        flat[i] = keep
        gflat[i] = (plus - minus) / (2 * eps)
    return g


@pytest.mark.parametrize("shape", GRAD_SHAPES)
@pytest.mark.parametrize("transpose", [False, True])
def test_gradients_by_central_differences(shape, transpose):
    n, h, w, c, kh, kw, f, strides, dilation, padding = shape
    geo = (strides, dilation, geometry(h, w, kh, kw, strides, dilation, padding))
    pad = geo[2]
    oh = ref.conv_output_size(h, kh, strides[0], dilation[0], pad[0], pad[2])
    ow = ref.conv_output_size(w, kw, strides[1], dilation[1], pad[1], pad[3])
    r = np.random.default_rng(5)
    k = r.normal(size=(kh, kw, c, f))
    if transpose:  # input shaped like the convolution's output
        x, b = r.normal(size=(n, oh, ow, f)), r.normal(size=c)
        out_shape, fwd, bwd = (n, h, w, c), "transpose_forward", "transpose_backward"
    else:
        x, b = r.normal(size=(n, h, w, c)), r.normal(size=f)
        out_shape, fwd, bwd = (n, oh, ow, f), "forward", "backward"
    probe = r.normal(size=out_shape)  # loss = sum(probe * y)
    y = np.empty(out_shape)

    def loss():
        getattr(_core, f"conv2d_{fwd}")(x, k, b, y, *geo)
        return float((probe * y).sum())

    dx, dw, db = np.empty_like(x), np.empty_like(k), np.empty_like(b)
    getattr(_core, f"conv2d_{bwd}")(x, k, probe, dx, dw, db, *geo)
    for got, v in ((dx, x), (dw, k), (db, b)):
        want = numeric_gradient(loss, v)
        err = np.abs(got - want).max() / max(np.abs(want).max(), 1e-12)
        assert err < 1e-6, err
