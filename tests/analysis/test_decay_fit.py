"""Lifetime fits checked against Monte Carlo photons.

Every data set is made here, independently of the fit model: each photon is launched by a laser
pulse, delayed by an exponential lifetime and by the instrument response (a Gaussian jitter or a
draw from an explicit non-Gaussian shape), and its time is taken modulo the repetition period;
uniform background photons are added and everything is binned with ``np.histogram``. Where the
photon numbers needed for the stated precision are out of reach of a Monte Carlo run, counts are
drawn from a multinomial over bin probabilities computed with ``scipy.stats.exponnorm``.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import exponnorm

from tagstream.analysis.decay_fit import DecayFit, fit_decay
from tagstream.analysis.decay_fit_shapes import binned_decay_kernel
from tagstream.analysis.shapes import periodic_exp_gauss_bins
from tagstream.errors import FitError

Jitter = Callable[[np.random.Generator, int], np.ndarray]
PERIOD_80MHZ = 12_500.0
PERIOD_40MHZ = 25_000.0


def gaussian_jitter(sigma_ps: float) -> Jitter:
    """IRF draws from a Gaussian of standard deviation ``sigma_ps``."""
    return lambda rng, n: rng.normal(0.0, sigma_ps, n)


def core_tail_jitter(rng: np.random.Generator, n: int) -> np.ndarray:
    """IRF draws from a non-Gaussian response: a 40 ps Gaussian core, and for 30 % of the photons
    an extra exponential delay of 200 ps (a slow detector tail)."""
    tail = np.where(rng.random(n) < 0.3, rng.exponential(200.0, n), 0.0)
    return rng.normal(0.0, 40.0, n) + tail


def photon_times(
    rng: np.random.Generator,
    n: int,
    taus_ps: list[float],
    photon_fractions: list[float],
    t0_ps: float,
    period_ps: float | None,
    jitter: Jitter,
) -> np.ndarray:
    """Arrival times since the last sync (ps) of ``n`` photons from a pulse train (a single
    pulse at ``t0_ps`` when ``period_ps`` is ``None``)."""
    component = rng.choice(len(taus_ps), size=n, p=photon_fractions)
    delay = rng.exponential(np.asarray(taus_ps)[component]) + jitter(rng, n)
    if period_ps is None:
        return t0_ps + delay
    pulse = rng.integers(0, 10**6, n) * period_ps + t0_ps
    return np.mod(pulse + delay, period_ps)


def histogram(
    rng: np.random.Generator, times: np.ndarray, edges: np.ndarray, background_per_bin: float
) -> np.ndarray:
    """Histogram of the photons plus uniform background (``background_per_bin`` on average)."""
    n_background = rng.poisson(background_per_bin * (len(edges) - 1))
    noise = rng.uniform(edges[0], edges[-1], n_background)
    return np.histogram(times, edges)[0] + np.histogram(noise, edges)[0]


def simulate(
    seed: int,
    n: int,
    taus_ps: list[float],
    photon_fractions: list[float],
    edges: np.ndarray,
    period_ps: float | None,
    background_per_bin: float,
    jitter: Jitter,
    t0_ps: float = 2000.0,
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    times = photon_times(rng, n, taus_ps, photon_fractions, t0_ps, period_ps, jitter)
    return histogram(rng, times, edges, background_per_bin)


def folded_emg_probabilities(
    edges: np.ndarray, tau_ps: float, sigma_ps: float, t0_ps: float, period_ps: float
) -> np.ndarray:
    """Bin probabilities of an exponential (Gaussian-broadened) folded onto the period, summed
    directly over 400 pulses with scipy's exponentially modified Gaussian."""
    shifts = np.arange(-1, 400)[:, None] * period_ps
    sf = exponnorm.sf(edges[None, :] + shifts, tau_ps / sigma_ps, loc=t0_ps, scale=sigma_ps)
    return (sf[:, :-1] - sf[:, 1:]).sum(axis=0)


def pull(fit: DecayFit, truth: list[float]) -> np.ndarray:
    return (fit.tau_ps - np.asarray(truth)) / fit.tau_err_ps


def relative_error(fit: DecayFit, truth: list[float]) -> np.ndarray:
    return np.abs(fit.tau_ps / np.asarray(truth) - 1.0)


