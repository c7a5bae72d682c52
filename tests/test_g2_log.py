"""The multi-tau correlator against the cell-pair reference, in every chunking."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagstream.analysis.g2_log import LogG2Analyzer
from tagstream.errors import AnalysisError
from tagstream.tags import TagBatch

from . import reference
from .streams import batch_of, hbt_stream, random_cuts


def run_chunks(parts, a=1, b=2, dt0=10, tau_max=50_000, half=4):
    g = LogG2Analyzer(a, b, tau_min=dt0, tau_max=tau_max, per_octave=half)
    for part in parts:
        g.process(part)
    return g, g.result()


def owned(ab, ba, levels, half):
    level = [0] * (2 * half) + sum(([k] * half for k in range(1, levels)), [])
    lag = list(range(2 * half)) + list(range(half, 2 * half)) * (levels - 1)
    return ab[level, lag], ba[level, lag]


@pytest.fixture
def stream(rng):
    t, ch = hbt_stream(rng, 0, 300_000, {1: 2e-3, 2: 1e-3, 0: 1e-3}, pair_rate=1e-3,
                       lag_spread=300, grid=3)
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
    g, res = run_chunks([TagBatch.empty(0, 10_000), TagBatch.empty(10_000, 20_000)])
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
@given(seed=st.integers(0, 2**32 - 1), dt0=st.sampled_from([1, 3, 16, 100]),
       half=st.sampled_from([1, 2, 4, 8]), n_cuts=st.integers(0, 30), auto=st.booleans())
def test_property_random_streams_and_chunkings(seed, dt0, half, n_cuts, auto):
    rng = np.random.default_rng(seed)
    t, ch = hbt_stream(rng, 0, 100_000, {1: 1e-3, 2: 1e-3, 5: 1e-3}, pair_rate=5e-4,
                       lag_spread=int(rng.integers(1, 2_000)), grid=int(rng.integers(1, 30)))
    batch = batch_of(t, ch, 0, 100_000)
    parts = batch.split_at(random_cuts(rng, batch, n_cuts))
    b = 1 if auto else 2
    g, res = run_chunks(parts, 1, b, dt0=dt0, tau_max=dt0 * 5_000, half=half)
    ab, ba = reference.multitau_counts(t, ch, 1, b, dt0, g.levels, half)
    ref_ab, ref_ba = owned(ab, ba, g.levels, half)
    np.testing.assert_array_equal(res.counts_ab, ref_ab)
    np.testing.assert_array_equal(res.counts_ba, ref_ba)
