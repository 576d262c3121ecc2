"""The fused optimizer step (training.fused_update, off by default): each
layer's weights are updated as soon as backward has their gradients final,
instead of all after backward. The arithmetic per weight is the same, so every fit must give
bit-identical weights, optimizer state and History either way."""

from __future__ import annotations

import numpy as np
import pytest

import tinynn as tn
from tinynn import training

L = tn.keras.layers

OPTIMIZERS = {
    "sgd": lambda **k: tn.optimizers.SGD(0.05, **k),
    "sgd_momentum": lambda **k: tn.optimizers.SGD(0.05, momentum=0.9, **k),
    "sgd_nesterov": lambda **k: tn.optimizers.SGD(
        0.05, momentum=0.9, nesterov=True, **k
    ),
    "rmsprop": lambda **k: tn.optimizers.RMSprop(**k),
    "rmsprop_momentum": lambda **k: tn.optimizers.RMSprop(momentum=0.5, **k),
    "adam": lambda **k: tn.optimizers.Adam(0.01, **k),
    "adam_amsgrad": lambda **k: tn.optimizers.Adam(0.01, amsgrad=True, **k),
    "adamw": lambda **k: tn.optimizers.AdamW(0.01, weight_decay=0.1, **k),
    "nadam": lambda **k: tn.optimizers.Nadam(0.01, **k),
    "adamax": lambda **k: tn.optimizers.Adamax(0.01, **k),
    "adagrad": lambda **k: tn.optimizers.Adagrad(0.05, **k),
    "adadelta": lambda **k: tn.optimizers.Adadelta(1.0, **k),
}


def graph_model(dtype):
    """A shared Dense called twice (its gradient is final only after its
    first call site's backward), a frozen layer between, fan-out, an L2
    kernel regularizer, an activity regularizer, a max-norm constraint,
    batch normalization, and an output without a loss (its layer gets no
    gradient: zeroed, then updated at the end of backward)."""
    inp = tn.keras.Input((8,), dtype=dtype)
    shared = L.Dense(8, activation="tanh", kernel_regularizer="l2", dtype=dtype)
    a = shared(inp)
    b = L.Dense(8, activation="relu", trainable=False, dtype=dtype)(a)
    c = shared(b)
    d = L.Add(dtype=dtype)([a, c])
    d = L.BatchNormalization(dtype=dtype)(d)
    out = L.Dense(
        4,
        activation="softmax",
        kernel_constraint=tn.constraints.MaxNorm(0.5),
        activity_regularizer="l1",
        name="out",
        dtype=dtype,
    )(d)
    aux = L.Dense(3, name="aux", dtype=dtype)(d)
    return tn.keras.Model(inp, [out, aux])


def data(dtype, n=150):
    r = np.random.default_rng(0)
    x = r.normal(size=(n, 8)).astype(dtype)
    y = r.integers(0, 4, n)
    return x, [y, np.zeros((n, 3), dtype)]


def fit(fused, make_optimizer, dtype="float64", epochs=3, monkeypatch=None):
    """(weights, optimizer state, iterations, History) after a fit."""
    monkeypatch.setattr(training, "fused_update", fused)
    tn.set_seed(3)
    model = graph_model(dtype)
    model.compile(
        make_optimizer(),
        loss={"out": "sparse_categorical_crossentropy", "aux": None},
        metrics={"out": ["accuracy"]},
    )
    x, y = data(dtype)
    history = model.fit(x, y, batch_size=16, epochs=epochs, verbose=0)
    optimizer = model.optimizer
    state = {k: v.copy() for k, v in optimizer.flat_state().items()}
    return model.get_weights(), state, optimizer.iterations, history.history


def assert_identical(a, b):
    weights_a, state_a, steps_a, history_a = a
    weights_b, state_b, steps_b, history_b = b
    assert len(weights_a) == len(weights_b)
    for wa, wb in zip(weights_a, weights_b):
        assert np.array_equal(wa, wb)
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        assert np.array_equal(state_a[key], state_b[key]), key
    assert steps_a == steps_b
    assert history_a == history_b


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("clip", [{}, {"clipnorm": 0.05}, {"clipvalue": 0.01}])
def test_fused_step_is_bit_identical(monkeypatch, name, clip):
    def make():
        return OPTIMIZERS[name](**clip)

    assert make().fusable()
    fused = fit(True, make, monkeypatch=monkeypatch)
    unfused = fit(False, make, monkeypatch=monkeypatch)
    assert_identical(fused, unfused)