# ---------------------------------------------------------------- Gaussian IRF, 1-3 components


@pytest.fixture(scope="module")
def mono_3ns() -> tuple[np.ndarray, np.ndarray]:
    """3 ns, 100 ps Gaussian IRF, 80 MHz, 25 ps bins over one period, 5 background counts/bin."""
    edges = np.linspace(0.0, PERIOD_80MHZ, 501)
    counts = simulate(1, 300_000, [3000.0], [1.0], edges, PERIOD_80MHZ, 5.0, gaussian_jitter(100))
    return counts, edges


@pytest.fixture(scope="module")
def mono_3ns_fit(mono_3ns: tuple[np.ndarray, np.ndarray]) -> DecayFit:
    counts, edges = mono_3ns
    return fit_decay(counts, edges, "mono", period_ps=PERIOD_80MHZ)


def test_mono_3ns_gaussian_irf_80mhz(
    mono_3ns: tuple[np.ndarray, np.ndarray], mono_3ns_fit: DecayFit
) -> None:
    # tolerance: tau within 2 % and within 4 sigma; IRF width and position within 4 sigma
    counts, edges = mono_3ns
    fit = mono_3ns_fit
    assert fit.irf == "gaussian" and fit.model == "mono"
    assert relative_error(fit, [3000.0])[0] < 0.02
    assert abs(pull(fit, [3000.0])[0]) < 4
    assert abs(fit.irf_sigma_ps - 100.0) < 4 * fit.irf_sigma_err_ps
    assert abs(fit.shift_ps - 2000.0) < 4 * fit.shift_err_ps
    assert fit.amplitudes == pytest.approx([1.0])
    assert fit.mean_tau_amplitude_ps == pytest.approx(fit.tau_ps[0])
    assert 0.85 < fit.deviance / fit.dof < 1.15
    assert fit.expected.shape == counts.shape and fit.edges_ps.shape == edges.shape


def test_background_free_within_3_sigma(mono_3ns_fit: DecayFit) -> None:
    # tolerance: 3 sigma of the fitted background (truth 5 counts/bin)
    fit = mono_3ns_fit
    assert fit.background_err > 0
    assert abs(fit.background - 5.0) < 3 * fit.background_err


def test_background_fixed_is_respected(mono_3ns: tuple[np.ndarray, np.ndarray]) -> None:
    # tolerance: the fixed value is returned exactly; tau still within 2 %
    counts, edges = mono_3ns
    fit = fit_decay(counts, edges, "mono", period_ps=PERIOD_80MHZ, background=5.0)
    assert fit.background == 5.0 and fit.background_err == 0.0
    assert "background" not in fit.fit.free
    assert relative_error(fit, [3000.0])[0] < 0.02
    forced = fit_decay(counts, edges, "mono", period_ps=PERIOD_80MHZ, background=50.0)
    assert forced.background == 50.0
    assert forced.deviance > fit.deviance + 100


def test_fixed_irf_sigma_is_respected(mono_3ns: tuple[np.ndarray, np.ndarray]) -> None:
    counts, edges = mono_3ns
    fit = fit_decay(counts, edges, "mono", period_ps=PERIOD_80MHZ, irf_sigma_ps=100.0)
    assert fit.irf_sigma_ps == 100.0 and fit.irf_sigma_err_ps == 0.0
    assert relative_error(fit, [3000.0])[0] < 0.02


def test_fit_range_restricts_bins(mono_3ns: tuple[np.ndarray, np.ndarray]) -> None:
    # tolerance: tau within 2 % from the bins with centres in 1-11 ns only
    counts, edges = mono_3ns
    fit = fit_decay(counts, edges, "mono", period_ps=PERIOD_80MHZ, fit_range_ps=(1000, 11000))
    centres = 0.5 * (fit.edges_ps[:-1] + fit.edges_ps[1:])
    assert centres.min() >= 1000 and centres.max() <= 11000
    assert fit.counts.size == fit.expected.size == 400
    assert relative_error(fit, [3000.0])[0] < 0.02


