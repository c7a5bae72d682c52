"""g2(0) from pulsed and CW g2 histograms, checked on simulated photon streams.

Photon streams are simulated here with numpy, correlated by a small numpy correlator and
normalised with ``expected = N_A * N_B * b / T``; the analyses never see the simulation's
parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from tagstream.analysis.g2_fits import (
    CWG2Fit,
    PulsedG2,
    find_period,
    fit_cw,
    peak_leakage,
    pulsed_g2_zero,
)
from tagstream.errors import AnalysisError, FitError

BIN_PS = 100


# --------------------------------------------------------------------------- correlator


def correlate(a: np.ndarray, b: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Histogram of ``t_b - t_a`` over all pairs with the delay in ``[edges[0], edges[-1])``."""
    lo = np.searchsorted(b, a + edges[0], side="left")
    hi = np.searchsorted(b, a + edges[-1], side="left")
    n = hi - lo
    first = np.repeat(lo - (np.cumsum(n) - n), n)
    j = first + np.arange(n.sum())
    i = np.repeat(np.arange(a.size), n)
    delays = b[j] - a[i]
    width = edges[1] - edges[0]
    return np.bincount((delays - edges[0]) // width, minlength=edges.size - 1)


def correlate_slowly(a: np.ndarray, b: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The same histogram by a double loop over all pairs."""
    counts = np.zeros(edges.size - 1, dtype=np.int64)
    width = edges[1] - edges[0]
    for ta in a:
        for tb in b:
            d = tb - ta
            if edges[0] <= d < edges[-1]:
                counts[(d - edges[0]) // width] += 1
    return counts


def symmetric_edges(half_width_ps: int, bin_ps: int = BIN_PS) -> np.ndarray:
    return np.arange(-half_width_ps, half_width_ps + 1, bin_ps, dtype=np.int64)


@dataclass(frozen=True)
class G2Data:
    edges: np.ndarray
    counts: np.ndarray
    expected: np.ndarray
    truth: float


def g2_histogram(a, b, duration_ps: float, edges: np.ndarray, truth: float) -> G2Data:
    counts = correlate(a, b, edges)
    width = float(edges[1] - edges[0])
    expected = np.full(counts.size, a.size * b.size * width / duration_ps)
    return G2Data(edges, counts, expected, truth)


def detect(rng, times: np.ndarray, eta: float, jitter_ps: float) -> tuple[np.ndarray, np.ndarray]:
    """Send each photon to A or B (1/2 each), keep it with efficiency ``eta``, add jitter."""
    kept = times[rng.random(times.size) < eta]
    to_a = rng.random(kept.size) < 0.5
    streams = []
    for part in (kept[to_a], kept[~to_a]):
        jittered = part + rng.normal(0.0, jitter_ps, part.size) if jitter_ps > 0 else part
        streams.append(jittered)
    return streams[0], streams[1]


def with_background(rng, stream: np.ndarray, rate_per_ps: float, duration_ps: float):
    """Add Poisson background at ``rate_per_ps``, sort and round to integer ps."""
    extra = rng.uniform(0.0, duration_ps, rng.poisson(rate_per_ps * duration_ps))
    return np.sort(np.round(np.concatenate([stream, extra])).astype(np.int64))


# --------------------------------------------------------------------------- pulsed source


def pulsed_data(
    seed: int,
    g2: float,
    tau_ps: float,
    n_pulses: int,
    period_ps: float = 12_500.0,
    mean_n: float = 0.9,
    eta: float = 0.3,
    jitter_ps: float = 30.0,
    dark_ratio: float = 0.01,
    half_width_ps: int = 50_000,
) -> G2Data:
    """Emitter giving 0, 1 or 2 photons per pulse with <n(n-1)>/<n>^2 = ``g2``, each photon
    delayed by Exp(``tau_ps``); dark counts at ``dark_ratio`` times the signal rate.

    ``truth`` is the g2(0) of the detected light including the dark counts:
    ``(g2 s^2 + 2 s d + d^2) / (s + d)^2`` with signal and dark rates ``s`` and ``d``."""
    rng = np.random.default_rng(seed)
    p2 = g2 * mean_n**2 / 2
    p1 = mean_n - 2 * p2
    n = rng.choice(3, size=n_pulses, p=[1 - p1 - p2, p1, p2])
    pulses = np.repeat(np.arange(n_pulses) * period_ps, n)
    times = pulses + rng.exponential(tau_ps, pulses.size)
    a, b = detect(rng, times, eta, jitter_ps)
    duration = n_pulses * period_ps
    signal = mean_n * eta / 2 / period_ps
    dark = dark_ratio * signal
    a = with_background(rng, a, dark, duration)
    b = with_background(rng, b, dark, duration)
    truth = (g2 * signal**2 + 2 * signal * dark + dark**2) / (signal + dark) ** 2
    return g2_histogram(a, b, duration, symmetric_edges(half_width_ps), truth)


# --------------------------------------------------------------------------- CW source


@dataclass(frozen=True)
class CWTruth:
    g2_zero: float
    rate_per_ps: float
    jitter_ps: float
    bunching: float = 0.0
    bunching_time_ps: float | None = None


def telegraph_on(rng, times: np.ndarray, duration_ps: float, on_ps: float, off_ps: float):
    """Mask of ``times`` falling in the ON periods of a two-state blinking emitter with
    exponential ON and OFF dwell times (means ``on_ps``, ``off_ps``), starting ON."""
    n = int(2 * duration_ps / (on_ps + off_ps) + 100)
    dwell = np.empty(2 * n)
    dwell[0::2] = rng.exponential(on_ps, n)
    dwell[1::2] = rng.exponential(off_ps, n)
    switches = np.cumsum(dwell)
    assert switches[-1] > duration_ps
    return np.searchsorted(switches, times, side="right") % 2 == 0


def cw_data(
    seed: int,
    duration_ps: float,
    k_pump: float = 1 / 2000,
    k_rad: float = 1 / 1000,
    eta: float = 0.5,
    rho: float = 0.9,
    jitter_ps: float = 0.0,
    half_width_ps: int = 20_000,
    blinking_ps: tuple[float, float] | None = None,
) -> tuple[G2Data, CWTruth]:
    """Two-level emitter under CW pumping: a renewal process with inter-emission time
    Exp(``k_pump``) + Exp(``k_rad``) (rates in 1/ps), plus Poisson background making the signal
    fraction ``rho`` on each detector, so g2(0) = 1 - rho^2 and k = k_pump + k_rad.

    ``jitter_ps`` is added to each timestamp, so the delay jitter is ``sqrt(2)`` times it. With
    ``blinking_ps = (on, off)`` only emissions in ON periods are kept; then
    ``g2 = 1 + rho^2 [(1 - exp(-k t)) (1 + a_s exp(-t / t_b)) - 1]`` with ``a_s = off / on`` and
    ``1/t_b = 1/on + 1/off``, which is the fitted model with ``a = rho^2 a_s`` up to terms of
    order ``1 / (k t_b)``."""
    rng = np.random.default_rng(seed)
    rate = k_pump * k_rad / (k_pump + k_rad)
    n = int(duration_ps * rate + 10 * np.sqrt(duration_ps * rate) + 100)
    gaps = rng.exponential(1 / k_pump, n) + rng.exponential(1 / k_rad, n)
    times = np.cumsum(gaps)
    assert times[-1] > duration_ps
    times = times[times < duration_ps]
    on_fraction, bunching, bunching_time = 1.0, 0.0, None
    if blinking_ps is not None:
        on_ps, off_ps = blinking_ps
        times = times[telegraph_on(rng, times, duration_ps, on_ps, off_ps)]
        on_fraction = on_ps / (on_ps + off_ps)
        bunching = rho**2 * off_ps / on_ps
        bunching_time = 1 / (1 / on_ps + 1 / off_ps)
    a, b = detect(rng, times, eta, jitter_ps)
    background = rate * on_fraction * eta / 2 * (1 / rho - 1)
    a = with_background(rng, a, background, duration_ps)
    b = with_background(rng, b, background, duration_ps)
    data = g2_histogram(a, b, duration_ps, symmetric_edges(half_width_ps), 1 - rho**2)
    truth = CWTruth(1 - rho**2, k_pump + k_rad, np.sqrt(2) * jitter_ps, bunching, bunching_time)
    return data, truth


def pull(value: float, error: float, truth: float) -> float:
    return (value - truth) / error


def within(value: float, error: float, truth: float, n_sigma: float = 3.0) -> bool:
    return abs(value - truth) < n_sigma * error


# --------------------------------------------------------------------------- the test tools


def test_correlator_matches_a_double_loop():
    rng = np.random.default_rng(7)
    a = np.sort(rng.integers(0, 20_000, 80))
    b = np.sort(rng.integers(0, 20_000, 90))
    edges = symmetric_edges(3_000)
    counts = correlate(a, b, edges)
    assert counts.sum() > 20
    np.testing.assert_array_equal(counts, correlate_slowly(a, b, edges))


# --------------------------------------------------------------------------- find_period


@pytest.mark.parametrize(
    ("period_ps", "tau_ps", "half_width_ps"),
    [(12_500.0, 1_000.0, 50_000), (13_157.9, 2_000.0, 50_000), (5_000.0, 800.0, 25_000)],
)
def test_find_period_recovers_the_repetition_period(period_ps, tau_ps, half_width_ps):
    data = pulsed_data(11, 0.1, tau_ps, 300_000, period_ps=period_ps, half_width_ps=half_width_ps)
    assert abs(find_period(data.edges, data.counts) - period_ps) < BIN_PS


def test_find_period_rejects_cw_data():
    data, _ = cw_data(12, 2e9)
    with pytest.raises(AnalysisError, match="no periodic peaks"):
        find_period(data.edges, data.counts)
    with pytest.raises(AnalysisError, match="no periodic peaks"):
        pulsed_g2_zero(data.edges, data.counts, data.expected)


# --------------------------------------------------------------------------- pulsed g2(0)


@pytest.mark.parametrize(("g2", "tau_ps"), [(0.02, 1_000.0), (0.1, 2_000.0), (0.3, 3_000.0)])
def test_pulsed_g2_zero_is_recovered(g2, tau_ps):
    data = pulsed_data(20 + int(100 * g2), g2, tau_ps, 500_000)
    result = pulsed_g2_zero(data.edges, data.counts, data.expected)
    assert isinstance(result, PulsedG2)
    # 1-3 ns at 12.5 ns leaks more than 1e-3 of a peak into the next window: "auto" fits
    assert result.method == "fit"
    assert result.leakage > 1e-3
    assert within(result.value, result.error, data.truth)
    assert abs(result.period_ps - 12_500.0) < 10.0
    assert abs(result.peak_decay_ps - tau_ps) < 0.1 * tau_ps
    assert result.purity == pytest.approx(1 - result.value)
    assert result.adjacent_norm == pytest.approx(1.0, abs=0.03)
    assert result.value == pytest.approx(
        result.areas[0] / (0.5 * (result.areas[-1] + result.areas[1]))
    )
    summary = result.to_dict()
    assert summary == {
        "excitation": "pulsed",
        "period_ns": pytest.approx(result.period_ps / 1e3),
        "g2_zero": result.value,
        "g2_zero_err": result.error,
        "rate_per_ns": None,
        "method": "fit",
        "zero_delay_ns": result.offset_ps / 1e3,
        "jitter_ps": result.jitter_ps,
    }
    assert abs(result.offset_ps) < 50 and result.warnings == ()


def test_well_separated_peaks_use_windows():
    data = pulsed_data(31, 0.1, 400.0, 300_000)
    result = pulsed_g2_zero(data.edges, data.counts, data.expected)
    assert result.method == "window"
    assert result.leakage < 1e-3
    assert within(result.value, result.error, data.truth)
    windows = pulsed_g2_zero(data.edges, data.counts, data.expected, method="window")
    assert windows.value == result.value
    assert windows.error == result.error
    # the same answer from the fit, with the side peaks' decay time
    fitted = pulsed_g2_zero(data.edges, data.counts, data.expected, method="fit")
    assert abs(fitted.value - result.value) < result.error
    assert abs(fitted.peak_decay_ps - 400.0) < 40.0


def test_a_known_lifetime_decides_without_fitting():
    data = pulsed_data(32, 0.1, 400.0, 100_000)
    quick = pulsed_g2_zero(data.edges, data.counts, period_ps=12_500.0, lifetime_ps=400.0)
    assert quick.method == "window"
    assert quick.peak_decay_ps is None
    assert quick.leakage == pytest.approx(np.exp(-12_500.0 / 800.0))
    assert within(quick.value, quick.error, data.truth)
    # a wrong lifetime says the peaks overlap: the fit runs, finds them apart, windows are kept
    checked = pulsed_g2_zero(data.edges, data.counts, period_ps=12_500.0, lifetime_ps=3_000.0)
    assert checked.method == "window"
    assert checked.value == quick.value
    assert abs(checked.peak_decay_ps - 400.0) < 40.0
    assert checked.leakage < 1e-3


def test_overlapping_peaks_are_fitted_and_windows_are_biased():
    data = pulsed_data(41, 0.1, 5_000.0, 3_000_000)
    result = pulsed_g2_zero(data.edges, data.counts, data.expected)
    assert result.method == "fit"
    assert result.leakage > 0.2
    assert within(result.value, result.error, data.truth)
    windows = pulsed_g2_zero(data.edges, data.counts, data.expected, method="window")
    bias = windows.value - data.truth
    assert bias > 10 * windows.error
    assert bias > 5 * result.error


def test_window_areas_are_normalised_by_the_expected_counts():
    # exposure tripled beyond the window edge at T/2 (as uneven gaps would do): counts and
    # expected scale together
    data = pulsed_data(33, 0.1, 400.0, 100_000)
    centres = 0.5 * (data.edges[:-1] + data.edges[1:])
    factor = np.where(centres > 6_250, 3, 1)
    plain = pulsed_g2_zero(data.edges, data.counts, data.expected, 12_500.0, "window")
    skewed = pulsed_g2_zero(
        data.edges, data.counts * factor, data.expected * factor, 12_500.0, "window"
    )
    assert skewed.value == pytest.approx(plain.value, rel=0.003)
    assert skewed.adjacent_norm == pytest.approx(plain.adjacent_norm, rel=0.003)
    raw = pulsed_g2_zero(data.edges, data.counts * factor, None, 12_500.0, "window")
    assert raw.value == pytest.approx(plain.value / 2, rel=0.05)


def test_peak_leakage_of_a_two_sided_exponential():
    assert peak_leakage(12_500.0, 1_000.0) == pytest.approx(np.exp(-6.25), rel=1e-9)
    assert peak_leakage(12_500.0, 1_000.0, 300.0) > peak_leakage(12_500.0, 1_000.0)


def test_window_pulls_are_honest():
    pulls = []
    for seed in range(30):
        data = pulsed_data(100 + seed, 0.1, 500.0, 30_000, half_width_ps=25_000)
        result = pulsed_g2_zero(data.edges, data.counts, period_ps=12_500.0, method="window")
        pulls.append(pull(result.value, result.error, data.truth))
    assert 0.7 <= np.std(pulls, ddof=1) <= 1.4
    assert abs(np.mean(pulls)) < 0.6


@pytest.mark.slow
def test_fit_pulls_are_honest_for_overlapping_peaks():
    pulls = []
    for seed in range(20):
        data = pulsed_data(300 + seed, 0.1, 2_000.0, 1_000_000, half_width_ps=40_000)
        result = pulsed_g2_zero(data.edges, data.counts, period_ps=12_500.0, method="fit")
        pulls.append(pull(result.value, result.error, data.truth))
    assert 0.7 <= np.std(pulls, ddof=1) <= 1.4
    assert abs(np.mean(pulls)) < 0.6


# --------------------------------------------------------------------------- CW


def test_cw_g2_zero_and_rate_are_recovered():
    data, truth = cw_data(51, 2e9)
    fit = fit_cw(data.edges, data.counts, data.expected)
    assert isinstance(fit, CWG2Fit)
    assert within(fit.g2_zero, fit.g2_zero_err, truth.g2_zero)
    assert within(fit.rate_per_ps, fit.rate_err_per_ps, truth.rate_per_ps)
    assert fit.rate_per_ns == pytest.approx(1e3 * fit.rate_per_ps)
    assert abs(fit.offset_ps) < 3 * fit.offset_err_ps + 1.0
    assert fit.scale == pytest.approx(1.0, abs=3 * fit.scale_err)
    assert fit.jitter_ps is None and fit.bunching_amplitude is None
    assert 0.8 < fit.reduced_deviance < 1.2
    assert fit.to_dict() == {
        "excitation": "cw",
        "period_ns": None,
        "g2_zero": fit.g2_zero,
        "g2_zero_err": fit.g2_zero_err,
        "rate_per_ns": fit.rate_per_ns,
        "method": "cw-fit",
        "zero_delay_ns": fit.offset_ps / 1e3,
        "jitter_ps": None,
    }


def test_cw_jitter_fills_the_dip_unless_convolved():
    data, truth = cw_data(52, 4e9, jitter_ps=150.0)
    bare = fit_cw(data.edges, data.counts, data.expected)
    assert bare.g2_zero - truth.g2_zero > 5 * bare.g2_zero_err
    known = fit_cw(data.edges, data.counts, data.expected, jitter_ps=truth.jitter_ps)
    assert known.jitter_ps == truth.jitter_ps and known.jitter_err_ps == 0.0
    free = fit_cw(data.edges, data.counts, data.expected, jitter_ps="fit")
    for fit in (known, free):
        assert within(fit.g2_zero, fit.g2_zero_err, truth.g2_zero)
        assert within(fit.rate_per_ps, fit.rate_err_per_ps, truth.rate_per_ps)
    assert within(free.jitter_ps, free.jitter_err_ps, truth.jitter_ps)


def test_cw_bunching_from_blinking():
    data, truth = cw_data(53, 2e9, half_width_ps=100_000, blinking_ps=(60_000.0, 30_000.0))
    fit = fit_cw(data.edges, data.counts, data.expected, bunching=True)
    assert within(fit.g2_zero, fit.g2_zero_err, truth.g2_zero)
    assert within(fit.rate_per_ps, fit.rate_err_per_ps, truth.rate_per_ps)
    assert within(fit.bunching_amplitude, fit.bunching_amplitude_err, truth.bunching)
    assert within(fit.bunching_time_ps, fit.bunching_time_err_ps, truth.bunching_time_ps)
    plain = fit_cw(data.edges, data.counts, data.expected)
    assert plain.deviance - fit.deviance > 100


def test_cw_pulls_are_honest():
    pulls = []
    for seed in range(30):
        data, truth = cw_data(200 + seed, 3e8)
        fit = fit_cw(data.edges, data.counts, data.expected)
        pulls.append(pull(fit.g2_zero, fit.g2_zero_err, truth.g2_zero))
    assert 0.7 <= np.std(pulls, ddof=1) <= 1.4
    assert abs(np.mean(pulls)) < 0.6


# --------------------------------------------------------------------------- bad input


@pytest.fixture(scope="module")
def pulsed() -> G2Data:
    return pulsed_data(61, 0.1, 500.0, 30_000)


def test_empty_histograms_are_rejected():
    empty_edges = np.array([0], dtype=np.int64)
    empty = np.array([], dtype=np.int64)
    with pytest.raises(AnalysisError, match="empty"):
        find_period(empty_edges, empty)
    with pytest.raises(AnalysisError, match="empty"):
        pulsed_g2_zero(empty_edges, empty, period_ps=12_500.0)
    with pytest.raises(AnalysisError, match="empty"):
        fit_cw(empty_edges, empty, empty.astype(float))
    edges = symmetric_edges(50_000)
    zeros = np.zeros(edges.size - 1, dtype=np.int64)
    with pytest.raises(AnalysisError, match="no coincidences"):
        pulsed_g2_zero(edges, zeros, period_ps=12_500.0)
    with pytest.raises(AnalysisError, match="no coincidences"):
        fit_cw(edges, zeros, np.ones(zeros.size))


def test_malformed_histograms_are_rejected(pulsed):
    edges, counts, expected = pulsed.edges, pulsed.counts, pulsed.expected
    with pytest.raises(AnalysisError, match="edges do not bound"):
        pulsed_g2_zero(edges[:-1], counts)
    with pytest.raises(AnalysisError, match="expected has shape"):
        pulsed_g2_zero(edges, counts, expected[1:])
    with pytest.raises(AnalysisError, match="uniformly spaced"):
        bent = edges.copy()
        bent[5] += 7
        find_period(bent, counts)
    with pytest.raises(AnalysisError, match="non-negative"):
        fit_cw(edges, -counts, expected)
    with pytest.raises(AnalysisError, match="positive"):
        fit_cw(edges, counts, np.zeros_like(expected))
    with pytest.raises(AnalysisError, match="required"):
        fit_cw(edges, counts, None)


def test_windows_must_fit_in_the_histogram(pulsed):
    with pytest.raises(AnalysisError, match="do not fit"):
        pulsed_g2_zero(pulsed.edges, pulsed.counts, period_ps=40_000.0, method="window")
    with pytest.raises(AnalysisError, match="do not fit"):
        pulsed_g2_zero(pulsed.edges, pulsed.counts, period_ps=40_000.0, method="fit")
    short = symmetric_edges(15_000)
    counts = correlate_slowly(np.array([0]), np.array([0]), short) + 1
    with pytest.raises(AnalysisError, match="do not fit"):
        pulsed_g2_zero(short, counts, period_ps=12_500.0)
    with pytest.raises(AnalysisError, match="too few"):
        find_period(short[:8], counts[:7])


def test_bad_settings_are_rejected(pulsed):
    edges, counts, expected = pulsed.edges, pulsed.counts, pulsed.expected
    with pytest.raises(AnalysisError, match="method"):
        pulsed_g2_zero(edges, counts, period_ps=12_500.0, method="area")
    with pytest.raises(AnalysisError, match="period"):
        pulsed_g2_zero(edges, counts, period_ps=-1.0)
    with pytest.raises(AnalysisError, match="lifetime"):
        pulsed_g2_zero(edges, counts, period_ps=12_500.0, lifetime_ps=0.0)
    with pytest.raises(AnalysisError, match="shorter than four bins"):
        pulsed_g2_zero(edges, counts, period_ps=300.0)
    with pytest.raises(AnalysisError, match="jitter"):
        fit_cw(edges, counts, expected, jitter_ps="guess")
    with pytest.raises(AnalysisError, match="jitter"):
        fit_cw(edges, counts, expected, jitter_ps=-5.0)


def test_a_histogram_too_small_to_fit_raises_fit_error():
    edges = np.arange(0, 500, 100, dtype=np.int64)
    with pytest.raises(FitError):
        fit_cw(edges, np.array([3, 1, 2, 4]), np.full(4, 2.5))
