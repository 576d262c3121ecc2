"""Behaviours that no other test could fail on (found by scripts/mutation_test.py).

Each test pins one behaviour a realistic one-place bug would break. Expected
values come from tests/reference.py, hand computation in plain NumPy, or the
Keras semantics recorded in ../shared/KERAS.md, never from tinynn itself.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

import reference as ref
import tinynn
import tinynn as tf
from tinynn import _core
from tinynn.callbacks import Callback, EarlyStopping, ModelCheckpoint
from tinynn.keras import layers
from tinynn.progress import Progbar, format_per_step, format_value


@pytest.fixture(autouse=True)
def _fresh_session():
    tinynn.backend.clear_session()
    tinynn.set_floatx("float64")
    yield
    tinynn.set_floatx("float32")


def rng(seed=0):
    return np.random.default_rng(seed)


# ---- C kernels ---------------------------------------------------------------------
@pytest.mark.parametrize("fan_out", [3, 130])
def test_dense_backward_accumulate_adds_to_dw_and_db(fan_out):
    r = rng(fan_out)
    x, w = r.normal(size=(6, 5)), r.normal(size=(5, fan_out))
    dy = r.normal(size=(6, fan_out))
    dw0, db0 = r.normal(size=(5, fan_out)), r.normal(size=fan_out)
    dw, db = dw0.copy(), db0.copy()
    dx = np.full((6, 5), np.nan)
    _core.dense_backward(x, w, dy, dx, dw, db, accumulate=True)
    want_dx, want_dw, want_db = ref.dense_backward(x, w, dy)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-12, atol=1e-12)  # overwritten
    np.testing.assert_allclose(dw, dw0 + want_dw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, db0 + want_db, rtol=1e-12, atol=1e-12)
    # Without accumulate, both are overwritten (NaN must not leak through).
    dw[:], db[:] = np.nan, np.nan
    _core.dense_backward(x, w, dy, None, dw, db)
    np.testing.assert_allclose(dw, want_dw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, want_db, rtol=1e-12, atol=1e-12)


def test_dense_backward_without_bias_still_writes_dx():
    r = rng(1)
    x, w, dy = r.normal(size=(4, 3)), r.normal(size=(3, 2)), r.normal(size=(4, 2))
    dx, dw = np.full((4, 3), np.nan), np.full((3, 2), np.nan)
    _core.dense_backward(x, w, dy, dx, dw, None)
    want_dx, want_dw, _ = ref.dense_backward(x, w, dy)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-12)
    np.testing.assert_allclose(dw, want_dw, rtol=1e-12)


def test_two_layer_model_without_bias_trains_its_first_layer():
    """One SGD step through Dense(use_bias=False) x 2, against plain NumPy."""
    r = rng(2)
    x, y = r.normal(size=(6, 4)), np.array([0, 1, 2, 0, 1, 2])
    model = tf.keras.Sequential(
        [
            layers.Dense(5, activation="tanh", use_bias=False, input_shape=(4,)),
            layers.Dense(3, activation="softmax", use_bias=False),
        ]
    )
    model.compile(tf.keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    w1, w2 = model.get_weights()
    h = np.tanh(x @ w1)
    p = ref.softmax(h @ w2)
    delta = p.copy()
    delta[np.arange(6), y] -= 1
    delta /= 6
    g2 = h.T @ delta
    g1 = x.T @ ((delta @ w2.T) * (1 - h * h))
    model.train_on_batch(x, y)
    new1, new2 = model.get_weights()
    np.testing.assert_allclose(new2, w2 - 0.5 * g2, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(new1, w1 - 0.5 * g1, rtol=1e-10, atol=1e-12)
    assert not np.allclose(new1, w1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_correct_count_takes_the_first_of_tied_logits(dtype):
    # Keras: argmax of tied values is the first index, so all-zero logits
    # predict class 0 for every row.
    logits = np.zeros((5, 3), dtype)
    labels = np.array([0, 1, 2, 0, 2], np.int64)
    loss, correct = _core.softmax_xent(logits, labels, None)
    assert correct == 2
    assert loss == pytest.approx(np.log(3), rel=1e-6)
    onehot = np.eye(3, dtype=dtype)[labels]
    _, correct = _core.softmax_xent_dense(logits, onehot, None)
    assert correct == 2
    # Tied targets: the target's class is its first maximum too.
    targets = np.array([[0.5, 0.5, 0.0]], dtype)
    _, correct = _core.softmax_xent_dense(
        np.array([[2.0, 1.0, 0.0]], dtype), targets, None
    )
    assert correct == 1


def test_accuracy_metric_on_tied_outputs_counts_first_class():
    model = tf.keras.Sequential(
        [layers.Dense(3, activation="softmax", input_shape=(2,))]
    )
    model.set_weights([np.zeros((2, 3)), np.zeros(3)])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x = rng(3).normal(size=(4, 2))
    loss, acc = model.evaluate(x, np.array([0, 1, 0, 2]), verbose=0)
    assert acc == pytest.approx(0.5)
    assert loss == pytest.approx(np.log(3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_forward_rejects_output_overlapping_input(dtype):
    x = rng(4).normal(size=(600, 600)).astype(dtype)
    w = rng(5).normal(size=(600, 600)).astype(dtype)
    before = x.copy()
    with pytest.raises(ValueError, match="dense_forward: y overlaps x"):
        _core.dense_forward(x, w, None, x)
    np.testing.assert_array_equal(x, before)
    buffer = np.zeros(18, dtype)  # partial overlap: rows 2-3 of x are rows 0-1 of y
    with pytest.raises(ValueError, match="dense_forward: y overlaps x"):
        _core.dense_forward(
            buffer[:12].reshape(4, 3), w[:3, :3].copy(), None, buffer[6:].reshape(4, 3)
        )


def test_adam_rejects_step_zero():
    w, g = np.zeros(3), np.ones(3)
    with pytest.raises(ValueError, match="step must be >= 1"):
        _core.adam_update(
            w, g, np.zeros(3), np.zeros(3), None, 0.001, 0.9, 0.999, 1e-7, 0
        )
    np.testing.assert_array_equal(w, 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_amsgrad_uses_the_running_maximum_of_v(dtype):
    # A big gradient then tiny ones: v falls below its maximum, so the AMSGrad
    # step (divided by sqrt(vhat)) is much smaller than Adam's would be.
    n = 3
    w = np.array([0.5, -0.5, 1.0], dtype)
    m, v, vhat = (np.zeros(n, dtype) for _ in range(3))
    rw, rm, rv, rvhat = w.astype(np.float64), np.zeros(n), np.zeros(n), np.zeros(n)
    for step, scale in enumerate([10.0, 1e-3, 1e-3], start=1):
        g = (np.array([1.0, -2.0, 0.5]) * scale).astype(dtype)
        _core.adam_update(w, g, m, v, vhat, 0.01, 0.9, 0.999, 1e-7, step)
        rw, rm, rv, rvhat = ref.adam(rw, g, rm, rv, rvhat, 0.01, 0.9, 0.999, 1e-7, step)
    assert np.all(rvhat > rv)  # the case that tells vhat from v
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(vhat, rvhat, rtol=rtol)
    np.testing.assert_allclose(w, rw, rtol=rtol)


def test_softmax_and_losses_stay_finite_for_huge_logits():
    z = np.array([[1000.0, 0.0, -1000.0]])
    y = np.empty_like(z)
    _core.softmax_forward(z, y)
    np.testing.assert_allclose(y, [[1.0, 0.0, 0.0]])
    loss = _core.sigmoid_bce(np.array([-1000.0, 1000.0]), np.array([0.0, 1.0]), None)
    assert loss == 0.0
    loss = _core.sigmoid_bce(np.array([-800.0]), np.array([1.0]), None)
    assert loss == pytest.approx(800.0)


def test_bce_on_probabilities_keeps_keras2_epsilon_inside_the_logs():
    p, t = np.array([0.25, 0.9]), np.array([1.0, 0.0])
    want = -np.mean([np.log(0.25 + 1e-7), np.log(1 - 0.9 + 1e-7)])
    assert _core.bce(p, t, None) == pytest.approx(want, rel=1e-13)


def test_xent_dense_gradient_scales_softmax_by_the_target_sum():
    # d/dz of -sum_j t_j log softmax(z)_j is softmax(z) * sum(t) - t.
    z = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 1.0]])
    t = np.array([[2.0, 0.0, 1.0], [0.3, 0.3, 0.0]])
    d = np.empty_like(z)
    loss, _ = _core.softmax_xent_dense(z, t, d)
    p = ref.softmax(z)
    np.testing.assert_allclose(d, (p * t.sum(1, keepdims=True) - t) / 2, rtol=1e-12)
    assert loss == pytest.approx(-(t * np.log(p)).sum(1).mean(), rel=1e-12)


# ---- optimizers: Keras defaults (KERAS.md 2.1) --------------------------------------
def test_optimizer_defaults_follow_keras():
    g = np.array([1e-6, -3.0])
    w = np.zeros(2)
    tf.keras.optimizers.SGD().apply_gradients([(g, w)])
    np.testing.assert_allclose(w, -0.01 * g, rtol=1e-12)

    w = np.zeros(2)
    tf.keras.optimizers.RMSprop().apply_gradients([(g, w)])
    s = 0.1 * g * g
    np.testing.assert_allclose(w, -0.001 * g / np.sqrt(s + 1e-7), rtol=1e-12)

    w = np.zeros(2)
    tf.keras.optimizers.Adam().apply_gradients([(g, w)])
    alpha = 0.001 * np.sqrt(1 - 0.999) / (1 - 0.9)
    want = -alpha * (0.1 * g) / (np.sqrt(0.001 * g * g) + 1e-7)
    np.testing.assert_allclose(w, want, rtol=1e-12)


def test_apply_gradients_keeps_each_variables_state():
    opt = tf.keras.optimizers.SGD(0.1, momentum=0.9)
    w, g = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    opt.apply_gradients([(g, w)])
    opt.apply_gradients([(g, w)])
    v1 = -0.1 * g
    v2 = 0.9 * v1 - 0.1 * g
    np.testing.assert_allclose(w, np.array([1.0, 2.0]) + v1 + v2, rtol=1e-12)


def test_compiling_again_restarts_the_optimizer():
    x, y = rng(6).normal(size=(8, 3)), np.array([0, 1] * 4)
    a = tf.keras.Sequential([layers.Dense(2, activation="softmax", input_shape=(3,))])
    opt = tf.keras.optimizers.Adam(0.1)
    a.compile(opt, "sparse_categorical_crossentropy")
    a.train_on_batch(x, y)
    a.compile(opt, "sparse_categorical_crossentropy")
    assert opt.iterations == 0
    b = tf.keras.Sequential([layers.Dense(2, activation="softmax", input_shape=(3,))])
    b.set_weights(a.get_weights())
    b.compile(tf.keras.optimizers.Adam(0.1), "sparse_categorical_crossentropy")
    a.train_on_batch(x, y)
    b.train_on_batch(x, y)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-12)


# ---- utils, losses and metrics ------------------------------------------------------
def test_to_categorical_rejects_the_class_count_itself():
    np.testing.assert_array_equal(tf.keras.utils.to_categorical([1], 2), [[0.0, 1.0]])
    with pytest.raises(ValueError, match="num_classes"):
        tf.keras.utils.to_categorical([2], 2)


def test_sparse_crossentropy_on_probabilities_renormalises_rows():
    # Keras: -log(q_y / sum_k q_k) with q = clip(p, 1e-7, 1 - 1e-7).
    value = tinynn.losses.sparse_categorical_crossentropy([0], [[0.2, 0.2]])
    assert value == pytest.approx(np.log(2.0), rel=1e-12)


def test_mae_gradient_is_over_every_element():
    loss = tinynn.losses.MeanAbsoluteError()
    value, grad = loss.value_and_grad(
        np.zeros((2, 3)), np.array([[1.0, -2, 3], [-1, 0.5, 2]])
    )
    assert value == pytest.approx(9.5 / 6)
    np.testing.assert_allclose(grad, np.sign([[1.0, -2, 3], [-1, 0.5, 2]]) / 6)


def test_binary_crossentropy_label_smoothing_moves_targets_toward_half():
    # Keras: y <- y (1 - s) + 0.5 s, then the clipped, epsilon-inside formula.
    bce = tinynn.losses.BinaryCrossentropy(label_smoothing=0.2)
    p = np.array([[0.7], [0.2]])
    t = np.array([[0.9], [0.1]])
    want = -np.mean(t * np.log(p + 1e-7) + (1 - t) * np.log(1 - p + 1e-7))
    assert bce(np.array([[1.0], [0.0]]), p) == pytest.approx(want, rel=1e-12)


def test_binary_accuracy_on_a_fused_sigmoid_uses_probability_half():
    model = tf.keras.Sequential(
        [layers.Dense(1, activation="sigmoid", input_shape=(1,))]
    )
    model.set_weights([np.ones((1, 1)), np.zeros(1)])
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
    # logits 0.4 and -0.4: probabilities 0.599 and 0.401 -> predictions 1 and 0.
    _, acc = model.evaluate(np.array([[0.4], [-0.4]]), np.array([1.0, 0.0]), verbose=0)
    assert acc == 1.0


def test_mae_and_mse_metrics_reduce_like_keras():
    model = tf.keras.Sequential([layers.Dense(1, input_shape=(1,))])
    model.set_weights([np.zeros((1, 1)), np.zeros(1)])
    model.compile("sgd", "mae", metrics=["mae", "mse"])
    # Residuals 1 and -3: mean |r| = 2, mean r^2 = 5.
    loss, mae, mse = model.evaluate(np.zeros((2, 1)), np.array([1.0, -3.0]), verbose=0)
    assert mae == pytest.approx(2.0) and loss == pytest.approx(2.0)
    assert mse == pytest.approx(5.0)


# ---- progress text (KERAS.md 3) -----------------------------------------------------
def test_progress_number_and_time_boundaries():
    assert format_value(1e-3) == "1.0000e-03"  # 4 decimals only ABOVE 1e-3
    assert format_value(0.0011) == "0.0011"
    assert format_per_step(1e-3) == "1ms/step"


def test_progress_bar_cells_are_floored():
    out = io.StringIO()
    bar = Progbar(7, file=out, verbose=1, clock=lambda: 0.0)
    out.isatty = lambda: True
    bar.update(6)
    line = out.getvalue().split("\r")[-1]
    # w = int(30 * 6 / 7) = 25: 24 '=' then '>' then 5 '.'.
    assert line.startswith("6/7 [" + "=" * 24 + ">" + "." * 5 + "]")


# ---- fit ------------------------------------------------------------------------------
class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.logs = {}
        self.params_seen = None

    def on_train_begin(self, logs=None):
        self.params_seen = dict(self.params)

    def on_epoch_end(self, epoch, logs=None):
        self.logs[epoch] = dict(logs or {})


def tiny_model(units_in=3):
    model = tf.keras.Sequential(
        [layers.Dense(2, activation="softmax", input_shape=(units_in,))]
    )
    model.compile("sgd", "sparse_categorical_crossentropy")
    return model


def test_validation_freq_validates_every_nth_epoch():
    x, y = rng(7).normal(size=(6, 3)), np.array([0, 1] * 3)
    seen = Recorder()
    history = tiny_model().fit(
        x,
        y,
        epochs=5,
        validation_data=(x, y),
        validation_freq=2,
        verbose=0,
        callbacks=[seen],
    )
    assert [e for e, logs in seen.logs.items() if "val_loss" in logs] == [1, 3]
    assert len(history.history["val_loss"]) == 2
    assert len(history.history["loss"]) == 5


def test_validation_freq_counts_epochs_from_zero_not_from_initial_epoch():
    # Keras's _should_eval: validate when (epoch + 1) % validation_freq == 0,
    # with epoch the absolute 0-based index, whatever initial_epoch is.
    x, y = rng(7).normal(size=(6, 3)), np.array([0, 1] * 3)
    seen = Recorder()
    tiny_model().fit(
        x,
        y,
        epochs=6,
        initial_epoch=1,
        validation_data=(x, y),
        validation_freq=2,
        verbose=0,
        callbacks=[seen],
    )
    assert sorted(seen.logs) == [1, 2, 3, 4, 5]
    assert [e for e, logs in seen.logs.items() if "val_loss" in logs] == [1, 3, 5]


def test_initial_epoch_runs_up_to_epochs_as_final_index(capsys):
    x, y = rng(8).normal(size=(6, 3)), np.array([0, 1] * 3)
    history = tiny_model().fit(x, y, epochs=5, initial_epoch=3, batch_size=2, verbose=2)
    assert history.epoch == [3, 4]
    assert len(history.batch_history["loss"]) == 2 * 3
    out = capsys.readouterr().out
    assert "Epoch 4/5" in out and "Epoch 5/5" in out and "Epoch 6/" not in out


def test_single_epoch_fit_prints_no_epoch_header(capsys):
    # Keras prints "Epoch i/N" only when epochs > 1.
    x, y = rng(8).normal(size=(6, 3)), np.array([0, 1] * 3)
    tiny_model().fit(x, y, epochs=1, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch" not in out and out.startswith("1/1 - ")


def test_default_batch_size_is_32():
    x, y = rng(9).normal(size=(100, 3)), np.arange(100) % 2
    seen = Recorder()
    tiny_model().fit(x, y, epochs=1, verbose=0, callbacks=[seen])
    assert seen.params_seen["steps"] == 4  # ceil(100 / 32)


def test_validation_split_floors_the_split_point():
    # split_at = floor(10 * 0.75) = 7: the last 3 samples validate.
    x, y = rng(10).normal(size=(10, 3)), np.arange(10) % 2
    model = tiny_model()
    seen = Recorder()
    history = model.fit(
        x, y, validation_split=0.25, epochs=1, verbose=0, callbacks=[seen]
    )
    assert seen.params_seen["steps"] == 1
    want = model.evaluate(x[7:], y[7:], verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(want, rel=1e-12)


def order_of_samples(shuffle, epochs=3, n=8):
    """Which sample each batch of size 1 used, read back from its loss (the
    weights never move: learning rate 0; sample i has loss i^2)."""
    tinynn.set_seed(3)
    model = tf.keras.Sequential([layers.Dense(1, input_shape=(1,))])
    model.set_weights([np.zeros((1, 1)), np.zeros(1)])
    model.compile(tf.keras.optimizers.SGD(0.0), "mse")
    history = model.fit(
        np.zeros((n, 1)),
        np.arange(n, dtype=float),
        batch_size=1,
        epochs=epochs,
        shuffle=shuffle,
        verbose=0,
    )
    ids = np.rint(np.sqrt(history.batch_history["loss"])).astype(int)
    return ids.reshape(epochs, n)


def test_shuffle_draws_a_fresh_order_every_epoch():
    orders = order_of_samples(True)
    for order in orders:
        assert sorted(order) == list(range(8))
    assert len({tuple(o) for o in orders}) == 3
    np.testing.assert_array_equal(order_of_samples(False), [list(range(8))] * 3)


def test_model_checkpoint_integer_save_freq_counts_batches(tmp_path):
    x, y = rng(11).normal(size=(10, 3)), np.arange(10) % 2
    model = tiny_model()
    saved = []
    model.save_weights = lambda path, **kwargs: saved.append(path)
    check = ModelCheckpoint(
        str(tmp_path / "w{epoch}.h5"), save_freq=3, save_weights_only=True
    )
    # 5 batches per epoch, 10 in all: saves after batches 3, 6 and 9 overall.
    model.fit(x, y, batch_size=2, epochs=2, shuffle=False, verbose=0, callbacks=[check])
    assert saved == [str(tmp_path / name) for name in ("w1.h5", "w2.h5", "w2.h5")]


# ---- EarlyStopping (tf.keras 2.15 semantics, KERAS.md 3) -----------------------------
class FakeModel:
    def __init__(self):
        self.stop_training = False
        self.weights = [np.zeros(2)]

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [w.copy() for w in weights]


def stopped_epoch(callback, values):
    """Feed val_loss values epoch by epoch; the epoch training stops after, or None."""
    model = FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, value in enumerate(values):
        model.weights = [np.full(2, float(epoch))]
        callback.on_epoch_end(epoch, {"val_loss": value})
        if model.stop_training:
            return epoch, model
    return None, model


def test_early_stopping_min_delta_counts_small_gains_as_no_improvement():
    stop = EarlyStopping(min_delta=0.1, patience=2)
    assert stopped_epoch(stop, [1.0, 0.95, 0.92, 0.5])[0] == 2
    assert stop.best == 1.0
    stop = EarlyStopping(min_delta=0.01, patience=2)
    assert stopped_epoch(stop, [1.0, 0.95, 0.92, 0.9])[0] is None


def test_early_stopping_baseline_must_be_beaten_to_reset_patience():
    # Improving but not beating the baseline: wait keeps counting.
    stop = EarlyStopping(baseline=0.5, patience=2)
    assert stopped_epoch(stop, [0.9, 0.8, 0.85])[0] == 2
    # Beating the baseline resets it as usual.
    stop = EarlyStopping(baseline=0.5, patience=2)
    assert stopped_epoch(stop, [0.4, 0.3, 0.35])[0] is None


def test_early_stopping_start_from_epoch_ignores_early_epochs():
    stop = EarlyStopping(start_from_epoch=2)
    epoch, _ = stopped_epoch(stop, [1.0, 2.0, 3.0, 4.0])
    assert epoch == 3 and stop.best == 3.0


def test_early_stopping_restores_the_best_epochs_weights():
    stop = EarlyStopping(patience=1, restore_best_weights=True)
    epoch, model = stopped_epoch(stop, [3.0, 2.0, 1.0, 1.5, 1.2])
    assert epoch == 3
    np.testing.assert_array_equal(model.weights[0], [2.0, 2.0])


def test_early_stopping_default_patience_is_zero_and_acc_is_maximised():
    assert stopped_epoch(EarlyStopping(), [1.0, 1.1])[0] == 1
    model = FakeModel()
    stop = EarlyStopping(monitor="val_acc")
    stop.set_model(model)
    stop.on_train_begin()
    stop.on_epoch_end(0, {"val_acc": 0.5})
    stop.on_epoch_end(1, {"val_acc": 0.6})
    assert not model.stop_training


# ---- output activation fusion -------------------------------------------------------
def test_final_activation_layer_softmax_is_fused_into_the_loss():
    # Like tf.keras (graph mode), the loss of a final Activation("softmax") is
    # taken from the logits: -log softmax([0, 100])[0] = 100 + log1p(e^-100),
    # not the -log(1e-7) = 16.1 of a probability clipped at epsilon.
    model = tf.keras.Sequential(
        [
            layers.Dense(2, input_shape=(1,), use_bias=False),
            layers.Activation("softmax"),
        ]
    )
    model.set_weights([np.array([[0.0, 100.0]])])
    model.compile("sgd", "sparse_categorical_crossentropy")
    loss = model.evaluate(np.ones((1, 1)), np.array([0]), verbose=0)
    assert loss == pytest.approx(100.0, rel=1e-9)


def test_backprop_reaches_a_dense_layer_below_a_weightless_activation_layer():
    # Dense -> Activation("tanh") -> Dense: the gradient must pass the
    # weightless Activation layer on its way to the first Dense (hand chain rule).
    model = tf.keras.Sequential(
        [
            layers.Dense(3, input_shape=(2,)),
            layers.Activation("tanh"),
            layers.Dense(1),
        ]
    )
    r = rng(5)
    w1, b1 = r.normal(size=(2, 3)), r.normal(size=3)
    w2, b2 = r.normal(size=(3, 1)), r.normal(size=1)
    model.set_weights([w1, b1, w2, b2])
    model.compile(tf.keras.optimizers.SGD(0.1), "mse")
    x, y = r.normal(size=(4, 2)), r.normal(size=(4, 1))
    model.train_on_batch(x, y)
    h = np.tanh(x @ w1 + b1)
    dout = 2 * (h @ w2 + b2 - y) / y.size
    dz = (dout @ w2.T) * (1 - h * h)
    want = [w1 - 0.1 * x.T @ dz, b1 - 0.1 * dz.sum(0)]
    want += [w2 - 0.1 * h.T @ dout, b2 - 0.1 * dout.sum(0)]
    for got, expected in zip(model.get_weights(), want):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
