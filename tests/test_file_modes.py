"""Saved files get the permissions open() would give them (0666 & ~umask),
and an overwrite keeps the old file's mode (issue #20: every file was 0600,
so a model saved to a shared folder could not be read by others)."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from tinynn import _files, layers
from tinynn.models import Sequential

WRITERS = [
    ("save", "m.keras"),
    ("save", "m.h5"),
    ("save", "m.tinynn"),
    ("save_weights", "m.weights.h5"),
    ("save_weights", "w.h5"),
    ("save_weights", "w.tinynn"),
]


@pytest.fixture
def model():
    m = Sequential([layers.Dense(2, input_shape=(3,))])
    m.compile("adam", "mse")
    return m


@pytest.fixture
def umask():
    old = os.umask(0o022)
    os.umask(old)

    def set_mask(mask):
        os.umask(mask)

    yield set_mask
    os.umask(old)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("method, name", WRITERS)
@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002, 0o027])
def test_new_file_gets_0666_minus_umask(model, tmp_path, umask, method, name, mask):
    umask(mask)
    getattr(model, method)(tmp_path / name)
    assert _mode(tmp_path / name) == 0o666 & ~mask


@pytest.mark.parametrize("method, name", WRITERS)
@pytest.mark.parametrize("old_mode", [0o644, 0o640, 0o600, 0o664])
def test_overwrite_keeps_the_old_mode(model, tmp_path, umask, method, name, old_mode):
    umask(0o022)
    path = tmp_path / name
    getattr(model, method)(path)
    os.chmod(path, old_mode)
    model.layers[0].set_weights([np.ones((3, 2)), np.zeros(2)])
    getattr(model, method)(path)
    assert _mode(path) == old_mode


def test_umask_is_read_without_changing_it(umask):
    umask(0o027)
    assert _files.current_umask() == 0o027
    assert _files.current_umask() == 0o027
