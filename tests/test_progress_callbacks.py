"""Progress bar text (tf.keras 2 format), callbacks' semantics, and plots."""

from __future__ import annotations

import io

import numpy as np
import pytest

import tinynn
import tinynn as tf
from tinynn.callbacks import (
    EarlyStopping,
    History,
    LambdaCallback,
    ModelCheckpoint,
    TerminateOnNaN,
)
from tinynn.keras import layers
from tinynn.progress import Progbar, format_eta, format_per_step, format_value


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class TTY(io.StringIO):
    def isatty(self):
        return True


def test_final_line_matches_keras_text():
    clock, out = FakeClock(), TTY()
    bar = Progbar(1875, file=out, clock=clock)
    clock.now = 0.004
    bar.update(1, [("loss", 1.0)])
    clock.now = 0.004 + 1874 * 0.004
    bar.update(
        1875,
        [
            ("loss", 0.2003),
            ("accuracy", 0.9412),
            ("val_loss", 0.0968),
            ("val_accuracy", 0.9701),
        ],
        finalize=True,
    )
    last = out.getvalue().split("\r")[-1].rstrip("\n").rstrip()
    assert last == (
        "1875/1875 [==============================] - 8s 4ms/step - loss: "
        "0.2003 - accuracy: 0.9412 - val_loss: 0.0968 - val_accuracy: 0.9701"
    )


def test_running_line_has_arrow_and_eta_and_is_throttled():
    clock, out = FakeClock(), TTY()
    bar = Progbar(100, file=out, clock=clock, interval=0.05)
    clock.now = 1.0
    bar.update(1, [("loss", 0.5)])
    clock.now = 1.01
    bar.update(2, [("loss", 0.4)])  # within 0.05 s: not drawn
    clock.now = 50.5
    bar.update(50, [("loss", 0.3)])
    frames = [f for f in out.getvalue().split("\r") if f]
    assert len(frames) == 2
    assert frames[-1].startswith(" 50/100 [==============>...............] - ETA: 50s")
    assert frames[-1].rstrip().endswith("loss: 0.3000")


def test_verbose_2_prints_one_line_at_the_end():
    clock, out = FakeClock(), io.StringIO()
    bar = Progbar(1875, verbose=2, file=out, clock=clock)
    for step in range(1, 1876):
        clock.now = step * 0.0016
        bar.update(step, [("loss", 0.2962), ("accuracy", 0.9155)])
    assert out.getvalue() == (
        "1875/1875 - 3s - loss: 0.2962 - accuracy: 0.9155 - 3s/epoch - 2ms/step\n"
    )


def test_non_terminal_stream_gets_only_final_lines():
    out = io.StringIO()
    bar = Progbar(10, file=out)
    for step in range(1, 11):
        bar.update(step, [("loss", 1.0)])
    assert out.getvalue().count("\n") == 1 and "\r" not in out.getvalue()


def test_number_formats():
    assert format_value(0.2003) == "0.2003"
    assert format_value(0.000123) == "1.2300e-04"
    assert format_eta(12.7) == "12s" and format_eta(75) == "1:15"
    assert format_eta(3725) == "1:02:05"
    assert format_per_step(0.004) == "4ms/step" and format_per_step(2.0) == "2s/step"
    assert format_per_step(0.0003) == "300us/step"


def small_model():
    tinynn.backend.clear_session()
    model = tf.keras.Sequential(
        [layers.Dense(3, activation="softmax", input_shape=(4,))]
    )
    model.compile("sgd", "sparse_categorical_crossentropy", ["accuracy"])
    rng = np.random.default_rng(0)
    return model, rng.normal(size=(20, 4)), rng.integers(0, 3, 20)


