"""The model of a pulsed g2 histogram: a comb of two-sided exponential peaks convolved with a
Gaussian jitter, one area per peak inside the histogram (the peaks beyond it share the area of
the outermost one, with a geometric tail), on a flat background shaped by the uncorrelated
expectation; with its derivatives by every parameter. Times in ps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .g2_histogram import G2Histogram
from .peak_shapes import peak_bins_derivs
from .shapes import laplace_gauss_bins


@dataclass(frozen=True)
class Comb:
    """Peaks of the pulsed model: explicit peaks ``ks``, the area parameter each one uses, and
    which explicit peaks stand for all the peaks beyond them (geometric tail)."""

    ks: np.ndarray
    area_names: tuple[str, ...]
    outermost: np.ndarray


def area_name(k: int) -> str:
    """Name of the fitted area of the peak ``k`` periods from zero delay (``"area_-1"``)."""
    return f"area_{k}"


def build_comb(hist: G2Histogram, period: float, offset: float) -> Comb:
    """Explicit peaks reach at least 1.75 periods beyond each end of the histogram; peaks with
    their centre inside the histogram get their own area, the others share the area of the
    outermost inside peak on their side."""
    lo, hi = hist.span
    k_first = int(np.floor((lo - offset) / period)) - 2
    k_last = int(np.ceil((hi - offset) / period)) + 2
    ks = np.arange(k_first, k_last + 1)
    centres = offset + ks * period
    inside = ks[(centres >= lo) & (centres < hi)]
    owners = np.clip(ks, inside.min(), inside.max())
    outermost = (ks == k_first) | (ks == k_last)
    return Comb(ks, tuple(area_name(int(k)) for k in owners), outermost)


class _CombShapes:
    """Unit-area peak profiles per bin (columns = explicit peaks), cached on the shape parameters
    so that changing only the areas costs a matrix product, and changing only the zero-delay
    decay recomputes one column."""

    def __init__(self, hist: G2Histogram, comb: Comb) -> None:
        self._hist, self._comb = hist, comb
        self._centre = int(np.flatnonzero(comb.ks == 0)[0])
        self._sides: dict[tuple[float, ...], np.ndarray] = {}
        self._middles: dict[tuple[float, ...], np.ndarray] = {}

    def __call__(self, period: float, offset: float, tau_side: float, tau_centre: float, jitter):
        sides = _cached(self._sides, (period, offset, tau_side, jitter), self._side_columns)
        middle = _cached(self._middles, (offset, tau_centre, jitter), self._peak)
        profiles = sides.copy()
        profiles[:, self._centre] = middle
        return profiles

    def _side_columns(self, period, offset, tau_side, jitter) -> np.ndarray:
        comb = self._comb
        tail = 1.0 / -np.expm1(-period / tau_side)
        columns = []
        for k, outer in zip(comb.ks, comb.outermost, strict=True):
            if k == 0:
                columns.append(np.zeros(self._hist.counts.size))  # filled in by __call__
                continue
            mass = self._peak(offset + k * period, tau_side, jitter)
            columns.append(mass * tail if outer else mass)
        return np.column_stack(columns)

    def _peak(self, centre: float, tau: float, jitter: float) -> np.ndarray:
        """Fraction of a unit-area peak at ``centre`` falling in each bin."""
        rate = 1.0 / tau
        edges = self._hist.edges - centre
        return 0.5 * rate * self._hist.width * laplace_gauss_bins(edges, rate, jitter)


def _cached(cache: dict, key: tuple[float, ...], compute: Callable[..., np.ndarray]) -> np.ndarray:
    if key not in cache:
        if len(cache) > 32:
            cache.clear()
        cache[key] = compute(*key)
    return cache[key]


def pulsed_model(hist: G2Histogram, comb: Comb) -> Callable[..., np.ndarray]:
    """The expected counts per bin of the peak comb as a function of its parameters (keyword
    arguments: period, offset, widths and jitter in ps, the areas, the background), shaped by the
    histogram's uncorrelated expectation when it has one."""
    shapes = _CombShapes(hist, comb)
    shape = np.ones(hist.counts.size)
    if hist.expected is not None:
        shape = hist.expected / hist.expected.mean()

    def model(**p: float) -> np.ndarray:
        tau_centre = p["central_ratio"] * p["tau_side"]
        profiles = shapes(p["period"], p["offset"], p["tau_side"], tau_centre, p["jitter"])
        areas = np.array([p[name] for name in comb.area_names])
        return shape * (p["background"] + profiles @ areas)

    return model


def pulsed_jacobian(hist: G2Histogram, comb: Comb) -> Callable[..., tuple[np.ndarray, dict]]:
    """The model of :func:`pulsed_model` with its derivatives by every parameter."""
    shape = np.ones(hist.counts.size)
    if hist.expected is not None:
        shape = hist.expected / hist.expected.mean()
    ratio = hist.width / np.diff(hist.edges)  # as laplace_gauss_bins divides by each width
    names = ("period", "offset", "tau_side", "central_ratio", "jitter")

    def jacobian(**p: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        period, offset, tau_side, jitter = p["period"], p["offset"], p["tau_side"], p["jitter"]
        tail = 1.0 / -np.expm1(-period / tau_side)
        q = np.exp(-period / tau_side)
        tail_period = -q * tail * tail / tau_side
        tail_tau = q * period * tail * tail / tau_side**2
        total = np.zeros(hist.counts.size)
        grads = {name: np.zeros(hist.counts.size) for name in names}
        columns = {name: np.zeros(hist.counts.size) for name in dict.fromkeys(comb.area_names)}
        for k, owner, outer in zip(comb.ks, comb.area_names, comb.outermost, strict=True):
            area = p[owner]
            if k == 0:
                tau = p["central_ratio"] * tau_side
                value, d_c, d_tau, d_sigma = peak_bins_derivs(hist.edges, offset, tau, jitter)
                value, d_c, d_tau, d_sigma = (ratio * v for v in (value, d_c, d_tau, d_sigma))
                grads["tau_side"] += area * d_tau * p["central_ratio"]
                grads["central_ratio"] += area * d_tau * tau_side
            else:
                centre = offset + k * period
                value, d_c, d_tau, d_sigma = peak_bins_derivs(hist.edges, centre, tau_side, jitter)
                value, d_c, d_tau, d_sigma = (ratio * v for v in (value, d_c, d_tau, d_sigma))
                factor = tail if outer else 1.0
                grads["period"] += area * (k * d_c * factor + (value * tail_period if outer else 0))
                grads["tau_side"] += area * (d_tau * factor + (value * tail_tau if outer else 0))
                value, d_c, d_sigma = value * factor, d_c * factor, d_sigma * factor
            grads["offset"] += area * d_c
            grads["jitter"] += area * d_sigma
            columns[owner] += value
            total += area * value
        derivs = {name: shape * g for name, g in grads.items()}
        derivs.update({name: shape * c for name, c in columns.items()})
        derivs["background"] = shape
        return shape * (p["background"] + total), derivs

    return jacobian
