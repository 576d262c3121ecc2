"""Shared fixtures: SIMD path and thread-count parametrisation for kernel tests."""

from __future__ import annotations

import pytest

from tinynn import _backend, _core

SIMD_PATHS = sorted(set(_core.available_simd()) | {"portable"})


@pytest.fixture(params=SIMD_PATHS)
def simd(request):
    """Run the test once per SIMD path this CPU has (portable always)."""
    before = _core.simd()
    _core.set_simd(request.param)
    yield request.param
    _core.set_simd(before)


@pytest.fixture(params=[1, 2])
def threads(request):
    """Run the test with 1 and with 2 kernel threads."""
    before = _core.get_num_threads()
    _core.set_num_threads(request.param)
    yield request.param
    _core.set_num_threads(before)


@pytest.fixture
def dense_backward_calls(monkeypatch):
    """Record, for every Dense backward kernel call (with or without the
    optimizer step inside), its kernel's shape and whether dx was asked for."""
    calls = []
    plain, with_step = _backend.dense_backward, _backend.dense_backward_adam

    def spy(x, w, dy, dx, dw, db, **options):
        calls.append((w.shape, dx is not None))
        return plain(x, w, dy, dx, dw, db, **options)

    def spy_with_step(x, w, b, dy, dx, dw, db, step, **options):
        calls.append((w.shape, dx is not None))
        return with_step(x, w, b, dy, dx, dw, db, step, **options)

    monkeypatch.setattr(_backend, "dense_backward", spy)
    monkeypatch.setattr(_backend, "dense_backward_adam", spy_with_step)
    return calls
