"""evaluate and predict call their callbacks' hooks, as Keras does; fit's
validation calls the on_test_* hooks."""

from __future__ import annotations

import numpy as np

import tinynn as tf


class Recorder(tf.keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def _record(self, name, *args):
        self.calls.append((name, *args))


for _hook in (
    "on_test_begin",
    "on_test_end",
    "on_predict_begin",
    "on_predict_end",
):
    setattr(
        Recorder,
        _hook,
        lambda self, logs=None, _h=_hook: self._record(_h, dict(logs or {})),
    )
for _hook in (
    "on_test_batch_begin",
    "on_test_batch_end",
    "on_predict_batch_begin",
    "on_predict_batch_end",
):
    setattr(
        Recorder,
        _hook,
        lambda self, batch, logs=None, _h=_hook: self._record(_h, batch, logs),
    )


def model_and_data():
    tf.set_seed(0)
    model = tf.keras.Sequential(
        [tf.keras.layers.Dense(3, activation="softmax", input_shape=(4,))]
    )
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    r = np.random.default_rng(0)
    return model, r.random((10, 4)).astype(np.float32), r.integers(0, 3, 10)


def test_evaluate_calls_the_test_hooks():
    model, x, y = model_and_data()
    recorder = Recorder()
    loss, accuracy = model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[recorder])
    names = [call[0] for call in recorder.calls]
    assert names == ["on_test_begin"] + [
        "on_test_batch_begin",
        "on_test_batch_end",
    ] * 3 + ["on_test_end"]
    assert [call[1] for call in recorder.calls[1:-1]] == [0, 0, 1, 1, 2, 2]
    final = recorder.calls[-1][1]
    assert final["loss"] == loss and final["accuracy"] == accuracy
    assert recorder.model is model


def test_predict_calls_the_predict_hooks_with_each_batch_outputs():
    model, x, _ = model_and_data()
    recorder = Recorder()
    probs = model.predict(x, batch_size=4, verbose=0, callbacks=recorder)
    names = [call[0] for call in recorder.calls]
    assert names == ["on_predict_begin"] + [
        "on_predict_batch_begin",
        "on_predict_batch_end",
    ] * 3 + ["on_predict_end"]
    ends = [call for call in recorder.calls if call[0] == "on_predict_batch_end"]
    np.testing.assert_array_equal(
        np.concatenate([call[2]["outputs"] for call in ends]), probs
    )


def test_fit_validation_calls_the_test_hooks_once_per_epoch():
    model, x, y = model_and_data()
    recorder = Recorder()
    model.fit(
        x,
        y,
        epochs=2,
        batch_size=5,
        validation_data=(x, y),
        verbose=0,
        callbacks=[recorder],
    )
    names = [call[0] for call in recorder.calls]
    assert names.count("on_test_begin") == 2 and names.count("on_test_end") == 2
    assert names.count("on_test_batch_end") == 2 * 2  # 10 samples, batch 5
