"""g2(0) from pulsed and CW g2 histograms.

A g2 histogram is given by ``edges_ps`` (uniform bins of width ``b`` covering the delay range,
delay ``tau = t_B - t_A`` in ps), ``counts`` (coincidences per bin) and, optionally, ``expected``
(coincidences per bin expected for uncorrelated light, ``N_A * N_B * b / T``), so that
``counts / expected`` is the normalised g2.

Pulsed excitation: g2(0) is the area of the zero-delay peak over the mean area of the two
adjacent peaks (one period away); far peaks are not used because blinking bunches them up. The
zero-delay peak is the one nearest ``tau = 0``, so the delay between the detectors must be
compensated to within half a period. Areas include any flat background (dark counts), so the
value is the raw g2(0) of the detected light, the same quantity for both methods.

CW excitation:
``g2(tau) = A [1 - (1 + a - g0) exp(-k |tau - tau0|) + a exp(-|tau - tau0| / tau_b)]``, optionally
convolved with a Gaussian timing jitter, fitted by Poisson maximum likelihood.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from ..errors import AnalysisError, FitError
from .poisson_fit import PoissonFit, fit_poisson
from .shapes import laplace_gauss_bins

#: "auto" uses windows only when less than this fraction of a peak's area leaks out of its window.
WINDOW_LEAKAGE_MAX = 1e-3
#: ... and when the bias that leakage causes is below this fraction of the statistical error.
WINDOW_BIAS_MAX_SIGMA = 0.1
#: Significance (in standard deviations) of the peak contrast required to call a histogram pulsed.
PEAK_CONTRAST_MIN_SIGMA = 5.0
#: Range of the zero-delay peak's decay time over the side peaks' in the pulsed fit: a slower
#: zero-delay peak would be indistinguishable from the flat background when peaks overlap.
CENTRAL_DECAY_RATIO = (0.05, 1.5)

Method = Literal["auto", "window", "fit"]


@dataclass(frozen=True)
class _Histogram:
    """A validated g2 histogram: float edges (ps), counts and optional expected counts."""

    edges: np.ndarray
    counts: np.ndarray
    expected: np.ndarray | None

    @property
    def width(self) -> float:
        return float(self.edges[1] - self.edges[0])

    @property
    def centres(self) -> np.ndarray:
        return 0.5 * (self.edges[:-1] + self.edges[1:])

    @property
    def span(self) -> tuple[float, float]:
        return float(self.edges[0]), float(self.edges[-1])


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

    @property
    def purity(self) -> float:
        """Single-photon purity, ``1 - g2(0)``."""
        return 1.0 - self.value

    def to_dict(self) -> dict[str, object]:
        """The ``g2`` block of the summary JSON (without ``pair``)."""
        return {
            "excitation": "pulsed",
            "period_ns": self.period_ps / 1e3,
            "g2_zero": float(self.value),
            "g2_zero_err": float(self.error),
            "rate_per_ns": None,
        }


@dataclass(frozen=True)
class CWG2Fit:
    """Fit of a CW g2 histogram (see :func:`fit_cw`).

    Attributes
    ----------
    g2_zero, g2_zero_err
        g0, the depth the antibunching dip would reach without timing jitter, and its error.
    rate_per_ps, rate_err_per_ps
        Effective antibunching rate ``k`` (radiative plus pump rate), 1/ps.
    offset_ps, offset_err_ps
        Position ``tau0`` of the dip, ps.
    scale, scale_err
        Normalisation ``A`` (g2 at long delays without bunching).
    bunching_amplitude, bunching_amplitude_err, bunching_time_ps, bunching_time_err_ps
        ``a`` and ``tau_b`` (ps); ``None`` when fitted without bunching.
    jitter_ps, jitter_err_ps
        Gaussian jitter of the delay (standard deviation), ps; ``None`` without convolution,
        error 0 when the jitter was fixed.
    deviance, dof, model
        Poisson deviance, degrees of freedom and fitted counts per bin.
    """

    g2_zero: float
    g2_zero_err: float
    rate_per_ps: float
    rate_err_per_ps: float
    offset_ps: float
    offset_err_ps: float
    scale: float
    scale_err: float
    bunching_amplitude: float | None
    bunching_amplitude_err: float | None
    bunching_time_ps: float | None
    bunching_time_err_ps: float | None
    jitter_ps: float | None
    jitter_err_ps: float | None
    deviance: float
    dof: int
    model: np.ndarray = field(repr=False, compare=False)

    @property
    def rate_per_ns(self) -> float:
        """Effective antibunching rate, 1/ns."""
        return self.rate_per_ps * 1e3

    @property
    def rate_err_per_ns(self) -> float:
        return self.rate_err_per_ps * 1e3

    @property
    def reduced_deviance(self) -> float:
        return self.deviance / self.dof if self.dof > 0 else float("nan")

    @property
    def purity(self) -> float:
        """Single-photon purity, ``1 - g2(0)``."""
        return 1.0 - self.g2_zero

    def to_dict(self) -> dict[str, object]:
        """The ``g2`` block of the summary JSON (without ``pair``)."""
        return {
            "excitation": "cw",
            "period_ns": None,
            "g2_zero": float(self.g2_zero),
            "g2_zero_err": float(self.g2_zero_err),
            "rate_per_ns": float(self.rate_per_ns),
        }


# --------------------------------------------------------------------------- input checks


def _histogram(edges_ps, counts, expected=None, need_expected: bool = False) -> _Histogram:
    """Validate a g2 histogram; raise :class:`AnalysisError` on anything unusable."""
    edges = np.asarray(edges_ps, dtype=float)
    n = np.asarray(counts, dtype=float)
    if edges.ndim != 1 or n.ndim != 1:
        raise AnalysisError("edges and counts must be one-dimensional")
    if n.size == 0 or edges.size < 2:
        raise AnalysisError("the g2 histogram is empty")
    if edges.size != n.size + 1:
        raise AnalysisError(f"{edges.size} edges do not bound {n.size} bins (need bins + 1)")
    if not (np.all(np.isfinite(edges)) and np.all(np.isfinite(n))):
        raise AnalysisError("edges and counts must be finite")
    widths = np.diff(edges)
    if np.any(widths <= 0) or not np.allclose(widths, widths[0], rtol=1e-9, atol=0.0):
        raise AnalysisError("bin edges must be increasing and uniformly spaced")
    if np.any(n < 0):
        raise AnalysisError("counts must be non-negative")
    if n.sum() <= 0:
        raise AnalysisError("the g2 histogram holds no coincidences")
    exp = _expected(expected, n.size, need_expected)
    return _Histogram(edges, n, exp)


def _expected(expected, size: int, required: bool) -> np.ndarray | None:
    if expected is None:
        if required:
            raise AnalysisError("expected counts are required")
        return None
    exp = np.asarray(expected, dtype=float)
    if exp.shape != (size,):
        raise AnalysisError(f"expected has shape {exp.shape}, counts has ({size},)")
    if not np.all(np.isfinite(exp)) or np.any(exp <= 0):
        raise AnalysisError("expected counts must be finite and positive")
    return exp


def _positive(value: float, name: str) -> float:
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise AnalysisError(f"{name} must be a positive number of ps, got {value}")
    return value


# --------------------------------------------------------------------------- pulsed: geometry


def _covered(hist: _Histogram, lo: float, hi: float) -> np.ndarray:
    """Fraction of each bin inside ``[lo, hi)``."""
    left = np.clip(hist.edges[:-1], lo, hi)
    right = np.clip(hist.edges[1:], lo, hi)
    return (right - left) / hist.width


def _window_sum(hist: _Histogram, values: np.ndarray, lo: float, hi: float) -> float:
    """Sum of ``values`` over ``[lo, hi)``, bins split at the limits counted by covered fraction."""
    return float(_covered(hist, lo, hi) @ values)


def _phase_offset(hist: _Histogram, period: float) -> float:
    """Position (ps, within half a period of 0) of a peak comb, from the circular mean of the
    counts over the largest whole number of periods centred in the histogram."""
    lo, hi = hist.span
    n_periods = np.floor((hi - lo) / period)
    if n_periods < 1:
        raise AnalysisError(f"the histogram ({hi - lo:.0f} ps) is shorter than one period")
    mid = 0.5 * (lo + hi)
    weights = _covered(hist, mid - 0.5 * n_periods * period, mid + 0.5 * n_periods * period)
    phasor = np.sum(weights * hist.counts * np.exp(2j * np.pi * hist.centres / period))
    if abs(phasor) == 0:
        return 0.0
    return float(np.angle(phasor) * period / (2 * np.pi))


def _inside(hist: _Histogram, lo: float, hi: float) -> bool:
    """Whether ``[lo, hi)`` lies inside the histogram (to a millionth of a bin)."""
    tol = 1e-6 * hist.width
    first, last = hist.span
    return lo >= first - tol and hi <= last + tol


def _require_windows(hist: _Histogram, period: float, offset: float) -> None:
    lo, hi = offset - 1.5 * period, offset + 1.5 * period
    if not _inside(hist, lo, hi):
        first, last = hist.span
        raise AnalysisError(
            f"the windows of the peaks at -1, 0, +1 periods ({lo:.0f} to {hi:.0f} ps) do not fit "
            f"in the histogram ({first:.0f} to {last:.0f} ps); widen it to at least 1.5 periods "
            "each side"
        )


# --------------------------------------------------------------------------- find_period


def find_period(edges_ps: np.ndarray, counts: np.ndarray) -> float:
    """Repetition period (ps) of a pulsed g2 histogram, from its peak spacing.

    The first strong maximum of the histogram's autocorrelation gives a first estimate; a
    weighted straight line through the peak positions (iterated centroids) against their index
    refines it. The peaks must stand out significantly from the counts between them.

    Raises
    ------
    AnalysisError
        When the histogram is invalid, spans fewer than three periods, or holds no periodic peaks
        (CW data, noise).
    """
    hist = _histogram(edges_ps, counts)
    period = _autocorrelation_period(hist)
    for _ in range(2):
        period, offset = _refine_period(hist, period)
    _require_contrast(hist, period, offset)
    return period


def _autocorrelation_period(hist: _Histogram) -> float:
    """Lag (ps) of the first strong maximum of the histogram's autocorrelation.

    A maximum is the largest value between half and one and a half times its lag; its prominence
    is its height above the lowest value from half its lag up to it. The first maximum with at
    least half the largest prominence wins, which skips noise riding on the slope near zero lag
    and the multiples of the period. Lags run from four bins to a third of the histogram."""
    n = hist.counts.size
    max_lag = n // 3
    if max_lag < 6:
        raise AnalysisError(f"{n} bins are too few to find a period")
    x = hist.counts - hist.counts.mean()
    spectrum = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(np.abs(spectrum) ** 2, 2 * n)[: max_lag + 1] / (n - np.arange(max_lag + 1))
    maxima, prominence = [], []
    for i in range(4, max_lag):
        if acf[i] == acf[i // 2 : min(3 * i // 2, max_lag) + 1].max():
            maxima.append(i)
            prominence.append(acf[i] - acf[i // 2 : i].min())
    if not maxima or max(prominence) <= 0:
        raise AnalysisError("no periodic peaks found in the g2 histogram")
    strong = np.flatnonzero(np.array(prominence) >= 0.5 * max(prominence))
    return _parabola_peak(acf, maxima[int(strong[0])]) * hist.width


def _parabola_peak(values: np.ndarray, i: int) -> float:
    """Position (in samples) of a maximum refined by a parabola through three samples."""
    left, mid, right = values[i - 1 : i + 2]
    curvature = left - 2 * mid + right
    shift = 0.5 * (left - right) / curvature if curvature < 0 else 0.0
    return i + float(np.clip(shift, -0.5, 0.5))


def _refine_period(hist: _Histogram, guess: float) -> tuple[float, float]:
    """Period and offset (ps) from a weighted straight line through the peak centroids.

    The peaks next to zero delay are left out when at least two others are available: the
    nearly empty zero-delay peak beside them makes their windows lopsided."""
    offset = _phase_offset(hist, guess)
    ks, positions, weights = [], [], []
    for k in _whole_windows(hist, guess, offset):
        position, weight = _centroid(hist, offset + k * guess, 0.25 * guess)
        if weight > 0:
            ks.append(k)
            positions.append(position)
            weights.append(weight)
    ks_arr = np.array(ks)
    use = np.abs(ks_arr) != 1
    if np.count_nonzero(np.abs(ks_arr) >= 2) < 2:
        use[:] = True
    if np.unique(ks_arr[use]).size < 2:
        raise AnalysisError("fewer than two peaks found in the g2 histogram")
    slope, intercept = np.polyfit(
        ks_arr[use], np.array(positions)[use], 1, w=np.sqrt(np.array(weights)[use])
    )
    return float(slope), float(intercept)


def _whole_windows(hist: _Histogram, period: float, offset: float) -> list[int]:
    """Indices of the peaks whose full one-period window lies inside the histogram."""
    lo, hi = hist.span
    k_lo = int(np.ceil((lo - offset) / period + 0.5))
    k_hi = int(np.floor((hi - offset) / period - 0.5))
    return list(range(k_lo, k_hi + 1))


def _centroid(hist: _Histogram, start: float, half: float, steps: int = 30) -> tuple[float, float]:
    """Centre of the counts in a window of half-width ``half`` (ps), re-centred until it settles;
    returns the position and the counts in the final window."""
    centre, total = start, 0.0
    x = hist.centres
    for _ in range(steps):
        weights = _covered(hist, centre - half, centre + half) * hist.counts
        total = float(weights.sum())
        if total <= 0:
            return centre, 0.0
        new = float(weights @ x / total)
        new = float(np.clip(new, start - half, start + half))
        if abs(new - centre) < 1e-3 * hist.width:
            return new, total
        centre = new
    return centre, total


def _require_contrast(hist: _Histogram, period: float, offset: float) -> None:
    """Raise unless the side peaks stand out: counts within a quarter period of each peak centre
    against counts in the outer half of its window."""
    z_sides = []
    inner_all = outer_all = 0.0
    for side in (-1, 1):
        inner = outer = 0.0
        for k in _whole_windows(hist, period, offset):
            if np.sign(k) != side:
                continue
            c = offset + k * period
            core = _window_sum(hist, hist.counts, c - 0.25 * period, c + 0.25 * period)
            inner += core
            outer += _window_sum(hist, hist.counts, c - 0.5 * period, c + 0.5 * period) - core
        z_sides.append(_contrast(inner, outer))
        inner_all += inner
        outer_all += outer
    if _contrast(inner_all, outer_all) < PEAK_CONTRAST_MIN_SIGMA or min(z_sides) < 2.0:
        raise AnalysisError("no periodic peaks found in the g2 histogram (CW data?)")


def _contrast(inner: float, outer: float) -> float:
    total = inner + outer
    return (inner - outer) / np.sqrt(total) if total > 0 else 0.0


# --------------------------------------------------------------------------- pulsed g2(0)


def pulsed_g2_zero(
    edges_ps: np.ndarray,
    counts: np.ndarray,
    expected: np.ndarray | None = None,
    period_ps: float | None = None,
    method: Method = "auto",
    lifetime_ps: float | None = None,
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
        with a Gaussian jitter, a free area per peak, a separate decay for the zero-delay peak
        and a flat background; error from the fit covariance.
        ``"auto"``: windows when less than :data:`WINDOW_LEAKAGE_MAX` of a peak's area falls
        outside its window *and* the bias this causes is below
        :data:`WINDOW_BIAS_MAX_SIGMA` times the window error; otherwise the fit.
    lifetime_ps
        Decay time of the peaks (the emitter lifetime), ps, if known: "auto" then decides
        without fitting, and the fit starts from it.

    Raises
    ------
    AnalysisError
        Invalid histogram, no period found, or the windows at -1, 0, +1 periods not inside it.
    FitError
        The fit fails.
    """
    if method not in ("auto", "window", "fit"):
        raise AnalysisError(f"method must be 'auto', 'window' or 'fit', got {method!r}")
    hist = _histogram(edges_ps, counts, expected)
    period = find_period(edges_ps, counts) if period_ps is None else _positive(period_ps, "period")
    if period < 4 * hist.width:
        raise AnalysisError(f"the period ({period:.0f} ps) is shorter than four bins")
    offset = _phase_offset(hist, period)
    _require_windows(hist, period, offset)
    tau = None if lifetime_ps is None else _positive(lifetime_ps, "lifetime")
    free_period = period_ps is None
    if method == "window":
        return _window_g2(hist, period, offset, tau)
    if method == "fit":
        return _fit_g2(hist, period, offset, tau, free_period)
    return _auto_g2(hist, period, offset, tau, free_period)


