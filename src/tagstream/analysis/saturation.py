"""Fits of an excitation power series: the saturation of the count rate with power and the
g2(0) of the biexciton cascade against the mean number of excitations per pulse.

Pulsed excitation creates a Poisson number of excitations with mean ``<N> = P / P_sat``; the
exciton emits whenever there was at least one, so the count rate is
``I = I_sat (1 - exp(-P / P_sat))``. A biexciton (two or more excitations) emits its BX photon
with ``QY(BX)`` before the exciton's, so per pulse ``E[n(n-1)] = 2 QY(BX) QY(X) P(N >= 2)`` and
``E[n] = QY(X) P(N >= 1) + QY(BX) P(N >= 2)``, and with ``r = QY(BX) / QY(X)``::

    g2(0) = 2 r P2 / (P1 + r P2)**2,   P1 = 1 - e^-N,  P2 = 1 - e^-N - N e^-N,

which tends to ``r`` at low ``<N>`` (the seed review, §4.3) and rises toward ``2r/(1+r)^2`` as
the dot saturates. The BX photons also add ``r I_sat P(N >= 2)`` to the rate; given ``r`` (from
the g2 fit) the saturation fit includes them, else it is the plain curve.
Uncorrelated counts (dark counts, background) of signal fractions ``rho_A``, ``rho_B`` pull
the measured value toward 1: ``g2_measured - 1 = rho_A rho_B (g2 - 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit


@dataclass(frozen=True)
class SaturationFit:
    """``I = I_sat (1 - exp(-P / P_sat))`` fitted to the count rates above the dark rate.

    Attributes
    ----------
    i_sat_cps, i_sat_err_cps
        Saturated count rate and its standard error, counts/s.
    p_sat_w, p_sat_err_w
        The power that gives ``<N> = 1``, and its standard error, W.
    reduced_chi2
        Of the fit with the rates' Poisson errors; the errors above are scaled by its root
        when it exceeds 1 (the rate scatters more than counting explains: blinking).
    n
        Steps fitted.
    """

    i_sat_cps: float
    i_sat_err_cps: float
    p_sat_w: float
    p_sat_err_w: float
    reduced_chi2: float
    n: int

    qy_ratio: float = 0.0

    def rate_cps(self, power_w: np.ndarray) -> np.ndarray:
        """The fitted rate above the dark rate at ``power_w``, counts/s."""
        p = np.asarray(power_w, float)
        return saturation_curve(p, self.i_sat_cps, self.p_sat_w, self.qy_ratio)


def saturation_curve(
    power_w: np.ndarray, i_sat_cps: float, p_sat_w: float, qy_ratio: float = 0.0
) -> np.ndarray:
    """``I_sat (P(N >= 1) + r P(N >= 2))`` with ``<N> = P / P_sat``, counts/s (``r = 0``: the
    plain ``I_sat (1 - exp(-P / P_sat))``)."""
    n = power_w / p_sat_w
    p1 = -np.expm1(-n)
    return i_sat_cps * (p1 + qy_ratio * (p1 - n * np.exp(-n)))


def fit_saturation(power_w, rate_cps, rate_err_cps, qy_ratio: float = 0.0) -> SaturationFit:
    """Fit the saturation curve to rates (dark rate already taken off) at powers ``power_w``
    with standard errors ``rate_err_cps``; ``qy_ratio``: the BX photons' ``QY(BX)/QY(X)``
    (fixed), 0 for the plain curve.

    Raises
    ------
    ValueError
        Fewer than three steps with a positive power, or a fit that does not converge.
    """
    p, y, e = (np.asarray(a, float) for a in (power_w, rate_cps, rate_err_cps))
    keep = np.isfinite(p) & np.isfinite(y) & np.isfinite(e) & (p > 0) & (e > 0)
    p, y, e = p[keep], y[keep], e[keep]
    if p.size < 3:
        raise ValueError(f"a saturation fit needs three steps with light, got {p.size}")
    # start: the initial slope and the largest rate
    order = np.argsort(p)
    slope = y[order[0]] / p[order[0]]
    i0 = max(float(y.max()) * 1.2, 1e-9)
    p0 = max(i0 / max(slope, 1e-300), float(p.min()))
    try:
        popt, pcov = curve_fit(lambda x, a, b: saturation_curve(x, a, b, qy_ratio), p, y,
                               p0=(i0, p0), sigma=e,
                               absolute_sigma=True, bounds=([0, 0], [np.inf, np.inf]),
                               maxfev=20000)  # fmt: skip
    except (RuntimeError, ValueError) as exc:
        raise ValueError(f"the saturation fit did not converge ({exc})") from None
    dof = max(p.size - 2, 1)
    chi2 = float(np.sum(((y - saturation_curve(p, *popt, qy_ratio)) / e) ** 2)) / dof
    err = np.sqrt(np.diag(pcov)) * np.sqrt(max(chi2, 1.0))
    return SaturationFit(float(popt[0]), float(err[0]), float(popt[1]), float(err[1]), chi2,
                         int(p.size), float(qy_ratio))  # fmt: skip


def cascade_g2_zero(mean_excitations, qy_ratio: float) -> np.ndarray:
    """g2(0) of the biexciton cascade under pulsed excitation with Poisson ``<N>``, for
    ``QY(BX) / QY(X) = qy_ratio``."""
    n = np.asarray(mean_excitations, float)
    p1 = -np.expm1(-n)
    p2 = p1 - n * np.exp(-n)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = 2.0 * qy_ratio * p2 / (p1 + qy_ratio * p2) ** 2
    # N -> 0: P2/P1^2 -> 1/2, so g2(0) -> r
    return np.where(n > 1e-6, g, qy_ratio)


def with_background(g2_zero, rho_a, rho_b):
    """The g2(0) measured when the detectors' counts are the signal fractions ``rho_a``,
    ``rho_b`` (the rest uncorrelated): ``1 + rho_a rho_b (g2 - 1)``."""
    return 1.0 + np.asarray(rho_a) * np.asarray(rho_b) * (np.asarray(g2_zero) - 1.0)


@dataclass(frozen=True)
class CascadeFit:
    """``QY(BX)/QY(X)`` from g2(0) against ``<N>``; errors scaled like :class:`SaturationFit`."""

    qy_ratio: float
    qy_ratio_err: float
    reduced_chi2: float
    n: int


def fit_cascade(mean_excitations, g2_zero, g2_zero_err, rho_a=1.0, rho_b=1.0) -> CascadeFit:
    """Fit ``QY(BX)/QY(X)`` to measured g2(0) ± err at ``<N>``, the background of signal
    fractions ``rho_a``, ``rho_b`` (per step) included in the model.

    Raises
    ------
    ValueError
        No step with a finite g2(0) and error, or a fit that does not converge.
    """
    n, g, e = (np.asarray(a, float) for a in (mean_excitations, g2_zero, g2_zero_err))
    ra, rb = np.broadcast_to(rho_a, n.shape), np.broadcast_to(rho_b, n.shape)
    keep = np.isfinite(n) & np.isfinite(g) & np.isfinite(e) & (e > 0) & (n > 0)
    n, g, e, ra, rb = n[keep], g[keep], e[keep], ra[keep], rb[keep]
    if n.size < 1:
        raise ValueError("no step gave g2(0) with an uncertainty")

    def model(x, r):
        return with_background(cascade_g2_zero(x, r), ra, rb)

    start = float(np.clip(g[np.argmin(n)], 1e-3, 1.0))
    try:
        popt, pcov = curve_fit(model, n, g, p0=(start,), sigma=e, absolute_sigma=True,
                               bounds=([0.0], [10.0]))  # fmt: skip
    except (RuntimeError, ValueError) as exc:
        raise ValueError(f"the cascade fit did not converge ({exc})") from None
    dof = max(n.size - 1, 1)
    chi2 = float(np.sum(((g - model(n, *popt)) / e) ** 2)) / dof
    err = float(np.sqrt(pcov[0, 0]) * np.sqrt(max(chi2, 1.0)))
    return CascadeFit(float(popt[0]), err, chi2, int(n.size))
