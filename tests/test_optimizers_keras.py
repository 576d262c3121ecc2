"""Adadelta, Adamax, Nadam, AdamW, gradient clipping and learning-rate
schedules, through a model and through apply_gradients, against the NumPy
rules of tests/reference.py; saving and loading them (with their state) in
both file formats.

The model is one linear Dense layer with an MSE loss in float64, so each
step's gradients are known in closed form: d/dpred = 2 (pred - y) / y.size,
dW = x.T @ d, db = d.sum(0).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import reference as ref
import tinynn as tf
from tinynn import _core

schedules = tf.keras.optimizers.schedules


@pytest.fixture(autouse=True)
def float64():
    tf.set_floatx("float64")
    yield
    tf.set_floatx("float32")


def data(seed=2):
    r = np.random.default_rng(seed)
    return r.normal(size=(6, 3)), r.normal(size=(6, 2))


def linear_model(optimizer):
    tf.set_seed(1)
    model = tf.keras.Sequential([tf.keras.layers.Dense(2, input_shape=(3,))])
    model.compile(optimizer, "mse")
    return model


def closed_form_grads(w, b, x, y):
    d = 2 * (x @ w + b - y) / y.size
    return x.T @ d, d.sum(0)


class NumpyRule:
    """One of reference.py's rules with per-variable state, as Keras keeps it."""

    def __init__(self, name, **hyper):
        self.name, self.hyper, self.state, self.t = name, hyper, {}, 0

    def step(self, params, grads):
        self.t += 1
        h, out = self.hyper, []
        for i, (p, g) in enumerate(zip(params, grads)):
            z = np.zeros_like(p)
            s = self.state.get(i, (z, z, None if not h.get("amsgrad") else z))
            if self.name == "adadelta":
                p, a, d = ref.adadelta(p, g, s[0], s[1], h["lr"], h["rho"], h["eps"])
                s = (a, d, None)
            elif self.name == "adamax":
                p, m, u = ref.adamax(
                    p, g, s[0], s[1], h["lr"], h["b1"], h["b2"], h["eps"], self.t
                )
                s = (m, u, None)
            elif self.name == "nadam":
                p, m, v = ref.nadam(
                    p, g, s[0], s[1], h["lr"], h["b1"], h["b2"], h["eps"], self.t
                )
                s = (m, v, None)
            elif self.name == "adamw":
                p, m, v, vhat = ref.adamw(
                    p, g, s[0], s[1], s[2], h["lr"], h["b1"], h["b2"], h["eps"],
                    self.t, h["wd"],
                )  # fmt: skip
                s = (m, v, vhat)
            elif self.name == "sgd":
                p, _ = ref.sgd(p, g, None, h["lr"], 0.0, False)
            self.state[i] = s
            out.append(p)
        return out


KERAS_DEFAULTS = {
    "adadelta": dict(lr=0.001, rho=0.95, eps=1e-7),
    "adamax": dict(lr=0.001, b1=0.9, b2=0.999, eps=1e-7),
    "nadam": dict(lr=0.001, b1=0.9, b2=0.999, eps=1e-7),
    "adamw": dict(lr=0.001, b1=0.9, b2=0.999, eps=1e-7, wd=0.004),
}
CLASSES = {"adadelta": "Adadelta", "adamax": "Adamax", "nadam": "Nadam"}
CLASSES["adamw"] = "AdamW"


@pytest.mark.parametrize("name", sorted(KERAS_DEFAULTS))
def test_compile_string_builds_keras_defaults_and_trains_like_numpy(name):
    model = linear_model(name)
    assert type(model.optimizer).__name__ == CLASSES[name]
    rule = NumpyRule(name, **KERAS_DEFAULTS[name])
    x, y = data()
    params = [p.copy() for p in model.get_weights()]
    for _ in range(7):
        model.train_on_batch(x, y)
        params = rule.step(params, closed_form_grads(*params, x, y))
    for got, want in zip(model.get_weights(), params):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    "make, name, hyper",
    [
        (
            lambda: tf.keras.optimizers.Adadelta(1.0, rho=0.9, epsilon=1e-6),
            "adadelta",
            dict(lr=1.0, rho=0.9, eps=1e-6),
        ),
        (
            lambda: tf.keras.optimizers.Adamax(0.05, beta_1=0.8, beta_2=0.99),
            "adamax",
            dict(lr=0.05, b1=0.8, b2=0.99, eps=1e-7),
        ),
        (
            lambda: tf.keras.optimizers.Nadam(0.05, beta_1=0.8, epsilon=1e-5),
            "nadam",
            dict(lr=0.05, b1=0.8, b2=0.999, eps=1e-5),
        ),
        (
            lambda: tf.keras.optimizers.AdamW(0.05, weight_decay=0.3, amsgrad=True),
            "adamw",
            dict(lr=0.05, b1=0.9, b2=0.999, eps=1e-7, wd=0.3, amsgrad=True),
        ),
    ],
)
def test_hyperparameters_reach_the_rule_and_apply_gradients_agrees(make, name, hyper):
    model = linear_model(make())
    x, y = data(3)
    params = [p.copy() for p in model.get_weights()]
    rule, hand = NumpyRule(name, **hyper), make()
    mine = [p.copy() for p in params]
    for _ in range(9):
        model.train_on_batch(x, y)
        grads = closed_form_grads(*params, x, y)
        params = rule.step(params, grads)
        hand.apply_gradients(zip(closed_form_grads(*mine, x, y), mine))
    for got, by_hand, want in zip(model.get_weights(), mine, params):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(by_hand, want, rtol=1e-12, atol=1e-15)


