"""The independent photon-stream generator ``tests.world`` checked against its definitions with
plain numpy estimates (no tagstream analysis is used): photon-number statistics per pulse,
rates, the raw pulsed g2(0) from coincidence counting, decay slopes, sync spacing, T3
nanotimes against the same photons in T2, the TCSPC range cut, the CW antibunching dip, dead
time, delays and jitter, blinking fractions and dwell laws, and the files it writes."""

from __future__ import annotations

import math
import struct
import warnings

import h5py
import numpy as np
import pytest

from tagstream.tags import Role

from ..pq_encoder import FORMATS
from ..world import (
    Detector,
    Setup,
    Telegraph,
    blinking_trace,
    cut_file,
    cw,
    dead_time_mask,
    photon_probabilities,
    ptu_events,
    pulsed,
    write_photon_hdf5,
    write_ptu,
)

SEED = 20261121


def _rng(k: int = 0) -> np.random.Generator:
    return np.random.default_rng(SEED + k)


def _times(world, name):
    b = world.batch
    return b.timestamps[b.channels == b.channel_number(name)]


def _coincidences(ta, tb, center, half):
    """Pairs (a, b) with ``tb - ta`` in ``[center - half, center + half)``."""
    hi = np.searchsorted(tb, ta + center + half, side="left")
    lo = np.searchsorted(tb, ta + center - half, side="left")
    return int((hi - lo).sum())


def _pair_delays(ta, tb, window):
    """All ``tb - ta`` with ``|tb - ta| < window``."""
    lo = np.searchsorted(tb, ta - window + 1, side="left")
    hi = np.searchsorted(tb, ta + window, side="left")
    n = hi - lo
    a_idx = np.repeat(np.arange(ta.size), n)
    offs = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    return tb[np.repeat(lo, n) + offs] - ta[a_idx]


# ---------------------------------------------------------------------- emitter statistics
def test_photon_probabilities_solve_the_definition():
    p1, p2 = photon_probabilities(0.4, 0.25)
    assert p1 + 2 * p2 == pytest.approx(0.4)
    assert 2 * p2 / 0.4**2 == pytest.approx(0.25)
    assert photon_probabilities(0.3, 0.0) == (pytest.approx(0.3), 0.0)
    with pytest.raises(ValueError, match="g2"):
        photon_probabilities(1.5, 1.0)  # would need p1 < 0
    with pytest.raises(ValueError):
        pulsed(_rng(), 10**6, Setup(), mean_photons=1.2, g2_zero=0.9)


