"""sample_weight/class_weight, regularizers and constraints against float64
NumPy references of Keras 2's formulas:

- weighted loss = sum(w_i * loss_i) / batch size (``sum_over_batch_size``);
  class_weight gives w_i = class_weight[class of y_i] (argmax of one-hot y),
  times sample_weight when both are given;
- L1 = l1 * sum|w|, L2 = l2 * sum w^2, added to the loss of fit and evaluate;
  an activity regularizer's penalty on a layer's output is divided by the
  batch size;
- MaxNorm, NonNeg, UnitNorm, MinMaxNorm applied after each optimizer step,
  with norms over `axis` and eps = 1e-7.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinynn
import tinynn as tf
from tinynn import constraints, losses, regularizers

EPS = 1e-7


def data(n=11, features=5, classes=3, seed=3):
    r = np.random.default_rng(seed)
    return r.standard_normal((n, features)), r.integers(0, classes, n)


# ---- NumPy references ---------------------------------------------------------
def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def per_sample_losses(name, pred, y, logits):
    """Keras 2's per-sample losses, float64."""
    pred = np.asarray(pred, np.float64)
    rows = np.arange(len(pred))
    if name == "sparse_categorical_crossentropy":
        p = softmax(pred) if logits else pred
        q = np.clip(p, EPS, 1 - EPS)
        return np.log(q.sum(axis=1)) - np.log(q[rows, y])
    if name == "categorical_crossentropy":
        p = softmax(pred) if logits else pred / pred.sum(axis=1, keepdims=True)
        return -(y * np.log(np.clip(p, EPS, 1 - EPS))).sum(axis=1)
    if name == "binary_crossentropy":
        if logits:
            z = pred
            values = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
        else:
            q = np.clip(pred, EPS, 1 - EPS)
            values = -(y * np.log(q + EPS) + (1 - y) * np.log(1 - q + EPS))
        return values.mean(axis=1)
    if name == "mse":
        return ((pred - y) ** 2).mean(axis=1)
    if name == "mae":
        return np.abs(pred - y).mean(axis=1)
    if name == "huber":
        a = np.abs(pred - y)
        return np.where(a <= 1.0, 0.5 * a * a, a - 0.5).mean(axis=1)
    raise AssertionError(name)


def reference_constraint(name, w, axis=0, **kw):
    norms = np.sqrt((w * w).sum(axis=axis, keepdims=True))
    if name == "max_norm":
        m = kw.get("max_value", 2.0)
        return w * np.minimum(norms, m) / (EPS + norms)
    if name == "non_neg":
        return np.where(w >= 0, w, 0.0)
    if name == "unit_norm":
        return w / (EPS + norms)
    if name == "min_max_norm":
        lo, hi, rate = kw.get("min_value", 0.0), kw.get("max_value", 1.0), kw["rate"]
        desired = rate * np.clip(norms, lo, hi) + (1 - rate) * norms
        return w * desired / (EPS + norms)
    raise AssertionError(name)


# ---- weighted losses ------------------------------------------------------------
LOSS_CASES = [
    ("sparse_categorical_crossentropy", "softmax"),
    ("categorical_crossentropy", "softmax"),
    ("binary_crossentropy", "sigmoid"),
    ("mse", "linear"),
    ("mae", "linear"),
    ("huber", "linear"),
]


def targets_for(name, y, classes):
    if name == "sparse_categorical_crossentropy":
        return y
    if name == "categorical_crossentropy":
        return np.eye(classes)[y]
    if name == "binary_crossentropy":
        return np.eye(classes)[y]
    return np.eye(classes)[y] * 2.0 - 0.5


