"""Functional models against real Keras 3 in float64: the same graph, the
same initial weights, two epochs without shuffling; every History series,
evaluate's values and predict's arrays agree to 1e-9.

Models (issue #17): Chollet's ticket model (3 inputs, 2 outputs, loss and
metric dicts), Géron's wide & deep with an auxiliary output and
loss_weights, a functional MNIST-shaped MLP with logits, a model that
applies one Dense to two inputs (shared weights), and a subclassed model
(``+`` and a training-dependent BatchNormalization in ``call``) beside its
functional twin. Keras 3 names a
multi-output model's series as Keras 2 does for these (``<output>_loss``,
``<output>_<metric>``); the comparison is by name.

Optional oracle, skipped without TensorFlow; TINYNN_REQUIRE_KERAS makes a
missing TensorFlow fail (CI's Keras step runs it).
"""

from __future__ import annotations

import numpy as np
import pytest
from keras_oracle import (
    assert_close,
    assert_same_training,
    float64,
    tensorflow_or_skip,
)

import tinynn

keras = tensorflow_or_skip("functional").keras

TOL = 1e-9
# Keras keeps optimizer hyper-parameters in float32 variables: only values
# float32 holds exactly give the same float64 arithmetic in both.
EXACT = dict(beta_1=0.875, beta_2=1 - 2.0**-10, epsilon=2.0**-23)


@pytest.fixture(autouse=True)
def float64_everywhere():
    with float64(keras):
        yield


def close(mine, theirs, what=""):
    assert_close(mine, theirs, TOL, what)


# ---- the models, written once for both libraries -------------------------------------
def ticket_model(k):
    title = k.Input(shape=(10,), name="title")
    text_body = k.Input(shape=(12,), name="text_body")
    tags = k.Input(shape=(5,), name="tags")
    features = k.layers.Concatenate(name="features")([title, text_body, tags])
    features = k.layers.Dense(8, activation="relu", name="hidden")(features)
    priority = k.layers.Dense(1, activation="sigmoid", name="priority")(features)
    department = k.layers.Dense(4, activation="softmax", name="department")(features)
    return k.Model(
        inputs=[title, text_body, tags], outputs=[priority, department], name="ticket"
    )


def ticket_compile(k):
    return dict(
        optimizer=k.optimizers.RMSprop(
            learning_rate=2.0**-7, rho=0.875, epsilon=2.0**-23
        ),
        loss={
            "priority": "mean_squared_error",
            "department": "categorical_crossentropy",
        },
        metrics={"priority": ["mean_absolute_error"], "department": ["accuracy"]},
    )


def ticket_data(r, n):
    x = {
        "title": r.integers(0, 2, (n, 10)).astype(np.float64),
        "text_body": r.integers(0, 2, (n, 12)).astype(np.float64),
        "tags": r.integers(0, 2, (n, 5)).astype(np.float64),
    }
    y = {
        "priority": r.random((n, 1)),
        "department": np.eye(4)[r.integers(0, 4, n)],
    }
    return x, y


def wide_deep_model(k):
    input_a = k.Input(shape=(5,), name="wide_input")
    input_b = k.Input(shape=(6,), name="deep_input")
    hidden1 = k.layers.Dense(8, activation="relu", name="hidden1")(input_b)
    hidden2 = k.layers.Dense(8, activation="relu", name="hidden2")(hidden1)
    concat = k.layers.concatenate([input_a, hidden2], name="concat")
    output = k.layers.Dense(1, name="main_output")(concat)
    aux_output = k.layers.Dense(1, name="aux_output")(hidden2)
    return k.Model(inputs=[input_a, input_b], outputs=[output, aux_output])


def wide_deep_compile(k):
    return dict(
        optimizer=k.optimizers.SGD(learning_rate=2.0**-6),
        loss=["mse", "mse"],
        loss_weights=[0.875, 0.125],
    )


def wide_deep_data(r, n):
    x = [r.normal(size=(n, 5)), r.normal(size=(n, 6))]
    target = r.normal(size=(n, 1))
    return x, [target, target]


def mlp_model(k):
    inputs = k.Input(shape=(20,), name="digits")
    x = k.layers.Dense(16, activation="relu", name="dense_a")(inputs)
    x = k.layers.Dense(16, activation="relu", name="dense_b")(x)
    outputs = k.layers.Dense(10, name="predictions")(x)
    return k.Model(inputs=inputs, outputs=outputs, name="mnist_model")


def mlp_compile(k):
    return dict(
        optimizer=k.optimizers.Adam(learning_rate=2.0**-9, **EXACT),
        loss=k.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )


def mlp_data(r, n):
    return r.random((n, 20)), r.integers(0, 10, n)


def shared_model(k):
    left = k.Input(shape=(6,), name="left")
    right = k.Input(shape=(6,), name="right")
    shared = k.layers.Dense(5, activation="tanh", name="shared")
    merged = k.layers.concatenate([shared(left), shared(right)], name="both")
    output = k.layers.Dense(1, activation="sigmoid", name="same")(merged)
    return k.Model(inputs=[left, right], outputs=output)


