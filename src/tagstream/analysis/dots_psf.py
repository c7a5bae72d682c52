"""What a dot search needs to know of a scan first: its background per pixel and the width of
its point-spread function (PSF)."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

#: FWHM of a Gaussian over its sigma.
FWHM_PER_SIGMA = 2 * math.sqrt(2 * math.log(2))
#: Peaks the PSF is measured on (the brightest).
PSF_PEAKS = 5
#: Smoothing before the PSF is measured, pixels (sigma).
SMOOTHING_PX = 1.0


def background_counts(counts: np.ndarray, scanned: np.ndarray) -> float:
    """Mean photons per pixel of the background: the mean of the scanned rows, taken again
    without the pixels more than 3 Poisson deviations above it until it settles (dots are
    left out however much of the image they cover; a sparse image keeps its mean, where a
    median would say 0)."""
    values = counts[scanned].ravel().astype(float)
    if values.size == 0:
        return 0.0
    level = float(values.mean())
    for _ in range(20):
        kept = values[values <= level + 3 * math.sqrt(max(level, 1.0))]
        new = float(kept.mean()) if kept.size else level
        if abs(new - level) <= 1e-9 * max(level, 1.0):
            break
        level = new
    return level


def measured_fwhm(counts: np.ndarray, background: float) -> tuple[float, list[str]]:
    """FWHM of the PSF, pixels: the median over the brightest peaks (at most
    :data:`PSF_PEAKS`, apart from each other) of the width each has in the image smoothed by
    a Gaussian of 1 pixel (which is taken off again); with notes when it is uncertain."""
    notes: list[str] = []
    smooth = ndimage.gaussian_filter(counts.astype(float), SMOOTHING_PX, mode="constant",
                                     cval=background)  # fmt: skip
    peaks = (smooth == ndimage.maximum_filter(smooth, size=5)) & (smooth > background + 5)
    ys, xs = np.nonzero(peaks)
    order = np.argsort(-smooth[ys, xs], kind="stable")
    widths: list[float] = []
    for i in order[: 4 * PSF_PEAKS]:
        sigma = _sigma_at(smooth - background, int(xs[i]), int(ys[i]))
        if sigma is not None:
            widths.append(sigma * FWHM_PER_SIGMA)
        if len(widths) == PSF_PEAKS:
            break
    if not widths:
        notes.append("the PSF could not be measured (no clear peak): 2 pixels taken; give it")
        return 2.0, notes
    fwhm = float(np.median(widths))
    if len(widths) > 1 and (max(widths) - min(widths)) > 0.3 * fwhm:
        shown = ", ".join(f"{w:.3g}" for w in sorted(widths))
        notes.append(f"the PSF's FWHM differs between the brightest dots ({shown} px; "
                     f"{fwhm:.3g} taken): dots close together, or blinking under the beam")
    return fwhm, notes


def _sigma_at(excess: np.ndarray, x: int, y: int) -> float | None:
    """Sigma (pixels) of the peak at ``(x, y)`` of a smoothed image less its background:
    for a Gaussian, ``ln e(x - h) - 2 ln e(x) + ln e(x + h) = -h^2 / s^2`` on each axis
    wherever its centre lies, with ``s^2 = sigma^2 + 1`` (the smoothing). ``h`` is the step
    that reaches half the peak: the points stay in the peak's core, away from neighbours, and
    a wide PSF is measured as well as a narrow one (``None`` at an edge)."""
    ny, nx = excess.shape
    top = excess[y, x]
    if top <= 0:
        return None
    variances = []
    for axis in (0, 1):
        h = 1
        while True:
            lo = excess[y, x - h] if axis else excess[y - h, x]
            hi = excess[y, x + h] if axis else excess[y + h, x]
            if min(lo, hi) <= 0:
                return None
            if 0.5 * (lo + hi) <= 0.5 * top:
                break
            h += 1
            if not (h < x < nx - h) if axis else not (h < y < ny - h):
                return None
        curve = math.log(lo) - 2 * math.log(top) + math.log(hi)
        if curve >= 0:
            return None
        variances.append(-h * h / curve)
    sigma2 = float(np.mean(variances)) - SMOOTHING_PX**2
    return math.sqrt(max(sigma2, 0.05))