@pytest.mark.parametrize("name, activation", LOSS_CASES)
def test_evaluate_with_sample_weight_is_keras_sum_over_batch_size(name, activation):
    x, y = data(n=13)
    w = np.random.default_rng(1).uniform(0, 3, len(x))
    w[4] = 0.0
    tf.set_seed(2)
    model = tf.keras.Sequential(
        [tf.keras.layers.Dense(3, activation=activation, input_dim=5, dtype="float64")]
    )
    model.compile("sgd", name)
    t = targets_for(name, y, 3)
    p = model.predict(x, verbose=0)
    # A softmax/sigmoid output is fused into the loss: Keras 2 also computes
    # the cross-entropy from the logits then.
    kernel, bias = model.get_weights()
    fused = activation != "linear"
    values = per_sample_losses(name, x @ kernel + bias if fused else p, t, fused)
    # batch_size 5: batches of 5, 5, 3, each mean weighted by its size (Keras).
    got = model.evaluate(x, t, sample_weight=w, batch_size=5, verbose=0)
    np.testing.assert_allclose(got, (w * values).sum() / len(x), rtol=1e-10)
    unweighted = model.evaluate(x, t, verbose=0)
    np.testing.assert_allclose(unweighted, values.mean(), rtol=1e-10)
    # The loss object's own sample_weight.
    # The loss object on probabilities: the probability formulas.
    from_probs = per_sample_losses(name, p, t, logits=False)
    np.testing.assert_allclose(
        float(losses.get(name)(t, p, sample_weight=w)),
        (w * from_probs).sum() / len(x),
        rtol=1e-10,
    )


@pytest.mark.parametrize("name, activation", LOSS_CASES)
def test_weighted_gradient_rows_scale_by_the_weights(name, activation):
    """One SGD step with weights w equals the step on the per-row scaled
    gradient: d/dp [sum(w_i l_i) / n] = w_i * (row i of d mean / dp)."""
    x, y = data(n=7)
    t = targets_for(name, y, 3)
    w = np.random.default_rng(4).uniform(0, 2, len(x))

    def model():
        tf.set_seed(2)
        m = tf.keras.Sequential(
            [
                tf.keras.layers.Dense(
                    3, activation=activation, input_dim=5, dtype="float64"
                )
            ]
        )
        m.compile(tf.keras.optimizers.SGD(0.5), name)
        return m

    weighted = model()
    before = weighted.get_weights()
    p = weighted.predict(x, verbose=0)
    weighted.train_on_batch(x, t, sample_weight=w)
    # Reference: finite differences of sum(w_i l_i)/n through the layer.
    kernel, bias = before

    def objective(k, b):
        z = x @ k + b
        out = {"softmax": softmax, "sigmoid": lambda v: 1 / (1 + np.exp(-v))}.get(
            activation, lambda v: v
        )(z)
        fused = activation != "linear"
        pred = z if fused else out
        return (w * per_sample_losses(name, pred, t, logits=fused)).sum() / len(x)

    h = 1e-6
    dk = np.zeros_like(kernel)
    for index in np.ndindex(kernel.shape):
        e = np.zeros_like(kernel)
        e[index] = h
        dk[index] = (objective(kernel + e, bias) - objective(kernel - e, bias)) / (
            2 * h
        )
    assert p.shape == (7, 3)
    np.testing.assert_allclose(weighted.get_weights()[0], kernel - 0.5 * dk, atol=1e-7)


def test_class_weight_one_hot_and_integer_labels_agree_and_multiply_sample_weight():
    x, y = data(n=12)
    cw = {0: 0.5, 1: 2.0, 2: 1.5}
    sw = np.linspace(0.1, 2.0, len(x))
    runs = []
    for loss, t in (
        ("sparse_categorical_crossentropy", y),
        ("categorical_crossentropy", np.eye(3)[y]),
    ):
        tf.set_seed(5)
        model = tf.keras.Sequential(
            [
                tf.keras.layers.Dense(
                    3, activation="softmax", input_dim=5, dtype="float64"
                )
            ]
        )
        model.compile(tf.keras.optimizers.SGD(0.1), loss)
        p = model.predict(x, verbose=0)
        reported = model.train_on_batch(x, t, sample_weight=sw, class_weight=cw)
        expected = sw * np.array([cw[c] for c in y]) * -np.log(p[np.arange(12), y])
        np.testing.assert_allclose(reported, expected.sum() / 12, rtol=1e-10)
        runs.append(model.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_fit_history_loss_is_the_weighted_mean_and_metrics_are_unweighted():
    """Keras 2: compile's ``metrics`` ignore sample weights."""
    x, y = data(n=10)
    w = np.where(y == 0, 0.0, 1.0)
    tf.set_seed(1)
    model = tf.keras.Sequential(
        [tf.keras.layers.Dense(3, activation="softmax", input_dim=5, dtype="float64")]
    )
    model.compile(tf.keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])  # fmt: skip
    p = model.predict(x, verbose=0)
    history = model.fit(x, y, sample_weight=w, batch_size=4, shuffle=False, verbose=0)
    losses_ = -np.log(p[np.arange(10), y])
    np.testing.assert_allclose(history.history["loss"][0], (w * losses_).sum() / 10)
    accuracy = np.mean(p.argmax(axis=1) == y)
    np.testing.assert_allclose(history.history["accuracy"][0], accuracy)


