"""Decay histograms (T3 nanotimes, T2 delay since sync) against the reference, in every chunking."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagstream.analysis.lifetime import LifetimeAnalyzer
from tagstream.errors import AnalysisError
from tagstream.tags import Channel, ChannelMap, Role, TagBatch

from .. import reference
from ..streams import merge, poisson_times, random_cuts

PERIOD = 12_500
CHANNELS = ChannelMap([Channel(0, "sync", Role.SYNC), Channel(1, "A"), Channel(2, "B")])


def t2_stream(rng, t_end, grid=1):
    syncs = np.arange(0, t_end, PERIOD, dtype=np.int64) + 37
    syncs = syncs[syncs < t_end]
    photons = []
    for c in (1, 2):
        base = poisson_times(rng, 2e-4, 0, t_end)
        photons.append(
            ((base + rng.exponential(2_000, base.size).astype(np.int64)) // grid * grid, c)
        )
    t, ch = merge([(syncs, 0), *[(np.clip(p, 0, t_end - 1), c) for p, c in photons]])
    return t, ch


def run(parts, **kw):
    lt = LifetimeAnalyzer(["A", "B"], channels=CHANNELS, **kw)
    for p in parts:
        lt.process(p)
    return lt


def test_t2_matches_reference_in_any_chunking(rng):
    t, ch = t2_stream(rng, 3_000_000, grid=16)
    batch = TagBatch(t, ch, 0, 3_000_000, sync_period_ps=PERIOD)
    ref = reference.decay_t2(t, ch, 0, [1, 2], 0, 16, PERIOD // 16)
    whole = run([batch], bin="16 ps")
    np.testing.assert_array_equal(whole.result("A").counts, ref[0])
    np.testing.assert_array_equal(whole.result("B").counts, ref[1])
    assert ref.sum() > 1000
    for _ in range(4):
        parts = batch.split_at(random_cuts(rng, batch, 40))
        lt = run(parts, bin="16 ps")
        np.testing.assert_array_equal(lt.result("A").counts, ref[0])


def test_t2_gaps_forget_the_sync(rng):
    t, ch = t2_stream(rng, 1_000_000)
    gap = (400_003, 520_000)
    keep = (t < gap[0]) | (t >= gap[1])
    t, ch = t[keep], ch[keep]
    batch = TagBatch(t, ch, 0, 1_000_000, gaps=[gap], sync_period_ps=PERIOD)
    ref = reference.decay_t2(t, ch, 0, [1, 2], 100, 50, 200, resets=[gap[1]])
    for parts in ([batch], batch.split_at(random_cuts(rng, batch, 20))):
        lt = run(parts, bin="50 ps", range=(100, 100 + 200 * 50))
        np.testing.assert_array_equal(lt.result("A").counts, ref[0])
        np.testing.assert_array_equal(lt.result("B").counts, ref[1])


def test_t2_hole_between_batches_forgets_the_sync():
    t = np.array([0, 10, 5000], np.int64)
    ch = np.array([0, 1, 1], np.uint8)
    parts = [TagBatch(t[:2], ch[:2], 0, 1000), TagBatch(t[2:], ch[2:], 2000, 6000)]
    lt = run(parts, bin="1 ps", range=(0, 10_000))
    assert lt.result("A").counts.sum() == 1  # the photon after the hole has no known sync


def test_photons_before_first_sync_and_exact_edges():
    t = np.array([5, 100, 100, 116, 131, 132, 100 + PERIOD - 5, 100 + PERIOD - 1], np.int64)
    ch = np.array([1, 0, 1, 1, 2, 2, 1, 1], np.uint8)
    lt = run([TagBatch(t, ch, 0, 20_000, sync_period_ps=PERIOD)], bin="16 ps")
    a = lt.result("A").counts
    # the default range holds the whole 16 ps bins of one period: a delay of PERIOD - 1 is out
    assert len(a) == PERIOD // 16
    assert a[0] == 1 and a[1] == 1 and a[-1] == 1 and a.sum() == 3
    b = lt.result("B").counts
    assert b[1] == 1 and b[2] == 1


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    unit=st.sampled_from([1, 4, 25]),
    factor=st.integers(1, 9),
    start=st.integers(0, 300),
    n_cuts=st.integers(0, 20),
)
def test_t3_matches_reference(seed, unit, factor, start, n_cuts):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 3000))
    t = np.sort(rng.integers(0, 10**7, n)).astype(np.int64)
    ch = rng.choice(np.array([1, 2, 3], np.uint8), n)
    nt = rng.integers(0, PERIOD // unit, n).astype(np.uint16)
    batch = TagBatch(t, ch, 0, 10**7, nanotimes=nt, nanotime_unit_ps=unit, sync_period_ps=PERIOD)
    n_bins = -(-(PERIOD // unit - start) // factor)
    ref = reference.decay_t3(ch, nt, [1, 2], start, factor, n_bins)
    parts = batch.split_at(random_cuts(rng, batch, n_cuts)) if n else [batch]
    lt = run(parts, bin=unit * factor, range=(start * unit, PERIOD))
    np.testing.assert_array_equal(lt.result("A").counts, ref[0])
    np.testing.assert_array_equal(lt.result("B").counts, ref[1])
    assert lt.result("A").edges_ps[0] == start * unit


def test_t3_bin_must_be_a_multiple_of_the_unit():
    batch = TagBatch(
        np.array([1], np.int64),
        np.array([1], np.uint8),
        0,
        10,
        nanotimes=np.array([3], np.uint16),
        nanotime_unit_ps=4,
        sync_period_ps=PERIOD,
    )
    with pytest.raises(AnalysisError, match="whole multiple"):
        run([batch], bin="10 ps")


def test_t2_needs_a_range_or_period():
    batch = TagBatch(np.array([1], np.int64), np.array([1], np.uint8), 0, 10)
    with pytest.raises(AnalysisError, match="range"):
        run([batch])


@pytest.mark.parametrize("threads", [2, 3])
def test_threads_split_decay_histograms_exactly(monkeypatch, rng, threads):
    from tagstream.analysis import parallel

    monkeypatch.setattr(parallel, "MIN_TAGS_PER_THREAD", 50)
    t, ch = t2_stream(rng, 2_000_000, grid=4)
    gap = (900_001, 1_000_000)
    keep = (t < gap[0]) | (t >= gap[1])
    t, ch = t[keep], ch[keep]
    batch = TagBatch(t, ch, 0, 2_000_000, gaps=[gap], sync_period_ps=PERIOD)
    ref = reference.decay_t2(t, ch, 0, [1, 2], 0, 16, PERIOD // 16, resets=[gap[1]])
    lt = run(batch.split_at(random_cuts(rng, batch, 5)), bin="16 ps", threads=threads)
    np.testing.assert_array_equal(lt.result("A").counts, ref[0])
    np.testing.assert_array_equal(lt.result("B").counts, ref[1])
    nt = rng.integers(0, PERIOD // 4, t.size).astype(np.uint16)
    t3 = TagBatch(
        t, ch, 0, 2_000_000, gaps=[gap], nanotimes=nt, nanotime_unit_ps=4, sync_period_ps=PERIOD
    )
    ref3 = reference.decay_t3(ch, nt, [1, 2], 0, 4, PERIOD // 16)
    lt3 = run(t3.split_at(random_cuts(rng, t3, 5)), bin="16 ps", threads=threads)
    np.testing.assert_array_equal(lt3.result("A").counts, ref3[0])