def _auto_g2(
    hist: _Histogram, period: float, offset: float, tau: float | None, free_period: bool
) -> PulsedG2:
    window = _window_g2(hist, period, offset, tau)
    if tau is not None and _window_is_safe(window, period, tau, tau, 0.0):
        return window
    fitted = _fit_g2(hist, period, offset, tau, free_period)
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


def _window_g2(hist: _Histogram, period: float, offset: float, tau: float | None) -> PulsedG2:
    """g2(0) from one-period windows; each area is divided by the uncorrelated expectation in
    its window when ``expected`` is given (which changes nothing when it is flat)."""
    areas, flat = {}, {}
    weights = np.ones(hist.counts.size) if hist.expected is None else hist.expected
    for k in (-1, 0, 1):
        c = offset + k * period
        areas[k] = _window_sum(hist, hist.counts, c - 0.5 * period, c + 0.5 * period)
        flat[k] = _window_sum(hist, weights, c - 0.5 * period, c + 0.5 * period)
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


def _adjacent_norm(hist: _Histogram, period: float, offset: float, mean_side: float):
    """Mean adjacent area over the uncorrelated expectation in the same windows."""
    if hist.expected is None:
        return None
    flat = 0.0
    for k in (-1, 1):
        c = offset + k * period
        flat += 0.5 * _window_sum(hist, hist.expected, c - 0.5 * period, c + 0.5 * period)
    return float(mean_side / flat)