def test_nadam_momentum_product_survives_a_jump_in_iterations():
    # The product u_1 ... u_t is cached step to step; after the step count is
    # set (as loading does) it is recomputed, not continued from the cache.
    opt = tf.keras.optimizers.Nadam()
    assert opt._u_product(3) == pytest.approx(
        math.prod(ref.nadam_momentum(0.9, i) for i in (1, 2, 3)), rel=1e-15
    )
    assert opt._u_product(2) == pytest.approx(
        ref.nadam_momentum(0.9, 1) * ref.nadam_momentum(0.9, 2), rel=1e-15
    )
    # below 1e-30 from t = 524 on, where 1 - product is exactly 1
    assert 0 < opt._u_product(500) < 1e-28
    assert opt._u_product(10**9) == 0.0  # a short loop, not a billion steps


@pytest.mark.parametrize("suffix", [".tnn", ".h5"])
@pytest.mark.parametrize("name", sorted(KERAS_DEFAULTS))
def test_saved_with_state_and_resumes_exactly(tmp_path, suffix, name):
    if suffix == ".h5":
        pytest.importorskip("h5py")
    optimizer = {
        "adadelta": lambda: tf.keras.optimizers.Adadelta(0.5, rho=0.9),
        "adamax": lambda: tf.keras.optimizers.Adamax(0.01, beta_2=0.9),
        "nadam": lambda: tf.keras.optimizers.Nadam(0.01, beta_1=0.85),
        "adamw": lambda: tf.keras.optimizers.AdamW(0.01, weight_decay=0.1),
    }[name]()
    model = linear_model(optimizer)
    x, y = data(4)
    for _ in range(3):
        model.train_on_batch(x, y)
    path = tmp_path / f"m{suffix}"
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == 3
    for _ in range(2):
        assert model.train_on_batch(x, y) == loaded.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


# ---- clipping ----------------------------------------------------------------
CLIPS = [
    ({"clipnorm": 0.05}, {"clipnorm": 0.05}),
    ({"clipvalue": 0.02}, {"clipvalue": 0.02}),
    ({"global_clipnorm": 0.05}, {"global_clipnorm": 0.05}),
]


@pytest.mark.parametrize("kwargs, clip", CLIPS)
def test_clipping_through_a_model_matches_numpy(kwargs, clip):
    # Large targets make every gradient exceed the limits; the kernel and
    # bias gradients have different norms, which tells per-variable
    # clipping (clipnorm) from global clipping apart.
    model = linear_model(tf.keras.optimizers.SGD(0.1, **kwargs))
    x, y = data(5)
    y = 20 * y
    params = [p.copy() for p in model.get_weights()]
    for _ in range(4):
        model.train_on_batch(x, y)
        grads = ref.clip_gradients(closed_form_grads(*params, x, y), **clip)
        params = [p - 0.1 * g for p, g in zip(params, grads)]
    for got, want in zip(model.get_weights(), params):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kwargs, clip", CLIPS)
def test_clipping_in_apply_gradients_matches_numpy_and_keeps_the_input(kwargs, clip):
    r = np.random.default_rng(6)
    variables = [r.normal(size=(4, 3)), r.normal(size=3)]
    grads = [r.normal(size=(4, 3)), 0.01 * r.normal(size=3)]
    before = [g.copy() for g in grads]
    want = [v - 0.5 * g for v, g in zip(variables, ref.clip_gradients(grads, **clip))]
    tf.keras.optimizers.SGD(0.5, **kwargs).apply_gradients(zip(grads, variables))
    for got, w in zip(variables, want):
        np.testing.assert_allclose(got, w, rtol=1e-14)
    for g, b in zip(grads, before):
        np.testing.assert_array_equal(g, b)


