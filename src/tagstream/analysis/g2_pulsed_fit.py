"""Pulsed g2(0) from a Poisson maximum-likelihood fit of the peak comb
(:mod:`~tagstream.analysis.g2_pulsed_comb`): starting values from the histogram folded on the
period, the fit, and g2(0) with its error from the fitted areas and background. Times in ps."""

from __future__ import annotations

import numpy as np

from ..errors import FitError
from .fit_progress import announce
from .g2_histogram import G2Histogram, window_sum
from .g2_pulsed_comb import area_name, build_comb, pulsed_jacobian, pulsed_model
from .g2_pulsed_result import PulsedG2
from .g2_pulsed_window import peak_leakage
from .poisson_fit import PoissonFit, fit_poisson

#: Range of the zero-delay peak's decay time over the side peaks' in the pulsed fit: a slower
#: zero-delay peak would be indistinguishable from the flat background when peaks overlap.
CENTRAL_DECAY_RATIO = (0.05, 1.5)


def fit_g2(
    hist: G2Histogram,
    period: float,
    offset: float,
    tau: float | None,
    free_period: bool,
    free_central: bool = False,
) -> PulsedG2:
    """Pulsed g2(0) from a Poisson fit of the peak comb to ``hist``, started at ``period`` and
    ``offset`` (ps) and the peaks' decay time ``tau`` (ps; guessed from the folded histogram when
    ``None``); the period and the central peak's width fitted only when asked."""
    comb = build_comb(hist, period, offset)
    profile = _fold(hist, period, offset)
    tau0 = tau if tau is not None else _decay_guess(profile, period)
    background0 = 0.5 * float(profile.min())
    p0, bounds, scales = _pulsed_start(hist, period, offset, comb, tau0, background0)
    fixed = () if free_period else ("period",)
    if not free_central:
        fixed += ("central_ratio",)
    announce("fitting g2 peaks")
    fit = fit_poisson(
        pulsed_model(hist, comb),
        hist.counts,
        p0,
        bounds,
        fixed,
        scales,
        jacobian=pulsed_jacobian(hist, comb),
    )
    return _pulsed_result(hist, fit)


def _fold(hist: G2Histogram, period: float, offset: float) -> np.ndarray:
    """Mean counts per bin against phase (bins of about one histogram bin), outside the
    zero-delay window."""
    n_phase = max(round(period / hist.width), 4)
    phase = np.mod(hist.centres - offset + 0.5 * period, period)
    index = np.minimum((phase / period * n_phase).astype(int), n_phase - 1)
    keep = np.abs(hist.centres - offset) >= 0.5 * period
    sums = np.bincount(index[keep], hist.counts[keep], minlength=n_phase)
    used = np.bincount(index[keep], minlength=n_phase)
    return sums[used > 0] / used[used > 0]


def _decay_guess(profile: np.ndarray, period: float) -> float:
    """Decay time (ps) of a two-sided exponential peak from its folded profile: area over twice
    the height."""
    smooth = (np.roll(profile, 1) + profile + np.roll(profile, -1)) / 3
    height = smooth.max() - smooth.min()
    if height <= 0:
        return 0.1 * period
    step = period / profile.size
    area = np.sum(np.clip(profile - smooth.min(), 0, None)) * step
    return float(np.clip(area / (2 * height), step, 2 * period))


def _pulsed_start(hist, period, offset, comb, tau0, background0):
    """Starting values, bounds and scales of the pulsed fit."""
    per_window = background0 * period / hist.width
    p0: dict[str, float] = {}
    for name in dict.fromkeys(comb.area_names):
        k = int(name.split("_")[1])
        c = offset + k * period
        lo, hi = max(c - period / 2, hist.span[0]), min(c + period / 2, hist.span[1])
        seen = window_sum(hist, hist.counts, lo, hi) * period / max(hi - lo, hist.width)
        p0[name] = max(seen - per_window, 1.0)
    p0.update(
        background=max(background0, 1e-3),
        period=period,
        offset=offset,
        tau_side=tau0,
        central_ratio=1.0,
        jitter=hist.width,
    )
    b = hist.width
    slack = max(2 * b, 0.01 * period)
    bounds = {name: (0.0, None) for name in p0}
    bounds.update(
        period=(period - slack, period + slack),
        offset=(offset - period / 4, offset + period / 4),
        tau_side=(0.01 * b, 20 * period),
        central_ratio=CENTRAL_DECAY_RATIO,
        jitter=(0.0, period / 4),
    )
    side = max(p0[area_name(-1)], p0[area_name(1)])
    scales = {name: side for name in p0 if name.startswith("area_")}
    scales.update(
        background=max(p0["background"], 1.0), period=b, offset=b, central_ratio=1.0, jitter=b
    )
    return p0, bounds, scales


def _pulsed_result(hist: G2Histogram, fit: PoissonFit) -> PulsedG2:
    period = fit["period"]
    per_window = fit["background"] * period / hist.width
    names = [area_name(-1), area_name(0), area_name(1)]
    a_minus, a_zero, a_plus = (fit[n] for n in names)
    mean_side = 0.5 * (a_minus + a_plus) + per_window
    if mean_side <= 0:
        raise FitError("the fitted peaks next to zero delay are empty")
    value = (a_zero + per_window) / mean_side
    grad = {
        names[0]: -0.5 * value / mean_side,
        names[1]: 1.0 / mean_side,
        names[2]: -0.5 * value / mean_side,
        "background": (1.0 - value) * (period / hist.width) / mean_side,
        "period": (1.0 - value) * (fit["background"] / hist.width) / mean_side,
    }
    error = _propagate(fit, grad)
    areas = {-1: a_minus + per_window, 0: a_zero + per_window, 1: a_plus + per_window}
    offset = fit["offset"]
    return PulsedG2(
        value=float(value),
        error=error,
        method="fit",
        period_ps=period,
        offset_ps=offset,
        areas=areas,
        adjacent_norm=_adjacent_norm(hist, period, offset, mean_side),
        leakage=peak_leakage(period, fit["tau_side"], fit["jitter"]),
        peak_decay_ps=fit["tau_side"],
        central_decay_ps=fit["central_ratio"] * fit["tau_side"],
        jitter_ps=fit["jitter"],
        background=fit["background"],
        deviance=fit.deviance,
        dof=fit.dof,
        model=fit.expected,
    )


def _propagate(fit: PoissonFit, grad: dict[str, float]) -> float:
    """One-sigma error of a function of the fitted parameters from its gradient."""
    g = np.array([grad.get(name, 0.0) for name in fit.free])
    used = g != 0  # a parameter the data do not determine (infinite variance) may not matter
    variance = float(g[used] @ fit.covariance[np.ix_(used, used)] @ g[used])
    if not np.isfinite(variance) or variance < 0:
        raise FitError("the fit covariance gives no usable uncertainty")
    return float(np.sqrt(variance))


def _adjacent_norm(hist: G2Histogram, period: float, offset: float, mean_side: float):
    """Mean adjacent area over the uncorrelated expectation in the same windows."""
    if hist.expected is None:
        return None
    flat = 0.0
    for k in (-1, 1):
        c = offset + k * period
        flat += 0.5 * window_sum(hist, hist.expected, c - 0.5 * period, c + 0.5 * period)
    return float(mean_side / flat)