# --------------------------------------------------------------------------- pulsed fit


@dataclass(frozen=True)
class _Comb:
    """Peaks of the pulsed model: explicit peaks ``ks``, the area parameter each one uses, and
    which explicit peaks stand for all the peaks beyond them (geometric tail)."""

    ks: np.ndarray
    area_names: tuple[str, ...]
    outermost: np.ndarray


def _area_name(k: int) -> str:
    return f"area_{k}"


def _comb(hist: _Histogram, period: float, offset: float) -> _Comb:
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

    def __init__(self, hist: _Histogram, comb: _Comb) -> None:
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


def _pulsed_model(hist: _Histogram, comb: _Comb) -> Callable[..., np.ndarray]:
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


def _fold(hist: _Histogram, period: float, offset: float) -> np.ndarray:
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
    hist: _Histogram, period: float, offset: float, tau: float | None, free_period: bool
) -> PulsedG2:
    comb = _comb(hist, period, offset)
    profile = _fold(hist, period, offset)
    tau0 = tau if tau is not None else _decay_guess(profile, period)
    background0 = 0.5 * float(profile.min())
    p0, bounds, scales = _pulsed_start(hist, period, offset, comb, tau0, background0)
    fixed = () if free_period else ("period",)
    fit = fit_poisson(_pulsed_model(hist, comb), hist.counts, p0, bounds, fixed, scales)
    return _pulsed_result(hist, fit)


