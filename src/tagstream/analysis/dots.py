"""Finding the dots in a scan image: local maxima of the PSF-smoothed image that stand out of
the background's Poisson noise, at least a minimum distance apart, each with its position,
brightness and lifetime."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from ..errors import AnalysisError, FitError
from .scan_image import ScanImage, phase_lifetime

#: FWHM of a Gaussian over its sigma.
FWHM_PER_SIGMA = 2 * math.sqrt(2 * math.log(2))
#: Default detection threshold, in standard deviations of the smoothed background.
THRESHOLD_SIGMA = 5.0
#: A dot's lifetime leaves out pixels where other dots bring more than this share of its light.
MAX_NEIGHBOUR_SHARE = 0.02
#: Share of the dots found that their model may miss (a dot that blinks off for a line, a
#: PSF that is not quite Gaussian): part of the noise next to them.
MODEL_ERROR = 0.1
#: Rounds of looking for dots next to the ones found.
MAX_ROUNDS = 10


@dataclass(frozen=True)
class Dot:
    """One dot found in an image.

    Attributes
    ----------
    x, y
        Centre, pixels (column, row; sub-pixel).
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
        Why a lifetime is missing or uncertain, else ``None``.
    """

    x: float
    y: float
    peak_counts: float
    peak_rate_cps: float
    photons: int
    significance: float
    tau_ns: float | None = None
    tau_err_ns: float | None = None
    phase_tau_ns: float | None = None
    note: str | None = None

    def to_dict(self, pixel_size_um: float | None = None) -> dict[str, Any]:
        """JSON-friendly form (positions also in µm when the pixel size is known)."""
        out: dict[str, Any] = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["x_um"] = None if pixel_size_um is None else self.x * pixel_size_um
        out["y_um"] = None if pixel_size_um is None else self.y * pixel_size_um
        return out


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

    def to_dict(self, pixel_size_um: float | None = None) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "count": len(self.dots),
            "background_counts_per_pixel": self.background_counts,
            "fwhm_px": self.fwhm_px, "fwhm_estimated": self.fwhm_estimated,
            "min_separation_px": self.min_separation_px,
            "threshold_sigma": self.threshold_sigma,
            "dots": [d.to_dict(pixel_size_um) for d in self.dots],
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
    deviations of the smoothed background above it, and no closer than ``min_separation_px``
    to a brighter one.

    Parameters
    ----------
    image
        The scan.
    fwhm_px
        FWHM of the PSF, pixels; ``None`` measures it on the brightest peak.
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
    notes: list[str] = []
    background = float(np.median(counts))
    estimated = fwhm_px is None
    if fwhm_px is None:
        fwhm_px = _measured_fwhm(counts, background)
    if not 0.5 <= fwhm_px <= min(counts.shape):
        raise AnalysisError(f"find dots: a PSF FWHM of {fwhm_px:.3g} pixels does not fit the image")
    sep = fwhm_px if min_separation_px is None else float(min_separation_px)
    sigma = fwhm_px / FWHM_PER_SIGMA
    weights = _kernel(sigma)
    if background < 0.5:
        notes.append(f"the background is {background:g} photons per pixel: the threshold "
                     "takes 0.5 so that single photons are not dots")  # fmt: skip
    kept = _peaks(counts, background, sigma, sep, threshold_sigma, weights)
    phase0 = None
    if lifetimes:
        phase0, note = image.pulse_phase()
        if note:
            notes.append(note)
    shapes = [a * _gaussian(counts.shape, x, y, sigma) for x, y, _, a in kept]
    model = np.sum(shapes, axis=0) if shapes else np.zeros_like(counts)
    dots = tuple(_dot(image, x, y, z, a, fwhm_px, phase0, lifetimes, model - own)
                 for (x, y, z, a), own in zip(kept, shapes, strict=True))  # fmt: skip
    return DotSearch(dots, background, float(fwhm_px), estimated, float(sep),
                     float(threshold_sigma), tuple(notes))  # fmt: skip


def _peaks(counts, background, sigma, sep, threshold, weights) -> list[tuple[float, ...]]:
    """Dots as ``(x, y, significance, amplitude)``, brightest first, found round by round:
    the local maxima (3 x 3) of the PSF-smoothed image less the dots found so far (so that a
    faint dot on a bright one's flank shows), each kept when it stands ``threshold`` standard
    deviations above the background and those dots (the noise taken at that level) and is
    ``sep`` pixels from every dot kept."""
    w2 = float((weights**2).sum())
    model = np.zeros_like(counts)
    kept: list[tuple[float, ...]] = []
    for _ in range(MAX_ROUNDS):
        smooth = ndimage.gaussian_filter(counts - model, sigma, mode="reflect", truncate=4.0)
        flanks = ndimage.gaussian_filter(model, sigma, mode="reflect", truncate=4.0)
        noise = np.sqrt(np.maximum(background + flanks, 0.5) * w2 + (MODEL_ERROR * flanks) ** 2)
        z = (smooth - background) / noise
        peaks = (smooth == ndimage.maximum_filter(smooth, size=3, mode="nearest")) & (z > threshold)
        ys, xs = np.nonzero(peaks)
        new: list[tuple[float, ...]] = []
        for i in np.argsort(-z[ys, xs], kind="stable"):
            y, x = _centre(smooth, int(ys[i]), int(xs[i]))
            if all((x - d[0]) ** 2 + (y - d[1]) ** 2 >= sep**2 for d in kept + new):
                amplitude = _amplitude(counts - model - background, x, y, sigma)
                new.append((x, y, float(z[ys[i], xs[i]]), amplitude))
        if not new:
            break
        for x, y, _, amplitude in new:
            model += amplitude * _gaussian(counts.shape, x, y, sigma)
        kept += new
    return sorted(kept, key=lambda d: -d[3])


def _gaussian(shape: tuple[int, ...], x: float, y: float, sigma: float) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    return np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))


def _amplitude(excess: np.ndarray, x: float, y: float, sigma: float) -> float:
    """Least-squares height of a Gaussian of ``sigma`` at ``(x, y)`` in ``excess`` (counts
    above the background), over a disc of one FWHM (at least 1.5 pixels)."""
    disc = _disc(excess.shape, x, y, max(sigma * FWHM_PER_SIGMA, 1.5))
    g = _gaussian(excess.shape, x, y, sigma)[disc]
    return float((excess[disc] * g).sum() / (g**2).sum())


def _kernel(sigma: float) -> np.ndarray:
    r = math.ceil(4 * sigma)
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    w = np.exp(-(xx**2 + yy**2) / (2 * sigma**2))
    return w / w.sum()


def _centre(smooth: np.ndarray, y: int, x: int) -> tuple[float, float]:
    """Sub-pixel centre: a parabola through the peak and its neighbours on each axis."""

    def offset(lo: float, mid: float, hi: float) -> float:
        curve = lo - 2 * mid + hi
        return 0.0 if curve >= 0 else float(np.clip(0.5 * (lo - hi) / curve, -0.5, 0.5))

    ny, nx = smooth.shape
    dy = offset(smooth[y - 1, x], smooth[y, x], smooth[y + 1, x]) if 0 < y < ny - 1 else 0.0
    dx = offset(smooth[y, x - 1], smooth[y, x], smooth[y, x + 1]) if 0 < x < nx - 1 else 0.0
    return y + dy, x + dx


def _disc(shape: tuple[int, int], x: float, y: float, radius: float) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    return (xx - x) ** 2 + (yy - y) ** 2 <= radius**2


def _dot(image: ScanImage, x, y, z, amplitude, fwhm, phase0, lifetimes, others) -> Dot:
    """A dot's numbers; its photons are those of the disc of one FWHM around it, less the
    pixels where the other dots' flanks bring more than :data:`MAX_NEIGHBOUR_SHARE` of what
    this dot does (their photons would bias its lifetime)."""
    disc = _disc(image.shape, x, y, max(fwhm, 1.5))
    own = amplitude * _gaussian(image.shape, x, y, fwhm / FWHM_PER_SIGMA)
    disc &= others <= MAX_NEIGHBOUR_SHARE * own
    exposure = image.pixel_time_s * image.passes
    rate = amplitude / exposure if exposure > 0 else math.nan
    photons = int(image.counts[disc].sum())
    tau = err = phase_tau = None
    note = None
    if lifetimes and image.cube is not None and image.period_ps is not None:
        if phase0 is not None:
            p = phase_lifetime(image.cos_sum[disc].sum(), image.sin_sum[disc].sum(), photons,
                               phase0, image.period_ps, 1)  # fmt: skip
            phase_tau = None if not np.isfinite(p) else float(p) / 1e3
        try:
            fit = image.fit(disc, "mono")
            tau, err = float(fit.tau_ps[0]) / 1e3, float(fit.tau_err_ps[0]) / 1e3
            note = fit.warnings[0] if fit.warnings else None
        except FitError as exc:
            note = f"no lifetime: {exc}"
    return Dot(float(x), float(y), amplitude, float(rate), photons, float(z), tau, err,
               phase_tau, note)  # fmt: skip


def _measured_fwhm(counts: np.ndarray, background: float) -> float:
    """FWHM of the brightest peak (lightly smoothed), from its second moment within 4 pixels."""
    smooth = ndimage.gaussian_filter(counts, 1.0, mode="reflect")
    y, x = np.unravel_index(int(np.argmax(smooth)), smooth.shape)
    r = 4
    y0, y1, x0, x1 = max(0, y - r), min(counts.shape[0], y + r + 1), max(0, x - r), \
        min(counts.shape[1], x + r + 1)  # fmt: skip
    patch = np.clip(counts[y0:y1, x0:x1] - background, 0, None)
    if patch.sum() <= 0:
        return 2.0
    yy, xx = np.mgrid[y0:y1, x0:x1]
    cy, cx = (patch * yy).sum() / patch.sum(), (patch * xx).sum() / patch.sum()
    var = (patch * ((yy - cy) ** 2 + (xx - cx) ** 2)).sum() / patch.sum() / 2
    return float(np.clip(math.sqrt(max(var, 0.0)) * FWHM_PER_SIGMA, 1.0, 10.0))
