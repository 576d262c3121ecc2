"""Central finite differences in float64 for every backward kernel and fused loss.

For a kernel output f(x) and a fixed random weighting r, the scalar
L(x) = sum(r * f(x)) has gradient backward(r); we compare that with
(L(x + h e_i) - L(x - h e_i)) / 2h for every input element (small odd shapes).
"""

from __future__ import annotations

import numpy as np
import pytest

from tinynn import _core

H = 1e-6


def numeric_grad(scalar_fn, x):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        keep = x[i]
        x[i] = keep + H
        up = scalar_fn(x)
        x[i] = keep - H
        down = scalar_fn(x)
        x[i] = keep
        grad[i] = (up - down) / (2 * H)
    return grad


def rel_error(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(a) + np.abs(b)), 1e-12)


def test_dense_backward_gradients():
    r = np.random.default_rng(0)
    x, w, b = r.normal(size=(5, 7)), r.normal(size=(7, 3)), r.normal(size=3)
    weight = r.normal(size=(5, 3))

    def loss(x_, w_, b_):
        y = np.empty((5, 3))
        _core.dense_forward(x_, w_, b_, y)
        return float((weight * y).sum())

    dx, dw, db = np.empty_like(x), np.empty_like(w), np.empty_like(b)
    _core.dense_backward(x, w, weight, dx, dw, db)
    assert rel_error(dx, numeric_grad(lambda v: loss(v, w, b), x)) < 1e-6
    assert rel_error(dw, numeric_grad(lambda v: loss(x, v, b), w)) < 1e-6
    assert rel_error(db, numeric_grad(lambda v: loss(x, w, v), b)) < 1e-6


@pytest.mark.parametrize("name", ["linear", "relu", "sigmoid", "tanh", "softmax"])
def test_activation_backward(name):
    r = np.random.default_rng(1)
    x = r.normal(size=(3, 5))
    x[np.abs(x) < 1e-3] = 0.5  # keep relu away from its kink
    weight = r.normal(size=x.shape)
    forward, backward = (
        getattr(_core, f"{name}_forward"),
        getattr(_core, f"{name}_backward"),
    )

    def loss(v):
        y = np.empty_like(v)
        forward(v, y)
        return float((weight * y).sum())

    y = np.empty_like(x)
    forward(x, y)
    dx = np.empty_like(x)
    backward(y, weight, dx)
    assert rel_error(dx, numeric_grad(loss, x)) < 1e-6


@pytest.mark.parametrize(
    "name,alpha",
    [
        ("elu", None),
        ("elu", 0.5),
        ("selu", None),
        ("softplus", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.3),
        ("swish", None),
        ("gelu", None),
        ("gelu_tanh", None),
    ],
)
def test_new_activation_backward(name, alpha):
    r = np.random.default_rng(6)
    x = r.normal(size=(3, 7)) * 2
    x[np.abs(x) < 1e-3] = 0.5  # keep elu and leaky_relu away from their kink
    weight = r.normal(size=x.shape)
    extra = () if alpha is None else (alpha,)
    forward = getattr(_core, f"{name}_forward")
    backward = getattr(_core, f"{name}_backward")

    def loss(v):
        y = np.empty_like(v)
        forward(v, y, *extra)
        return float((weight * y).sum())

    y = np.empty_like(x)
    forward(x, y, *extra)
    dx = np.empty_like(x)
    backward(x if name in ("swish", "gelu", "gelu_tanh") else y, weight, dx, *extra)
    assert rel_error(dx, numeric_grad(loss, x)) < 1e-6