def test_bi_09_and_75ns() -> None:
    # 0.9 ns and 7.5 ns, equal photon numbers (amplitudes 0.893 / 0.107), 100 ps IRF, 40 MHz.
    # tolerance: each tau within 2 % and 4 sigma; amplitudes within 4 sigma
    edges = np.linspace(0.0, PERIOD_40MHZ, 501)
    taus = [900.0, 7500.0]
    jitter = gaussian_jitter(100)
    counts = simulate(2, 2_000_000, taus, [0.5, 0.5], edges, PERIOD_40MHZ, 5.0, jitter)
    fit = fit_decay(counts, edges, "bi", period_ps=PERIOD_40MHZ)
    assert np.all(np.diff(fit.tau_ps) > 0)
    assert np.all(relative_error(fit, taus) < 0.02)
    assert np.all(np.abs(pull(fit, taus)) < 4)
    amplitudes = np.array([0.5 / 900.0, 0.5 / 7500.0])
    amplitudes /= amplitudes.sum()
    assert np.all(np.abs(fit.amplitudes - amplitudes) < 4 * fit.amplitude_errs)
    assert fit.intensity_fractions == pytest.approx([0.5, 0.5], abs=0.01)
    assert fit.mean_tau_intensity_ps == pytest.approx(0.5 * 900 + 0.5 * 7500, rel=0.02)


def test_short_250ps_with_50ps_irf_in_4ps_bins() -> None:
    # 250 ps, 50 ps Gaussian IRF, 4 ps bins over 0-3 ns, 80 MHz. tolerance: 2 % and 4 sigma
    edges = np.arange(0.0, 3000.0 + 1, 4.0)
    jitter = gaussian_jitter(50)
    counts = simulate(3, 300_000, [250.0], [1.0], edges, PERIOD_80MHZ, 2.0, jitter, t0_ps=800)
    fit = fit_decay(counts, edges, "mono", period_ps=PERIOD_80MHZ)
    assert relative_error(fit, [250.0])[0] < 0.02
    assert abs(pull(fit, [250.0])[0]) < 4
    assert abs(fit.irf_sigma_ps - 50.0) < 4 * fit.irf_sigma_err_ps


@pytest.mark.slow
def test_tri_exponential() -> None:
    # 0.3 / 2 / 10 ns with photon fractions 0.2 / 0.3 / 0.5, 80 ps IRF, 40 MHz, 1e7 photons.
    # tolerance: each tau within 5 % and 4 sigma, photon fractions within 0.03
    edges = np.linspace(0.0, PERIOD_40MHZ, 501)
    taus = [300.0, 2000.0, 10_000.0]
    fractions = [0.2, 0.3, 0.5]
    jitter = gaussian_jitter(80)
    counts = simulate(4, 10_000_000, taus, fractions, edges, PERIOD_40MHZ, 5.0, jitter)
    fit = fit_decay(counts, edges, "tri", period_ps=PERIOD_40MHZ)
    assert np.all(relative_error(fit, taus) < 0.05)
    assert np.all(np.abs(pull(fit, taus)) < 4)
    assert fit.intensity_fractions == pytest.approx(fractions, abs=0.03)
    assert 0.85 < fit.deviance / fit.dof < 1.15


def test_non_uniform_bins() -> None:
    # 10 ps bins over the rise, 50 ps bins in the tail; background scales with the bin width and
    # is reported per median (10 ps) bin. tolerance: tau within 2 % and 4 sigma, background 3 sigma
    edges = np.r_[np.linspace(0.0, 4000.0, 401), np.linspace(4000.0, PERIOD_80MHZ, 171)[1:]]
    rng = np.random.default_rng(11)
    times = photon_times(rng, 300_000, [3000.0], [1.0], 2000.0, PERIOD_80MHZ, gaussian_jitter(60))
    noise = rng.uniform(0.0, PERIOD_80MHZ, 125_000)
    counts = np.histogram(np.r_[times, noise], edges)[0]
    fit = fit_decay(counts, edges, "mono", period_ps=PERIOD_80MHZ)
    assert relative_error(fit, [3000.0])[0] < 0.02
    assert abs(pull(fit, [3000.0])[0]) < 4
    assert abs(fit.background - 100.0) < 3 * fit.background_err
    assert abs(fit.irf_sigma_ps - 60.0) < 4 * fit.irf_sigma_err_ps


# ---------------------------------------------------------------- long lifetime, wrapped tail


