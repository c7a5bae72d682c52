"""Change-point intensity levels: kernels against references, the null tables, chunking, and
recovery of blinking from photons of the separately written generator (``tests.world``)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tagstream.analysis.changepoint_null import ALPHAS, N_GRID, SPANS, critical_value
from tagstream.analysis.changepoints import find_changes
from tagstream.analysis.levels import WINDOW, LevelsAnalyzer
from tagstream.analysis.trace import TraceAnalyzer
from tagstream.kernels.changepoint import (
    best_pair,
    best_split,
    null_maxima,
    null_pair_maxima,
    quiet_windows,
    window_lengths,
)
from tagstream.kernels.random import new_state
from tagstream.tags import ChannelMap, RunMetadata, TagBatch
from tests import reference
from tests.world.emitter import Detector, Setup, Telegraph, pulsed

CHANNELS = ChannelMap.from_dict({"A": 1, "B": 2})


def _times(rng, n, span=10**9):
    return np.sort(rng.integers(0, span, n)).astype(np.int64)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 50, 400])
def test_split_and_pair_kernels_equal_the_reference(n):
    rng = np.random.default_rng(n)
    for trial in range(20):
        t = _times(rng, n)
        if trial % 4 == 1 and n > 3:
            t[1:3] = t[1]  # equal times
        if trial % 4 == 2 and n > 0:
            t[0] = 0  # a photon on the segment's start
        if trial % 4 == 3:
            t = _times(rng, n, span=max(n // 2, 1))  # coarse clock: many equal spans and times
        lo = int(rng.integers(0, max(n // 3, 1))) if n else 0
        hi = n - int(rng.integers(0, max(n // 3, 1))) if n else 0
        a = 0
        b = int(t[-1]) + 1 + int(rng.integers(0, 10**6)) if n else 10**6
        stat, j = best_split(t, lo, hi, a, b)
        ref, ref_j = reference.changepoint_split(t, lo, hi, a, b)
        assert stat == pytest.approx(ref, rel=1e-12, abs=1e-12)
        assert j == ref_j
        stat, j1, j2 = best_pair(t, lo, hi, a, b, SPANS)
        ref, r1, r2 = reference.changepoint_pair(t, lo, hi, a, b, SPANS)
        assert stat == pytest.approx(ref, rel=1e-12, abs=1e-12)
        assert (j1, j2) == (r1, r2)


@pytest.mark.parametrize("n", [3, 40, 900, 3000])
def test_with_a_floor_the_kernels_are_exact_above_it_and_below_it_otherwise(n):
    """A floor (the critical value) skips positions whose bound cannot exceed it: the result
    equals the full search whenever the largest statistic is above the floor, and stays at or
    below it otherwise. Streams with steps, excursions and coarse clocks put the largest
    statistic on both sides of the floors."""
    rng = np.random.default_rng(7 + n)
    above = below = 0
    for trial in range(24):
        rates = rng.choice([1.0, 1.0, 1.3, 3.0, 0.2], size=3)
        cuts = np.sort(rng.integers(0, n, 2))
        gaps = rng.exponential(1.0, n) / np.repeat(rates, np.diff([0, *cuts, n]))
        t = np.cumsum(gaps * 1e6).astype(np.int64)
        if trial % 6 == 5:
            t = t // 10**6 * 10**6  # coarse clock: equal times and equal spans
        a, b = 0, int(t[-1]) + int(rng.integers(1, 10**6))
        for floor in (0.5, 5.0, 15.0, 30.0, 200.0, float(rng.uniform(0, 60))):
            ref, ref_j = reference.changepoint_split(t, 0, n, a, b)
            stat, j = best_split(t, 0, n, a, b, floor)
            if ref > floor:
                above += 1
                assert stat == pytest.approx(ref, rel=1e-12) and j == ref_j
            else:
                below += 1
                assert stat <= floor
            ref, r1, r2 = reference.changepoint_pair(t, 0, n, a, b, SPANS)
            stat, j1, j2 = best_pair(t, 0, n, a, b, SPANS, floor)
            if ref > floor:
                above += 1
                assert stat == pytest.approx(ref, rel=1e-12) and (j1, j2) == (r1, r2)
            else:
                below += 1
                assert stat <= floor
    assert above > 20 and below > 20


def _quiet_reference(t, a, window, critical, critical_pair):
    """Windows without a change, one after another, by the full searches of the reference."""
    p = 0
    while t.size - p > window:
        b = int(t[p + window])
        if reference.changepoint_split(t, p, p + window, a, b)[0] > critical:
            break
        if reference.changepoint_pair(t, p, p + window, a, b, SPANS)[0] > critical_pair:
            break
        a = int(t[p + window // 2])
        p += window // 2 + 1
    return p, a


@pytest.mark.parametrize("window", [8, 64, 200])
def test_quiet_windows_move_as_far_as_the_full_search_says(window):
    """The windows the kernel settles in one call (lengths kept from one window to the next)
    are those the full searches find quiet, with the same next start; on steady streams, rare
    steps and excursions, and a coarse clock (equal times, spans as long as the segment)."""
    rng = np.random.default_rng(window)
    moved = stopped = 0
    for trial in range(30):
        n = int(rng.integers(window, 12 * window))
        rate = np.ones(n)
        for _ in range(int(rng.integers(0, 3))):
            i = int(rng.integers(0, n))
            rate[i : i + int(rng.integers(1, window))] *= rng.choice([0.1, 4.0])
        t = np.cumsum(rng.exponential(1e6, n) / rate).astype(np.int64)
        if trial % 5 == 4:
            t = t // 10**7 * 10**7
        a = int(t[0]) - int(rng.integers(0, 10**6))
        critical, critical_pair = float(rng.uniform(8, 16)), float(rng.uniform(14, 26))
        got = quiet_windows(t, a, window, critical, critical_pair, SPANS)
        want = _quiet_reference(t, a, window, critical, critical_pair)
        assert (int(got[0]), int(got[1])) == want
        moved += want[0] > window
        stopped += t.size - want[0] > window
    assert moved > 5 and stopped > 5


@pytest.mark.parametrize("window", [8, 64, 200])
def test_lengths_kept_between_windows_equal_a_fresh_search_of_each_window(window):
    """Each window's shortest and longest excursion per span, half of them kept from the window
    before, against a fresh pass over that window: the shortest longer than zero (with photons
    inside), the longest shorter than the segment (with photons outside); a length outside
    these has no likelihood (:func:`reference.changepoint_pair` skips it)."""
    rng = np.random.default_rng(window + 1)
    for trial in range(12):
        n = int(rng.integers(window + 1, 10 * window))
        t = np.cumsum(rng.exponential(1e6, n)).astype(np.int64)
        if trial % 3 == 2:
            t = t // 10**7 * 10**7  # equal times; spans as long as the segment
        kept = np.empty((2, SPANS.size), np.int64)
        got = np.empty((2, SPANS.size), np.int64)
        p, a, fresh = 0, int(t[0]) - int(trial % 2) * 10**5, True
        while t.size - p > window:
            length = int(t[p + window]) - a
            if length > 0:
                window_lengths(t, p, window, length, SPANS, fresh, kept, got)
                for s, d in enumerate(SPANS):
                    want = (-1, -1)
                    if d <= window - 1:
                        w = [int(t[j + d] - t[j]) for j in range(p, p + window - d)]
                        short = [x for x in w if not (d > 1 and x <= 0)]
                        long_ = [x for x in w if not (window - 1 - d > 0 and x >= length)]
                        want = (min(short, default=-1), max(long_, default=-1))
                    assert tuple(got[:, s]) == want, (trial, p, d)
            fresh = length <= 0
            a = int(t[p + window // 2])
            p += window // 2 + 1


def test_a_segment_of_no_length_or_one_photon_never_splits():
    t = np.array([5, 5, 5], np.int64)
    assert best_split(t, 0, 3, 5, 5)[0] == 0.0
    assert best_split(t, 0, 1, 0, 10)[0] == 0.0
    assert find_changes(np.zeros(0, np.int64), 0, 0, 0, 10, 0.01) == []


@pytest.mark.parametrize("n", [20, 700])
def test_the_critical_values_are_the_quantiles_of_a_fresh_monte_carlo(n):
    """The tabulated quantiles against 6000 new draws (the table's error and theirs, 0.1-0.4)."""
    state = new_state(99 + n)
    single = null_maxima(n, 6000, state)
    pair = null_pair_maxima(n, 6000, SPANS, state)
    for alpha in (0.05, 0.01):
        tolerance = 0.4 if alpha == 0.05 else 0.8
        assert np.quantile(single, 1 - alpha) == pytest.approx(
            critical_value(n, alpha), abs=tolerance
        )
        assert np.quantile(pair, 1 - alpha) == pytest.approx(
            critical_value(n, alpha, pair=True), abs=tolerance
        )


def test_the_tables_grow_with_the_photons_and_with_stricter_alpha():
    for pair in (False, True):
        values = [critical_value(N_GRID[N_GRID >= 3], a, pair=pair) for a in ALPHAS]
        for v in values:
            assert np.all(np.diff(v) >= 0)
        assert np.all(values[0] < values[1]) and np.all(values[1] < values[2])


def test_a_steady_stream_rarely_gets_a_change_point():
    """Constant-rate photons: streams with any change point, at most about 2 alpha per tested
    segment (the single and the excursion test)."""
    rng = np.random.default_rng(7)
    with_change = 0
    for _ in range(300):
        t = _times(rng, 1500)
        with_change += bool(find_changes(t, 0, t.size, 0, 10**9, 0.01))
    assert with_change / 300 < 0.05


def _telegraph_batch(rng, duration_ps, on_cps, off_cps, on_ps=50e9, off_ps=20e9):
    """Photons of an ON/OFF emitter from the separately written generator (pulsed, T2, two
    detectors of unequal efficiency with dark counts); its truth."""
    setup = Setup(
        detectors=(Detector("A", 1, 0.6, dark_cps=30.0), Detector("B", 2, 0.4, dark_cps=50.0)),
        splitter=0.5,
    )
    period = 1_000_000  # 1 MHz: few enough pulses for the generator's memory
    # detected signal = mean_photons * per-pulse rate * efficiencies (0.5 * 0.6 + 0.5 * 0.4)
    mean = on_cps / (0.5 * 1e12 / period)
    telegraph = Telegraph(
        {"on": (1.0, None), "off": (off_cps / on_cps, None)},
        {"on": ("exp", on_ps), "off": ("exp", off_ps)},
    )
    world = pulsed(rng, duration_ps, setup, period, mean_photons=mean, blinking=telegraph)
    return world.batch, world.truth


def _levels(batch, chunks=1, **options):
    analyzer = LevelsAnalyzer(["A", "B"], channels=batch.metadata.channels, **options)
    edges = np.linspace(batch.t_begin, batch.t_end, chunks + 1).astype(np.int64)
    for t0, t1 in itertools.pairwise(edges):
        analyzer.process(batch.slice_time(int(t0), int(t1)))
    return analyzer.result()


@pytest.mark.parametrize(
    ("on_cps", "off_cps", "seed"), [(20_000, 500, 1), (5_000, 300, 2), (60_000, 2_000, 3)]
)
def test_levels_recover_the_on_fraction_and_the_switch_times(on_cps, off_cps, seed):
    """ON 50 ms / OFF 20 ms: the ON fraction within 0.02 of the realised one (the trace at
    10 ms bins is biased by several hundredths), and 85 % of the switches between dwells of at
    least 40 bright-photon intervals each (2 ms at 20 kcps) found within 3 photon intervals of
    the bright level, the median within one (the others land on a dim-state photon next to the
    switch, a few intervals off)."""
    rng = np.random.default_rng(seed)
    batch, truth = _telegraph_batch(rng, 20 * 10**12, on_cps, off_cps)
    levels = _levels(batch)
    true_on = truth["blinking"]["fractions"]["on"]
    assert levels.fit.n_states == 2
    assert levels.fractions["on"] == pytest.approx(true_on, abs=0.02)
    trace = TraceAnalyzer(["A", "B"], bin="10 ms", channels=batch.metadata.channels)
    trace.process(batch)
    thresholds_on = trace.result().states().fractions["on"]
    assert abs(levels.fractions["on"] - true_on) < abs(thresholds_on - true_on)
    switches = np.asarray(truth["blinking"]["switch_times"][1:], np.int64)
    dwell = np.diff(np.concatenate([[0], switches, [batch.t_end]]))
    interval_ps = 1e12 / on_cps
    clear = (dwell[:-1] > 40 * interval_ps) & (dwell[1:] > 40 * interval_ps)
    found = levels.switch_times_ps
    k = np.clip(np.searchsorted(found, switches), 1, found.size - 1)
    nearest = np.minimum(np.abs(found[k] - switches), np.abs(found[k - 1] - switches))
    within = nearest[clear] <= 3 * interval_ps
    assert within.mean() >= 0.85, np.sort(nearest[clear] / interval_ps)[-10:]
    assert np.median(nearest[clear]) <= interval_ps


def test_levels_are_the_same_in_any_chunking_and_across_gaps():
    rng = np.random.default_rng(11)
    batch, _ = _telegraph_batch(rng, 3 * 10**12, 20_000, 500)
    assert batch.timestamps.size > 4 * WINDOW
    whole = _levels(batch)
    for chunks in (7, 131):
        cut = _levels(batch, chunks)
        for name in ("starts_ps", "ends_ps", "live_ps", "counts"):
            assert np.array_equal(getattr(cut, name), getattr(whole, name)), name
    # single tags and empty batches
    analyzer = LevelsAnalyzer(["A", "B"], channels=batch.metadata.channels)
    ts = batch.timestamps
    edges = np.unique(np.concatenate([ts[:200], np.linspace(0, batch.t_end, 40).astype(np.int64)]))
    edges = np.concatenate([edges, [batch.t_end]])
    for t0, t1 in itertools.pairwise(edges):
        analyzer.process(batch.slice_time(int(t0), int(t1)))
    assert np.array_equal(analyzer.result().starts_ps, whole.starts_ps)


def test_lost_time_is_not_taken_for_an_off_period():
    """A steady emitter with 200 ms lost in the middle: one level, its live time the run less
    the loss."""
    rng = np.random.default_rng(5)
    n = 40_000
    t = _times(rng, n, 2 * 10**12)
    lost = (t >= 10**12) & (t < 1.2 * 10**12)
    t = t[~lost]
    md = RunMetadata("steady", CHANNELS)
    ch = np.ones(t.size, np.uint8)
    first = TagBatch(t[t < 10**12], ch[t < 10**12], 0, 10**12, metadata=md)
    second = TagBatch(t[t >= 10**12], ch[t >= 10**12], int(1.2e12), 2 * 10**12, metadata=md)
    analyzer = LevelsAnalyzer(["A"], channels=CHANNELS)
    analyzer.process(first)
    analyzer.process(second)
    levels = analyzer.result()
    assert levels.n_levels <= 2
    assert levels.live_ps.sum() == int(1.8e12)
    assert levels.fit.n_states == 1
    assert levels.starts_ps[0] == 0 and levels.ends_ps[-1] == 2 * 10**12


def test_states_must_be_distinct_in_intensity_and_time():
    """Levels that differ by counting-significant but small amounts (a drift of 2 %) are one
    state; a short level caught mid-switch is not a state of its own; ON and OFF levels are two."""
    from tagstream.analysis.level_states import MIN_CONTRAST, fit_states

    live = np.full(6, 0.2)
    drift = np.array([200_000, 204_000, 200_500, 203_800, 200_200, 204_100])  # 1.0 / 1.02 Mcps
    assert fit_states(drift, live).n_states == 1
    assert fit_states(drift, live, n_states=2).n_states == 2  # asked for: given
    on_off = np.array([200_000, 1_000, 200_400, 1_050, 199_800, 950], float)
    with_blip = np.concatenate([on_off, [11]])  # 11 photons in 40 µs: neither state
    fit = fit_states(with_blip, np.concatenate([live, [4e-5]]))
    assert fit.n_states == 2 and fit.rates_cps[1] / fit.rates_cps[0] > MIN_CONTRAST
    assert list(fit.state[:6]) == [1, 0, 1, 0, 1, 0]


def test_a_dot_off_most_of_the_time_keeps_its_on_state():
    """ON 0.6 % of the time at 14x the OFF intensity: a few per cent of the photons, so the ON
    state stays (its share of the time alone is below the least share)."""
    from tagstream.analysis.level_states import fit_states

    live = np.array([0.5, 0.001, 0.4, 0.002, 0.6, 0.0015, 0.5])
    rates = np.array([4500, 62_000, 4500, 62_000, 4500, 62_000, 4500])
    counts = np.round(rates * live)
    fit = fit_states(counts, live)
    assert fit.n_states == 2 and list(fit.state) == [0, 1, 0, 1, 0, 1, 0]
