"""A max pooling that applies relu's backward for the layer before it.

Where a max pooling alone reads the output of a layer with relu, the
executor lets the pooling route its gradient only where the pooled value is
above 0 (``max_pool2d_backward(..., gate=pooled)``) and the layer skips its
own relu pass. At each window's maximum the layer's output is the pooled
value, so this must be relu's backward exactly: the kernel against the
ungated routing followed by relu's backward, bit for bit, on both of its
paths (windows apart, and overlapping windows), every SIMD path, 1 and 2
threads, with -0, inf and NaN in the gradient and NaN and zeros in the
layer's output; then the executor's choices, and whole fits with and
without it, bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference as ref
from executor_ab import assert_switch_changes_no_bit, gated
import tinynn as tf
from tinynn import _core
from tinynn.keras import layers

DTYPES = [np.float32, np.float64]
# (batch, height, width, pool_h, pool_w, stride_h, stride_w, padding)
CASES = [
    (2, 11, 11, 2, 2, 2, 2, "valid"),  # keras.io's second pooling, smaller
    (2, 7, 5, 2, 2, 2, 2, "same"),
    (1, 7, 9, 2, 2, 3, 3, "valid"),  # gaps between windows
    (2, 7, 5, 3, 3, 2, 2, "same"),  # overlapping: the general path
    (1, 6, 7, 2, 3, 1, 1, "same"),
]


def relu_output(r, shape, dtype):
    """A relu layer's output: many exact zeros (whole windows of them
    too), some NaN."""
    x = np.maximum(r.normal(size=shape) - 0.3, 0).astype(dtype)
    x[:, :2, :2, ::3] = 0  # windows whose maximum is 0
    x.reshape(-1)[5::17] = np.nan
    return x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: "x".join(map(str, c[:7])))
def test_gate_is_relus_backward_after_the_routing(simd, threads, dtype, case):
    for channels in (1, 5, 16, 37):
        x_shape, y_shape, window = ref.pool_case(case, channels)
        r = np.random.default_rng(channels + sum(x_shape))
        x = relu_output(r, x_shape, dtype)
        y = np.empty(y_shape, dtype)
        argmax = np.empty(y_shape, np.int32)
        _core.max_pool2d_forward(x, y, argmax, *window)
        dy = r.normal(size=y_shape).astype(dtype)
        dy.reshape(-1)[::5] = -0.0
        dy.reshape(-1)[1::11] = np.inf
        dy.reshape(-1)[2::13] = np.nan
        routed = np.empty(x_shape, dtype)
        _core.max_pool2d_backward(dy, argmax, routed, *window)
        want = np.empty_like(routed)
        _core.relu_backward(x, routed, want)  # what the layer would do
        assert (want != routed).any()  # the gate has something to do
        for args in (window, ()):  # with the window, and the general path
            got = np.full(x_shape, 7, dtype)
            _core.max_pool2d_backward(dy, argmax, got, *args, gate=y)
            assert got.tobytes() == want.tobytes()


def test_gate_is_checked():
    x_shape, y_shape, window = ref.pool_case(CASES[0], 4)
    dy = np.ones(y_shape)
    argmax = np.zeros(y_shape, np.int32)
    dx = np.empty(x_shape)
    with pytest.raises(ValueError, match="gate"):
        _core.max_pool2d_backward(dy, argmax, dx, *window, gate=np.ones(x_shape))
    with pytest.raises(TypeError, match="gate"):
        _core.max_pool2d_backward(
            dy, argmax, dx, *window, gate=np.ones(y_shape, np.float32)
        )
    with pytest.raises(ValueError, match="gate"):  # overlaps the output
        _core.max_pool2d_backward(
            dy, argmax, dx, *window, gate=dx[:, : y_shape[1], : y_shape[2]]
        )


# ---- the executor ----------------------------------------------------------------
def convnet(activation="relu", pool=None, **conv_args):
    """keras.io's MNIST convnet, smaller: the second convolution's pooling
    is the one that can gate (the first pair is fused)."""
    tf.set_seed(3)
    model = tf.keras.Sequential(
        [
            layers.Conv2D(4, 3, activation="relu", input_shape=(12, 12, 2)),
            layers.MaxPooling2D(2),
            layers.Conv2D(5, 3, activation=activation, **conv_args),
            pool or layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_the_second_pooling_gates_its_convolutions_relu():
    # conv1 + pool1 fused, conv2, pool2 (gated), flatten, dropout, dense
    assert gated(convnet()) == [False, False, True, False, False, False]


@pytest.mark.parametrize(
    "make",
    [
        lambda: convnet("tanh"),
        lambda: convnet(activity_regularizer="l2"),
        lambda: convnet(pool=layers.AveragePooling2D(2)),
    ],
    ids=["tanh", "activity penalty", "average pooling"],
)
def test_not_gated(make):
    assert not any(gated(make()))


def test_not_gated_when_the_output_is_read_elsewhere():
    x = tf.keras.Input(shape=(12, 12, 2))
    h = layers.Conv2D(3, 3)(x)
    h = layers.Conv2D(6, 3, activation="relu")(h)
    pooled = layers.Flatten()(layers.MaxPooling2D(2)(h))
    out = layers.Dense(3)(layers.concatenate([pooled, layers.Flatten()(h)]))
    fan_out = tf.keras.Model(x, out)
    as_output = tf.keras.Model(x, [layers.MaxPooling2D(2)(h), h])
    for model in (fan_out, as_output):
        assert not any(gated(model))


def text_convnet():
    """Conv1D twice, the second followed by MaxPooling1D with windows that
    overlap (the general path)."""
    tf.set_seed(5)
    model = tf.keras.Sequential(
        [
            layers.Conv1D(6, 3, input_shape=(30, 3)),
            layers.Conv1D(7, 5, activation="relu"),
            layers.MaxPooling1D(3, strides=2),
            layers.Flatten(),
            layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile("rmsprop", "sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("floatx", ["float32", "float64"])
@pytest.mark.parametrize("make", [convnet, text_convnet], ids=["2d", "1d overlapping"])
def test_gated_fit_is_the_ungated_one_bit_for_bit(make, floatx, monkeypatch):
    assert any(gated(make()))
    assert_switch_changes_no_bit(make, "gate_relu_pools", monkeypatch, floatx, 80, 32)
