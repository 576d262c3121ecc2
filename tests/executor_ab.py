"""A/B runs of the graph executor's optional plan rewrites: training with a
switch of tinynn.models.executor on and off must give the same bits."""

from __future__ import annotations

import numpy as np

import tinynn as tf
from tinynn.models import executor


def fit(make, switch, on, monkeypatch, x, y, batch_size):
    """Weights, History and predictions of make()'s model trained two epochs
    with executor.<switch> = on."""
    monkeypatch.setattr(executor, switch, on)
    model = make()
    history = model.fit(x, y, batch_size=batch_size, epochs=2, shuffle=False, verbose=0)
    return model.get_weights(), history.history, model.predict(x, verbose=0)


def assert_switch_changes_no_bit(
    make, switch, monkeypatch, floatx, samples, batch_size
):
    """make()'s model fit on random data (binary labels) in `floatx` with the
    switch on and off: every weight, History value and prediction equal."""
    r = np.random.default_rng(8)
    features = make().inputs[0].shape[1:]
    x, y = r.standard_normal((samples, *features)), r.integers(0, 2, samples)
    tf.keras.backend.set_floatx(floatx)
    try:
        on = fit(make, switch, True, monkeypatch, x, y, batch_size)
        off = fit(make, switch, False, monkeypatch, x, y, batch_size)
    finally:
        tf.keras.backend.set_floatx("float32")
    for a, b in zip(on[0], off[0]):
        assert a.tobytes() == b.tobytes()
    assert on[1] == off[1]
    assert on[2].tobytes() == off[2].tobytes()


def gated(model):
    """For each step of model's plan (batches of 32): True where its layer
    applies the relu of the layer before (``Plan._gate_relus``), which must
    then skip its own."""
    steps = model._make_plan(32).steps
    by_ctx = {id(step.ctx): step for step in steps}
    flags = []
    for step in steps:
        producer = step.ctx.relu_gate
        flags.append(producer is not None)
        if producer is not None:
            assert by_ctx[id(producer)].ctx.relu_by_consumer
    return flags
