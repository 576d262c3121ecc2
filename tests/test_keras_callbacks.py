"""Keras's callback calling convention (every hook gets logs), the
LearningRateScheduler, ReduceLROnPlateau and CSVLogger callbacks,
ModelCheckpoint's folder creation and fit(verbose=True/False)."""

from __future__ import annotations

import numpy as np
import pytest

import tinynn as tf

cbs = tf.keras.callbacks


def model_and_data(optimizer="sgd", seed=0):
    tf.set_seed(seed)
    model = tf.keras.Sequential(
        [tf.keras.layers.Dense(3, activation="softmax", input_shape=(4,))]
    )
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    r = np.random.default_rng(seed)
    return model, r.random((10, 4)).astype(np.float32), r.integers(0, 3, 10)


class LogsRequired(cbs.Callback):
    """Hooks written as Keras's docs show them: logs is a required argument."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_begin(self, logs):
        self.seen.append(("train_begin", logs))

    def on_train_end(self, logs):
        self.seen.append(("train_end", logs))

    def on_epoch_begin(self, epoch, logs):
        self.seen.append(("epoch_begin", epoch, logs))

    def on_epoch_end(self, epoch, logs):
        self.seen.append(("epoch_end", epoch, dict(logs)))

    def on_train_batch_begin(self, batch, logs):
        self.seen.append(("batch_begin", batch, logs))

    def on_test_begin(self, logs):
        self.seen.append(("test_begin", logs))

    def on_test_end(self, logs):
        self.seen.append(("test_end", logs))

    def on_predict_begin(self, logs):
        self.seen.append(("predict_begin", logs))

    def on_predict_end(self, logs):
        self.seen.append(("predict_end", logs))


def test_every_hook_receives_logs_positionally():
    model, x, y = model_and_data()
    hooks = LogsRequired()
    model.fit(x, y, epochs=2, batch_size=5, verbose=0, callbacks=[hooks])
    model.evaluate(x, y, verbose=0, callbacks=[hooks])
    model.predict(x, verbose=0, callbacks=[hooks])
    names = [call[0] for call in hooks.seen]
    assert names[0] == "train_begin" and "train_end" in names
    assert names.count("epoch_begin") == 2 and names.count("batch_begin") == 4
    assert {"test_begin", "test_end", "predict_begin", "predict_end"} <= set(names)
    for call in hooks.seen:
        assert isinstance(call[-1], dict)
    ends = [call for call in hooks.seen if call[0] == "epoch_end"]
    assert [call[1] for call in ends] == [0, 1] and "loss" in ends[0][2]
    # Keras passes the last epoch's logs to on_train_end
    train_end = next(call for call in hooks.seen if call[0] == "train_end")
    assert train_end[1] == ends[-1][2]


def test_lambda_callbacks_written_for_keras_run():
    model, x, y = model_and_data()
    seen = []
    model.fit(
        x,
        y,
        epochs=1,
        verbose=0,
        callbacks=[
            cbs.LambdaCallback(
                on_train_begin=lambda logs: seen.append("begin"),
                on_epoch_begin=lambda epoch, logs: seen.append(epoch),
                on_train_end=lambda logs: seen.append("end"),
            )
        ],
    )
    assert seen == ["begin", 0, "end"]


def test_keyword_style_hooks_still_work():
    class Keyword(cbs.Callback):
        calls = 0

        def on_train_begin(self, logs=None):
            Keyword.calls += 1

        def on_epoch_end(self, epoch, logs=None):
            Keyword.calls += logs is not None

    model, x, y = model_and_data()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[Keyword()])
    assert Keyword.calls == 3


# ---- LearningRateScheduler ---------------------------------------------------
def linear_problem():
    tf.set_floatx("float64")
    tf.set_seed(3)
    model = tf.keras.Sequential([tf.keras.layers.Dense(2, input_shape=(3,))])
    model.compile(tf.keras.optimizers.SGD(0.5), "mse")
    r = np.random.default_rng(4)
    return model, r.normal(size=(6, 3)), r.normal(size=(6, 2))


@pytest.fixture
def float64_after():
    yield
    tf.set_floatx("float32")


@pytest.mark.parametrize("two_arguments", [False, True])
def test_scheduler_sets_each_epochs_rate(two_arguments, float64_after):
    model, x, y = linear_problem()
    if two_arguments:
        seen = []

        def schedule(epoch, lr):
            seen.append(lr)
            return 0.1 / (epoch + 1)
    else:

        def schedule(epoch):
            return 0.1 / (epoch + 1)

    w, b = model.get_weights()
    history = model.fit(
        x,
        y,
        epochs=3,
        batch_size=6,
        shuffle=False,
        verbose=0,
        callbacks=[cbs.LearningRateScheduler(schedule)],
    )
    for epoch in range(3):  # one full batch per epoch
        d = 2 * (x @ w + b - y) / y.size
        w, b = w - 0.1 / (epoch + 1) * (x.T @ d), b - 0.1 / (epoch + 1) * d.sum(0)
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-12)
    np.testing.assert_allclose(history.history["lr"], [0.1, 0.05, 0.1 / 3])
    if two_arguments:
        assert seen == pytest.approx([0.5, 0.1, 0.05])  # the rate before each epoch


def test_scheduler_verbose_and_bad_schedules(capsys, float64_after):
    model, x, y = linear_problem()
    model.fit(
        x,
        y,
        epochs=1,
        verbose=0,
        callbacks=[cbs.LearningRateScheduler(lambda e: 0.25, 1)],
    )
    assert "Epoch 1: LearningRateScheduler setting learning rate to 0.25." in (
        capsys.readouterr().out
    )
    with pytest.raises(ValueError, match="schedule must return a float; got str"):
        model.fit(
            x, y, verbose=0, callbacks=[cbs.LearningRateScheduler(lambda e: "fast")]
        )
    with pytest.raises(TypeError, match="schedule must be callable"):
        cbs.LearningRateScheduler(0.1)
    model.compile(
        tf.keras.optimizers.SGD(
            tf.keras.optimizers.schedules.ExponentialDecay(1, 1, 1)
        ),
        "mse",
    )
    with pytest.raises(TypeError, match="LearningRateScheduler: SGD: the learning"):
        model.fit(x, y, verbose=0, callbacks=[cbs.LearningRateScheduler(lambda e: 0.1)])


# ---- ReduceLROnPlateau ---------------------------------------------------------
class FakeModel:
    def __init__(self, lr):
        self.optimizer = tf.keras.optimizers.SGD(lr)


def drive(callback, values, key="val_loss", lr=0.1):
    model = FakeModel(lr)
    callback.set_model(model)
    callback.on_train_begin({})
    logged, after = [], []
    for epoch, value in enumerate(values):
        logs = {key: value}
        callback.on_epoch_end(epoch, logs)
        logged.append(logs["lr"])
        after.append(model.optimizer.learning_rate)
    return logged, after


def test_reduce_lr_follows_keras_patience_cooldown_and_floor():
    callback = cbs.ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1, min_lr=0.02)
    # epoch 1: no change beats min_delta (1e-4); epoch 5: a real improvement
    values = [1.0, 0.99995, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5]
    logged, after = drive(callback, values)
    assert after == pytest.approx(
        [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.025, 0.02, 0.02, 0.02]
    )
    assert logged == pytest.approx([0.1, 0.1, 0.1] + after[2:-1])


def test_reduce_lr_defaults_and_auto_mode():
    callback = cbs.ReduceLROnPlateau()
    assert (callback.monitor, callback.factor, callback.patience) == (
        "val_loss",
        0.1,
        10,
    )
    assert (callback.mode, callback.min_delta, callback.cooldown, callback.min_lr) == (
        "auto",
        1e-4,
        0,
        0.0,
    )
    # 'acc' in the name: maximised, so rising accuracy never reduces the rate
    rising = cbs.ReduceLROnPlateau(monitor="val_accuracy", patience=1)
    assert drive(rising, [0.1, 0.2, 0.3, 0.4], key="val_accuracy")[1] == [0.1] * 4
    falling = cbs.ReduceLROnPlateau(monitor="val_accuracy", patience=1)
    after = drive(falling, [0.4, 0.3, 0.2], key="val_accuracy")[1]
    assert after == pytest.approx([0.1, 0.01, 0.001])
    with pytest.raises(ValueError, match="factor must be < 1.0"):
        cbs.ReduceLROnPlateau(factor=1.5)
    with pytest.warns(RuntimeWarning, match="conditioned on 'val_loss'"):
        drive(cbs.ReduceLROnPlateau(), [1.0], key="loss")


def test_reduce_lr_in_fit_logs_the_rate():
    model, x, y = model_and_data()
    history = model.fit(
        x,
        y,
        epochs=3,
        verbose=0,
        callbacks=[cbs.ReduceLROnPlateau("loss", factor=0.5, patience=0, min_delta=10)],
    )
    # min_delta 10: never an improvement after the first epoch
    assert history.history["lr"] == pytest.approx([0.01, 0.01, 0.005])
    assert model.optimizer.learning_rate == pytest.approx(0.0025)


# ---- CSVLogger -------------------------------------------------------------------
def test_csv_logger_writes_keras_format(tmp_path):
    model, x, y = model_and_data()
    path = tmp_path / "log.csv"
    history = model.fit(
        x,
        y,
        epochs=2,
        validation_data=(x, y),
        verbose=0,
        callbacks=[cbs.CSVLogger(str(path))],
    )
    h = history.history
    want = "epoch,accuracy,loss,val_accuracy,val_loss\r\n" + "".join(
        f"{e},{h['accuracy'][e]!r},{h['loss'][e]!r},{h['val_accuracy'][e]!r},"
        f"{h['val_loss'][e]!r}\r\n"
        for e in range(2)
    )
    assert path.read_bytes().decode() == want


def test_csv_logger_without_validation_separator_and_append(tmp_path):
    model, x, y = model_and_data()
    path = tmp_path / "log.csv"
    model.fit(x, y, epochs=1, verbose=0, callbacks=[cbs.CSVLogger(path, separator=";")])
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch;accuracy;loss;val_accuracy;val_loss"
    assert lines[1].startswith("0;") and lines[1].endswith(";NA;NA")
    model.fit(
        x, y, epochs=2, verbose=0, callbacks=[cbs.CSVLogger(path, ";", append=True)]
    )
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and lines[0].startswith("epoch;")
    assert [line.split(";")[0] for line in lines[1:]] == ["0", "0", "1"]
    with pytest.raises(ValueError, match="separator must be a single character"):
        cbs.CSVLogger(path, separator=", ")


def test_model_checkpoint_creates_a_missing_folder(tmp_path):
    model, x, y = model_and_data()
    target = tmp_path / "runs" / "a" / "w.{epoch:02d}.h5"
    pytest.importorskip("h5py")
    model.fit(
        x,
        y,
        epochs=2,
        verbose=0,
        callbacks=[cbs.ModelCheckpoint(str(target), save_weights_only=True)],
    )
    assert sorted(p.name for p in (tmp_path / "runs" / "a").iterdir()) == [
        "w.01.h5",
        "w.02.h5",
    ]


@pytest.mark.parametrize("verbose, printed", [(False, False), (True, True)])
def test_fit_accepts_boolean_verbose(capsys, verbose, printed):
    model, x, y = model_and_data()
    model.fit(x, y, epochs=1, verbose=verbose)
    model.evaluate(x, y, verbose=verbose)
    out = capsys.readouterr().out
    assert ("loss:" in out) is printed
