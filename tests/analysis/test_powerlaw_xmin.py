"""Where the dwell-time power law starts: the KS-minimising lower cut (Clauset, Shalizi & Newman
2009), the switch-placed dwell times, and the exponents of blinking traces built from first
principles.

The traces here are generated independently of the package (and of its simulator): ON and OFF
dwell times alternate, each drawn from a truncated continuous power law; the time spent ON inside
every bin is integrated exactly from the switching times, and the counts per bin are Poisson with
mean ``on_cps * t_on + off_cps * (bin - t_on)``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tagstream.analysis.blinking import analyze_blinking
from tagstream.analysis.blinking_dwells import MIN_DWELLS, dwell_times, switch_dwell_times
from tagstream.analysis.blinking_states import OFF, ON
from tagstream.analysis.powerlaw import (
    MIN_TAIL,
    fit_powerlaw,
    fit_powerlaw_ks,
    powerlaw_cdf,
)
from tagstream.errors import AnalysisError, FitError

PS_PER_S = 10**12


# ---------------------------------------------------------------- generators


def _discrete_powerlaw(rng, alpha, k_min, k_max, n):
    """Exact samples of p(k) ∝ k^-alpha on the integers k_min..k_max."""
    k = np.arange(k_min, k_max + 1)
    p = k.astype(float) ** -alpha
    return rng.choice(k, size=n, p=p / p.sum())


def _continuous_powerlaw(rng, alpha, low, high, n):
    """Inverse-CDF samples of p(t) ∝ t^-alpha on [low, high]."""
    a, b = low ** (1 - alpha), high ** (1 - alpha)
    return (a + rng.random(n) * (b - a)) ** (1 / (1 - alpha))


def _blinking_trace(seed, alpha_on, alpha_off, bin_s, t_min_s, n=3000, t_max_s=10.0, rates=None):
    """Counts per bin of an ON / OFF telegraph with power-law dwell times.

    ``n`` dwell times of each state on ``[t_min_s, t_max_s]``, alternating from a random first
    state; ``rates`` = (OFF, ON) in counts/s. Returns the counts and the bin width in ps.
    """
    rng = np.random.default_rng(seed)
    off_cps, on_cps = rates or (800.0, 30_000.0)
    on = _continuous_powerlaw(rng, alpha_on, t_min_s, t_max_s, n)
    off = _continuous_powerlaw(rng, alpha_off, t_min_s, t_max_s, n)
    first_on = bool(rng.random() < 0.5)
    durations = np.column_stack([on, off] if first_on else [off, on]).ravel()
    is_on = np.tile([first_on, not first_on], n)
    starts = np.concatenate([[0.0], np.cumsum(durations)])
    n_bins = int(starts[-1] / bin_s)
    edges = np.arange(n_bins + 1) * bin_s
    # ON time from 0 to each edge: whole ON dwells before it, plus the part of the current one
    on_before = np.concatenate([[0.0], np.cumsum(np.where(is_on, durations, 0.0))])
    k = np.minimum(np.searchsorted(starts, edges, side="right") - 1, durations.size - 1)
    t_on = np.diff(on_before[k] + np.where(is_on[k], edges - starts[k], 0.0))
    counts = rng.poisson(on_cps * t_on + off_cps * (bin_s - t_on)).astype(np.int64)
    return counts, round(bin_s * PS_PER_S)


def _analyze(counts, bin_ps, **options):
    return analyze_blinking(counts, np.full(counts.size, bin_ps, np.int64), 0, bin_ps, **options)


# ---------------------------------------------------------------- the model CDF and KS scan


@pytest.mark.parametrize("alpha", [0.6, 1.0, 1.7, 3.0])
def test_powerlaw_cdf_matches_the_exact_sum(alpha):
    k_min, k_max = 3, 40_000  # beyond the exact terms: the tail is the midpoint-rule integral
    k = np.arange(k_min, k_max + 1, dtype=float)
    exact = np.cumsum(k**-alpha)
    exact /= exact[-1]
    probe = np.array([1, 2, 3, 4, 100, 9_999, 10_003, 12_345, 39_999, 40_000, 50_000])
    want = np.where(probe < k_min, 0.0, exact[np.clip(probe, k_min, k_max) - k_min])
    np.testing.assert_allclose(powerlaw_cdf(probe, alpha, k_min, k_max), want, atol=1e-9)


def _brute_force_ks(k, min_tail):
    """Clauset's recipe spelled out: every candidate, exact sums over every integer."""
    best = None
    for x_min in np.unique(k):
        tail = k[k >= x_min]
        if tail.size < min_tail or x_min == k.max():
            continue
        alpha = fit_powerlaw(tail, 1, t_min_ps=x_min).alpha
        support = np.arange(x_min, k.max() + 1)
        model = np.cumsum(support ** -float(alpha))
        model /= model[-1]
        empirical = np.searchsorted(np.sort(tail), support, side="right") / tail.size
        distance = np.abs(empirical - model).max()
        if best is None or distance < best[0]:
            best = (distance, x_min, alpha)
    return best


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ks_scan_matches_a_brute_force_scan(seed):
    rng = np.random.default_rng(seed)
    k = _discrete_powerlaw(rng, 1.7, 1, 200, 400)
    k[k < 5] = rng.integers(1, 5, np.count_nonzero(k < 5))  # a flat start
    distance, x_min, alpha = _brute_force_ks(k, MIN_TAIL)
    fit = fit_powerlaw_ks(k, 1)
    assert fit.t_min_method == "ks"
    assert fit.t_min_ps == x_min and fit.t_max_ps == k.max()
    assert fit.ks_distance == pytest.approx(distance, abs=1e-9)
    assert fit.alpha == pytest.approx(alpha, abs=1e-9)
    assert fit.n == np.count_nonzero(k >= x_min)


