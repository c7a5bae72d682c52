"""Decay component shapes with their analytic derivatives, for the lifetime fits.

The values equal those of :func:`~tagstream.analysis.shapes.periodic_exp_gauss_bins` (a Gaussian
or no IRF) and of the measured-IRF kernel in :mod:`~tagstream.analysis.decay_fit_shapes`; the
derivatives by the lifetime ``tau``, the pulse position ``t0`` (the IRF shift) and the Gaussian
width ``sigma`` let the Poisson fit use exact gradients and Fisher matrices. Times in ps.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import log_ndtr, ndtr

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


class ShapeDerivs(NamedTuple):
    """A shape and its derivatives (arrays of one shape)."""

    value: np.ndarray
    d_tau: np.ndarray
    d_t0: np.ndarray
    d_sigma: np.ndarray


#: Beyond this many Gaussian widths after a pulse (``z`` and ``z - s`` above it) ``Phi`` is 1 and
#: ``log Phi`` below 1e-23: the shape is a plain exponential there, computed without special
#: functions. Before a pulse by more than :data:`_FAR_BEFORE` widths it is below 1e-300: zero.
_FAR_AFTER = 10.0
_FAR_BEFORE = 38.0
#: Earlier pulses are summed in closed form when the period exceeds this many lifetimes.
_CLOSED_FORM_PERIODS = 3.0


def exp_gauss_cdf_derivs(
    t: np.ndarray, tau: float, sigma: float, derivs: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The exponentially modified Gaussian CDF ``F(t)`` and ``dF/dt``, ``dF/dtau``, ``dF/dsigma``.

    ``F = Phi(z) - E`` with ``z = t / sigma``, ``s = sigma / tau`` and
    ``E = exp(s^2 / 2 - t / tau) Phi(z - s)``; then ``dF/dt = E / tau``,
    ``dF/dtau = -(E (t - sigma^2 / tau) + phi(z) sigma) / tau^2`` and
    ``dF/dsigma = phi(z) / tau - E sigma / tau^2``. With ``sigma <= 0`` the bare exponential
    (its ``dF/dsigma`` is returned as 0). With ``derivs=False`` the derivatives are ``None``.
    ``t`` must be increasing (ps).
    """
    t = np.asarray(t, dtype=float)
    if sigma <= 0:
        pos = np.clip(t, 0, None)
        decay = np.exp(-pos / tau)
        inside = t > 0
        value = np.where(inside, -np.expm1(-pos / tau), 0.0)
        if not derivs:
            return value, None, None, None
        d_t = np.where(inside, decay / tau, 0.0)
        d_tau = np.where(inside, -pos * decay / tau**2, 0.0)
        return value, d_t, d_tau, np.zeros_like(t)
    s = sigma / tau
    z = t / sigma
    tail = np.zeros_like(t)
    value = np.zeros_like(t)
    density = np.zeros_like(t)
    # t increases: zero before `first`, special functions up to `far`, plain exponential after
    first = int(np.searchsorted(z, -_FAR_BEFORE, side="right"))
    far = max(int(np.searchsorted(z, _FAR_AFTER + s)), first)
    tail[far:] = np.exp(0.5 * s * s - t[far:] / tau)
    value[far:] = 1.0 - tail[far:]
    if far > first:
        zm = z[first:far]
        tail[first:far] = np.exp(0.5 * s * s - t[first:far] / tau + log_ndtr(zm - s))
        value[first:far] = ndtr(zm) - tail[first:far]
        density[first:far] = _INV_SQRT_2PI * np.exp(-0.5 * zm * zm)
    if not derivs:
        return value, None, None, None
    d_t = tail / tau
    d_tau = -(tail * (t - sigma * s) + density * sigma) / tau**2
    d_sigma = density / tau - tail * sigma / tau**2
    return value, d_t, d_tau, d_sigma