def test_validation_split_carries_the_weights_and_validation_data_takes_them():
    x, y = data(n=10)
    w = np.arange(1.0, 11.0)
    tf.set_seed(1)
    model = tf.keras.Sequential(
        [tf.keras.layers.Dense(3, activation="softmax", input_dim=5, dtype="float64")]
    )
    model.compile(tf.keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy")
    losses_ = -np.log(model.predict(x, verbose=0)[np.arange(10), y])
    history = model.fit(x, y, sample_weight=w, validation_split=0.3, verbose=0)
    np.testing.assert_allclose(
        history.history["val_loss"][0], (w * losses_)[7:].sum() / 3
    )
    history = model.fit(x, y, validation_data=(x[:4], y[:4], w[:4]), verbose=0)
    np.testing.assert_allclose(
        history.history["val_loss"][0], (w * losses_)[:4].sum() / 4
    )


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (
            {"sample_weight": np.ones(3)},
            ValueError,
            r"fit: sample_weight has shape \(3,\)",
        ),
        ({"sample_weight": np.ones((10, 2))}, ValueError, "sample_weight has shape"),
        ({"sample_weight": -np.ones(10)}, ValueError, r"sample_weight\[0\] = -1.0"),
        (
            {"sample_weight": [1.0] * 9 + [np.nan]},
            ValueError,
            r"sample_weight\[9\] = nan",
        ),
        ({"sample_weight": "ones"}, TypeError, "sample_weight must be an array"),
        ({"class_weight": [1, 2, 3]}, TypeError, "class_weight must be a dict"),
        ({"class_weight": {1: 1.0, 2: 1.0}}, ValueError, "keys from 0 to one less"),
        ({"class_weight": {"a": 1.0}}, ValueError, "keys from 0 to one less"),
        (
            {"class_weight": {0: 1.0, 1: 1.0}},
            ValueError,
            r"is class 2, which has no entry",
        ),
        (
            {"class_weight": {0: 1, 1: -1, 2: 1}},
            ValueError,
            r"class_weight\[1\] = -1.0",
        ),
        (
            {"class_weight": {0: 1, 1: "x", 2: 1}},
            TypeError,
            r"class_weight\[1\] must be",
        ),
    ],
)
def test_bad_weights_name_the_argument(kwargs, error, message):
    x, y = data(n=10)
    y = np.arange(10) % 3
    model = tf.keras.Sequential([tf.keras.layers.Dense(3, "softmax", input_dim=5)])
    model.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(error, match=message):
        model.fit(x, y, verbose=0, **kwargs)


def test_evaluate_and_test_on_batch_reject_bad_weights():
    x, y = data(n=10)
    model = tf.keras.Sequential([tf.keras.layers.Dense(3, "softmax", input_dim=5)])
    model.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="evaluate: sample_weight has shape"):
        model.evaluate(x, y, sample_weight=np.ones(4), verbose=0)
    with pytest.raises(ValueError, match="test_on_batch: sample_weight"):
        model.test_on_batch(x, y, sample_weight=-np.ones(10))


