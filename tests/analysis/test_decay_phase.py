"""Decay histograms and FLID folded onto the laser period (divided sync, channel delays) against
slow references, in every chunking and at the edges."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagstream.analysis.flid import FlidAnalyzer
from tagstream.analysis.laser_phase import (
    channel_offsets,
    divider_of,
    phase_fold,
    pulses_per_sync,
)
from tagstream.analysis.lifetime import LifetimeAnalyzer
from tagstream.errors import AnalysisError
from tagstream.tags import Channel, ChannelMap, Role, RunMetadata, TagBatch

from .. import reference
from ..streams import merge, random_cuts

LASER = 12_500
CHANNELS = ChannelMap([Channel(0, "sync", Role.SYNC), Channel(1, "A"), Channel(2, "B")])


def t2_divided(rng, t_end, divider, delays=(0, 0), grid=1):
    """Pulses every LASER ps, a sync tag on every ``divider``-th; photons after random pulses."""
    syncs = np.arange(0, t_end, LASER * divider, dtype=np.int64) + 37
    parts = [(syncs[syncs < t_end], 0)]
    for c, delay in zip((1, 2), delays, strict=True):
        pulses = rng.integers(0, t_end // LASER, rng.poisson(4e-4 * t_end / 2)) * LASER
        t = pulses + rng.exponential(2_000, pulses.size).astype(np.int64) + delay
        parts.append((np.clip(t // grid * grid, 0, t_end - 1), c))
    return merge(parts)


def metadata(mode, divider, unit=None, tcspc=None):
    return RunMetadata(
        "test",
        CHANNELS,
        mode=mode,
        sync_period_ps=LASER * divider,
        laser_period_ps=LASER,
        nanotime_unit_ps=unit,
        nanotime_range_ps=tcspc,
    )


RANGES = [None, (-2_000, 10_500), (1_000, 4_000), (-600, 11_900)]


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    divider=st.sampled_from([1, 2, 4, 64]),
    delay_b=st.sampled_from([0, 5_000, -3_000, 40_000]),
    n_cuts=st.integers(0, 15),
    width=st.sampled_from([16, 50, 125]),
    span=st.sampled_from(RANGES),
)
def test_t2_folded_matches_reference(seed, divider, delay_b, n_cuts, width, span):
    rng = np.random.default_rng(seed)
    t_end = 4_000_000
    t, ch = t2_divided(rng, t_end, divider, (0, delay_b), grid=4)
    md = metadata("T2", divider)
    batch = TagBatch(t, ch, 0, t_end, metadata=md, sync_period_ps=md.sync_period_ps)
    delays = {"B": delay_b} if delay_b else None
    lt = LifetimeAnalyzer(["A", "B"], bin=width, channels=CHANNELS, delays=delays, range=span)
    for part in batch.split_at(random_cuts(rng, batch, n_cuts)):
        lt.process(part)
    fold = lt.fold
    assert fold.divider == divider and fold.period_ps == LASER
    start, stop = span or (0, LASER)
    n_bins = len(lt.edges_ps) - 1
    assert lt.edges_ps[0] == start and start + n_bins * width <= start + LASER
    assert stop - width < lt.edges_ps[-1] <= max(stop, start + LASER)
    ref = reference.decay_phase(
        reference.delays_since_sync(t, ch, 0), ch, [1, 2], channel_offsets(delays, CHANNELS),
        fold.reach_ps, LASER, start, width, n_bins,
    )  # fmt: skip
    np.testing.assert_array_equal(lt.result("A").counts, ref[0])
    np.testing.assert_array_equal(lt.result("B").counts, ref[1])
    if span is None:  # every photon after the first sync, but the part of the period beyond
        after_sync = np.count_nonzero((ch != 0) & (t >= t[ch == 0][0]))  # the last whole bin
        assert ref.sum() >= after_sync * (n_bins * width / LASER) - 5 * np.sqrt(after_sync)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    divider=st.sampled_from([1, 3, 4, 16]),
    unit=st.sampled_from([1.0, 4.0, 25.0, 2.5]),
    tcspc_periods=st.sampled_from([None, 0.6, 1.5, 2.0]),
    delay_a=st.sampled_from([0, 700]),
    n_cuts=st.integers(0, 10),
    start=st.sampled_from([0, -1_000, 500]),
)
def test_t3_folded_matches_reference(seed, divider, unit, tcspc_periods, delay_a, n_cuts, start):
    rng = np.random.default_rng(seed)
    t_end = 2_000_000
    sync = LASER * divider
    n = 3_000
    nt = rng.integers(0, int(sync / unit), n).astype(np.int32)
    t = np.sort(rng.integers(0, t_end, n))
    ch = rng.integers(1, 3, n).astype(np.uint8)
    tcspc = None if tcspc_periods is None else tcspc_periods * LASER
    md = metadata("T3", divider, unit=unit, tcspc=tcspc)
    batch = TagBatch(t, ch, 0, t_end, nanotimes=nt, metadata=md)
    width = {1.0: 50, 4.0: 48, 25.0: 50, 2.5: 25}[unit]
    delays = {"A": delay_a} if delay_a else None
    stop = start + 6_000
    lt = LifetimeAnalyzer(
        ["A", "B"], bin=width, channels=CHANNELS, delays=delays, range=(start, stop)
    )
    for part in batch.split_at(random_cuts(rng, batch, n_cuts)):
        lt.process(part)
    fold = lt.fold
    expect_reach = sync if tcspc is None else min(sync, (tcspc // LASER) * LASER or tcspc)
    assert fold.reach_ps == pytest.approx(expect_reach)
    n_bins = len(lt.edges_ps) - 1
    assert n_bins == -(-6_000 // width)
    ref = reference.decay_phase(
        nt * unit, ch, [1, 2], channel_offsets(delays, CHANNELS), fold.reach_ps, LASER, start,
        width, n_bins,
    )  # fmt: skip
    np.testing.assert_array_equal(lt.result("A").counts, ref[0])
    np.testing.assert_array_equal(lt.result("B").counts, ref[1])


def test_a_range_longer_than_the_period_is_refused():
    md = metadata("T2", 4)
    batch = TagBatch(np.array([0, 100]), np.array([0, 1]), 0, 1_000, metadata=md)
    with pytest.raises(AnalysisError, match="longer than the laser period"):
        LifetimeAnalyzer("A", channels=CHANNELS, range=("0 ns", "50 ns")).process(batch)


def test_a_late_sync_delays_every_photon():
    """A delay on the sync channel moves every photon's phase the other way."""
    md = metadata("T2", 1)
    t = np.array([1_000, 4_000, 14_000])
    ch = np.array([0, 1, 1])
    batch = TagBatch(t, ch, 0, 20_000, metadata=md)
    lt = LifetimeAnalyzer("A", bin=100, channels=CHANNELS, delays={"sync": "500 ps"})
    lt.process(batch)
    counts = lt.result().counts
    assert counts[35] == 1 and counts[10] == 1 and counts.sum() == 2  # 13.5 ns: the next pulse