def _pulsed_start(hist, period, offset, comb, tau0, background0):
    """Starting values, bounds and scales of the pulsed fit."""
    per_window = background0 * period / hist.width
    p0: dict[str, float] = {}
    for name in dict.fromkeys(comb.area_names):
        k = int(name.split("_")[1])
        c = offset + k * period
        lo, hi = max(c - period / 2, hist.span[0]), min(c + period / 2, hist.span[1])
        seen = _window_sum(hist, hist.counts, lo, hi) * period / max(hi - lo, hist.width)
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


def _pulsed_result(hist: _Histogram, fit: PoissonFit) -> PulsedG2:
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
    variance = float(g @ fit.covariance @ g)
    if not np.isfinite(variance) or variance < 0:
        raise FitError("the fit covariance gives no usable uncertainty")
    return float(np.sqrt(variance))


# --------------------------------------------------------------------------- CW fit


def fit_cw(
    edges_ps: np.ndarray,
    counts: np.ndarray,
    expected: np.ndarray,
    jitter_ps: float | Literal["fit"] | None = None,
    bunching: bool = False,
) -> CWG2Fit:
    """Fit a CW g2 histogram by Poisson maximum likelihood.

    The model is ``mu = expected * g2(tau)`` with
    ``g2 = A [1 - (1 + a - g0) exp(-k |tau - tau0|) + a exp(-|tau - tau0| / tau_b)]``
    averaged over each bin (``a = 0`` without bunching), optionally convolved with a Gaussian.
    ``k`` is an *effective* rate: the radiative rate plus the pump (excitation) rate, so it
    grows with the excitation power; it is not the inverse lifetime.

    Parameters
    ----------
    edges_ps, counts, expected
        The histogram: uniform bin edges (ps), coincidences and uncorrelated coincidences per bin.
    jitter_ps
        ``None``: no convolution; a number: fixed Gaussian jitter of the delay (standard
        deviation, ps: both detectors together); ``"fit"``: the jitter is a free parameter.
    bunching
        Add the bunching term (blinking) with free ``a`` and ``tau_b``.

    Raises
    ------
    AnalysisError
        Invalid histogram or jitter setting.
    FitError
        Too few bins or a fit without usable uncertainties.
    """
    hist = _histogram(edges_ps, counts, expected, need_expected=True)
    p0, bounds, scales = _cw_start(hist, bunching)
    fixed = _cw_jitter(jitter_ps, p0, hist)
    if not bunching:
        fixed += ["bunching", "tau_b"]
    fit = fit_poisson(_cw_model(hist), hist.counts, p0, bounds, fixed=fixed, scales=scales)
    return _cw_result(fit, jitter_ps, bunching)


