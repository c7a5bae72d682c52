"""The linear g2 correlator against the all-pairs reference, in every chunking."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagstream.analysis.g2 import G2Analyzer
from tagstream.errors import AnalysisError, BatchError
from tagstream.tags import TagBatch

from .. import reference
from ..streams import batch_of, hbt_stream, random_cuts

W, B = 2_000, 100  # ±2 ns in 100 ps bins


def run_chunks(batches, a=1, b=2, window=W, bin_width=B):
    g = G2Analyzer(a, b, window=window, bin=bin_width)
    for part in batches:
        g.process(part)
    return g.result()


@pytest.fixture
def stream(rng):
    t, ch = hbt_stream(
        rng, 0, 2_000_000, {1: 2e-4, 2: 2e-4, 3: 5e-4}, pair_rate=1e-4, lag_spread=2_500, grid=50
    )
    return batch_of(t, ch, 0, 2_000_000)


def test_whole_stream_matches_reference(stream):
    res = run_chunks([stream])
    ref = reference.g2_histogram(stream.timestamps, stream.channels, 1, 2, W, B)
    assert res.counts.sum() > 500
    np.testing.assert_array_equal(res.counts, ref)
    assert (res.n_a, res.n_b) == (
        np.count_nonzero(stream.channels == 1),
        np.count_nonzero(stream.channels == 2),
    )


def test_any_chunking_gives_the_same_histogram(stream, rng):
    whole = run_chunks([stream]).counts
    for _ in range(5):
        parts = stream.split_at(random_cuts(rng, stream, 40, window=W))
        np.testing.assert_array_equal(run_chunks(parts).counts, whole)


def test_auto_correlation_matches_reference(stream):
    res = run_chunks([stream], a=1, b=1)
    ref = reference.g2_histogram(stream.timestamps, stream.channels, 1, 1, W, B)
    np.testing.assert_array_equal(res.counts, ref)


@pytest.mark.parametrize("a,b", [(2, 1), (3, 1), (1, 3)])
def test_other_channel_pairs_match_reference(stream, a, b):
    res = run_chunks([stream], a, b)
    np.testing.assert_array_equal(
        res.counts, reference.g2_histogram(stream.timestamps, stream.channels, a, b, W, B)
    )


def test_tags_exactly_on_bin_edges_and_window_edges():
    # lags of exactly -W, -W + b, 0, W - b and W: the last is outside [-W, W)
    base = 10_000
    lags = [-W, -W + B, -1, 0, 1, B - 1, B, W - B, W - 1, W]
    t = [base] + [base + x for x in lags]
    ch = [1] + [2] * len(lags)
    order = np.argsort(t, kind="stable")
    t = np.array(t, np.int64)[order]
    ch = np.array(ch, np.uint8)[order]
    batch = TagBatch(t, ch, 0, 20_000)
    res = run_chunks([batch])
    expected = np.zeros(2 * W // B, np.int64)
    for x in lags:
        if -W <= x < W:
            expected[(x + W) // B] += 1
    np.testing.assert_array_equal(res.counts, expected)
    np.testing.assert_array_equal(res.counts, reference.g2_histogram(t, ch, 1, 2, W, B))


def test_equal_timestamps_count_once_per_pair():
    t = np.array([100, 100, 100, 100], np.int64)
    ch = np.array([1, 2, 2, 1], np.uint8)
    res = run_chunks([TagBatch(t, ch, 0, 1000)])
    assert res.counts[W // B] == 4  # 2 A x 2 B, all at tau = 0
    assert res.counts.sum() == 4


def test_empty_batches_single_tags_and_leading_gap():
    parts = [
        TagBatch.empty(0, 5_000),
        TagBatch(
            np.array([6_000], np.int64),
            np.array([1], np.uint8),
            5_000,
            6_500,
            gaps=np.array([[5_000, 5_500]]),
        ),
        TagBatch.empty(6_500, 6_600),
        TagBatch(np.array([7_000], np.int64), np.array([2], np.uint8), 6_600, 7_001),
    ]
    res = run_chunks(parts)
    assert res.counts.sum() == 1
    assert res.counts[(1_000 + W) // B] == 1
    assert res.live_ps == 7_001 - 500


def test_very_different_rates(rng):
    t, ch = hbt_stream(rng, 0, 5_000_000, {1: 1e-3, 2: 2e-6}, pair_rate=0, grid=1)
    batch = batch_of(t, ch, 0, 5_000_000)
    parts = batch.split_at(random_cuts(rng, batch, 30, window=W))
    res = run_chunks(parts)
    np.testing.assert_array_equal(res.counts, reference.g2_histogram(t, ch, 1, 2, W, B))


def test_batches_out_of_order_are_refused():
    g = G2Analyzer(1, 2, window=W, bin=B)
    g.process(TagBatch.empty(1000, 2000))
    with pytest.raises(BatchError, match="before the previous one ended"):
        g.process(TagBatch.empty(1500, 3000))


def test_bad_settings_are_clear():
    with pytest.raises(AnalysisError, match="must divide"):
        G2Analyzer(1, 2, window="1 ns", bin="300 ps")
    with pytest.raises(AnalysisError, match="log-binned"):
        G2Analyzer(1, 2, window="5 ms", bin="1 us")


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    window=st.sampled_from([100, 300, 1_000, 5_000]),
    bin_width=st.sampled_from([1, 7, 50, 100]),
    n_cuts=st.integers(0, 25),
    auto=st.booleans(),
)
def test_property_random_streams_and_chunkings(seed, window, bin_width, n_cuts, auto):
    window = (window // bin_width) * bin_width or bin_width
    rng = np.random.default_rng(seed)
    t, ch = hbt_stream(
        rng,
        0,
        200_000,
        {1: 3e-4, 2: 5e-4, 0: 1e-4},
        pair_rate=2e-4,
        lag_spread=window + 10,
        grid=int(rng.integers(1, 20)),
    )
    gaps_at = np.sort(rng.integers(0, 200_000, 4))
    gaps = np.array([[gaps_at[0], gaps_at[1]]]) if gaps_at[1] > gaps_at[0] else None
    keep = np.ones(t.size, bool) if gaps is None else ~((t >= gaps[0, 0]) & (t < gaps[0, 1]))
    t, ch = t[keep], ch[keep]
    batch = batch_of(t, ch, 0, 200_000, gaps=gaps)
    parts = batch.split_at(random_cuts(rng, batch, n_cuts, window=window))
    b = 1 if auto else 2
    res = run_chunks(parts, 1, b, window, bin_width)
    np.testing.assert_array_equal(
        res.counts, reference.g2_histogram(t, ch, 1, b, window, bin_width)
    )


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    density=st.sampled_from([0.01, 0.2, 1.0, 5.0]),
    other=st.sampled_from([0.0, 0.3, 3.0]),
    n=st.integers(0, 700),
)
def test_fast_kernels_equal_the_scan_and_the_reference(seed, density, other, n):
    """Both fast forms against the plain scan and the reference, from sparse pairs to several
    partners per window, with and without tags of other channels (exercises every code path:
    the near-partner bits, the far loop and the tail after the last whole block)."""
    from tagstream.kernels import (
        magic_divisor,
        pairs_within,
        pairs_within_auto,
        pairs_within_cross,
        role_table,
    )

    rng = np.random.default_rng(seed)
    window, bin_width = 1_000, 100
    span = max(1, int(n * window / density))
    t = np.sort(rng.integers(0, span, n)).astype(np.int64)
    ch = rng.choice(np.array([1, 2, 7], np.uint8), n, p=np.array([1, 1, other]) / (2 + other))
    mult, shift = magic_divisor(bin_width)
    for a, b in ((1, 2), (2, 1), (1, 1)):
        roles = role_table(a, b)
        scan = np.zeros(2 * window // bin_width + 1, np.int64)
        fast = np.zeros_like(scan)
        pairs_within(t, ch, roles, window, mult, shift, scan)
        if a == b:
            pairs_within_auto(t, ch, np.uint8(a), roles, window, mult, shift, fast)
        else:
            pairs_within_cross(t, ch, np.uint8(a), np.uint8(b), roles, window, mult, shift, fast)
        ref = reference.g2_histogram(t, ch, a, b, window, bin_width)
        np.testing.assert_array_equal(scan[:-1], ref)
        np.testing.assert_array_equal(fast[:-1], ref)


@pytest.mark.parametrize("threads", [2, 3, 7])
@pytest.mark.parametrize("auto", [False, True])
@pytest.mark.parametrize("window", [W, 30_000])
def test_threads_split_batches_exactly(monkeypatch, rng, threads, auto, window):
    """Large batches are cut between threads; pairs across the cuts are counted once, also when
    a piece is shorter than the window."""
    from tagstream.analysis import parallel

    monkeypatch.setattr(parallel, "MIN_TAGS_PER_THREAD", 40)
    t, ch = hbt_stream(
        rng, 0, 400_000, {1: 2e-3, 2: 2e-3, 3: 1e-3}, pair_rate=1e-3, lag_spread=W, grid=7
    )
    batch = batch_of(t, ch, 0, 400_000)
    b = 1 if auto else 2
    g = G2Analyzer(1, b, window=window, bin=B, threads=threads)
    for part in batch.split_at(random_cuts(rng, batch, 5, window=window)):
        g.process(part)
    np.testing.assert_array_equal(g.result().counts, reference.g2_histogram(t, ch, 1, b, window, B))
