"""Every validation path of tinynn._core: the right exception, naming the
function and the argument, raised before any output is touched; and no
reference leaks on success or error paths."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from tinynn import _core

f32, f64 = np.float32, np.float64


def arr(shape, dtype=f64, fill=1.0):
    return np.full(shape, fill, dtype)


def readonly(a):
    a.flags.writeable = False
    return a


X, W, B, Y = arr((4, 3)), arr((3, 2)), arr(2), arr((4, 2))
BIG = arr((10, 4))
Y3 = arr((4, 3))

# (call, exception, message pattern)
CASES = [
    # gemm
    (
        lambda: _core.gemm([[1.0]], W, arr((1, 2))),
        TypeError,
        "gemm: a must be a numpy.ndarray; got list",
    ),
    (
        lambda: _core.gemm(arr((2, 3), np.int64), W, arr((2, 2))),
        TypeError,
        "gemm: a must have dtype float32 or float64",
    ),
    (
        lambda: _core.gemm(arr((2, 3), f32), W, arr((2, 2))),
        TypeError,
        "gemm: b must have dtype float32 like a",
    ),
    (
        lambda: _core.gemm(X, W, arr((4, 2), f32)),
        TypeError,
        "gemm: c must have dtype float64 like a",
    ),
    (
        lambda: _core.gemm(arr((2, 3), np.float16), W, arr((2, 2))),
        TypeError,
        "gemm: a must have dtype",
    ),
    (
        lambda: _core.gemm(X, arr((4, 2)), Y),
        ValueError,
        r"gemm: b has shape \(4, 2\) but op\(a\) has 3 columns",
    ),
    (lambda: _core.gemm(X, W, arr((3, 2))), ValueError, "gemm: c has shape"),
    (lambda: _core.gemm(X, W, arr((4, 5))), ValueError, "gemm: c has shape"),
    (lambda: _core.gemm(arr(3), W, Y), ValueError, "gemm: a must be 2-dimensional"),
    (
        lambda: _core.gemm(BIG[:, :3], W, arr((10, 2))),
        ValueError,
        "gemm: a must be C-contiguous",
    ),
    (
        lambda: _core.gemm(X, W, readonly(arr((4, 2)))),
        ValueError,
        "gemm: c is an output and must be writeable",
    ),
    (lambda: _core.gemm(BIG[:3], arr((4, 2)), arr((3, 2))), None, None),
    (
        lambda: _core.gemm(BIG[:4], arr((4, 4)), BIG[2:6]),
        ValueError,
        "gemm: c overlaps a",
    ),
    (
        lambda: _core.gemm(X, W, None),
        TypeError,
        "gemm: c must be a numpy.ndarray; got None",
    ),
    # dense_forward
    (
        lambda: _core.dense_forward(arr((4, 5)), W, B, Y),
        ValueError,
        r"dense_forward: w has shape \(3, 2\) but x has 5 columns",
    ),
    (
        lambda: _core.dense_forward(X, W, arr(3), Y),
        ValueError,
        r"dense_forward: b has shape \(3,\) but w has 2 columns",
    ),
    (
        lambda: _core.dense_forward(X, W, arr(2, f32), Y),
        TypeError,
        "dense_forward: b must have dtype float64 like x",
    ),
    (
        lambda: _core.dense_forward(X, W, B, arr((5, 2))),
        ValueError,
        "dense_forward: y has shape .* but x has 4 rows",
    ),
    (
        lambda: _core.dense_forward(X, W, B, Y, activation="mish"),
        ValueError,
        "dense_forward: activation must be",
    ),
    (
        lambda: _core.dense_forward(X, W, B, X[:, :2]),
        ValueError,
        "dense_forward: y must be C-contiguous",
    ),
    (
        lambda: _core.dense_forward(BIG[:4, :3].copy(), W, B, readonly(arr((4, 2)))),
        ValueError,
        "dense_forward: y is an output",
    ),
    # dense_backward
    (
        lambda: _core.dense_backward(X, W, arr((4, 3)), None, arr((3, 2)), None),
        ValueError,
        "dense_backward: dy has shape .* but w has 2 columns",
    ),
    (
        lambda: _core.dense_backward(X, W, arr((5, 2)), None, arr((3, 2)), None),
        ValueError,
        "dense_backward: dy has shape .* but x has 4 rows",
    ),
    (
        lambda: _core.dense_backward(X, W, Y, arr((4, 4)), arr((3, 2)), None),
        ValueError,
        "dense_backward: dx must have the shape of x",
    ),
    (
        lambda: _core.dense_backward(X, W, Y, None, arr((2, 3)), None),
        ValueError,
        "dense_backward: dw must have the shape of w",
    ),
    (
        lambda: _core.dense_backward(X, W, Y, None, W, None),
        ValueError,
        "dense_backward: dw overlaps w",
    ),
    (
        lambda: _core.dense_backward(X, W, Y, X, arr((3, 2)), None),
        ValueError,
        "dense_backward: dx overlaps x",
    ),
    (
        lambda: _core.dense_backward(X, W, Y, None, arr((3, 2)), arr(3)),
        ValueError,
        "dense_backward: db has shape",
    ),
    # activations
    (
        lambda: _core.relu_forward(X, arr((4, 4))),
        ValueError,
        "relu_forward: y must have the shape of x",
    ),
    (
        lambda: _core.relu_forward(X, arr((4, 3), f32)),
        TypeError,
        "relu_forward: y must have dtype float64 like x",
    ),
    (
        lambda: _core.relu_forward(np.zeros((2, 2), bool), np.zeros((2, 2), bool)),
        TypeError,
        "relu_forward: x must have dtype",
    ),
    (
        lambda: _core.softmax_forward(arr(3), arr(3)),
        ValueError,
        "softmax_forward: x must be 2-dimensional",
    ),
    (
        lambda: _core.sigmoid_forward(BIG[:9], BIG[1:]),
        ValueError,
        "sigmoid_forward: y overlaps x",
    ),
    (lambda: _core.tanh_backward(Y, Y, Y), ValueError, "tanh_backward: dx overlaps y"),
    (
        lambda: _core.relu_backward(Y, arr((4, 3)), arr((4, 2))),
        ValueError,
        "relu_backward: dy must have the shape of y",
    ),
    (
        lambda: _core.linear_forward(np.float64(1.0), arr(1)),
        TypeError,
        "linear_forward: x must be a numpy.ndarray",
    ),
    (
        lambda: _core.relu_forward(np.array(1.0), np.array(1.0)),
        ValueError,
        "relu_forward: x must have at least one dimension",
    ),
    (
        lambda: _core.elu_forward(X, arr((4, 3)), -0.5),
        ValueError,
        "elu_forward: alpha must be a finite number >= 0; got -0.5",
    ),
    (
        lambda: _core.leaky_relu_backward(Y, Y.copy(), arr((4, 3)), "0.3"),
        TypeError,
        "leaky_relu_backward: alpha must be a real number",
    ),
    (
        lambda: _core.leaky_relu_forward(X, arr((4, 3)), float("inf")),
        ValueError,
        "leaky_relu_forward: alpha must be a finite number",
    ),
    (
        lambda: _core.gelu_forward(X, arr((4, 3)), 1.0),
        TypeError,
        "takes exactly 2 arguments",
    ),
    (
        lambda: _core.gelu_backward(X, arr((4, 2)), arr((4, 3))),
        ValueError,
        "gelu_backward: dy must have the shape of x",
    ),
    (
        lambda: _core.swish_backward(Y, Y.copy(), Y),
        ValueError,
        "swish_backward: dx overlaps x",
    ),
    (
        lambda: _core.relu_clip_forward(X, arr((4, 3)), threshold=-0.5),
        ValueError,
        "relu_clip_forward: threshold must be a finite number >= 0; got -0.5",
    ),
    (
        lambda: _core.relu_clip_backward(X, arr((4, 3)), arr((4, 3)), "6"),
        TypeError,
        "relu_clip_backward: max_value must be a real number",
    ),
    (
        lambda: _core.relu_clip_backward(Y, Y.copy(), Y),
        ValueError,
        "relu_clip_backward: dx overlaps x",
    ),
    (
        lambda: _core.rescale_forward(X, arr(4), arr(3), arr((4, 3))),
        ValueError,
        "rescale_forward: scale has shape",
    ),
    (
        lambda: _core.rescale_backward(X, arr(3, f32), arr((4, 3))),
        TypeError,
        "rescale_backward: scale must have dtype float64 like dy",
    ),
    (
        lambda: _core.rescale_forward(
            BIG.reshape(-1)[:9].reshape(3, 3),
            BIG.reshape(-1)[:3],
            BIG.reshape(-1)[3:6],
            BIG.reshape(-1)[:9].reshape(3, 3),
        ),
        ValueError,
        "rescale_forward: y overlaps scale",
    ),
    (
        lambda: _core.huber(Y, Y.copy(), None, 0.0),
        ValueError,
        "huber: delta must be a finite number > 0",
    ),
    (
        lambda: _core.huber(Y, arr((4, 3)), None),
        ValueError,
        "huber: target must have the shape of pred",
    ),
    (
        lambda: _core.huber(Y, Y.copy(), Y.copy(), None),
        None,
        "",
    ),
    # losses
    (
        lambda: _core.softmax_xent(Y, np.array([0, 1, 2, 0]), None),
        ValueError,
        r"softmax_xent: labels\[2\] = 2 is outside \[0, 2\)",
    ),
    (
        lambda: _core.softmax_xent(Y, np.array([0, -1, 1, 0]), None),
        ValueError,
        r"softmax_xent: labels\[1\] = -1 is outside \[0, 2\)",
    ),
    (
        lambda: _core.softmax_xent(Y, np.array([0.0, 1, 1, 0]), None),
        TypeError,
        "softmax_xent: labels must have an integer dtype",
    ),
    (
        lambda: _core.softmax_xent(Y, np.array([True, False] * 2), None),
        TypeError,
        "softmax_xent: labels must have an integer dtype",
    ),
    (
        lambda: _core.softmax_xent(Y, np.array([0, 1, 1]), None),
        ValueError,
        "softmax_xent: labels has shape .* but logits has 4 rows",
    ),
    (
        lambda: _core.softmax_xent(Y, np.array([0, 1, 1, 0]), arr((4, 3))),
        ValueError,
        "softmax_xent: dlogits must have the shape of logits",
    ),
    (
        lambda: _core.softmax_xent(Y, np.array([0, 1, 1, 0]), readonly(arr((4, 2)))),
        ValueError,
        "softmax_xent: dlogits is an output",
    ),
    (
        lambda: _core.softmax_xent(BIG[:, :2].copy()[:4], np.zeros(4, int), None),
        None,
        None,
    ),
    (
        lambda: _core.softmax_xent(arr((2, 0)), np.zeros(2, int), None),
        ValueError,
        "softmax_xent: logits must have at least one class column",
    ),
    (
        lambda: _core.softmax_xent_dense(Y, arr((4, 3)), None),
        ValueError,
        "softmax_xent_dense: targets must have the shape of logits",
    ),
    (
        lambda: _core.softmax_xent_dense(Y, arr((4, 2), f32), None),
        TypeError,
        "softmax_xent_dense: targets must have dtype float64 like logits",
    ),
    (
        lambda: _core.mse(Y, arr((4, 3)), None),
        ValueError,
        "mse: target must have the shape of pred",
    ),
    (lambda: _core.bce(Y, Y, Y), ValueError, "bce: dpred overlaps target"),
    (
        lambda: _core.sigmoid_bce(Y, arr((4, 2), np.int32), None),
        TypeError,
        "sigmoid_bce: target must have dtype",
    ),
    # optimizers
    (
        lambda: _core.sgd_update(arr(3), arr(4), None, 0.1, 0.0, False),
        ValueError,
        "sgd_update: g must have as many values as w",
    ),
    (
        lambda: _core.sgd_update(readonly(arr(3)), arr(3), None, 0.1, 0.0, False),
        ValueError,
        "sgd_update: w is an output",
    ),
    (
        lambda: _core.sgd_update(arr(3), arr(3), None, -0.1, 0.0, False),
        ValueError,
        "sgd_update: learning_rate must be a finite number",
    ),
    (
        lambda: _core.sgd_update(arr(3), arr(3), None, float("nan"), 0.0, False),
        ValueError,
        "sgd_update: learning_rate",
    ),
    (
        lambda: _core.sgd_update(arr(3), arr(3), None, 0.1, 0.9, False),
        ValueError,
        "sgd_update: velocity must be given exactly when momentum > 0",
    ),
    (
        lambda: _core.sgd_update(arr(3), arr(3), None, 0.1, 1.0, False),
        ValueError,
        "sgd_update: momentum must be a finite number in",
    ),
    (
        lambda: _core.sgd_update(arr(3, f32), arr(3), None, 0.1, 0.0, False),
        TypeError,
        "sgd_update: g must have dtype float32 like w",
    ),
    (
        lambda: _core.rmsprop_update(arr(3), arr(3), arr(3), None, 0.1, 1.5, 0.0, 1e-7),
        ValueError,
        "rmsprop_update: rho must be",
    ),
    (
        lambda: _core.rmsprop_update(arr(3), arr(3), arr(2), None, 0.1, 0.9, 0.0, 1e-7),
        ValueError,
        "rmsprop_update: s must have as many values as w",
    ),
    (
        lambda: _core.rmsprop_update(arr(3), arr(3), arr(3), None, 0.1, 0.9, 0.0, -1.0),
        ValueError,
        "rmsprop_update: epsilon",
    ),
    (
        lambda: _core.rmsprop_update(arr(3), arr(3), arr(3), None, 0.1, 0.9, 0.5, 1e-7),
        ValueError,
        "rmsprop_update: velocity must be given",
    ),
    (
        lambda: _core.adam_update(
            arr(3), arr(3), arr(3), arr(3), None, 0.1, 0.9, 0.999, 1e-7, 0
        ),
        ValueError,
        "adam_update: step must be >= 1",
    ),
    (
        lambda: _core.adam_update(
            arr(3), arr(3), arr(3), arr(3), None, 0.1, 1.0, 0.999, 1e-7, 1
        ),
        ValueError,
        "adam_update: beta_1",
    ),
    (
        lambda: _core.adam_update(
            arr(3), arr(3), arr(3), arr(3), None, 0.1, 0.9, -0.1, 1e-7, 1
        ),
        ValueError,
        "adam_update: beta_2",
    ),
    (
        lambda: _core.adam_update(
            BIG[0], arr(4), BIG[0], arr(4), None, 0.1, 0.9, 0.999, 1e-7, 1
        ),
        ValueError,
        "adam_update: m overlaps w",
    ),
    (
        lambda: _core.adam_update(
            arr(3), arr(3), arr(3), arr(3), arr(2), 0.1, 0.9, 0.999, 1e-7, 1
        ),
        ValueError,
        "adam_update: vhat must have as many values",
    ),
    (
        lambda: _core.adam_update(
            arr(3), arr(3), arr(3), arr(3), None, "0.1", 0.9, 0.999, 1e-7, 1
        ),
        TypeError,
        "adam_update: learning_rate must be a real number; got str",
    ),
    (
        lambda: _core.sgd_update(arr(3), arr(3), arr(3), 0.1, "0.9", False),
        TypeError,
        "sgd_update: momentum must be a real number; got str",
    ),
    (
        lambda: _core.rmsprop_update(arr(3), arr(3), arr(3), None, 0.1, 0.9, 0.0, None),
        TypeError,
        "rmsprop_update: epsilon must be a real number; got NoneType",
    ),
    (
        lambda: _core.sgd_update(arr(3), arr(3), None, 10**400, 0.0, False),
        ValueError,
        "sgd_update: learning_rate must be a finite number; got 1000",
    ),
    (
        lambda: _core.adam_update(
            arr(3), arr(3), arr(3), arr(3), None, 0.1, 0.9, 0.999, 1e-7, 10**30
        ),
        ValueError,
        r"adam_update: step must be an integer in \[.*\]; got 10{30}",
    ),
    (
        lambda: _core.adam_update(
            arr(3), arr(3), arr(3), arr(3), None, 0.1, 0.9, 0.999, 1e-7, 1.0
        ),
        TypeError,
        "adam_update: step must be an integer; got float",
    ),
    (
        lambda: _core.adam_update(
            arr(3),
            arr(3),
            arr(3),
            arr(3),
            None,
            np.float32(0.1),
            0.9,
            0.999,
            1e-7,
            np.int64(2),
        ),
        None,
        None,
    ),
    # byte order: a swapped array would be read as native garbage
    (
        lambda: _core.gemm(arr((4, 3), ">f8"), W, arr((4, 2))),
        ValueError,
        "gemm: a must be in native byte order; got a byte-swapped array of dtype '>f8'",
    ),
    (
        lambda: _core.gemm(X, W, arr((4, 2), ">f8")),
        ValueError,
        "gemm: c must be in native byte order",
    ),
    (
        lambda: _core.dense_forward(
            arr((4, 3), f32), arr((3, 2), ">f4"), None, arr((4, 2), f32)
        ),
        ValueError,
        "dense_forward: w must be in native byte order",
    ),
    (
        lambda: _core.softmax_xent(Y, np.array([1, 0, 1, 1], ">i2"), None),
        ValueError,
        "softmax_xent: labels must be in native byte order; got a byte-swapped array of dtype '>i2'",
    ),
    (
        lambda: _core.adam_update(
            arr(3), arr(3), arr(3, ">f8"), arr(3), None, 0.1, 0.9, 0.999, 1e-7, 1
        ),
        ValueError,
        "adam_update: m must be in native byte order",
    ),
    (lambda: _core.softmax_xent(Y, np.array([1, 0, 1, 1], "=i2"), None), None, None),
    # batch normalization
    (
        lambda: _core.batchnorm_forward(
            arr((0, 3)),
            None,
            None,
            arr(3),
            arr(3),
            arr((0, 3)),
            arr(3),
            arr(3),
            0.99,
            1e-3,
            True,
        ),
        ValueError,
        "batchnorm_forward: x has no rows; training needs at least one row",
    ),
    (
        lambda: _core.batchnorm_forward(
            X,
            arr(4),
            None,
            arr(3),
            arr(3),
            arr((4, 3)),
            arr(3),
            arr(3),
            0.99,
            1e-3,
            True,
        ),
        ValueError,
        r"batchnorm_forward: gamma has shape \(4,\) but x has 3 channels",
    ),
    (
        lambda: _core.batchnorm_forward(
            X, None, None, arr(3), arr(3), X, arr(3), arr(3), 0.99, 1e-3, True
        ),
        ValueError,
        "batchnorm_forward: y overlaps x",
    ),
    (
        lambda: _core.batchnorm_forward(
            X,
            None,
            None,
            readonly(arr(3)),
            arr(3),
            arr((4, 3)),
            arr(3),
            arr(3),
            0.99,
            1e-3,
            True,
        ),
        ValueError,
        "batchnorm_forward: moving_mean",
    ),
    (
        lambda: _core.batchnorm_forward(
            X,
            None,
            None,
            arr(3),
            arr(3),
            arr((4, 3), f32),
            arr(3),
            arr(3),
            0.99,
            1e-3,
            True,
        ),
        TypeError,
        "batchnorm_forward: y",
    ),
    (
        lambda: _core.batchnorm_backward(
            X, None, arr((4, 3)), arr(3), arr(3), X, arr(3), arr(3), True
        ),
        ValueError,
        "batchnorm_backward: dx overlaps x",
    ),
    (
        lambda: _core.batchnorm_backward(
            X, None, arr((4, 3)), arr(3), arr(3), None, arr(3), None, True
        ),
        TypeError,
        "batchnorm_backward: dbeta",
    ),
    (  # in place: dx may be dy
        lambda: _core.batchnorm_backward(
            X, None, Y3, arr(3), arr(3), Y3, arr(3), arr(3), True
        ),
        None,
        None,
    ),
    # configuration
    (
        lambda: _core.set_simd("sse9"),
        ValueError,
        "set_simd: name must be one of 'portable', 'avx2', 'avx512'; got 'sse9'",
    ),
    (lambda: _core.set_simd(3), TypeError, "set_simd: name must be a string"),
    (
        lambda: _core.set_num_threads(0),
        ValueError,
        r"set_num_threads: n must be in \[1, 1024\]; got 0",
    ),
    (
        lambda: _core.set_num_threads(10**20),
        ValueError,
        r"set_num_threads: n must be in \[1, 1024\]; got 100000000000000000000$",
    ),
    (
        lambda: _core.set_num_threads(-(2**64)),
        ValueError,
        r"set_num_threads: n must be in \[1, 1024\]; got -18446744073709551616$",
    ),
    (
        lambda: _core.set_num_threads(2.0),
        TypeError,
        "set_num_threads: n must be an integer",
    ),
    (
        lambda: _core.set_num_threads(True),
        TypeError,
        "set_num_threads: n must be an integer",
    ),
]


@pytest.mark.parametrize("index", range(len(CASES)))
def test_validation(index):
    call, error, pattern = CASES[index]
    if error is None:
        call()  # a valid call among the cases: must just work
        return
    with pytest.raises(error, match=pattern):
        call()


SCALAR_CASES = [
    (
        lambda: _core.sgd_update(arr(3), arr(3), None, float("nan"), 0.0, False),
        "sgd_update: learning_rate must be a finite number >= 0; got nan",
    ),
    (
        lambda: _core.sgd_update(arr(3), arr(3), arr(3), 0.1, 1.0, False),
        "sgd_update: momentum must be a finite number in [0, 1); got 1",
    ),
    (
        lambda: _core.rmsprop_update(arr(3), arr(3), arr(3), None, 0.1, 1.5, 0.0, 1e-7),
        "rmsprop_update: rho must be a finite number in [0, 1); got 1.5",
    ),
    (
        lambda: _core.adam_update(
            arr(3), arr(3), arr(3), arr(3), None, 0.1, 0.9, 0.999, -1e-7, 1
        ),
        "adam_update: epsilon must be a finite number >= 0; got -1e-07",
    ),
    (
        lambda: _core.batchnorm_forward(
            X, None, None, arr(3), arr(3), arr((4, 3)), arr(3), arr(3), 1.5, 1e-3, True
        ),
        "batchnorm_forward: momentum must be a finite number in [0, 1]; got 1.5",
    ),
    (
        lambda: _core.batchnorm_forward(
            X, None, None, arr(3), arr(3), arr((4, 3)), arr(3), arr(3), 0.9, -1.0, True
        ),
        "batchnorm_forward: epsilon must be a finite number >= 0; got -1",
    ),
]


@pytest.mark.parametrize("index", range(len(SCALAR_CASES)))
def test_scalar_messages_show_bounds_and_value(index):
    # The whole message: a raw printf code (PyErr_Format has no %g) must not leak.
    call, message = SCALAR_CASES[index]
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value) == message


def test_outputs_untouched_when_a_check_fails():
    y = np.full((4, 2), 7.0)
    with pytest.raises(ValueError):
        _core.dense_forward(X, W, arr(3), y)
    assert np.all(y == 7.0)
    d = np.full((4, 2), 7.0)
    with pytest.raises(ValueError):
        _core.softmax_xent(Y, np.array([0, 1, 9, 0]), d)
    assert np.all(d == 7.0)
    moving = np.full(3, 7.0)
    with pytest.raises(ValueError):
        _core.batchnorm_forward(
            X, None, None, moving, arr(3), arr((4, 3)), arr(3), arr(3), 0.9, -1.0, True
        )
    assert np.all(moving == 7.0)


def test_reference_counts_unchanged_on_success_and_error():
    args = [X, W, B, Y]
    before = [sys.getrefcount(a) for a in args]
    for _ in range(1000):
        _core.dense_forward(X, W, B, Y, activation="relu")
        try:
            _core.dense_forward(X, W, arr(3), Y)
        except ValueError:
            pass
        _core.softmax_xent(Y, np.array([0, 1, 1, 0]), None)
    assert [sys.getrefcount(a) for a in args] == before


INTEGER_TYPES = [
    np.int8, np.int16, np.int32, np.int64, np.intc, np.int_, np.longlong,
    np.uint8, np.uint16, np.uint32, np.uint64, np.uintc, np.uint, np.ulonglong,
]  # fmt: skip


@pytest.mark.parametrize("dtype", INTEGER_TYPES, ids=lambda t: t.__name__)
def test_every_integer_label_type_is_accepted(dtype):
    # np.longlong is a different type number from np.int64 on Linux (and
    # np.intc from np.int_ on Windows): labels are matched by width and sign.
    logits = np.random.default_rng(0).normal(size=(5, 3))
    labels = np.array([0, 2, 1, 1, 2])
    want = _core.softmax_xent(logits, labels, np.empty_like(logits))
    d = np.empty_like(logits)
    assert _core.softmax_xent(logits, labels.astype(dtype), d) == want


def test_byte_swapped_labels_are_not_read_as_native():
    # '>i2' label 1 is the bytes 00 01, i.e. 256 if read as native.
    with pytest.raises(ValueError, match="native byte order"):
        _core.softmax_xent(np.zeros((1, 300)), np.array([1], ">i2"), None)
