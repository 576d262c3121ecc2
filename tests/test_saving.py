"""save/load (tinynn format and .h5), save_weights/load_weights, atomic writes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import tinynn
import tinynn as tf
from tinynn.keras import layers


@pytest.fixture(autouse=True)
def _fresh_session():
    tinynn.backend.clear_session()
    tinynn.set_floatx("float32")


def make_model(seed=0):
    tinynn.set_seed(seed)
    model = tf.keras.Sequential(
        [
            layers.Flatten(input_shape=(4, 3)),
            layers.Dense(9, activation="relu"),
            layers.Dropout(0.2),
            layers.Dense(5, activation="softmax"),
        ]
    )
    model.compile(
        optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def data(n=64):
    rng = np.random.default_rng(5)
    return rng.normal(size=(n, 4, 3)), rng.integers(0, 5, n)


@pytest.mark.parametrize("suffix", [".tnn", ".keras", ".h5"])
def test_save_load_predicts_identically_and_resumes_exactly(tmp_path, suffix):
    if suffix == ".h5":
        pytest.importorskip("h5py")
    x, y = data()
    model = make_model()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    path = tmp_path / f"model{suffix}"
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )
    assert [layer.name for layer in loaded.layers] == [
        layer.name for layer in model.layers
    ]
    assert loaded.optimizer.iterations == model.optimizer.iterations
    # Resumed training must equal uninterrupted training from the same RNG state.
    tinynn.set_seed(9)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    tinynn.set_seed(9)
    loaded.fit(x, y, epochs=1, batch_size=16, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_save_weights_roundtrip_and_wrong_model(tmp_path):
    model = make_model(1)
    path = tmp_path / "w.weights"
    model.save_weights(path)
    other = make_model(2)
    other.load_weights(path)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    small = tf.keras.Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError, match="expecting 2 weights"):
        small.load_weights(path)


def test_load_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="no file"):
        tinynn.load_model(tmp_path / "missing.tnn")
    foreign = tmp_path / "foreign.tnn"
    foreign.write_bytes(b"<html>not a model</html>")
    with pytest.raises(ValueError, match="not a tinynn model file"):
        tinynn.load_model(foreign)
    model = make_model()
    good = tmp_path / "good.tnn"
    model.save(good)
    truncated = tmp_path / "truncated.tnn"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError):
        tinynn.load_model(truncated)
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(ValueError, match="tinynn.json is missing"):
        tinynn.load_model(other_zip)
    with pytest.raises(TypeError, match="filepath"):
        model.save(123)


def test_pickle_payload_is_never_loaded(tmp_path):
    model = make_model()
    path = tmp_path / "m.tnn"
    model.save(path)
    # Replace a weight with a pickled object array: loading must refuse it.
    import io

    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    buffer = io.BytesIO()
    np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
    members["weights/0.npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    with pytest.raises(ValueError, match="damaged"):
        tinynn.load_model(path)


def test_killed_save_leaves_previous_file_intact(tmp_path):
    model = make_model()
    path = tmp_path / "m.tnn"
    model.save(path)
    before = path.read_bytes()
    script = textwrap.dedent(f"""
        import os, zipfile, tinynn
        from tinynn import saving
        model = tinynn.load_model({str(path)!r})
        original = zipfile.ZipFile.writestr
        def dying(self, name, data, *a, **k):
            original(self, name, data, *a, **k)
            if name.startswith("weights/1"):
                os._exit(3)   # simulate a kill mid-write
        zipfile.ZipFile.writestr = dying
        model.save({str(path)!r})
    """)
    # Run outside the repository so the installed tinynn is imported.
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, cwd=tmp_path
    )
    assert result.returncode == 3, result.stderr.decode()
    assert path.read_bytes() == before
    tinynn.load_model(path)


def test_h5_without_h5py_names_the_extra(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_h5py(name, *args, **kwargs):
        if name == "h5py":
            raise ImportError("no h5py")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_h5py)
    with pytest.raises(ImportError, match=r"pip install h5py"):
        make_model().save(tmp_path / "m.h5")