def shared_compile(k):
    return dict(
        optimizer=k.optimizers.Adam(learning_rate=2.0**-8, **EXACT),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )


def shared_data(r, n):
    return [r.normal(size=(n, 6)), r.normal(size=(n, 6))], r.integers(0, 2, (n, 1))


MODELS = {
    "ticket": (ticket_model, ticket_compile, ticket_data),
    "wide_deep": (wide_deep_model, wide_deep_compile, wide_deep_data),
    "mlp": (mlp_model, mlp_compile, mlp_data),
    "shared": (shared_model, shared_compile, shared_data),
}


def as_list(value):
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_two_epochs_match_keras(name):
    build, settings, make_data = MODELS[name]
    r = np.random.default_rng(len(name))
    x, y = make_data(r, 48)
    x_val, y_val = make_data(r, 16)
    mine = build(tinynn.keras)
    theirs = build(keras)
    assert [layer.name for layer in mine.layers] == [
        layer.name for layer in theirs.layers
    ]
    for layer in mine.layers:
        if layer.weights:
            theirs.get_layer(layer.name).set_weights(layer.get_weights())
    mine.compile(**settings(tinynn.keras))
    theirs.compile(**settings(keras), jit_compile=False)  # no XLA reordering
    fit = dict(batch_size=16, epochs=2, shuffle=False, verbose=0)
    h_mine = mine.fit(x, y, validation_data=(x_val, y_val), **fit).history
    h_theirs = theirs.fit(x, y, validation_data=(x_val, y_val), **fit).history
    shared = sorted(set(h_mine) & set(h_theirs))
    assert "loss" in shared and "val_loss" in shared
    assert len(shared) == len(h_mine), (sorted(h_mine), sorted(h_theirs))
    for key in shared:
        close(h_mine[key], h_theirs[key], f"history {key}")
    e_mine = mine.evaluate(x_val, y_val, verbose=0, return_dict=True)
    e_theirs = theirs.evaluate(x_val, y_val, verbose=0, return_dict=True)
    for key in set(e_mine) & set(e_theirs):
        close(e_mine[key], e_theirs[key], f"evaluate {key}")
    p_mine = as_list(mine.predict(x_val, verbose=0))
    p_theirs = as_list(theirs.predict(x_val, verbose=0))
    assert len(p_mine) == len(p_theirs)
    for k, (a, b) in enumerate(zip(p_mine, p_theirs)):
        close(a, b, f"predict output {k}")
    for layer in mine.layers:
        for a, b in zip(
            layer.get_weights(), theirs.get_layer(layer.name).get_weights()
        ):
            close(a, b, f"weights of {layer.name}")


# ---- a subclassed model and its functional twin (issue #17) ----------------------------
WEIGHTED = ("hidden", "side", "norm", "out")


def towers_subclassed(k):
    class Towers(k.Model):
        """Keras's subclassing style: layers in __init__, `+` and a
        training-dependent BatchNormalization in call()."""

        def __init__(self):
            super().__init__(name="towers")
            self.hidden = k.layers.Dense(8, activation="tanh", name="hidden")
            self.side = k.layers.Dense(8, name="side")
            self.norm = k.layers.BatchNormalization(name="norm")
            self.out = k.layers.Dense(3, activation="softmax", name="out")

        def call(self, inputs, training=None):
            h = self.hidden(inputs) + self.side(inputs)
            return self.out(self.norm(h, training=training))

    return Towers()


def towers_functional(k):
    x = k.Input(shape=(5,), name="x")
    h = k.layers.Add(name="add")(
        [
            k.layers.Dense(8, activation="tanh", name="hidden")(x),
            k.layers.Dense(8, name="side")(x),
        ]
    )
    norm = k.layers.BatchNormalization(name="norm")(h)
    return k.Model(x, k.layers.Dense(3, activation="softmax", name="out")(norm))


@pytest.mark.parametrize("build", [towers_subclassed, towers_functional])
def test_subclassed_model_and_its_twin_match_keras(build):
    r = np.random.default_rng(11)
    x, y = r.normal(size=(48, 5)), r.integers(0, 3, 48)
    x_val, y_val = r.normal(size=(16, 5)), r.integers(0, 3, 16)
    mine, theirs = build(tinynn.keras), build(keras)
    mine(x[:2])  # build the weights
    theirs(x[:2])
    for name in WEIGHTED:
        theirs.get_layer(name).set_weights(mine.get_layer(name).get_weights())

    def settings(k):
        return dict(
            optimizer=k.optimizers.Adam(learning_rate=2.0**-7, **EXACT),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )

    mine.compile(**settings(tinynn.keras))
    theirs.compile(**settings(keras), jit_compile=False)
    fit = dict(batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert_same_training(mine, theirs, x, y, (x_val, y_val), fit, TOL)
    for name in WEIGHTED:  # moving statistics included
        for a, b in zip(
            mine.get_layer(name).get_weights(), theirs.get_layer(name).get_weights()
        ):
            close(a, b, f"weights of {name}")