@pytest.mark.parametrize(
    "params",
    [{"max_value": 1.0}, {"negative_slope": 0.3, "threshold": 0.4}],
)
def test_relu_clip_gradient(params):
    r = np.random.default_rng(8)
    x = r.normal(size=(3, 7)) * 2
    for edge in (0.0, 0.4, 1.0):  # keep away from the kinks
        x[np.abs(x - edge) < 1e-3] = 0.7
    weight = r.normal(size=x.shape)

    def loss(v):
        y = np.empty_like(v)
        _core.relu_clip_forward(v, y, **params)
        return float((weight * y).sum())

    dx = np.empty_like(x)
    _core.relu_clip_backward(x, weight, dx, **params)
    assert rel_error(dx, numeric_grad(loss, x)) < 1e-6


def test_rescale_gradient():
    r = np.random.default_rng(9)
    x, scale, offset = r.normal(size=(4, 5)), r.normal(size=5), r.normal(size=5)
    weight = r.normal(size=x.shape)

    def loss(v):
        y = np.empty_like(v)
        _core.rescale_forward(v, scale, offset, y)
        return float((weight * y).sum())

    dx = np.empty_like(x)
    _core.rescale_backward(weight, scale, dx)
    assert rel_error(dx, numeric_grad(loss, x)) < 1e-6


def test_huber_gradient():
    r = np.random.default_rng(7)
    pred, target = r.normal(size=(4, 5)) * 2, r.normal(size=(4, 5))
    for delta in (1.0, 0.3):
        d = np.empty_like(pred)
        _core.huber(pred, target, d, delta)
        numeric = numeric_grad(
            lambda v, dl=delta: _core.huber(v, target, None, dl), pred
        )
        assert rel_error(d, numeric) < 1e-6


def test_softmax_xent_gradient():
    r = np.random.default_rng(2)
    z = r.normal(size=(4, 7)) * 3
    labels = np.array([0, 6, 3, 3])
    d = np.empty_like(z)
    _core.softmax_xent(z, labels, d)
    numeric = numeric_grad(lambda v: _core.softmax_xent(v, labels, None)[0], z)
    assert rel_error(d, numeric) < 1e-6


def test_softmax_xent_dense_gradient():
    r = np.random.default_rng(3)
    z = r.normal(size=(3, 5))
    t = r.random(size=(3, 5))
    t /= t.sum(axis=1, keepdims=True)
    d = np.empty_like(z)
    _core.softmax_xent_dense(z, t, d)
    numeric = numeric_grad(lambda v: _core.softmax_xent_dense(v, t, None)[0], z)
    assert rel_error(d, numeric) < 1e-6


@pytest.mark.parametrize("kernel", ["mse", "bce", "sigmoid_bce"])
def test_elementwise_loss_gradients(kernel):
    r = np.random.default_rng(4)
    pred = r.normal(size=(3, 5))
    if kernel == "bce":
        pred = 1 / (1 + np.exp(-pred))
    target = (r.random(size=pred.shape) > 0.5).astype(float)
    fn = getattr(_core, kernel)
    d = np.empty_like(pred)
    fn(pred, target, d)
    assert rel_error(d, numeric_grad(lambda v: fn(v, target, None), pred)) < 1e-6


