"""Per-call state lives in a CallContext, not on the layer: a layer called at
two places before either backward pass (a shared layer in a graph) gives
each place its own input gradient, and the weight gradients of the two
calls add up when the second backward pass accumulates."""

from __future__ import annotations

import numpy as np
import pytest

import tinynn as tf
from tinynn._call_context import CallContext

LAYERS = {
    "dense_relu": lambda: tf.keras.layers.Dense(5, activation="relu"),
    "dense_swish": lambda: tf.keras.layers.Dense(5, activation="swish"),
    "dense_activity": lambda: tf.keras.layers.Dense(
        5, activation="tanh", activity_regularizer="l2"
    ),
    "batchnorm": lambda: tf.keras.layers.BatchNormalization(),
    "layernorm": lambda: tf.keras.layers.LayerNormalization(),
    "prelu": lambda: tf.keras.layers.PReLU(alpha_initializer="glorot_uniform"),
    "dropout": lambda: tf.keras.layers.Dropout(0.4, seed=3),
    "activation": lambda: tf.keras.layers.Activation("gelu"),
    "relu_clip": lambda: tf.keras.layers.ReLU(max_value=0.5, threshold=0.1),
}


def one_call(layer, x, dy, training):
    """Input and weight gradients of a single forward/backward call."""
    ctx = CallContext()
    out = np.empty((len(x), *layer.output_shape[1:]), layer._dtype)
    layer._forward(x, training, out, ctx)
    dx = np.empty_like(x)
    layer._backward(dy.copy(), dx, ctx)
    return out.copy(), dx, [g.copy() for g in layer._grads]


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_two_calls_keep_their_own_state_and_sum_weight_gradients(name):
    tf.backend.set_floatx("float64")
    try:
        layer = LAYERS[name]()
        layer.build((None, 7))
    finally:
        tf.backend.set_floatx("float32")
    r = np.random.default_rng(0)
    x1, x2 = r.normal(size=(6, 7)), r.normal(size=(4, 7)) * 3 + 1
    dy1 = r.normal(size=(6, *layer.output_shape[1:]))
    dy2 = r.normal(size=(4, *layer.output_shape[1:]))
    # The reference: each call alone. Dropout draws its mask per call, so
    # both orders below draw in the same order (seeded layer generator).
    layer._rng = np.random.default_rng(3) if name == "dropout" else None
    out1, dx1, g1 = one_call(layer, x1, dy1, True)
    out2, dx2, g2 = one_call(layer, x2, dy2, True)

    # Both forward passes first, then both backward passes in reverse
    # order, the first overwriting the weight gradients, the second adding.
    layer._rng = np.random.default_rng(3) if name == "dropout" else None
    ctx1, ctx2 = CallContext(), CallContext()
    y1 = np.empty_like(out1)
    y2 = np.empty_like(out2)
    layer._forward(x1, True, y1, ctx1)
    layer._forward(x2, True, y2, ctx2)
    got_dx2, got_dx1 = np.empty_like(x2), np.empty_like(x1)
    layer._backward(dy2.copy(), got_dx2, ctx2, accumulate=False)
    layer._backward(dy1.copy(), got_dx1, ctx1, accumulate=True)

    np.testing.assert_array_equal(y1, out1)
    np.testing.assert_array_equal(y2, out2)
    np.testing.assert_allclose(got_dx1, dx1, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(got_dx2, dx2, rtol=1e-13, atol=1e-13)
    assert len(layer._grads) == len(g1)
    for got, a, b in zip(layer._grads, g1, g2):
        np.testing.assert_allclose(got, a + b, rtol=1e-12, atol=1e-13)


def test_activity_penalty_counts_every_call():
    layer = tf.keras.layers.Dense(3, activity_regularizer=tf.keras.regularizers.l1(0.5))
    layer.build((None, 2))
    contexts = []
    for rows in (4, 2):
        ctx = CallContext()
        out = np.empty((rows, 3), layer._dtype)
        layer._forward(np.ones((rows, 2), layer._dtype), False, out, ctx)
        contexts.append(ctx)
    each = [0.5 * np.abs(ctx.output).sum() / len(ctx.output) for ctx in contexts]
    assert layer._penalty(False, contexts) == pytest.approx(sum(each), rel=1e-6)


def test_low_level_backward_without_forward_says_so():
    layer = tf.keras.layers.Dense(2)
    layer.build((None, 3))
    with pytest.raises(RuntimeError, match="call forward before backward"):
        layer.backward(np.ones((1, 2)))
