"""The Dense kernels' GEMM epilogues (csrc/gemm.inc, csrc/dense.inc).

dense_forward adds the bias and applies relu as the GEMM stores each
finished tile; dense_backward_adam takes Adam's step on each tile of the
kernel gradient as soon as it is final. Both must give exactly the bits of
the unfused calls they replace (the plain GEMM then the bias and relu; the
backward then adamw_update), and agree with the NumPy reference. Shapes
include 1, primes, widths that are not a multiple of a micro-tile (the
fringe tiles, whose bias is read from a padded copy) and a batch larger
than the GEMM's k-slice (256: the epilogue runs on the last slice only).
"""

from __future__ import annotations

import numpy as np
import pytest

import reference as ref
from tinynn import _core

DTYPES = [np.float32, np.float64]
SHAPES = [  # batch, fan_in, fan_out
    (1, 1, 1),
    (1, 13, 7),
    (7, 97, 13),
    (32, 784, 512),
    (33, 100, 257),
    (300, 31, 40),
    (32, 128, 10),
]


def rng(seed):
    return np.random.default_rng(seed)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch,fan_in,fan_out", SHAPES)
@pytest.mark.parametrize("activation", ["linear", "relu"])
def test_forward_bias_and_relu_in_the_store_are_the_separate_passes(
    simd, threads, dtype, batch, fan_in, fan_out, activation
):
    r = rng(batch * fan_in + fan_out)
    x = r.normal(size=(batch, fan_in)).astype(dtype)
    w = r.normal(size=(fan_in, fan_out)).astype(dtype)
    b = r.normal(size=fan_out).astype(dtype)
    y = np.full((batch, fan_out), np.nan, dtype)
    _core.dense_forward(x, w, b, y, activation=activation)
    want = np.empty_like(y)
    _core.gemm(x, w, want)
    want += b  # the same single rounding per element as the C pass
    if activation == "relu":
        want[want < 0] = 0
    np.testing.assert_array_equal(y, want)


def _state(r, shape, dtype, amsgrad):
    m = (r.normal(size=shape) * 0.1).astype(dtype)
    v = (r.random(size=shape) * 0.01).astype(dtype)
    vhat = (v + r.random(size=shape) * 0.01).astype(dtype) if amsgrad else None
    return m, v, vhat


def _problem(seed, batch, fan_in, fan_out, dtype, amsgrad, bias):
    r = rng(seed)
    p = {
        "x": r.normal(size=(batch, fan_in)).astype(dtype),
        "w": r.normal(size=(fan_in, fan_out)).astype(dtype),
        "dy": r.normal(size=(batch, fan_out)).astype(dtype),
    }
    p["m_w"], p["v_w"], p["vhat_w"] = _state(r, (fan_in, fan_out), dtype, amsgrad)
    if bias:
        p["b"] = r.normal(size=fan_out).astype(dtype)
        p["m_b"], p["v_b"], p["vhat_b"] = _state(r, (fan_out,), dtype, amsgrad)
    else:
        p["b"] = p["m_b"] = p["v_b"] = p["vhat_b"] = None
    return p


def _copy(p):
    return {k: None if v is None else v.copy() for k, v in p.items()}


def _gradients(p, want_dx):
    """NaN-filled dx (or None), dw and db (None without bias) for p."""
    batch, fan_in = p["x"].shape
    fan_out = p["w"].shape[1]
    dtype = p["x"].dtype
    dx = np.full((batch, fan_in), np.nan, dtype) if want_dx else None
    dw = np.full((fan_in, fan_out), np.nan, dtype)
    db = None if p["b"] is None else np.full(fan_out, np.nan, dtype)
    return dx, dw, db


def _fused(p, steps, want_dx, decay, keep_dw=True):
    """Run dense_backward_adam `steps` times on p (in place); the gradients."""
    dx, dw, db = _gradients(p, want_dx)
    for step in range(1, steps + 1):
        _core.dense_backward_adam(
            p["x"], p["w"], p["b"], p["dy"], dx, dw, db, p["m_w"], p["v_w"],
            p["vhat_w"], p["m_b"], p["v_b"], p["vhat_b"], 0.01, 0.9, 0.999, 1e-7,
            step, decay, keep_dw=keep_dw,
        )  # fmt: skip
    return dx, dw, db


