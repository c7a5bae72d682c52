"""The multi-tau correlator against the cell-pair reference, in every chunking."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagstream.analysis.g2_log import LogG2Analyzer
from tagstream.errors import AnalysisError
from tagstream.kernels.multitau import multitau_work
from tagstream.kernels.multitau_cells import FLOAT_SPAN, floor_cells
from tagstream.tags import TagBatch

from .. import reference
from ..streams import batch_of, hbt_stream, merge, random_cuts


def run_chunks(parts, a=1, b=2, dt0=10, tau_max=50_000, half=4):
    g = LogG2Analyzer(a, b, tau_min=dt0, tau_max=tau_max, per_octave=half)
    for part in parts:
        g.process(part)
    return g, g.result()


def owned(ab, ba, levels, half):
    level = [0] * (2 * half) + [k for k in range(1, levels) for _ in range(half)]
    lag = list(range(2 * half)) + list(range(half, 2 * half)) * (levels - 1)
    return ab[level, lag], ba[level, lag]


@pytest.fixture
def stream(rng):
    t, ch = hbt_stream(
        rng, 0, 300_000, {1: 2e-3, 2: 1e-3, 0: 1e-3}, pair_rate=1e-3, lag_spread=300, grid=3
    )
    return batch_of(t, ch, 0, 300_000)


@pytest.mark.parametrize("a,b", [(1, 2), (2, 1), (1, 1)])
def test_matches_reference(stream, a, b):
    g, res = run_chunks([stream], a, b)
    ab, ba = reference.multitau_counts(stream.timestamps, stream.channels, a, b, 10, g.levels, 4)
    ref_ab, ref_ba = owned(ab, ba, g.levels, 4)
    assert res.counts_ab.sum() > 1000
    np.testing.assert_array_equal(res.counts_ab, ref_ab)
    np.testing.assert_array_equal(res.counts_ba, ref_ba)
    np.testing.assert_array_equal(res.tau_ps[:8], 10 * np.arange(8))


def test_any_chunking_gives_the_same_counts(stream, rng):
    _, whole = run_chunks([stream])
    for _ in range(5):
        parts = stream.split_at(random_cuts(rng, stream, 50, window=500))
        _, res = run_chunks(parts)
        np.testing.assert_array_equal(res.counts_ab, whole.counts_ab)
        np.testing.assert_array_equal(res.counts_ba, whole.counts_ba)


def test_snapshot_does_not_disturb_the_stream(stream, rng):
    g = LogG2Analyzer(1, 2, tau_min=10, tau_max=50_000, per_octave=4)
    for part in stream.split_at(random_cuts(rng, stream, 20)):
        g.process(part)
        g.result()
    _, whole = run_chunks([stream])
    np.testing.assert_array_equal(g.result().counts_ab, whole.counts_ab)


def test_negative_times_and_single_tags():
    t = np.array([-1_000_005, -1_000_000, -3], np.int64)
    ch = np.array([1, 2, 2], np.uint8)
    parts = TagBatch(t, ch, -2_000_000, 10).split_at([-1_000_001, -1_000_000, 0])
    g, res = run_chunks(parts, dt0=2, tau_max=4_000_000)
    ab, ba = reference.multitau_counts(t, ch, 1, 2, 2, g.levels, 4)
    ref_ab, ref_ba = owned(ab, ba, g.levels, 4)
    np.testing.assert_array_equal(res.counts_ab, ref_ab)
    np.testing.assert_array_equal(res.counts_ba, ref_ba)


def test_empty_stream_gives_zeros():
    _g, res = run_chunks([TagBatch.empty(0, 10_000), TagBatch.empty(10_000, 20_000)])
    assert res.counts_ab.sum() == 0 and res.n_a == 0


def test_levels_reach_tau_max():
    g = LogG2Analyzer(1, 2, tau_min="1 ns", tau_max="10 s")
    res_tau = g._owned_bins()
    assert g.levels >= 30
    assert (2 * g.half - 1) * g.dt0 * 2 ** (g.levels - 1) >= 10**13
    assert len(res_tau[0]) == 2 * g.half + (g.levels - 1) * g.half


def test_bad_settings():
    with pytest.raises(AnalysisError, match="power of two"):
        LogG2Analyzer(1, 2, per_octave=6)
    with pytest.raises(AnalysisError):
        LogG2Analyzer(1, 2, tau_min="1 s", tau_max="1 ms")


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    dt0=st.sampled_from([1, 3, 16, 100]),
    half=st.sampled_from([1, 2, 4, 8]),
    n_cuts=st.integers(0, 30),
    auto=st.booleans(),
)
def test_property_random_streams_and_chunkings(seed, dt0, half, n_cuts, auto):
    rng = np.random.default_rng(seed)
    t, ch = hbt_stream(
        rng,
        0,
        100_000,
        {1: 1e-3, 2: 1e-3, 5: 1e-3},
        pair_rate=5e-4,
        lag_spread=int(rng.integers(1, 2_000)),
        grid=int(rng.integers(1, 30)),
    )
    batch = batch_of(t, ch, 0, 100_000)
    parts = batch.split_at(random_cuts(rng, batch, n_cuts))
    b = 1 if auto else 2
    g, res = run_chunks(parts, 1, b, dt0=dt0, tau_max=dt0 * 5_000, half=half)
    ab, ba = reference.multitau_counts(t, ch, 1, b, dt0, g.levels, half)
    ref_ab, ref_ba = owned(ab, ba, g.levels, half)
    np.testing.assert_array_equal(res.counts_ab, ref_ab)
    np.testing.assert_array_equal(res.counts_ba, ref_ba)


# --- the fast kernel's own paths: cell index, pair-by-pair vs cell-array levels, blocks ------


def fast_paths(g, split, block=8192, span=16384):
    """Force the kernel's split level (-1: its own choice) and the size of its blocks."""
    g._split = split
    g._counter.threads = 1  # one piece, counted with these work buffers
    g._counter._works = [multitau_work(g.levels, g.half, block, span)]
    return g


