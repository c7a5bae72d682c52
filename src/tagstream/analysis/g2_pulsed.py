"""g2(0) under pulsed excitation: the zero-delay peak area over the mean area of the two
adjacent peaks.

Far peaks are not used because blinking bunches them up. The zero-delay peak is taken among the
peaks within one period of ``tau = 0`` (:func:`zero_delay_peak`): the one nearest zero unless
another is significantly smaller — an antibunched emitter's missing peak, displaced by a cable
delay between the detectors. A comb offset by more than a quarter period from zero always comes
with a warning. Areas include any flat background (dark counts), so the value is the raw g2(0)
of the detected light, the same quantity for both methods (one-period windows, or a fit of a
comb of peaks when the peaks overlap).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from ..errors import AnalysisError, FitError
from .fit_progress import announce
from .g2_histogram import (
    COMB_MIN_SIGMA,
    UNINFORMATIVE_ERROR,
    G2Histogram,
    as_histogram,
    comb_significance,
    phase_offset,
    positive_ps,
    require_windows,
    window_sum,
)
from .g2_period import find_period
from .peak_shapes import peak_bins_derivs
from .poisson_fit import PoissonFit, fit_poisson
from .shapes import laplace_gauss_bins

#: "auto" uses windows only when less than this fraction of a peak's area leaks out of its window.
WINDOW_LEAKAGE_MAX = 1e-3
#: ... and when the bias that leakage causes is below this fraction of the statistical error.
WINDOW_BIAS_MAX_SIGMA = 0.1
#: Range of the zero-delay peak's decay time over the side peaks' in the pulsed fit: a slower
#: zero-delay peak would be indistinguishable from the flat background when peaks overlap.
CENTRAL_DECAY_RATIO = (0.05, 1.5)
#: A peak other than the one nearest zero is the zero-delay peak only when it is smaller than
#: the nearest by this many standard deviations.
ZERO_PEAK_MIN_SIGMA = 5.0
#: A comb whose zero-delay peak lies this fraction of a period from zero, or further, is warned
#: about.
OFFSET_WARNING_PERIODS = 0.25
#: An uninformative g2(0) is blamed on overlapping peaks when this fraction of a peak leaks out
#: of its period.
OVERLAP_LEAKAGE = 0.05

Method = Literal["auto", "window", "fit"]


@dataclass(frozen=True)
class PulsedG2:
    """g2(0) of a pulsed g2 histogram.

    Attributes
    ----------
    value, error
        g2(0) and its one-sigma uncertainty.
    method
        ``"window"`` or ``"fit"``: how the areas were obtained.
    period_ps, offset_ps
        Repetition period (refined by the fit when it was found from the data) and position of
        the zero-delay peak, ps.
    areas
        Coincidences per period around delays ``k * period + offset`` for ``k = -1, 0, +1``
        (flat background included; leak-free for the fit).
    adjacent_norm
        Mean adjacent area over the uncorrelated expectation in one period (1 without
        blinking, above 1 with it); ``None`` without ``expected``.
    leakage
        Fraction of an adjacent peak's area outside its one-period window (from the decay time
        used to choose the method); ``None`` if no decay time was known.
    peak_decay_ps, central_decay_ps, jitter_ps
        Fitted decay constant of the side peaks and of the zero-delay peak, and the Gaussian
        jitter (standard deviation of the delay), ps; ``None`` if not fitted (set for windows
        chosen by ``"auto"`` after fitting).
    background
        Fitted flat background, counts per bin; ``None`` without the fit.
    deviance, dof, model
        Poisson deviance, degrees of freedom and expected counts per bin of the fit; ``None``
        without the fit.
    warnings
        What may make the value wrong or uninformative (a displaced zero-delay peak, g2(0) above
        one, an uncertainty too large to tell one emitter from two).
    """

    value: float
    error: float
    method: str
    period_ps: float
    offset_ps: float
    areas: dict[int, float]
    adjacent_norm: float | None = None
    leakage: float | None = None
    peak_decay_ps: float | None = None
    central_decay_ps: float | None = None
    jitter_ps: float | None = None
    background: float | None = None
    deviance: float | None = None
    dof: int | None = None
    model: np.ndarray | None = field(default=None, repr=False, compare=False)
    warnings: tuple[str, ...] = ()

    @property
    def purity(self) -> float:
        """Single-photon purity, ``1 - g2(0)``."""
        return 1.0 - self.value

    def to_dict(self) -> dict[str, object]:
        """The ``g2`` block of the summary JSON (without ``pair`` and ``note``)."""
        return {
            "excitation": "pulsed",
            "period_ns": self.period_ps / 1e3,
            "g2_zero": float(self.value),
            "g2_zero_err": float(self.error),
            "rate_per_ns": None,
            "method": self.method,
            "zero_delay_ns": self.offset_ps / 1e3,
            "jitter_ps": self.jitter_ps if self.method == "fit" else None,
        }


def pulsed_g2_zero(
    edges_ps: np.ndarray,
    counts: np.ndarray,
    expected: np.ndarray | None = None,
    period_ps: float | None = None,
    method: Method = "auto",
    lifetime_ps: float | None = None,
    free_central_decay: bool = False,
    search_zero_peak: bool = True,
) -> PulsedG2:
    """g2(0) of a pulsed g2 histogram: zero-delay peak area over the mean adjacent peak area.

    Parameters
    ----------
    edges_ps, counts
        The histogram: uniform bin edges (ps) and coincidences per bin.
    expected
        Uncorrelated coincidences per bin; optional. Normalises the window areas (it matters
        only where it is not flat, e.g. after gaps) and shapes the fit model the same way.
    period_ps
        Repetition period, ps; found with :func:`find_period` when ``None``.
    method
        ``"window"``: sums over one-period windows centred on ``offset + k * period``
        (``offset``, the residual delay between the detectors, is the circular mean of the
        counts; bins split at a window limit count by the covered fraction), each divided by
        ``expected`` summed over the same window when given; Poisson error
        ``g^2 (1/A0 + 1/(A-1 + A+1))`` for equal expectations (a zero ``A0`` counts as one).
        ``"fit"``: Poisson maximum-likelihood fit of a comb of two-sided exponentials convolved
        with a Gaussian jitter, a free area per peak and a flat background; error from the fit
        covariance.
        ``"auto"``: windows when less than :data:`WINDOW_LEAKAGE_MAX` of a peak's area falls
        outside its window *and* the bias this causes is below
        :data:`WINDOW_BIAS_MAX_SIGMA` times the window error; otherwise the fit.
    lifetime_ps
        Decay time of the peaks (the emitter lifetime), ps, if known: "auto" then decides
        without fitting, and the fit starts from it.
    search_zero_peak
        Look for a displaced zero-delay peak among the peaks within one period of zero
        (:func:`zero_delay_peak`); ``False`` takes the peak nearest zero (the detectors' delays
        are compensated).
    free_central_decay
        Fit the zero-delay peak's decay separately. By default it is tied to the side peaks':
        the coincidences of a biexciton cascade (BX photon, then the exciton's) spread like the
        side peaks' when the biexciton decays much faster than the exciton, and a free width
        trades off against the background when that peak is small.

    Raises
    ------
    AnalysisError
        Invalid histogram, no period found, or the windows at -1, 0, +1 periods not inside it.
    FitError
        The fit fails.
    """
    if method not in ("auto", "window", "fit"):
        raise AnalysisError(f"method must be 'auto', 'window' or 'fit', got {method!r}")
    hist = as_histogram(edges_ps, counts, expected)
    period = (
        find_period(edges_ps, counts) if period_ps is None else positive_ps(period_ps, "period")
    )
    if period < 4 * hist.width:
        raise AnalysisError(f"the period ({period:.0f} ps) is shorter than four bins")
    offset = phase_offset(hist, period)
    if search_zero_peak:
        offset = zero_delay_peak(hist, period, offset)
    require_windows(hist, period, offset)
    tau = None if lifetime_ps is None else positive_ps(lifetime_ps, "lifetime")
    free_period = period_ps is None
    if method == "window":
        result = _window_g2(hist, period, offset, tau)
    elif method == "fit":
        result = _fit_g2(hist, period, offset, tau, free_period, free_central_decay)
    else:
        result = _auto_g2(hist, period, offset, tau, free_period, free_central_decay)
    return replace(result, warnings=_warnings(result, comb_significance(hist, period)))


def zero_delay_peak(hist: G2Histogram, period: float, offset: float) -> float:
    """Centre (ps) of the zero-delay peak among the comb's peaks within one period of zero.

    ``offset`` is the comb's position within half a period of zero. Of the peaks at
    ``offset + k * period`` that lie within one period of zero (a quarter period of slack, and
    their neighbours' windows inside the histogram), the one nearest zero is taken unless
    another is a dip, significantly below both of its neighbours (:func:`_is_dip`): an
    antibunched emitter's missing peak, displaced by a delay between the detectors. A bunched
    source (g2(0) > 1) has no such dip, and keeps the peak nearest zero.
    """
    lo, hi = hist.span
    tol = 1e-6 * period
    candidates = [
        c
        for c in (offset - period, offset, offset + period)
        if abs(c) <= 1.25 * period and c - 1.5 * period >= lo - tol and c + 1.5 * period <= hi + tol
    ]
    nearest = min(candidates, key=abs) if candidates else offset
    dips = [c for c in candidates if c != nearest and _is_dip(hist, period, c)]
    return min(dips, key=lambda c: _area(hist, period, c)) if dips else nearest


def _area(hist: G2Histogram, period: float, centre: float) -> float:
    return window_sum(hist, hist.counts, centre - period / 2, centre + period / 2)


def _is_dip(hist: G2Histogram, period: float, centre: float) -> bool:
    """Whether the peak at ``centre`` holds :data:`ZERO_PEAK_MIN_SIGMA` standard deviations
    fewer coincidences than each of its two neighbours (the missing peak of an antibunched
    emitter; a bunched zero-delay peak makes its neighbours no dips)."""
    area = _area(hist, period, centre)
    for side in (centre - period, centre + period):
        other = _area(hist, period, side)
        if not other - area > ZERO_PEAK_MIN_SIGMA * np.sqrt(other + area):
            return False
    return True


def _warnings(result: PulsedG2, comb_sigma: float) -> tuple[str, ...]:
    """What may make a pulsed g2(0) wrong or uninformative (``comb_sigma``: how far the peak
    comb stands out of the noise, see :func:`comb_significance`)."""
    out = []
    period, offset = result.period_ps, result.offset_ps
    if comb_sigma < COMB_MIN_SIGMA:
        out.append(
            f"the peaks at the {period / 1e3:.4g} ns period do not stand out of the noise "
            f"({comb_sigma:.1f} sigma): the comb cannot be located, zero delay is assumed"
        )
    if abs(offset) >= OFFSET_WARNING_PERIODS * period * (1 - 1e-6):
        out.append(
            f"the zero-delay peak sits at {offset / 1e3:+.3g} ns, not at 0 (period "
            f"{period / 1e3:.4g} ns): a delay between the detectors? Set it with "
            "[analysis] delays (or --delay) so that the right peak is taken"
        )
    if result.value > 1.0:
        out.append(
            f"g2(0) = {result.value:.3g} is above 1 (negative purity): the light at zero delay "
            "is bunched — not a single emitter, or the zero-delay peak is not the one taken"
        )
    if not result.error <= UNINFORMATIVE_ERROR:
        side = 0.5 * (result.areas[-1] + result.areas[1])
        why = f"; {side:.0f} coincidences per adjacent peak"
        if result.leakage is not None and result.leakage > OVERLAP_LEAKAGE:
            decay = f"decay {result.peak_decay_ps / 1e3:.3g} ns, " if result.peak_decay_ps else ""
            why += (
                f"; the peaks overlap ({decay}period {period / 1e3:.4g} ns: "
                f"{100 * result.leakage:.0f} % of a peak lies outside its period)"
            )
        out.append(
            f"g2(0) = {result.value:.2g} ± {result.error:.2g} carries no information: the "
            f"uncertainty cannot tell one emitter (g2(0) < 0.5) from two{why}"
        )
    return tuple(out)


def _auto_g2(
    hist: G2Histogram,
    period: float,
    offset: float,
    tau: float | None,
    free_period: bool,
    free_central: bool,
) -> PulsedG2:
    window = _window_g2(hist, period, offset, tau)
    if tau is not None and _window_is_safe(window, period, tau, tau, 0.0):
        return window
    fitted = _fit_g2(hist, period, offset, tau, free_period, free_central)
    side, centre = fitted.peak_decay_ps or 0.0, fitted.central_decay_ps or 0.0
    if not _window_is_safe(window, period, side, centre, fitted.jitter_ps or 0.0):
        return fitted
    return replace(
        window,
        leakage=fitted.leakage,
        peak_decay_ps=fitted.peak_decay_ps,
        central_decay_ps=fitted.central_decay_ps,
        jitter_ps=fitted.jitter_ps,
    )


def peak_leakage(period_ps: float, decay_ps: float, jitter_ps: float = 0.0) -> float:
    """Fraction of a pulsed g2 peak (two-sided exponential of decay ``decay_ps`` convolved with a
    Gaussian of width ``jitter_ps``) outside its one-period window; ``exp(-T / (2 tau))``
    without jitter."""
    rate = 1.0 / decay_ps
    half = 0.5 * period_ps
    inside = 0.5 * rate * period_ps * laplace_gauss_bins(np.array([-half, half]), rate, jitter_ps)
    return float(np.clip(1.0 - inside[0], 0.0, 1.0))


def _window_is_safe(
    window: PulsedG2, period: float, side: float, centre: float, jitter: float
) -> bool:
    """Whether window sums are unbiased enough: see :func:`pulsed_g2_zero`, method "auto"."""
    leak_side = peak_leakage(period, side, jitter) if side > 0 else 1.0
    leak_centre = peak_leakage(period, centre, jitter) if centre > 0 else 1.0
    bias = leak_side * abs(1.0 - window.value) + leak_centre * window.value
    return leak_side < WINDOW_LEAKAGE_MAX and bias < WINDOW_BIAS_MAX_SIGMA * window.error


def _window_g2(hist: G2Histogram, period: float, offset: float, tau: float | None) -> PulsedG2:
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


def _adjacent_norm(hist: G2Histogram, period: float, offset: float, mean_side: float):
    """Mean adjacent area over the uncorrelated expectation in the same windows."""
    if hist.expected is None:
        return None
    flat = 0.0
    for k in (-1, 1):
        c = offset + k * period
        flat += 0.5 * window_sum(hist, hist.expected, c - 0.5 * period, c + 0.5 * period)
    return float(mean_side / flat)


@dataclass(frozen=True)
class _Comb:
    """Peaks of the pulsed model: explicit peaks ``ks``, the area parameter each one uses, and
    which explicit peaks stand for all the peaks beyond them (geometric tail)."""

    ks: np.ndarray
    area_names: tuple[str, ...]
    outermost: np.ndarray


def _area_name(k: int) -> str:
    return f"area_{k}"


def _comb(hist: G2Histogram, period: float, offset: float) -> _Comb:
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
    return _Comb(ks, tuple(_area_name(int(k)) for k in owners), outermost)


class _CombShapes:
    """Unit-area peak profiles per bin (columns = explicit peaks), cached on the shape parameters
    so that changing only the areas costs a matrix product, and changing only the zero-delay
    decay recomputes one column."""

    def __init__(self, hist: G2Histogram, comb: _Comb) -> None:
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


def _pulsed_model(hist: G2Histogram, comb: _Comb) -> Callable[..., np.ndarray]:
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


def _pulsed_jacobian(hist: G2Histogram, comb: _Comb) -> Callable[..., tuple[np.ndarray, dict]]:
    """The model of :func:`_pulsed_model` with its derivatives by every parameter."""
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


def _fit_g2(
    hist: G2Histogram,
    period: float,
    offset: float,
    tau: float | None,
    free_period: bool,
    free_central: bool = False,
) -> PulsedG2:
    comb = _comb(hist, period, offset)
    profile = _fold(hist, period, offset)
    tau0 = tau if tau is not None else _decay_guess(profile, period)
    background0 = 0.5 * float(profile.min())
    p0, bounds, scales = _pulsed_start(hist, period, offset, comb, tau0, background0)
    fixed = () if free_period else ("period",)
    if not free_central:
        fixed += ("central_ratio",)
    announce("fitting g2 peaks")
    fit = fit_poisson(
        _pulsed_model(hist, comb),
        hist.counts,
        p0,
        bounds,
        fixed,
        scales,
        jacobian=_pulsed_jacobian(hist, comb),
    )
    return _pulsed_result(hist, fit)


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
    side = max(p0[_area_name(-1)], p0[_area_name(1)])
    scales = {name: side for name in p0 if name.startswith("area_")}
    scales.update(
        background=max(p0["background"], 1.0), period=b, offset=b, central_ratio=1.0, jitter=b
    )
    return p0, bounds, scales


def _pulsed_result(hist: G2Histogram, fit: PoissonFit) -> PulsedG2:
    period = fit["period"]
    per_window = fit["background"] * period / hist.width
    names = [_area_name(-1), _area_name(0), _area_name(1)]
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