@pytest.mark.parametrize("name", ["adam", "sgd_momentum", "nadam"])
def test_fused_step_is_bit_identical_in_float32(monkeypatch, name):
    fused = fit(True, OPTIMIZERS[name], "float32", monkeypatch=monkeypatch)
    unfused = fit(False, OPTIMIZERS[name], "float32", monkeypatch=monkeypatch)
    assert_identical(fused, unfused)


def test_fused_step_with_a_schedule(monkeypatch):
    def make():
        rate = tn.optimizers.schedules.ExponentialDecay(0.05, 7, 0.5)
        return tn.optimizers.Adam(rate)

    assert_identical(
        fit(True, make, monkeypatch=monkeypatch),
        fit(False, make, monkeypatch=monkeypatch),
    )


def test_shared_layer_whose_first_call_gets_no_gradient(monkeypatch):
    # The shared layer's first call site feeds only an output without a
    # loss: backward skips that step, and the layer is final there all the
    # same (after its other call's backward).
    def run(fused):
        monkeypatch.setattr(training, "fused_update", fused)
        tn.set_seed(5)
        inp = tn.keras.Input((6,), dtype="float64")
        shared = L.Dense(6, activation="tanh", kernel_regularizer="l2", dtype="float64")
        aux = L.Dense(2, name="aux", dtype="float64")(shared(inp))
        hidden = L.Dense(6, activation="relu", dtype="float64")(inp)
        out = L.Dense(3, name="out", dtype="float64")(shared(hidden))
        # aux first: the graph's order then has the shared layer's aux call
        # as its first step
        model = tn.keras.Model(inp, [aux, out])
        assert [s.layer for s in model._make_plan(1).steps][1] is shared
        model.compile(tn.optimizers.Adam(0.02), loss={"out": "mse", "aux": None})
        r = np.random.default_rng(1)
        x = r.normal(size=(64, 6))
        y = [np.zeros((64, 2)), r.normal(size=(64, 3))]
        history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        state = model.optimizer.flat_state()
        return (
            model.get_weights(),
            {k: v.copy() for k, v in state.items()},
            model.optimizer.iterations,
            history.history,
        )

    assert_identical(run(True), run(False))


def test_fused_step_updates_layer_by_layer(monkeypatch):
    # The fused path really runs: one update per trainable layer range, each
    # right after the layer's last backward call.
    monkeypatch.setattr(training, "fused_update", True)
    tn.set_seed(3)
    model = graph_model("float64")
    model.compile("adam", loss={"out": "sparse_categorical_crossentropy", "aux": None})
    x, y = data("float64", 16)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)  # builds the plan
    events = []
    shared = model.layers[1]
    original = type(shared)._backward

    def backward(self, *args, **kwargs):
        events.append(("backward", self.name))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(shared), "_backward", backward)
    store = model._store
    update = store.update_layer

    def update_layer(optimizer, layer):
        if store._ranges.get(id(layer)) and id(layer) in store._pending:
            events.append(("update", layer.name))
        update(optimizer, layer)

    monkeypatch.setattr(store, "update_layer", update_layer)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    updates = [name for kind, name in events if kind == "update"]
    trainable = [
        layer.name
        for layer in model.layers
        if layer.trainable_weights and layer.name not in ()
    ]
    assert sorted(updates) == sorted(trainable)  # each trainable layer once
    # the shared layer: updated after both of its backward calls, and before
    # the backward calls that follow it (the frozen layer's come between)
    last = max(i for i, e in enumerate(events) if e == ("backward", shared.name))
    assert events.index(("update", shared.name)) == last + 1
    assert [e for e in events[: last + 1] if e == ("backward", shared.name)] == [
        ("backward", shared.name)
    ] * 2
    # the output layer is updated before any backward of the layers below it
    assert events.index(("update", "out")) < events.index(("backward", shared.name))


def test_global_clipnorm_keeps_the_whole_buffer_step(monkeypatch):
    def make():
        return tn.optimizers.Adam(0.01, global_clipnorm=0.05)

    assert not make().fusable()

    def refuse(*args, **kwargs):
        raise AssertionError("global_clipnorm must not take the fused path")

    monkeypatch.setattr(tn.optimizers.Optimizer, "update_range", refuse)
    assert_identical(
        fit(True, make, monkeypatch=monkeypatch),
        fit(False, make, monkeypatch=monkeypatch),
    )


def test_an_overridden_update_keeps_the_whole_buffer_step():
    class Scaled(tn.optimizers.SGD):
        def _update(self, w, g, state):  # not known to be element-wise
            super()._update(w, g, state)

    assert not Scaled().fusable()
    assert tn.optimizers.SGD().fusable()
