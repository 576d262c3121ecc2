"""Tests that kill the five mutants issue #20 found surviving the fast suite,
and ReduceLROnPlateau's min_lr comparison (one precision, stops at min_lr)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import tinynn as tf
from tinynn import callbacks, layers, optimizers
from tinynn.models import Sequential


def _python(code: str, **env: str) -> str:
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TINYNN_SIMD", "TINYNN_NUM_THREADS")
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=environment,
    ).stdout.strip()


# ---- mutant: TINYNN_NUM_THREADS=1 rejected -----------------------------------------
@pytest.mark.parametrize("value", ["1", "2", "3"])
def test_num_threads_variable_is_honoured_down_to_one(value):
    out = _python(
        "import warnings; warnings.simplefilter('error');"
        "import tinynn; print(tinynn.get_num_threads())",
        TINYNN_NUM_THREADS=value,
    )
    assert out == value


# ---- mutant: default SIMD path not the widest -------------------------------------------
def test_default_simd_path_is_the_widest_usable():
    out = _python(
        "import json, tinynn._core as c;"
        "print(json.dumps([c.simd(), list(c.available_simd())]))"
    )
    active, available = json.loads(out)
    assert active == available[-1], (active, available)


# ---- mutant: ReduceLROnPlateau cooldown never starting ----------------------------------
def _plateau_rates(**kwargs):
    model = Sequential([layers.Dense(1, input_shape=(2,))])
    model.compile(optimizers.SGD(learning_rate=1.0), "mse")
    callback = callbacks.ReduceLROnPlateau(monitor="val_loss", **kwargs)
    callback.set_model(model)
    callback.on_train_begin({})
    logged = []
    for epoch in range(7):
        logs = {"val_loss": 1.0}  # never improves after the first epoch
        callback.on_epoch_end(epoch, logs)
        logged.append(logs["lr"])
    return logged, float(model.optimizer.learning_rate)


def test_plateau_cooldown_pauses_the_reductions():
    logged, final = _plateau_rates(factor=0.5, patience=1, cooldown=2)
    # epoch 1 reduces, epochs 2-3 cool down (the counter runs out at 3,
    # where the wait starts again), 3 reduces, then 5 (Keras 2's order).
    assert logged == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125]
    assert final == 0.125


def test_plateau_without_cooldown_reduces_every_patience():
    logged, _ = _plateau_rates(factor=0.5, patience=1)
    assert logged == [1.0, 1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125]


def test_plateau_stops_at_min_lr_in_one_precision(capsys):
    # 1e-4 in float64 is above float32(1e-4): the old comparison kept
    # "reducing" to the same rate and printing it every epoch.
    logged, final = _plateau_rates(factor=0.1, patience=1, min_lr=1e-4, verbose=1)
    assert final == pytest.approx(1e-4)
    printed = capsys.readouterr().out.count("reducing learning rate")
    reductions = sum(1 for a, b in zip(logged, logged[1:]) if b < a) + (
        final < logged[-1]
    )
    assert printed == reductions == 4  # 1 -> 0.1 -> 0.01 -> 1e-3 -> 1e-4, then none


# ---- mutant: .h5 save ignoring include_optimizer=False --------------------------------
def test_h5_save_without_optimizer_writes_no_state(tmp_path):
    h5py = pytest.importorskip("h5py")
    model = Sequential([layers.Dense(2, input_shape=(3,))])
    model.compile("adam", "mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    model.save(tmp_path / "with.h5")
    model.save(tmp_path / "without.h5", include_optimizer=False)
    with h5py.File(tmp_path / "with.h5") as root:
        assert "optimizer_weights" in root
    with h5py.File(tmp_path / "without.h5") as root:
        assert "optimizer_weights" not in root
    loaded = tf.keras.models.load_model(tmp_path / "without.h5")
    assert loaded.optimizer.iterations == 0
    assert tf.keras.models.load_model(tmp_path / "with.h5").optimizer.iterations == 1


# ---- mutant: native reader ignoring fortran_order ------------------------------------------
def test_native_reader_honours_fortran_order(tmp_path):
    model = Sequential([layers.Dense(3, input_shape=(2,))])
    kernel = np.arange(6, dtype=np.float32).reshape(2, 3)
    model.layers[0].set_weights([kernel, np.zeros(3, np.float32)])
    path = tmp_path / "m.tinynn"
    model.save(path)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asfortranarray(kernel), allow_pickle=False)
    assert b"'fortran_order': True" in buffer.getvalue()[:128]
    out = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(
                info.filename,
                buffer.getvalue() if info.filename == "weights/0.npy" else data,
            )
    path.write_bytes(out.getvalue())
    loaded = tf.keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.layers[0].get_weights()[0], kernel)
