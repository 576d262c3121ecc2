"""The pooling, padding, upsampling and embedding kernels of tinynn._core
against tests/reference.py's explicit loops: odd shapes (primes, strides 2
and 3, pools larger than the stride or as large as the input, 'same' with odd
sizes, one channel, batch 1, more channels than one block), every SIMD path,
1 and 2 threads; central-difference checks of every gradient in float64;
bit-identical results for 1 to 4 threads; bad ids rejected before any write.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference as ref
from tinynn import _core

RTOL = {np.float32: 1e-5, np.float64: 1e-12}
DTYPES = [np.float32, np.float64]
INT_TYPES = [
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
    np.longlong,
]

# (batch, height, width, channels, pool_h, pool_w, stride_h, stride_w, padding)
POOL_CASES = [
    (3, 7, 5, 5, 2, 2, 2, 2, "valid"),
    (2, 7, 5, 3, 3, 3, 2, 2, "same"),  # pool larger than the stride
    (1, 11, 13, 1, 3, 2, 3, 2, "same"),  # batch 1, one channel, stride 3
    (2, 5, 5, 7, 5, 5, 1, 1, "valid"),  # pool as large as the input
    (2, 6, 7, 2, 2, 3, 1, 1, "same"),  # even pool, stride 1
    (5, 13, 1, 67, 3, 1, 3, 1, "valid"),  # width 1, channels over one block
    (2, 1, 17, 3, 1, 4, 1, 3, "same"),  # a 1-D pooling (height 1)
    (4, 9, 9, 3, 4, 4, 3, 3, "same"),  # odd padding: the extra row below
    (1, 3, 3, 2, 5, 5, 2, 2, "same"),  # pool larger than the input
    (2, 8, 8, 4, 3, 3, 3, 3, "valid"),  # leftover rows dropped
]


def rng(seed=0):
    return np.random.default_rng(seed)


def assert_close(got, want, scale, dtype):
    got = np.asarray(got, np.float64)
    bound = RTOL[dtype] * np.maximum(np.asarray(scale, np.float64), 1e-30)
    err = np.abs(got - want)
    assert np.all(err <= bound), f"max error ratio {np.max(err / bound):.3g}"


def geometry(case):
    n, h, w, c, ph, pw, sh, sw, padding = case
    (oh, pt), (ow, pl) = (
        ref.pool_geometry(h, ph, sh, padding),
        ref.pool_geometry(w, pw, sw, padding),
    )
    return (n, h, w, c), (n, oh, ow, c), (ph, pw, sh, sw, pt, pl)


def case_id(case):
    return "x".join(map(str, case[:4])) + f"-p{case[4]}{case[5]}s{case[6]}{case[7]}"


# ---- max and average pooling ----------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES, ids=case_id)
def test_max_pool2d(simd, threads, dtype, case):
    x_shape, y_shape, window = geometry(case)
    r = rng(hash(case) % 2**32)
    x = r.normal(size=x_shape).astype(dtype)
    dy = r.normal(size=y_shape).astype(dtype)
    y = np.full(y_shape, np.nan, dtype)
    argmax = np.full(y_shape, -7, np.int32)
    _core.max_pool2d_forward(x, y, argmax, *window)
    want_y, want_at = ref.max_pool2d(x, y_shape[1:3], window)
    np.testing.assert_array_equal(y, want_y.astype(dtype))  # a max is exact
    np.testing.assert_array_equal(argmax, want_at)
    y_inference = np.empty_like(y)
    _core.max_pool2d_forward(x, y_inference, None, *window)
    np.testing.assert_array_equal(y_inference, y)
    for index_type in (np.int32, np.int64):
        dx = np.full(x_shape, np.nan, dtype)
        _core.max_pool2d_backward(dy, argmax.astype(index_type), dx)
        want = ref.max_pool2d_backward(dy, want_at, x_shape[1:3])
        assert_close(
            dx, want, ref.max_pool2d_backward(np.abs(dy), want_at, x_shape[1:3]), dtype
        )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES, ids=case_id)
def test_avg_pool2d(simd, threads, dtype, case):
    x_shape, y_shape, window = geometry(case)
    r = rng(hash(case) % 2**32 + 1)
    x = r.normal(size=x_shape).astype(dtype)
    dy = r.normal(size=y_shape).astype(dtype)
    y = np.full(y_shape, np.nan, dtype)
    _core.avg_pool2d_forward(x, y, *window)
    want = ref.avg_pool2d(x, y_shape[1:3], window)
    assert_close(y, want, ref.avg_pool2d(np.abs(x), y_shape[1:3], window), dtype)
    dx = np.full(x_shape, np.nan, dtype)
    _core.avg_pool2d_backward(dy, dx, *window)
    want = ref.avg_pool2d_backward(dy, x_shape[1:3], window)
    scale = ref.avg_pool2d_backward(np.abs(dy), x_shape[1:3], window)
    assert_close(dx, want, scale, dtype)


def test_same_average_divides_by_the_cells_inside_the_input():
    # 3 x 3 input, pool 2, stride 2, 'same': the bottom/right windows hold
    # 2 and 1 cells, so the corner output is the corner value itself.
    x = np.arange(9.0).reshape(1, 3, 3, 1)
    y = np.empty((1, 2, 2, 1))
    _core.avg_pool2d_forward(x, y, 2, 2, 2, 2, 0, 0)
    np.testing.assert_array_equal(y[0, :, :, 0], [[2.0, 3.5], [6.5, 8.0]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_then_max_pool_ties_go_to_the_first_cell(simd, threads, dtype):
    """After a ReLU many windows are all zeros: TensorFlow's MaxPoolGrad sends
    dy to the first cell of the window (row-major), and only there."""
    r = rng(5)
    x = np.maximum(r.normal(size=(3, 9, 8, 4)) - 0.8, 0).astype(dtype)
    x[0, :4, :4, :] = 0  # whole windows of zeros
    x[1, 2:4, 2:4, 1] = 0.5  # a tie between positive values
    case = (3, 9, 8, 4, 2, 2, 2, 2, "same")
    x_shape, y_shape, window = geometry(case)
    y, argmax = np.empty(y_shape, dtype), np.empty(y_shape, np.int64)
    _core.max_pool2d_forward(x, y, argmax, *window)
    _, want_at = ref.max_pool2d(x, y_shape[1:3], window)
    np.testing.assert_array_equal(argmax, want_at)
    w = x_shape[2]
    assert (argmax[0, 0, 0, :] == 0).all() and (argmax[0, 1, 1, :] == 2 * w + 2).all()
    assert argmax[1, 1, 1, 1] == 2 * w + 2  # first of the four 0.5s
    zero_windows = (y == 0).sum()
    assert zero_windows > 20
    dx = np.empty(x_shape, dtype)
    dy = np.ones(y_shape, dtype)
    _core.max_pool2d_backward(dy, argmax, dx)
    # Windows do not overlap (pool = stride): exactly one cell per window gets 1.
    assert dx.sum() == y.size and set(np.unique(dx)) <= {0.0, 1.0}
    assert dx[0, 0, 0, 0] == 1 and dx[0, 0, 1, 0] == 0 and dx[0, 1, 0, 0] == 0


# ---- global pooling ---------------------------------------------------------------
GLOBAL_SHAPES = [(1, 1, 1), (3, 7, 5), (2, 13, 67), (4, 1, 130), (1, 97, 3)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", GLOBAL_SHAPES)
def test_global_pooling(simd, threads, dtype, shape):
    r = rng(sum(shape))
    x = r.normal(size=shape).astype(dtype)
    dy = r.normal(size=(shape[0], shape[2])).astype(dtype)
    for maximum in (False, True):
        y = np.full((shape[0], shape[2]), np.nan, dtype)
        _core.global_pool_forward(x, y, maximum)
        want = ref.global_pool(x, maximum)
        assert_close(y, want, ref.global_pool(np.abs(x), maximum), dtype)
    dx = np.full(shape, np.nan, dtype)
    _core.global_avg_pool_backward(dy, dx)
    want = np.broadcast_to(dy[:, None, :] / shape[1], shape)
    assert_close(dx, want, np.abs(want), dtype)
    # Ties: small integers repeat, and the gradient is shared among them.
    xt = r.integers(0, 3, size=shape).astype(dtype)
    yt = np.empty((shape[0], shape[2]), dtype)
    _core.global_pool_forward(xt, yt, True)
    _core.global_max_pool_backward(xt, yt, dy, dx)
    want = ref.global_max_pool_backward(xt, dy)
    assert_close(dx, want, np.abs(want), dtype)


# ---- padding, cropping, upsampling -----------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape, out_hw, top, left",
    [
        ((2, 3, 5, 3), (6, 9, 1, 2), 1, 2),
        ((1, 1, 1, 1), (1, 1), 0, 0),
        ((3, 7, 2, 67), (10, 3), 3, 0),
    ],
)
def test_pad_and_crop(simd, threads, dtype, shape, out_hw, top, left):
    out_hw = out_hw[:2]
    x = rng(1).normal(size=shape).astype(dtype)
    y = np.full((shape[0], *out_hw, shape[3]), np.nan, dtype)
    _core.pad2d(x, y, top, left)
    want = ref.pad2d(x, out_hw, top, left)
    np.testing.assert_array_equal(y, want.astype(dtype))
    back = np.full(shape, np.nan, dtype)
    _core.crop2d(y, back, top, left)
    np.testing.assert_array_equal(back, x)
    np.testing.assert_array_equal(back, ref.crop2d(y, shape[1:3], top, left))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape, scale",
    [((2, 3, 5, 3), (2, 2)), ((1, 1, 1, 1), (1, 3)), ((3, 7, 2, 67), (3, 1))],
)
def test_upsample(simd, threads, dtype, shape, scale):
    r = rng(2)
    x = r.normal(size=shape).astype(dtype)
    big = (shape[0], shape[1] * scale[0], shape[2] * scale[1], shape[3])
    y = np.full(big, np.nan, dtype)
    _core.upsample2d_forward(x, y)
    np.testing.assert_array_equal(y, ref.upsample2d(x, *scale).astype(dtype))
    dy = r.normal(size=big).astype(dtype)
    dx = np.full(shape, np.nan, dtype)
    _core.upsample2d_backward(dy, dx)
    want = ref.upsample2d_backward(dy, *scale)
    assert_close(dx, want, ref.upsample2d_backward(np.abs(dy), *scale), dtype)


# ---- embedding --------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("id_type", INT_TYPES, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize(
    "ids_shape, input_dim, output_dim",
    [((5, 7), 11, 3), ((1, 1), 1, 1), ((130,), 3, 131), ((4, 2, 3), 5, 67)],
)
def test_embedding(simd, threads, dtype, id_type, ids_shape, input_dim, output_dim):
    r = rng(input_dim * output_dim)
    ids = r.integers(0, min(input_dim, 127), size=ids_shape).astype(id_type)
    table = r.normal(size=(input_dim, output_dim)).astype(dtype)
    y = np.full((*ids_shape, output_dim), np.nan, dtype)
    _core.embedding_forward(ids, table, y)
    np.testing.assert_array_equal(y, ref.embedding(ids, table).astype(dtype))
    dy = r.normal(size=y.shape).astype(dtype)
    dtable = np.full(table.shape, np.nan, dtype)
    _core.embedding_backward(ids, dy, dtable)
    want = ref.embedding_backward(ids, dy, input_dim)
    assert_close(
        dtable, want, ref.embedding_backward(ids, np.abs(dy), input_dim), dtype
    )


def test_embedding_repeated_ids_add_in_sample_order():
    # 1e16 + 1 - 1e16 is 0 in float64 in this order, 1 in another: the order is
    # the samples' (rows of dy in order), whoever runs which columns.
    ids = np.array([[2, 2, 2]])
    dy = np.array([[[1e16] * 70, [1.0] * 70, [-1e16] * 70]])
    dtable = np.empty((3, 70))
    _core.embedding_backward(ids, dy, dtable)
    np.testing.assert_array_equal(dtable[2], ((1e16 + 1.0) - 1e16) * np.ones(70))
    np.testing.assert_array_equal(dtable[:2], 0)


@pytest.mark.parametrize(
    "ids, position",
    [
        (np.array([[0, 1], [5, 2]]), "[1, 0] = 5"),
        (np.array([[0, -1], [5, 2]]), "[0, 1] = -1"),
        (np.array([[0, 1], [2, 2**40]], np.int64), "[1, 1] = 1099511627776"),
        (np.array([0, 1, 2**64 - 1], np.uint64), "[2] = -1"),
        (np.array([[3, 1, 2, 4]], np.int8), "[0, 3] = 4"),
    ],
)
def test_embedding_bad_ids_are_rejected_before_any_write(ids, position):
    table = np.ones((4, 3))
    y = np.full((*ids.shape, 3), 7.0)
    with pytest.raises(
        ValueError,
        match=r"embedding_forward: ids"
        + position.replace("[", r"\[").replace("]", r"\]"),
    ):
        _core.embedding_forward(ids, table, y)
    assert (y == 7.0).all()
    dtable = np.full((4, 3), 7.0)
    with pytest.raises(ValueError, match="outside"):
        _core.embedding_backward(ids, y, dtable)
    assert (dtable == 7.0).all()


def test_embedding_ids_must_be_integers():
    with pytest.raises(TypeError, match="ids must have an integer dtype"):
        _core.embedding_forward(np.zeros((2, 2)), np.ones((3, 2)), np.empty((2, 2, 2)))


# ---- gathering rows with a cast (fit's shuffled batches) -------------------------
SOURCE_TYPES = [np.float32, np.float64, np.uint8]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("source_type", SOURCE_TYPES, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("count, rows, width", [(1, 1, 1), (7, 11, 13), (32, 97, 784)])
def test_gather_rows_converts_like_astype(
    simd, threads, dtype, source_type, count, rows, width
):
    r = rng(count * width)
    if source_type == np.uint8:
        source = r.integers(0, 256, size=(rows, width)).astype(np.uint8)
    else:  # values that float64 -> float32 must round, and a huge one
        source = (r.normal(size=(rows, width)) / 3).astype(source_type)
        source[0, 0] = 1e300 if source_type == np.float64 else 3e38
    ids = r.integers(0, rows, size=count).astype(np.int32)
    y = np.full((count, width), np.nan, dtype)
    _core.gather_rows(ids, source, y)
    with np.errstate(over="ignore"):
        want = source[ids].astype(dtype)  # NumPy's cast: the reference
    np.testing.assert_array_equal(y, want)


def test_gather_rows_rejects_bad_arguments_before_any_write():
    source, y = np.ones((4, 3)), np.full((2, 3), 7.0, np.float32)
    with pytest.raises(ValueError, match=r"gather_rows: ids\[1\] = 4 is outside"):
        _core.gather_rows(np.array([0, 4]), source, y)
    with pytest.raises(
        TypeError, match="source must be float32, float64 or uint8; got int64"
    ):
        _core.gather_rows(np.array([0, 1]), source.astype(np.int64), y)
    with pytest.raises(TypeError, match="y must have dtype float32 or float64"):
        _core.gather_rows(np.array([0, 1]), source, y.astype(np.int32))
    with pytest.raises(ValueError, match="y has shape"):
        _core.gather_rows(np.array([0, 1, 2]), source, y)
    assert (y == 7.0).all()


def test_max_pool_bad_argmax_rejected_before_any_write():
    dy = np.ones((1, 2, 2, 1))
    dx = np.full((1, 3, 3, 1), 7.0)
    argmax = np.array([0, 4, 9, 1], np.int32).reshape(1, 2, 2, 1)
    with pytest.raises(ValueError, match="argmax holds 9 at flat position 2"):
        _core.max_pool2d_backward(dy, argmax, dx)
    assert (dx == 7.0).all()
    with pytest.raises(TypeError, match="int32 or int64"):
        _core.max_pool2d_backward(dy, argmax.astype(np.int16), dx)


@pytest.mark.parametrize(
    "args, message",
    [
        ((2, 2, 2, 2, 2, 0), "pad_top and pad_left must be smaller than the pool"),
        ((2, 2, 2, 2, 0, 0), "expected at most 3 x 3"),  # 5 x 5 outputs claimed
        ((0, 2, 2, 2, 0, 0), "pool_h must be an integer in"),
        ((2, 2, 0, 2, 0, 0), "stride_h must be an integer in"),
        ((2, 2, 2, 2, -1, 0), "pad_top must be an integer in"),
        ((2, 2.0, 2, 2, 0, 0), "pool_w must be an integer"),
    ],
)
def test_pool_geometry_is_checked(args, message):
    x, y = np.ones((1, 5, 5, 1)), np.full((1, 5, 5, 1), 7.0)
    if "at most" not in message:
        y = np.full((1, 3, 3, 1), 7.0)
    with pytest.raises((ValueError, TypeError), match=message):
        _core.avg_pool2d_forward(x, y, *args)
    assert (y == 7.0).all()


# ---- gradients by central differences (float64) -----------------------------------
def numeric_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + eps
        up = f()
        flat[i] = keep - eps
        down = f()
        flat[i] = keep
        gflat[i] = (up - down) / (2 * eps)
    return g


def check_gradient(forward, backward, x, y_shape, seed=0):
    """forward(x) -> y; backward(dy) -> dx; loss = sum(y * r)."""
    r = rng(seed).normal(size=y_shape)
    got = backward(r)
    want = numeric_grad(lambda: float((forward(x) * r).sum()), x)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("case", POOL_CASES[:5] + POOL_CASES[7:9], ids=case_id)
def test_pool_gradients(case):
    x_shape, y_shape, window = geometry(case)
    # Distinct values far apart: no max changes within eps.
    x = rng(3).permutation(np.prod(x_shape)).reshape(x_shape) * 0.01
    argmax = np.empty(y_shape, np.int64)

    def max_forward(v):
        y = np.empty(y_shape)
        _core.max_pool2d_forward(v, y, argmax, *window)
        return y

    def max_backward(dy):
        max_forward(x)
        dx = np.empty(x_shape)
        _core.max_pool2d_backward(dy, argmax, dx)
        return dx

    check_gradient(max_forward, max_backward, x, y_shape)

    def avg_forward(v):
        y = np.empty(y_shape)
        _core.avg_pool2d_forward(v, y, *window)
        return y

    def avg_backward(dy):
        dx = np.empty(x_shape)
        _core.avg_pool2d_backward(dy, dx, *window)
        return dx

    check_gradient(avg_forward, avg_backward, x, y_shape)


def test_global_and_copy_gradients():
    x = rng(4).permutation(2 * 5 * 3).reshape(2, 5, 3) * 0.01

    for maximum in (False, True):

        def forward(v, maximum=maximum):
            y = np.empty((2, 3))
            _core.global_pool_forward(v, y, maximum)
            return y

        def backward(dy, maximum=maximum):
            dx = np.empty_like(x)
            if maximum:
                _core.global_max_pool_backward(x, forward(x), dy, dx)
            else:
                _core.global_avg_pool_backward(dy, dx)
            return dx

        check_gradient(forward, backward, x, (2, 3))
    img = rng(5).normal(size=(2, 3, 4, 2))

    def pad(v):
        y = np.empty((2, 6, 5, 2))
        _core.pad2d(v, y, 2, 1)
        return y

    def pad_back(dy):
        dx = np.empty_like(img)
        _core.crop2d(dy, dx, 2, 1)
        return dx

    check_gradient(pad, pad_back, img, (2, 6, 5, 2))

    def up(v):
        y = np.empty((2, 6, 12, 2))
        _core.upsample2d_forward(v, y)
        return y

    def up_back(dy):
        dx = np.empty_like(img)
        _core.upsample2d_backward(dy, dx)
        return dx

    check_gradient(up, up_back, img, (2, 6, 12, 2))


def test_embedding_gradient():
    ids = np.array([[1, 3, 1], [0, 1, 4]], np.uint8)
    table = rng(6).normal(size=(5, 4))

    def forward(t):
        y = np.empty((2, 3, 4))
        _core.embedding_forward(ids, t, y)
        return y

    def backward(dy):
        g = np.empty_like(table)
        _core.embedding_backward(ids, dy, g)
        return g

    check_gradient(forward, backward, table, (2, 3, 4))


# ---- thread counts -----------------------------------------------------------------
def all_outputs(dtype):
    r = rng(8)
    outs = []
    for case in POOL_CASES:
        x_shape, y_shape, window = geometry(case)
        x = r.normal(size=x_shape).astype(dtype)
        dy = r.normal(size=y_shape).astype(dtype)
        y, at = np.empty(y_shape, dtype), np.empty(y_shape, np.int32)
        _core.max_pool2d_forward(x, y, at, *window)
        dx = np.empty(x_shape, dtype)
        _core.max_pool2d_backward(dy, at, dx)
        ya, dxa = np.empty(y_shape, dtype), np.empty(x_shape, dtype)
        _core.avg_pool2d_forward(x, ya, *window)
        _core.avg_pool2d_backward(dy, dxa, *window)
        outs += [y, at, dx, ya, dxa]
    x = r.normal(size=(37, 29, 131)).astype(dtype)
    dy = r.normal(size=(37, 131)).astype(dtype)
    for maximum in (False, True):
        y = np.empty((37, 131), dtype)
        _core.global_pool_forward(x, y, maximum)
        dx = np.empty_like(x)
        if maximum:
            _core.global_max_pool_backward(x, y, dy, dx)
        else:
            _core.global_avg_pool_backward(dy, dx)
        outs += [y, dx]
    ids = r.integers(0, 50, size=(300, 17))
    table = r.normal(size=(50, 130)).astype(dtype)
    y = np.empty((300, 17, 130), dtype)
    _core.embedding_forward(ids, table, y)
    dtable = np.empty_like(table)
    _core.embedding_backward(ids, y, dtable)
    img = r.normal(size=(9, 31, 17, 5)).astype(dtype)
    up = np.empty((9, 62, 51, 5), dtype)
    _core.upsample2d_forward(img, up)
    down = np.empty_like(img)
    _core.upsample2d_backward(up, down)
    padded = np.empty((9, 34, 20, 5), dtype)
    _core.pad2d(img, padded, 2, 1)
    cropped = np.empty((9, 30, 15, 5), dtype)
    _core.crop2d(img, cropped, 1, 2)
    return outs + [y, dtable, up, down, padded, cropped]


@pytest.mark.parametrize("dtype", DTYPES)
def test_bit_identical_for_any_thread_count(simd, dtype):
    before = _core.get_num_threads()
    try:
        results = []
        for count in (1, 2, 3, 4):
            _core.set_num_threads(count)
            results.append(all_outputs(dtype))
    finally:
        _core.set_num_threads(before)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert a.tobytes() == b.tobytes()
