"""The simulator as a source: settings, determinism, bounded memory, its kernels, and the
detector effects it must reproduce."""

import itertools
import tracemalloc
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit
from scipy import stats

import tagstream as ts
from tagstream.kernels.detection import detect, merge_sorted, t3_nanotimes
from tagstream.kernels.random import exponential, normal, uniform
from tagstream.sources.simulator import ConfigError, load_config, preset_names, resolve_config
from tagstream.sources.simulator.expectations import noise_clicks

# --------------------------------------------------------------------------- settings


def test_presets_are_listed_and_load():
    names = preset_names()
    assert {
        "cspbi3-10nm",
        "cspbi3-6.6nm",
        "cspbbr3-5nm",
        "cspbbr3-4nm-salt",
        "cspbbr3-9.3nm",
        "cspbbr3-5.7nm",
        "cspbbr3-3.1nm",
        "dot-4k",
        "cw-antibunching",
        "cdse-slow",
    } <= set(names)
    for name in names:
        assert resolve_config(name).name == name


@pytest.mark.parametrize(
    "raw,message",
    [
        ({"excitation": {"repetition_rat": "40 MHz"}}, "unknown setting 'repetition_rat'"),
        ({"exciton": {"lifetime": "6 ns"}}, "needs lifetime and quantum_yield"),
        ({"exciton": {"lifetime": "6 parsec", "quantum_yield": 0.9}}, "unknown time unit"),
        ({"exciton": {"lifetime": "6 ns", "quantum_yield": 1.5}}, "outside"),
        ({"blinking": {"states": ["off", "on"]}}, "'on' first"),
        ({"blinking": {"states": ["on", "off"], "dwell": "power-law"}}, "missing the exponent"),
        ({"excitation": {"mode": "cw"}}, "positive pump rate"),
        ({"setup": {"mode": "T4"}}, "'T2' or 'T3'"),
    ],
)
def test_bad_settings_name_the_field(raw, message):
    with pytest.raises(ConfigError, match=message):
        load_config(raw)


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ConfigError, match=r"presets: .*cspbi3-10nm"):
        ts.simulate("no-such-dot")


# --------------------------------------------------------------------------- source behaviour


def test_same_seed_same_tags_whatever_the_batching():
    a = ts.simulate("cspbbr3-5nm", duration="3 s", seed=7).read()
    parts = list(ts.simulate("cspbbr3-5nm", duration="3 s", seed=7).batches("37 ms"))
    b = ts.TagBatch.concat(parts)
    assert a.timestamps.tobytes() == b.timestamps.tobytes()
    assert a.channels.tobytes() == b.channels.tobytes()
    assert a.nanotimes.tobytes() == b.nanotimes.tobytes()
    assert all(p.t_end - p.t_begin == 37 * 10**9 for p in parts[:-1])
    c = ts.simulate("cspbbr3-5nm", duration="3 s", seed=8).read()
    assert not np.array_equal(a.timestamps[:1000], c.timestamps[:1000])