def _apart(p, steps, want_dx, decay):
    """The same with dense_backward then adamw_update on w and on b."""
    dx, dw, db = _gradients(p, want_dx)
    for step in range(1, steps + 1):
        _core.dense_backward(p["x"], p["w"], p["dy"], dx, dw, db)
        args = (0.01, 0.9, 0.999, 1e-7, step, decay)
        _core.adamw_update(p["w"], dw, p["m_w"], p["v_w"], p["vhat_w"], *args)
        if db is not None:
            _core.adamw_update(p["b"], db, p["m_b"], p["v_b"], p["vhat_b"], *args)
    return dx, dw, db


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch,fan_in,fan_out", SHAPES)
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_backward_adam_is_backward_then_adamw_update(
    simd, threads, dtype, batch, fan_in, fan_out, amsgrad, bias
):
    p = _problem(batch + fan_out, batch, fan_in, fan_out, dtype, amsgrad, bias)
    q = _copy(p)
    decay = 0.0 if amsgrad else 0.25  # Adam and AdamW
    got = _fused(p, 3, bias, decay)
    want = _apart(q, 3, bias, decay)
    for name in p:
        if p[name] is not None:
            np.testing.assert_array_equal(p[name], q[name], err_msg=name)
    for g, w in zip(got, want):
        if w is not None:
            np.testing.assert_array_equal(g, w)


# Beside SHAPES: a batch whose float64 gradient block does not fit in the
# driver's space beside b's panels (dw is written), and more columns than
# one column block of the GEMM (TNN_GEMM_NC, 2048).
UNKEPT_SHAPES = [*SHAPES, (200, 20, 2048), (3, 10, 2100)]


def _sinking_moments(p):
    """Every fifth input feature never active, its weights' moments just
    above the smallest normal number: their gradient is 0, so the moments
    sink below it in the first step and must be stored as 0 (as
    adamw_update does)."""
    tiny = np.finfo(p["x"].dtype).tiny
    p["x"][:, ::5] = 0
    p["m_w"][::5] = 1.05 * tiny
    p["v_w"][::5] = 1.0005 * tiny


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch,fan_in,fan_out", UNKEPT_SHAPES)
@pytest.mark.parametrize("amsgrad,decay", [(False, 0.0), (True, 0.0), (False, 0.25)])
def test_backward_adam_without_keeping_dw_takes_the_same_step(
    simd, threads, dtype, batch, fan_in, fan_out, amsgrad, decay
):
    # Layers of many rows take each block's step during the next block's
    # tiles (gemm.inc, `owed`), vector by vector on the AVX-512 path: the
    # step must still be adamw_update's, bit for bit, flushing included.
    p = _problem(batch * 3 + fan_out, batch, fan_in, fan_out, dtype, amsgrad, True)
    _sinking_moments(p)
    q = _copy(p)
    got = _fused(p, 3, True, decay, keep_dw=False)
    want = _apart(q, 3, True, decay)
    assert not np.any(p["m_w"][::5])  # flushed, not left subnormal
    for name in p:
        np.testing.assert_array_equal(p[name], q[name], err_msg=name)
    np.testing.assert_array_equal(got[0], want[0], err_msg="dx")
    np.testing.assert_array_equal(got[2], want[2], err_msg="db")


@pytest.mark.parametrize("dtype", DTYPES)
def test_backward_adam_without_keeping_dw_leaves_it_unwritten(simd, threads, dtype):
    # The Keras listing's first layer at batch 32: one slice of the GEMM sums
    # the gradient, whose blocks then stay in the driver's own space.
    p = _problem(5, 32, 784, 512, dtype, False, True)
    _, dw, _ = _fused(p, 1, False, 0.0, keep_dw=False)
    assert np.isnan(dw).all()


@pytest.mark.parametrize("threads_n", [1, 3, 4])
def test_backward_adam_is_the_same_for_any_thread_count(threads_n):
    before = _core.get_num_threads()
    results = []
    try:
        for n in (2, threads_n):
            _core.set_num_threads(n)
            p = _problem(5, 64, 301, 130, np.float32, False, True)
            _fused(p, 2, True, 0.0)
            results.append(p)
    finally:
        _core.set_num_threads(before)
    for name in results[0]:
        if results[0][name] is not None:
            np.testing.assert_array_equal(results[0][name], results[1][name])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("amsgrad", [False, True])
