"""The triple-coincidence kernel and its analyzer against the slow reference: random streams,
ties and bin edges, any chunking, cable delays, a single tag and empty batches."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tagstream.analysis.triples import TripleAnalyzer
from tagstream.errors import AnalysisError
from tests.reference import triple_histograms
from tests.streams import batch_of, random_cuts

W, BIN = 400, 50


def _stream(rng, n_end, rates, grid=1, triple_rate=0.0):
    """Poisson tags on channels 1, 2, 3 and 9 (ignored), plus correlated triples."""
    parts_t, parts_c = [], []
    for channel, rate in rates.items():
        k = rng.poisson(rate * n_end)
        parts_t.append(rng.integers(0, n_end, k))
        parts_c.append(np.full(k, channel))
    k = rng.poisson(triple_rate * n_end)
    base = rng.integers(0, n_end, k)
    for channel in (1, 2, 3):
        parts_t.append(np.clip(base + rng.integers(-W, W, k), 0, n_end - 1))
        parts_c.append(np.full(k, channel))
    t = np.concatenate(parts_t).astype(np.int64) // grid * grid
    ch = np.concatenate(parts_c).astype(np.uint8)
    order = np.argsort(t, kind="stable")
    return t[order], ch[order]


def _chunks(batch, cuts):
    edges = np.unique(np.concatenate([[batch.t_begin], cuts, [batch.t_end]]))
    parts = [batch.slice_time(t0, t1) for t0, t1 in itertools.pairwise(edges)]
    return [*parts, batch.slice_time(batch.t_end, batch.t_end)]


@pytest.mark.parametrize("seed", range(6))
def test_triples_equal_the_reference_in_any_chunking(seed):
    rng = np.random.default_rng(seed)
    end = 200_000
    rates = {1: 3e-3, 2: 4e-3, 3: 2e-3, 9: 5e-3}
    t, ch = _stream(rng, end, rates, grid=(1, 25, 50)[seed % 3], triple_rate=1e-3)
    batch = batch_of(t, ch, 0, end)
    want = triple_histograms(t, ch, 1, 2, 3, W, BIN)
    for cuts in (np.zeros(0, np.int64), random_cuts(rng, batch, 40, W)):
        analyzer = TripleAnalyzer(1, 2, 3, window=W, bin=BIN)
        for part in _chunks(batch, cuts):
            analyzer.process(part)
        got = analyzer.result()
        np.testing.assert_array_equal(got.counts, want[0])
        np.testing.assert_array_equal(got.pair_ab, want[1])
        np.testing.assert_array_equal(got.pair_ac, want[2])
        assert got.n_abc == tuple(int((ch == c).sum()) for c in (1, 2, 3))
        assert got.live_ps == end


def test_triples_at_the_window_edges_and_ties():
    # B exactly -W and C exactly +W - 1 from A count; +W does not; equal times count
    t = np.array([1000, 1000, 1000, 1400, 1399, 600], dtype=np.int64)
    ch = np.array([2, 1, 3, 2, 3, 2], dtype=np.uint8)
    order = np.argsort(t, kind="stable")
    t, ch = t[order], ch[order]
    want = triple_histograms(t, ch, 1, 2, 3, W, BIN)
    analyzer = TripleAnalyzer(1, 2, 3, window=W, bin=BIN)
    batch = batch_of(t, ch, 0, 2000)
    for part in _chunks(batch, np.unique(t) + 1):  # one time per batch
        analyzer.process(part)
    got = analyzer.result()
    np.testing.assert_array_equal(got.counts, want[0])
    np.testing.assert_array_equal(got.pair_ab, want[1])
    assert got.pair_ab[0] == 1  # the B at -W
    assert want[0].sum() == 2 * 2  # (B at 0 or -W) x (C at 0 or +399)


def test_a_single_tag_and_empty_batches_give_nothing():
    analyzer = TripleAnalyzer(1, 2, 3, window=W, bin=BIN)
    analyzer.process(batch_of(np.zeros(0, np.int64), np.zeros(0, np.uint8), 0, 100))
    analyzer.process(batch_of(np.array([150]), np.array([1], np.uint8), 100, 200))
    result = analyzer.result()
    assert result.counts.sum() == 0 and result.n_abc == (1, 0, 0) and result.live_ps == 200


def test_delays_shift_the_lags_by_whole_bins():
    rng = np.random.default_rng(7)
    end = 100_000
    t, ch = _stream(rng, end, {1: 2e-3, 2: 2e-3, 3: 2e-3}, triple_rate=1e-3)
    # channel 2 arrives 150 ps late, channel 3 100 ps early: the tags shifted by hand
    shift = np.where(ch == 2, 150, np.where(ch == 3, -100, 0))
    order = np.argsort(t + shift, kind="stable")
    moved = (t + shift)[order]
    keep = (moved >= 0) & (moved < end)
    t2, ch2 = moved[keep], ch[order][keep]
    analyzer = TripleAnalyzer(1, 2, 3, window=W, bin=BIN, delays={2: 150, 3: -100})
    analyzer.process(batch_of(t2, ch2, 0, end))
    want = triple_histograms(t2 - np.where(ch2 == 2, 150, np.where(ch2 == 3, -100, 0)), ch2,
                             1, 2, 3, W, BIN)  # fmt: skip
    np.testing.assert_array_equal(analyzer.result().counts, want[0])


@pytest.mark.parametrize(
    ("args", "message"),
    [((1, 1, 3), "three different"), ((1, 2, 3, 400, 70), "must divide"),
     ((1, 2, 3, "1 us", "1 ps"), "at most")],
)  # fmt: skip
def test_bad_settings_are_one_line_errors(args, message):
    with pytest.raises(AnalysisError, match=message):
        TripleAnalyzer(*args)


def test_restore_continues_the_histograms():
    rng = np.random.default_rng(3)
    t, ch = _stream(rng, 100_000, {1: 3e-3, 2: 3e-3, 3: 3e-3}, triple_rate=1e-3)
    batch = batch_of(t, ch, 0, 100_000)
    first = TripleAnalyzer(1, 2, 3, window=W, bin=BIN)
    first.process(batch.slice_time(0, 50_000))
    second = TripleAnalyzer(1, 2, 3, window=W, bin=BIN)
    second.restore(first.result(), first._coverage)
    second.process(batch.slice_time(50_000 + 2 * W, 100_000))
    # the triples across the lost time are missing, all others are there
    cut = triple_histograms(t[t < 50_000], ch[t < 50_000], 1, 2, 3, W, BIN)[0]
    later = (t >= 50_000 + 2 * W)
    cut = cut + triple_histograms(t[later], ch[later], 1, 2, 3, W, BIN)[0]
    got = second.result()
    np.testing.assert_array_equal(got.counts, cut)
    assert got.n_abc == tuple(int(((ch == c) & ((t < 50_000) | later)).sum()) for c in (1, 2, 3))
