"""The shape of each decay component on the fitted bins, for the three kinds of IRF of
:func:`~tagstream.analysis.decay_fit.fit_decay`: Gaussian-broadened or bare periodic exponentials
(:class:`AnalyticShapes`) and exponentials reconvolved with a measured IRF
(:class:`MeasuredIrf`, on :func:`binned_decay_kernel`), each with its derivatives by the
lifetime, the shift and the IRF width. Times in ps; each row sums to the probability that a
photon of that component lands in the fitted bins."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import fft as sfft

from .decay_shapes import (
    ShapeDerivs,
    binned_decay_kernel_derivs,
    periodic_exp_gauss_bins_derivs,
    periodic_exp_gauss_bins_fast,
)


class AnalyticShapes:
    """Gaussian-broadened (or, with sigma 0, bare) periodic exponentials on the fitted bins."""

    def __init__(self, edges: np.ndarray, period: float | None) -> None:
        self.edges = edges
        self.period = period

    def __call__(self, taus: Sequence[float], shift: float, sigma: float) -> np.ndarray:
        """One row per lifetime in ``taus`` (ps): the probability per fitted bin of a photon of that
        component, for IRF ``shift`` and Gaussian width ``sigma`` (ps; 0 for none)."""
        rows = [
            periodic_exp_gauss_bins_fast(self.edges, tau, sigma, shift, self.period) for tau in taus
        ]
        return np.clip(np.array(rows), 0.0, None)

    def derivs(self, taus: Sequence[float], shift: float, sigma: float) -> ShapeDerivs:
        """The shapes of :meth:`__call__` and their derivatives by tau, shift and sigma."""
        rows = [
            periodic_exp_gauss_bins_derivs(self.edges, tau, sigma, shift, self.period)
            for tau in taus
        ]
        return clipped(ShapeDerivs(*(np.array(part) for part in zip(*rows, strict=True))))


def clipped(d: ShapeDerivs) -> ShapeDerivs:
    """Shapes clipped at zero (rounding below it), with zero derivatives where clipped."""
    below = d.value < 0
    if not below.any():
        return d
    return ShapeDerivs(*(np.where(below, 0.0, part) for part in d))


class MeasuredIrf:
    """Periodic exponentials convolved with a measured IRF on uniform bins.

    The IRF histogram ``r`` launches decays uniformly within each of its bins; the probability
    that a decay launched in bin ``j`` lands in bin ``m`` depends only on ``m - j`` (and on the
    shift), so the model is ``sum_j r_j K(m - j)``, computed by FFT.
    """

    def __init__(
        self, irf: np.ndarray, edges: np.ndarray, bins: slice, period: float | None
    ) -> None:
        self.irf = irf
        self.bins = bins
        self.period = period
        self.n = irf.size
        self.width = float((edges[-1] - edges[0]) / self.n)
        self.lags = np.arange(-(self.n - 1), self.n) * self.width
        self.size = sfft.next_fast_len(3 * self.n - 2, real=True)
        self.irf_spectrum = sfft.rfft(irf, self.size)

    def __call__(self, taus: Sequence[float], shift: float, sigma: float = 0.0) -> np.ndarray:
        """One row per lifetime in ``taus`` (ps): the probability per fitted bin of a photon of that
        component, the measured IRF moved by ``shift`` (ps); ``sigma`` is not used."""
        kernels = np.array(
            [binned_decay_kernel(self.lags - shift, self.width, tau, self.period) for tau in taus]
        )
        spectrum = sfft.rfft(kernels, self.size, axis=1) * self.irf_spectrum
        full = sfft.irfft(spectrum, self.size, axis=1)[:, self.n - 1 : 2 * self.n - 1]
        return np.clip(full[:, self.bins], 0.0, None)

    def derivs(self, taus: Sequence[float], shift: float, sigma: float = 0.0) -> ShapeDerivs:
        """The shapes of :meth:`__call__` and their derivatives by tau and shift (sigma: 0)."""
        k = len(taus)
        lags = self.lags - shift
        parts = [binned_decay_kernel_derivs(lags, self.width, t, self.period) for t in taus]
        kernels = np.array([row for part in zip(*parts, strict=True) for row in part])
        spectrum = sfft.rfft(kernels, self.size, axis=1) * self.irf_spectrum
        full = sfft.irfft(spectrum, self.size, axis=1)[:, self.n - 1 : 2 * self.n - 1]
        full = full[:, self.bins]
        value, d_tau, d_lag = full[:k], full[k : 2 * k], full[2 * k :]
        return clipped(ShapeDerivs(value, d_tau, -d_lag, np.zeros_like(value)))


def binned_decay_kernel(
    centres: np.ndarray, width: float, tau: float, period: float | None
) -> np.ndarray:
    """Probability that a decay launched uniformly in a bin lands in the bin ``centres`` later.

    Integral of the (periodic) exponential density ``g(d) = exp(-(d mod period) / tau) /
    (tau (1 - exp(-period / tau)))`` against a unit triangle of half-width ``width`` centred on
    each lag in ``centres`` (ps). Without a period, ``g(d) = exp(-d / tau) / tau`` for ``d > 0``.
    """
    x = width / tau
    if period is None:
        lag = np.asarray(centres, dtype=float)
        q, norm = 0.0, 1.0
    else:
        lag = centres - period * np.round(centres / period)
        q, norm = float(np.exp(-period / tau)), 1.0 / float(-np.expm1(-period / tau))
    out = np.zeros_like(lag)
    tail = (tau / width) * np.expm1(-x) ** 2
    after = lag >= width
    out[after] = tail * np.exp(-(lag[after] - width) / tau)
    before = lag <= -width
    if period is not None:
        out[before] = tail * np.exp(-(lag[before] - width + period) / tau)
    near = ~(after | before)
    d = lag[near]
    second = _double_integral(d + width, tau, q) - 2 * _double_integral(d, tau, q)
    second += _double_integral(d - width, tau, q)
    out[near] = (tau / width) * second
    return norm * out


def _double_integral(d: np.ndarray, tau: float, q: float) -> np.ndarray:
    """``g`` integrated twice from 0 to ``d`` (ps), divided by ``tau`` and by the normalisation of
    ``g``; ``q = exp(-period / tau)`` weighs the wrapped part at ``d < 0`` (0 without a period)."""
    y = d / tau
    h = y + np.expm1(-y)
    return np.where(d >= 0, h, q * h)
