"""Analytic derivatives of the fit models checked against finite differences.

Every fit that maximises a Poisson likelihood with a Jacobian (lifetime with Gaussian, measured
or no IRF and the wrapped tail; pulsed and CW g2) must give the derivatives of exactly the model
it fits: each is compared here, on random parameters and on edge cases (lifetimes far longer than
the period or far shorter than a bin, zero background, zero jitter), with a fourth-order central
difference of the model itself. The optimiser built on them must find the same optimum as the
derivative-free one.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest

from tagstream.analysis import g2_cw, g2_pulsed_comb
from tagstream.analysis.decay_fit import fit_decay
from tagstream.analysis.decay_fit_checks import fit_bins
from tagstream.analysis.decay_fit_problem import DecayProblem
from tagstream.analysis.decay_fit_shapes import binned_decay_kernel
from tagstream.analysis.decay_shapes import (
    binned_decay_kernel_derivs,
    periodic_exp_gauss_bins_derivs,
    periodic_exp_gauss_bins_fast,
)
from tagstream.analysis.g2_histogram import as_histogram
from tagstream.analysis.peak_shapes import peak_bins_derivs
from tagstream.analysis.poisson_fit import fit_poisson
from tagstream.analysis.shapes import laplace_gauss_bins, periodic_exp_gauss_bins

RTOL = 2e-6  # of the largest derivative: finite differences are good to about 1e-8 here


def numeric(f: Callable[[float], np.ndarray], x: float, rel: float = 0.05) -> np.ndarray:
    """Fourth-order central difference of ``f`` at ``x``: of the steps ``rel |x| / 4^j``
    (j = 0..6) the one where two successive estimates agree best (wide steps suffer from the
    model's curvature, narrow ones from rounding)."""
    base = rel * abs(x) if x != 0 else rel
    estimates = []
    for j in range(7):
        h = base / 4**j
        estimates.append((8 * (f(x + h) - f(x - h)) - (f(x + 2 * h) - f(x - 2 * h))) / (12 * h))
    changes = [np.max(np.abs(a - b)) for a, b in itertools.pairwise(estimates)]
    return estimates[int(np.argmin(changes)) + 1]


def along(model: Callable[..., np.ndarray], p: dict[str, float], name: str):
    """``model`` as a function of parameter ``name`` alone, the others held at ``p``."""
    return lambda v: model(**{**p, name: v})


def assert_close(analytic: np.ndarray, fd: np.ndarray, what: str, rtol: float = RTOL) -> None:
    scale = max(float(np.max(np.abs(fd))), float(np.max(np.abs(analytic))))
    assert scale > 0, what
    err = float(np.max(np.abs(analytic - fd))) / scale
    assert err < rtol, f"{what}: relative error {err:.2e}"


EDGES = np.linspace(0.0, 12_500.0, 782)  # 16 ps bins over one 80 MHz period
SHAPE_CASES = [  # tau, sigma, t0, period
    (3_000.0, 45.0, 2_013.7, 12_500.0),
    (12_500_000.0, 45.0, 2_013.7, 12_500.0),  # tau >> period: an almost flat wrapped tail
    (0.8, 45.0, 2_013.7, 12_500.0),  # tau << bin: the IRF alone
    (0.8, 3.0, 2_013.7, 12_500.0),  # ... and a jitter below a bin
    (450.0, 30.0, 12_400.0, 12_500.0),  # pulse at the end: its decay wraps to the start
    (700.0, 30.0, 1_000.3, None),  # a single pulse
    (300.0, 0.0, 1_000.3, 12_500.0),  # no IRF: bare exponentials
]


def test_lifetime_derivative_far_beyond_the_period():
    """tau >> period: the shape barely depends on tau (its relative change is tau/period times
    smaller), which difference quotients resolve only roughly; the closed form of the bare
    periodic exponential, ``exp(-a/tau) (1 - exp(-w/tau)) / (1 - exp(-T/tau))``, is exact."""
    tau, t0, period = 12_500_000.0, 2_013.7, 12_500.0
    d = periodic_exp_gauss_bins_derivs(EDGES, tau, 0.0, t0, period)
    after = EDGES[:-1] >= t0
    a, w = EDGES[:-1][after] - t0, np.diff(EDGES)[after]
    b, c = -np.expm1(-w / tau), -np.expm1(-period / tau)
    value = np.exp(-a / tau) * b / c
    d_log = (
        a / tau**2
        - np.exp(-w / tau) * w / tau**2 / b
        + np.exp(-period / tau) * period / (tau**2 * c)
    )
    np.testing.assert_allclose(d.value[after], value, rtol=1e-10)
    exact = value * d_log
    np.testing.assert_allclose(d.d_tau[after], exact, rtol=0, atol=1e-8 * np.abs(exact).max())


@pytest.mark.parametrize(("tau", "sigma", "t0", "period"), SHAPE_CASES)
def test_decay_shape_derivatives(tau, sigma, t0, period):
    d = periodic_exp_gauss_bins_derivs(EDGES, tau, sigma, t0, period)
    reference = periodic_exp_gauss_bins(EDGES, tau, sigma, t0, period)
    np.testing.assert_allclose(d.value, reference, rtol=1e-12, atol=1e-15)
    fast = periodic_exp_gauss_bins_fast(EDGES, tau, sigma, t0, period)
    np.testing.assert_array_equal(fast, d.value)
    f = lambda **kw: periodic_exp_gauss_bins(  # noqa: E731
        EDGES, kw.get("tau", tau), kw.get("sigma", sigma), kw.get("t0", t0), period
    )
    flat = period is not None and tau > 100 * period  # see the test above
    rtol = 1e-4 if flat else RTOL
    assert_close(d.d_tau, numeric(lambda v: f(tau=v), tau), "d/dtau", rtol)
    if sigma > 0:  # without an IRF the shift is not fitted (the kink at t0 is not smooth)
        assert_close(d.d_t0, numeric(lambda v: f(t0=v), t0), "d/dt0", rtol)
        assert_close(d.d_sigma, numeric(lambda v: f(sigma=v), sigma), "d/dsigma", rtol)


@pytest.mark.parametrize("tau", [3.0, 250.0, 4_000.0, 2e6])
@pytest.mark.parametrize("period", [12_500.0, None])
def test_measured_irf_kernel_derivatives(tau, period):
    width = 16.0
    lags = np.arange(-781, 782) * width - 5.3  # off the grid: the kernel has kinks at +-width
    value, d_tau, d_lag = binned_decay_kernel_derivs(lags, width, tau, period)
    np.testing.assert_allclose(value, binned_decay_kernel(lags, width, tau, period), atol=1e-15)
    assert_close(
        d_tau, numeric(lambda v: binned_decay_kernel(lags, width, v, period), tau), "d/dtau"
    )
    fd = numeric(lambda s: binned_decay_kernel(lags + s, width, tau, period), 0.0, rel=1.0)
    assert_close(d_lag, fd, "d/dlag")


def _problem(kind: str, period: float | None, background: float | None, rng) -> DecayProblem:
    counts = rng.poisson(20.0, EDGES.size - 1).astype(float)
    irf = None
    if kind == "measured":
        centres = 0.5 * (EDGES[:-1] + EDGES[1:])
        irf = np.exp(-0.5 * ((centres - 1_500.0) / 40.0) ** 2) + 0.2 * np.exp(
            -np.clip(centres - 1_500.0, 0, None) / 150.0
        ) * (centres > 1_500.0)
    bins = fit_bins(counts, EDGES, None, kind)
    return DecayProblem.build(counts, EDGES, bins, period, kind, irf, None, background)


def _random_parameters(kind: str, order: int, rng, background: float) -> dict[str, float]:
    p: dict[str, float] = {}
    for i in range(1, order + 1):
        p[f"n{i}"] = float(rng.uniform(1e3, 1e5))
        # up to 40 periods (longer ones: test_lifetime_derivative_far_beyond_the_period)
        p[f"tau{i}"] = float(np.exp(rng.uniform(np.log(5.0), np.log(5e5))))
    p["shift"] = float(rng.uniform(500.0, 3_000.0)) if kind != "measured" else rng.uniform(-90, 90)
    if kind == "gaussian":
        p["sigma"] = float(rng.uniform(5.0, 120.0))
    p["background"] = background
    return p


@pytest.mark.parametrize("kind", ["gaussian", "measured", "none"])
@pytest.mark.parametrize("period", [12_500.0, None])
@pytest.mark.parametrize("background", [0.0, 3.7])
def test_decay_model_jacobian(kind, period, background):
    rng = np.random.default_rng([len(kind), 0 if period is None else 1, int(background)])
    problem = _problem(kind, period, None, rng)
    for order in (1, 2, 3):
        p = _random_parameters(kind, order, rng, background)
        if kind == "none":
            p["shift"] = float(problem.edges[0])
        mu, derivs = problem.jacobian(order)(**p)
        model = problem.model(order)
        np.testing.assert_allclose(mu, model(**p), rtol=1e-12, atol=1e-12)
        for name, value in p.items():
            if kind == "none" and name == "shift":
                continue
            fd = numeric(along(model, p, name), value)
            assert_close(derivs[name], fd, f"{kind} {order} d/d{name}")


def test_poisson_gradient_of_the_decay_likelihood():
    """The gradient ``J^T (1 - n / mu)`` of ``sum(mu - n log mu)`` by every parameter."""
    rng = np.random.default_rng(7)
    problem = _problem("gaussian", 12_500.0, None, rng)
    p = _random_parameters("gaussian", 2, rng, 1.3)
    model, jacobian = problem.model(2), problem.jacobian(2)

    def nll(q: dict[str, float]) -> float:
        mu = model(**q)
        return float(np.sum(mu - problem.counts * np.log(mu)))

    mu, derivs = jacobian(**p)
    for name, value in p.items():
        analytic = float(derivs[name] @ (1.0 - problem.counts / mu))
        fd = numeric(lambda v, name=name: np.array(nll({**p, name: v})), value)
        assert abs(analytic - float(fd)) <= RTOL * max(abs(analytic), 1e-6), name


def test_peak_shape_matches_laplace_gauss_bins():
    edges = np.arange(-40_000.0, 40_001.0, 40.0)
    for centre, tau, sigma in [(123.0, 1_000.0, 300.0), (9_000.0, 40.0, 900.0), (7.0, 5e4, 0.0)]:
        value, d_c, d_tau, d_sigma = peak_bins_derivs(edges, centre, tau, sigma)
        reference = 0.5 / tau * 40.0 * laplace_gauss_bins(edges - centre, 1.0 / tau, sigma)
        np.testing.assert_allclose(value, reference, rtol=1e-9, atol=1e-15)

        def f(c=centre, t=tau, s=sigma):
            return 0.5 / t * 40.0 * laplace_gauss_bins(edges - c, 1.0 / t, s)

        assert_close(d_c, numeric(lambda v: f(c=v), centre), "d/dcentre")
        assert_close(d_tau, numeric(lambda v: f(t=v), tau), "d/dtau")
        if sigma > 0:
            assert_close(d_sigma, numeric(lambda v: f(s=v), sigma), "d/dsigma")


@pytest.mark.parametrize("with_expected", [True, False])
def test_pulsed_g2_jacobian(with_expected):
    rng = np.random.default_rng(11)
    edges = np.arange(-60_000.0, 60_001.0, 100.0)
    expected = rng.uniform(0.5, 1.5, edges.size - 1) if with_expected else None
    hist = as_histogram(edges, np.ones(edges.size - 1), expected)
    comb = g2_pulsed_comb.build_comb(hist, 12_500.0, 300.0)
    for tau_side, jitter in [(3_000.0, 150.0), (40_000.0, 20.0), (80.0, 400.0)]:
        p = {name: float(rng.uniform(10, 100)) for name in dict.fromkeys(comb.area_names)}
        p.update(
            period=12_510.0,
            offset=310.0,
            tau_side=tau_side,
            central_ratio=0.7,
            jitter=jitter,
            background=3.0,
        )
        model = g2_pulsed_comb.pulsed_model(hist, comb)
        mu, derivs = g2_pulsed_comb.pulsed_jacobian(hist, comb)(**p)
        np.testing.assert_allclose(mu, model(**p), rtol=1e-12)
        for name, value in p.items():
            fd = numeric(along(model, p, name), value)
            assert_close(derivs[name], fd, f"pulsed d/d{name}")


@pytest.mark.parametrize("jitter", [0.0, 120.0])
def test_cw_g2_jacobian(jitter):
    rng = np.random.default_rng(5)
    edges = np.arange(-20_000.0, 20_001.0, 50.0)
    hist = as_histogram(edges, np.ones(edges.size - 1), rng.uniform(50, 150, edges.size - 1))
    p = dict(scale=1.1, g0=0.2, rate=1 / 900.0, offset=37.0, bunching=0.3, tau_b=5e3)
    p["jitter"] = jitter
    model = g2_cw._cw_model(hist)
    mu, derivs = g2_cw._cw_jacobian(hist, True)(**p)
    np.testing.assert_allclose(mu, model(**p), rtol=1e-12)
    for name, value in p.items():
        if name == "jitter" and jitter == 0:
            continue  # at its bound: the fit takes a one-sided difference there
        fd = numeric(along(model, p, name), value)
        assert_close(derivs[name], fd, f"cw d/d{name}")


def test_scoring_finds_the_optimum_of_the_derivative_free_fit():
    """Fisher scoring with the exact Jacobian and L-BFGS-B on finite differences reach the same
    maximum: values within a small fraction of their errors, the same errors."""
    rng = np.random.default_rng(3)
    edges = np.linspace(0.0, 12_500.0, 782)
    truth = 4e4 * periodic_exp_gauss_bins(edges, 1_800.0, 40.0, 2_000.0, 12_500.0)
    truth += 6e3 * periodic_exp_gauss_bins(edges, 300.0, 40.0, 2_000.0, 12_500.0) + 2.0
    counts = rng.poisson(truth).astype(float)
    problem = DecayProblem.build(
        counts, edges, slice(0, counts.size), 12_500.0, "gaussian", None, None, None
    )
    p0 = {
        "n1": 5e3,
        "tau1": 250.0,
        "n2": 3e4,
        "tau2": 2_500.0,
        "shift": 1_950.0,
        "sigma": 60.0,
        "background": 1.0,
    }
    bounds = {
        "n1": (0.0, None),
        "n2": (0.0, None),
        "tau1": problem.tau_bounds,
        "tau2": problem.tau_bounds,
        "shift": problem.shift_bounds,
        "sigma": problem.sigma_bounds,
    }
    slow = fit_poisson(problem.model(2), counts, p0, bounds)
    fast = fit_poisson(problem.model(2), counts, p0, bounds, jacobian=problem.jacobian(2))
    assert fast.deviance <= slow.deviance + 1e-6
    assert np.all(np.abs(fast.values - slow.values) <= 1e-3 * fast.errors + 1e-9)
    np.testing.assert_allclose(fast.errors, slow.errors, rtol=1e-3)


def test_model_choice_reuses_lower_orders_exactly():
    """Fitting "tri" fits "mono" and "bi" on the way; fitting them afterwards gives the very
    same fits as fitting them first."""
    rng = np.random.default_rng(9)
    edges = np.linspace(0.0, 12_500.0, 782)
    truth = 3e4 * periodic_exp_gauss_bins(edges, 2_000.0, 40.0, 2_000.0, 12_500.0) + 1.0
    counts = rng.poisson(truth).astype(float)
    first = fit_decay(counts, edges, "bi", period_ps=12_500.0)
    fit_decay(counts, edges, "tri", period_ps=12_500.0)
    again = fit_decay(counts, edges, "bi", period_ps=12_500.0)
    np.testing.assert_array_equal(first.tau_ps, again.tau_ps)
    np.testing.assert_array_equal(first.tau_err_ps, again.tau_err_ps)
    mono = fit_decay(counts, edges, "mono", period_ps=12_500.0)
    assert abs(mono.tau_ps[0] - 2_000.0) < 4 * mono.tau_err_ps[0]