def test_40ns_at_12p5ns_period_monte_carlo() -> None:
    # 40 ns at 80 MHz: the decay never ends within a period. Background known (10 counts/bin).
    # tolerance: 2 % and 4 sigma with the period; without it the fit is off by more than 10 %
    edges = np.linspace(0.0, PERIOD_80MHZ, 501)
    jitter = gaussian_jitter(100)
    counts = simulate(5, 4_000_000, [40_000.0], [1.0], edges, PERIOD_80MHZ, 10.0, jitter)
    fit = fit_decay(counts, edges, "mono", period_ps=PERIOD_80MHZ, background=10.0)
    assert relative_error(fit, [40_000.0])[0] < 0.02
    assert abs(pull(fit, [40_000.0])[0]) < 4
    assert fit.deviance / fit.dof < 1.15
    unwrapped = fit_decay(counts, edges, "mono", background=10.0)
    assert relative_error(unwrapped, [40_000.0])[0] > 0.10
    assert unwrapped.deviance / unwrapped.dof > 3


def test_40ns_at_12p5ns_period_free_background_multinomial() -> None:
    # With a free background the wrapped 40 ns decay is nearly flat and degenerate with it:
    # 2 % needs ~1e9 photons, drawn by multinomial sampling from exponnorm bin probabilities.
    # tolerance: 2 % and 4 sigma on tau, background within 3 sigma; ignoring the period the
    # lifetime comes out several times too short
    rng = np.random.default_rng(6)
    edges = np.linspace(0.0, PERIOD_80MHZ, 501)
    p = folded_emg_probabilities(edges, 40_000.0, 100.0, 2000.0, PERIOD_80MHZ)
    counts = rng.multinomial(4_000_000_000, p / p.sum()) + rng.poisson(1000.0, p.size)
    fit = fit_decay(counts, edges, "mono", period_ps=PERIOD_80MHZ)
    assert relative_error(fit, [40_000.0])[0] < 0.02
    assert abs(pull(fit, [40_000.0])[0]) < 4
    assert abs(fit.background - 1000.0) < 3 * fit.background_err
    unwrapped = fit_decay(counts, edges, "mono")
    assert unwrapped.tau_ps[0] < 0.5 * 40_000.0


# ---------------------------------------------------------------- measured IRF, no IRF


def measured_irf(seed: int, edges: np.ndarray, period_ps: float | None, t0_ps: float) -> np.ndarray:
    """An IRF histogram of its own: 1e6 counts of the core-and-tail response at ``t0_ps``."""
    rng = np.random.default_rng(seed)
    times = t0_ps + core_tail_jitter(rng, 1_000_000)
    return np.histogram(times if period_ps is None else np.mod(times, period_ps), edges)[0]


@pytest.mark.parametrize(
    ("edges", "period", "label"),
    [
        (np.linspace(0.0, PERIOD_80MHZ, 501), PERIOD_80MHZ, "one full period: circular"),
        (np.arange(0.0, 10_000.0 + 1, 20.0), PERIOD_80MHZ, "0-10 ns of 12.5 ns: linear"),
        (np.arange(0.0, 15_000.0 + 1, 20.0), None, "a single pulse: linear, no wrap"),
    ],
)
def test_measured_non_gaussian_irf(edges: np.ndarray, period: float | None, label: str) -> None:
    # 2 ns through a core-and-tail IRF; the decay's IRF sits 37 ps later than the measured one.
    # tolerance: tau within 2 % and 4 sigma, shift within 4 sigma; a Gaussian IRF model on the
    # same data is visibly worse (deviance) and biased by more than 2 %
    irf = measured_irf(7, edges, period, 1500.0)
    counts = simulate(8, 500_000, [2000.0], [1.0], edges, period, 5.0, core_tail_jitter, 1537)
    fit = fit_decay(counts, edges, "mono", period_ps=period, irf=irf)
    assert fit.irf == "measured" and fit.irf_sigma_ps is None
    assert relative_error(fit, [2000.0])[0] < 0.02, label
    assert abs(pull(fit, [2000.0])[0]) < 4, label
    assert abs(fit.shift_ps - 37.0) < 4 * fit.shift_err_ps, label
    assert fit.deviance / fit.dof < 1.15, label
    gaussian = fit_decay(counts, edges, "mono", period_ps=period)
    assert gaussian.deviance > fit.deviance + 200, label
    assert relative_error(gaussian, [2000.0])[0] > 0.02, label