def test_backward_adam_follows_the_numpy_reference(simd, dtype, amsgrad):
    batch, fan_in, fan_out = 37, 53, 41
    p = _problem(11, batch, fan_in, fan_out, dtype, amsgrad, True)
    start = {k: None if v is None else v.astype(np.float64) for k, v in p.items()}
    dx, dw, db = _fused(p, 1, True, 0.1)
    want_dx, want_dw, want_db = ref.dense_backward(start["x"], start["w"], start["dy"])
    tol = 1e-12 if dtype == np.float64 else 2e-5
    scale_w = np.abs(start["x"]).T @ np.abs(start["dy"])
    np.testing.assert_allclose(dw, want_dw, rtol=0, atol=tol * scale_w.max())
    np.testing.assert_allclose(
        db, want_db, rtol=0, atol=tol * np.abs(start["dy"]).sum()
    )
    scale_x = np.abs(start["dy"]) @ np.abs(start["w"]).T
    np.testing.assert_allclose(dx, want_dx, rtol=0, atol=tol * scale_x.max())
    for name, grad in (("w", want_dw), ("b", want_db)):
        rw, rm, rv, rvhat = ref.adamw(
            start[name], grad, start[f"m_{name}"], start[f"v_{name}"],
            start[f"vhat_{name}"], 0.01, 0.9, 0.999, 1e-7, 1, 0.1,
        )  # fmt: skip
        np.testing.assert_allclose(p[name], rw, rtol=tol, atol=tol)
        np.testing.assert_allclose(p[f"m_{name}"], rm, rtol=tol, atol=tol)
        np.testing.assert_allclose(p[f"v_{name}"], rv, rtol=tol, atol=tol)


def test_backward_adam_on_an_empty_batch_steps_with_zero_gradients():
    p = _problem(3, 0, 5, 3, np.float64, False, True)
    q = _copy(p)
    got = _fused(p, 2, True, 0.0)
    _apart(q, 2, True, 0.0)
    assert np.all(got[1] == 0) and np.all(got[2] == 0)
    for name in ("w", "b", "m_w", "v_w", "m_b", "v_b"):
        np.testing.assert_array_equal(p[name], q[name], err_msg=name)


def _call(p, **change):
    args = {**p, **change}
    batch, fan_in = args["x"].shape
    fan_out = args["w"].shape[1]
    dtype = args["x"].dtype
    return _core.dense_backward_adam(
        args["x"], args["w"], args["b"], args["dy"],
        args.get("dx", np.zeros((batch, fan_in), dtype)),
        args.get("dw", np.zeros((fan_in, fan_out), dtype)),
        args.get("db", np.zeros(fan_out, dtype)),
        args["m_w"], args["v_w"], args["vhat_w"], args["m_b"], args["v_b"],
        args["vhat_b"], 0.01, 0.9, 0.999, 1e-7, args.get("step", 1),
    )  # fmt: skip


@pytest.mark.parametrize(
    "change,message",
    [
        ({"m_w": "w"}, "w overlaps m_w"),
        ({"v_w": np.zeros((4, 3))}, "v_w"),
        ({"v_b": np.zeros(4)}, "v_b"),
        ({"m_w": np.zeros((5, 3), np.float32)}, "m_w"),
        ({"db": None}, "b, db, m_b and v_b"),
        ({"vhat_w": np.zeros((5, 3))}, "vhat_b"),
        ({"step": 0}, "step must be >= 1"),
        ({"dy": np.zeros((4, 3))}, "dy"),
        ({"w": np.zeros((5, 3))[:, ::2]}, "w"),
    ],
)
def test_backward_adam_refuses_bad_arguments(change, message):
    p = _problem(1, 2, 5, 3, np.float64, False, True)
    if isinstance(change.get("m_w"), str):
        change = {"m_w": p["w"]}
    with pytest.raises((ValueError, TypeError), match=message):
        _call(p, **change)
