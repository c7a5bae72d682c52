"""Pulsed g2(0) from one-period windows around the zero-delay peak and its two neighbours, and
how far such windows can be trusted: the fraction of a peak (a two-sided exponential broadened by
the jitter) that leaks out of its period, and the bias it causes. Times in ps."""

from __future__ import annotations

import numpy as np

from ..errors import AnalysisError
from .g2_histogram import G2Histogram, window_sum
from .g2_pulsed_result import PulsedG2
from .shapes import laplace_gauss_bins

#: "auto" uses windows only when less than this fraction of a peak's area leaks out of its window.
WINDOW_LEAKAGE_MAX = 1e-3
#: ... and when the bias that leakage causes is below this fraction of the statistical error.
WINDOW_BIAS_MAX_SIGMA = 0.1


def peak_leakage(period_ps: float, decay_ps: float, jitter_ps: float = 0.0) -> float:
    """Fraction of a pulsed g2 peak (two-sided exponential of decay ``decay_ps`` convolved with a
    Gaussian of width ``jitter_ps``) outside its one-period window; ``exp(-T / (2 tau))``
    without jitter."""
    rate = 1.0 / decay_ps
    half = 0.5 * period_ps
    inside = 0.5 * rate * period_ps * laplace_gauss_bins(np.array([-half, half]), rate, jitter_ps)
    return float(np.clip(1.0 - inside[0], 0.0, 1.0))


def window_is_safe(
    window: PulsedG2, period: float, side: float, centre: float, jitter: float
) -> bool:
    """Whether window sums are unbiased enough: see
    :func:`~.g2_pulsed.pulsed_g2_zero`, method "auto"."""
    leak_side = peak_leakage(period, side, jitter) if side > 0 else 1.0
    leak_centre = peak_leakage(period, centre, jitter) if centre > 0 else 1.0
    bias = leak_side * abs(1.0 - window.value) + leak_centre * window.value
    return leak_side < WINDOW_LEAKAGE_MAX and bias < WINDOW_BIAS_MAX_SIGMA * window.error


def window_g2(hist: G2Histogram, period: float, offset: float, tau: float | None) -> PulsedG2:
    """g2(0) from one-period windows; each area is divided by the uncorrelated expectation in
    its window when ``expected`` is given (which changes nothing when it is flat)."""
    areas, flat = {}, {}
    weights = np.ones(hist.counts.size) if hist.expected is None else hist.expected
    for k in (-1, 0, 1):
        c = offset + k * period
        areas[k] = window_sum(hist, hist.counts, c - 0.5 * period, c + 0.5 * period)
        flat[k] = window_sum(hist, weights, c - 0.5 * period, c + 0.5 * period)
    if areas[-1] + areas[1] <= 0:
        raise AnalysisError("the peaks next to zero delay hold no coincidences")
    norm = {k: areas[k] / flat[k] for k in areas}
    var = {k: max(areas[k], 1.0) / flat[k] ** 2 for k in areas}
    mean_side = 0.5 * (norm[-1] + norm[1])
    value = norm[0] / mean_side
    error = np.sqrt(var[0] + value**2 * 0.25 * (var[-1] + var[1])) / mean_side
    return PulsedG2(
        value=float(value),
        error=float(error),
        method="window",
        period_ps=period,
        offset_ps=offset,
        areas=areas,
        adjacent_norm=None if hist.expected is None else float(mean_side),
        leakage=None if tau is None else peak_leakage(period, tau),
    )
