"""A Flatten or Reshape that alone reads a tensor shares its gradient buffer
(tinynn.models.executor.Plan._share_reshape_gradients): its backward copies
nothing, and training is bit for bit what the copying backward gives."""

from __future__ import annotations

import numpy as np
import pytest

import tinynn as tf
from executor_ab import assert_switch_changes_no_bit
from tinynn.keras import layers


def convnet():
    tf.set_seed(3)
    model = tf.keras.Sequential(
        [
            layers.Conv2D(4, 3, activation="relu", input_shape=(10, 10, 2)),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def reshape_chain():
    """Dense -> Reshape -> Reshape -> Flatten -> Dense: one buffer for three
    gradients."""
    tf.set_seed(4)
    x = tf.keras.Input(shape=(6,))
    h = layers.Dense(12, activation="tanh")(x)
    h = layers.Reshape((3, 4))(h)
    h = layers.Reshape((2, 2, 3))(h)
    out = layers.Dense(2, activation="softmax")(layers.Flatten()(h))
    model = tf.keras.Model(x, out)
    model.compile("sgd", "sparse_categorical_crossentropy")
    return model


def fan_out():
    """The Flatten's input also feeds a pooling: its gradient is a sum of two
    contributions, so it keeps its own buffer."""
    tf.set_seed(5)
    x = tf.keras.Input(shape=(8, 8, 1))
    h = layers.Conv2D(3, 3, activation="relu")(x)
    a = layers.Flatten()(h)
    b = layers.Flatten()(layers.MaxPooling2D(2)(h))
    out = layers.Dense(2, activation="softmax")(layers.concatenate([a, b]))
    model = tf.keras.Model(x, out)
    model.compile("rmsprop", "sparse_categorical_crossentropy")
    return model


def shared(model):
    """For each reshaping step of the plan: whether its input gradient is a
    view of its output gradient's buffer (checked against the buffers)."""
    plan = model._make_plan(16)
    flags = []
    for step in plan.steps:
        if not step.layer._reshapes_only:
            continue
        dx, dy = plan.grads[step.inputs[0]], plan.grads[step.output]
        same = dx is not None and dy is not None and np.shares_memory(dx, dy)
        assert same == step.ctx.gradient_shared
        flags.append(same)
    return flags


def test_which_gradients_are_shared():
    assert shared(convnet()) == [True]
    assert shared(reshape_chain()) == [True, True, True]
    assert shared(fan_out()) == [False, True]


def test_not_shared_when_the_input_is_a_model_output():
    x = tf.keras.Input(shape=(4, 3))
    h = layers.Dense(5)(x)
    model = tf.keras.Model(x, [h, layers.Dense(2)(layers.Flatten()(h))])
    assert shared(model) == [False]


@pytest.mark.parametrize("floatx", ["float32", "float64"])
@pytest.mark.parametrize("make", [convnet, reshape_chain, fan_out])
def test_shared_fit_is_the_copying_one_bit_for_bit(make, floatx, monkeypatch):
    assert any(shared(make()))
    assert_switch_changes_no_bit(
        make, "share_reshape_gradients", monkeypatch, floatx, 40, 16
    )
