"""Finding the dots in a scan image: local maxima of the PSF-smoothed image that stand out of
the background's Poisson noise, at least a minimum distance apart, each with its position,
brightness and lifetime."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage
from scipy.special import ndtr, pdtrc

from ..errors import AnalysisError, FitError
from .dots_psf import FWHM_PER_SIGMA, background_counts, measured_fwhm
from .scan_image import ScanImage, phase_lifetime

#: Default detection threshold, in standard deviations of the smoothed background.
THRESHOLD_SIGMA = 5.0
#: A dot's lifetime leaves out pixels where other dots bring more than this share of its light.
MAX_NEIGHBOUR_SHARE = 0.02
#: Share of the dots found that their model may miss (a dot that blinks off for a line, a
#: PSF that is not quite Gaussian): part of the noise next to them.
MODEL_ERROR = 0.1
#: A dot with another within this many FWHM says its numbers are shared.
NEIGHBOUR_FWHMS = 2.0
#: Rounds of looking for dots next to the ones found.
MAX_ROUNDS = 10


@dataclass(frozen=True)
class Dot:
    """One dot found in an image.

    Attributes
    ----------
    x, y
        Centre, pixels (column, row; pixel ``i`` spans ``[i - 0.5, i + 0.5)``).
    x_um, y_um
        The same on the stage, µm (pixel ``i`` centred at ``x0 + (i + 0.5) size``), when the
        pixel size is known.
    peak_counts
        Photons per pixel at the centre above the background (Gaussian amplitude).
    peak_rate_cps
        The same as a count rate while the beam is on the centre, counts/s.
    photons
        Photons within the dot's disc (radius one FWHM, less the pixels a neighbour shares),
        background included.
    significance
        Height of the smoothed peak over the smoothed background, in its standard deviations.
    tau_ns, tau_err_ns
        Lifetime from a fit of the disc's summed decay (one exponential, Gaussian IRF, free
        background), ``None`` without delays or when the fit failed.
    phase_tau_ns
        Phase lifetime of the disc's summed phasor, ns.
    note
        What makes its numbers uncertain (a close neighbour, a poor fit), else ``None``.
    """

    x: float
    y: float
    x_um: float | None
    y_um: float | None
    peak_counts: float
    peak_rate_cps: float
    photons: int
    significance: float
    tau_ns: float | None = None
    tau_err_ns: float | None = None
    phase_tau_ns: float | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class DotSearch:
    """Dots found and how they were looked for."""

    dots: tuple[Dot, ...]
    background_counts: float
    fwhm_px: float
    fwhm_estimated: bool
    min_separation_px: float
    threshold_sigma: float
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "count": len(self.dots),
            "background_counts_per_pixel": self.background_counts,
            "fwhm_px": self.fwhm_px, "fwhm_estimated": self.fwhm_estimated,
            "min_separation_px": self.min_separation_px,
            "threshold_sigma": self.threshold_sigma,
            "dots": [d.to_dict() for d in self.dots],
            "notes": list(self.notes),
        }  # fmt: skip


def find_dots(
    image: ScanImage,
    fwhm_px: float | None = None,
    min_separation_px: float | None = None,
    threshold_sigma: float = THRESHOLD_SIGMA,
    lifetimes: bool = True,
) -> DotSearch:
    """Dots in ``image``: maxima of the image smoothed by the PSF, ``threshold_sigma`` standard
    deviations of the smoothed background above it (and as unlikely from the background's
    Poisson counts in their disc), and no closer than ``min_separation_px`` to a brighter one.

    Parameters
    ----------
    image
        The scan.
    fwhm_px
        FWHM of the PSF, pixels; ``None`` measures it on the brightest peaks.
    min_separation_px
        Closest two dots may be, pixels (default: the FWHM).
    threshold_sigma
        Detection threshold.
    lifetimes
        Fit each dot's decay.
    """
    counts = image.counts.astype(float)
    if counts.size < 9 or min(counts.shape) < 3:
        raise AnalysisError("find dots: the image needs at least 3 x 3 pixels")
    if not threshold_sigma > 0:
        raise AnalysisError("find dots: threshold_sigma must be positive")
    scanned = np.broadcast_to(image.scanned[:, None], counts.shape)
    if not scanned.any():
        raise AnalysisError("find dots: no line of the image was scanned")
    notes: list[str] = []
    if not scanned.all():
        notes.append(f"{int((~image.scanned).sum())} row(s) never scanned (the run ends "
                     "early): no dot is looked for there")  # fmt: skip
    background = background_counts(counts, scanned)
    measured, psf_notes = measured_fwhm(np.where(scanned, counts, background), background)
    estimated = fwhm_px is None
    if fwhm_px is None:
        fwhm_px = measured
        notes += psf_notes
    elif abs(fwhm_px - measured) > 0.5 * measured and not psf_notes:
        notes.append(f"the FWHM given ({fwhm_px:.3g} px) is far from the one measured on the "
                     f"brightest dots ({measured:.3g} px)")  # fmt: skip
    if not 0.5 <= fwhm_px <= min(counts.shape):
        raise AnalysisError(f"find dots: a PSF FWHM of {fwhm_px:.3g} pixels does not fit the image")
    sep = fwhm_px if min_separation_px is None else float(min_separation_px)
    sigma = fwhm_px / FWHM_PER_SIGMA
    kept = _peaks(counts, scanned, background, sigma, sep, threshold_sigma)
    phase0 = None
    if lifetimes:
        phase0, note = image.pulse_phase()
        if note:
            notes.append(note)
    shapes = [a * _gaussian(counts.shape, x, y, sigma) for x, y, _, a in kept]
    model = np.sum(shapes, axis=0) if shapes else np.zeros_like(counts)
    dots = []
    for (x, y, z, a), own in zip(kept, shapes, strict=True):
        near = min((math.hypot(x - ox, y - oy) for ox, oy, _, _ in kept if (ox, oy) != (x, y)),
                   default=math.inf)  # fmt: skip
        dots.append(_dot(image, x, y, z, a, fwhm_px, phase0, lifetimes, model - own, near))
    return DotSearch(tuple(dots), background, float(fwhm_px), estimated, float(sep),
                     float(threshold_sigma), tuple(notes))  # fmt: skip


def _peaks(counts, scanned, background, sigma, sep, threshold) -> list[tuple[float, ...]]:
    """Dots as ``(x, y, significance, amplitude)``, brightest first, found round by round:
    the local maxima (3 x 3) of the PSF-smoothed image less the dots found so far (so that a
    faint dot on a bright one's flank shows), each kept when it stands ``threshold`` standard
    deviations above the background and those dots (the noise taken at that level, plus
    :data:`MODEL_ERROR` of them), when the photons of its disc are as unlikely from the
    background and those dots alone (Poisson), and when it is ``sep`` pixels from every dot
    kept. Outside the image the background is taken as known (no noise)."""
    w2 = _smooth(scanned.astype(float), sigma, 0.0, squared=True)  # sum of w^2 over the data
    p_max = float(ndtr(-threshold))
    model = np.zeros_like(counts)
    kept: list[tuple[float, ...]] = []
    for _ in range(MAX_ROUNDS):
        smooth = _smooth(np.where(scanned, counts - model, background), sigma, background)
        flanks = _smooth(model, sigma, 0.0)
        variance = np.maximum(background + flanks, 0.5) * w2
        noise = np.sqrt(variance + (MODEL_ERROR * flanks) ** 2)
        z = np.where(scanned, (smooth - background) / np.maximum(noise, 1e-12), 0.0)
        peaks = (smooth == ndimage.maximum_filter(smooth, size=3, mode="nearest")) & (z > threshold)
        ys, xs = np.nonzero(peaks)
        new: list[tuple[float, ...]] = []
        for i in np.argsort(-z[ys, xs], kind="stable"):
            y, x = _centre(smooth, int(ys[i]), int(xs[i]))
            if any((x - d[0]) ** 2 + (y - d[1]) ** 2 < sep**2 for d in kept + new):
                continue
            disc = _disc(counts.shape, x, y, max(sigma * FWHM_PER_SIGMA, 1.5)) & scanned
            expected = float((background + model)[disc].sum())
            if pdtrc(counts[disc].sum() - 1, expected) >= p_max:  # P(N >= n) from the rest
                continue
            amplitude = _amplitude(counts - model - background, x, y, sigma)
            new.append((x, y, float(z[ys[i], xs[i]]), amplitude))
        if not new:
            break
        for x, y, _, amplitude in new:
            model += amplitude * _gaussian(counts.shape, x, y, sigma)
        kept += new
    return sorted(kept, key=lambda d: -d[3])


def _smooth(values: np.ndarray, sigma: float, outside: float, squared: bool = False):
    """Gaussian smoothing (weights summing to 1) with ``outside`` beyond the edges;
    ``squared``: with the squared weights (the variance of a smoothed noise)."""
    if not squared:
        return ndimage.gaussian_filter(values, sigma, mode="constant", cval=outside, truncate=4.0)
    weights = _kernel(sigma) ** 2
    return ndimage.convolve(values, weights, mode="constant", cval=outside)


def _kernel(sigma: float) -> np.ndarray:
    r = math.ceil(4 * sigma)
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    w = np.exp(-(xx**2 + yy**2) / (2 * sigma**2))
    return w / w.sum()


def _gaussian(shape: tuple[int, ...], x: float, y: float, sigma: float) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    return np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))


def _amplitude(excess: np.ndarray, x: float, y: float, sigma: float) -> float:
    """Least-squares height of a Gaussian of ``sigma`` at ``(x, y)`` in ``excess`` (counts
    above the background), over a disc of one FWHM (at least 1.5 pixels)."""
    disc = _disc(excess.shape, x, y, max(sigma * FWHM_PER_SIGMA, 1.5))
    g = _gaussian(excess.shape, x, y, sigma)[disc]
    return float((excess[disc] * g).sum() / (g**2).sum())


def _centre(smooth: np.ndarray, y: int, x: int) -> tuple[float, float]:
    """Sub-pixel centre: a parabola through the peak and its neighbours on each axis."""

    def offset(lo: float, mid: float, hi: float) -> float:
        curve = lo - 2 * mid + hi
        return 0.0 if curve >= 0 else float(np.clip(0.5 * (lo - hi) / curve, -0.5, 0.5))

    ny, nx = smooth.shape
    dy = offset(smooth[y - 1, x], smooth[y, x], smooth[y + 1, x]) if 0 < y < ny - 1 else 0.0
    dx = offset(smooth[y, x - 1], smooth[y, x], smooth[y, x + 1]) if 0 < x < nx - 1 else 0.0
    return y + dy, x + dx


def _disc(shape: tuple[int, ...], x: float, y: float, radius: float) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    return (xx - x) ** 2 + (yy - y) ** 2 <= radius**2


def _dot(image: ScanImage, x, y, z, amplitude, fwhm, phase0, lifetimes, others, near) -> Dot:
    """A dot's numbers; its photons are those of the disc of one FWHM around it, less the
    pixels where the other dots' flanks bring more than :data:`MAX_NEIGHBOUR_SHARE` of what
    this dot does (their photons would bias its lifetime)."""
    disc = _disc(image.shape, x, y, max(fwhm, 1.5))
    own = amplitude * _gaussian(image.shape, x, y, fwhm / FWHM_PER_SIGMA)
    disc &= others <= MAX_NEIGHBOUR_SHARE * own
    row = int(np.clip(round(y), 0, image.shape[0] - 1))
    exposure = float(image.exposure_s[row, 0])
    rate = amplitude / exposure if exposure > 0 else math.nan
    photons = int(image.counts[disc].sum())
    s = image.settings
    x_um = y_um = None
    if s.pixel_size_um is not None:
        x_um = s.origin_um[0] + (x + 0.5) * s.pixel_size_um
        y_um = s.origin_um[1] + (y + 0.5) * s.pixel_size_um
    notes = []
    if near < NEIGHBOUR_FWHMS * fwhm:
        notes.append(f"a neighbour {near:.2g} px away: brightness and lifetime shared")
    tau = err = phase_tau = None
    if lifetimes and image.cube is not None and image.period_ps is not None and disc.any():
        if phase0 is not None:
            p = phase_lifetime(image.cos_sum[disc].sum(), image.sin_sum[disc].sum(), photons,
                               phase0, image.period_ps, 1)  # fmt: skip
            phase_tau = None if not np.isfinite(p) else float(p) / 1e3
        try:
            fit = image.fit(disc, "mono")
            tau, err = float(fit.tau_ps[0]) / 1e3, float(fit.tau_err_ps[0]) / 1e3
            notes += list(fit.warnings[:1])
            if not (math.isfinite(err) and err > 0):
                notes.append(f"no lifetime: the fit of {photons} photons did not determine it")
                tau = err = None
        except FitError as exc:
            notes.append(f"no lifetime: {exc}")
    return Dot(float(x), float(y), x_um, y_um, amplitude, float(rate), photons, float(z), tau,
               err, phase_tau, "; ".join(notes) or None)  # fmt: skip