# ---- regularizers ------------------------------------------------------------------
def test_regularizer_values_defaults_and_names():
    w = np.random.default_rng(0).standard_normal((7, 3))
    assert regularizers.l1().l1 == regularizers.L2().l2 == 0.01
    l1l2 = regularizers.l1_l2()
    assert (l1l2.l1, l1l2.l2) == (0.01, 0.01)
    assert regularizers.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    np.testing.assert_allclose(regularizers.L1(0.3)(w), 0.3 * np.abs(w).sum())
    np.testing.assert_allclose(regularizers.L2(0.2)(w), 0.2 * (w * w).sum())
    np.testing.assert_allclose(
        regularizers.L1L2(0.1, 0.4)(w), 0.1 * np.abs(w).sum() + 0.4 * (w * w).sum()
    )
    for name, cls in (("l1", "L1"), ("l2", "L2"), ("l1_l2", "L1L2"), ("L2", "L2")):
        assert type(regularizers.get(name, "test")).__name__ == cls
    assert tf.keras.regularizers.l2 is regularizers.L2
    with pytest.raises(
        ValueError, match="Dense: kernel_regularizer: unknown regularizer"
    ):
        tf.keras.layers.Dense(2, kernel_regularizer="l3")
    with pytest.raises(TypeError, match="L2: l2 must be a number"):
        regularizers.L2("big")
    with pytest.raises(ValueError, match="L1: l1 must be a finite number"):
        regularizers.L1(float("nan"))


@pytest.mark.parametrize("name", ["max_norm", "non_neg", "unit_norm", "min_max_norm"])
@pytest.mark.parametrize("axis", [0, 1])
def test_constraints_match_keras_formulas(name, axis):
    w = np.random.default_rng(1).standard_normal((7, 13)) * 1.3
    kwargs = {"axis": axis} if name != "non_neg" else {}
    extra = {"max_norm": {"max_value": 2.5}, "min_max_norm": {"min_value": 0.5,
             "max_value": 3.0, "rate": 0.7}}.get(name, {})  # fmt: skip
    constraint = constraints.get(name, "test").__class__(**kwargs, **extra)
    np.testing.assert_allclose(
        constraint(w), reference_constraint(name, w, **kwargs, **extra), rtol=1e-13
    )
    live = w.astype(np.float32)
    constraint.apply(live)
    np.testing.assert_allclose(
        live, reference_constraint(name, w.astype(np.float32).astype(np.float64),
                                   **kwargs, **extra), rtol=2e-6, atol=1e-7)  # fmt: skip


