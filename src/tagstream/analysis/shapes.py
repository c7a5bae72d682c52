"""Analytic line shapes shared by the g2 and decay fits.

All times are in picoseconds. The Gaussian terms use log-space evaluation (``log_ndtr``) so that
the shapes stay finite for lifetimes much shorter or much longer than the timing jitter.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr, ndtr


def exp_gauss_cdf(t: np.ndarray, tau: float, sigma: float) -> np.ndarray:
    """Cumulative distribution of an exponential decay (lifetime ``tau``) started by a Gaussian
    pulse of standard deviation ``sigma`` centred at 0 (the exponentially modified Gaussian).

    Parameters
    ----------
    t
        Times, ps.
    tau
        Lifetime, ps (> 0).
    sigma
        Gaussian standard deviation, ps (>= 0; 0 gives the bare exponential).
    """
    t = np.asarray(t, dtype=float)
    if sigma <= 0:
        return np.where(t > 0, -np.expm1(-np.clip(t, 0, None) / tau), 0.0)
    z = t / sigma
    s = sigma / tau
    tail = np.exp(0.5 * s * s - t / tau + log_ndtr(z - s))
    return ndtr(z) - tail


def periodic_exp_gauss_bins(
    edges: np.ndarray,
    tau: float,
    sigma: float,
    t0: float,
    period: float | None,
    n_back: int = 3,
) -> np.ndarray:
    """Probability per bin of a photon emitted after a pulse train, with the tails of earlier
    pulses.

    Each pulse at ``t0 + p * period`` (p = ..., -1, 0, 1) launches a decay with lifetime ``tau``
    broadened by a Gaussian of width ``sigma``; the histogram time is folded onto one period.
    The result integrates to one over a full period.

    Parameters
    ----------
    edges
        Bin edges, ps, within one period (``edges[-1] - edges[0] <= period``).
    tau, sigma, t0
        Lifetime, Gaussian width and pulse position, ps.
    period
        Repetition period, ps; ``None`` for a single pulse (no wrapped tail).
    n_back
        Earlier pulses evaluated exactly; the rest are summed as a geometric series.
    """
    edges = np.asarray(edges, dtype=float)
    if period is None or not np.isfinite(period):
        cdf = exp_gauss_cdf(edges - t0, tau, sigma)
        return np.diff(cdf)
    total = np.zeros(len(edges) - 1)
    last = total
    for p in range(-1, n_back + 1):  # the next pulse (p = -1) only matters through its rising edge
        last = np.diff(exp_gauss_cdf(edges - t0 + p * period, tau, sigma))
        total += last
    # pulses further back: their Gaussian part is long over, and each adds q = exp(-period/tau)
    # times what the one after it adds, so together they add last * q / (1 - q)
    q = np.exp(-period / tau)
    if 0 < q < 1:
        total += last * (q / (1.0 - q))
    return total


def laplace_gauss(tau: np.ndarray, rate: float, sigma: float) -> np.ndarray:
    """``exp(-rate * |tau|)`` convolved with a unit-area Gaussian of width ``sigma``.

    The antibunching dip of a CW g2 (and the shape of pulsed g2 peaks) seen through detector
    timing jitter. ``rate`` in 1/ps, ``tau`` and ``sigma`` in ps. Equals one at ``tau = 0`` when
    ``sigma = 0``.
    """
    tau = np.asarray(tau, dtype=float)
    if sigma <= 0:
        return np.exp(-rate * np.abs(tau))
    a = rate * sigma
    left = 0.5 * a * a - rate * tau + log_ndtr((tau - rate * sigma * sigma) / sigma)
    right = 0.5 * a * a + rate * tau + log_ndtr(-(tau + rate * sigma * sigma) / sigma)
    return np.exp(left) + np.exp(right)


def laplace_gauss_bins(edges: np.ndarray, rate: float, sigma: float) -> np.ndarray:
    """Integral over each bin of ``laplace_gauss`` divided by the bin width (the bin average)."""
    edges = np.asarray(edges, dtype=float)
    widths = np.diff(edges)
    prim = _laplace_gauss_primitive(edges, rate, sigma)
    return np.diff(prim) / widths


def _laplace_gauss_primitive(x: np.ndarray, rate: float, sigma: float) -> np.ndarray:
    """Antiderivative of ``laplace_gauss`` (up to a constant)."""
    # Written via the two one-sided exponentials: ∫ e^{-r|t|}*g = (1/r)[2Φ(x/σ) - A(x) + B(x)] with
    # A(x) = e^{r²σ²/2 - r x} Φ((x - rσ²)/σ), B(x) = e^{r²σ²/2 + r x} Φ(-(x + rσ²)/σ).
    x = np.asarray(x, dtype=float)
    if sigma <= 0:
        decay = np.exp(-rate * np.abs(x))
        return np.where(x < 0, decay, 2.0 - decay) / rate
    a = rate * sigma
    log_a = 0.5 * a * a - rate * x + log_ndtr((x - rate * sigma * sigma) / sigma)
    log_b = 0.5 * a * a + rate * x + log_ndtr(-(x + rate * sigma * sigma) / sigma)
    return (2.0 * ndtr(x / sigma) - np.exp(log_a) + np.exp(log_b)) / rate
