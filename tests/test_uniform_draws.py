"""Dropout's uniform draws in C: NumPy's PCG64 stream, bit for bit.

_core.uniform_pcg64 (through _backend.uniform_fill) must give exactly what
numpy.random.Generator(PCG64).random(n, dtype) gives, and leave the bit
generator's state exactly where that call leaves it, so seeded runs keep
their masks: float32 and float64, with and without a buffered 32-bit half,
sizes around the chunk and lane boundaries, 1 to 4 threads; other bit
generators and strided outputs draw through NumPy.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinynn as tf
import reference as ref
from tinynn import _backend, _core

# 0 and 1, odd and even, around 4 lanes, and around 8192-output chunks
# (16384 float32 values, 8192 float64 values) and several of them
SIZES = [
    0,
    1,
    2,
    3,
    7,
    8,
    9,
    31,
    4097,
    8191,
    8192,
    8193,
    16383,
    16384,
    16385,
    16386,
    32769,
    204800,
    300001,
]


def pair(seed, odd_start):
    """Two generators in the same state; odd_start: a float32 draw made so
    that a 32-bit half is buffered."""
    generators = [np.random.default_rng(seed) for _ in range(2)]
    for g in generators:
        g.random(5 if odd_start else 4, dtype=np.float32)
    return generators


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("odd_start", [False, True])
@pytest.mark.parametrize("size", SIZES)
def test_draws_and_state_are_numpys(size, odd_start, dtype, threads):
    mine, numpys = pair(size + 3, odd_start)
    assert mine.bit_generator.state["has_uint32"] == int(odd_start)
    got = np.full(size, np.nan, dtype)
    _backend.uniform_fill(mine, got)
    want = numpys.random(size, dtype=dtype)
    assert got.tobytes() == want.tobytes()
    assert mine.bit_generator.state == numpys.bit_generator.state
    # and the streams go on together
    assert mine.random(3).tobytes() == numpys.random(3).tobytes()
    assert (
        mine.random(3, dtype=np.float32).tobytes()
        == numpys.random(3, dtype=np.float32).tobytes()
    )


def test_bit_identical_for_any_thread_count():
    results, before = [], tf.get_num_threads()
    try:
        for n in (1, 2, 3, 4):
            tf.set_num_threads(n)
            out = np.empty((129, 1601), np.float32)
            _backend.uniform_fill(np.random.default_rng(9), out)
            results.append(out.tobytes())
    finally:
        tf.set_num_threads(before)
    assert len(set(results)) == 1


def test_any_shape_fills_in_c_order():
    mine, numpys = pair(4, True)
    got = np.empty((3, 5, 7), np.float32)
    _backend.uniform_fill(mine, got)
    assert got.tobytes() == numpys.random((3, 5, 7), dtype=np.float32).tobytes()


@pytest.mark.parametrize("bits", [np.random.Philox, np.random.MT19937, np.random.SFC64])
def test_other_bit_generators_draw_through_numpy(bits):
    mine, numpys = np.random.Generator(bits(3)), np.random.Generator(bits(3))
    got = np.empty(1001, np.float32)
    _backend.uniform_fill(mine, got)
    assert got.tobytes() == numpys.random(1001, dtype=np.float32).tobytes()


def test_strided_output_draws_through_numpy():
    mine, numpys = pair(6, False)
    base = np.zeros((40, 2), np.float64)
    got = base[:, 0]
    _backend.uniform_fill(mine, got)
    assert got.tobytes() == numpys.random(40).tobytes()
    assert (base[:, 1] == 0).all()


def test_bad_calls():
    out = np.empty(4)
    with pytest.raises(TypeError, match="out"):
        _core.uniform_pcg64(np.empty(4, np.int32), 1, 2, 3, 5, False, 0)
    with pytest.raises(ValueError, match="uinteger"):
        _core.uniform_pcg64(out, 1, 2, 3, 5, True, 2**32)
    with pytest.raises(ValueError, match="state_hi"):
        _core.uniform_pcg64(out, 2**64, 2, 3, 5, False, 0)
    with pytest.raises(ValueError, match="inc_lo"):
        _core.uniform_pcg64(out, 1, 2, 3, -5, False, 0)
    with pytest.raises(ValueError, match="state_lo"):
        _core.uniform_pcg64(out, 1, 2.5, 3, 5, False, 0)


# ---- the draws and Dropout's mask in one job (_core.dropout_pcg64) ----------------
def numpy_dropout(rng, x, rate):
    """(mask, out) as NumPy computes them from rng's draws: keep where the
    draw >= rate (in x's dtype), scaled by 1 / (1 - rate)."""
    dtype = x.dtype.type
    u = rng.random(x.shape, dtype=x.dtype)
    mask = np.where(u >= dtype(rate), dtype(1.0 / (1.0 - rate)), dtype(0))
    return mask, x * mask


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("odd_start", [False, True])
@pytest.mark.parametrize("size", SIZES)
def test_fused_dropout_is_the_draws_then_the_mask(size, odd_start, dtype, threads):
    mine, numpys = pair(size + 11, odd_start)
    x = np.random.default_rng(size).standard_normal(size).astype(dtype)
    mask, out = np.full(size, np.nan, dtype), np.full(size, np.nan, dtype)
    _backend.dropout_draw_forward(mine, mask, x, out, 0.3)
    want_mask, want_out = numpy_dropout(numpys, x, 0.3)
    assert mask.tobytes() == want_mask.tobytes()
    assert out.tobytes() == want_out.tobytes()
    assert mine.bit_generator.state == numpys.bit_generator.state
    if size <= 9:  # the loop reference too
        again = pair(size + 11, odd_start)[1]
        ref_mask, ref_out = ref.dropout_forward(again.random(size, dtype=dtype), x, 0.3)
        np.testing.assert_array_equal(mask, ref_mask)
        # an exact float64 product of two float32 values, rounded once
        np.testing.assert_array_equal(out, ref_out.astype(dtype))


def test_fused_dropout_in_place_and_for_any_thread_count():
    results, before = [], tf.get_num_threads()
    x = np.random.default_rng(1).standard_normal((129, 1601)).astype(np.float32)
    try:
        for n in (1, 2, 3, 4):
            tf.set_num_threads(n)
            mask, out = np.empty_like(x), x.copy()
            _backend.dropout_draw_forward(np.random.default_rng(9), mask, out, out, 0.5)
            results.append(mask.tobytes() + out.tobytes())
    finally:
        tf.set_num_threads(before)
    assert len(set(results)) == 1
    assert (
        results[0][x.nbytes :]
        == numpy_dropout(np.random.default_rng(9), x, 0.5)[1].tobytes()
    )


@pytest.mark.parametrize("bits", [np.random.Philox, np.random.MT19937])
def test_fused_dropout_with_other_bit_generators(bits):
    mine, numpys = np.random.Generator(bits(3)), np.random.Generator(bits(3))
    x = np.linspace(-1, 1, 1001, dtype=np.float32)
    mask, out = np.empty_like(x), np.empty_like(x)
    _backend.dropout_draw_forward(mine, mask, x, out, 0.25)
    want_mask, want_out = numpy_dropout(numpys, x, 0.25)
    assert mask.tobytes() == want_mask.tobytes()
    assert out.tobytes() == want_out.tobytes()


def test_fused_dropout_bad_calls():
    x = np.zeros(4)
    with pytest.raises(ValueError, match="rate"):
        _core.dropout_pcg64(np.empty(4), x, np.empty(4), 1.0, 1, 2, 3, 5, False, 0)
    with pytest.raises(ValueError, match="state_hi"):
        _core.dropout_pcg64(np.empty(4), x, np.empty(4), 0.5, -1, 2, 3, 5, False, 0)
    with pytest.raises(ValueError, match="mask"):
        _core.dropout_pcg64(x, x, np.empty(4), 0.5, 1, 2, 3, 5, False, 0)