def test_constraint_defaults_and_errors():
    assert constraints.max_norm().get_config() == {"max_value": 2.0, "axis": 0}
    assert constraints.unit_norm().get_config() == {"axis": 0}
    assert constraints.min_max_norm().get_config() == {
        "min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}  # fmt: skip
    assert constraints.non_neg().get_config() == {}
    with pytest.raises(ValueError, match="MinMaxNorm: max_value must be >= min_value"):
        constraints.MinMaxNorm(min_value=2.0, max_value=1.0)
    with pytest.raises(ValueError, match="MaxNorm: max_value must be a finite"):
        constraints.MaxNorm(-1)
    with pytest.raises(ValueError, match="Dense: bias_constraint: unknown constraint"):
        tf.keras.layers.Dense(2, bias_constraint="positive")


# ---- a two-step training run checked weight by weight --------------------------
A1, A2, ACT, LR, MAXN = 0.01, 0.02, 0.05, 0.3, 0.6


def regularized_model():
    tf.set_seed(11)
    model = tf.keras.Sequential(
        [
            tf.keras.layers.Dense(
                4,
                activation="relu",
                input_dim=5,
                dtype="float64",
                kernel_regularizer=regularizers.l1_l2(l1=A1, l2=A2),
                bias_regularizer="l2",
                kernel_constraint=constraints.max_norm(MAXN),
            ),
            tf.keras.layers.Dense(
                3,
                activation="softmax",
                dtype="float64",
                activity_regularizer=regularizers.L2(ACT),
                bias_constraint=constraints.non_neg(),
            ),
        ]
    )
    model.compile(tf.keras.optimizers.SGD(LR), "sparse_categorical_crossentropy")
    return model


def reference_step(weights, x, y, w):
    """Keras 2's loss and one SGD step for regularized_model, in float64."""
    k1, b1, k2, b2 = (a.astype(np.float64) for a in weights)
    n = len(x)
    pre = x @ k1 + b1
    h = np.maximum(pre, 0)
    p = softmax(h @ k2 + b2)
    rows = np.arange(n)
    data_loss = (w * -np.log(p[rows, y])).sum() / n
    penalty = (
        A1 * np.abs(k1).sum() + A2 * (k1 * k1).sum()  # kernel_regularizer
        + 0.01 * (b1 * b1).sum()  # bias_regularizer 'l2'
        + ACT * (p * p).sum() / n  # activity_regularizer / batch size
    )  # fmt: skip
    dp_act = 2 * ACT * p / n
    dz = w[:, None] * (p - np.eye(3)[y]) / n
    dz += p * (dp_act - (dp_act * p).sum(axis=1, keepdims=True))
    dk2, db2 = h.T @ dz, dz.sum(axis=0)
    dpre = (dz @ k2.T) * (pre > 0)
    dk1 = x.T @ dpre + A1 * np.sign(k1) + 2 * A2 * k1
    db1 = dpre.sum(axis=0) + 2 * 0.01 * b1
    k1, b1, k2, b2 = k1 - LR * dk1, b1 - LR * db1, k2 - LR * dk2, b2 - LR * db2
    k1 = reference_constraint("max_norm", k1, max_value=MAXN)
    b2 = reference_constraint("non_neg", b2)
    return data_loss + penalty, [k1, b1, k2, b2]


def test_two_training_steps_match_the_reference_weight_by_weight():
    x, y = data(n=9)
    sw = np.random.default_rng(8).uniform(0.2, 2.0, len(x))
    cw = {0: 1.0, 1: 0.5, 2: 2.0}
    w = sw * np.array([cw[c] for c in y])
    model = regularized_model()
    weights = model.get_weights()
    weights[3][:] = [0.05, -0.02, 0.01]  # so that non_neg has work to do
    model.set_weights(weights)
    expected = weights
    for step in range(2):
        loss, expected = reference_step(expected, x, y, w)
        got = model.train_on_batch(x, y, sample_weight=sw, class_weight=cw)
        np.testing.assert_allclose(got, loss, rtol=1e-12, err_msg=f"step {step}")
        for name, a, b in zip(["k1", "b1", "k2", "b2"], model.get_weights(), expected):
            np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-14, err_msg=name)
    assert np.all(model.get_weights()[3] >= 0)
    norms = np.sqrt((model.get_weights()[0] ** 2).sum(axis=0))
    assert np.all(norms <= MAXN + 1e-12)


def test_evaluate_includes_the_penalties_as_keras_2():
    x, y = data(n=9)
    model = regularized_model()
    weights = model.get_weights()
    loss, _ = reference_step(weights, x, y, np.ones(len(x)))
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), loss, rtol=1e-12)
    np.testing.assert_allclose(model.test_on_batch(x, y), loss, rtol=1e-12)


def test_without_regularizers_the_trainer_lists_nothing():
    x, y = data()
    tf.set_seed(1)
    model = tf.keras.Sequential([tf.keras.layers.Dense(3, "softmax", input_dim=5)])
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.fit(x, y, verbose=0)
    trainer = model._trainer
    assert trainer._penalized == [] and trainer._constrained == []