def test_directional_check_on_an_article_sized_layer():
    """kann's check along one random direction, for a 100x784x500 layer."""
    r = np.random.default_rng(5)
    x, w = r.normal(size=(100, 784)), r.normal(size=(784, 500)) * 0.05
    weight = r.normal(size=(100, 500))
    direction = r.normal(size=w.shape)

    def loss(w_):
        y = np.empty((100, 500))
        _core.dense_forward(x, w_, None, y, activation="tanh")
        return float((weight * y).sum())

    y = np.empty((100, 500))
    _core.dense_forward(x, w, None, y, activation="tanh")
    dz = np.empty_like(y)
    _core.tanh_backward(y, weight, dz)
    dw = np.empty_like(w)
    _core.dense_backward(x, w, dz, None, dw, None)
    h = 1e-6
    numeric = (loss(w + h * direction) - loss(w - h * direction)) / (2 * h)
    analytic = float((dw * direction).sum())
    assert abs(numeric - analytic) / abs(analytic) < 1e-6


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_backward_gradients(training, affine):
    r = np.random.default_rng(5)
    rows, channels = 7, 3
    x = r.normal(size=(rows, channels)) * 2 + 1
    gamma = r.normal(size=channels) if affine else None
    beta = r.normal(size=channels) if affine else None
    moving_mean, moving_var = r.normal(size=channels), 0.5 + r.random(channels)
    weight = r.normal(size=(rows, channels))

    def loss(x_, gamma_, beta_):
        y = np.empty_like(x_)
        stats = [np.empty(channels), np.empty(channels)]
        moving = [moving_mean.copy(), moving_var.copy()]
        _core.batchnorm_forward(
            x_, gamma_, beta_, *moving, y, *stats, 0.99, 1e-3, training
        )
        return float((weight * y).sum())

    y, mean, inv_std = np.empty_like(x), np.empty(channels), np.empty(channels)
    moving = [moving_mean.copy(), moving_var.copy()]
    _core.batchnorm_forward(
        x, gamma, beta, *moving, y, mean, inv_std, 0.99, 1e-3, training
    )
    dx, dgamma, dbeta = np.empty_like(x), np.empty(channels), np.empty(channels)
    _core.batchnorm_backward(
        x, gamma, weight, mean, inv_std, dx, dgamma, dbeta, training
    )
    assert rel_error(dx, numeric_grad(lambda v: loss(v, gamma, beta), x)) < 1e-6
    if affine:
        assert rel_error(dgamma, numeric_grad(lambda v: loss(x, v, beta), gamma)) < 1e-6
        assert rel_error(dbeta, numeric_grad(lambda v: loss(x, gamma, v), beta)) < 1e-6


@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_backward_gradients(affine):
    r = np.random.default_rng(6)
    rows, channels = 5, 7
    x = r.normal(size=(rows, channels)) * 2 + 1
    gamma = r.normal(size=channels) if affine else None
    beta = r.normal(size=channels) if affine else None
    weight = r.normal(size=(rows, channels))

    def loss(x_, gamma_, beta_):
        y = np.empty_like(x_)
        _core.layernorm_forward(
            x_, gamma_, beta_, y, np.empty(rows), np.empty(rows), 1e-3
        )
        return float((weight * y).sum())

    y, mean, inv_std = np.empty_like(x), np.empty(rows), np.empty(rows)
    _core.layernorm_forward(x, gamma, beta, y, mean, inv_std, 1e-3)
    dx, dgamma, dbeta = np.empty_like(x), np.empty(channels), np.empty(channels)
    _core.layernorm_backward(x, gamma, weight, mean, inv_std, dx, dgamma, dbeta)
    assert rel_error(dx, numeric_grad(lambda v: loss(v, gamma, beta), x)) < 1e-6
    if affine:
        assert rel_error(dgamma, numeric_grad(lambda v: loss(x, v, beta), gamma)) < 1e-6
        assert rel_error(dbeta, numeric_grad(lambda v: loss(x, gamma, v), beta)) < 1e-6


@pytest.mark.parametrize("shape", [(5, 3, 1), (2, 3, 4), (3, 1, 7)])
def test_prelu_backward_gradients(shape):
    r = np.random.default_rng(7)
    x = r.normal(size=shape)
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink at 0
    alpha = r.normal(size=shape[1])
    weight = r.normal(size=shape)

    def loss(x_, alpha_):
        y = np.empty_like(x_)
        _core.prelu_forward(x_, alpha_, y)
        return float((weight * y).sum())

    dx, dalpha = np.empty_like(x), np.empty(shape[1])
    _core.prelu_backward(x, alpha, weight, dx, dalpha)
    assert rel_error(dx, numeric_grad(lambda v: loss(v, alpha), x)) < 1e-6
    assert rel_error(dalpha, numeric_grad(lambda v: loss(x, v), alpha)) < 1e-6