@pytest.mark.parametrize("clip", [{}, {"clipvalue": 0.5}])
def test_apply_gradients_takes_lists_and_other_dtypes(clip):
    v = np.zeros(3, np.float32)
    grad = [1.0, 2.0, 3.0]  # a list, converted (copied) to float32
    tf.keras.optimizers.SGD(0.5, **clip).apply_gradients([(grad, v)])
    want = -0.5 * (np.clip(grad, -0.5, 0.5) if clip else np.array(grad))
    np.testing.assert_allclose(v, want)
    assert grad == [1.0, 2.0, 3.0]


def test_clipping_leaves_small_gradients_alone_and_is_a_float32_op_too():
    tf.set_floatx("float32")
    v = np.ones(5, np.float32)
    tf.keras.optimizers.SGD(1.0, clipnorm=10.0).apply_gradients([(np.ones(5), v)])
    np.testing.assert_array_equal(v, np.zeros(5, np.float32))
    v = np.ones(4, np.float32)
    tf.keras.optimizers.SGD(1.0, clipnorm=1.0).apply_gradients([(np.full(4, 3.0), v)])
    np.testing.assert_allclose(v, 1 - 0.5, rtol=1e-6)  # |g| = 6 -> scaled by 1/6


@pytest.mark.parametrize("cls", ["SGD", "RMSprop", "Adam", "Adagrad", "Nadam"])
def test_every_optimizer_takes_clipping_and_saves_it(cls):
    opt = getattr(tf.keras.optimizers, cls)(clipvalue=0.5)
    assert opt.get_config()["clipvalue"] == 0.5
    again = tf.optimizers.deserialize(tf.optimizers.serialize(opt))
    assert again.clipvalue == 0.5 and again.clipnorm is None


def test_clipping_arguments_are_checked():
    with pytest.raises(ValueError, match="only one of clipnorm, clipvalue and glob"):
        tf.keras.optimizers.Adam(clipnorm=1.0, clipvalue=0.5)
    with pytest.raises(ValueError, match="only one of"):
        tf.keras.optimizers.Adam(clipnorm=1.0, global_clipnorm=1.0)
    with pytest.raises(ValueError, match=r"Adam: clipnorm must be a finite number"):
        tf.keras.optimizers.Adam(clipnorm=-1.0)
    with pytest.raises(TypeError, match="SGD: clipvalue must be a number"):
        tf.keras.optimizers.SGD(clipvalue="big")
    # 0 and None are "off", as Keras 2 treats them
    assert tf.keras.optimizers.SGD(clipnorm=0, clipvalue=None).clipnorm is None


# ---- schedules -----------------------------------------------------------------
def test_schedule_formulas_at_hand_computed_points():
    e = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert e(0) == pytest.approx(0.1) and e(10) == pytest.approx(0.05)
    assert e(5) == pytest.approx(0.1 * 0.5**0.5)
    s = schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True)
    assert s(9) == pytest.approx(0.1) and s(10) == pytest.approx(0.05)
    assert s(25) == pytest.approx(0.025)
    i = schedules.InverseTimeDecay(1.0, decay_steps=4, decay_rate=0.5)
    assert i(4) == pytest.approx(1 / 1.5) and i(6) == pytest.approx(1 / 1.75)
    i = schedules.InverseTimeDecay(1.0, 4, 0.5, staircase=True)
    assert i(6) == pytest.approx(1 / 1.5)
    p = schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert [p(0), p(10), p(11), p(20), p(21)] == [1.0, 1.0, 0.5, 0.5, 0.1]
    c = schedules.CosineDecay(1.0, decay_steps=100, alpha=0.1)
    assert c(0) == pytest.approx(1.0) and c(100) == pytest.approx(0.1)
    assert c(50) == pytest.approx(0.55) and c(500) == pytest.approx(0.1)
    w = schedules.CosineDecay(0.0, 100, warmup_target=1.0, warmup_steps=10)
    assert w(5) == pytest.approx(0.5) and w(10) == pytest.approx(1.0)
    assert w(60) == pytest.approx(0.5) and w(1000) == pytest.approx(0.0)


