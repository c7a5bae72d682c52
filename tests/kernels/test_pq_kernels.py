"""The PicoQuant record kernels against a record-by-record reference (``tests/reference.py``)
on random words of every kind, in any chunking, and at the edges: no records, one record,
only overflows, tags far out of order."""

from __future__ import annotations

import numpy as np
import pytest

from tagstream.formats.pq_spec import RECORD_FORMATS
from tagstream.kernels.pq_records import (
    STATE_UNORDERED,
    count_records,
    decode_ps,
    settle,
)
from tagstream.tags.units import ps_factors

from ..reference import pq_decode

FORMATS = sorted(RECORD_FORMATS.values(), key=lambda f: f.code)
#: T2 tick or T3 period, and dtime unit (ps). T3 dtimes span one period only with the first.
UNITS = [(100_000.0, 1.0), (1.0, 5.0), (12345.678, 2.5), (0.5, 0.3)]


def _words(fmt, rng, n):
    """Random records: mostly plain events (time fields increasing within a wrap, as an
    instrument writes them), with overflow, marker, sync and unknown special records."""
    words = rng.integers(0, 1 << 32, n, dtype=np.int64)
    time_mask = (1 << fmt.time_bits) - 1
    field = np.sort(rng.integers(0, time_mask + 1, n))
    words = (words & ~time_mask) | field
    plain = rng.random(n) < 0.85
    if fmt.layout == "picoharp":
        words[plain] &= 0xEFFFFFFF  # channel below 15
    else:
        words[plain] &= 0x7FFFFFFF
        overflow = words >> 25 == 0x7F
        words[overflow] &= ~time_mask | 0xFF  # counts below 256: times stay within int64
    return words.astype(np.uint32)


def _decode_chunked(fmt, words, tick, dunit, cuts, capacity_extra=0):
    n = words.size
    times = np.empty(n + capacity_extra, np.int64)
    chans = np.empty(n + capacity_extra, np.uint8)
    dtimes = np.empty(n + capacity_extra, np.uint16)
    state = np.zeros(3, np.int64)
    end = 0
    ordered = True
    for a, b in zip([0, *cuts], [*cuts, n], strict=True):
        end, _ = decode_ps(
            words[a:b], fmt.family, fmt.wrap, fmt.counted, ps_factors(tick), ps_factors(dunit),
            state, times, chans, dtimes, end,
        )  # fmt: skip
        ordered = ordered and not state[STATE_UNORDERED]
    return times[:end], chans[:end], dtimes[:end], ordered


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
@pytest.mark.parametrize("units", UNITS, ids=str)
def test_decode_equals_the_reference_in_any_chunking(fmt, units):
    rng = np.random.default_rng(fmt.code % 1000)
    tick, dunit = units
    words = _words(fmt, rng, 3000)
    want = pq_decode(words, fmt.family, fmt.wrap, fmt.counted, tick, dunit)
    want_t = np.array([w[0] for w in want], np.int64)
    order = np.argsort(want_t, kind="stable")
    want_t = want_t[order]
    want_c = np.array([w[1] for w in want], np.uint8)[order]
    want_d = np.array([w[2] for w in want], np.uint16)[order]
    for cuts in ([], sorted(rng.choice(np.arange(1, 3000), 9, replace=False)), [1, 2, 2999]):
        t, c, d, ordered = _decode_chunked(fmt, words, tick, dunit, list(cuts))
        if units == UNITS[0] or fmt.mode == "T2":  # nearly ordered: insertion orders it
            assert ordered
        else:  # dtimes span many periods: flagged, and the caller sorts stably
            order = np.argsort(t, kind="stable")
            t, c, d = t[order], c[order], d[order]
        np.testing.assert_array_equal(t, want_t)
        np.testing.assert_array_equal(c, want_c)
        if fmt.mode == "T3":
            np.testing.assert_array_equal(d, want_d)


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_counting_agrees_with_decoding(fmt):
    rng = np.random.default_rng(3)
    words = _words(fmt, rng, 2000)
    want = pq_decode(words, fmt.family, fmt.wrap, fmt.counted, 1.0, 1.0)
    counts = np.zeros(256, np.int64)
    state = np.zeros(2, np.int64)
    last = count_records(words, fmt.family, fmt.wrap, fmt.counted, state, counts)
    np.testing.assert_array_equal(counts, np.bincount([w[1] for w in want], minlength=256))
    if fmt.mode == "T2":
        assert last == max(w[0] for w in want)


def test_edges_no_records_one_record_only_overflows():
    fmt = RECORD_FORMATS[0x00010307]  # GenericT3
    one = np.array([(1 << 25) | (7 << 10) | 5], np.uint32)  # input 2, dtime 7, nsync 5
    t, c, d, _ = _decode_chunked(fmt, one, 100.0, 1.0, [])
    assert (t.tolist(), c.tolist(), d.tolist()) == ([507], [2], [7])
    t, *_ = _decode_chunked(fmt, np.zeros(0, np.uint32), 100.0, 1.0, [])
    assert t.size == 0
    ovf = np.full(5, 0xFE000000 | 3, np.uint32)  # 5 records of 3 overflows each
    state = np.zeros(3, np.int64)
    out = np.empty(1, np.int64), np.empty(1, np.uint8), np.empty(1, np.uint16)
    end, last = decode_ps(ovf, 3, 1024, True, (1, 1, 0.0), (1, 1, 0.0), state, *out, 0)
    assert (end, last, state[0]) == (0, -1, 15 * 1024)


def test_tags_far_out_of_order_are_flagged_not_sorted_quadratically():
    """Descending times (a damaged file): insertion stops after its budget and says so."""
    fmt = RECORD_FORMATS[0x00010207]  # GenericT2
    words = np.arange(200_000, 0, -1, dtype=np.uint32)  # input 1, times falling
    t, _, _, ordered = _decode_chunked(fmt, words, 1.0, 1.0, [])
    assert not ordered and t.size == words.size


def test_settle_joins_two_ordered_runs():
    rng = np.random.default_rng(9)
    a = np.sort(rng.integers(0, 1000, 50))
    b = np.sort(rng.integers(900, 2000, 60))
    times = np.concatenate([a, b]).astype(np.int64)
    chans = np.arange(110, dtype=np.uint8)
    dtimes = np.arange(110, dtype=np.uint16)
    assert settle(times, chans, dtimes, 50, 110)
    order = np.argsort(np.concatenate([a, b]), kind="stable")
    np.testing.assert_array_equal(times, np.concatenate([a, b])[order])
    np.testing.assert_array_equal(chans, order)
    far = np.concatenate([np.arange(1000, 2000), np.arange(1000)]).astype(np.int64)
    assert not settle(far, np.zeros(2000, np.uint8), np.zeros(2000, np.uint16), 1000, 1010)