@pytest.mark.parametrize("alpha", [1.3, 1.8, 2.5])
def test_ks_cut_on_pure_discrete_powerlaws_has_honest_errors(alpha):
    rng = np.random.default_rng(int(alpha * 100))
    pulls, cuts = [], []
    for _ in range(40):
        fit = fit_powerlaw_ks(_discrete_powerlaw(rng, alpha, 1, 5000, 600) * 1000, 1000)
        pulls.append((fit.alpha - alpha) / fit.alpha_err)
        cuts.append(fit.t_min_ps / 1000)
    pulls = np.array(pulls)
    assert np.all(np.abs(pulls) < 4), pulls
    assert 0.6 < pulls.std() < 1.6, pulls.std()
    assert abs(pulls.mean()) < 0.6, pulls.mean()
    assert np.median(cuts) <= 4, cuts  # a pure power law is fitted from (near) its start


def test_ks_cut_finds_where_a_distorted_start_ends():
    """Below 10 bins the dwell times are redistributed (as merging and rounding do); the KS cut
    lands near 10 and the exponent is right, where a fit from one bin is far off."""
    rng = np.random.default_rng(7)
    k = _discrete_powerlaw(rng, 1.8, 1, 20_000, 4000)
    low = k < 10
    k[low] = rng.integers(4, 10, np.count_nonzero(low))
    fit = fit_powerlaw_ks(k * 1000, 1000)
    assert 8_000 <= fit.t_min_ps <= 25_000, fit
    assert abs(fit.alpha - 1.8) < 4 * fit.alpha_err and abs(fit.alpha - 1.8) < 0.1
    assert abs(fit_powerlaw(k * 1000, 1000).alpha - 1.8) > 0.3


def test_ks_needs_enough_dwell_times():
    with pytest.raises(FitError):
        fit_powerlaw_ks(np.arange(1, MIN_TAIL) * 1000, 1000)
    with pytest.raises(FitError):  # all of one length: no candidate with a longer dwell
        fit_powerlaw_ks(np.full(100, 3000), 1000)
    with pytest.raises(AnalysisError):
        fit_powerlaw_ks(np.full(100, 1500), 1000)
    fit = fit_powerlaw_ks(np.arange(1, MIN_TAIL + 1) * 1000, 1000)
    assert fit.n >= 2 and fit.t_min_ps == 1000  # only the first value leaves MIN_TAIL above


# ---------------------------------------------------------------- dwell times at the switches


def test_switch_dwell_times_move_each_switch_to_the_nearest_edge():
    # levels 0 (OFF) and 50 (ON); switches inside bins (fraction ON given):
    #   OFF x4 | 0.3 ON -> ON at 0.7 of bin 4 | ON x5 | 0.8 ON -> OFF at 0.8 of bin 10 | OFF x6
    #   | 0.4 ON (ON from 0.6 of bin 17) | ON x2 | 0.1 ON (OFF from 0.1 of bin 20) | OFF x4
    counts = np.array([0] * 4 + [15] + [50] * 5 + [40] + [0] * 6 + [20] + [50] * 2 + [5] + [0] * 4)
    states = np.where(counts >= 4, ON, OFF)  # a low threshold: the switching bins go ON
    valid = np.ones(counts.size, dtype=bool)
    runs = dwell_times(states, valid, 7)
    np.testing.assert_array_equal(runs["on"], [7 * 7, 4 * 7])
    np.testing.assert_array_equal(runs["off"], [6 * 7])
    moved = switch_dwell_times(counts, states, valid, 7)
    # switches at 4.7 -> 5, 10.8 -> 11, 17.6 -> 18, 20.1 -> 20: ON 6 and 2 bins, OFF 7 bins
    np.testing.assert_array_equal(moved["on"], [6 * 7, 2 * 7])
    np.testing.assert_array_equal(moved["off"], [7 * 7])
    # a state without interior bins keeps the run edges
    flat = np.array([0, 0, 0, 50, 0, 0, 0, 50, 0, 0, 0])
    flat_states = np.where(flat >= 10, ON, OFF)
    got = switch_dwell_times(flat, flat_states, np.ones(flat.size, bool), 7)
    want = dwell_times(flat_states, np.ones(flat.size, bool), 7)
    for name in ("on", "off", "grey"):
        np.testing.assert_array_equal(got[name], want[name])


