"""A confocal scan image built from markers: photon counts, delays and phasors per pixel, and
the lifetime image they give."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import FitError
from .decay_fit import DecayFit, fit_decay
from .scan_settings import ScanSettings

#: Pixels with fewer photons have no lifetime in the lifetime image.
MIN_LIFETIME_COUNTS = 20


@dataclass(frozen=True)
class ScanImage:
    """Per-pixel sums over the frames of a scan; arrays are ``(pixels_y, pixels_x)``.

    Attributes
    ----------
    counts
        Photons per pixel.
    delay_sum_ps, cos_sum, sin_sum
        Sums of the photons' delays after their laser pulse (ps), and of ``cos``/``sin`` of
        their phase ``2 pi delay / period`` (zero without a known sync).
    cube
        ``(pixels_y, pixels_x, bins)`` decay histogram of each pixel over ``edges_ps``, or
        ``None`` without delays.
    row_time_ps
        Time the beam spent on each row, all passes together, ps.
    period_ps
        Laser period the delays are folded onto, ps.
    frames, lines
        Frame markers seen; lines placed in the image.
    line_time_ps
        Summed duration of the lines placed, ps.
    photons
        Photons of the imaged channels in the run (placed or not).
    settings
        The grid and markers.
    mode
        ``"T2"`` or ``"T3"``.
    notes
        What may make the image wrong or incomplete.
    """

    counts: np.ndarray
    delay_sum_ps: np.ndarray
    cos_sum: np.ndarray
    sin_sum: np.ndarray
    cube: np.ndarray | None
    row_time_ps: np.ndarray
    edges_ps: np.ndarray | None
    period_ps: float | None
    frames: int
    lines: int
    line_time_ps: int
    photons: int
    settings: ScanSettings
    mode: str | None
    notes: tuple[str, ...]

    @property
    def shape(self) -> tuple[int, int]:
        """``(pixels_y, pixels_x)``."""
        return self.counts.shape  # type: ignore[return-value]

    @property
    def pixel_time_s(self) -> float:
        """Mean time the beam spends on a pixel in one pass, s (0 before a line is placed)."""
        if self.lines == 0:
            return 0.0
        return self.line_time_ps / (self.lines * self.settings.pixels_x) * 1e-12

    @property
    def exposure_s(self) -> np.ndarray:
        """Time the beam spent on each pixel, all passes together, s (rows never scanned, as
        at the end of a run cut short, are 0)."""
        per_pixel = self.row_time_ps * 1e-12 / self.settings.pixels_x
        return np.broadcast_to(per_pixel[:, None], self.shape)

    @property
    def rate_cps(self) -> np.ndarray:
        """Count rate in each pixel, counts/s of beam time there (NaN where never scanned)."""
        exposure = self.exposure_s
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(exposure > 0, self.counts / np.where(exposure > 0, exposure, 1),
                            np.nan)  # fmt: skip

    @property
    def scanned(self) -> np.ndarray:
        """Rows the beam went over (bool per row)."""
        return self.row_time_ps > 0

    @property
    def placed(self) -> int:
        """Photons placed in the image."""
        return int(self.counts.sum())

    def mean_delay_ps(self) -> np.ndarray:
        """Mean photon delay after the pulse in each pixel, ps (NaN in empty pixels)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.counts > 0, self.delay_sum_ps / self.counts, np.nan)

    def phasor(self) -> tuple[np.ndarray, np.ndarray]:
        """Phasor coordinates ``(g, s)`` of each pixel at the laser frequency, as measured
        (not corrected for the instrument response; NaN in empty pixels)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            g = np.where(self.counts > 0, self.cos_sum / self.counts, np.nan)
            s = np.where(self.counts > 0, self.sin_sum / self.counts, np.nan)
        return g, s

    def decay(self, mask: np.ndarray | None = None) -> np.ndarray:
        """The decay histogram summed over the pixels of ``mask`` (bool, image-shaped; all by
        default)."""
        if self.cube is None:
            raise FitError("the image has no photon delays (T2 without a sync, or no period)")
        cube = self.cube if mask is None else self.cube[mask]
        return cube.reshape(-1, cube.shape[-1]).sum(axis=0)

    def fit(self, mask: np.ndarray | None = None, model: str = "mono") -> DecayFit:
        """Fit the decay of the pixels in ``mask`` (Gaussian IRF, free background, the tails
        of earlier pulses wrapped in)."""
        assert self.edges_ps is not None
        return fit_decay(self.decay(mask), self.edges_ps, model, period_ps=self.period_ps)

    def pulse_phase(self) -> tuple[float | None, str | None]:
        """Phase of the laser pulse (IRF centre) at the laser frequency, rad, from a fit of
        the whole image's decay; with a note when it could not be found."""
        if self.cube is None or self.period_ps is None:
            return None, "no photon delays: no lifetime image"
        if self.placed < 200:
            return None, "fewer than 200 photons in the image: no lifetime image"
        fit = None
        for model in ("bi", "mono"):
            try:
                fit = self.fit(None, model)
                break
            except FitError:
                continue
        if fit is None or fit.shift_ps is None:
            return None, "the image's decay could not be fitted: no pulse position, no lifetimes"
        return 2 * math.pi * fit.shift_ps / self.period_ps, None

    def lifetime_image(
        self, min_counts: int = MIN_LIFETIME_COUNTS
    ) -> tuple[np.ndarray, str | None]:
        """Phase lifetime of each pixel, ps: ``tan(phi - phi_pulse) / omega`` from the pixel's
        phasor (exact for one exponential however its tail wraps, and blind to a flat
        background); NaN where a pixel has fewer than ``min_counts`` photons. Returns the
        image and a note (``None`` when all went well)."""
        phase0, note = self.pulse_phase()
        if phase0 is None:
            return np.full(self.shape, np.nan), note
        return phase_lifetime(self.cos_sum, self.sin_sum, self.counts, phase0,
                              self.period_ps, min_counts), None  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """Summary numbers (JSON-friendly)."""
        return {
            "pixels": [self.settings.pixels_x, self.settings.pixels_y],
            "frames": self.frames, "lines": self.lines,
            "pixel_time_s": self.pixel_time_s, "pixel_size_um": self.settings.pixel_size_um,
            "bidirectional": self.settings.bidirectional,
            "photons": self.photons, "photons_placed": self.placed,
            "period_ns": None if self.period_ps is None else self.period_ps / 1e3,
            "notes": list(self.notes),
        }  # fmt: skip


def phase_lifetime(cos_sum, sin_sum, counts, phase0: float, period_ps: float,
                   min_counts: int = MIN_LIFETIME_COUNTS) -> np.ndarray:  # fmt: skip
    """Phase lifetimes (ps) from phasor sums, against a pulse phase ``phase0`` (rad)."""
    omega = 2 * math.pi / period_ps
    phi = np.angle(np.asarray(cos_sum) + 1j * np.asarray(sin_sum)) - phase0
    phi = (phi + math.pi) % (2 * math.pi) - math.pi
    with np.errstate(invalid="ignore"):
        tau = np.tan(phi) / omega
        ok = (np.asarray(counts) >= min_counts) & (phi >= 0) & (phi < math.pi / 2)
    return np.where(ok, tau, np.nan)
