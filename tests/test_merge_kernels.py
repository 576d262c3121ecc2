"""The merge kernels (csrc/merge.inc) against tests/reference.py.

Element-wise folds over 1 to 5 inputs of odd sizes (1, primes, sizes that are not
multiples of any SIMD width, one large enough to be split over threads), on every
SIMD path and with 1 and 2 threads; float64 exactly as the reference's left-to-right
fold (and within 1e-12), float32 within 1e-5. Maximum and minimum ties and NaNs are
checked against what real TensorFlow gave (scripts/merge_tf_evidence.py, recorded in
docs/merge-kernels.md); multiply, average, maximum and dot against central
differences.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference as ref
from tinynn import _backend, _core

RTOL = {np.float32: 1e-5, np.float64: 1e-12}
DTYPES = [np.float32, np.float64]
SHAPES = [(1,), (7,), (13, 3), (31, 17), (100003,)]  # the last: several threads
COUNTS = [1, 2, 3, 4, 5]
FOLDS = {
    "add": (_core.merge_add, ref.merge_add),
    "multiply": (_core.merge_multiply, ref.merge_multiply),
    "average": (_core.merge_average, ref.merge_average),
    "maximum": (_core.merge_maximum, lambda xs: ref.merge_select(xs, True)[0]),
    "minimum": (_core.merge_minimum, lambda xs: ref.merge_select(xs, False)[0]),
}


def rng(seed=0):
    return np.random.default_rng(seed)


def inputs(count, shape, dtype, seed=0):
    r = rng(seed + 101 * count + len(shape))
    # around +-1 so that products of five stay in range; a few exact ties
    xs = [r.uniform(-2, 2, size=shape).astype(dtype) for _ in range(count)]
    if count > 1:
        flat = [x.reshape(-1) for x in xs]
        flat[1][::5] = flat[0][::5]
    return xs


def as64(arrays):
    return [np.asarray(a, np.float64) for a in arrays]


def assert_close(got, want, scale, dtype):
    got = np.asarray(got, np.float64)
    bound = RTOL[dtype] * np.maximum(np.asarray(scale, np.float64), 1e-30)
    err = np.abs(got - want)
    assert np.all(err <= bound), f"max error ratio {np.max(err / bound):.3g}"


def fold_scale(op, xs):
    """What the result is built from: sums of |x| or products of max(|x|, 1)."""
    mags = [np.abs(np.asarray(x, np.float64)) for x in xs]
    if op == "multiply":
        return np.prod([np.maximum(m, 1) for m in mags], axis=0)
    return np.sum(mags, axis=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("op", list(FOLDS))
def test_merge_forward(simd, threads, op, count, shape, dtype):
    kernel, spec = FOLDS[op]
    xs = inputs(count, shape, dtype)
    out = np.full(shape, np.nan, dtype)
    kernel(xs, out)
    if dtype == np.float64 or op in ("maximum", "minimum"):
        # the same fold in the same order: exactly the reference
        np.testing.assert_array_equal(out, spec(xs))
    assert_close(out, spec(as64(xs)), fold_scale(op, xs), dtype)
    # in place: out may be any of the inputs
    for k in range(count):
        copies = [x.copy() for x in xs]
        kernel(copies, copies[k])
        np.testing.assert_array_equal(copies[k], out)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("count", [1, 2, 3])
def test_merge_add_accumulate(simd, threads, count, shape, dtype):
    """The executor's fan-out sum: g += scratch (out is the first term)."""
    xs = inputs(count, shape, dtype, seed=5)
    g = rng(9).normal(size=shape).astype(dtype)
    want = ref.merge_add([g, *xs])
    _core.merge_add(xs, g, accumulate=True)
    np.testing.assert_array_equal(g, want)
    h = xs[0].copy()
    _backend.add_inplace(h, xs[-1])
    np.testing.assert_array_equal(h, xs[0] + xs[-1])


def test_average_divides_by_n_like_keras():
    """Keras 2 and 3 compute sum / n (checked bit for bit against real Keras in
    float64, docs/merge-kernels.md); sum * (1/n) differs in the last bit here."""
    xs = inputs(3, (4099,), np.float64, seed=3)
    out = np.empty_like(xs[0])
    _core.merge_average(xs, out)
    total = xs[0] + xs[1] + xs[2]
    np.testing.assert_array_equal(out, total / 3)
    assert not np.array_equal(out, total * (1.0 / 3))
    dy = xs[0].copy()
    dxs = [np.empty_like(dy) for _ in range(3)]
    _core.merge_average_backward(dy, dxs)
    for dx in dxs:
        np.testing.assert_array_equal(dx, dy / 3)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("op", ["multiply", "average", "maximum", "minimum"])