def test_schedule_arguments_are_checked():
    with pytest.raises(ValueError, match="one more entry than boundaries"):
        schedules.PiecewiseConstantDecay([1, 2], [1.0, 0.5])
    with pytest.raises(ValueError, match="ExponentialDecay: decay_steps must be > 0"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(TypeError, match="InverseTimeDecay: initial_learning_rate"):
        schedules.InverseTimeDecay("0.1", 10, 0.5)


@pytest.mark.parametrize(
    "schedule",
    [
        schedules.ExponentialDecay(0.2, 2, 0.5, staircase=True),
        schedules.PiecewiseConstantDecay([1, 3], [0.3, 0.1, 0.01]),
        schedules.InverseTimeDecay(0.2, 1, 1.0),
        schedules.CosineDecay(0.2, 4, alpha=0.25),
    ],
    ids=lambda s: type(s).__name__,
)
def test_optimizer_evaluates_the_schedule_at_its_iteration_count(schedule):
    model = linear_model(tf.keras.optimizers.SGD(schedule))
    x, y = data(7)
    params = [p.copy() for p in model.get_weights()]
    for step in range(6):  # Keras: the first update uses schedule(0)
        model.train_on_batch(x, y)
        grads = closed_form_grads(*params, x, y)
        params = [p - schedule(step) * g for p, g in zip(params, grads)]
        assert model.optimizer.learning_rate == pytest.approx(schedule(step))
    for got, want in zip(model.get_weights(), params):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    config = schedule.get_config()
    assert type(schedule).from_config(config).get_config() == config


@pytest.mark.parametrize("suffix", [".tnn", ".h5"])
def test_schedule_is_saved_with_the_optimizer(tmp_path, suffix):
    if suffix == ".h5":
        pytest.importorskip("h5py")
    schedule = schedules.ExponentialDecay(0.01, 3, 0.5, staircase=True)
    model = linear_model(tf.keras.optimizers.Nadam(schedule, clipnorm=0.5))
    x, y = data(8)
    for _ in range(4):
        model.train_on_batch(x, y)
    model.save(tmp_path / f"m{suffix}")
    loaded = tf.keras.models.load_model(tmp_path / f"m{suffix}")
    got = loaded.optimizer.learning_rate_schedule
    assert type(got) is schedules.ExponentialDecay
    assert got.get_config() == schedule.get_config()
    assert loaded.optimizer.clipnorm == 0.5
    for _ in range(3):  # crosses the staircase step at iteration 6
        assert model.train_on_batch(x, y) == loaded.train_on_batch(x, y)


def test_a_scheduled_rate_cannot_be_overwritten_with_a_number():
    opt = tf.keras.optimizers.SGD(schedules.ExponentialDecay(0.1, 1, 0.5))
    with pytest.raises(TypeError, match="SGD: the learning rate comes from a Expo"):
        opt.learning_rate = 0.3
    opt.learning_rate = schedules.PiecewiseConstantDecay([1], [0.4, 0.2])
    assert opt.learning_rate == 0.4


def test_unknown_optimizer_names_still_fail_clearly():
    with pytest.raises(ValueError, match="'ftrl' \\(a Keras optimizer tinynn does not"):
        linear_model("ftrl")


# ---- the C entry points' scalar checks --------------------------------------
@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda a: _core.adadelta_update(*a, 0.001, 1.0, 1e-7),
            r"adadelta_update: rho must be a finite number in \[0, 1\); got 1",
        ),
        (
            lambda a: _core.adamax_update(*a, 0.001, 0.9, 0.999, 1e-7, 0),
            "adamax_update: step must be >= 1",
        ),
        (
            lambda a: _core.nadam_update(*a, 0.001, 0.9, 0.999, 1e-7, 1, 1.0),
            r"nadam_update: u_product must be a finite number in \[0, 1\)",
        ),
        (
            lambda a: _core.adamw_update(*a, None, 0.001, 0.9, 0.999, 1e-7, 1, -1),
            "adamw_update: weight_decay must be a finite number >= 0",
        ),
    ],
)
def test_core_entry_points_name_the_bad_scalar(call, message):
    arrays = [np.zeros(5) for _ in range(4)]
    with pytest.raises(ValueError, match=message):
        call(arrays)


def test_schedules_import_by_their_keras_module_path():
    from tinynn.keras.optimizers.schedules import ExponentialDecay

    assert ExponentialDecay is tf.keras.optimizers.schedules.ExponentialDecay
    assert tf.optimizers.schedules.CosineDecay is schedules.CosineDecay
