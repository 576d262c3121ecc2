"""The main command's interface: argument errors before any training, the help
text, and where it looks for MNIST (run as a user would: a child process in a
folder of its own, HOME and TINYNN_DATASETS controlled)."""

from __future__ import annotations

import gzip
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinynn.datasets import mnist

IDX_MAGIC = {3: 0x00000803, 1: 0x00000801}  # uint8 images (3-D), labels (1-D)


def write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">I", IDX_MAGIC[array.ndim])
    header += b"".join(struct.pack(">I", n) for n in array.shape)
    with gzip.open(path, "wb") as file:
        file.write(header + np.ascontiguousarray(array, np.uint8).tobytes())


def small_mnist(folder: Path, train: int = 300, test: int = 100) -> Path:
    """Four IDX files (a slice of the bundled sample) in `folder`."""
    (x_train, y_train), (x_test, y_test) = mnist.load_sample()
    folder.mkdir(parents=True)
    write_idx(folder / "train-images-idx3-ubyte.gz", x_train[:train])
    write_idx(folder / "train-labels-idx1-ubyte.gz", y_train[:train])
    write_idx(folder / "t10k-images-idx3-ubyte.gz", x_test[:test])
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", y_test[:test])
    return folder


def run_main(args, cwd: Path, home: Path, **env):
    environment = {k: v for k, v in os.environ.items() if k != "TINYNN_DATASETS"}
    environment.update(HOME=str(home), MPLBACKEND="Agg", **env)
    return subprocess.run(
        [sys.executable, "-m", "tinynn", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture
def user(tmp_path):
    """(a clone folder to run in, an empty HOME)."""
    clone, home = tmp_path / "clone", tmp_path / "home"
    clone.mkdir()
    home.mkdir()
    return clone, home


@pytest.mark.parametrize(
    "args, message",
    [
        (["--threads", "0"], "argument --threads: must be at least 1, got 0"),
        (["--threads", "two"], "argument --threads: expected a whole number"),
        (["--epochs", "0"], "argument --epochs: must be at least 1"),
        (["--batch-size", "-4"], "argument --batch-size: must be at least 1"),
        (["--plot", "/no/such/dir/h.png"], "folder /no/such/dir does not exist"),
        (["--plot", "."], "is a folder"),
        (["--plot", "history.xyz"], "cannot write .xyz files"),
        (["--data", "/no/such/dir"], "--data /no/such/dir: the four MNIST files"),
    ],
)
def test_bad_arguments_are_usage_errors_before_training(user, args, message):
    clone, home = user
    result = run_main(args, clone, home)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert message in result.stderr
    assert "Model:" not in result.stdout  # nothing was built or trained


def test_help_is_plain_text_and_names_the_command_used(user):
    clone, home = user
    result = run_main(["--help"], clone, home)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: python -m tinynn ")
    assert "``" not in result.stdout
    assert "--data DIR" in result.stdout and "../shared/datasets" in result.stdout
    script = Path(sys.executable).with_name("tinynn")
    if not script.exists():
        pytest.skip("the tinynn console script is not installed beside this Python")
    result = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout.startswith("usage: tinynn ")


def test_finds_mnist_in_shared_datasets_beside_the_clone(user):
    clone, home = user
    folder = small_mnist(clone.parent / "shared" / "datasets" / "mnist")
    result = run_main(["--epochs", "1", "--verbose", "0", "--plot", ""], clone, home)
    assert result.returncode == 0, result.stderr
    assert f"tinynn: MNIST from {folder}" in result.stdout
    assert "bundled sample" not in result.stdout


def test_data_option_overrides_the_search(user, tmp_path):
    clone, home = user
    small_mnist(clone.parent / "shared" / "datasets" / "mnist")
    mine = small_mnist(tmp_path / "mine" / "mnist", train=200, test=50)
    for given in (mine, mine.parent):  # the files' folder, or a folder holding mnist/
        result = run_main(
            ["--data", str(given), "--epochs", "1", "--verbose", "0", "--plot", ""],
            clone,
            home,
        )
        assert result.returncode == 0, result.stderr
        assert f"tinynn: MNIST from {mine}" in result.stdout


def test_fallback_to_the_sample_says_where_it_looked(user):
    clone, home = user
    result = run_main(["--epochs", "1", "--verbose", "0", "--plot", ""], clone, home)
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if "bundled sample" in x)
    assert str(clone.parent / "shared" / "datasets" / "mnist") in line
    assert str(home / ".tinynn" / "datasets" / "mnist") in line
    assert "TINYNN_DATASETS is not set" in line and "--data DIR" in line


def test_epochs_default_comes_from_the_environment(user, tmp_path):
    clone, home = user
    small = small_mnist(tmp_path / "small")  # 300 digits: quick even on a busy machine
    result = run_main(
        ["--data", str(small), "--verbose", "2", "--plot", ""],
        clone,
        home,
        TINYNN_EPOCHS="2",
    )
    assert result.returncode == 0, result.stderr
    assert "median of 2)" in result.stdout
    result = run_main(["--sample"], clone, home, TINYNN_EPOCHS="0")
    assert (
        result.returncode == 2
        and "TINYNN_EPOCHS='0': must be at least 1" in result.stderr
    )
