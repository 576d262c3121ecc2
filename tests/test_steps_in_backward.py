"""The optimizer step taken inside a Dense layer's backward kernel
(training.steps_in_backward, on by default): Adam's and AdamW's step on a
layer's weights runs in dense_backward_adam, tile block by tile block as the
kernel gradient is final, and the flat-buffer update covers only the rest.
Each weight gets the same arithmetic, so every fit must give bit-identical
weights, optimizer state, step count and History either way."""

from __future__ import annotations

import numpy as np
import pytest

import tinynn as tn
from tinynn import _backend, _core, training

L = tn.keras.layers


def mlp(dtype):
    """The Keras article's shape, smaller: every Dense qualifies."""
    return tn.keras.Sequential(
        [
            L.Flatten(input_shape=(4, 5), dtype=dtype),
            L.Dense(33, activation="relu", dtype=dtype),
            L.Dense(17, activation="relu", dtype=dtype),
            L.Dense(3, activation="softmax", dtype=dtype),
        ]
    )


def graph(dtype):
    """What must keep the flat-buffer step: a shared Dense (its gradient is a
    sum), a frozen one, one with a kernel regularizer, one with a
    constraint; what takes the step inside: a plain Dense, one without bias,
    and one whose output has no loss (no gradient reaches it: it takes its
    step with zero gradients after backward)."""
    inp = tn.keras.Input((4, 5), dtype=dtype)
    x = L.Flatten(dtype=dtype)(inp)
    shared = L.Dense(20, activation="tanh", dtype=dtype)
    a = shared(x)
    b = L.Dense(20, activation="relu", trainable=False, dtype=dtype)(a)
    c = shared(b)
    d = L.Dense(12, activation="relu", kernel_regularizer="l2", dtype=dtype)(c)
    d = L.Dense(12, use_bias=False, dtype=dtype)(d)
    d = L.Dense(12, kernel_constraint=tn.constraints.MaxNorm(0.5), dtype=dtype)(d)
    out = L.Dense(3, activation="softmax", name="out", dtype=dtype)(d)
    aux = L.Dense(2, name="aux", dtype=dtype)(d)
    return tn.keras.Model(inp, [out, aux])


def data(n=96):
    r = np.random.default_rng(0)
    return r.normal(size=(n, 4, 5)), r.integers(0, 3, n)


def fit(on, make_model, make_optimizer, dtype, monkeypatch, threads=2):
    monkeypatch.setattr(training, "steps_in_backward", on)
    before = _core.get_num_threads()
    _core.set_num_threads(threads)
    try:
        tn.set_seed(3)
        model = make_model(dtype)
        x, y = data()
        if len(model.outputs) == 2:
            model.compile(
                make_optimizer(),
                loss={"out": "sparse_categorical_crossentropy", "aux": None},
                metrics={"out": ["accuracy"]},
            )
            y = [y, np.zeros((len(y), 2))]
        else:
            model.compile(
                make_optimizer(),
                "sparse_categorical_crossentropy",
                metrics=["accuracy"],
            )
        history = model.fit(x.astype(dtype), y, batch_size=16, epochs=3, verbose=0)
    finally:
        _core.set_num_threads(before)
    optimizer = model.optimizer
    state = {k: v.copy() for k, v in optimizer.flat_state().items()}
    return model.get_weights(), state, optimizer.iterations, history.history


def assert_identical(a, b):
    assert len(a[0]) == len(b[0])
    for wa, wb in zip(a[0], b[0]):
        assert wa.tobytes() == wb.tobytes()
    assert a[1].keys() == b[1].keys()
    for key in a[1]:
        assert a[1][key].tobytes() == b[1][key].tobytes(), key
    assert a[2] == b[2]
    assert a[3] == b[3]


OPTIMIZERS = {
    "adam": lambda: tn.optimizers.Adam(0.01),
    "amsgrad": lambda: tn.optimizers.Adam(0.01, amsgrad=True),
    "adamw": lambda: tn.optimizers.AdamW(0.01, weight_decay=0.1),
    "schedule": lambda: tn.optimizers.Adam(
        tn.optimizers.schedules.ExponentialDecay(0.05, 7, 0.5)
    ),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("make_model", [mlp, graph], ids=["mlp", "graph"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_step_inside_backward_changes_no_bit(monkeypatch, name, make_model, dtype):
    on = fit(True, make_model, OPTIMIZERS[name], dtype, monkeypatch)
    off = fit(False, make_model, OPTIMIZERS[name], dtype, monkeypatch)
    assert_identical(on, off)


@pytest.mark.parametrize("threads", [1, 3, 4])
def test_the_step_inside_backward_is_the_same_for_any_thread_count(
    monkeypatch, threads
):
    two = fit(True, graph, OPTIMIZERS["adam"], "float32", monkeypatch, 2)
    other = fit(True, graph, OPTIMIZERS["adam"], "float32", monkeypatch, threads)
    assert_identical(two, other)


def count_steps_inside(monkeypatch):
    calls = []
    real = _backend.dense_backward_adam

    def spy(x, w, b, dy, dx, dw, db, step, **options):
        calls.append(w.shape)
        return real(x, w, b, dy, dx, dw, db, step, **options)

    monkeypatch.setattr(_backend, "dense_backward_adam", spy)
    return calls


def test_which_layers_take_the_step_inside(monkeypatch):
    tn.set_seed(1)
    model = graph("float64")
    model.compile(tn.optimizers.Adam(), loss={"out": "mse", "aux": None})
    x, y = data(8)
    calls = count_steps_inside(monkeypatch)
    model.train_on_batch(x, [np.eye(3)[y], np.zeros((8, 2))])
    # out (12 -> 3) and the Dense without bias (12 -> 12); not the shared,
    # frozen, regularized or constrained ones, nor aux (no gradient).
    assert sorted(calls) == [(12, 3), (12, 12)]
    contexts = model._trainer._plan.contexts
    assert all(
        ctx.optimizer_step is None for group in contexts.values() for ctx in group
    )


class HalvedAdam(tn.optimizers.Adam):
    """An Adam subclass with its own update: not the built-in rule."""

    def _update(self, w, g, state):
        super()._update(w, g * 0.5, state)


@pytest.mark.parametrize(
    "optimizer",
    [
        HalvedAdam,
        lambda: tn.optimizers.Adam(clipnorm=1.0),
        lambda: tn.optimizers.Adam(clipvalue=0.1),
        lambda: tn.optimizers.Adam(global_clipnorm=1.0),
        lambda: tn.optimizers.SGD(0.1, momentum=0.9),
        lambda: tn.optimizers.Nadam(),
    ],
)
def test_other_optimizers_keep_the_flat_step(monkeypatch, optimizer):
    tn.set_seed(1)
    model = mlp("float32")
    model.compile(optimizer(), "sparse_categorical_crossentropy")
    x, y = data(8)
    calls = count_steps_inside(monkeypatch)
    model.train_on_batch(x, y)
    assert calls == []


def test_freezing_a_layer_between_fits_moves_its_step_back(monkeypatch):
    # The plan is kept but the store is relaid out: the layers that take the
    # step inside are chosen again, and the frozen layer does not change.
    tn.set_seed(2)
    model = mlp("float64")
    model.compile(tn.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    x, y = data(32)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    model.layers[1].trainable = False
    frozen = [w.copy() for w in model.layers[1].get_weights()]
    calls = count_steps_inside(monkeypatch)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert (33, 17) in calls and (20, 33) not in calls
    for old, new in zip(frozen, model.layers[1].get_weights()):
        assert old.tobytes() == new.tobytes()
