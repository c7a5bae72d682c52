"""Blinking analysis: thresholds, state fractions, dwell times and power-law exponents.

Synthetic traces are built here, independently of the module under test: a telegraph process in
continuous time (state durations in units of bins), the time spent in each state within every
cell (a bin or a tenth of a bin) computed exactly from the switching times, and photon counts
drawn as Poisson of sum(state rate x time in state).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import gammaln, logsumexp

from tagstream.analysis import blinking_mixture as mixture
from tagstream.analysis.blinking import analyze_blinking, auto_thresholds
from tagstream.analysis.blinking_dwells import dwell_times
from tagstream.analysis.blinking_states import (
    GREY,
    INVALID,
    OFF,
    ON,
    classify,
    occurrence_histogram,
)
from tagstream.analysis.powerlaw import (
    _discrete_nodes,
    _log_moments,
    fit_powerlaw,
    fit_powerlaw_continuous,
)
from tagstream.errors import AnalysisError, FitError
from tagstream.tags.intervals import contains, is_normalized, total

BIN_PS = 10**10  # 10 ms
RATES_2 = (3.0, 60.0)  # OFF, ON: mean counts per full bin
RATES_3 = (3.0, 30.0, 60.0)  # OFF, grey, ON


# ---------------------------------------------------------------- synthetic traces


def _occupancy(durations, sequence, n_states, n_bins, cells_per_bin=1):
    """Time spent in each state within each cell, as a fraction of the cell.

    ``durations`` (in bins) and ``sequence`` (state of each dwell) describe the telegraph
    process from time 0; returns an array (n_states, n_bins * cells_per_bin).
    """
    durations = np.asarray(durations, dtype=float)
    sequence = np.asarray(sequence)
    starts = np.concatenate([[0.0], np.cumsum(durations)[:-1]])
    assert starts[-1] + durations[-1] >= n_bins
    edges = np.arange(n_bins * cells_per_bin + 1) / cells_per_bin
    dwell = np.searchsorted(starts, edges, side="right") - 1
    out = np.empty((n_states, edges.size - 1))
    for s in range(n_states):
        mine = sequence == s
        spent = np.concatenate([[0.0], np.cumsum(np.where(mine, durations, 0.0))])
        so_far = spent[dwell] + np.where(mine[dwell], edges - starts[dwell], 0.0)
        out[s] = np.diff(so_far) * cells_per_bin
    return out


def _exponential_telegraph(rng, n_bins, mean_dwell, n_states):
    """Durations and states: exponential dwells, each jump to a different state at random."""
    n = int(3 * n_bins / mean_dwell) + 10
    durations = rng.exponential(mean_dwell, n)
    steps = rng.integers(1, n_states, n)
    sequence = (rng.integers(n_states) + np.cumsum(steps)) % n_states
    return durations, sequence


def _truncated_powerlaw(rng, alpha, low, high, n):
    """Inverse-CDF samples of p(t) ∝ t^-alpha on [low, high]."""
    a, b = low ** (1 - alpha), high ** (1 - alpha)
    return (a + rng.random(n) * (b - a)) ** (1 / (1 - alpha))


def _counts(rng, occupancy, rates, cells_per_bin=1):
    """Poisson counts per cell for the given rates per full bin."""
    mean = np.asarray(rates) @ occupancy / cells_per_bin
    return rng.poisson(mean).astype(np.int64)


def _full(n):
    return np.full(n, BIN_PS, dtype=np.int64)


def _two_state_trace(seed, n_bins=200_000, mean_dwell=50.0):
    rng = np.random.default_rng(seed)
    durations, sequence = _exponential_telegraph(rng, n_bins, mean_dwell, 2)
    occ = _occupancy(durations, sequence, 2, n_bins)
    return _counts(rng, occ, RATES_2), occ


def _three_state_trace(seed, n_bins=200_000, mean_dwell=50.0):
    rng = np.random.default_rng(seed)
    durations, sequence = _exponential_telegraph(rng, n_bins, mean_dwell, 3)
    occ = _occupancy(durations, sequence, 3, n_bins)
    return _counts(rng, occ, RATES_3), occ


def _fractions_of(occ, live=None):
    live = np.ones(occ.shape[1], dtype=bool) if live is None else live
    spent = occ[:, live].sum(axis=1)
    return spent / spent.sum()


def _reference_dwells(states, valid, bin_ps):
    """Plain-loop reference of dwell_times."""
    out = {"off": [], "grey": [], "on": []}
    code = [
        int(s) if v and s in (OFF, GREY, ON) else INVALID
        for s, v in zip(states, valid, strict=True)
    ]
    i = 0
    while i < len(code):
        j = i
        while j + 1 < len(code) and code[j + 1] == code[i]:
            j += 1
        inner = i > 0 and j < len(code) - 1 and code[i - 1] != INVALID and code[j + 1] != INVALID
        if code[i] != INVALID and inner:
            out[("off", "grey", "on")[code[i]]].append((j - i + 1) * bin_ps)
        i = j + 1
    return out


# ---------------------------------------------------------------- building blocks


def test_occurrence_histogram_uses_full_bins_only():
    counts = np.array([0, 2, 2, 5, 9, 0, 1])
    exposure = np.array([BIN_PS, BIN_PS, BIN_PS // 2, BIN_PS, BIN_PS // 3, 0, BIN_PS])
    values, occ = occurrence_histogram(counts, exposure, BIN_PS)
    np.testing.assert_array_equal(values, np.arange(6))
    np.testing.assert_array_equal(occ, [1, 1, 1, 0, 0, 1])
    values, occ = occurrence_histogram(counts[:0], exposure[:0], BIN_PS)
    assert values.size == 0 and occ.size == 0


def test_classify_puts_a_bin_at_a_threshold_in_the_higher_state():
    counts = np.array([0, 9, 10, 11, 29, 30, 31])
    np.testing.assert_array_equal(classify(counts, [10]), [OFF, OFF, ON, ON, ON, ON, ON])
    np.testing.assert_array_equal(classify(counts, [10, 30]), [OFF, OFF, GREY, GREY, GREY, ON, ON])
    np.testing.assert_array_equal(classify(np.array([10.5]), [10.5]), [ON])
    for bad in ([], [30, 10], [1, 2, 3], [np.nan]):
        with pytest.raises(AnalysisError):
            classify(counts, bad)


def test_dwell_times_drop_runs_censored_by_the_ends_and_invalid_bins():
    # runs: ON 3 | OFF 2 | ON 4 | GREY 1 | ON 2 | OFF 3 | ON 1 | invalid | OFF 2
    states = np.array([2, 2, 2, 0, 0, 2, 2, 2, 2, 1, 2, 2, 0, 0, 0, 2, 2, 0, 0])
    valid = np.ones(states.size, dtype=bool)
    valid[16] = False
    got = dwell_times(states, valid, 7)
    np.testing.assert_array_equal(got["off"], [14, 21])
    np.testing.assert_array_equal(got["on"], [28, 14])
    np.testing.assert_array_equal(got["grey"], [7])
    # censored: the first run (start), ON 1 and OFF 2 (the invalid bin and the end)
    assert sorted(got) == ["grey", "off", "on"]
    assert all(v.dtype == np.int64 for v in got.values())
    empty = dwell_times(np.zeros(0, dtype=np.int8), np.zeros(0, dtype=bool), 7)
    assert all(v.size == 0 for v in empty.values())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([OFF, GREY, ON, INVALID]), st.booleans()), max_size=60))
def test_dwell_times_match_a_plain_loop(cells):
    states = np.array([s for s, _ in cells], dtype=np.int8)
    valid = np.array([v for _, v in cells], dtype=bool)
    got = dwell_times(states, valid, 3)
    want = _reference_dwells(states, valid, 3)
    for name in ("off", "grey", "on"):
        np.testing.assert_array_equal(got[name], want[name])


# ---------------------------------------------------------------- thresholds and fractions


@pytest.mark.parametrize("seed", [11, 21, 31])
def test_two_state_trace_fractions_and_bic(seed):
    counts, occ = _two_state_trace(seed)
    res = analyze_blinking(counts, _full(counts.size), 0, BIN_PS)
    fit = res.fit
    assert res.method == "poisson-mixture-bic"
    assert fit.n_states == 2 and fit.bic[2] < fit.bic[3] and fit.bic[2] < fit.bic[1]
    np.testing.assert_allclose(fit.means, RATES_2, rtol=0.02)
    truth = _fractions_of(occ)
    assert abs(res.fractions["off"] - truth[0]) < 0.02
    assert abs(res.fractions["on"] - truth[1]) < 0.02
    assert res.fractions["grey"] == 0.0
    assert sum(res.fractions.values()) == pytest.approx(1.0)
    # the threshold is where the weighted Poisson likelihoods of OFF and ON are equal
    (thr,) = res.thresholds_counts
    (m0, m1), (w0, w1) = fit.means, fit.weights

    def log_weighted(w, m):
        return np.log(w) + thr * np.log(m) - m - gammaln(thr + 1)

    assert log_weighted(w0, m0) == pytest.approx(log_weighted(w1, m1), abs=1e-9)
    assert res.thresholds_cps[0] == pytest.approx(thr * 1e12 / BIN_PS)
    assert np.all(res.states[counts >= thr] == ON) and np.all(res.states[counts < thr] == OFF)


@pytest.mark.parametrize("seed", [12, 22, 32])
def test_three_state_trace_fractions_and_bic(seed):
    counts, occ = _three_state_trace(seed)
    res = analyze_blinking(counts, _full(counts.size), 0, BIN_PS)
    assert res.fit.n_states == 3 and res.fit.bic[3] < res.fit.bic[2]
    np.testing.assert_allclose(res.fit.means, RATES_3, rtol=0.02)
    truth = _fractions_of(occ)
    for name, want in zip(("off", "grey", "on"), truth, strict=True):
        assert abs(res.fractions[name] - want) < 0.02, (name, res.fractions, truth)
    assert len(res.thresholds_counts) == 2


def test_pure_poisson_mixture_would_invent_a_grey_state():
    """Why the fit has switching-bin components: bins in which a two-state emitter switched
    hold intermediate counts, and a mixture of Poisson laws alone prefers a third state."""
    counts, _ = _two_state_trace(seed=11)
    values, occ = occurrence_histogram(counts, _full(counts.size), BIN_PS)
    values, occ = values.astype(float), occ.astype(float)
    bic = {}
    for k in (2, 3):
        means, weights = mixture._poisson_em(values, occ, k, gammaln(values + 1))
        log_pmf = np.log(weights)[:, None] + (
            values * np.log(means)[:, None] - means[:, None] - gammaln(values + 1)
        )
        loglik = occ @ logsumexp(log_pmf, axis=0)
        bic[k] = -2 * loglik + (2 * k - 1) * np.log(occ.sum())
    assert bic[3] < bic[2] - 1000
    assert auto_thresholds(counts, _full(counts.size), BIN_PS).n_states == 2


def test_forced_number_of_states():
    counts, _ = _three_state_trace(seed=12, n_bins=50_000)
    two = auto_thresholds(counts, _full(counts.size), BIN_PS, n_states=2)
    three = auto_thresholds(counts, _full(counts.size), BIN_PS, n_states=3)
    assert two.n_states == 2 and len(two.counts) == 1 and list(two.bic) == [2]
    assert three.n_states == 3 and len(three.counts) == 2
    with pytest.raises(AnalysisError):
        auto_thresholds(counts, _full(counts.size), BIN_PS, n_states=4)


def test_user_thresholds_override_the_fit():
    counts, _ = _two_state_trace(seed=13, n_bins=20_000)
    exposure = _full(counts.size)
    auto = analyze_blinking(counts, exposure, 0, BIN_PS)
    cps = [2000.0, 4500.0]  # 20 and 45 counts per 10 ms bin
    res = analyze_blinking(counts, exposure, 0, BIN_PS, thresholds_cps=cps)
    assert res.method == "user" and res.fit is None
    assert res.thresholds_cps == tuple(cps)
    assert res.thresholds_counts == pytest.approx([20.0, 45.0])
    np.testing.assert_array_equal(res.states, classify(counts, [20.0, 45.0]))
    assert res.fractions["grey"] > 0 and auto.fractions["grey"] == 0.0
    assert res.thresholds_cps != auto.thresholds_cps
    with pytest.raises(AnalysisError, match="make 3 states"):
        analyze_blinking(counts, exposure, 0, BIN_PS, thresholds_cps=cps, n_states=2)


# ---------------------------------------------------------------- gaps and partial bins


def test_gap_bins_inserted_between_data_leave_everything_unchanged():
    counts, _ = _two_state_trace(seed=14, n_bins=40_000)
    gapped = np.concatenate([counts[:15_000], np.zeros(20_000, np.int64), counts[15_000:]])
    exposure = _full(gapped.size)
    exposure[15_000:35_000] = 0
    plain = analyze_blinking(counts, _full(counts.size), 0, BIN_PS)
    cut = analyze_blinking(gapped, exposure, 0, BIN_PS)
    assert cut.fractions == plain.fractions
    assert cut.thresholds_counts == plain.thresholds_counts
    assert np.all(cut.states[15_000:35_000] == INVALID)
    # the run(s) touching the gap are censored and dropped; every other dwell stays
    touching = 1 if plain.states[14_999] == plain.states[15_000] else 2
    plain_all = np.concatenate([plain.dwell_ps["on"], plain.dwell_ps["off"]])
    cut_all = np.concatenate([cut.dwell_ps["on"], cut.dwell_ps["off"]])
    assert cut_all.size == plain_all.size - touching
    assert np.isin(cut_all, plain_all).all()
    # treating the gap as recorded zeros would count it as OFF time
    thr = plain.thresholds_cps
    naive = analyze_blinking(gapped, _full(gapped.size), 0, BIN_PS, thresholds_cps=thr)
    assert naive.fractions["off"] > plain.fractions["off"] + 0.1


def test_gap_cut_at_sub_bin_times_keeps_fractions_on_the_live_time():
    rng = np.random.default_rng(15)
    n_bins, sub = 60_000, 10
    durations, sequence = _exponential_telegraph(rng, n_bins, 50.0, 2)
    occ = _occupancy(durations, sequence, 2, n_bins, cells_per_bin=sub)
    cells = _counts(rng, occ, RATES_2, cells_per_bin=sub)
    live = np.ones(cells.size, dtype=bool)
    for a, b in ((103_457, 231_003), (400_001, 400_009), (512_345, 599_996)):
        live[a:b] = False  # gaps starting and ending inside bins
    counts = np.where(live, cells, 0).reshape(n_bins, sub).sum(axis=1)
    exposure = live.reshape(n_bins, sub).sum(axis=1) * (BIN_PS // sub)
    partial = (exposure > 0) & (exposure < BIN_PS)
    assert partial.sum() == 5
    res = analyze_blinking(counts, exposure, 0, BIN_PS)
    truth = _fractions_of(occ, live)
    assert abs(res.fractions["on"] - truth[1]) < 0.02
    assert abs(res.fractions["off"] - truth[0]) < 0.02
    full_only = counts[exposure == BIN_PS]
    np.testing.assert_array_equal(res.occurrence[1], np.bincount(full_only))
    assert np.all(res.states[partial] != INVALID)
    assert np.all(res.states[exposure == 0] == INVALID)


def test_partial_bin_is_classified_by_rate_and_weighted_by_exposure():
    # 20 full OFF bins, a half bin holding 25 counts (rate 50 per bin), 20 full ON bins
    counts = np.array([1] * 20 + [25] + [50] * 20)
    exposure = _full(counts.size)
    exposure[20] = BIN_PS // 2
    res = analyze_blinking(counts, exposure, 0, BIN_PS, thresholds_cps=[2000.0])
    assert res.states[20] == ON
    assert res.fractions["on"] == pytest.approx(20.5 / 40.5)
    assert all(v.size == 0 for v in res.dwell_ps.values())


def test_a_gap_breaks_dwell_runs():
    # layout: ON 5 | OFF 3 | ON 7 | OFF 4 | ON 6 | OFF 2 | ON 3 ; counts 50 (ON) or 1 (OFF)
    layout = [(ON, 5), (OFF, 3), (ON, 7), (OFF, 4), (ON, 6), (OFF, 2), (ON, 3)]
    counts = np.concatenate([np.full(n, 50 if s == ON else 1) for s, n in layout])
    thr = [2000.0]
    whole = analyze_blinking(counts, _full(counts.size), 0, BIN_PS, thresholds_cps=thr)
    np.testing.assert_array_equal(whole.dwell_ps["on"], np.array([7, 6]) * BIN_PS)
    np.testing.assert_array_equal(whole.dwell_ps["off"], np.array([3, 4, 2]) * BIN_PS)
    exposure = _full(counts.size)
    counts = counts.copy()
    exposure[10], counts[10] = 0, 0  # a gap bin inside ON 7
    exposure[22], counts[22] = BIN_PS // 2, 25  # a partial bin inside ON 6
    cut = analyze_blinking(counts, exposure, 0, BIN_PS, thresholds_cps=thr)
    assert cut.dwell_ps["on"].size == 0
    np.testing.assert_array_equal(cut.dwell_ps["off"], np.array([3, 4, 2]) * BIN_PS)


# ---------------------------------------------------------------- intervals and output


def test_on_intervals_merge_adjacent_bins_and_sum_to_the_on_time():
    counts, _ = _two_state_trace(seed=16, n_bins=20_000)
    t0 = 123_456_789
    res = analyze_blinking(counts, _full(counts.size), t0, BIN_PS)
    on = res.intervals("on")
    assert on.dtype == np.int64 and on.shape[1] == 2 and is_normalized(on)
    is_on = res.states == ON
    n_runs = int(is_on[0]) + int(np.count_nonzero(is_on[1:] & ~is_on[:-1]))
    assert len(on) == n_runs
    live = counts.size * BIN_PS
    assert total(on) == round(res.fractions["on"] * live)
    centres = t0 + np.arange(counts.size) * BIN_PS + BIN_PS // 2
    np.testing.assert_array_equal(contains(on, centres), is_on)
    np.testing.assert_array_equal(res.intervals(ON), on)
    assert total(res.intervals("off")) + total(on) == live
    assert res.intervals("grey").shape == (0, 2)
    with pytest.raises(AnalysisError):
        res.intervals("bright")


def test_to_dict_is_the_summary_block():
    counts, _ = _two_state_trace(seed=17, n_bins=20_000)
    res = analyze_blinking(counts, _full(counts.size), 0, BIN_PS)
    block = json.loads(json.dumps(res.to_dict()))
    assert set(block) == {
        "bin_s",
        "thresholds_cps",
        "fractions",
        "on_exponent",
        "off_exponent",
        "on_exponent_err",
        "off_exponent_err",
        "on_dwell_min_s",
        "off_dwell_min_s",
        "dwell_min_method",
        "on_dwells",
        "off_dwells",
        "method",
    }
    assert block["method"] == "poisson-mixture-bic"
    assert block["bin_s"] == pytest.approx(0.01)
    assert set(block["fractions"]) == {"on", "grey", "off"}
    assert block["thresholds_cps"] == pytest.approx(list(res.thresholds_cps))
    assert block["on_exponent"] == pytest.approx(res.on_exponent)
    assert block["off_exponent_err"] == pytest.approx(res.off_exponent_err)
    assert block["on_dwell_min_s"] == pytest.approx(res.on_dwell_min_ps / 1e12)
    assert block["dwell_min_method"] == "ks" and type(block["off_dwells"]) is int
    assert block["on_dwells"] == res.on_dwells == res.on_powerlaw.n


# ---------------------------------------------------------------- power laws


@pytest.mark.parametrize("seed", [18, 28])
def test_powerlaw_dwell_exponents_recovered_from_a_trace(seed):
    """ON / OFF durations drawn from p(t) ∝ t^-1.5 and t^-1.8 on [10, 1e4] bins.

    The fit starts at 20 bins: below 10 bins there are no true dwells (only the truncation),
    and near it the observed runs are the true durations rounded by the transition bins (a
    switching bin goes to whichever state its counts favour, shifting each run by up to one
    bin); from twice the lower cut-off on, both effects are negligible against the statistical
    error. Fitting from one bin instead gives 1.03 / 1.10.
    """
    rng = np.random.default_rng(seed)
    n = 2500
    on = _truncated_powerlaw(rng, 1.5, 10, 1e4, n)
    off = _truncated_powerlaw(rng, 1.8, 10, 1e4, n)
    durations = np.column_stack([on, off]).ravel()
    sequence = np.tile([1, 0], n)
    n_bins = int(durations.sum())
    occ = _occupancy(durations, sequence, 2, n_bins)
    counts = _counts(rng, occ, RATES_2)
    res = analyze_blinking(counts, _full(n_bins), 0, BIN_PS, powerlaw_min_ps=20 * BIN_PS)
    assert res.fit.n_states == 2
    assert abs(res.on_exponent - 1.5) < 0.1 and abs(res.off_exponent - 1.8) < 0.1
    assert res.on_exponent_err < 0.03 and res.off_exponent_err < 0.03
    truth = _fractions_of(occ)
    assert abs(res.fractions["on"] - truth[1]) < 0.02


@pytest.mark.parametrize("alpha", [1.5, 1.8])
def test_discrete_mle_is_unbiased_with_honest_errors(alpha):
    rng = np.random.default_rng(int(alpha * 10))
    k = np.arange(2, 3001)
    p = k**-alpha
    p /= p.sum()
    pulls = []
    for _ in range(50):
        sample = rng.choice(k, size=400, p=p) * BIN_PS
        fit = fit_powerlaw(sample, BIN_PS, t_min_ps=2 * BIN_PS, t_max_ps=3000 * BIN_PS)
        assert fit.discrete and fit.n == 400
        pulls.append((fit.alpha - alpha) / fit.alpha_err)
    pulls = np.array(pulls)
    assert np.all(np.abs(pulls) < 4)
    assert abs(pulls[0]) < 3
    assert 0.7 < pulls.std() < 1.4
    assert abs(pulls.mean()) < 3 / np.sqrt(pulls.size)


def test_continuous_mle_is_unbiased_with_honest_errors():
    rng = np.random.default_rng(19)
    pulls = []
    for _ in range(50):
        sample = _truncated_powerlaw(rng, 1.8, 5.0, 5e4, 400)
        fit = fit_powerlaw_continuous(sample, 5.0, 5e4)
        pulls.append((fit.alpha - 1.8) / fit.alpha_err)
    pulls = np.array(pulls)
    assert 0.7 < pulls.std() < 1.4
    assert abs(pulls.mean()) < 3 / np.sqrt(pulls.size)


def test_powerlaw_defaults_and_range():
    dwell = np.array([1, 1, 2, 3, 5, 8, 13, 40]) * 1000
    fit = fit_powerlaw(dwell, 1000)
    assert fit.t_min_ps == 1000 and fit.t_max_ps == 40_000 and fit.n == 8
    above = fit_powerlaw(dwell, 1000, t_min_ps=2500)
    assert above.t_min_ps == 3000 and above.n == 5
    cont = fit_powerlaw_continuous(dwell)
    assert cont.t_min_ps == 1000 and cont.t_max_ps == 40_000 and not cont.discrete
    with pytest.raises(AnalysisError):
        fit_powerlaw(np.array([1500]), 1000)
    with pytest.raises(FitError):
        fit_powerlaw(np.array([1000]), 1000)
    with pytest.raises(FitError):
        fit_powerlaw(np.zeros(0), 1000)
    with pytest.raises(FitError):
        fit_powerlaw_continuous(np.zeros(0))
    with pytest.raises(FitError):
        fit_powerlaw(np.array([1000, 1000, 1000]), 1000, t_max_ps=5000)


@pytest.mark.parametrize("alpha", [-1.0, 0.5, 1.5, 2.5])
def test_long_discrete_range_matches_the_exact_sum(alpha):
    k = np.arange(3, 300_001, dtype=float)
    log_terms = -alpha * np.log(k)
    log_z = logsumexp(log_terms)
    p = np.exp(log_terms - log_z)
    mean = p @ np.log(k)
    var = p @ (np.log(k) - mean) ** 2
    got = _log_moments(alpha, *_discrete_nodes(3, 300_000))
    np.testing.assert_allclose(got, (log_z, mean, var), rtol=1e-9)


def test_few_dwells_give_no_exponent():
    layout = [50, 1] * 6  # alternating single ON / OFF bins: five complete runs of each
    counts = np.array(layout)
    res = analyze_blinking(counts, _full(counts.size), 0, BIN_PS, thresholds_cps=[2000.0])
    assert len(res.dwell_ps["on"]) == 5 and len(res.dwell_ps["off"]) == 5
    assert res.on_exponent is None and res.off_exponent_err is None
    assert res.to_dict()["on_exponent"] is None


# ---------------------------------------------------------------- edge cases


def test_empty_trace_is_an_error():
    empty = np.zeros(0, dtype=np.int64)
    with pytest.raises(AnalysisError, match="empty"):
        analyze_blinking(empty, empty, 0, BIN_PS)
    with pytest.raises(AnalysisError, match="no full bins"):
        auto_thresholds(empty, empty, BIN_PS)


def test_trace_entirely_in_a_gap_is_an_error():
    zeros = np.zeros(100, dtype=np.int64)
    with pytest.raises(AnalysisError, match="no live time"):
        analyze_blinking(zeros, zeros, 0, BIN_PS, thresholds_cps=[100.0])


def test_constant_trace_needs_user_thresholds():
    """One Poisson level cannot tell ON from OFF: automatic thresholds raise AnalysisError;
    with user thresholds the result is well defined (all ON, no complete dwell)."""
    counts = np.random.default_rng(20).poisson(40.0, 5_000)
    exposure = _full(counts.size)
    with pytest.raises(AnalysisError, match="one state, a single Poisson level"):
        analyze_blinking(counts, exposure, 0, BIN_PS)
    res = analyze_blinking(counts, exposure, 0, BIN_PS, thresholds_cps=[1000.0])
    assert res.fractions == {"off": 0.0, "grey": 0.0, "on": 1.0}
    assert all(v.size == 0 for v in res.dwell_ps.values())
    assert res.on_exponent is None and res.off_exponent is None
    assert res.intervals("on").tolist() == [[0, counts.size * BIN_PS]]


def test_all_zero_trace_needs_user_thresholds():
    """All-zero counts: automatic thresholds raise AnalysisError; user thresholds give all OFF."""
    counts = np.zeros(1_000, dtype=np.int64)
    exposure = _full(counts.size)
    with pytest.raises(AnalysisError, match="one state"):
        analyze_blinking(counts, exposure, 0, BIN_PS)
    res = analyze_blinking(counts, exposure, 0, BIN_PS, thresholds_cps=[500.0])
    assert res.fractions == {"off": 1.0, "grey": 0.0, "on": 0.0}
    assert res.intervals("on").shape == (0, 2)


@pytest.mark.parametrize(
    ("counts", "exposure", "bin_ps"),
    [
        ([1, 2], [BIN_PS], BIN_PS),
        ([1, -2], [BIN_PS, BIN_PS], BIN_PS),
        ([1, 2], [BIN_PS, BIN_PS + 1], BIN_PS),
        ([1, 2], [BIN_PS, 0], BIN_PS),
        ([1.5, 2], [BIN_PS, BIN_PS], BIN_PS),
        ([1, 2], [0, 0], 0),
    ],
)
def test_bad_traces_are_rejected(counts, exposure, bin_ps):
    with pytest.raises(AnalysisError):
        analyze_blinking(np.array(counts), np.array(exposure), 0, bin_ps, thresholds_cps=[1.0])