def test_tail_fit_without_irf() -> None:
    # a tail fit from 2 ns after the pulse. tolerance: 2 % and 4 sigma; the start is fixed
    edges = np.linspace(0.0, PERIOD_80MHZ, 501)
    counts = simulate(9, 1_000_000, [3000.0], [1.0], edges, PERIOD_80MHZ, 5.0, gaussian_jitter(100))
    fit = fit_decay(
        counts, edges, "mono", period_ps=PERIOD_80MHZ, gaussian=False, fit_range_ps=(4000, 12500)
    )
    assert fit.irf == "none" and fit.irf_sigma_ps is None
    assert fit.shift_ps == fit.edges_ps[0] and fit.shift_err_ps == 0.0
    assert relative_error(fit, [3000.0])[0] < 0.02
    assert abs(pull(fit, [3000.0])[0]) < 4


# ---------------------------------------------------------------- honest uncertainties


@pytest.mark.slow
@pytest.mark.parametrize("irf_kind", ["gaussian", "measured"])
def test_lifetime_pulls_are_standard_normal(irf_kind: str) -> None:
    # 30 small data sets (3000 photons, 125 bins of 100 ps, 1 background count/bin) through a
    # 100 ps Gaussian IRF or the core-and-tail IRF (measured separately). tolerance: the pulls
    # (fit - truth) / error of tau and of the background have |mean| < 0.4 and std in 0.7-1.4
    edges = np.linspace(0.0, PERIOD_80MHZ, 126)
    irf = measured_irf(10, edges, PERIOD_80MHZ, 1500.0) if irf_kind == "measured" else None
    jitter = core_tail_jitter if irf_kind == "measured" else gaussian_jitter(100)
    tau_pulls, background_pulls = [], []
    for seed in range(100, 130):
        counts = simulate(seed, 3000, [2000.0], [1.0], edges, PERIOD_80MHZ, 1.0, jitter, 1500)
        fit = fit_decay(counts, edges, "mono", period_ps=PERIOD_80MHZ, irf=irf)
        tau_pulls.append(pull(fit, [2000.0])[0])
        background_pulls.append((fit.background - 1.0) / fit.background_err)
    for pulls in (np.array(tau_pulls), np.array(background_pulls)):
        assert abs(pulls.mean()) < 0.4
        assert 0.7 < pulls.std() < 1.4


# ---------------------------------------------------------------- the reconvolution kernel


@pytest.mark.parametrize(
    ("tau", "period", "width"),
    [(300.0, 2000.0, 16.0), (40_000.0, 12_500.0, 25.0), (5.0, 1000.0, 16.0), (700.0, None, 8.0)],
)
def test_binned_decay_kernel_matches_quadrature(
    tau: float, period: float | None, width: float
) -> None:
    # the kernel is the periodic exponential density averaged by a triangle of half-width one bin
    def density(d: float) -> float:
        if period is None:
            return np.exp(-d / tau) / tau if d > 0 else 0.0
        return np.exp(-(d % period) / tau) / (tau * -np.expm1(-period / tau))

    lags = np.array([-3.0, -1.2, -1.0, -0.6, -0.2, 0.0, 0.3, 1.0, 1.5, 9.7]) * width
    kernel = binned_decay_kernel(lags, width, tau, period)
    for lag, value in zip(lags, kernel, strict=True):
        ref = quad(
            lambda d, c=lag: density(d) * max(0.0, 1 - abs(d - c) / width),
            lag - width,
            lag + width,
            points=[0.0, lag],
        )[0]
        assert value == pytest.approx(ref, rel=1e-9, abs=1e-15)
    if period is not None:
        n = round(period / width)
        circle = binned_decay_kernel(np.arange(n) * width - 7.3, width, tau, period)
        assert circle.sum() == pytest.approx(1.0, rel=1e-12)


# ---------------------------------------------------------------- results and errors


