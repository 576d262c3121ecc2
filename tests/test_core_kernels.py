"""Every kernel of tinynn._core against tests/reference.py.

float64 must agree to 1e-12 and float32 to 1e-5, relative to the magnitude
the result is built from (|a| @ |b| for products), on odd shapes (1, primes,
sizes that are not multiples of the SIMD width) and on the articles' shapes,
on every SIMD path and with 1 and 2 threads.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference as ref
from tinynn import _core

RTOL = {np.float32: 1e-5, np.float64: 1e-12}
DTYPES = [np.float32, np.float64]
GEMM_SHAPES = [
    (1, 1, 1),
    (1, 7, 13),
    (7, 13, 97),
    (13, 97, 7),
    (97, 257, 13),
    (31, 33, 300),
    (2, 3, 5000),
    (300, 5, 17),
    (3, 2100, 9),
    (32, 512, 784),
    (100, 500, 784),
    (32, 10, 128),
]
DENSE_SHAPES = [
    (1, 1, 1),
    (1, 13, 7),
    (7, 97, 13),
    (97, 13, 257),
    (32, 784, 512),
    (100, 784, 500),
    (32, 128, 10),
]


def rng(seed=0):
    return np.random.default_rng(seed)


def assert_close(got, want, scale, dtype):
    """|got - want| <= rtol * scale elementwise (scale: what the result is built from)."""
    got = np.asarray(got, np.float64)
    bound = RTOL[dtype] * np.maximum(np.asarray(scale, np.float64), 1e-30)
    err = np.abs(got - want)
    assert np.all(err <= bound), f"max error ratio {np.max(err / bound):.3g}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,n,k", GEMM_SHAPES)
@pytest.mark.parametrize(
    "trans_a,trans_b", [(False, False), (True, False), (False, True), (True, True)]
)
def test_gemm(simd, threads, dtype, m, n, k, trans_a, trans_b):
    r = rng(m * 1000 + n * 10 + k)
    a = r.normal(size=(k, m) if trans_a else (m, k)).astype(dtype)
    b = r.normal(size=(n, k) if trans_b else (k, n)).astype(dtype)
    c = np.full((m, n), np.nan, dtype)  # accumulate=False must not read c
    _core.gemm(a, b, c, trans_a=trans_a, trans_b=trans_b)
    scale = ref.gemm(np.abs(a), np.abs(b), trans_a=trans_a, trans_b=trans_b)
    assert_close(c, ref.gemm(a, b, trans_a=trans_a, trans_b=trans_b), scale, dtype)
    before = c.astype(np.float64)
    _core.gemm(a, b, c, trans_a=trans_a, trans_b=trans_b, accumulate=True)
    assert_close(
        c,
        before + ref.gemm(a, b, trans_a=trans_a, trans_b=trans_b),
        2 * scale + np.abs(before),
        dtype,
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_empty_sum(dtype):
    a, b = np.zeros((3, 0), dtype), np.zeros((0, 4), dtype)
    c = np.full((3, 4), np.nan, dtype)
    _core.gemm(a, b, c)
    assert np.all(c == 0)
    c[:] = 2
    _core.gemm(a, b, c, accumulate=True)
    assert np.all(c == 2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch,fan_in,fan_out", DENSE_SHAPES)
@pytest.mark.parametrize("activation", ["linear", "relu", "sigmoid", "tanh", "softmax"])
def test_dense_forward(simd, threads, dtype, batch, fan_in, fan_out, activation):
    r = rng(batch + fan_in + fan_out)
    x = r.normal(size=(batch, fan_in)).astype(dtype)
    w = r.normal(size=(fan_in, fan_out)).astype(dtype)
    b = r.normal(size=fan_out).astype(dtype)
    y = np.empty((batch, fan_out), dtype)
    x0 = x.copy()
    _core.dense_forward(x, w, b, y, activation=activation)
    want = ref.dense_forward(x, w, b, activation)
    z_scale = np.abs(x.astype(np.float64)) @ np.abs(w) + np.abs(b)
    # Activations are 1-Lipschitz (softmax included, per element in max-norm
    # terms of the row), so the pre-activation error bounds the output error.
    scale = (
        z_scale
        if activation in ("linear", "relu")
        else z_scale.max(axis=1, keepdims=True)
    )
    assert_close(y, want, scale, dtype)
    np.testing.assert_array_equal(x, x0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch,fan_in,fan_out", DENSE_SHAPES)
def test_dense_backward(simd, threads, dtype, batch, fan_in, fan_out):
    r = rng(7 + batch)
    x = r.normal(size=(batch, fan_in)).astype(dtype)
    w = r.normal(size=(fan_in, fan_out)).astype(dtype)
    dy = r.normal(size=(batch, fan_out)).astype(dtype)
    dx = np.full((batch, fan_in), np.nan, dtype)
    dw = np.full((fan_in, fan_out), np.nan, dtype)
    db = np.full(fan_out, np.nan, dtype)
    _core.dense_backward(x, w, dy, dx, dw, db)
    want_dx, want_dw, want_db = ref.dense_backward(x, w, dy)
    ax, aw, ady = (np.abs(v.astype(np.float64)) for v in (x, w, dy))
    assert_close(dx, want_dx, ady @ aw.T, dtype)
    assert_close(dw, want_dw, ax.T @ ady, dtype)
    assert_close(db, want_db, ady.sum(axis=0), dtype)
    # accumulate adds to dw and db; dx is always overwritten; None skips dx, db.
    _core.dense_backward(x, w, dy, None, dw, None, accumulate=True)
    assert_close(dw, 2 * want_dw, 2 * ax.T @ ady, dtype)
    assert_close(db, want_db, ady.sum(axis=0), dtype)


# Both ways the input gradient is computed: dx^T = w dy^T (batch <= 2 NR and
# fan_out >= 64; stored transposed) and dx = dy w^T, full tiles and fringes,
# a sum of more than one slice (fan_out > 256).
GATE_SHAPES = DENSE_SHAPES + [(64, 130, 67), (5, 33, 300), (65, 130, 67)]


def _gate(r, shape, dtype):
    """Normal values with exact zeros, negative zeros and NaN among them:
    relu outputs are 0 where the layer was inactive."""
    gate = r.normal(size=shape)
    gate[r.random(shape) < 0.3] = 0.0
    gate[r.random(shape) < 0.05] = -0.0
    gate[r.random(shape) < 0.05] = np.nan
    return gate.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch,fan_in,fan_out", GATE_SHAPES)
@pytest.mark.parametrize("adam", [False, True])
def test_dense_backward_gate_is_relu_backward(
    simd, threads, dtype, batch, fan_in, fan_out, adam
):
    """gate=y gives the bits of the ungated kernel followed by relu's
    backward with y (dx = y > 0 ? dx : +0), and changes nothing else."""
    r = rng(3 + batch + fan_out)
    x = r.normal(size=(batch, fan_in)).astype(dtype)
    w = r.normal(size=(fan_in, fan_out)).astype(dtype)
    dy = r.normal(size=(batch, fan_out)).astype(dtype)
    gate = _gate(r, (batch, fan_in), dtype)
    if batch > 5:  # rows of dx that are inf or NaN before the gate
        dy[1, 0], dy[3, 0] = np.inf, np.nan

    def run(gate):
        dx = np.full((batch, fan_in), np.nan, dtype)
        dw = np.full((fan_in, fan_out), np.nan, dtype)
        db = np.full(fan_out, np.nan, dtype)
        w_run = w.copy()
        if adam:
            moments = [np.zeros_like(w), np.zeros_like(w), None]
            moments += [np.zeros(fan_out, dtype), np.zeros(fan_out, dtype), None]
            b = np.zeros(fan_out, dtype)
            _core.dense_backward_adam(
                x, w_run, b, dy, dx, dw, db, *moments, 0.01, 0.9, 0.999, 1e-7, 1,
                gate=gate,
            )  # fmt: skip
        else:
            _core.dense_backward(x, w_run, dy, dx, dw, db, gate=gate)
        return dx, dw, db, w_run

    plain, gated = run(None), run(gate)
    want_dx = np.where(gate > 0, plain[0], 0).astype(dtype)
    np.testing.assert_array_equal(gated[0], want_dx)
    assert not np.any(np.signbit(gated[0][~(gate > 0)])), "a gated zero is -0"
    for got, want in zip(gated[1:], plain[1:]):
        np.testing.assert_array_equal(got, want)
    finite = np.isfinite(dy).all(axis=1)
    ref_dx = ref.dense_backward(x[finite], w, dy[finite])[0]
    scale = np.abs(dy[finite].astype(np.float64)) @ np.abs(w.astype(np.float64)).T
    want = np.where(gate[finite] > 0, ref_dx, 0)
    assert_close(gated[0][finite], want, scale, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["linear", "relu", "sigmoid", "tanh", "softmax"])
@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (97, 10), (300, 257), (2, 50000)])
def test_activation_forward_backward(threads, dtype, name, shape):
    r = rng(sum(shape))
    x = (r.normal(size=shape) * 3).astype(dtype)
    y = np.empty_like(x)
    getattr(_core, f"{name}_forward")(x, y)
    want = ref.ACTIVATIONS[name](x.astype(np.float64))
    assert_close(
        y,
        want,
        np.maximum(np.abs(want), 1e-3 if dtype == np.float32 else 1e-8)
        * (10 if dtype == np.float32 and name in ("sigmoid", "softmax") else 1),
        dtype,
    )
    dy = r.normal(size=shape).astype(dtype)
    dx = np.empty_like(x)
    getattr(_core, f"{name}_backward")(y, dy, dx)
    want_dx = ref.activation_backward(name, y, dy)
    scale = np.abs(dy) * (1 + np.abs(y)) + (
        np.abs(dy * y).sum(1, keepdims=True) if name == "softmax" else 0
    )
    assert_close(dx, want_dx, scale, dtype)


NEW_ACTIVATIONS = [
    "elu",
    "selu",
    "softplus",
    "leaky_relu",
    "swish",
    "gelu",
    "gelu_tanh",
]
FROM_INPUT = ("swish", "gelu", "gelu_tanh")


@pytest.mark.parametrize(
    "name", ["linear", "relu", "sigmoid", "tanh", "softmax", *NEW_ACTIVATIONS]
)
def test_activation_in_place_matches_out_of_place(name):
    r = rng(3)
    x = r.normal(size=(17, 23))
    y = np.empty_like(x)
    getattr(_core, f"{name}_forward")(x, y)
    inplace = x.copy()
    getattr(_core, f"{name}_forward")(inplace, inplace)
    np.testing.assert_array_equal(inplace, y)
    source = x if name in FROM_INPUT else y
    dy = r.normal(size=x.shape)
    dx = np.empty_like(x)
    getattr(_core, f"{name}_backward")(source, dy, dx)
    getattr(_core, f"{name}_backward")(source, dy, dy)
    np.testing.assert_array_equal(dy, dx)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (97, 10), (1, 257), (3, 4099)])
def test_new_activation_forward_backward(simd, threads, dtype, name, shape):
    r = rng(sum(shape) + len(name))
    x = (r.normal(size=shape) * 3).astype(dtype)
    x.flat[0] = 0.0  # the kink of elu, leaky_relu and selu
    y = np.empty_like(x)
    getattr(_core, f"{name}_forward")(x, y)
    x64 = x.astype(np.float64)
    want = ref.ACTIVATIONS[name](x64)
    # gelu's 1 + erf(x / sqrt 2) cancels for negative x: its error is built
    # from |x| times the working precision, not from |y|.
    floor = 1e-2 if dtype == np.float32 else 1e-3
    assert_close(y, want, np.abs(want) + floor * np.abs(x64) + 1e-30, dtype)
    dy = r.normal(size=shape).astype(dtype)
    dx = np.full_like(x, np.nan)
    source = x if name in FROM_INPUT else y
    getattr(_core, f"{name}_backward")(source, dy, dx)
    # The reference derivative is written from x; the kernels may use y.
    want_dx = dy * ref.activation_derivative(name, x64)
    scale = np.abs(dy) * (1 + np.abs(x64) + np.abs(want))
    assert_close(dx, want_dx, scale, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "name,alpha", [("elu", 0.7), ("leaky_relu", 0.3), ("elu", 0.0)]
)
def test_activation_alpha(dtype, name, alpha):
    r = rng(11)
    x = (r.normal(size=(13, 7)) * 3).astype(dtype)
    y = np.empty_like(x)
    getattr(_core, f"{name}_forward")(x, y, alpha)
    want = ref.ACTIVATIONS[name](x.astype(np.float64), alpha)
    assert_close(y, want, np.abs(want) + 1e-30, dtype)
    dy = r.normal(size=x.shape).astype(dtype)
    dx = np.empty_like(x)
    getattr(_core, f"{name}_backward")(y, dy, dx, alpha)
    want_dx = dy * ref.activation_derivative(name, x.astype(np.float64), alpha)
    assert_close(dx, want_dx, np.abs(dy) * (1 + np.abs(want)), dtype)


def test_activation_defaults_are_keras():
    """elu's alpha defaults to 1.0, leaky_relu's to 0.2 (the function form)."""
    x = np.array([-2.0, 3.0])
    y = np.empty_like(x)
    _core.elu_forward(x, y)
    np.testing.assert_allclose(y, [np.expm1(-2.0), 3.0], rtol=1e-15)
    _core.leaky_relu_forward(x, y)
    np.testing.assert_allclose(y, [-0.4, 3.0], rtol=1e-15)


@pytest.mark.parametrize("dtype", DTYPES)
def test_new_activations_saturate_without_overflow(dtype):
    x = np.array([-1e4, -100.0, 100.0, 1e4], dtype)
    for name in NEW_ACTIVATIONS:
        with np.errstate(over="ignore"):  # the reference's own exp(1e4)
            want = ref.ACTIVATIONS[name](x.astype(np.float64))
        y = np.empty_like(x)
        getattr(_core, f"{name}_forward")(x, y)
        np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-40, err_msg=name)
        dx = np.empty_like(x)
        source = x if name in FROM_INPUT else y
        getattr(_core, f"{name}_backward")(source, np.ones_like(x), dx)
        assert np.all(np.isfinite(dx)), name


RELU_CLIP = [
    {},
    {"max_value": 6.0},
    {"negative_slope": 0.3},
    {"threshold": 1.0},
    {"max_value": 2.5, "negative_slope": 0.1, "threshold": 0.5},
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("params", RELU_CLIP)
@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (97,), (3, 4099)])
def test_relu_clip(simd, threads, dtype, params, shape):
    r = rng(sum(shape))
    x = (r.normal(size=shape) * 4).astype(dtype)
    y = np.full_like(x, np.nan)
    _core.relu_clip_forward(x, y, **params)
    x64 = x.astype(np.float64)
    assert_close(y, ref.relu_clip(x64, **params), np.abs(x64) + 1, dtype)
    dy = r.normal(size=shape).astype(dtype)
    dx = np.full_like(x, np.nan)
    _core.relu_clip_backward(x, dy, dx, **params)
    want = dy * ref.relu_clip_derivative(x64, **params)
    assert_close(dx, want, np.abs(dy.astype(np.float64)), dtype)
    inplace = x.copy()
    _core.relu_clip_forward(inplace, inplace, **params)
    np.testing.assert_array_equal(inplace, y)


def test_relu_clip_zero_slope_gives_plain_zero_and_keeps_nan():
    x = np.array([-2.0, np.nan, 3.0, 9.0])
    y = np.empty_like(x)
    _core.relu_clip_forward(x, y, max_value=6.0)
    assert not np.signbit(y[0]) and y[0] == 0 and np.isnan(y[1])
    np.testing.assert_array_equal(y[2:], [3.0, 6.0])


@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
def test_new_activations_are_thread_count_invariant(name):
    x = rng(21).normal(size=(2, 50001)) * 3
    dy = rng(22).normal(size=x.shape)
    before = _core.get_num_threads()
    results = []
    try:
        for count in (1, 2, 3):
            _core.set_num_threads(count)
            y, dx = np.empty_like(x), np.empty_like(x)
            getattr(_core, f"{name}_forward")(x, y)
            getattr(_core, f"{name}_backward")(x if name in FROM_INPUT else y, dy, dx)
            results.append((y, dx))
    finally:
        _core.set_num_threads(before)
    for y, dx in results[1:]:
        np.testing.assert_array_equal(y, results[0][0])
        np.testing.assert_array_equal(dx, results[0][1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows,cols", [(1, 1), (7, 13), (97, 1), (1, 4099), (300, 257)])
def test_rescale(simd, threads, dtype, rows, cols):
    r = rng(rows + cols)
    x = r.normal(size=(rows, cols)).astype(dtype)
    scale = r.normal(size=cols).astype(dtype)
    offset = r.normal(size=cols).astype(dtype)
    y = np.full_like(x, np.nan)
    _core.rescale_forward(x, scale, offset, y)
    want = ref.rescale(x, scale, offset)
    assert_close(y, want, np.abs(x * scale.astype(np.float64)) + np.abs(offset), dtype)
    dy = r.normal(size=x.shape).astype(dtype)
    dx = np.full_like(x, np.nan)
    _core.rescale_backward(dy, scale, dx)
    assert_close(dx, dy * scale.astype(np.float64), np.abs(dy * scale), dtype)
    inplace = x.copy()
    _core.rescale_forward(inplace, scale, offset, inplace)
    np.testing.assert_array_equal(inplace, y)
    _core.rescale_backward(dy, scale, dy)
    np.testing.assert_array_equal(dy, dx)


def test_relu_keeps_nan_visible():
    x = np.array([np.nan, -1.0, 2.0])
    y = np.empty_like(x)
    _core.relu_forward(x, y)
    assert np.isnan(y[0]) and y[1] == 0 and y[2] == 2


def test_sigmoid_saturates_without_overflow():
    x = np.array([-1e4, -100.0, 0.0, 100.0, 1e4], np.float32)
    y = np.empty_like(x)
    _core.sigmoid_forward(x, y)
    np.testing.assert_allclose(y, [0, 0, 0.5, 1, 1], atol=1e-30)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch,classes", [(1, 1), (1, 10), (7, 13), (32, 10), (97, 3)])
@pytest.mark.parametrize(
    "label_dtype", [np.int64, np.int32, np.uint8, np.int16, np.uint64]
)
def test_softmax_xent(dtype, batch, classes, label_dtype):
    r = rng(batch * classes)
    z = (r.normal(size=(batch, classes)) * 4).astype(dtype)
    labels = r.integers(0, classes, size=batch).astype(label_dtype)
    d = np.full_like(z, np.nan)
    loss, correct = _core.softmax_xent(z, labels, d)
    want_loss, want_d, want_correct = ref.softmax_xent(
        z.astype(np.float64), labels.astype(np.int64)
    )
    assert loss == pytest.approx(want_loss, rel=RTOL[dtype], abs=RTOL[dtype])
    assert_close(d, want_d, np.full(d.shape, 1.0 / batch), dtype)
    assert correct == want_correct
    # In place, and without a gradient.
    inplace = z.copy()
    assert _core.softmax_xent(inplace, labels, inplace) == (loss, correct)
    np.testing.assert_array_equal(inplace, d)
    assert _core.softmax_xent(z, labels, None) == (loss, correct)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_xent_is_stable_for_huge_logits(dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4 + 1, -1e4 + 2]], dtype)
    labels = np.array([1, 2])
    d = np.empty_like(z)
    loss, correct = _core.softmax_xent(z, labels, d)
    want_loss, want_d, _ = ref.softmax_xent(z.astype(np.float64), labels)
    assert np.isfinite(loss) and np.all(np.isfinite(d))
    assert loss == pytest.approx(want_loss, rel=1e-6)
    np.testing.assert_allclose(d, want_d, atol=1e-7)
    assert correct == 1


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch,classes", [(1, 1), (7, 13), (32, 10)])
def test_softmax_xent_dense(dtype, batch, classes):
    r = rng(batch + classes)
    z = (r.normal(size=(batch, classes)) * 4).astype(dtype)
    t = r.random(size=(batch, classes))
    t = (t / t.sum(axis=1, keepdims=True)).astype(dtype)
    d = np.empty_like(z)
    loss, correct = _core.softmax_xent_dense(z, t, d)
    want_loss, want_d, want_correct = ref.softmax_xent_dense(z.astype(np.float64), t)
    assert loss == pytest.approx(want_loss, rel=RTOL[dtype], abs=RTOL[dtype])
    assert_close(d, want_d, np.full(d.shape, 2.0 / batch), dtype)
    assert correct == want_correct


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (6, 1), (97, 3), (1000,)])
@pytest.mark.parametrize("delta", [1.0, 0.25, 3.0])
def test_huber(dtype, shape, delta):
    r = rng(len(shape) + int(delta * 4))
    pred = (r.normal(size=shape) * 2).astype(dtype)
    target = r.normal(size=shape).astype(dtype)
    d = np.full_like(pred, np.nan)
    loss = _core.huber(pred, target, d, delta)
    want_loss, want_d = ref.huber(pred.astype(np.float64), target, delta)
    assert loss == pytest.approx(want_loss, rel=RTOL[dtype] * 10)
    scale = np.abs(want_d) + np.abs(pred.astype(np.float64) - target) / pred.size
    assert_close(d, want_d, scale + 1e-30, dtype)
    # The default delta is Keras's 1.0; without dpred only the loss.
    assert _core.huber(pred, target, None) == _core.huber(pred, target, d, 1.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", ["mse", "bce", "sigmoid_bce"])
@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (6, 1), (1000,)])
def test_elementwise_losses(dtype, kernel, shape):
    r = rng(len(shape))
    pred = r.normal(size=shape)
    if kernel == "bce":
        pred = 1 / (1 + np.exp(-pred))
        pred.flat[0] = 1.0  # a clipped value: zero gradient there
    pred = pred.astype(dtype)
    target = (r.random(size=shape) > 0.5).astype(dtype)
    d = np.empty_like(pred)
    loss = getattr(_core, kernel)(pred, target, d)
    want_loss, want_d = getattr(ref, kernel)(pred.astype(np.float64), target)
    assert loss == pytest.approx(want_loss, rel=RTOL[dtype] * 10)
    scale = np.abs(want_d) + (1e-30 if dtype == np.float64 else 1e-7)
    assert_close(d, want_d, scale * (10 if dtype == np.float32 else 1), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 7, 97, 70001])
@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_update(simd, threads, dtype, n, momentum, nesterov):
    r = rng(n)
    w, g = r.normal(size=n).astype(dtype), r.normal(size=n).astype(dtype)
    v = r.normal(size=n).astype(dtype) if momentum else None
    want_w, want_v = ref.sgd(
        w, g, None if v is None else v.astype(np.float64), 0.1, momentum, nesterov
    )
    _core.sgd_update(w, g, v, 0.1, momentum, nesterov)
    assert_close(w, want_w, np.abs(want_w) + 1, dtype)
    if v is not None:
        assert_close(v, want_v, np.abs(want_v) + 1, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 13, 17, 70001])
def test_adagrad_update(simd, threads, dtype, n):
    r = rng(n + 1)
    w, g = r.normal(size=n).astype(dtype), r.normal(size=n).astype(dtype)
    acc = (0.1 + r.random(size=n)).astype(dtype)
    want_w, want_acc = ref.adagrad(w, g, acc, 0.05, 1e-7)
    _core.adagrad_update(w, g, acc, 0.05, 1e-7)
    assert_close(acc, want_acc, np.abs(want_acc), dtype)
    assert_close(w, want_w, np.abs(want_w) + 1, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 13, 70001])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_rmsprop_update(simd, threads, dtype, n, momentum):
    r = rng(n)
    w, g = r.normal(size=n).astype(dtype), r.normal(size=n).astype(dtype)
    s = r.random(size=n).astype(dtype)
    v = r.normal(size=n).astype(dtype) if momentum else None
    want = ref.rmsprop(
        w,
        g,
        s.astype(np.float64),
        None if v is None else v.astype(np.float64),
        0.01,
        0.9,
        momentum,
        1e-7,
    )
    _core.rmsprop_update(w, g, s, v, 0.01, 0.9, momentum, 1e-7)
    assert_close(w, want[0], np.abs(want[0]) + 1, dtype)
    assert_close(s, want[1], np.abs(want[1]), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 13, 70001])
@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_update_follows_keras_over_steps(simd, threads, dtype, n, amsgrad):
    r = rng(n)
    w = r.normal(size=n).astype(dtype)
    m, v = np.zeros(n, dtype), np.zeros(n, dtype)
    vhat = np.zeros(n, dtype) if amsgrad else None
    rw, rm, rv = w.astype(np.float64), np.zeros(n), np.zeros(n)
    rvhat = np.zeros(n) if amsgrad else None
    for step in range(1, 6):
        g = r.normal(size=n).astype(dtype)
        _core.adam_update(w, g, m, v, vhat, 0.001, 0.9, 0.999, 1e-7, step)
        rw, rm, rv, rvhat = ref.adam(
            rw, g, rm, rv, rvhat, 0.001, 0.9, 0.999, 1e-7, step
        )
    assert_close(w, rw, np.abs(rw) + 1e-3, dtype)
    assert_close(m, rm, np.ones(n), dtype)  # m is built from g ~ N(0, 1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 13, 70001])
@pytest.mark.parametrize("amsgrad", [False, True])
def test_adamw_update_follows_keras_over_steps(simd, threads, dtype, n, amsgrad):
    r = rng(n + 5)
    w = r.normal(size=n).astype(dtype)
    m, v = np.zeros(n, dtype), np.zeros(n, dtype)
    vhat = np.zeros(n, dtype) if amsgrad else None
    rw, rm, rv = w.astype(np.float64), np.zeros(n), np.zeros(n)
    rvhat = np.zeros(n) if amsgrad else None
    for step in range(1, 6):
        g = r.normal(size=n).astype(dtype)
        _core.adamw_update(w, g, m, v, vhat, 0.01, 0.9, 0.999, 1e-7, step, 0.5)
        rw, rm, rv, rvhat = ref.adamw(
            rw, g, rm, rv, rvhat, 0.01, 0.9, 0.999, 1e-7, step, 0.5
        )
    assert_close(w, rw, np.abs(rw) + 1e-3, dtype)
    assert_close(v, rv, np.abs(rv) + 1e-3, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 13, 97, 70001])
def test_adadelta_update_follows_keras_over_steps(simd, threads, dtype, n):
    r = rng(n + 6)
    w = r.normal(size=n).astype(dtype)
    acc_g, acc_d = np.zeros(n, dtype), np.zeros(n, dtype)
    rw, rg, rd = w.astype(np.float64), np.zeros(n), np.zeros(n)
    for _ in range(5):
        g = r.normal(size=n).astype(dtype)
        # a large rate, so that the update is visible next to w
        _core.adadelta_update(w, g, acc_g, acc_d, 1.0, 0.95, 1e-7)
        rw, rg, rd = ref.adadelta(rw, g, rg, rd, 1.0, 0.95, 1e-7)
    assert_close(acc_g, rg, np.abs(rg), dtype)
    assert_close(acc_d, rd, np.abs(rd), dtype)
    assert_close(w, rw, np.abs(rw) + 1e-3, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 13, 97, 70001])
def test_adamax_update_follows_keras_over_steps(simd, threads, dtype, n):
    r = rng(n + 7)
    w = r.normal(size=n).astype(dtype)
    m, u = np.zeros(n, dtype), np.zeros(n, dtype)
    rw, rm, ru = w.astype(np.float64), np.zeros(n), np.zeros(n)
    for step in range(1, 6):
        g = r.normal(size=n).astype(dtype)
        _core.adamax_update(w, g, m, u, 0.01, 0.9, 0.999, 1e-7, step)
        rw, rm, ru = ref.adamax(rw, g, rm, ru, 0.01, 0.9, 0.999, 1e-7, step)
    assert_close(u, ru, ru, dtype)
    assert_close(m, rm, np.ones(n), dtype)
    assert_close(w, rw, np.abs(rw) + 1e-3, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 13, 97, 70001])
def test_nadam_update_follows_keras_over_steps(simd, threads, dtype, n):
    r = rng(n + 8)
    w = r.normal(size=n).astype(dtype)
    m, v = np.zeros(n, dtype), np.zeros(n, dtype)
    rw, rm, rv = w.astype(np.float64), np.zeros(n), np.zeros(n)
    product = 1.0
    for step in range(1, 6):
        g = r.normal(size=n).astype(dtype)
        product *= 0.9 * (1 - 0.5 * 0.96**step)
        _core.nadam_update(w, g, m, v, 0.01, 0.9, 0.999, 1e-7, step, product)
        rw, rm, rv = ref.nadam(rw, g, rm, rv, 0.01, 0.9, 0.999, 1e-7, step)
    assert_close(v, rv, np.abs(rv) + 1e-3, dtype)
    assert_close(w, rw, np.abs(rw) + 1e-3, dtype)


def _decaying_states(dtype, n):
    """(kernel call, reference call, state names) per optimizer, for one step
    from the given state with zero gradients where a state only decays."""
    return {
        "sgd": (
            lambda w, g, s: _core.sgd_update(w, g, s[0], 0.1, 0.9, False),
            lambda w, g, s: ref.sgd(w, g, s[0], 0.1, 0.9, False)[1:],
            1,
        ),
        "rmsprop": (
            lambda w, g, s: _core.rmsprop_update(
                w, g, s[0], s[1], 0.01, 0.9, 0.5, 1e-7
            ),
            lambda w, g, s: ref.rmsprop(w, g, s[0], s[1], 0.01, 0.9, 0.5, 1e-7)[1:],
            2,
        ),
        "adam": (
            lambda w, g, s: _core.adam_update(
                w, g, s[0], s[1], None, 0.001, 0.9, 0.999, 1e-7, 3
            ),
            lambda w, g, s: ref.adam(
                w, g, s[0], s[1], None, 0.001, 0.9, 0.999, 1e-7, 3
            )[1:3],
            2,
        ),
        "adamax": (
            lambda w, g, s: _core.adamax_update(
                w, g, s[0], s[1], 0.01, 0.9, 0.999, 1e-7, 3
            ),
            lambda w, g, s: ref.adamax(w, g, s[0], s[1], 0.01, 0.9, 0.999, 1e-7, 3)[1:],
            2,
        ),
        "adadelta": (
            lambda w, g, s: _core.adadelta_update(w, g, s[0], s[1], 1.0, 0.95, 1e-7),
            lambda w, g, s: ref.adadelta(w, g, s[0], s[1], 1.0, 0.95, 1e-7)[1:],
            2,
        ),
        "nadam": (
            lambda w, g, s: _core.nadam_update(
                w, g, s[0], s[1], 0.01, 0.9, 0.999, 1e-7, 1, 0.9 * 0.52
            ),
            lambda w, g, s: ref.nadam(w, g, s[0], s[1], 0.01, 0.9, 0.999, 1e-7, 1)[1:],
            2,
        ),
    }


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "rule", ["sgd", "rmsprop", "adam", "adamax", "adadelta", "nadam"]
)
def test_decaying_state_is_flushed_below_the_smallest_normal(
    simd, threads, dtype, rule
):
    # Zero gradients decay each state towards 0: from just above the smallest
    # normal number one step lands in the subnormals, stored as 0 (TF's
    # flush-to-zero), on every path; larger states decay as the rule says.
    n = 70001
    tiny = np.finfo(dtype).tiny
    r = rng(n + 9)
    kernel, reference, count = _decaying_states(dtype, n)[rule]
    w = r.normal(size=n).astype(dtype)
    g = np.where(r.random(n) < 0.5, 0.0, r.normal(size=n)).astype(dtype)
    # a band that one decay by <= 0.95 takes below `tiny` and 0.999 does not
    states = [
        np.where(
            r.random(n) < 0.5, tiny * (1.01 + 0.04 * r.random(n)), 1e-3 + r.random(n)
        ).astype(dtype)
        for _ in range(count)
    ]
    before = [s.astype(np.float64) for s in states]
    want = reference(w.astype(np.float64), g, before)
    kernel(w, g, states)
    flushed = 0
    for state, old, expected in zip(states, before, want):
        expected = ref.flush_subnormal(expected, dtype)
        assert not np.any((state != 0) & (np.abs(state) < tiny))  # no subnormal
        scale = np.abs(expected) + np.abs(old) + np.abs(g) + tiny  # built from these
        assert_close(state, expected, scale, dtype)
        flushed += int(np.sum((state == 0) & (g == 0)))
    assert flushed > 0


def test_adam_first_step_is_learning_rate_sized():
    # At t=1, m/sqrt(v) = sign(g) up to epsilon: every weight moves by about lr.
    w = np.zeros(5)
    g = np.array([1.0, -2.0, 3.0, -4.0, 5.0])
    _core.adam_update(w, g, np.zeros(5), np.zeros(5), None, 0.001, 0.9, 0.999, 1e-7, 1)
    np.testing.assert_allclose(w, -0.001 * np.sign(g), rtol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_results_are_bit_identical_run_to_run(threads, dtype):
    r = rng(11)
    x = r.normal(size=(100, 784)).astype(dtype)
    w = r.normal(size=(784, 500)).astype(dtype)
    outs = []
    for _ in range(2):
        y = np.empty((100, 500), dtype)
        _core.dense_forward(x, w, None, y, activation="relu")
        dw = np.empty_like(w)
        _core.dense_backward(x, w, y, None, dw, None)
        outs.append((y, dw))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])


def test_thread_count_does_not_change_results():
    r = rng(12)
    a = r.normal(size=(64, 700)).astype(np.float32)
    b = r.normal(size=(700, 300)).astype(np.float32)
    bias = r.normal(size=300).astype(np.float32)
    before = _core.get_num_threads()
    results = []
    for n in (1, 2):
        _core.set_num_threads(n)
        c = np.empty((64, 300), np.float32)
        _core.gemm(a, b, c)
        y = np.empty((64, 300), np.float32)
        _core.dense_forward(a, b, bias, y, activation="tanh")
        dx, dw, db = np.empty_like(a), np.empty_like(b), np.empty_like(bias)
        _core.dense_backward(a, b, y, dx, dw, db)
        results.append((c, y, dx, dw, db))
    _core.set_num_threads(before)
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


# ---- batch normalization --------------------------------------------------------
BATCHNORM_SHAPES = [(1, 1), (2, 3), (7, 13), (97, 5), (13, 67), (257, 131), (32, 512)]


def batchnorm_inputs(dtype, rows, channels, affine=True):
    r = rng(rows * 131 + channels)
    x = (r.normal(size=(rows, channels)) * 3 + r.normal(size=channels)).astype(dtype)
    gamma = r.normal(size=channels).astype(dtype) if affine else None
    beta = r.normal(size=channels).astype(dtype) if affine else None
    moving_mean = r.normal(size=channels).astype(dtype)
    moving_var = (0.5 + r.random(size=channels)).astype(dtype)
    return x, gamma, beta, moving_mean, moving_var


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows,channels", BATCHNORM_SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_forward(simd, threads, dtype, rows, channels, training, affine):
    x, gamma, beta, moving_mean, moving_var = batchnorm_inputs(
        dtype, rows, channels, affine
    )
    want_y, want_mean, want_var = ref.batchnorm_forward(
        x, gamma, beta, moving_mean, moving_var, 0.99, 1e-3, training
    )
    y = np.full_like(x, np.nan)
    mean, inv_std = np.empty(channels, dtype), np.empty(channels, dtype)
    _core.batchnorm_forward(
        x, gamma, beta, moving_mean, moving_var, y, mean, inv_std, 0.99, 1e-3, training
    )
    # y is built from |x - mean| / std, |gamma| and |beta|; 4 for the
    # cancellation x - mean when float32 rounds the mean.
    g = 1.0 if gamma is None else np.abs(gamma.astype(np.float64))
    b = 0.0 if beta is None else np.abs(beta.astype(np.float64))
    std = np.sqrt((want_var if training else moving_var.astype(np.float64)) + 1e-3)
    scale = g * (np.abs(x.astype(np.float64)) + np.abs(x).mean(0)) / std * 4 + b
    assert_close(y, want_y, scale, dtype)
    assert_close(moving_mean, want_mean, np.abs(want_mean) + np.abs(x).max(0), dtype)
    assert_close(moving_var, want_var, np.abs(want_var) + x.astype(float).var(0), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows,channels", BATCHNORM_SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_backward(simd, threads, dtype, rows, channels, training, affine):
    x, gamma, beta, moving_mean, moving_var = batchnorm_inputs(
        dtype, rows, channels, affine
    )
    y, mean, inv_std = (
        np.empty_like(x),
        np.empty(channels, dtype),
        np.empty(channels, dtype),
    )
    stats = [moving_mean.copy(), moving_var.copy()]
    _core.batchnorm_forward(
        x, gamma, beta, *stats, y, mean, inv_std, 0.9, 1e-3, training
    )
    dy = rng(rows).normal(size=x.shape).astype(dtype)
    want_dx, want_dgamma, want_dbeta = ref.batchnorm_backward(
        x, gamma, dy, moving_mean, moving_var, 1e-3, training
    )
    dx = np.full_like(x, np.nan)
    dgamma, dbeta = np.full(channels, np.nan, dtype), np.full(channels, np.nan, dtype)
    _core.batchnorm_backward(x, gamma, dy, mean, inv_std, dx, dgamma, dbeta, training)
    ady = np.abs(dy.astype(np.float64))
    g = 1.0 if gamma is None else np.abs(gamma.astype(np.float64))
    xhat = np.abs(
        ref.batchnorm_forward(
            x, None, None, moving_mean, moving_var, 0, 1e-3, training
        )[0]
    )
    assert_close(dbeta, want_dbeta, ady.sum(0), dtype)
    assert_close(dgamma, want_dgamma, (ady * (xhat + 1)).sum(0) * 4, dtype)
    std = 1 / inv_std.astype(np.float64)
    dx_scale = g / std * (ady + (ady * (xhat + 1)).mean(0) * (xhat + 1)) * 4
    assert_close(dx, want_dx, dx_scale, dtype)
    # dx may be dy itself (in place), with the same result.
    same = dy.copy()
    _core.batchnorm_backward(
        x, gamma, same, mean, inv_std, same, dgamma, dbeta, training
    )
    np.testing.assert_array_equal(same, dx)


# ---- layer normalization --------------------------------------------------------
LAYERNORM_SHAPES = [(1, 1), (3, 2), (13, 7), (5, 97), (67, 13), (131, 257), (512, 32)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows,channels", LAYERNORM_SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_forward(simd, threads, dtype, rows, channels, affine):
    r = rng(rows * 17 + channels)
    x = (r.normal(size=(rows, channels)) * 3 + r.normal(size=(rows, 1))).astype(dtype)
    gamma = r.normal(size=channels).astype(dtype) if affine else None
    beta = r.normal(size=channels).astype(dtype) if affine else None
    y = np.full_like(x, np.nan)
    mean, inv_std = np.full(rows, np.nan, dtype), np.full(rows, np.nan, dtype)
    _core.layernorm_forward(x, gamma, beta, y, mean, inv_std, 1e-3)
    want = ref.layernorm_forward(x, gamma, beta, 1e-3)
    x64 = x.astype(np.float64)
    assert_close(mean, x64.mean(1), np.abs(x64).mean(1), dtype)
    std = np.sqrt(x64.var(1) + 1e-3)
    assert_close(1 / inv_std.astype(np.float64), std, std, dtype)
    g = 1.0 if gamma is None else np.abs(gamma.astype(np.float64))
    b = 0.0 if beta is None else np.abs(beta.astype(np.float64))
    # y is built from |x - mean| / std, |gamma| and |beta|; 4 for the
    # cancellation x - mean when float32 rounds the mean.
    scale = g * (np.abs(x64) + np.abs(x64).mean(1, keepdims=True)) / std[:, None] * 4
    assert_close(y, want, scale + b, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows,channels", LAYERNORM_SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_backward(simd, threads, dtype, rows, channels, affine):
    r = rng(rows * 19 + channels)
    x = (r.normal(size=(rows, channels)) * 3 + r.normal(size=(rows, 1))).astype(dtype)
    gamma = r.normal(size=channels).astype(dtype) if affine else None
    y = np.empty_like(x)
    mean, inv_std = np.empty(rows, dtype), np.empty(rows, dtype)
    _core.layernorm_forward(x, gamma, None, y, mean, inv_std, 1e-3)
    dy = r.normal(size=x.shape).astype(dtype)
    want_dx, want_dgamma, want_dbeta = ref.layernorm_backward(x, gamma, dy, 1e-3)
    dx = np.full_like(x, np.nan)
    dgamma, dbeta = np.full(channels, np.nan, dtype), np.full(channels, np.nan, dtype)
    _core.layernorm_backward(x, gamma, dy, mean, inv_std, dx, dgamma, dbeta)
    ady = np.abs(dy.astype(np.float64))
    g = 1.0 if gamma is None else np.abs(gamma.astype(np.float64))
    xhat = np.abs(ref.layernorm_forward(x, None, None, 1e-3))
    assert_close(dbeta, want_dbeta, ady.sum(0), dtype)
    assert_close(dgamma, want_dgamma, (ady * (xhat + 1)).sum(0) * 4, dtype)
    agy = ady * g
    inv = inv_std.astype(np.float64)[:, None]
    dx_scale = inv * (agy + (agy * (xhat + 1)).mean(1, keepdims=True) * (xhat + 1)) * 4
    assert_close(dx, want_dx, dx_scale, dtype)
    # dx may be dy itself (in place), with the same result; dx None skips it.
    same = dy.copy()
    _core.layernorm_backward(x, gamma, same, mean, inv_std, same, dgamma, dbeta)
    np.testing.assert_array_equal(same, dx)
    _core.layernorm_backward(x, gamma, dy, mean, inv_std, None, dgamma, dbeta)
    assert_close(dbeta, want_dbeta, ady.sum(0), dtype)


# ---- PReLU ----------------------------------------------------------------------
PRELU_SHAPES = [
    (1, 1, 1),
    (7, 13, 1),
    (1, 1, 97),
    (13, 5, 7),
    (97, 67, 3),
    (300, 257, 1),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("outer,channels,inner", PRELU_SHAPES)
def test_prelu(simd, threads, dtype, outer, channels, inner):
    r = rng(outer * 7 + channels * 3 + inner)
    x = r.normal(size=(outer, channels, inner)).astype(dtype)
    x.flat[::11] = 0  # the kink: y = 0, dx = 0
    alpha = r.normal(size=channels).astype(dtype)
    y = np.full_like(x, np.nan)
    _core.prelu_forward(x, alpha, y)
    ax = np.abs(x.astype(np.float64))
    a3 = np.abs(alpha.astype(np.float64))[None, :, None]
    assert_close(y, ref.prelu_forward(x, alpha), ax * np.maximum(a3, 1), dtype)
    dy = r.normal(size=x.shape).astype(dtype)
    want_dx, want_dalpha = ref.prelu_backward(x, alpha, dy)
    dx = np.full_like(x, np.nan)
    dalpha = np.full(channels, np.nan, dtype)
    _core.prelu_backward(x, alpha, dy, dx, dalpha)
    ady = np.abs(dy.astype(np.float64))
    assert_close(dx, want_dx, ady * np.maximum(a3, 1), dtype)
    assert_close(dalpha, want_dalpha, (ady * ax).sum(axis=(0, 2)), dtype)
    # in place: y may be x, dx may be dy; dx None computes dalpha only
    inplace = x.copy()
    _core.prelu_forward(inplace, alpha, inplace)
    np.testing.assert_array_equal(inplace, y)
    same = dy.copy()
    _core.prelu_backward(x, alpha, same, same, dalpha)
    np.testing.assert_array_equal(same, dx)
    only = np.full(channels, np.nan, dtype)
    _core.prelu_backward(x, alpha, dy, None, only)
    np.testing.assert_array_equal(only, dalpha)


# ---- first_nonfinite: fit's finite check on the user's data -------------------
def _first_nonfinite_reference(a, as_float32):
    with np.errstate(over="ignore"):
        values = a.astype(np.float32) if as_float32 else a
    bad = np.flatnonzero(~np.isfinite(values.reshape(-1)))
    return int(bad[0]) if len(bad) else -1


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [1, 7, 255, 257, 65535, 65537, 300007])
def test_first_nonfinite(threads, dtype, size):
    r = rng(size)
    a = r.normal(size=size).astype(dtype)
    assert _core.first_nonfinite(a) == -1
    # the first of several, at the start, the end, block and chunk edges
    for places in ([0], [size - 1], [size // 2, size - 1], [256, 65536, 131072]):
        places = [p for p in places if p < size]
        if not places:
            continue
        for bad in (np.nan, np.inf, -np.inf):
            b = a.copy()
            b[places] = bad
            got = _core.first_nonfinite(b.reshape(1, -1) if size % 2 else b)
            assert got == _first_nonfinite_reference(b, False) == min(places)


def test_first_nonfinite_as_float32(threads):
    big = float(np.finfo(np.float32).max)
    a = np.zeros((700, 500))
    a[3, 4] = 2 * big  # finite in float64, inf as float32
    a[600, 2] = -1e300
    a[650, 0] = big  # the largest float32: finite either way
    a[650, 1] = big * (1 + 2.0**-30)  # rounds to it as float32
    assert _core.first_nonfinite(a) == -1
    got = _core.first_nonfinite(a, as_float32=True)
    assert got == _first_nonfinite_reference(a, True) == 3 * 500 + 4
    a[3, 4] = 0
    assert _core.first_nonfinite(a, as_float32=True) == 600 * 500 + 2
    a[600, 2] = 0
    assert _core.first_nonfinite(a, as_float32=True) == -1


def test_first_nonfinite_checks_its_argument():
    with pytest.raises(TypeError, match="a"):
        _core.first_nonfinite(np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="C-contiguous"):
        _core.first_nonfinite(np.zeros((4, 4))[:, 1])
    with pytest.raises(TypeError, match="ndarray"):
        _core.first_nonfinite([1.0, 2.0])