def test_fit_prints_epoch_headers_and_bars(capsys):
    model, x, y = small_model()
    model.fit(x, y, epochs=2, batch_size=8, validation_data=(x, y), verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "3/3 [==============================]" in out and "val_accuracy:" in out
    model.fit(x, y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


class FakeModel:
    def __init__(self):
        self.stop_training = False
        self.weights = [np.zeros(2)]
        self.saved = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [w.copy() for w in weights]

    def save(self, path):
        self.saved.append(path)

    save_weights = save


def drive(callback, values, key="val_loss"):
    model = FakeModel()
    callback.set_model(model)
    callback.set_params({"epochs": len(values), "steps": 1, "verbose": 0})
    callback.on_train_begin()
    stopped_at = None
    for epoch, value in enumerate(values):
        model.weights = [np.full(2, float(epoch))]
        callback.on_epoch_end(epoch, {key: value})
        if model.stop_training:
            stopped_at = epoch
            break
    callback.on_train_end()
    return model, stopped_at


def test_early_stopping_patience_and_restore(capsys):
    stop = EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    model, stopped = drive(stop, [1.0, 0.5, 0.6, 0.7, 0.4])
    assert stopped == 3 and stop.best == 0.5
    assert model.weights[0][0] == 1.0  # restored from epoch index 1
    assert "Epoch 4: early stopping" in capsys.readouterr().out
    # 'accuracy'-like names are maximised in auto mode.
    _, stopped = drive(
        EarlyStopping(monitor="val_accuracy", patience=1),
        [0.5, 0.6, 0.55],
        key="val_accuracy",
    )
    assert stopped == 2
    with pytest.warns(RuntimeWarning, match="not in the logs"):
        drive(EarlyStopping(monitor="val_auc"), [1.0])
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="best")


def test_model_checkpoint_names_and_messages(capsys, tmp_path):
    path = str(tmp_path / "w.{epoch:02d}-{val_loss:.2f}.h5")
    check = ModelCheckpoint(path, save_best_only=True, verbose=1)
    model, _ = drive(check, [0.0968, 0.1, 0.05])
    assert model.saved == [
        str(tmp_path / "w.01-0.10.h5"),
        str(tmp_path / "w.03-0.05.h5"),
    ]
    out = capsys.readouterr().out
    assert "Epoch 1: val_loss improved from inf to 0.09680, saving model to" in out
    assert "Epoch 2: val_loss did not improve from 0.09680" in out
    with pytest.raises(ValueError, match="'accuracy', which is not in the logs"):
        drive(ModelCheckpoint(str(tmp_path / "{accuracy}.h5")), [1.0])


def test_terminate_on_nan_and_lambda_callback(capsys):
    model, x, y = small_model()
    x = x.copy()
    epochs_seen = []
    model.compile(tf.keras.optimizers.SGD(1e30), "sparse_categorical_crossentropy")
    with pytest.warns(RuntimeWarning):
        history = model.fit(
            x * 1e30,
            y,
            epochs=5,
            batch_size=4,
            verbose=0,
            callbacks=[
                TerminateOnNaN(),
                LambdaCallback(
                    on_epoch_end=lambda epoch, logs: epochs_seen.append(epoch)
                ),
            ],
        )
    assert "Invalid loss, terminating training" in capsys.readouterr().out
    assert len(history.batch_history["loss"]) < 25
    assert epochs_seen == [0]


def test_callbacks_must_be_callbacks():
    model, x, y = small_model()
    with pytest.raises(TypeError, match="callbacks"):
        model.fit(x, y, callbacks=[print], verbose=0)


def test_history_plot(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    history = History()
    history.on_train_begin()
    for epoch, (loss, acc) in enumerate([(1.0, 0.5), (0.5, 0.8)]):
        history.on_epoch_end(
            epoch,
            {"loss": loss, "acc": acc, "val_loss": loss + 0.1, "val_acc": acc - 0.1},
        )
    figure = tinynn.plot.history(history, metrics=["accuracy"])
    loss_ax, acc_ax = figure.axes
    assert list(loss_ax.lines[0].get_ydata()) == [1.0, 0.5]
    assert list(loss_ax.lines[1].get_ydata()) == [1.1, 0.6]
    assert list(acc_ax.lines[0].get_ydata()) == [0.5, 0.8]
    assert acc_ax.get_title() == "acc per epoch"
    assert acc_ax.get_ylabel() == "accuracy (fraction correct)"
    with pytest.raises(ValueError, match="not in the history"):
        tinynn.plot.history(history, metrics=["mae"])
    with pytest.raises(ValueError, match="empty"):
        tinynn.plot.history({})
    curve = tinynn.plot.error_curve([0.5, 0.25, 0.125])
    assert list(curve.axes[0].lines[0].get_ydata()) == [0.5, 0.25, 0.125]
    history.record_batch({"loss": 2.0})
    history.record_batch({"loss": 1.0})
    it = tinynn.plot.iterations(history)
    assert list(it.axes[0].lines[0].get_ydata()) == [2.0, 1.0]
    for drawn in (figure, curve, it):
        assert_readable(drawn)


def assert_readable(figure):
    """What a reader needs on every panel: a title, both axis labels (with
    units), and a legend when there is more than one line."""
    for ax in figure.axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel(), ax
        if len(ax.lines) > 1:
            assert ax.get_legend() is not None, ax.get_title()