def test_to_dict_is_json_with_the_summary_keys(mono_3ns_fit: DecayFit) -> None:
    fit = mono_3ns_fit
    block = json.loads(json.dumps(fit.to_dict()))
    assert set(block) == {
        "model", "tau_ns", "tau_err_ns", "amplitudes", "irf", "intensity_fractions",
        "tau_mean_ns", "jitter_ps", "reduced_deviance", "deviance", "dof", "period_ns",
    }  # fmt: skip
    assert block["model"] == "mono" and block["irf"] == "gaussian"
    assert block["tau_ns"] == pytest.approx([fit.tau_ps[0] / 1e3])
    assert block["tau_err_ns"] == pytest.approx([fit.tau_err_ps[0] / 1e3])
    assert block["intensity_fractions"] == [1.0]
    assert block["tau_mean_ns"]["intensity"] == pytest.approx(fit.tau_ps[0] / 1e3)
    assert block["jitter_ps"] == pytest.approx(fit.irf_sigma_ps)
    assert block["dof"] == fit.dof and block["reduced_deviance"] == pytest.approx(
        fit.deviance / fit.dof
    )
    assert fit.warnings == ()


def test_fit_errors_survive_empty_tail_bins() -> None:
    """A long period leaves most bins expecting almost nothing: a background fitted near zero
    must not turn them negative, nor the Fisher matrix make every error vanish."""
    period = 400_000.0
    edges = np.arange(12_501) * 32.0
    for shift in (0.0, 3_000.0):
        mu = 3.7e5 * periodic_exp_gauss_bins(edges, 6_000.0, 50.0, shift, period)
        counts = np.random.default_rng(7).poisson(np.clip(mu, 0, None))
        fit = fit_decay(counts, edges, "mono", period_ps=period)
        assert abs(fit.tau_ps[0] - 6_000.0) < 4 * fit.tau_err_ps[0]
        # the Poisson limit tau / sqrt(N) within 20 %
        assert fit.tau_err_ps[0] == pytest.approx(6_000.0 / np.sqrt(counts.sum()), rel=0.2)
        assert abs(fit.irf_sigma_ps - 50.0) < 5.0 and np.all(fit.expected >= 0)


def test_far_tau_guess_still_converges(mono_3ns: tuple[np.ndarray, np.ndarray]) -> None:
    # a guess three times too long is tried first; tolerance: tau within 2 %
    counts, edges = mono_3ns
    fit = fit_decay(counts, edges, "mono", period_ps=PERIOD_80MHZ, tau_guess_ps=[10_000.0])
    assert relative_error(fit, [3000.0])[0] < 0.02
    with pytest.raises(FitError, match="tau_guess_ps"):
        fit_decay(counts, edges, "bi", tau_guess_ps=[1000.0])


def test_errors() -> None:
    edges = np.linspace(0.0, 12_500.0, 101)
    counts = np.full(100, 50.0)
    with pytest.raises(FitError, match="empty"):
        fit_decay(np.zeros(100), edges)
    with pytest.raises(FitError, match="too few"):
        fit_decay(np.r_[np.ones(20), np.zeros(80)], edges)
    with pytest.raises(FitError, match="unknown decay model"):
        fit_decay(counts, edges, "quad")
    with pytest.raises(FitError, match="shape of the decay histogram"):
        fit_decay(counts, edges, irf=np.ones(99))
    with pytest.raises(FitError, match="edges"):
        fit_decay(counts, edges[:-1])
    with pytest.raises(FitError, match="1-D"):
        fit_decay(counts.reshape(10, 10), edges)
    with pytest.raises(FitError, match="negative"):
        fit_decay(-counts, edges)
    with pytest.raises(FitError, match="more than one laser period"):
        fit_decay(counts, edges, period_ps=10_000.0)
    with pytest.raises(FitError, match="gaussian=True"):
        fit_decay(counts, edges, gaussian=False, irf_sigma_ps=50.0)
    with pytest.raises(FitError, match="either"):
        fit_decay(counts, edges, irf=counts, irf_sigma_ps=50.0)
    with pytest.raises(FitError, match="uniform"):
        fit_decay(counts, np.r_[edges[:-1], 13_000.0], irf=counts)
    with pytest.raises(FitError, match="fit_range_ps"):
        fit_decay(counts, edges, fit_range_ps=(20_000.0, 30_000.0))
    with pytest.raises(FitError, match="background"):
        fit_decay(counts, edges, background=-1.0)