def test_t2_sync_channel_and_t3_nanotimes():
    config = resolve_config("cspbi3-10nm")
    t2 = replace(
        config,
        setup=replace(config.setup, mode="T2"),
        excitation=replace(config.excitation, sync_divider=4),
    )
    tags = ts.simulate(t2, duration="20 ms", seed=1).read()
    sync = tags.timestamps[tags.channels == 0]
    assert np.all(np.diff(sync) == 400_000)  # 10 MHz laser, divider 4
    assert tags.metadata.sync_period_ps == 400_000 and tags.metadata.laser_period_ps == 100_000
    t3 = ts.simulate(config, duration="20 ms", seed=1).read()
    assert t3.metadata.mode == "T3" and 0 not in set(t3.channels)
    assert np.all((t3.timestamps % 100_000) // 4 == t3.nanotimes)


def test_ground_truth_covers_the_run():
    run = ts.simulate("cspbi3-6.6nm", duration="20 s", seed=3)
    truth = run.truth
    assert truth.end == 20 * 10**12
    fractions = truth.fractions()
    assert abs(sum(fractions.values()) - 1) < 1e-12
    assert fractions["on"] > 0.2 and fractions["grey"] > 0.02 and fractions["off"] > 0.05
    total = sum(ts.tags.intervals.total(truth.intervals(s)) for s in truth.names)
    assert total == 20 * 10**12


def test_an_hour_in_bounded_memory():
    run = ts.simulate("cspbbr3-9.3nm", duration="1 h", seed=2)
    tracemalloc.start()
    n = 0
    peaks = []
    for k, batch in enumerate(run.batches()):
        n += len(batch)
        if k in (50, 1_500):
            peaks.append(tracemalloc.get_traced_memory()[1])
    tracemalloc.stop()
    assert n > 20_000_000
    assert peaks[0] < 150e6 and peaks[1] < 1.2 * peaks[0] + 10e6


def test_realtime_paces_the_batches():
    import time

    start = time.monotonic()
    list(ts.simulate("cspbi3-10nm", duration="300 ms", realtime=True).batches("50 ms"))
    assert time.monotonic() - start >= 0.29


# --------------------------------------------------------------------------- kernels


def detect_reference(times, dets, dead):
    out_t, out_d, until = [], [], {}
    for t, d in zip(times, dets, strict=True):
        if t >= until.get(d, -np.inf):
            until[d] = t + dead[d]
            out_t.append(t)
            out_d.append(d)
    return np.array(out_t, np.int64), np.array(out_d, np.int64)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 400), cuts=st.integers(1, 5))
def test_dead_time_matches_reference_across_calls(seed, n, cuts):
    rng = np.random.default_rng(seed)
    times = np.sort(rng.integers(0, 100_000, n)).astype(np.int64)
    dets = rng.integers(0, 2, n).astype(np.int64)
    dead = np.array([700, 2_000], np.int64)
    until = np.full(2, -(2**60), np.int64)
    heap_t, heap_d, heap_n = np.zeros(16, np.int64), np.zeros(16, np.int64), np.zeros(1, np.int64)
    got_t, got_d = [], []
    edges = np.linspace(0, 100_001, cuts + 1).astype(np.int64)
    for lo, hi in itertools.pairwise(edges):
        sel = (times >= lo) & (times < hi)
        out_t, out_d = np.empty(n + 16, np.int64), np.empty(n + 16, np.int64)
        k = detect(
            times[sel],
            dets[sel],
            np.int64(hi),
            dead,
            np.zeros(2),
            np.zeros(2, np.int64),
            np.zeros(2),
            until,
            heap_t,
            heap_d,
            heap_n,
            1,
            out_t,
            out_d,
        )
        got_t.append(out_t[:k])
        got_d.append(out_d[:k])
    ref_t, ref_d = detect_reference(times, dets, dead)
    np.testing.assert_array_equal(np.concatenate(got_t), ref_t)
    np.testing.assert_array_equal(np.concatenate(got_d), ref_d)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n1=st.integers(0, 100), n2=st.integers(0, 100))