def test_merge_backward(simd, threads, op, count, shape, dtype):
    xs = inputs(count, shape, dtype, seed=1)
    dy = rng(2).normal(size=shape).astype(dtype)
    dxs = [np.full(shape, np.nan, dtype) for _ in range(count)]
    if op == "multiply":
        _core.merge_multiply_backward(xs, dy, dxs)
        want = ref.merge_multiply_backward(xs, dy)
        want64 = ref.merge_multiply_backward(as64(xs), dy.astype(np.float64))
        scale = np.abs(dy) * fold_scale("multiply", xs)
    elif op == "average":
        _core.merge_average_backward(dy, dxs)
        want = [dy / dtype(count)] * count
        want64 = [dy.astype(np.float64) / count] * count
        scale = np.abs(dy)
    else:
        largest = op == "maximum"
        getattr(_core, f"merge_{op}_backward")(xs, dy, dxs)
        want = want64 = ref.merge_select_backward(xs, dy, largest)
        scale = np.abs(dy)
    for k in range(count):
        if dtype == np.float64 or op in ("maximum", "minimum"):
            np.testing.assert_array_equal(dxs[k], want[k])
        assert_close(dxs[k], want64[k], scale, dtype)
    # a None entry is skipped and leaves the others unchanged
    if count > 1:
        some = [np.full(shape, np.nan, dtype) if k % 2 else None for k in range(count)]
        if op == "average":
            _core.merge_average_backward(dy, some)
        else:
            getattr(_core, f"merge_{op}_backward")(xs, dy, some)
        for k in range(1, count, 2):
            np.testing.assert_array_equal(some[k], dxs[k])