def test_phase_edges_and_wraparound():
    """Delays at exact multiples of the period, just below them, a late sync, and one beyond
    the reach; through the kernel (bins of 1 ps) and the reference alike."""
    offsets = channel_offsets({"A": 300}, CHANNELS)
    fold = phase_fold("T2", 4 * LASER, LASER, offsets_ps=offsets)
    assert fold.reach_ps == 5 * LASER
    d = [0, LASER, 2 * LASER - 1, 3 * LASER, 100, 4 * LASER + 50, 5 * LASER + 1]
    ch = [2, 2, 2, 2, 1, 2, 2]
    want = [0, 0, LASER - 1, 0, LASER - 200, 50, None]
    for delay, c, phase in zip(d, ch, want, strict=True):
        if phase is not None:
            assert reference.phase_of(delay, offsets[c], LASER) == phase
    md = metadata("T2", 4)
    order = np.argsort([0, *d], kind="stable")
    t = np.array([0, *d])[order]
    channels = np.array([0, *ch])[order]
    lt = LifetimeAnalyzer(["A", "B"], bin=1, channels=CHANNELS)
    lt.process(TagBatch(t, channels, 0, 10 * LASER, metadata=md))
    lt_delays = LifetimeAnalyzer(["A", "B"], bin=1, channels=CHANNELS, delays={"A": 300})
    lt_delays.process(TagBatch(t, channels, 0, 10 * LASER, metadata=md))
    b = lt_delays.result("B").counts
    assert b[0] == 3 and b[LASER - 1] == 1 and b[50] == 1 and b.sum() == 5  # not 5 P + 1
    a = lt_delays.result("A").counts
    assert a[LASER - 200] == 1 and lt.result("A").counts[100] == 1


