"""Values derived from results for the figure and the exports: the deviance residuals of a
Poisson fit and the adjacent-peak height that normalises a pulsed g2."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .g2 import G2Result
    from .g2_zero import G2Zero

__all__ = [
    "adjacent_height",
    "adjacent_peak_height",
    "adjacent_profile",
    "deviance_residuals",
    "running_mean",
    "smoothing_bins",
]

_TINY = 1e-300


def deviance_residuals(counts: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Poisson deviance residuals ``sign(n - m) sqrt(2 [n ln(n / m) - (n - m)])``.

    Their squares sum to the fit's Poisson deviance; for a good model they scatter about 0
    with unit spread even where counts are few (unlike Pearson residuals). NaN where the model
    expects nothing (``m <= 0`` or not finite).

    Parameters
    ----------
    counts
        Observed counts per bin ``n``.
    expected
        Model counts per bin ``m``, same shape.
    """
    n = np.asarray(counts, dtype=float)
    m = np.asarray(expected, dtype=float)
    valid = np.isfinite(m) & (m > 0)
    safe_m = np.where(valid, m, 1.0)
    log_term = np.where(n > 0, n * np.log(np.maximum(n, _TINY) / safe_m), 0.0)
    d = np.maximum(2.0 * (log_term - (n - safe_m)), 0.0)
    return np.where(valid, np.sign(n - safe_m) * np.sqrt(d), np.nan)


def adjacent_peak_height(g2: G2Result, zero: G2Zero) -> float | None:
    """Height of the mean adjacent peak of a pulsed g2, coincidences per analysis bin.

    The peaks at ±one laser period from the zero-delay position of ``zero`` are cut out over
    one period each; each is smoothed by a running mean of :func:`smoothing_bins` bins (about a
    sixth of the equivalent width of their bin-by-bin average, so a narrow peak is barely
    lowered and a sparse one is not read from one noisy bin), and the mean of their maxima is
    the height. ``counts / height`` puts the side peaks at 1 and the zero-delay peak's maximum at
    about g2(0) when the peaks share one shape (the QD literature's normalisation); g2(0)
    itself stays the area ratio. The height scales with the bin width, so the normalised curve
    does not depend on it. ``None`` for CW or without adjacent coincidences.
    """
    if zero.excitation != "pulsed" or not zero.period_ps:
        return None
    return adjacent_height(g2.edges_ps, g2.counts, zero.period_ps, zero.detail.offset_ps)


def adjacent_height(
    edges_ps: np.ndarray, counts: np.ndarray, period_ps: float, offset_ps: float
) -> float | None:
    """:func:`adjacent_peak_height` of a histogram in any uniform bins ``edges_ps`` (the
    figure's merged display bins, or the analysis bins): counts per such bin."""
    pair = adjacent_profile(edges_ps, counts, period_ps, offset_ps, pair=True)
    if pair.size == 0 or pair.sum() <= 0:
        return None
    # each peak smoothed on its own, so a period that is no whole number of bins (the two
    # peaks then sit at different phases in their bins) does not flatten the average
    width = smoothing_bins(pair.mean(axis=0))
    height = float(np.mean([running_mean(peak, width).max() for peak in pair]))
    return height if height > 0 else None


def adjacent_profile(
    edges_ps: np.ndarray,
    counts: np.ndarray,
    period_ps: float,
    offset_ps: float,
    pair: bool = False,
) -> np.ndarray:
    """The peaks at ``offset_ps`` ± ``period_ps`` averaged bin by bin (``pair``: both, one
    row each): counts per bin of the bins whose index lies within half a period (in bins) of
    the bin holding each peak centre, where both peaks have that bin (coincidences per bin,
    centre at index ``size // 2``)."""
    edges = np.asarray(edges_ps, dtype=float)
    values = np.asarray(counts, dtype=float)
    bin_ps = float(edges[1] - edges[0])
    half = int(0.5 * period_ps / bin_ps)
    steps = np.arange(-half, half + 1)
    centres = [int(np.floor((offset_ps + k * period_ps - edges[0]) / bin_ps)) for k in (-1, 1)]
    index = [c + steps for c in centres]
    inside = np.all([(i >= 0) & (i < values.size) for i in index], axis=0)
    if not np.any(inside):
        return np.zeros((2, 0)) if pair else np.zeros(0)
    # keep a range symmetric about the centre so the profile stays centred
    reach = int(np.min(np.abs(steps[~inside]))) - 1 if not np.all(inside) else half
    keep = np.abs(steps) <= reach
    both = np.array([values[index[0][keep]], values[index[1][keep]]])
    return both if pair else both.mean(axis=0)


def smoothing_bins(profile: np.ndarray) -> int:
    """Running-mean width (odd, bins) for a peak profile: about a sixth of its equivalent
    width (area over the maximum of a 3-bin running mean), at least 1."""
    top = float(running_mean(profile, 3).max())
    if top <= 0:
        return 1
    width = float(profile.sum()) / top
    return 2 * int(width / 12.0) + 1


def running_mean(values: np.ndarray, width: int) -> np.ndarray:
    """Centred running mean over ``width`` (odd) entries; the ends average over fewer."""
    values = np.asarray(values, dtype=float)
    if width <= 1:
        return values
    kernel = np.ones(width)
    sums = np.convolve(values, kernel, mode="same")
    return sums / np.convolve(np.ones(values.size), kernel, mode="same")