def test_multiply_backward_with_zeros():
    """No division by x_k: zeros among the inputs give the exact products."""
    xs = [np.array([0.0, 0.0, 2.0, 0.0]), np.array([3.0, 0.0, 5.0, 7.0])]
    xs.append(np.array([11.0, 13.0, 0.0, 0.0]))
    dy = np.array([1.0, 2.0, 3.0, 4.0])
    dxs = [np.empty(4) for _ in xs]
    _core.merge_multiply_backward(xs, dy, dxs)
    np.testing.assert_array_equal(dxs[0], [33.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(dxs[1], [0.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(dxs[2], [0.0, 0.0, 30.0, 0.0])


# Real TensorFlow 2.21 (Keras 3.15.1 and tf_keras 2.21 agree), float64:
# GradientTape over layers.Maximum / Minimum on these columns with dy = 1..12
# (scripts/merge_tf_evidence.py). nan marks NaN.
NAN = np.nan
TIE_X = [
    [1.0, 1.0, 1.0, 2.0, 1.0, 0.0, NAN, 1.0, 1.0, NAN, -0.0, 0.0],
    [1.0, 1.0, 2.0, 1.0, 2.0, 0.0, 1.0, NAN, 1.0, NAN, 0.0, -0.0],
    [1.0, 2.0, 1.0, 1.0, 2.0, 0.0, 1.0, 1.0, NAN, 1.0, 0.0, 0.0],
]
TF_SAYS = {
    # (op, inputs): (output, the input each column's dy went to)
    ("maximum", 3): (
        [1.0, 2.0, 2.0, 2.0, 2.0, 0.0, NAN, NAN, NAN, NAN, 0.0, 0.0],
        [0, 2, 1, 0, 1, 0, 2, 2, 2, 2, 0, 0],
    ),
    ("minimum", 3): (
        [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, NAN, NAN, NAN, NAN, 0.0, 0.0],
        [0, 0, 0, 1, 0, 0, 2, 2, 2, 2, 0, 0],
    ),
    ("maximum", 2): (
        [1.0, 1.0, 2.0, 2.0, 2.0, 0.0, NAN, NAN, 1.0, NAN, 0.0, -0.0],
        [0, 0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 0],
    ),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(TF_SAYS), ids=lambda c: f"{c[0]}-{c[1]}")
def test_maximum_minimum_ties_and_nan_follow_tensorflow(simd, case, dtype):
    op, count = case
    want_out, owner = TF_SAYS[case]
    xs = [np.array(row, dtype) for row in TIE_X[:count]]
    out = np.empty(12, dtype)
    getattr(_core, f"merge_{op}")(xs, out)
    np.testing.assert_array_equal(out, np.array(want_out, dtype))
    # the sign of zero too (float64 TensorFlow returns the newer of equal values)
    np.testing.assert_array_equal(np.signbit(out), np.signbit(want_out))
    dy = np.arange(1.0, 13.0, dtype=dtype)
    dxs = [np.empty(12, dtype) for _ in xs]
    getattr(_core, f"merge_{op}_backward")(xs, dy, dxs)
    for k in range(count):
        np.testing.assert_array_equal(dxs[k], np.where(np.array(owner) == k, dy, 0))
    # the reference states the same rule
    _, which = ref.merge_select(
        [np.array(row) for row in TIE_X[:count]], op == "maximum"
    )
    np.testing.assert_array_equal(which, owner)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_subtract_and_scale(simd, threads, shape, dtype):
    x0, x1 = inputs(2, shape, dtype, seed=4)
    out = np.empty(shape, dtype)
    _core.merge_subtract(x0, x1, out)
    np.testing.assert_array_equal(out, x0 - x1)
    a = x1.copy()
    _core.merge_subtract(x0, a, a)  # in place
    np.testing.assert_array_equal(a, x0 - x1)
    dy = rng(5).normal(size=shape).astype(dtype)
    dx0, dx1 = np.empty(shape, dtype), np.empty(shape, dtype)
    _core.merge_subtract_backward(dy, dx0, dx1)
    np.testing.assert_array_equal(dx0, dy)
    np.testing.assert_array_equal(dx1, -dy)
    _core.merge_subtract_backward(dy, None, dx0)
    np.testing.assert_array_equal(dx0, -dy)
    _core.scale(x0, out, -0.5)
    np.testing.assert_array_equal(out, x0 * dtype(-0.5))
    b = x0.copy()
    _core.scale(b, b, 3.0)
    np.testing.assert_array_equal(b, x0 * dtype(3.0))


CONCAT_CASES = [
    # (shape of input 0, axis, widths along the axis)
    ((1,), 0, [1]),
    ((5, 1), 1, [1, 2, 3]),
    ((7, 3), -1, [3, 5, 1, 2, 7]),
    ((7, 3), 0, [7, 1, 13]),
    ((3, 4, 5), 1, [4, 0, 2]),  # a zero-width part
    ((2, 3, 5, 2), 2, [5, 3]),
    ((97, 31), 1, [31, 17, 29]),
    ((1, 40000), 1, [40000, 3]),  # one long row over several chunks
    ((211, 5, 3), 1, [5, 2, 7]),
    ((257, 1031), 1, [1031, 3]),  # split over threads
    ((211, 67), 0, [211, 97]),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONCAT_CASES, ids=str)
def test_concatenate(simd, threads, case, dtype):
    shape, axis, widths = case
    r = rng(len(widths))
    xs = []
    for w in widths:
        s = list(shape)
        s[axis] = w
        xs.append(r.normal(size=s).astype(dtype))
    want = np.concatenate(xs, axis=axis)
    out = np.full(want.shape, np.nan, dtype)
    _core.concatenate(xs, out, axis)
    np.testing.assert_array_equal(out, want)
    dy = r.normal(size=want.shape).astype(dtype)
    dxs = [np.full(x.shape, np.nan, dtype) for x in xs]
    _core.concatenate_backward(xs, dy, dxs, axis)
    bounds = np.cumsum([0] + widths)
    for k, dx in enumerate(dxs):
        np.testing.assert_array_equal(
            dx, np.take(dy, np.arange(bounds[k], bounds[k + 1]), axis=axis)
        )
    # None entries are skipped
    some = [
        None if k % 2 else np.full(x.shape, np.nan, dtype) for k, x in enumerate(xs)
    ]
    _core.concatenate_backward(xs, dy, some, axis)
    for k in range(0, len(xs), 2):
        np.testing.assert_array_equal(some[k], dxs[k])


DOT_SHAPES = [(1, 1), (1, 7), (13, 3), (31, 17), (97, 131), (3, 5003)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("shape", DOT_SHAPES)
def test_dot(simd, threads, shape, normalize, dtype):
    r = rng(shape[0] + shape[1])
    x0 = r.normal(size=shape).astype(dtype)
    x1 = r.normal(size=shape).astype(dtype)
    if normalize and shape[0] > 2:
        x0[1] = 1e-8  # norm clamped: sum x^2 < 1e-12
        x1[2] = 0.0
    out = np.full((shape[0], 1), np.nan, dtype)
    _core.dot(x0, x1, out, normalize=normalize)
    a, b = as64([x0, x1])
    norms = np.sqrt(np.maximum((a * a).sum(1, keepdims=True), 1e-12))
    normb = np.sqrt(np.maximum((b * b).sum(1, keepdims=True), 1e-12))
    scale = (np.abs(a) * np.abs(b)).sum(1, keepdims=True)
    if normalize:
        scale = scale / (norms * normb)
    assert_close(out, ref.dot(a, b, normalize), scale, dtype)
    dy = r.normal(size=(shape[0], 1)).astype(dtype)
    dx0, dx1 = np.full_like(x0, np.nan), np.full_like(x1, np.nan)
    _core.dot_backward(x0, x1, dy, dx0, dx1, normalize=normalize)
    want0, want1 = ref.dot_backward(a, b, dy.astype(np.float64), normalize)
    if normalize:  # |da| <= 2 |dy| / norm per element
        s0, s1 = 2 * np.abs(dy) / norms, 2 * np.abs(dy) / normb
    else:
        s0, s1 = np.abs(dy) * np.abs(b), np.abs(dy) * np.abs(a)
    assert_close(dx0, want0, s0 + 0 * a, dtype)
    assert_close(dx1, want1, s1 + 0 * b, dtype)
    only = np.full_like(x1, np.nan)
    _core.dot_backward(x0, x1, dy, None, only, normalize=normalize)
    np.testing.assert_array_equal(only, dx1)


def test_dot_normalize_matches_tensorflow_near_the_epsilon():
    """Values real tf_keras 2.21 and Keras 3.15 gave for Dot(axes=1,
    normalize=True) on x0 = [[s, 0]], x1 = [[1, 1]], dy = 1
    (scripts/merge_tf_evidence.py, docs/merge-kernels.md)."""
    tf_keras = {  # s: (out, dx0)
        1e-3: (0.7071067811865475, [-1.1368683772161603e-13, 707.10678118654744]),
        1e-7: (0.07071067811865474, [707106.7811865475, 707106.7811865475]),
        1e-8: (0.00707106781186547, [707106.7811865475, 707106.7811865475]),
    }
    # Keras 3 caps 1 / norm at 1 / 1e-7 instead: about epsilon = 1e-14 here
    keras_3 = {
        1e-3: (0.7071067811865475, [-1.1368683772161603e-13, 707.10678118654744]),
        5e-8: (0.35355339059327373, [7071067.811865475, 7071067.811865475]),
        1e-8: (0.07071067811865475, [7071067.811865475, 7071067.811865475]),
    }
    cases = [(s, 1e-12, *v) for s, v in tf_keras.items()]
    cases += [(s, 1e-14, *v) for s, v in keras_3.items()]
    for s, epsilon, out_tf, dx_tf in cases:
        x0, x1 = np.array([[s, 0.0]]), np.array([[1.0, 1.0]])
        out, dx0, dx1 = np.empty((1, 1)), np.empty((1, 2)), np.empty((1, 2))
        _core.dot(x0, x1, out, normalize=True, epsilon=epsilon)
        dy = np.ones((1, 1))
        _core.dot_backward(x0, x1, dy, dx0, dx1, normalize=True, epsilon=epsilon)
        np.testing.assert_allclose(out[0, 0], out_tf, rtol=1e-12)
        np.testing.assert_allclose(
            dx0[0], dx_tf, rtol=1e-12, atol=1e-12 * abs(dx_tf[1])
        )


BATCH_DOT_CASES = [
    # (x0 shape, x1 shape, axes)
    ((1, 1, 1), (1, 1, 1), 2),
    ((3, 5, 7), (3, 2, 7), (2, 2)),
    ((3, 5, 7), (3, 7, 2), (2, 1)),
    ((2, 13, 3), (2, 13, 11), (1, 1)),
    ((2, 13, 3), (2, 5, 13), (1, 2)),
    ((4, 9, 17), (4, 31, 17), -1),
    ((2, 97, 64), (2, 97, 131), (-2, -2)),  # big enough for the GEMM's threads
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", BATCH_DOT_CASES, ids=str)
def test_batch_dot(simd, threads, case, dtype):
    shape0, shape1, axes = case
    r = rng(sum(shape0))
    x0 = r.normal(size=shape0).astype(dtype)
    x1 = r.normal(size=shape1).astype(dtype)
    want = ref.batch_dot(x0, x1, axes)
    out = np.full(want.shape, np.nan, dtype)
    _core.batch_dot(x0, x1, out, axes=axes)
    scale = ref.batch_dot(np.abs(x0), np.abs(x1), axes)
    assert_close(out, want, scale, dtype)
    dy = r.normal(size=want.shape).astype(dtype)
    dx0, dx1 = np.full_like(x0, np.nan), np.full_like(x1, np.nan)
    _core.batch_dot_backward(x0, x1, dy, dx0, dx1, axes=axes)
    want0, want1 = ref.batch_dot_backward(x0, x1, dy, axes)
    scale0, scale1 = ref.batch_dot_backward(np.abs(x0), np.abs(x1), np.abs(dy), axes)
    assert_close(dx0, want0, scale0, dtype)
    assert_close(dx1, want1, scale1, dtype)
    only = np.full_like(x0, np.nan)
    _core.batch_dot_backward(x0, x1, dy, only, None, axes=axes)
    np.testing.assert_array_equal(only, dx0)


def test_batch_dot_axes_are_checked():
    x0, x1, out = np.ones((2, 3, 4)), np.ones((2, 5, 4)), np.empty((2, 3, 5))
    with pytest.raises(ValueError, match="batch axis"):
        _core.batch_dot(x0, x1, out, axes=0)
    with pytest.raises(ValueError, match="axes"):
        _core.batch_dot(x0, x1, out, axes=(2, 2, 2))
    with pytest.raises(ValueError, match="x1"):
        _core.batch_dot(x0, x1, out, axes=(2, 1))
    with pytest.raises(TypeError, match=r"axes\[1\]"):
        _core.batch_dot(x0, x1, out, axes=(2, "2"))


# ---- central differences (float64) ----------------------------------------------
def numeric_gradient(f, x, h=1e-6):
    g = np.empty_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + h
        up = f()
        flat[i] = keep - h
        down = f()
        flat[i] = keep
        gflat[i] = (up - down) / (2 * h)
    return g


@pytest.mark.parametrize("count", [1, 2, 3, 5])
@pytest.mark.parametrize("op", ["multiply", "average", "maximum", "minimum"])
def test_merge_gradients_by_central_differences(op, count):
    r = rng(count)
    shape = (3, 7)
    # distinct values so no tie is within h of flipping
    xs = [r.permutation(np.linspace(-2, 2, 21)).reshape(shape) for _ in range(count)]
    xs = [x + 0.01 * k for k, x in enumerate(xs)]
    weight = r.normal(size=shape)
    forward = getattr(_core, f"merge_{op}")
    out = np.empty(shape)

    def loss():
        forward(xs, out)
        return float((out * weight).sum())

    dxs = [np.empty(shape) for _ in xs]
    if op == "average":
        _core.merge_average_backward(weight, dxs)
    else:
        getattr(_core, f"merge_{op}_backward")(xs, weight, dxs)
    for k in range(count):
        want = numeric_gradient(loss, xs[k])
        np.testing.assert_allclose(dxs[k], want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("normalize", [False, True])
def test_dot_gradients_by_central_differences(normalize):
    r = rng(7)
    x0, x1 = r.normal(size=(4, 5)), r.normal(size=(4, 5))
    weight = r.normal(size=(4, 1))
    out = np.empty((4, 1))

    def loss():
        _core.dot(x0, x1, out, normalize=normalize)
        return float((out * weight).sum())

    dx0, dx1 = np.empty_like(x0), np.empty_like(x1)
    _core.dot_backward(x0, x1, weight, dx0, dx1, normalize=normalize)
    np.testing.assert_allclose(dx0, numeric_gradient(loss, x0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dx1, numeric_gradient(loss, x1), rtol=1e-6, atol=1e-8)


# ---- bad calls with lists of arrays --------------------------------------------
# (single-array arguments are in the catalogue of tests/test_robustness.py)
def f64(*shape):
    return np.full(shape, 0.5)


LIST_CALLS = {
    # name: (valid arguments, the list arguments' positions and names)
    "merge_add": (lambda: [[f64(3, 4), f64(3, 4)], f64(3, 4)], {0: "inputs"}),
    "merge_multiply_backward": (
        lambda: [[f64(3, 4), f64(3, 4)], f64(3, 4), [f64(3, 4), f64(3, 4)]],
        {0: "inputs", 2: "dxs"},
    ),
    "merge_average_backward": (
        lambda: [f64(3, 4), [f64(3, 4), f64(3, 4)]],
        {1: "dxs"},
    ),
    "concatenate": (lambda: [[f64(3, 4), f64(3, 2)], f64(3, 6), 1], {0: "inputs"}),
    "concatenate_backward": (
        lambda: [[f64(3, 4), f64(3, 2)], f64(3, 6), [f64(3, 4), f64(3, 2)], 1],
        {0: "inputs", 2: "dxs"},
    ),
}


def list_item_cases():
    cases = []
    for name, (make, lists) in LIST_CALLS.items():
        for position, arg in lists.items():
            for item in range(len(make()[position])):
                for label in ("int64", "list", "non-contiguous", "wrong shape", "3-D"):
                    cases.append((name, position, item, label, f"{arg}[{item}]"))
                if arg == "dxs":
                    cases.append((name, position, item, "read-only", f"{arg}[{item}]"))
                    cases.append((name, position, item, "aliases dy", f"{arg}[{item}]"))
            for label in ("ndarray", "empty", "None", "too long"):
                cases.append((name, position, None, label, arg))
    return cases


def bad_item(item, label):
    if label == "int64":
        return item.astype(np.int64)
    if label == "list":
        return item.tolist()
    if label == "non-contiguous":
        return np.ones((item.shape[0], item.shape[1] * 2))[:, ::2]
    if label == "wrong shape":
        return np.ones((item.shape[0] + 1, item.shape[1]))
    if label == "3-D":
        return item[None]
    copy = item.copy()
    copy.flags.writeable = False
    return copy


@pytest.mark.parametrize("case", list_item_cases(), ids=str)
def test_bad_list_arguments_name_the_entry(case):
    name, position, item, label, arg = case
    make, _ = LIST_CALLS[name]
    args = make()
    if item is None:
        items = args[position]
        args[position] = {
            "ndarray": lambda: np.zeros((len(items), 3, 4)),
            "empty": lambda: [],
            "None": lambda: None,
            "too long": lambda: items + items,
        }[label]()
        if (
            label == "too long"
            and position == 0
            and name in ("merge_add", "concatenate")
        ):
            pytest.skip("any number of inputs is valid")
        if label == "too long" and name == "merge_multiply_backward" and position == 0:
            arg = "dxs"
    elif label == "aliases dy":
        dy_position = 0 if name == "merge_average_backward" else 1
        args[position][item] = args[dy_position]
    else:
        args[position][item] = bad_item(args[position][item], label)
    with pytest.raises((TypeError, ValueError)) as info:
        getattr(_core, name)(*args)
    message = str(info.value)
    assert message.startswith(name) and arg in message, message


def test_dxs_must_not_overlap_each_other_or_the_inputs():
    x = [f64(3, 4), f64(3, 4)]
    dy = f64(3, 4)
    shared = np.empty((3, 4))
    with pytest.raises(ValueError, match=r"dxs\[0\] overlaps dxs\[1\]"):
        _core.merge_multiply_backward(x, dy, [shared, shared])
    with pytest.raises(ValueError, match=r"dxs\[1\] overlaps inputs\[0\]"):
        _core.merge_maximum_backward(x, dy, [None, x[0]])
    with pytest.raises(ValueError, match=r"out overlaps inputs\[1\]"):
        big = np.zeros(24)
        _core.merge_add([f64(3, 4), big[2:14].reshape(3, 4)], big[:12].reshape(3, 4))
    with pytest.raises(ValueError, match="axis"):
        _core.concatenate(x, np.empty((3, 8)), 2)
    with pytest.raises(ValueError, match="epsilon"):
        _core.dot(f64(3, 4), f64(3, 4), np.empty((3, 1)), normalize=True, epsilon=-1)


def test_backend_wrappers_return_their_output():
    xs = [f64(2, 3), f64(2, 3)]
    out = np.empty((2, 3))
    assert _backend.merge_add(xs, out) is out
    assert _backend.merge_multiply(xs, out) is out
    assert _backend.merge_average(xs, out) is out
    assert _backend.merge_maximum(xs, out) is out
    assert _backend.merge_minimum(xs, out) is out
    assert _backend.merge_subtract(*xs, out) is out
    assert _backend.scale(xs[0], out, -1.0) is out
    whole = np.empty((2, 6))
    assert _backend.concatenate(xs, whole, axis=-1) is whole
    dot = np.empty((2, 1))
    assert _backend.dot(*xs, dot, normalize=True) is dot
    np.testing.assert_allclose(dot, 1.0, rtol=1e-15)
