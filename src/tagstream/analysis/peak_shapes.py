"""The g2 peak shape (a two-sided exponential through Gaussian jitter) with its derivatives.

``G(x)`` is the cumulative fraction of a unit-area peak ``(rate / 2) exp(-rate |t|)``, convolved
with a Gaussian of width ``sigma``, below ``x`` (ps): ``rate / 2`` times the primitive of
:func:`~tagstream.analysis.shapes.laplace_gauss`. The fraction in a bin is the difference of
``G`` at its edges. Its derivatives by ``x``, ``rate`` and ``sigma`` give the pulsed g2 fit its
exact Jacobian.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr, ndtr

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def laplace_gauss_cdf_derivs(
    x: np.ndarray, rate: float, sigma: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``G(x)`` and ``dG/dx``, ``dG/drate``, ``dG/dsigma``.

    With ``A = exp(a^2/2 - rate x) Phi(x/sigma - a)``, ``B = exp(a^2/2 + rate x)
    Phi(-x/sigma - a)`` and ``a = rate sigma``: ``G = Phi(x/sigma) - A/2 + B/2``,
    ``dG/dx = rate (A + B) / 2``, ``dG/drate = ((B - A) rate sigma^2 + x (A + B)) / 2`` and
    ``dG/dsigma = (B - A) rate^2 sigma / 2``. With ``sigma <= 0`` the bare two-sided
    exponential (``dG/dsigma = 0``, its value at ``sigma = 0``).

    Parameters
    ----------
    x
        Delays from the peak centre, ps.
    rate
        Decay rate of the peak, 1/ps (> 0).
    sigma
        Gaussian jitter, ps (>= 0).
    """
    x = np.asarray(x, dtype=float)
    if sigma <= 0:
        decay = np.exp(-rate * np.abs(x))
        value = np.where(x < 0, 0.5 * decay, 1.0 - 0.5 * decay)
        return value, 0.5 * rate * decay, 0.5 * x * decay, np.zeros_like(x)
    a = rate * sigma
    z = x / sigma
    a_term = np.exp(0.5 * a * a - rate * x + log_ndtr(z - a))
    b_term = np.exp(0.5 * a * a + rate * x + log_ndtr(-z - a))
    value = ndtr(z) - 0.5 * a_term + 0.5 * b_term
    d_x = 0.5 * rate * (a_term + b_term)
    d_rate = 0.5 * ((b_term - a_term) * rate * sigma * sigma + x * (a_term + b_term))
    d_sigma = 0.5 * (b_term - a_term) * rate * rate * sigma
    return value, d_x, d_rate, d_sigma


def peak_bins_derivs(
    edges: np.ndarray, centre: float, tau: float, sigma: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fraction of a unit-area peak (decay time ``tau``, jitter ``sigma``, centred on
    ``centre``; ps) in each bin of ``edges``, and its derivatives by ``centre``, ``tau`` and
    ``sigma``."""
    rate = 1.0 / tau
    g, g_x, g_rate, g_sigma = laplace_gauss_cdf_derivs(np.asarray(edges) - centre, rate, sigma)
    return np.diff(g), -np.diff(g_x), -np.diff(g_rate) * rate * rate, np.diff(g_sigma)
