"""One dataset lookup order for load_data, the main job and the notebooks;
the download command; messages naming each folder read and why it was
rejected; the main command's newcomer papercuts (issue #20)."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tinynn.datasets import mnist

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_datasets import OFFICIAL_MD5, mnist_folder, server  # noqa: E402,F401
from test_main_command import run_main, small_mnist  # noqa: E402


@pytest.fixture
def user(tmp_path):
    """(a clone folder to run in, an empty HOME), as in test_main_command."""
    clone, home = tmp_path / "clone", tmp_path / "home"
    clone.mkdir()
    home.mkdir()
    return clone, home


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Fresh HOME, no dataset variables, and a work folder `clone` whose
    parent has no shared/ yet (the current folder)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TINYNN_DATASETS", raising=False)
    monkeypatch.setenv("TINYNN_DATASETS_URL", "http://127.0.0.1:9/")  # offline
    clone = tmp_path / "clone"
    (clone / "notebooks").mkdir(parents=True)
    monkeypatch.chdir(clone)
    return tmp_path


def _damaged(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for stem in OFFICIAL_MD5:
        (folder / f"{stem}.gz").write_bytes(b"not gzip")
    return folder


def test_load_data_finds_shared_datasets_beside_the_clone(isolated):
    small_mnist(isolated / "shared" / "datasets" / "mnist")
    (x_train, _), _ = mnist.load_data()
    assert len(x_train) == 300


def test_notebooks_folder_finds_the_same_data(isolated, monkeypatch):
    small_mnist(isolated / "shared" / "datasets" / "mnist")
    monkeypatch.chdir(isolated / "clone" / "notebooks")
    (x_train, _), _ = mnist.load_data()
    assert len(x_train) == 300


def test_damaged_first_folder_does_not_hide_a_good_later_one(isolated, monkeypatch):
    bad = _damaged(isolated / "env" / "mnist")
    monkeypatch.setenv("TINYNN_DATASETS", str(isolated / "env"))
    good = small_mnist(isolated / "shared" / "datasets" / "mnist")
    (x_train, _), _ = mnist.load_data()
    assert len(x_train) == 300
    _, folder, passed = mnist.search_data()
    assert folder == good
    assert passed[0][0] == bad and passed[0][1].startswith("is damaged")


def test_error_names_every_folder_and_why(isolated, monkeypatch):
    bad = _damaged(isolated / "env" / "mnist")
    monkeypatch.setenv("TINYNN_DATASETS", str(isolated / "env"))
    partial = isolated / "shared" / "datasets" / "mnist"
    partial.mkdir(parents=True)
    (partial / "train-images-idx3-ubyte.gz").write_bytes(b"x")
    with pytest.raises((ValueError, FileNotFoundError)) as info:
        mnist.load_data()
    message = str(info.value)
    assert f"{bad} is damaged" in message
    assert f"{partial} lacks train-labels-idx1-ubyte" in message
    home_cache = isolated / "home" / ".tinynn" / "datasets" / "mnist"
    assert f"{home_cache} does not exist" in message
    assert "download failed" in message


def test_keras_cache_name_is_accepted(isolated, monkeypatch):
    small_mnist(isolated / "shared" / "datasets" / "mnist")
    (x_train, _), _ = mnist.load_data(path="mnist.npz")
    assert len(x_train) == 300
    keras_cache = isolated / "home" / ".keras" / "datasets"
    keras_cache.mkdir(parents=True)
    np.savez(
        keras_cache / "mnist.npz",
        x_train=np.zeros((5, 28, 28), np.uint8),
        y_train=np.zeros(5, np.uint8),
        x_test=np.zeros((2, 28, 28), np.uint8),
        y_test=np.zeros(2, np.uint8),
    )
    (x_train, _), _ = mnist.load_data(path="mnist.npz")
    assert len(x_train) == 5


def test_main_job_and_load_data_agree(user):
    clone, home = user
    folder = small_mnist(clone.parent / "shared" / "datasets" / "mnist")
    _damaged(clone.parent / "env" / "mnist")
    result = run_main(
        ["--epochs", "1", "--verbose", "0", "--plot", ""],
        clone,
        home,
        TINYNN_DATASETS=str(clone.parent / "env"),
    )
    assert result.returncode == 0, result.stderr
    assert f"tinynn: MNIST from {folder}" in result.stdout
    assert f"skipped {clone.parent / 'env' / 'mnist'}: it is damaged" in result.stdout


# ---- download command ------------------------------------------------------------------
def test_download_command_fetches_and_verifies(user, server, tmp_path):  # noqa: F811
    clone, home = user
    served, url = server
    for stem in OFFICIAL_MD5:
        shutil.copy(mnist_folder() / f"{stem}.gz", served)
    result = run_main(["download"], clone, home, TINYNN_DATASETS_URL=url)
    assert result.returncode == 0, result.stderr
    cache = home / ".tinynn" / "datasets" / "mnist"
    assert "60000 train / 10000 test images verified in" in result.stdout
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        f"{s}.gz" for s in OFFICIAL_MD5
    )
    for path in cache.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) & 0o044 == 0o044  # not 0600
    # afterwards the main job finds it offline
    again = run_main(
        ["--epochs", "1", "--verbose", "0", "--plot", "", "--help"], clone, home
    )
    assert again.returncode == 0


def test_download_command_rejects_bad_files(user, server):  # noqa: F811
    clone, home = user
    served, url = server
    for stem in OFFICIAL_MD5:
        (served / f"{stem}.gz").write_bytes(b"garbage")
    result = run_main(["download", "mnist"], clone, home, TINYNN_DATASETS_URL=url)
    assert result.returncode == 1
    assert "checksum" in result.stderr and "Traceback" not in result.stderr


# ---- main command papercuts ------------------------------------------------------------
def test_too_many_threads_is_a_usage_error(user):
    clone, home = user
    small = small_mnist(clone / "small")
    result = run_main(["--threads", "5000", "--data", str(small)], clone, home)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--threads 5000" in result.stderr


def test_bad_epochs_variable_is_blamed_on_the_variable(user):
    clone, home = user
    result = run_main(["--sample"], clone, home, TINYNN_EPOCHS="abc")
    assert result.returncode == 2
    assert "TINYNN_EPOCHS='abc'" in result.stderr
    assert "argument --epochs" not in result.stderr


def test_ctrl_c_prints_one_line_and_plots_finished_epochs(user):
    clone, home = user
    small = small_mnist(clone / "small", train=300, test=100)
    environment = {k: v for k, v in os.environ.items() if k != "TINYNN_DATASETS"}
    environment.update(HOME=str(home), MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    errors = open(clone / "stderr.txt", "w+")  # a file: no pipe to fill
    process = subprocess.Popen(
        [sys.executable, "-m", "tinynn", "--data", str(small), "--epochs", "100000"]
        + ["--verbose", "2", "--plot", "h.png"],
        cwd=clone,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
        # a shell's background job starts with SIGINT ignored, and Python then
        # installs no KeyboardInterrupt handler: give the child the default
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 300
    lines = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if line.startswith("Epoch 3/"):
            break
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=300)
    errors.seek(0)
    err = errors.read()
    errors.close()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    interrupted = [x for x in out.splitlines() if "interrupted" in x]
    assert len(interrupted) == 1 and "h.png" in interrupted[0]
    assert (clone / "h.png").stat().st_size > 0
