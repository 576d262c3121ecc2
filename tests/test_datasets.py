"""Dataset loaders: search order, the download path (against a local HTTP
server on 127.0.0.1), checksums, cache repair, IDX validation, sample, toy."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import shutil
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from tinynn.datasets import fashion_mnist, mnist, toy
from tinynn.datasets import _idx

SHARED_MNIST = (
    Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "mnist"
)
OFFICIAL_MD5 = {  # of the decompressed files (../shared/datasets/mnist/README.md)
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


def mnist_folder() -> Path:
    env = os.environ.get("TINYNN_DATASETS")
    folder = Path(env) / "mnist" if env else SHARED_MNIST
    if not folder.is_dir():
        pytest.skip(
            "full MNIST not found: set TINYNN_DATASETS to the folder holding mnist/"
        )
    return folder


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """A fresh HOME (so ~/.tinynn is empty), no dataset environment, and a
    current folder with no ../shared/datasets beside it."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "work" / "here").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "work" / "here")
    monkeypatch.delenv("TINYNN_DATASETS", raising=False)
    monkeypatch.delenv("TINYNN_DATASETS_URL", raising=False)
    return tmp_path


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving a folder; yields (folder, base URL)."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_full_mnist_from_environment(monkeypatch):
    folder = mnist_folder()
    monkeypatch.setenv("TINYNN_DATASETS", str(folder.parent))
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert x_train.max() == 255 and y_train.max() == 9
    assert np.bincount(y_test).tolist()[:2] == [980, 1135]  # MNIST's test class sizes


def test_shared_files_are_the_official_bytes():
    folder = mnist_folder()
    for stem, md5 in OFFICIAL_MD5.items():
        data = gzip.decompress((folder / f"{stem}.gz").read_bytes())
        assert hashlib.md5(data).hexdigest() == md5