def check_against_reference(t, ch, parts, a, b, dt0, tau_max, half, split, block, span):
    g = fast_paths(
        LogG2Analyzer(a, b, tau_min=dt0, tau_max=tau_max, per_octave=half), split, block, span
    )
    for part in parts:
        g.process(part)
    res = g.result()
    ab, ba = reference.multitau_counts(t, ch, a, b, dt0, g.levels, half)
    ref_ab, ref_ba = owned(ab, ba, g.levels, half)
    np.testing.assert_array_equal(res.counts_ab, ref_ab)
    np.testing.assert_array_equal(res.counts_ba, ref_ba)
    return res


@pytest.mark.parametrize("dt0", [1, 2, 3, 7, 10, 1000, 1024, 999_983, 2**40 + 1])
def test_floor_cells_is_exact(dt0, rng):
    edges = np.array([-(2**62), -(10**15), -7, 0, 5, 10**12, 2**50, 2**62 - 2**40], np.int64)
    edges = edges // dt0 * dt0
    near = (edges[:, None] + np.arange(-3, 4)).ravel()
    spread = rng.integers(-(2**62), 2**62, 2000)
    for t in (near, spread, edges[3] + rng.integers(0, 10**6, 500)):
        for chunk in np.array_split(np.sort(t), 7):  # short and long spans
            out = np.empty_like(chunk)
            floor_cells(chunk, np.int64(dt0), out)
            np.testing.assert_array_equal(out, chunk // dt0)


@pytest.mark.parametrize("dt0", [3, 49, 98, 103, 1000, 999_983])
@pytest.mark.parametrize("origin", [-(2**62), -(10**12) * 1000, 0, 2**62 - 2**51])
def test_floor_cells_float_path_at_every_cell_edge(dt0, origin):
    # the float estimate of x / dt0 falls one short at some exact multiples (49 * (1 / 49) < 1)
    origin = origin // dt0 * dt0
    k = np.concatenate([np.arange(5000), (FLOAT_SPAN - 2) // dt0 - np.arange(5000)[::-1]])
    t = np.sort(np.concatenate([origin + k * dt0 + off for off in (-1, 0, 1)]))[1:]
    assert t[-1] - t[0] < FLOAT_SPAN  # one span for the float path
    out = np.empty_like(t)
    floor_cells(t, np.int64(dt0), out)
    np.testing.assert_array_equal(out, t // dt0)


@pytest.mark.parametrize("auto", [False, True])
@pytest.mark.parametrize("split", [0, 1, 3, 7, 40, -1])
def test_every_split_and_block_size_matches_reference(stream, rng, split, auto):
    b = 1 if auto else 2
    parts = stream.split_at(random_cuts(rng, stream, 20, window=500))
    for block, span in [(8192, 16384), (7, 3), (64, 40)]:
        check_against_reference(
            stream.timestamps, stream.channels, parts, 1, b, 10, 50_000, 4, split, block, span
        )


@pytest.mark.parametrize("dt0", [3, 1000, 1024])
@pytest.mark.parametrize("origin", [-(2**62) + 10**9, -50_000, 2**62 - 10**7])
def test_huge_and_negative_times(rng, dt0, origin):
    t, ch = hbt_stream(
        rng, 0, 2_000_000, {1: 2e-5, 2: 2e-5}, pair_rate=2e-5, lag_spread=5_000, grid=7
    )
    t = t + origin
    batch = batch_of(t, ch, origin, origin + 2_000_000)
    for split in (-1, 0, 2, 5):
        parts = batch.split_at(random_cuts(rng, batch, 10))
        check_against_reference(t, ch, parts, 1, 2, dt0, 500_000, 4, split, 33, 17)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    split=st.integers(-1, 12),
    block=st.integers(1, 300),
    span=st.integers(2, 300),
    half=st.sampled_from([1, 2, 4, 8]),
    auto=st.booleans(),
)
def test_property_pauses_empty_batches_and_any_split(seed, split, block, span, half, auto):
    # bursts of tags with long dark pauses (also across batch ends), empty batches, a third
    # channel that is not correlated, and any split level and block size
    rng = np.random.default_rng(seed)
    pieces = []
    for start in rng.choice(np.arange(0, 2_000_000, 10_000), 6, replace=False):
        pieces.append(
            hbt_stream(
                rng,
                int(start),
                int(start) + 3_000,
                {1: 3e-3, 2: 2e-3, 4: 3e-3},
                pair_rate=1e-3,
                lag_spread=50,
                grid=int(rng.integers(1, 5)),
            )
        )
    t, ch = merge([(p[0][p[1] == c], c) for p in pieces for c in (1, 2, 4)])
    batch = batch_of(t, ch, 0, 2_000_000)
    parts = batch.split_at(np.sort(random_cuts(rng, batch, 8)))
    check_against_reference(
        t, ch, parts, 1, 1 if auto else 2, 3, 1_000_000, half, split, block, span
    )


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    dt0=st.sampled_from([1, 3, 16, 100]),
    half=st.sampled_from([1, 2, 4, 8]),
    threads=st.integers(2, 5),
    n_cuts=st.integers(0, 4),
    auto=st.booleans(),
    grid=st.sampled_from([1, 7, 40]),
    origin=st.sampled_from([0, -(2**62), 2**63 - 200_000]),
)
def test_batches_counted_on_threads_equal_the_reference(
    seed, dt0, half, threads, n_cuts, auto, grid, origin
):
    """Pieces counted apart and joined (pairs across each cut from the history, histories
    joined): equal to the reference, with equal times on both sides of a cut (coarse grids),
    the cut inside a cell, channels that are neither A nor B, and times near the ends of the
    int64 range (the cells after a cut reach past the largest time)."""
    from tagstream.analysis import parallel

    rng = np.random.default_rng(seed)
    t, ch = hbt_stream(
        rng, 0, 100_000, {1: 2e-3, 2: 2e-3, 5: 1e-3}, pair_rate=5e-4,
        lag_spread=int(rng.integers(1, 2_000)), grid=grid,
    )  # fmt: skip
    t = t + origin
    batch = batch_of(t, ch, origin, origin + 100_000)
    b = 1 if auto else 2
    g = LogG2Analyzer(1, b, tau_min=dt0, tau_max=dt0 * 5_000, per_octave=half, threads=threads)
    old = parallel.MIN_TAGS_PER_THREAD
    parallel.MIN_TAGS_PER_THREAD = 20
    try:
        for part in batch.split_at(random_cuts(rng, batch, n_cuts)):
            g.process(part)
    finally:
        parallel.MIN_TAGS_PER_THREAD = old
    ab, ba = reference.multitau_counts(t, ch, 1, b, dt0, g.levels, half)
    ref_ab, ref_ba = owned(ab, ba, g.levels, half)
    res = g.result()
    np.testing.assert_array_equal(res.counts_ab, ref_ab)
    np.testing.assert_array_equal(res.counts_ba, ref_ba)
