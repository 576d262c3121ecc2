"""A Dense layer that applies relu's backward for the layer before it.

Where a Dense layer alone reads the output of a layer with relu, the
executor has it zero its input gradient where that output (its own input)
is not above 0, as the GEMM stores the gradient's tiles
(``dense_backward(..., gate=x)``), and the layer before skips its own relu
pass. The kernel is checked bit for bit in tests/test_core_kernels.py
(test_dense_backward_gate_is_relu_backward); here: its argument checks, the
executor's choices, and whole fits with and without it, bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

from executor_ab import assert_switch_changes_no_bit, gated
import tinynn as tf
from tinynn import _core
from tinynn.keras import layers


def test_gate_is_checked():
    x, w, dy = np.ones((4, 3)), np.ones((3, 2)), np.ones((4, 2))
    dx, dw, db = np.empty((4, 3)), np.empty((3, 2)), np.empty(2)
    with pytest.raises(ValueError, match="gate needs dx"):
        _core.dense_backward(x, w, dy, None, dw, db, gate=np.ones((4, 3)))
    with pytest.raises(ValueError, match="gate"):
        _core.dense_backward(x, w, dy, dx, dw, db, gate=np.ones((4, 2)))
    with pytest.raises(TypeError, match="gate"):
        _core.dense_backward(x, w, dy, dx, dw, db, gate=np.ones((4, 3), np.float32))
    with pytest.raises(ValueError, match="dx overlaps gate"):
        _core.dense_backward(x, w, dy, dx, dw, db, gate=dx)
    moments = [np.zeros((3, 2)), np.zeros((3, 2)), None, np.zeros(2), np.zeros(2)]
    with pytest.raises(ValueError, match="gate"):
        _core.dense_backward_adam(
            x, w.copy(), np.zeros(2), dy, dx, dw, db, *moments, None,
            0.01, 0.9, 0.999, 1e-7, 1, gate=np.ones((3, 4)),
        )  # fmt: skip


# ---- the executor ----------------------------------------------------------------
def mlp(activation="relu", optimizer="adam", middle=None, **dense_args):
    """The Keras article's MLP, smaller: each hidden Dense reads the relu
    output of the one before."""
    tf.set_seed(4)
    model = tf.keras.Sequential(
        [
            layers.Flatten(input_shape=(6, 5)),
            layers.Dense(70, activation="relu"),
            *([middle] if middle is not None else []),
            layers.Dense(67, activation=activation, **dense_args),
            layers.Dense(9, activation="relu"),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_each_dense_after_a_relu_dense_gates_it():
    # flatten, dense 70 (reads flatten), dense 67, 9 and 3 (each after relu)
    assert gated(mlp()) == [False, False, True, True, True]


@pytest.mark.parametrize(
    "make, flags",
    [
        (lambda: mlp("tanh"), [False, False, True, False, True]),
        (
            lambda: mlp(activity_regularizer="l2"),
            [False, False, True, False, True],
        ),
        (
            lambda: mlp(middle=layers.Dropout(0.2)),
            [False, False, False, False, True, True],
        ),
    ],
    ids=["tanh", "activity penalty", "dropout between"],
)
def test_not_gated(make, flags):
    assert gated(make()) == flags


def test_not_gated_when_the_output_is_read_elsewhere():
    x = tf.keras.Input(shape=(5,))
    h = layers.Dense(6, activation="relu")(x)
    out = layers.Dense(3)(layers.concatenate([layers.Dense(4)(h), h]))
    fan_out = tf.keras.Model(x, out)
    as_output = tf.keras.Model(x, [layers.Dense(2)(h), h])
    for model in (fan_out, as_output):
        assert not any(gated(model))


@pytest.mark.parametrize("floatx", ["float32", "float64"])
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
@pytest.mark.parametrize("batch_size", [32, 80], ids=["dx transposed", "dx direct"])
def test_gated_fit_is_the_ungated_one_bit_for_bit(
    floatx, optimizer, batch_size, monkeypatch
):
    def make():
        return mlp(optimizer=optimizer)

    assert any(gated(make()))
    assert_switch_changes_no_bit(
        make, "gate_relu_dense", monkeypatch, floatx, 200, batch_size
    )