def periodic_exp_gauss_bins_fast(
    edges: np.ndarray,
    tau: float,
    sigma: float,
    t0: float,
    period: float | None,
    n_back: int = 3,
) -> np.ndarray:
    """:func:`~tagstream.analysis.shapes.periodic_exp_gauss_bins`, evaluating special functions
    only near the pulses (equal to it within rounding)."""
    return _periodic(edges, tau, sigma, t0, period, n_back, derivs=False).value


def periodic_exp_gauss_bins_derivs(
    edges: np.ndarray,
    tau: float,
    sigma: float,
    t0: float,
    period: float | None,
    n_back: int = 3,
) -> ShapeDerivs:
    """:func:`~tagstream.analysis.shapes.periodic_exp_gauss_bins` and its derivatives by
    ``tau``, ``t0`` and ``sigma`` (the same folding: the next pulse, ``n_back`` earlier ones
    exactly, the rest as a geometric series)."""
    return _periodic(edges, tau, sigma, t0, period, n_back, derivs=True)


def _periodic(
    edges: np.ndarray,
    tau: float,
    sigma: float,
    t0: float,
    period: float | None,
    n_back: int,
    derivs: bool,
) -> ShapeDerivs:
    edges = np.asarray(edges, dtype=float)
    if period is None or not np.isfinite(period):
        f, f_t, f_tau, f_sigma = exp_gauss_cdf_derivs(edges - t0, tau, sigma, derivs)
        if not derivs:
            return ShapeDerivs(np.diff(f), None, None, None)
        return ShapeDerivs(np.diff(f), np.diff(f_tau), -np.diff(f_t), np.diff(f_sigma))
    n = len(edges) - 1
    total, d_tau, d_t0, d_sigma = (np.zeros(n) for _ in range(4))
    last = last_tau = last_t0 = last_sigma = total
    earlier = edges[0] - t0 + period  # the earliest time after the previous pulse
    far = earlier / sigma >= _FAR_AFTER + sigma / tau if sigma > 0 else earlier > 0
    if n_back >= 1 and far and period > _CLOSED_FORM_PERIODS * tau:
        # every earlier pulse is a plain exponential here: with E = exp(s^2/2 - t/tau) after
        # the previous pulse, all of them together contribute -diff(E) / (1 - q) (for longer
        # lifetimes 1 / (1 - q) would amplify rounding: the pulses are summed one by one)
        _far_pulses(edges - t0 + period, tau, sigma, period, derivs, total, d_tau, d_t0, d_sigma)
        n_back = 0
    # the next pulse matters only through its rising edge, and not at all (exactly zero) when
    # that edge begins after the window
    before = edges[-1] - t0 - period
    next_pulse = before / sigma > -_FAR_BEFORE if sigma > 0 else before > 0
    for p in range(-1 if next_pulse else 0, n_back + 1):
        f, f_t, f_tau, f_sigma = exp_gauss_cdf_derivs(edges - t0 + p * period, tau, sigma, derivs)
        last = np.diff(f)
        total += last
        if derivs:
            last_tau, last_t0, last_sigma = np.diff(f_tau), -np.diff(f_t), np.diff(f_sigma)
            d_tau += last_tau
            d_t0 += last_t0
            d_sigma += last_sigma
    q = np.exp(-period / tau)
    if 0 < q < 1 and n_back > 0:  # pulses further back, a geometric series
        ratio = q / (1.0 - q)
        total += last * ratio
        if derivs:
            d_ratio = (q * period / tau**2) / (1.0 - q) ** 2
            d_tau += last_tau * ratio + last * d_ratio
            d_t0 += last_t0 * ratio
            d_sigma += last_sigma * ratio
    if not derivs:
        return ShapeDerivs(total, None, None, None)
    return ShapeDerivs(total, d_tau, d_t0, d_sigma)