def test_single_tag_and_empty_batches():
    md = metadata("T2", 4)
    lt = LifetimeAnalyzer("A", bin=100, channels=CHANNELS)
    lt.process(TagBatch.empty(0, 1_000, metadata=md, sync_period_ps=md.sync_period_ps))
    lt.process(TagBatch(np.array([2_000]), np.array([0]), 1_000, 3_000, metadata=md))
    lt.process(TagBatch.empty(3_000, 5_000, metadata=md))
    lt.process(TagBatch(np.array([2_000 + 3 * LASER + 250]), np.array([1]), 5_000, 50_000,
                        metadata=md))  # fmt: skip
    counts = lt.result().counts
    assert counts.sum() == 1 and counts[2] == 1


def test_divider_must_be_whole():
    assert divider_of(50_000, 12_500) == 4
    assert divider_of(50_004, 12_500) == 4  # within the tolerance: a rate meter's reading
    with pytest.raises(AnalysisError, match="whole number"):
        divider_of(30_000, 12_500)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), divider=st.sampled_from([2, 4]), n_cuts=st.integers(0, 10))
def test_flid_t2_folded_matches_reference(seed, divider, n_cuts):
    rng = np.random.default_rng(seed)
    t_end = 2_000_000
    t, ch = t2_divided(rng, t_end, divider)
    md = metadata("T2", divider)
    batch = TagBatch(t, ch, 0, t_end, metadata=md, sync_period_ps=md.sync_period_ps)
    fl = FlidAnalyzer(["A", "B"], bin=100_000, channels=CHANNELS)
    for part in batch.split_at(random_cuts(rng, batch, n_cuts)):
        fl.process(part)
    res = fl.result()
    delays = reference.delays_since_sync(t, ch, 0)
    counts = np.zeros(20, np.int64)
    timed = np.zeros(20, np.int64)
    total = np.zeros(20, np.int64)
    for x, c, d in zip(t, ch, delays, strict=True):
        if c == 0:
            continue
        k = int(x) // 100_000
        counts[k] += 1
        if d is not None and d < fl.fold.reach_ps:
            timed[k] += 1
            total[k] += int(np.floor(reference.phase_of(d, 0.0, LASER)))
    np.testing.assert_array_equal(res.counts, counts)
    np.testing.assert_array_equal(res.timed, timed)
    np.testing.assert_array_equal(res.delay_sum, total)
    assert res.delay_unit_ps == 1.0
    assert np.nanmax(res.mean_delay_ps) < LASER


def test_poisson_background_is_flat_after_folding(rng):
    """Uncorrelated photons fill every phase bin equally at any divider: no phase is recorded
    more often than another (T3 with a TCSPC range that cuts a period short)."""
    t_end = 10**10
    n = 400_000
    divider, unit = 4, 4.0
    tcspc = 2.6 * LASER  # records two whole periods of the four
    nt = rng.integers(0, int(tcspc / unit), n).astype(np.int32)
    t = np.sort(rng.integers(0, t_end, n))
    md = metadata("T3", divider, unit=unit, tcspc=tcspc)
    batch = TagBatch(t, np.ones(n, np.uint8), 0, t_end, nanotimes=nt, metadata=md)
    lt = LifetimeAnalyzer("A", bin=500, channels=CHANNELS)
    lt.process(batch)
    counts = lt.result().counts
    assert counts.size == LASER // 500
    expected = n * (2 * LASER / tcspc) / counts.size
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))


@pytest.mark.parametrize("divider", [1, 2, 3, 4, 16, 64])
@pytest.mark.parametrize("grid", [1, 4, 25])
def test_pulses_per_sync_found_from_delays(divider, grid):
    """Delays after a divided sync show the pulses per sync: short and long decays, dark
    counts, and delays on the grid of the time resolution (which must not read as pulses)."""
    rng = np.random.default_rng(divider * 100 + grid)
    for tau in (200.0, 3_000.0, 20_000.0):
        n = 20_000
        pulse = rng.integers(0, divider, n) * LASER
        d = (pulse + rng.exponential(tau, n) + rng.normal(0, 50, n) + 300) % (divider * LASER)
        d = np.concatenate([d, rng.uniform(0, divider * LASER, 2_000)])
        d = np.floor(d / grid) * grid
        assert pulses_per_sync(d, divider * LASER, grid_ps=grid) == divider


def test_pulses_per_sync_without_pulses_is_none(rng):
    assert pulses_per_sync(np.floor(rng.uniform(0, 50_000, 100_000)), 50_000) is None
    assert pulses_per_sync(np.array([1.0, 2.0]), 50_000) is None  # too few photons
    assert pulses_per_sync(np.zeros(0), 50_000) is None
