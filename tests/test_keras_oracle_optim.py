"""The new optimizers, gradient clipping and learning-rate schedules against
real Keras (TensorFlow's tf.keras) when TensorFlow is installed: the same
float64 variables and gradients, several steps.

Keras (TensorFlow backend) turns Python hyperparameters into float32 tensors
before casting them to the variable's dtype, so beta_1 = 0.9 enters its bias
corrections as 0.89999998: with such values the two agree only to ~1e-5. The
tight comparisons (1e-10) therefore use hyperparameters that float32 holds
exactly (0.875, 1 - 2^-10, ...); Keras's defaults are compared at 2e-5.
TensorFlow >= 2.16 ships Keras 3; these rules are the same in Keras 2.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import tinynn

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip(
    "tensorflow", reason="TensorFlow is an optional oracle (pip install tensorflow-cpu)"
)
keras = tf.keras


@pytest.fixture(autouse=True)
def keras_in_float64():
    # Keras keeps the learning rate and the schedules' arithmetic in floatx;
    # in float32 they alone differ from the float64 rule by ~1e-7.
    before = keras.backend.floatx()
    keras.backend.set_floatx("float64")
    yield
    keras.backend.set_floatx(before)


def run_both(name, kwargs, steps=6, schedule=None, rtol=1e-10):
    r = np.random.default_rng(0)
    shapes = [(5, 3), (3,), (7,)]
    start = [r.normal(size=s) for s in shapes]
    grads = [[3 * r.normal(size=s) for s in shapes] for _ in range(steps)]
    ours = [w.copy() for w in start]
    theirs = [tf.Variable(w, dtype="float64") for w in start]
    mine_kwargs, keras_kwargs = dict(kwargs), dict(kwargs)
    if schedule is not None:
        mine_kwargs["learning_rate"] = getattr(
            tinynn.optimizers.schedules, schedule[0]
        )(**schedule[1])
        keras_kwargs["learning_rate"] = getattr(
            keras.optimizers.schedules, schedule[0]
        )(**schedule[1])
    mine = getattr(tinynn.optimizers, name)(**mine_kwargs)
    reference = getattr(keras.optimizers, name)(**keras_kwargs)
    for step in grads:
        mine.apply_gradients(zip(step, ours))
        reference.apply_gradients(zip([tf.constant(g) for g in step], theirs))
    for got, want in zip(ours, theirs):
        np.testing.assert_allclose(got, want.numpy(), rtol=rtol, atol=1e-13)


EXACT = {"beta_1": 0.875, "beta_2": 1 - 2**-10, "epsilon": 2**-20}
# Nadam's momentum schedule uses the constant 0.96, which Keras also casts
# through float32 (0.95999998): ~4e-8 apart after six steps. An error in the
# rule (a step off in the schedule, a missing correction) is 1e-3 or more.
NADAM_RTOL = 1e-6


@pytest.mark.parametrize("name", ["Adadelta", "Adamax", "Nadam", "AdamW"])
def test_keras_defaults_agree_to_float32_rounding(name):
    run_both(name, {}, rtol=2e-5)
    ours = getattr(tinynn.optimizers, name)().get_config()
    theirs = getattr(keras.optimizers, name)().get_config()
    for key, value in ours.items():
        if key != "name":
            assert theirs[key] == pytest.approx(value, rel=1e-7), key


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("Adadelta", {"learning_rate": 1.0, "rho": 0.9375, "epsilon": 2**-20}),
        ("Adamax", {"learning_rate": 0.0625, **EXACT}),
        ("Nadam", {"learning_rate": 0.0625, **EXACT}),
        ("AdamW", {"learning_rate": 0.0625, "weight_decay": 0.25, **EXACT}),
        (
            "AdamW",
            {"learning_rate": 0.0625, "amsgrad": True, "weight_decay": 0.25, **EXACT},
        ),
    ],
)
def test_optimizer_matches_keras(name, kwargs):
    run_both(name, kwargs, rtol=NADAM_RTOL if name == "Nadam" else 1e-10)


@pytest.mark.parametrize(
    "clip", [{"clipnorm": 0.5}, {"clipvalue": 0.4}, {"global_clipnorm": 0.7}]
)
@pytest.mark.parametrize(
    "name, kwargs", [("SGD", {}), ("Adam", EXACT), ("Nadam", EXACT)]
)
def test_clipping_matches_keras(name, kwargs, clip):
    run_both(name, {**kwargs, **clip}, rtol=NADAM_RTOL if name == "Nadam" else 1e-10)


@pytest.mark.parametrize(
    "schedule",
    [
        (
            "ExponentialDecay",
            dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.7),
        ),
        (
            "ExponentialDecay",
            dict(
                initial_learning_rate=0.1, decay_steps=3, decay_rate=0.7, staircase=True
            ),
        ),
        (
            "InverseTimeDecay",
            dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.7),
        ),
        (
            "InverseTimeDecay",
            dict(
                initial_learning_rate=0.1, decay_steps=3, decay_rate=0.7, staircase=True
            ),
        ),
        ("PiecewiseConstantDecay", dict(boundaries=[2, 5], values=[0.3, 0.1, 0.01])),
        ("CosineDecay", dict(initial_learning_rate=0.2, decay_steps=7, alpha=0.1)),
        (
            "CosineDecay",
            dict(
                initial_learning_rate=0.0,
                decay_steps=5,
                warmup_target=0.2,
                warmup_steps=3,
            ),
        ),
    ],
    ids=lambda s: s[0],
)
def test_schedule_values_match_keras(schedule):
    # Keras evaluates schedules in float32
    ours = getattr(tinynn.optimizers.schedules, schedule[0])(**schedule[1])
    theirs = getattr(keras.optimizers.schedules, schedule[0])(**schedule[1])
    for step in range(12):
        want = float(theirs(step))
        assert ours(step) == pytest.approx(want, rel=1e-6, abs=1e-9), step


@pytest.mark.parametrize(
    "schedule",
    [
        ("PiecewiseConstantDecay", dict(boundaries=[1, 3], values=[0.5, 0.25, 0.125])),
        (
            "ExponentialDecay",
            dict(
                initial_learning_rate=0.5, decay_steps=2, decay_rate=0.5, staircase=True
            ),
        ),
    ],
    ids=lambda s: s[0],
)
def test_scheduled_steps_match_keras(schedule):
    # rates float32 holds exactly: the step-by-step use of the schedule is
    # compared tightly
    run_both("SGD", {}, schedule=schedule)