def _far_pulses(
    t: np.ndarray,
    tau: float,
    sigma: float,
    period: float,
    derivs: bool,
    total: np.ndarray,
    d_tau: np.ndarray,
    d_t0: np.ndarray,
    d_sigma: np.ndarray,
) -> None:
    """Add the bins' share of all pulses before the latest one, each far enough back for its
    Gaussian to be over: ``sum_p q^p E`` summed in closed form (``t`` is the time after the
    previous pulse, ps; in place)."""
    s = sigma / tau
    q = np.exp(-period / tau)
    inv = 1.0 / -np.expm1(-period / tau)  # 1 / (1 - q)
    e = np.exp(0.5 * s * s - t / tau)
    total -= np.diff(e) * inv
    if derivs:
        d_q = q * period / tau**2
        d_tau -= np.diff(e * ((t - sigma * s) / tau**2)) * inv + np.diff(e) * d_q * inv * inv
        d_t0 -= np.diff(e) * (inv / tau)
        d_sigma -= np.diff(e) * (sigma / tau**2) * inv


def binned_decay_kernel_derivs(
    centres: np.ndarray, width: float, tau: float, period: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The measured-IRF decay kernel and its derivatives by ``tau`` and by the lag.

    The kernel is the probability that a decay launched uniformly in a bin of ``width`` ps lands
    in the bin ``centres`` ps later: the (periodic) exponential density integrated against a
    unit triangle of half-width ``width``. Returns ``(K, dK/dtau, dK/dlag)``.
    """
    x = width / tau
    if period is None:
        lag = np.asarray(centres, dtype=float)
        q, d_q, norm, d_norm = 0.0, 0.0, 1.0, 0.0
    else:
        lag = centres - period * np.round(centres / period)
        q = float(np.exp(-period / tau))
        d_q = q * period / tau**2
        norm = 1.0 / float(-np.expm1(-period / tau))
        d_norm = d_q * norm * norm
    out, out_tau, out_lag = (np.zeros_like(lag) for _ in range(3))
    u = np.expm1(-x)
    tail = (tau / width) * u * u
    d_tail = u * u / width + 2.0 * u * np.exp(-x) / tau
    after = lag >= width
    before = lag <= -width  # without a period nothing arrives before the launch: zero
    for mask, offset in ((after, 0.0), (before, float(period or 0.0))):
        if period is None and mask is before:
            continue
        arg = lag[mask] - width + offset
        decay = np.exp(-arg / tau)
        out[mask] = tail * decay
        out_tau[mask] = d_tail * decay + tail * decay * arg / tau**2
        out_lag[mask] = -tail * decay / tau
    near = ~(after | before)
    d = lag[near]
    second = np.zeros_like(d)
    second_tau = np.zeros_like(d)
    second_lag = np.zeros_like(d)
    for shift, weight in ((width, 1.0), (0.0, -2.0), (-width, 1.0)):
        h, h_tau, h_d = _double_integral_derivs(d + shift, tau, q, d_q)
        second += weight * h
        second_tau += weight * h_tau
        second_lag += weight * h_d
    out[near] = (tau / width) * second
    out_tau[near] = second / width + (tau / width) * second_tau
    out_lag[near] = (tau / width) * second_lag
    return norm * out, norm * out_tau + d_norm * out, norm * out_lag


def _double_integral_derivs(
    d: np.ndarray, tau: float, q: float, d_q: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``h(d / tau)`` (times ``q`` for ``d < 0``) with ``h(y) = y + expm1(-y)``, and its
    derivatives by ``tau`` and ``d``; ``d_q`` is ``dq/dtau``."""
    y = d / tau
    h = y + np.expm1(-y)
    slope = -np.expm1(-y)  # h'(y)
    h_tau = -slope * y / tau
    h_d = slope / tau
    neg = d < 0
    value = np.where(neg, q * h, h)
    d_tau = np.where(neg, q * h_tau + d_q * h, h_tau)
    d_d = np.where(neg, q * h_d, h_d)
    return value, d_tau, d_d
