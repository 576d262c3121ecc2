"""imdb, reuters, cifar10, cifar100 and boston_housing loaders on small
files made here in the real formats: Keras's shapes, dtypes, shuffles and
id rules (tf_keras's own loaders on the same files as an oracle when it is
installed), object arrays read without unpickling arbitrary objects, and
CIFAR from the binary archives."""

from __future__ import annotations

import io
import json
import os
import tarfile

import numpy as np
import pytest

import tinynn as tf
from tinynn.datasets import boston_housing, cifar10, cifar100, imdb, reuters


def _sequences(rng, n, vocab=40):
    return [
        list(map(int, rng.integers(1, vocab, rng.integers(1, 12)))) for _ in range(n)
    ]


def _objects(seqs):
    out = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        out[i] = s
    return out


@pytest.fixture
def imdb_file(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "imdb.npz"
    np.savez(
        path,
        x_train=_objects(_sequences(rng, 30)),
        y_train=rng.integers(0, 2, 30),
        x_test=_objects(_sequences(rng, 20)),
        y_test=rng.integers(0, 2, 20),
    )
    return path


@pytest.fixture
def reuters_file(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "reuters.npz"
    np.savez(path, x=_objects(_sequences(rng, 40)), y=rng.integers(0, 46, 40))
    return path


def test_keras_names():
    assert tf.keras.datasets.imdb is imdb and tf.keras.datasets.cifar10 is cifar10
    assert len(reuters.get_label_names()) == 46


def test_imdb_ids_follow_keras_rules(imdb_file):
    (x_train, y_train), (x_test, y_test) = imdb.load_data(path=imdb_file)
    assert x_train.dtype == object and x_train.shape == (30,) and len(y_test) == 20
    assert all(s[0] == 1 for s in x_train)  # start_char
    # index_from shifts ids by 3; Keras maps the largest id itself to oov_char 2
    assert all(w >= 1 + 3 or w == 2 for s in x_train for w in s[1:])
    (x_small, _), _ = imdb.load_data(path=imdb_file, num_words=10, skip_top=5)
    assert all(w == 2 or 5 <= w < 10 for s in x_small for w in s)
    (x_short, _), _ = imdb.load_data(path=imdb_file, maxlen=6)
    assert all(len(s) < 6 for s in x_short)
    with pytest.raises(ValueError, match="Increase maxlen"):
        imdb.load_data(path=imdb_file, maxlen=1)
    with pytest.raises(TypeError, match="Unrecognized keyword"):
        imdb.load_data(path=imdb_file, nb_words=3)


def test_object_arrays_are_read_without_running_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / "imdb.npz"
    np.savez(
        path,
        x_train=np.array([Evil(), Evil()], dtype=object),
        y_train=np.zeros(2),
        x_test=_objects([[1]]),
        y_test=np.zeros(1),
    )
    with pytest.raises(ValueError, match="refusing to load"):
        imdb.load_data(path=path)
    np.savez(
        path,
        x_train=_objects([[1, "a"]]),
        y_train=np.zeros(1),
        x_test=_objects([[1]]),
        y_test=np.zeros(1),
    )
    with pytest.raises(ValueError, match="not a list of integers"):
        imdb.load_data(path=path)


def test_reuters_split_and_word_index(reuters_file, tmp_path):
    (x_train, y_train), (x_test, y_test) = reuters.load_data(path=reuters_file)
    assert len(x_train) == 32 and len(x_test) == 8
    index = tmp_path / "reuters_word_index.json"
    index.write_text(json.dumps({"the": 1, "of": 2}))
    assert reuters.get_word_index(path=index) == {"the": 1, "of": 2}


def test_boston_housing(tmp_path):
    rng = np.random.default_rng(2)
    path = tmp_path / "boston_housing.npz"
    x, y = rng.random((50, 13)), rng.random(50)
    np.savez(path, x=x, y=y)
    (x_train, y_train), (x_test, y_test) = boston_housing.load_data(path=path)
    assert x_train.shape == (40, 13) and x_test.shape == (10, 13)
    order = np.arange(50)
    np.random.RandomState(113).shuffle(order)
    np.testing.assert_array_equal(x_train, x[order][:40])
    np.testing.assert_array_equal(y_test, y[order][40:])


def _cifar_archive(path, folder, files, label_bytes):
    rng = np.random.default_rng(3)
    records = {}
    with tarfile.open(path, "w:gz") as tar:
        for name, n in files:
            labels = rng.integers(0, 100, (n, label_bytes)).astype(np.uint8)
            images = rng.integers(0, 256, (n, 3, 32, 32)).astype(np.uint8)
            raw = np.concatenate([labels, images.reshape(n, -1)], axis=1).tobytes()
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
            records[name] = (images.transpose(0, 2, 3, 1), labels)
    return records


def test_cifar10_from_the_binary_archive(tmp_path):
    path = tmp_path / "cifar-10-binary.tar.gz"
    files = [(f"data_batch_{i}.bin", 3) for i in range(1, 6)] + [("test_batch.bin", 2)]
    records = _cifar_archive(path, "cifar-10-batches-bin", files, 1)
    (x_train, y_train), (x_test, y_test) = cifar10.load_data(path=path)
    assert x_train.shape == (15, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (15, 1) and y_train.dtype == np.uint8
    np.testing.assert_array_equal(x_train[3:6], records["data_batch_2.bin"][0])
    np.testing.assert_array_equal(y_test, records["test_batch.bin"][1])
    # channel 0 of the stored record is red: pixel (0, 0) red is the record's byte 1
    assert x_test[0, 0, 0, 0] == records["test_batch.bin"][0][0, 0, 0, 0]


def test_cifar100_label_modes(tmp_path):
    path = tmp_path / "cifar-100-binary.tar.gz"
    records = _cifar_archive(
        path, "cifar-100-binary", [("train.bin", 4), ("test.bin", 2)], 2
    )
    (_, fine), _ = cifar100.load_data(path=path)
    (_, coarse), (x_test, _) = cifar100.load_data("coarse", path=path)
    np.testing.assert_array_equal(fine[:, 0], records["train.bin"][1][:, 1])
    np.testing.assert_array_equal(coarse[:, 0], records["train.bin"][1][:, 0])
    assert x_test.shape == (2, 32, 32, 3)
    with pytest.raises(ValueError, match="label_mode"):
        cifar100.load_data("medium", path=path)


def test_a_pickled_cifar_archive_is_refused(tmp_path):
    path = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(ValueError, match="binary version"):
        cifar10.load_data(path=path)


# ---- tf_keras's loaders on the same files (skipped without it) -------------------------
def _keras_module(name, monkeypatch, path):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    pytest.importorskip("tf_keras")
    import importlib

    module = importlib.import_module(f"tf_keras.src.datasets.{name}")
    monkeypatch.setattr(module, "get_file", lambda *a, **k: str(path))
    return module


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"num_words": 10, "skip_top": 4},
        {"maxlen": 8, "seed": 5},
        {"start_char": None, "index_from": 2, "oov_char": None, "num_words": 20},
    ],
)
def test_imdb_and_reuters_match_keras(imdb_file, reuters_file, monkeypatch, kwargs):
    keras_imdb = _keras_module("imdb", monkeypatch, imdb_file)
    ours, theirs = (
        imdb.load_data(path=imdb_file, **kwargs),
        keras_imdb.load_data(**kwargs),
    )
    for (xa, ya), (xb, yb) in zip(ours, theirs):
        assert [list(s) for s in xa] == [list(s) for s in xb]
        np.testing.assert_array_equal(ya, yb)
    keras_reuters = _keras_module("reuters", monkeypatch, reuters_file)
    ours = reuters.load_data(path=reuters_file, **kwargs)
    theirs = keras_reuters.load_data(**kwargs)
    for (xa, ya), (xb, yb) in zip(ours, theirs):
        assert [list(s) for s in xa] == [list(s) for s in xb]
        np.testing.assert_array_equal(ya, yb)