def _cw_model(hist: _Histogram) -> Callable[..., np.ndarray]:
    expected = hist.expected

    def model(**p: float) -> np.ndarray:
        shifted = hist.edges - p["offset"]
        dip = laplace_gauss_bins(shifted, p["rate"], p["jitter"])
        g2 = 1.0 - (1.0 + p["bunching"] - p["g0"]) * dip
        if p["bunching"] != 0:
            g2 = g2 + p["bunching"] * laplace_gauss_bins(shifted, 1.0 / p["tau_b"], p["jitter"])
        return expected * p["scale"] * g2

    return model


def _cw_jitter(jitter_ps, p0: dict[str, float], hist: _Histogram) -> list[str]:
    """Set the starting jitter and return the parameters to hold fixed for it."""
    if jitter_ps is None:
        p0["jitter"] = 0.0
        return ["jitter"]
    if isinstance(jitter_ps, str):
        if jitter_ps != "fit":
            raise AnalysisError(f"jitter_ps must be None, a number or 'fit', got {jitter_ps!r}")
        p0["jitter"] = min(hist.width, 0.3 / p0["rate"])
        return []
    jitter = float(jitter_ps)
    if not np.isfinite(jitter) or jitter < 0:
        raise AnalysisError(f"jitter_ps must be a non-negative number of ps, got {jitter}")
    p0["jitter"] = jitter
    return ["jitter"]


