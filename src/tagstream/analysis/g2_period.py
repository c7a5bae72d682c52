"""The repetition period of a pulsed g2 histogram, found from its peaks."""

from __future__ import annotations

import numpy as np

from ..errors import AnalysisError
from .g2_histogram import G2Histogram, as_histogram, phase_offset, window_sum

#: Significance (in standard deviations) of the peak contrast required to call a histogram pulsed.
PEAK_CONTRAST_MIN_SIGMA = 5.0


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
    hist = as_histogram(edges_ps, counts)
    period = _autocorrelation_period(hist)
    for _ in range(2):
        period, offset = _refine_period(hist, period)
    _require_contrast(hist, period, offset)
    return period


def _autocorrelation_period(hist: G2Histogram) -> float:
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


def _refine_period(hist: G2Histogram, guess: float) -> tuple[float, float]:
    """Period and offset (ps) from a weighted straight line through the peak centroids.

    The peaks next to zero delay are left out when at least two others are available: the
    nearly empty zero-delay peak beside them makes their windows lopsided."""
    offset = phase_offset(hist, guess)
    all_ks = np.array(_whole_windows(hist, guess, offset), dtype=int)
    found, totals = _centroids(hist, offset + all_ks * guess, 0.25 * guess)
    keep = totals > 0
    ks, positions, weights = all_ks[keep], found[keep], totals[keep]
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


def _whole_windows(hist: G2Histogram, period: float, offset: float) -> list[int]:
    """Indices of the peaks whose full one-period window lies inside the histogram."""
    lo, hi = hist.span
    k_lo = int(np.ceil((lo - offset) / period + 0.5))
    k_hi = int(np.floor((hi - offset) / period - 0.5))
    return list(range(k_lo, k_hi + 1))


def _centroids(
    hist: G2Histogram, starts: np.ndarray, half: float, steps: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_centroid` of many windows at once (rows padded with empty bins)."""
    starts = np.asarray(starts, dtype=float)
    if starts.size == 0:
        return np.zeros(0), np.zeros(0)
    n = hist.counts.size
    first = np.maximum(np.searchsorted(hist.edges, starts - 2 * half, side="right") - 1, 0)
    stop = np.minimum(np.searchsorted(hist.edges, starts + 2 * half) + 1, n)
    index = first[:, None] + np.arange(max(int(np.max(stop - first)), 1))[None, :]
    inside = index < stop[:, None]
    index = np.minimum(index, n - 1)
    left, right = hist.edges[index], hist.edges[index + 1]
    counts = np.where(inside, hist.counts[index], 0.0)
    x = 0.5 * (left + right)
    centre, total = starts.copy(), np.zeros(starts.size)
    position = starts.copy()
    active = np.ones(starts.size, dtype=bool)
    for _ in range(steps):
        lo, hi = (centre - half)[:, None], (centre + half)[:, None]
        weights = (np.clip(right, lo, hi) - np.clip(left, lo, hi)) / hist.width * counts
        sums = weights.sum(axis=1)
        empty = active & (sums <= 0)
        position[empty], total[empty] = centre[empty], 0.0
        active &= ~empty
        with np.errstate(invalid="ignore", divide="ignore"):
            new = np.clip((weights * x).sum(axis=1) / sums, starts - half, starts + half)
        done = active & (np.abs(new - centre) < 1e-3 * hist.width)
        position[done], total[done] = new[done], sums[done]
        active &= ~done
        if not active.any():
            break
        centre = np.where(active, new, centre)
        position[active], total[active] = centre[active], sums[active]
    return position, total


def _centroid(hist: G2Histogram, start: float, half: float, steps: int = 30) -> tuple[float, float]:
    """Centre of the counts in a window of half-width ``half`` (ps), re-centred until it settles;
    returns the position and the counts in the final window."""
    centre, total = start, 0.0
    # the window never leaves [start - 2 half, start + 2 half]: only those bins are weighed
    first = max(int(np.searchsorted(hist.edges, start - 2 * half, side="right")) - 1, 0)
    stop = min(int(np.searchsorted(hist.edges, start + 2 * half)) + 1, hist.counts.size)
    edges, counts = hist.edges[first : stop + 1], hist.counts[first:stop]
    x = 0.5 * (edges[:-1] + edges[1:])
    for _ in range(steps):
        lo, hi = centre - half, centre + half
        weights = (np.clip(edges[1:], lo, hi) - np.clip(edges[:-1], lo, hi)) / hist.width * counts
        total = float(weights.sum())
        if total <= 0:
            return centre, 0.0
        new = float(weights @ x / total)
        new = float(np.clip(new, start - half, start + half))
        if abs(new - centre) < 1e-3 * hist.width:
            return new, total
        centre = new
    return centre, total


def _require_contrast(hist: G2Histogram, period: float, offset: float) -> None:
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
            core = window_sum(hist, hist.counts, c - 0.25 * period, c + 0.25 * period)
            inner += core
            outer += window_sum(hist, hist.counts, c - 0.5 * period, c + 0.5 * period) - core
        z_sides.append(_contrast(inner, outer))
        inner_all += inner
        outer_all += outer
    if _contrast(inner_all, outer_all) < PEAK_CONTRAST_MIN_SIGMA or min(z_sides) < 2.0:
        raise AnalysisError("no periodic peaks found in the g2 histogram (CW data?)")


def _contrast(inner: float, outer: float) -> float:
    total = inner + outer
    return (inner - outer) / np.sqrt(total) if total > 0 else 0.0