def test_merge_matches_a_stable_sort(seed, n1, n2):
    rng = np.random.default_rng(seed)
    t1 = np.sort(rng.integers(0, 50, n1)).astype(np.int64)
    t2 = np.sort(rng.integers(0, 50, n2)).astype(np.int64)
    c1, c2 = np.zeros(n1, np.uint8), np.ones(n2, np.uint8)
    out_t, out_c = np.empty(n1 + n2, np.int64), np.empty(n1 + n2, np.uint8)
    merge_sorted(t1, c1, t2, c2, out_t, out_c)
    order = np.argsort(np.concatenate([t1, t2]), kind="stable")
    np.testing.assert_array_equal(out_t, np.concatenate([t1, t2])[order])
    np.testing.assert_array_equal(out_c, np.concatenate([c1, c2])[order])


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    period=st.sampled_from([12_500.0, 13_157.894736842105, 1_000_000.0, 7.0]),
    unit=st.sampled_from([1.0, 4.0, 2.5, 25.0]),
)
def test_nanotimes_match_reference(seed, period, unit):
    rng = np.random.default_rng(seed)
    times = np.sort(rng.integers(0, 10**9, 300)).astype(np.int64)
    out = np.empty(times.size, np.int32)
    t3_nanotimes(times, period, unit, out)
    ref = []
    for t in times:
        k = int(t // period) + 1
        while np.floor(k * period + 0.5) > t:
            k -= 1
        ref.append(int((t - np.floor(k * period + 0.5)) // unit))
    np.testing.assert_array_equal(out, ref)


@njit
def _draws(n, seed, kind):
    state = np.empty(1, np.uint64)
    state[0] = seed
    out = np.empty(n)
    for i in range(n):
        out[i] = (
            exponential(state) if kind == 0 else (normal(state) if kind == 1 else uniform(state))
        )
    return out


@pytest.mark.parametrize("kind,law", [(0, stats.expon), (1, stats.norm), (2, stats.uniform)])
def test_random_generator_distributions(kind, law):
    x = _draws(2_000_000, 12345, kind)
    assert stats.kstest(x, law.cdf).pvalue > 1e-3
    edges = law.ppf(np.array([0, 1e-4, 1e-3, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1]))
    observed, _ = np.histogram(x, edges)
    expected = np.diff(law.cdf(edges)) * x.size
    assert stats.chisquare(observed, expected).pvalue > 1e-3
    np.testing.assert_array_equal(_draws(10, 7, kind), _draws(10, 7, kind))


# --------------------------------------------------------------------------- detector effects


def loud_pulsed(**detector):
    config = resolve_config("cspbi3-10nm")
    dets = tuple(replace(d, **detector) for d in config.setup.detectors)
    return replace(config, setup=replace(config.setup, detectors=dets, collection_efficiency=0.3))


def test_dead_time_empties_zero_delay_of_an_autocorrelation():
    tags = ts.simulate(loud_pulsed(afterpulsing=0.0), duration="20 s", seed=1).read()
    g = ts.g2(tags, "A", "A", window="200 ns", bin="1 ns")
    lags = g.edges_ps[:-1]
    inside = (lags >= -22_000) & (lags < 22_000)
    assert g.counts[inside].sum() == 0
    assert g.counts[(lags >= 90_000) & (lags < 110_000)].sum() > 1000  # the next pulse


def test_afterpulses_show_at_their_delay():
    p = 0.02
    config = loud_pulsed(afterpulsing=p, afterpulse_delay_ps=330_000, afterpulse_spread_ps=5_000.0)
    tags = ts.simulate(config, duration="20 s", seed=2).read()
    g = ts.g2(tags, "A", "A", window="600 ns", bin="1 ns")
    lags = g.edges_ps[:-1]
    # the region 330-350 ns after a click: afterpulses on top of pulse-correlated pairs; the same
    # region 100 ns further (no afterpulses) gives the baseline of the periodic pairs
    peak = g.counts[(lags >= 330_000) & (lags < 350_000)].sum()
    base = g.counts[(lags >= 430_000) & (lags < 450_000)].sum()
    n_a = np.count_nonzero(tags.channels == 1)
    expected = p * n_a * (1 - np.exp(-20_000 / 5_000))
    assert abs((peak - base) - expected) < 4 * np.sqrt(peak + base)


def test_dark_counts_raise_the_floor_between_peaks():
    dark = 20_000.0
    config = loud_pulsed(dark_rate_hz=dark, afterpulsing=0.0)
    tags = ts.simulate(config, duration="20 s", seed=3).read()
    g = ts.g2(tags, "A", "B", window="400 ns", bin="1 ns")
    between = np.abs(np.mod(g.tau_ps, 100_000) - 50_000) < 10_000  # far from every peak
    floor = g.counts[between].sum() / g.expected[between].sum()
    r = np.array([np.count_nonzero(tags.channels == c) for c in (1, 2)]) / 20.0
    emitter = r - dark
    expected = (dark * r[1] + emitter[0] * dark) / (r[0] * r[1])
    err = np.sqrt(g.counts[between].sum()) / g.expected[between].sum()
    assert abs(floor - expected) < 4 * err


def test_jitter_broadens_the_decay_by_the_configured_irf():
    config = resolve_config("dot-4k")
    tags = ts.simulate(config, duration="10 s", seed=4).read()
    fit = ts.lifetime(tags, "A", bin="4 ps").fit("bi")
    assert abs(fit.irf_sigma_ps - 50.0) < max(4 * fit.irf_sigma_err_ps, 1.5)
    assert abs(fit.tau_ps[-1] / 250.0 - 1) < 0.02


def test_sequential_and_independent_pulses_agree_when_both_apply(monkeypatch):
    """With the period far above the lifetime, following every excitation in order must give
    what drawing the detected pulses directly gives."""
    import tagstream.sources.simulator.emitter as emitter

    config = resolve_config("cspbbr3-5nm")
    quick = ts.simulate(config, duration="30 s", seed=5)
    assert quick.metadata.settings["model"] == "independent pulses"
    monkeypatch.setattr(emitter, "SURVIVAL_LIMIT", 1e-300)
    slow = ts.simulate(config, duration="30 s", seed=5)
    assert slow.metadata.settings["model"] == "sequential (pulsed)"
    results = []
    for run in (quick, slow):
        tags = run.read()
        rate = len(tags) / 30
        z = ts.g2(tags, "A", "B", window="400 ns", bin="500 ps").g2_zero()
        tau = ts.lifetime(tags.restricted_to(run.truth.intervals("on")), "A").fit("mono")
        results.append((rate, z, tau))
    (r1, z1, f1), (r2, z2, f2) = results
    assert abs(r1 - r2) < 5 * np.sqrt(r1 / 30)
    assert abs(z1.value - z2.value) < 3 * np.hypot(z1.error, z2.error)
    assert abs(f1.tau_ps[0] - f2.tau_ps[0]) < 4 * np.hypot(f1.tau_err_ps[0], f2.tau_err_ps[0])


def test_overlapping_excitations_become_biexcitons():
    """At a period shorter than the lifetime, an exciton still alive at the next pulse is
    re-excited into a biexciton: fewer exciton photons than independent pulses would give."""
    config = resolve_config("cdse-slow")
    fast = replace(
        config, excitation=replace(config.excitation, repetition_rate_hz=2e6, mean_excitations=0.5)
    )
    run = ts.simulate(fast, duration="5 s", seed=6)
    assert run.metadata.settings["model"] == "sequential (pulsed)"
    n = len(run.read()) / 5
    mean_n = 0.5
    e = sum(fast.detection_probabilities())
    # without overlap: photons per pulse ~ P(N >= 1) QY e; with overlap the chain saturates
    independent = (
        2e6 * (1 - np.exp(-mean_n)) * fast.exciton.quantum_yield * e * run.truth.fractions()["on"]
    )
    assert n < 0.8 * independent


def test_photobleaching_ends_the_emission():
    config = resolve_config("cspbi3-10nm")
    bleaching = replace(config, bleach_time_ps=2e12)
    run = ts.simulate(bleaching, duration="20 s", seed=8)
    truth = run.truth
    assert "bleached" in truth.names
    start = int(truth.intervals("bleached")[0, 0])
    assert truth.intervals("bleached")[0, 1] == 20 * 10**12
    trace = ts.trace(run.read(), bin="100 ms")
    after = trace.t_s * 1e12 >= start + 10**11
    noise = noise_clicks(bleaching).sum() * (1 + 0.001)
    assert np.mean(trace.rate_cps[after]) < 3 * noise  # only dark counts and background left
    assert np.mean(trace.rate_cps[~after][:5]) > 100 * noise


def test_slow_drift_modulates_the_intensity():
    config = resolve_config("cspbbr3-5.7nm")
    drifting = replace(config, drift_amplitude=0.3, drift_period_ps=4e12)
    trace = ts.trace(ts.simulate(drifting, duration="8 s", seed=9).read(), bin="50 ms")
    level = trace.rate_cps / np.mean(trace.rate_cps)
    model = 1 + 0.3 * np.sin(2 * np.pi * (trace.t_s + 0.025) / 4.0)
    assert np.corrcoef(level, model)[0, 1] > 0.95
    assert abs((level.max() - level.min()) / 2 - 0.3 / 1.0) < 0.08