def test_photons_per_pulse_and_cascade():
    """All light on one ideal detector: the per-pulse photon numbers give p1, p2 and the emitted
    g2(0) = 2 p2 / <n>^2; in two-photon pulses the second photon follows the first (biexciton)
    after the exciton delay."""
    setup = Setup(splitter=1.0)
    m, g, period = 0.5, 0.4, 12_500
    w = pulsed(
        _rng(1),
        2 * 10**9,
        setup,
        period,
        mean_photons=m,
        g2_zero=g,
        tau_ps=100.0,
        biexciton_tau_ps=40.0,
    )
    t = _times(w, "A")
    assert _times(w, "B").size == 0
    pulse, n = np.unique(t // period, return_counts=True)
    n_pulses = w.truth["n_pulses"]
    n1, n2 = int((n == 1).sum()), int((n == 2).sum())
    assert n.max() == 2
    p1, p2 = w.truth["p1"], w.truth["p2"]
    assert p1 == pytest.approx(m - g * m * m) and p2 == pytest.approx(g * m * m / 2)
    for got, p in ((n1, p1), (n2, p2)):
        assert abs(got - p * n_pulses) < 5 * math.sqrt(p * (1 - p) * n_pulses)
    mean = (n1 + 2 * n2) / n_pulses
    g_est = 2 * n2 / n_pulses / mean**2
    assert g_est == pytest.approx(g, abs=5 * g * math.sqrt(1 / n2 + 4 / (n1 + 2 * n2)))
    # cascade: first photon ~ Exp(40 ps) after the pulse, second one Exp(100 ps) later
    first = np.searchsorted(t // period, pulse[n == 2])
    d1 = t[first] - pulse[n == 2] * period
    d2 = t[first + 1] - t[first]
    assert d1.mean() == pytest.approx(40 - 0.5, abs=5 * 40 / math.sqrt(n2))
    assert d2.mean() == pytest.approx(100, abs=5 * 100 / math.sqrt(n2))


def test_pulsed_rates_sync_and_raw_g2_zero():
    """Unequal detectors, background, dark counts, a divided and delayed sync and a cable
    delay: count rates, sync tags, and the raw zero/adjacent peak ratio from coincidence
    counting in one-period windows against ``g2_zero_detected``."""
    period, divider = 12_500, 4
    setup = Setup(
        detectors=(
            Detector("A", 1, efficiency=0.6, jitter_ps=30, dark_cps=2000),
            Detector("B", 2, efficiency=0.8, delay_ps=2000, jitter_ps=50, dark_cps=1000),
        ),
        splitter=0.45,
        sync_divider=divider,
        sync_delay_ps=500,
    )
    duration = 4 * 10**10
    w = pulsed(
        _rng(2),
        duration,
        setup,
        period,
        mean_photons=0.5,
        g2_zero=0.08,
        tau_ps=800.0,
        collection=0.5,
        background_cps=1e6,
    )
    tr, b = w.truth, w.batch
    # rates
    for name in ("A", "B"):
        n = _times(w, name).size
        expected = tr["expected_cps"][name] * duration * 1e-12
        assert abs(n - expected) < 5 * math.sqrt(expected), name
    # sync tags: every divider-th pulse, delayed
    sync = _times(w, "sync")
    assert sync[0] == 500 and np.all(np.diff(sync) == period * divider)
    assert sync.size == -(-(duration - 500) // (period * divider))
    md = b.metadata
    assert md.sync_period_ps == period * divider and md.laser_period_ps == period
    assert md.channels["sync"].role == Role.SYNC and md.hbt_pair == ("A", "B")
    # raw g2(0): zero peak at the cable delay, adjacent peaks one laser period away
    ta, tb = _times(w, "A"), _times(w, "B")
    zero_at = tr["zero_delay_ps"]
    assert zero_at == 2000
    half = period // 2
    z = _coincidences(ta, tb, zero_at, half)
    sides = [_coincidences(ta, tb, zero_at + s * period, half) for s in (-1, 1)]
    s = sum(sides) / 2
    ratio = z / s
    err = ratio * math.sqrt(1 / z + 1 / (2 * s))
    assert tr["g2_zero_detected"] > tr["g2_zero"] + 0.05  # background matters here
    assert ratio == pytest.approx(tr["g2_zero_detected"], abs=4 * err)
    assert tr["jitter_ps"] == pytest.approx(math.hypot(30, 50))


def test_delays_and_jitter_move_each_detector():
    period, tau = 12_500, 300.0
    setup = Setup(
        detectors=(Detector("A", 1), Detector("B", 2, delay_ps=3000, jitter_ps=100.0)),
    )
    w = pulsed(_rng(3), 2 * 10**9, setup, period, mean_photons=0.8, tau_ps=tau, chunk_ps=3 * 10**8)
    pa, pb = _times(w, "A") % period, _times(w, "B") % period
    na, nb = pa.size, pb.size
    assert pa.mean() == pytest.approx(tau - 0.5, abs=5 * tau / math.sqrt(na))
    assert pb.mean() - pa.mean() == pytest.approx(3000, abs=5 * tau * math.sqrt(1 / na + 1 / nb))
    # variance: tau^2 (+1/12 from flooring) on A, plus jitter^2 on B
    var_err = math.sqrt(8 * tau**4 / na + 8 * tau**4 / nb)
    assert pb.var() - pa.var() == pytest.approx(100.0**2, abs=5 * var_err)


def test_long_lifetime_wraps_into_later_periods():
    """Delays longer than the period are absolute: the phase t mod P follows the wrapped
    exponential, mean tau - P q / (1 - q) with q = exp(-P / tau)."""
    period, tau = 12_500, 20_000.0
    w = pulsed(_rng(4), 4 * 10**9, Setup(), period, mean_photons=0.5, tau_ps=tau)
    phase = _times(w, "A") % period
    phase = np.concatenate([phase, _times(w, "B") % period])
    q = math.exp(-period / tau)
    expected = tau - period * q / (1 - q) - 0.5
    assert phase.mean() == pytest.approx(expected, abs=5 * period / math.sqrt(12 * phase.size))


# ---------------------------------------------------------------------- T3
def _last_sync(t, sync):
    k = np.searchsorted(sync, t, side="right") - 1
    return k


@pytest.mark.parametrize(
    ("divider", "delay", "tcspc_range"),
    [(1, 0, None), (3, 700, None), (2, -300, 9000.0), (4, 12_000, 30_000.0)],
)
def test_t3_is_t2_seen_from_the_last_sync(divider, delay, tcspc_range):
    """The same seed gives the same photons in T2 and T3. T3 nanotimes are the floor of the
    time since the last sync in units; photons before the first sync and beyond the TCSPC
    range are missing; timestamps are the sync time + nanotime * unit."""
    period, unit = 12_500, 4
    kw = dict(sync_divider=divider, sync_delay_ps=delay, nanotime_unit_ps=float(unit))
    args = dict(mean_photons=0.6, tau_ps=5000.0, background_cps=2e6)
    w2 = pulsed(_rng(5), 5 * 10**8, Setup(mode="T2", **kw), period, **args)
    w3 = pulsed(
        _rng(5), 5 * 10**8, Setup(mode="T3", tcspc_range_ps=tcspc_range, **kw), period, **args
    )
    b2, b3 = w2.batch, w3.batch
    sync = b2.timestamps[b2.channels == 0]
    assert np.all(np.diff(sync) == period * divider) and sync[0] == delay % (period * divider)
    photon = b2.channels != 0
    t, ch = b2.timestamps[photon], b2.channels[photon]
    k = _last_sync(t, sync)
    keep = k >= 0
    s = sync[np.maximum(k, 0)]
    nt = (t - s) // unit
    assert w3.truth["lost_t3"]["before_first_sync"] == int((~keep).sum())
    if tcspc_range is not None:
        in_range = nt * unit < tcspc_range
        assert w3.truth["lost_t3"]["tcspc_range"] == int((keep & ~in_range).sum()) > 0
        keep &= in_range
    np.testing.assert_array_equal(b3.nanotimes, nt[keep])
    np.testing.assert_array_equal(b3.channels, ch[keep])
    np.testing.assert_array_equal(b3.timestamps, s[keep] + nt[keep] * unit)
    np.testing.assert_array_equal(w3.photon_sync_times(), s[keep])
    assert np.all(b3.nanotimes.astype(np.int64) * unit < (tcspc_range or period * divider))
    md = b3.metadata
    assert md.mode == "T3" and md.nanotime_unit_ps == unit and md.resolution_ps == unit
    assert md.sync_period_ps == period * divider and md.laser_period_ps == period
    assert (b3.t_begin, b3.t_end) == (0, 5 * 10**8)


def test_t3_with_a_fractional_unit():
    """unit 2.5 ps: nanotime = floor((t - s) / 2.5) from the exact photon time, the timestamp
    s + floor(nanotime * 2.5) never passes the true time (here: the T2 time at 1 ps)."""
    kw = dict(mean_photons=0.8, tau_ps=400.0)
    w2 = pulsed(_rng(24), 2 * 10**8, Setup(), **kw)
    w3 = pulsed(_rng(24), 2 * 10**8, Setup(mode="T3", nanotime_unit_ps=2.5), **kw)
    t2 = _times(w2, "A"), _times(w2, "B")
    t2 = np.sort(np.concatenate(t2))
    b3 = w3.batch
    s = w3.photon_sync_times()
    assert np.all(s % 12_500 == 0)
    nt = b3.nanotimes.astype(np.int64)
    np.testing.assert_array_equal(b3.timestamps, s + np.floor(nt * 2.5).astype(np.int64))
    # t2 = floor(t): floor((t2 - s) / 2.5) is one bin low exactly when a bin edge k * 2.5 is
    # a half-integer in (t2, t]
    est = np.floor((t2 - s) / 2.5).astype(np.int64)
    edge_inside = (2 * (t2 - s) + 1) % 5 == 0
    np.testing.assert_array_equal(est[~edge_inside], nt[~edge_inside])
    assert np.all((est[edge_inside] == nt[edge_inside]) | (est[edge_inside] == nt[edge_inside] - 1))
    assert np.any(est[edge_inside] == nt[edge_inside] - 1)
    assert np.all(b3.timestamps <= t2)


def test_nanotime_histogram_slope():
    """Mono-exponential decay: the nanotime histogram is geometric with ratio exp(-unit/tau);
    the maximum-likelihood slope gives tau. A two-component mixture has the mean
    sum_i f_i q_i / (1 - q_i) with q_i = exp(-unit / tau_i)."""
    period, unit, tau = 50_000, 8, 1500.0
    setup = Setup(mode="T3", nanotime_unit_ps=float(unit))
    w = pulsed(_rng(6), 5 * 10**9, setup, period, mean_photons=1.0, tau_ps=tau)
    nt = w.batch.nanotimes.astype(np.float64)
    mean = nt.mean()
    tau_est = -unit / math.log(mean / (1 + mean))
    assert tau_est == pytest.approx(tau, rel=4 / math.sqrt(nt.size))
    counts = np.bincount(w.batch.nanotimes, minlength=400)[:400]  # down to exp(-2.1)
    slope = np.polyfit(np.arange(400), np.log(counts), 1, w=np.sqrt(counts))[0]
    assert slope == pytest.approx(-unit / tau, rel=0.05)

    comps = [(0.7, 500.0), (0.3, 4000.0)]
    w = pulsed(_rng(7), 5 * 10**9, setup, period, mean_photons=1.0, components=comps)
    nt = w.batch.nanotimes.astype(np.float64)
    qs = [math.exp(-unit / t) for _, t in comps]
    expected = sum(f * q / (1 - q) for (f, _), q in zip(comps, qs, strict=True))
    assert nt.mean() == pytest.approx(expected, abs=5 * nt.std() / math.sqrt(nt.size))
    assert w.truth["tau_ps"] is None and w.truth["components"] == comps
    assert w.truth["mean_tau_ps"] == pytest.approx(0.7 * 500 + 0.3 * 4000)
    a = np.array([0.7 / 500, 0.3 / 4000])
    assert w.truth["amplitudes"] == pytest.approx(list(a / a.sum()))


def test_t2_resolution_floors_the_same_photons():
    kw = dict(mean_photons=0.5, tau_ps=700.0, background_cps=1e5)
    w1 = pulsed(_rng(8), 10**9, Setup(sync_delay_ps=-2), **kw)
    w4 = pulsed(_rng(8), 10**9, Setup(resolution_ps=4, sync_delay_ps=-2), **kw)
    b1, b4 = w1.batch, w4.batch
    assert np.all(b4.timestamps % 4 == 0)
    np.testing.assert_array_equal(np.sort(b4.timestamps), np.sort(b1.timestamps // 4 * 4))
    assert b4.timestamps[b4.channels == 0][0] == 12_496  # the sync at 12498 ps, floored
    assert b4.metadata.resolution_ps == 4


# ---------------------------------------------------------------------- CW
def test_cw_antibunching_dip():
    """Pair-time histogram of a CW two-level emitter with background against
    g2(tau) = 1 - rhoA rhoB exp(-(r + gamma)|tau|)."""
    r, gamma = 0.2e-3, 1.0e-3
    setup = Setup(
        detectors=(Detector("A", 1, dark_cps=5e5), Detector("B", 2, efficiency=0.7, delay_ps=0))
    )
    duration = 1.5 * 10**10
    w = cw(_rng(9), duration, setup, r, gamma, collection=0.3, background_cps=1.5e7)
    tr = w.truth
    assert tr["rate_per_ns"] == pytest.approx((r + gamma) * 1e3)
    ta, tb = _times(w, "A"), _times(w, "B")
    for name, t in (("A", ta), ("B", tb)):
        expected = tr["expected_cps"][name] * duration * 1e-12
        assert abs(t.size - expected) < 5 * math.sqrt(expected)
    rho = tr["rho"]
    assert tr["g2_zero"] == pytest.approx(1 - rho["A"] * rho["B"])
    window, width = 10_000, 200
    d = _pair_delays(ta, tb, window)
    edges = np.arange(-window, window + 1, width)
    hist = np.histogram(d, edges)[0]
    norm = ta.size * tb.size / duration * width
    centers = (edges[:-1] + edges[1:]) / 2
    k = r + gamma
    # the model averaged over each bin
    lo, hi = edges[:-1], edges[1:]
    avg = np.where(
        lo >= 0,
        (np.exp(-k * lo) - np.exp(-k * hi)) / (k * width),
        np.where(
            hi <= 0,
            (np.exp(k * hi) - np.exp(k * lo)) / (k * width),
            (2 - np.exp(k * lo) - np.exp(-k * hi)) / (k * width),
        ),
    )
    model = 1 - rho["A"] * rho["B"] * avg
    chi2 = np.sum((hist - model * norm) ** 2 / (model * norm))
    assert chi2 / hist.size < 1.5
    central = np.abs(centers) < 150
    g0 = hist[central].sum() / (norm * central.sum())
    err = math.sqrt(hist[central].sum()) / (norm * central.sum())
    # the central bins against the dip of depth 1 - g2_zero, averaged over the bins
    expected = 1 - (1 - tr["g2_zero"]) * avg[central].mean()
    assert g0 == pytest.approx(expected, abs=4 * err)
    assert g0 < 0.6
    assert w.batch.metadata.sync_period_ps is None
    assert [c.name for c in w.batch.metadata.channels] == ["A", "B"]
    with pytest.raises(ValueError, match="T2"):
        cw(_rng(), 10**6, Setup(mode="T3"), r, gamma)


def test_cw_blinking():
    """OFF (brightness 0) stops the excitation: an OFF period holds at most the one photon of
    an emitter still excited at the switch; ON periods emit at r gamma / (r + gamma) and the
    grey state's own lifetime sets its decay rate."""
    r, gamma = 0.5e-3, 1.0e-3
    tel = Telegraph(
        states={"on": (1.0, None), "off": (0.0, None), "grey": (1.0, 4000.0)},
        dwell={"on": ("exp", 2e7), "off": ("exp", 2e7), "grey": ("exp", 2e7)},
    )
    duration = 4 * 10**9
    w = cw(_rng(23), duration, Setup(splitter=1.0), r, gamma, collection=0.1, blinking=tel)
    bl = w.truth["blinking"]
    t = _times(w, "A")
    for name, rate_per_ps in (
        ("on", r * gamma / (r + gamma)),
        ("grey", r * 0.25e-3 / (r + 0.25e-3)),
    ):
        periods = bl["periods"][name]
        inside = np.searchsorted(periods[:, 0], t, side="right") - 1
        ok = (inside >= 0) & (t < periods[np.maximum(inside, 0), 1])
        expected = rate_per_ps * 0.1 * bl["fractions"][name] * duration
        assert ok.sum() == pytest.approx(expected, rel=5 / math.sqrt(expected) + 0.02), name
    assert bl["tau_ps"]["grey"] == 4000.0 and bl["tau_ps"]["on"] == 1000.0
    off = bl["periods"]["off"]
    n_off = np.searchsorted(t, off[:, 1]) - np.searchsorted(t, off[:, 0])
    assert n_off.max() <= 1 and n_off.sum() > 0


# ---------------------------------------------------------------------- dead time
def test_dead_time_mask_by_hand():
    ti = np.array([0, 10, 99, 100, 100, 150, 199, 200, 400], np.int64)
    tf = np.array([0.5, 0, 0.9, 0.4, 0.6, 0, 0.0, 0.6, 0])
    keep = dead_time_mask(ti, tf, 100)
    # 0.5 kept; 10, 99.9, 100.4 within 100 ps; 100.6 is 100.1 later -> kept; then 200.6 is
    # exactly 100 after it -> kept; 400 kept
    np.testing.assert_array_equal(keep, [1, 0, 0, 0, 1, 0, 0, 1, 1])
    assert dead_time_mask(ti, tf, 0).all()


def test_dead_time_non_paralysable():
    """Poisson dark counts of rate R through a dead time d: recorded rate R / (1 + R d) and no
    two recorded events closer than d."""
    dead, rate = 50_000, 5e6
    setup = Setup(detectors=(Detector("A", 1, dark_cps=rate, dead_time_ps=dead), Detector("B", 2)))
    duration = 2 * 10**10
    w = cw(_rng(10), duration, setup, 0.0, 1.0)
    ta = _times(w, "A")
    assert np.diff(ta).min() >= dead
    expected = rate / (1 + rate * dead * 1e-12) * duration * 1e-12
    assert abs(ta.size - expected) < 5 * math.sqrt(expected)
    assert w.truth["lost_dead_time"]["A"] > 0
    # dead time longer than the laser period, pulsed
    setup = Setup(detectors=(Detector("A", 1, dead_time_ps=20_000), Detector("B", 2)))
    w = pulsed(_rng(11), 10**9, setup, mean_photons=0.9, tau_ps=200.0)
    assert np.diff(_times(w, "A")).min() >= 20_000
    assert np.diff(_times(w, "B")).min() < 12_500


# ---------------------------------------------------------------------- blinking
def test_blinking_states_rates_and_lifetimes():
    """Photons per state follow the brightness, nanotimes per state the state lifetime."""
    tel = Telegraph(
        states={"on": (1.0, 3000.0), "grey": (0.4, 1200.0), "off": (0.05, 300.0)},
        dwell={"on": ("exp", 2e8), "grey": ("exp", 5e7), "off": ("exp", 1e8)},
    )
    period, unit = 50_000, 4
    setup = Setup(mode="T3", nanotime_unit_ps=float(unit))
    duration = 2 * 10**10
    w = pulsed(_rng(12), duration, setup, period, mean_photons=0.5, blinking=tel)
    bl = w.truth["blinking"]
    st, sw = bl["states"], bl["switch_times"]
    assert sw[0] == 0 and np.all(np.diff(sw) >= 0) and sw[-1] < duration
    assert np.all(st[::2] == "on") and np.all(st[1::2] != "on")
    assert sum(bl["fractions"].values()) == pytest.approx(1.0)
    t = w.batch.timestamps
    nt = w.batch.nanotimes.astype(np.float64)
    base_rate = 0.5 / period  # photons per ps at brightness 1
    for name, (brightness, tau) in tel.states.items():
        periods = bl["periods"][name]
        assert periods[:, 1].sum() - periods[:, 0].sum() == pytest.approx(
            bl["fractions"][name] * duration
        )
        # photons emitted in the state (delays of a few ns only blur the edges slightly)
        idx = np.searchsorted(periods[:, 0], t, side="right") - 1
        inside = (idx >= 0) & (t < periods[np.maximum(idx, 0), 1])
        expected = base_rate * brightness * bl["fractions"][name] * duration
        assert inside.sum() == pytest.approx(expected, rel=5 / math.sqrt(expected) + 0.02)
        q = math.exp(-unit / tau)
        mean_nt = nt[inside].mean()
        assert mean_nt == pytest.approx(q / (1 - q), rel=6 / math.sqrt(inside.sum()) + 0.02)
        assert bl["tau_ps"][name] == tau


def test_blinking_fractions_and_trace():
    tel = Telegraph(
        states={"on": (1.0, None), "off": (0.0, None)},
        dwell={"on": ("exp", 1e9), "off": ("exp", 5e8)},
    )
    duration, bin_ps = 10**13 + 123, 10**9
    rates = {"on": 20e3, "off": 500.0}
    counts, exposure, tr = blinking_trace(_rng(13), duration, bin_ps, tel, rates)
    assert counts.dtype == np.int64 and exposure.dtype == np.int64
    assert exposure.sum() == duration and exposure[-1] == 123 and np.all(exposure[:-1] == bin_ps)
    # fraction of time ON: 2/3 for alternating exponential dwells of 1 and 0.5 ms
    f_on = tr["fractions"]["on"]
    n_cycles = duration / 1.5e9
    sigma = math.sqrt(2 * 0.25 / 1.5**4 / n_cycles)
    assert f_on == pytest.approx(2 / 3, abs=4 * sigma)
    # the expected counts are the exact integral of the rate over each bin
    sw, st = tr["switch_times"], tr["states"]
    ends = np.append(sw[1:], duration)
    rate = np.array([rates[s] for s in st])
    edges = tr["edges_ps"]
    first = np.searchsorted(ends, edges[:-1], side="right")
    last = np.searchsorted(sw, edges[1:], side="left")
    exact = np.zeros(counts.size)
    for i in range(0, counts.size, 97):  # a sample of bins, segment by segment
        for j in range(first[i], last[i]):
            overlap = min(ends[j], edges[i + 1]) - max(sw[j], edges[i])
            exact[i] += rate[j] * overlap * 1e-12
    np.testing.assert_allclose(tr["expected"][::97], exact[::97], rtol=1e-9, atol=1e-12)
    total = tr["expected"].sum()
    assert counts.sum() == pytest.approx(total, abs=5 * math.sqrt(total))
    assert total == pytest.approx(
        (rates["on"] * f_on + rates["off"] * (1 - f_on)) * duration * 1e-12
    )


def _truncated_powerlaw_mle(t, t_min, t_max):
    alphas = np.linspace(1.01, 3.0, 19_901)
    s = np.log(t).sum()
    n = t.size
    one = 1 - alphas
    norm = (t_min**one - t_max**one) / (alphas - 1)
    return float(alphas[np.argmax(-alphas * s - n * np.log(norm))])


def test_powerlaw_dwells_mle():
    tel = Telegraph(
        states={"on": (1.0, None), "off": (0.0, None), "grey": (0.3, None)},
        dwell={
            "on": ("powerlaw", 1.6, 1e6, None),
            "off": ("powerlaw", 1.5, 1e6, 1e10),
            "grey": ("powerlaw", 1.0, 1e6, 1e8),
        },
    )
    rng = _rng(14)
    on = tel.sample_dwell(rng, "on", 2000)
    assert on.min() >= 1e6
    alpha = 1 + on.size / np.log(on / 1e6).sum()
    assert alpha == pytest.approx(1.6, abs=0.05)
    off = tel.sample_dwell(rng, "off", 2000)
    assert off.min() >= 1e6 and off.max() <= 1e10
    assert _truncated_powerlaw_mle(off, 1e6, 1e10) == pytest.approx(1.5, abs=0.05)
    grey = tel.sample_dwell(rng, "grey", 2000)
    assert _truncated_powerlaw_mle(grey, 1e6, 1e8) == pytest.approx(1.0, abs=0.05)
    # the dwells of a realised timeline (what the analyses see), 2000+ ON dwells
    tel = Telegraph(
        states={"on": (1.0, None), "off": (0.0, None)},
        dwell={"on": ("powerlaw", 2.5, 1e6, None), "off": ("exp", 1e6)},
    )
    tl = tel.timeline(_rng(15), 10**10)
    on = tl.dwells("on").astype(np.float64)
    assert on.size > 2000
    alpha = 1 + on.size / np.log(on / 1e6).sum()
    assert alpha == pytest.approx(2.5, abs=0.05 * 1.5)  # std error (alpha - 1)/sqrt(n) ~ 0.03


def test_telegraph_order_and_errors():
    tel = Telegraph(
        states={"a": (1.0, None), "b": (0.5, 100.0), "c": (0.0, None)},
        dwell={k: ("exp", 1e6) for k in "abc"},
        order=["a", "c", "b", "c"],
    )
    tl = tel.timeline(_rng(16), 10**8)
    n = tl.states.size
    np.testing.assert_array_equal(tl.states, np.array(["a", "c", "b", "c"] * n)[:n])
    with pytest.raises(ValueError, match="'on'"):
        Telegraph({"x": (1, None)}, {"x": ("exp", 1.0)})
    with pytest.raises(ValueError, match="alpha > 1"):
        Telegraph({"on": (1, None)}, {"on": ("powerlaw", 0.8, 1.0, None)})


# ---------------------------------------------------------------------- metadata
def test_channel_maps():
    w = pulsed(_rng(17), 10**7, Setup(label_sync=False), mean_photons=0.5)
    chans = {c.name: (c.number, c.role) for c in w.batch.metadata.channels}
    assert chans == {"ch0": (0, Role.DETECTOR), "A": (1, Role.DETECTOR), "B": (2, Role.DETECTOR)}
    w = pulsed(_rng(17), 10**7, Setup(mode="T3"), mean_photons=0.5)
    assert w.batch.metadata.channels.sync.number == 0
    assert w.batch.counts()[0] == 0
    w = pulsed(_rng(17), 10**7, Setup(mode="T3", label_sync=False), mean_photons=0.5)
    assert [c.name for c in w.batch.metadata.channels] == ["A", "B"]
    with pytest.raises(ValueError):
        Setup(detectors=(Detector("A", 0), Detector("B", 2)))


# ---------------------------------------------------------------------- files
@pytest.fixture(scope="module")
def worlds():
    kw = dict(mean_photons=0.4, tau_ps=1500.0, background_cps=1e5)
    t2 = pulsed(_rng(18), 2 * 10**8, Setup(sync_divider=2, resolution_ps=4), **kw)
    t3 = pulsed(
        _rng(19),
        2 * 10**8,
        Setup(mode="T3", sync_divider=2, sync_delay_ps=300, tcspc_range_ps=16_384.0),
        **kw,
    )
    c = cw(_rng(20), 2 * 10**8, Setup(), 1e-3, 1e-3, collection=0.05)
    return {"T2": t2, "T3": t3, "CW": c}


def _read(f, path):
    v = f[path][()]
    return v.decode() if isinstance(v, bytes) else v


@pytest.mark.parametrize("kind", ["T2", "T3", "CW"])
@pytest.mark.parametrize("options", [{}, {"label_sync": False, "split_pair": False}])
def test_photon_hdf5_fields(tmp_path, worlds, kind, options):
    w = worlds[kind]
    b = w.batch
    path = write_photon_hdf5(tmp_path / "w.h5", w, **options)
    label_sync = options.get("label_sync", True)
    with h5py.File(path, "r") as f:
        assert f.attrs["format_name"] == b"Photon-HDF5" and f.attrs["format_version"] == b"0.5"
        assert _read(f, "/format_version") == "0.5"
        assert _read(f, "/acquisition_duration") == pytest.approx(b.t_end * 1e-12)
        pd = f["/photon_data"]
        assert pd["timestamps"].dtype == np.int64 and pd["detectors"].dtype == np.uint8
        assert pd["timestamps_specs/timestamps_unit"][()] == 1e-12
        np.testing.assert_array_equal(pd["timestamps"][:], b.timestamps)
        np.testing.assert_array_equal(pd["detectors"][:], b.channels)
        ms = pd["measurement_specs"]
        assert _read(f, "/photon_data/measurement_specs/measurement_type") == "generic"
        specs = ms["detectors_specs"]
        if options.get("split_pair", True):
            assert (specs["split_ch1"][0], specs["split_ch2"][0]) == (1, 2)
            assert f["/setup/num_split_ch"][()] == 2
        else:
            assert list(specs["spectral_ch1"][:]) == [1, 2]
        setup = f["/setup"]
        assert setup["lifetime"][()] == (kind == "T3")
        assert list(setup["excitation_cw"][:]) == [kind == "CW"]
        ids = list(setup["detectors/id"][:])
        labels = [x.decode() for x in setup["detectors/label"][:]]
        counts = list(setup["detectors/counts"][:])
        assert counts == [int((b.channels == i).sum()) for i in ids]
        if kind == "T2":
            assert ids == [0, 1, 2]
            assert labels == ["sync" if label_sync else "ch0", "A", "B"]
            assert ("non_photon_id1" in specs) == label_sync
        else:
            assert ids == [1, 2] and labels == ["A", "B"]
        if kind == "CW":
            assert "laser_repetition_rate" not in ms
        else:
            assert ms["laser_repetition_rate"][()] == pytest.approx(80e6)
            assert setup["laser_repetition_rates"][0] == pytest.approx(80e6)
        if kind == "T3":
            ns = pd["nanotimes_specs"]
            np.testing.assert_array_equal(pd["nanotimes"][:], b.nanotimes)
            assert ns["tcspc_unit"][()] == pytest.approx(4e-12)
            assert ns["tcspc_range"][()] == pytest.approx(16_384e-12)
            assert ns["tcspc_num_bins"][()] == 4096
        assert _read(f, "/identity/format_name") == "Photon-HDF5"
        assert f["/photon_data/timestamps"].attrs["TITLE"].startswith(b"Array of photon")
    phc = pytest.importorskip("phconvert.hdf5")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        phc.load_photon_hdf5(str(path), require_rootformat=True).close()
    assert not caught, [str(c.message) for c in caught]


def test_photon_hdf5_t3_sync_macrotimes_and_options(tmp_path, worlds):
    w = worlds["T3"]
    b = w.batch
    path = write_photon_hdf5(
        tmp_path / "s.h5", w, t3_timestamps="sync", laser_rate=False, labels=False
    )
    with h5py.File(path, "r") as f:
        unit = f["/photon_data/timestamps_specs/timestamps_unit"][()]
        assert unit == pytest.approx(25_000e-12)
        macro = f["/photon_data/timestamps"][:]
        t = np.rint(macro * unit * 1e12).astype(np.int64) + f["/photon_data/nanotimes"][:] * 4
        np.testing.assert_array_equal(t, b.timestamps - 300)  # sync delay 300 ps
        assert "label" not in f["/setup/detectors"]
        assert "laser_repetition_rate" not in f["/photon_data/measurement_specs"]
        assert "laser_repetition_rates" not in f["/setup"]


# PTU: a literal decoder of the published record layouts, kept apart from tests/pq_encoder.py
def _ptu_header(data: bytes) -> tuple[dict, int]:
    assert data[:8] == b"PQTTTR\0\0"
    pos, tags = 16, {}
    while True:
        ident, idx, typ = struct.unpack_from("<32siI", data, pos)
        name = ident.rstrip(b"\0").decode()
        raw = data[pos + 40 : pos + 48]
        pos += 48
        if typ == 0x20000008:
            value = struct.unpack("<d", raw)[0]
        elif typ in (0x10000008, 0x00000008):
            value = struct.unpack("<q", raw)[0]
        elif typ in (0x4001FFFF, 0x4002FFFF, 0x2001FFFF, 0xFFFFFFFF):
            size = struct.unpack("<q", raw)[0]
            value = data[pos : pos + size]
            pos += size
        else:
            value = None
        tags[name if idx == -1 else f"{name}[{idx}]"] = value
        if name == "Header_End":
            return tags, pos


def _ptu_decode(fmt: str, words: np.ndarray):
    """(time, channel as PicoQuant's demo readers report it, dtime, is_sync) per event."""
    w = words.astype(np.int64)
    spec = FORMATS[fmt]
    if spec.picoharp and spec.mode == 2:
        ch, tt = w >> 28, w & 0x0FFFFFFF
        ovf = (ch == 15) & (tt & 0xF == 0)
        inc = np.where(ovf, 210_698_240, 0)
        ev = ch != 15
        dt = np.zeros_like(w)
        rep_ch, sync = ch, np.zeros(w.size, bool)
    elif spec.picoharp:
        ch, dt, tt = w >> 28, (w >> 16) & 0xFFF, w & 0xFFFF
        ovf = (ch == 15) & (dt == 0)
        inc = np.where(ovf, 65_536, 0)
        ev = ch != 15
        rep_ch, sync = ch, np.zeros(w.size, bool)
    else:
        t2 = spec.mode == 2
        special, ch = w >> 31, (w >> 25) & 0x3F
        tt = w & (0x1FFFFFF if t2 else 0x3FF)
        dt = np.zeros_like(w) if t2 else (w >> 10) & 0x7FFF
        ovf = (special == 1) & (ch == 63)
        count = np.where(spec.counted & (tt > 0), tt, 1)
        inc = np.where(ovf, spec.period * count, 0)
        sync = (special == 1) & (ch == 0)
        ev = (special == 0) | sync
        rep_ch = np.where(sync, 0, ch + 1)
    base = np.cumsum(inc)
    return (base + tt)[ev], rep_ch[ev], dt[ev], sync[ev]


@pytest.mark.parametrize(
    ("kind", "fmt"),
    [
        ("T2", "HydraHarp2 T2"),
        ("T2", "HydraHarp T2"),
        ("T2", "PicoHarp T2"),
        ("T2", "MultiHarp T2"),
        ("T3", "HydraHarp2 T3"),
        ("T3", "PicoHarp T3"),
        ("T3", "TimeHarp260P T3"),
        ("CW", "HydraHarp2 T2"),
    ],
)
def test_ptu_round_trip(tmp_path, worlds, kind, fmt):
    w = worlds[kind]
    b, setup = w.batch, w.setup
    path = write_ptu(tmp_path / "w.ptu", w, fmt, rng=_rng(21))
    data = path.read_bytes()
    tags, start = _ptu_header(data)
    words = np.frombuffer(data[start:], "<u4")
    name = ptu_events(w, fmt)[0]
    assert tags["TTResultFormat_TTTRRecType"] == FORMATS[name].code
    assert tags["TTResult_NumberOfRecords"] == words.size
    assert tags["HWSync_Divider"] == setup.sync_divider
    assert tags["MeasDesc_AcquisitionTime"] == math.ceil(b.t_end / 1e9)
    time, ch, dt, sync = _ptu_decode(name, words)
    if kind == "CW":
        assert tags["TTResult_SyncRate"] == 0
    else:
        assert tags["TTResult_SyncRate"] == 80_000_000  # the laser rate, before the divider
    if kind != "T3":
        res = setup.resolution_ps
        assert tags["MeasDesc_GlobalResolution"] == pytest.approx(res * 1e-12)
        np.testing.assert_array_equal(time * res, b.timestamps)
        np.testing.assert_array_equal(ch, b.channels)  # sync 0, inputs 1 and 2
        if not FORMATS[name].picoharp:
            np.testing.assert_array_equal(sync, b.channels == 0)
    else:
        sync_period = w.sync_period_ps
        assert tags["MeasDesc_GlobalResolution"] == pytest.approx(sync_period * 1e-12)
        assert tags["MeasDesc_Resolution"] == pytest.approx(4e-12)
        np.testing.assert_array_equal(ch, b.channels)
        np.testing.assert_array_equal(dt, b.nanotimes)
        t = time * sync_period + dt * 4
        np.testing.assert_array_equal(t, b.timestamps - setup.sync_delay_ps % sync_period)


def test_ptu_refuses_what_the_records_cannot_hold(tmp_path, worlds):
    with pytest.raises(ValueError, match="does not hold"):
        write_ptu(tmp_path / "x.ptu", worlds["T2"], "PicoHarp T3")
    w = pulsed(_rng(22), 10**7, Setup(mode="T3", sync_divider=4), mean_photons=0.5)
    with pytest.raises(ValueError, match="tcspc_range_ps"):
        write_ptu(tmp_path / "x.ptu", w, "PicoHarp T3")


def test_cut_file(tmp_path, worlds):
    src = write_ptu(tmp_path / "w.ptu", worlds["T2"])
    data = src.read_bytes()
    for at in (0, 17, len(data) - 3, len(data)):
        dst = cut_file(src, tmp_path / f"cut{at}.ptu", at)
        assert dst.read_bytes() == data[:at]
    with pytest.raises(ValueError):
        cut_file(src, tmp_path / "bad.ptu", len(data) + 1)