def _cw_start(hist: _Histogram, bunching: bool):
    """Starting values, bounds and scales of the CW fit, read off the normalised histogram."""
    g2 = hist.counts / hist.expected
    x = hist.centres
    lo, hi = hist.span
    span = hi - lo
    edge = np.abs(x - 0.5 * (lo + hi)) > 0.4 * span
    scale = float(np.mean(g2[edge])) if g2[edge].sum() > 0 else float(np.mean(g2))
    if scale <= 0:
        raise FitError("the histogram is empty away from zero delay")
    smooth = _smooth(g2, _smoothing_width(hist.expected))
    centre = int(np.argmin(smooth))
    g0 = float(np.clip(smooth[centre] / scale, 0.02, 0.9))
    rate = _dip_rate(smooth / scale, centre, hist.width, g0)
    rate = float(np.clip(rate, 4.0 / span, 0.5 / hist.width))
    tau_b = span / 8
    far = (np.abs(x - x[centre]) > 3 / rate) & (np.abs(x - x[centre]) < 3 / rate + tau_b)
    excess = float(np.mean(g2[far]) / scale - 1.0) if far.any() else 0.0
    p0 = {
        "scale": scale,
        "g0": g0,
        "rate": rate,
        "offset": float(x[centre]),
        "bunching": max(excess, 0.05) if bunching else 0.0,
        "tau_b": tau_b,
    }
    bounds = {
        "scale": (1e-9 * scale, None),
        "g0": (0.0, 10.0),
        "rate": (0.1 / span, 20.0 / hist.width),
        "offset": (lo, hi),
        "bunching": (0.0, 100.0),
        "tau_b": (2 * hist.width, 20 * span),
        "jitter": (0.0, 0.1 * span),
    }
    scales = {"g0": 0.1, "offset": hist.width, "bunching": 0.1, "jitter": hist.width}
    return p0, bounds, scales