# ---- saving ---------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".tnn", ".keras", ".h5"])
def test_regularizers_and_constraints_round_trip(tmp_path, suffix):
    if suffix == ".h5":
        pytest.importorskip("h5py")
    x, y = data(n=9)
    model = regularized_model()
    model.add(tf.keras.layers.BatchNormalization(
        gamma_regularizer=regularizers.L1(0.2), beta_constraint="unit_norm",
        dtype="float64"))  # fmt: skip
    model.compile(tf.keras.optimizers.SGD(LR), "mse")
    t = np.eye(3)[y]
    model.fit(x, t, verbose=0)
    path = tmp_path / f"m{suffix}"
    model.save(path)
    loaded = tinynn.load_model(path)
    for a, b in zip(model.layers, loaded.layers):
        ours, theirs = a.get_config(), b.get_config()
        ours.pop("batch_input_shape", None)  # Keras files give it to the InputLayer
        theirs.pop("batch_input_shape", None)
        assert ours == theirs
    assert isinstance(loaded.layers[0].kernel_regularizer, regularizers.L1L2)
    assert isinstance(loaded.layers[1].bias_constraint, constraints.NonNeg)
    assert loaded.layers[2].gamma_regularizer.l1 == 0.2
    np.testing.assert_allclose(
        loaded.evaluate(x, t, verbose=0), model.evaluate(x, t, verbose=0), rtol=1e-12
    )
    tinynn.set_seed(3)
    model.fit(x, t, epochs=2, batch_size=4, verbose=0)
    tinynn.set_seed(3)
    loaded.fit(x, t, epochs=2, batch_size=4, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_to_json_carries_keras_3_module_wrappers():
    import json

    model = regularized_model()
    layers = json.loads(model.to_json())["config"]["layers"]
    dense = layers[1]["config"]
    assert dense["kernel_regularizer"]["module"] == "keras.regularizers"
    assert dense["kernel_constraint"]["class_name"] == "MaxNorm"
    again = tf.keras.models.model_from_json(model.to_json())
    assert again.layers[0].kernel_constraint.get_config() == {
        "max_value": MAXN, "axis": 0}  # fmt: skip


# ---- weighted_metrics ------------------------------------------------------------------
def test_weighted_metrics_count_each_sample_w_times_and_metrics_do_not():
    r = np.random.default_rng(6)
    x, y = r.standard_normal((23, 4)), r.integers(0, 2, 23)
    sw = r.uniform(0.0, 2.0, 23)
    cw = {0: 0.7, 1: 1.9}
    w = sw * np.array([cw[c] for c in y])
    tf.set_seed(4)
    model = tf.keras.Sequential(
        [tf.keras.layers.Dense(1, "sigmoid", input_dim=4, dtype="float64")]
    )
    model.compile(
        tf.keras.optimizers.SGD(0.0),
        "binary_crossentropy",
        metrics=["accuracy", "mse"],
        weighted_metrics=["accuracy", tf.keras.metrics.Precision(), "mae"],
    )
    assert model.metrics_names == [
        "loss", "accuracy", "mse", "weighted_accuracy", "precision", "mae"]  # fmt: skip
    p = model.predict(x, verbose=0)[:, 0]
    right = (p > 0.5) == (y == 1)
    predicted = p > 0.5
    tp, fp = (w * (predicted & (y == 1))).sum(), (w * (predicted & (y == 0))).sum()
    assert 0 < tp / (tp + fp) < 1  # the weights matter for this case
    expected = {
        "accuracy": right.mean(),
        "mse": ((p - y) ** 2).mean(),  # on the probabilities, not the logits
        "weighted_accuracy": (w * right).sum() / w.sum(),
        "precision": tp / (tp + fp),
        "mae": (w * np.abs(p - y)).sum() / w.sum(),
    }
    history = model.fit(
        x, y, sample_weight=sw, class_weight=cw, batch_size=5, verbose=0
    ).history
    for name, value in expected.items():
        np.testing.assert_allclose(history[name][0], value, rtol=1e-12, err_msg=name)
    got = model.evaluate(
        x, y, sample_weight=w, batch_size=7, verbose=0, return_dict=True
    )
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-12, err_msg=name)
    unweighted = model.evaluate(x, y, verbose=0, return_dict=True)
    np.testing.assert_allclose(unweighted["weighted_accuracy"], right.mean())
    with pytest.raises(TypeError, match="compile: weighted_metrics must be a list"):
        model.compile("sgd", "mse", weighted_metrics=5)
