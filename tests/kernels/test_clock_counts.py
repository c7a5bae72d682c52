"""Stored clock counts to ps in one pass, against a slow per-value reference and numpy's
``to_ps``: whole and fractional units, every integer dtype files use, empty arrays, ties."""

from __future__ import annotations

import numpy as np
import pytest

from tagstream.kernels.clock_counts import counts_to_ps, sync_counted_ps
from tagstream.tags.units import ps_factors, to_ps


def slow_ps(raw: int, unit_ps: float) -> int:
    """One count of ``unit_ps`` in ps, in Python integers (round half to even)."""
    _, floor, fraction = ps_factors(unit_ps)
    return int(raw) * floor + round(float(raw) * fraction)


UNITS = [1.0, 4.0, 12_500.0, 1e12 / 80e6, 1e12 / 76.2e6, 0.5, 2.5, 1e12 / 40e6 / 3, 0.1]


def converted(raw: np.ndarray, unit_ps: float) -> np.ndarray:
    _, floor, fraction = ps_factors(unit_ps)
    out = np.empty(raw.size, np.int64)
    counts_to_ps(raw, np.int64(floor), fraction, out)
    return out


@pytest.mark.parametrize("unit_ps", UNITS)
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.int64])
def test_counts_to_ps_matches_the_slow_reference_and_to_ps(rng, unit_ps, dtype):
    top = min(np.iinfo(dtype).max, 2**40)
    raw = np.sort(rng.integers(0, top, 500, endpoint=True)).astype(dtype)
    raw[:3] = [0, 1, top]
    out = converted(raw, unit_ps)
    assert out.tolist() == [slow_ps(r, unit_ps) for r in raw]
    np.testing.assert_array_equal(out, to_ps(raw, unit_ps))


def test_counts_to_ps_rounds_ties_to_even():
    raw = np.arange(8, dtype=np.int64)  # 0.5 ps units: 0, 0.5, 1, 1.5, ...
    assert converted(raw, 0.5).tolist() == [0, 0, 1, 2, 2, 2, 3, 4]


def test_counts_to_ps_of_nothing():
    assert converted(np.zeros(0, np.int64), 12_500.0).size == 0


@pytest.mark.parametrize("unit_ps", [4.0, 1e12 / 76.2e6 / 4096, 25.0])
@pytest.mark.parametrize("n_carry, n_new", [(0, 0), (0, 1), (1, 0), (3, 200), (50, 1)])
def test_sync_counted_ps_appends_nanotimes_after_the_carry(rng, unit_ps, n_carry, n_new):
    period = 12_500
    macro = np.sort(rng.integers(0, 10**6, n_new)).astype(np.int64) * period
    nanotimes = rng.integers(0, int(period / unit_ps), n_new).astype(np.uint16)
    carry = np.sort(rng.integers(0, period, n_carry)).astype(np.int64)
    _, floor, fraction = ps_factors(unit_ps)
    out = np.full(n_carry + n_new, -1, np.int64)
    in_order = sync_counted_ps(carry, macro, nanotimes, np.int64(floor), fraction, out)
    expected = carry.tolist() + [
        int(m) + slow_ps(v, unit_ps) for m, v in zip(macro, nanotimes, strict=True)
    ]
    assert out.tolist() == expected
    assert in_order == (expected == sorted(expected))


def test_sync_counted_ps_sees_disorder_at_the_seam_and_inside():
    one = np.int64(1)
    nt = np.array([0, 0], np.uint16)
    out = np.empty(3, np.int64)
    # the carry ends after the first new tag
    assert not sync_counted_ps(np.array([15], np.int64), np.array([10, 20]), nt, one, 0.0, out)
    out = np.empty(2, np.int64)
    # a later sync with an earlier arrival
    late = np.array([9, 0], np.uint16)
    assert not sync_counted_ps(np.zeros(0, np.int64), np.array([10, 12]), late, one, 0.0, out)
    assert sync_counted_ps(np.zeros(0, np.int64), np.array([10, 12]), nt, one, 0.0, out)