def test_switch_dwell_times_of_a_binned_telegraph_are_unbiased():
    """Exponential dwells of 10 bins on average: the mean run from a threshold near the dim level
    is half a bin too long (ON) or too short (OFF); placed at the switches it is right to a few
    hundredths of a bin (what is left comes from the threshold picking noisy switching bins)."""
    rng = np.random.default_rng(11)
    n = 20_000
    durations = rng.exponential(8.0, 2 * n) + 2.0  # at least 2 bins: one switch per bin pair
    starts = np.concatenate([[0.0], np.cumsum(durations)])
    n_bins = int(starts[-1])
    edges = np.arange(n_bins + 1, dtype=float)
    is_on = np.arange(2 * n) % 2 == 0
    on_before = np.concatenate([[0.0], np.cumsum(np.where(is_on, durations, 0.0))])
    k = np.minimum(np.searchsorted(starts, edges, side="right") - 1, durations.size - 1)
    t_on = np.diff(on_before[k] + np.where(is_on[k], edges - starts[k], 0.0))
    counts = rng.poisson(30.0 * t_on + 0.8 * (1 - t_on))
    states = np.where(counts >= 6, ON, OFF)
    valid = np.ones(n_bins, dtype=bool)
    runs = dwell_times(states, valid, 1)
    moved = switch_dwell_times(counts, states, valid, 1)
    true_on, true_off = durations[is_on].mean(), durations[~is_on].mean()
    assert runs["on"].mean() - true_on > 0.3 and true_off - runs["off"].mean() > 0.3
    assert abs(moved["on"].mean() - true_on) < 0.08
    assert abs(moved["off"].mean() - true_off) < 0.08


# ---------------------------------------------------------------- exponents of blinking traces


TRACES = [
    # (bin s, alpha ON, alpha OFF, (OFF, ON) counts/s); the shortest dwell is one bin
    (1e-3, 1.2, 2.0, (800.0, 30_000.0)),
    (1e-3, 1.5, 1.8, (500.0, 20_000.0)),
    (1e-3, 1.8, 1.2, (1000.0, 50_000.0)),
    (1e-3, 2.0, 1.5, (800.0, 30_000.0)),
    (1e-2, 1.2, 1.8, (800.0, 30_000.0)),
    (1e-2, 1.5, 2.0, (500.0, 20_000.0)),
    (1e-2, 1.8, 1.5, (1000.0, 50_000.0)),
    (1e-2, 2.0, 1.2, (800.0, 30_000.0)),
]


@pytest.mark.parametrize(("bin_s", "alpha_on", "alpha_off", "rates"), TRACES)
def test_trace_exponents_with_the_default_cut(bin_s, alpha_on, alpha_off, rates):
    """3000 ON and OFF dwells on [1, 1000] bins. The dwell times shorter than a few bins are
    distorted (rounding, the switching bins, OFF dwells of one bin lost between ON ones); the
    KS cut starts the fit above them. Fitting from one bin instead is off by up to 0.2."""
    counts, bin_ps = _blinking_trace(1, alpha_on, alpha_off, bin_s, bin_s, 3000, 1e3 * bin_s, rates)
    res = _analyze(counts, bin_ps)
    assert res.dwell_min_method == "ks" and res.fit.n_states == 2
    for state, alpha in (("on", alpha_on), ("off", alpha_off)):
        fit = getattr(res, f"{state}_powerlaw")
        got, err = getattr(res, f"{state}_exponent"), getattr(res, f"{state}_exponent_err")
        assert (got, err) == (fit.alpha, fit.alpha_err) and fit.t_min_method == "ks"
        assert abs(got - alpha) < 0.1, (state, got, err, fit)
        assert abs(got - alpha) < 4 * err and 0.005 < err < 0.05, (state, got, err, fit)
        n = getattr(res, f"{state}_dwells")
        cut = getattr(res, f"{state}_dwell_min_ps")
        assert cut == fit.t_min_ps and cut % bin_ps == 0 and 2 * bin_ps <= cut <= 20 * bin_ps
        assert n == fit.n == np.count_nonzero(res.dwell_ps[state] >= cut) >= 500


