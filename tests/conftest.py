"""Shared fixtures: SIMD path and thread-count parametrisation for kernel tests."""

from __future__ import annotations

import pytest

from tinynn import _core

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