def _smoothing_width(expected: np.ndarray) -> int:
    """Odd number of bins (at least 5, at most a twentieth of the histogram) holding about 50
    uncorrelated coincidences, so that the smoothed g2 is not dominated by noise."""
    width = int(np.ceil(50.0 / float(np.mean(expected))))
    width = min(max(width, 5), max(5, expected.size // 20))
    return width if width % 2 else width + 1


def _smooth(values: np.ndarray, width: int) -> np.ndarray:
    """Moving average over ``width`` bins, same length (shorter windows at the ends)."""
    kernel = np.ones(width)
    sums = np.convolve(values, kernel, mode="same")
    norm = np.convolve(np.ones_like(values), kernel, mode="same")
    return sums / norm


def _dip_rate(normalised: np.ndarray, centre: int, width: float, g0: float) -> float:
    """Rate (1/ps) from the area of the dip below one, walking out from its centre while the
    smoothed g2 stays below one: area = 2 (1 - g0) / k."""
    below = normalised < 1.0
    left = centre
    while left > 0 and below[left - 1]:
        left -= 1
    right = centre
    while right < normalised.size - 1 and below[right + 1]:
        right += 1
    area = float(np.sum(1.0 - normalised[left : right + 1])) * width
    return 2.0 * (1.0 - g0) / max(area, width)


def _cw_result(fit: PoissonFit, jitter_ps, bunching: bool) -> CWG2Fit:
    if not np.all(np.isfinite(fit.errors)) or fit.error("g0") <= 0:
        raise FitError("the CW g2 fit gives no usable uncertainty for g2(0)")
    convolved = jitter_ps is not None
    return CWG2Fit(
        g2_zero=fit["g0"],
        g2_zero_err=fit.error("g0"),
        rate_per_ps=fit["rate"],
        rate_err_per_ps=fit.error("rate"),
        offset_ps=fit["offset"],
        offset_err_ps=fit.error("offset"),
        scale=fit["scale"],
        scale_err=fit.error("scale"),
        bunching_amplitude=fit["bunching"] if bunching else None,
        bunching_amplitude_err=fit.error("bunching") if bunching else None,
        bunching_time_ps=fit["tau_b"] if bunching else None,
        bunching_time_err_ps=fit.error("tau_b") if bunching else None,
        jitter_ps=fit["jitter"] if convolved else None,
        jitter_err_ps=fit.error("jitter") if convolved else None,
        deviance=fit.deviance,
        dof=fit.dof,
        model=fit.expected,
    )