def test_one_bin_cut_is_biased_where_the_ks_cut_is_not():
    """The issue: the former default (the fit from one bin) on a trace with 1 ms dwells and bins."""
    counts, bin_ps = _blinking_trace(5, 1.5, 1.8, 1e-3, 1e-3)
    auto = _analyze(counts, bin_ps)
    one_bin = _analyze(counts, bin_ps, powerlaw_min_ps=bin_ps)
    assert one_bin.dwell_min_method == "user" and one_bin.on_dwell_min_ps == bin_ps
    assert abs(auto.on_exponent - 1.5) < 0.1 and abs(auto.off_exponent - 1.8) < 0.1
    assert max(abs(one_bin.on_exponent - 1.5), abs(one_bin.off_exponent - 1.8)) > 0.15


def test_powerlaw_min_settings():
    counts, bin_ps = _blinking_trace(6, 1.5, 1.8, 1e-3, 1e-3, n=800)
    auto = _analyze(counts, bin_ps)
    assert _analyze(counts, bin_ps, powerlaw_min_ps=None).on_exponent == auto.on_exponent
    assert _analyze(counts, bin_ps, powerlaw_min_ps="AUTO").off_exponent == auto.off_exponent
    # a fixed cut at the KS choice gives the same fit, marked "user"
    fixed = _analyze(counts, bin_ps, powerlaw_min_ps=auto.on_dwell_min_ps)
    assert fixed.dwell_min_method == "user"
    assert fixed.on_exponent == pytest.approx(auto.on_exponent, rel=1e-12)
    assert fixed.on_dwells == auto.on_dwells
    five = _analyze(counts, bin_ps, powerlaw_min_ps=4.5 * bin_ps)  # rounded up to whole bins
    assert five.on_dwell_min_ps == five.off_dwell_min_ps == 5 * bin_ps
    for bad in ("ks", "5 ms", 0, -1.0, float("nan")):
        with pytest.raises(AnalysisError, match="powerlaw_min_ps"):
            _analyze(counts, bin_ps, powerlaw_min_ps=bad)


def test_summary_block_reports_the_cut():
    counts, bin_ps = _blinking_trace(8, 1.5, 1.8, 1e-3, 1e-3, n=800)
    res = _analyze(counts, bin_ps)
    block = json.loads(json.dumps(res.to_dict()))
    assert block["on_exponent"] == pytest.approx(res.on_exponent)
    assert block["off_exponent_err"] == pytest.approx(res.off_exponent_err)
    assert block["on_dwell_min_s"] == pytest.approx(res.on_dwell_min_ps / PS_PER_S)
    assert block["off_dwell_min_s"] == pytest.approx(res.off_dwell_min_ps / PS_PER_S)
    assert block["dwell_min_method"] == "ks"
    assert block["on_dwells"] == res.on_dwells > 0 and block["off_dwells"] == res.off_dwells > 0


def test_too_few_dwell_times_give_no_exponent():
    # 13 complete ON and 14 OFF runs of 1 and 2 bins: enough for a fixed cut, too few to choose
    counts = np.array([40, 1, 40, 40, 1, 1] * 7 + [40])
    res = _analyze(counts, 10**10, thresholds_cps=[2000.0])
    assert MIN_DWELLS <= res.dwell_ps["on"].size < MIN_TAIL
    assert MIN_DWELLS <= res.dwell_ps["off"].size < MIN_TAIL
    fixed = _analyze(counts, 10**10, thresholds_cps=[2000.0], powerlaw_min_ps=10**10)
    assert fixed.on_exponent is not None and fixed.on_dwells == res.dwell_ps["on"].size
    assert res.on_exponent is None and res.on_exponent_err is None
    assert res.on_dwell_min_ps is None and res.on_dwells == 0 and res.on_powerlaw is None
    block = res.to_dict()
    assert block["off_exponent"] is None and block["off_dwell_min_s"] is None
    assert block["off_dwells"] == 0 and block["dwell_min_method"] == "ks"
    # no dwell time at all, and dwell times all of one length: no exponent, no error
    flat = _analyze(np.full(50, 40), 10**10, thresholds_cps=[2000.0])
    assert flat.on_exponent is None and flat.off_dwells == 0
    same = _analyze(np.array([40, 40, 1, 1] * 40), 10**10, thresholds_cps=[2000.0])
    assert same.dwell_ps["on"].size >= MIN_TAIL and same.on_exponent is None