def test_download_verifies_and_caches(isolated, server, monkeypatch, capsys):
    served, url = server
    for stem in OFFICIAL_MD5:
        shutil.copy(mnist_folder() / f"{stem}.gz", served)
    monkeypatch.setenv("TINYNN_DATASETS_URL", url)
    (x_train, _), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and len(y_test) == 10000
    assert capsys.readouterr().out.count(f"Downloading data from {url}") == 4
    cache = isolated / "home" / ".tinynn" / "datasets" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        f"{s}.gz" for s in OFFICIAL_MD5
    )
    # A damaged cached file is detected and fetched again, not used.
    (cache / "t10k-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    _, (_, again) = mnist.load_data()
    np.testing.assert_array_equal(again, y_test)
    assert "Downloading" in capsys.readouterr().out


def test_corrupt_download_is_rejected_and_not_cached(isolated, server, monkeypatch):
    served, url = server
    for stem in OFFICIAL_MD5:
        (served / f"{stem}.gz").write_bytes(
            gzip.compress(b"\x00\x00\x08\x01" + b"\x00" * 8)
        )
    monkeypatch.setenv("TINYNN_DATASETS_URL", url)
    with pytest.raises(ValueError, match="fails its checksum"):
        mnist.load_data()
    cache = isolated / "home" / ".tinynn" / "datasets" / "mnist"
    assert not cache.exists() or not any(cache.glob("*.gz"))


def test_offline_error_says_where_to_put_files(isolated, monkeypatch):
    monkeypatch.setenv("TINYNN_DATASETS_URL", "http://127.0.0.1:9/")  # nothing listens
    with pytest.raises(FileNotFoundError) as info:
        mnist.load_data()
    message = str(info.value)
    assert "http://127.0.0.1:9/" in message
    assert str(isolated / "home" / ".tinynn" / "datasets" / "mnist") in message
    assert "TINYNN_DATASETS" in message


def test_path_argument_is_used_alone(isolated, tmp_path):
    with pytest.raises(FileNotFoundError, match="lacks"):
        mnist.load_data(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        mnist.load_data(tmp_path / "nope")
    with pytest.raises(TypeError, match="path"):
        mnist.load_data(42)
    (x, y), (xt, yt) = mnist.load_data(mnist_folder())
    npz = tmp_path / "mnist.npz"
    np.savez(npz, x_train=x[:10], y_train=y[:10], x_test=xt[:5], y_test=yt[:5])
    (x2, _), (xt2, _) = mnist.load_data(npz)
    np.testing.assert_array_equal(x2, x[:10])
    assert xt2.shape == (5, 28, 28)


def idx_bytes(magic, dims, payload):
    return struct.pack(">I", magic) + struct.pack(f">{len(dims)}I", *dims) + payload


@pytest.mark.parametrize(
    "data,pattern",
    [
        (b"", "too short"),
        (b"<html><body>404</body></html>", "wrong magic number"),
        (idx_bytes(0x00000803, (2, 2, 2), b"\x00" * 7), "payload has 7 bytes"),
        (idx_bytes(0x00000801, (3,), b"\x00" * 3), "wrong magic number 0x00000801"),
    ],
)
def test_idx_errors(tmp_path, data, pattern):
    path = tmp_path / "f"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=pattern):
        _idx.read(path, _idx.IMAGES_MAGIC)


def test_idx_raw_and_gzip_agree_and_damaged_gzip_is_reported(tmp_path):
    raw = idx_bytes(0x00000803, (2, 2, 3), bytes(range(12)))
    (tmp_path / "raw").write_bytes(raw)
    (tmp_path / "gz").write_bytes(gzip.compress(raw))
    a = _idx.read(tmp_path / "raw", _idx.IMAGES_MAGIC)
    b = _idx.read(tmp_path / "gz", _idx.IMAGES_MAGIC)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (2, 2, 3) and a[1, 1, 2] == 11
    (tmp_path / "bad").write_bytes(gzip.compress(raw)[:-6])
    with pytest.raises(ValueError, match="damaged gzip"):
        _idx.read(tmp_path / "bad", _idx.IMAGES_MAGIC)


def test_mismatched_image_and_label_counts(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    images = idx_bytes(0x00000803, (3, 28, 28), b"\x00" * 3 * 784)
    for stem in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"):
        (folder / stem).write_bytes(images)
    for stem in ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"):
        (folder / stem).write_bytes(idx_bytes(0x00000801, (2,), b"\x01\x02"))
    with pytest.raises(ValueError, match="3 samples but the labels 2"):
        mnist.load_data(folder)


def test_bundled_sample():
    (x, y), (xt, yt) = mnist.load_sample()
    assert x.shape == (6000, 28, 28) and xt.shape == (1000, 28, 28)
    assert x.dtype == np.uint8 and set(np.unique(y)) == set(range(10))
    folder = mnist_folder()
    (full_x, full_y), _ = mnist.load_data(folder)
    np.testing.assert_array_equal(x, full_x[:6000])
    np.testing.assert_array_equal(y, full_y[:6000])


def test_data_or_sample_never_downloads(isolated, monkeypatch):
    monkeypatch.setenv("TINYNN_DATASETS_URL", "http://127.0.0.1:9/")
    data, is_sample = mnist.load_data_or_sample()
    assert is_sample and data[0][0].shape == (6000, 28, 28)


def test_toy_data_is_the_articles():
    inputs, outputs = toy.load_data()
    assert inputs.tolist() == [
        [0, 1, 0],
        [0, 1, 1],
        [0, 0, 0],
        [1, 0, 0],
        [1, 1, 1],
        [1, 0, 1],
    ]
    assert outputs.ravel().tolist() == [0, 0, 0, 1, 1, 1]


def test_fashion_mnist_from_debian_package(isolated):
    if not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    (x, y), (xt, yt) = fashion_mnist.load_data()
    assert x.shape == (60000, 28, 28) and yt.shape == (10000,)
    assert y.max() == 9 and fashion_mnist.CLASS_NAMES[9] == "Ankle boot"
