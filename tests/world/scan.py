"""An independent confocal scan, from first principles: dots with a Gaussian PSF under a raster
scan, photons drawn pixel by pixel, written as a PicoQuant PTU file through the independent
encoder ``tests/pq_encoder.py`` with PicoQuant's marker and header conventions.

Nothing here uses tagstream. The conventions (PicoQuant's file format manual and demo readers):
marker inputs ``ImgHdr_LineStart``/``ImgHdr_LineStop``/``ImgHdr_Frame`` (1..4) are bit
``1 << (n - 1)`` of a marker record's mask, several markers may share one record; the scanner
moves linearly from a line's start to its stop marker over ``ImgHdr_PixX`` pixels;
``ImgHdr_BiDirect`` scans every second line backwards.

The model: the beam dwells ``dwell_syncs`` sync periods on each pixel; a pixel's photons are
Poisson with mean ``dwell x (background + sum_k peak_k exp(-r_k^2 / 2 sigma^2))`` (the rate at
the pixel's centre), each from a dot (in proportion to its share) or the background; a dot's
photon comes ``offset + N(0, irf) + Exp(tau)`` after its pulse (folded onto the period), a
background photon uniformly. Markers sit on sync boundaries, so each photon's pixel is known
exactly: the truth image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.pq_encoder import MARKER, PHOTON, encode, ptu_file

LINE_START, LINE_STOP, FRAME = 1, 2, 3  # marker inputs
MASK = {"start": 1 << (LINE_START - 1), "stop": 1 << (LINE_STOP - 1), "frame": 1 << (FRAME - 1)}


@dataclass
class ScanWorld:
    """A field of dots and how it is scanned (positions in pixels, column then row)."""

    nx: int = 48
    ny: int = 48
    dwell_syncs: int = 100_000  # 5 ms at 20 MHz
    flyback_syncs: int = 20_000
    period_ps: int = 50_000
    dtime_ps: int = 8
    frames: int = 1
    bidirectional: bool = False
    combined_frame_marker: bool = True
    psf_sigma_px: float = 1.2
    background_cps: float = 4_000.0
    irf_sigma_ps: float = 60.0
    offset_ps: float = 3_000.0
    dots: list[tuple[float, float, float, float]] = field(default_factory=list)
    seed: int = 0

    def pixel_s(self) -> float:
        return self.dwell_syncs * self.period_ps * 1e-12

    def expected(self) -> np.ndarray:
        """(ny, nx, 1 + dots): mean photons per pixel pass from the background and each dot."""
        yy, xx = np.mgrid[0 : self.ny, 0 : self.nx]
        parts = [np.full((self.ny, self.nx), self.background_cps)]
        for x, y, peak, _ in self.dots:
            parts.append(peak * np.exp(-((xx - x) ** 2 + (yy - y) ** 2)
                                       / (2 * self.psf_sigma_px**2)))  # fmt: skip
        return np.stack(parts, axis=-1) * self.pixel_s()


def random_dots(rng, n, nx, ny, min_sep, peaks, taus, margin=3.0):
    """``n`` dots at least ``min_sep`` pixels apart, peak rates and lifetimes log-uniform."""
    dots: list[tuple[float, float, float, float]] = []
    while len(dots) < n:
        x, y = rng.uniform(margin, nx - 1 - margin), rng.uniform(margin, ny - 1 - margin)
        if all((x - a) ** 2 + (y - b) ** 2 >= min_sep**2 for a, b, _, _ in dots):
            peak = float(np.exp(rng.uniform(*np.log(peaks))))
            tau = float(np.exp(rng.uniform(*np.log(taus))))
            dots.append((float(x), float(y), peak, tau))
    return dots


def scan_events(world: ScanWorld):
    """Events in record order: nsync, kind, channel (photon input or marker mask), dtime; and
    the truth image (photons per pixel over all frames)."""
    rng = np.random.default_rng(world.seed)
    mean = world.expected()
    truth = np.zeros((world.ny, world.nx), np.int64)
    nsync, kind, chan, dtime = [], [], [], []
    line_syncs = world.nx * world.dwell_syncs
    s = world.flyback_syncs
    n_bins = world.period_ps // world.dtime_ps
    for _frame in range(world.frames):
        for row in range(world.ny):
            backwards = world.bidirectional and row % 2 == 1
            if row == 0 and world.combined_frame_marker:
                nsync.append(s), kind.append(MARKER), chan.append(MASK["start"] | MASK["frame"])
                dtime.append(0)
            else:
                if row == 0:
                    nsync.append(s), kind.append(MARKER), chan.append(MASK["frame"])
                    dtime.append(0)
                nsync.append(s), kind.append(MARKER), chan.append(MASK["start"]), dtime.append(0)
            p_t, p_c, p_d = [], [], []
            for step in range(world.nx):
                col = world.nx - 1 - step if backwards else step
                lam = mean[row, col]
                n = rng.poisson(lam.sum())
                truth[row, col] += n
                source = rng.choice(lam.size, n, p=lam / lam.sum())
                first = s + step * world.dwell_syncs
                p_t.append(rng.integers(first, first + world.dwell_syncs, n))
                delay = rng.uniform(0, world.period_ps, n)
                for k, (_, _, _, tau) in enumerate(world.dots):
                    mine = source == k + 1
                    m = int(mine.sum())
                    delay[mine] = (world.offset_ps + rng.normal(0, world.irf_sigma_ps, m)
                                   + rng.exponential(tau, m)) % world.period_ps  # fmt: skip
                p_d.append(np.minimum((delay // world.dtime_ps).astype(np.int64), n_bins - 1))
                p_c.append(rng.integers(0, 2, n))
            t = np.concatenate(p_t)
            order = np.argsort(t, kind="stable")
            nsync += np.concatenate(p_t)[order].tolist()
            kind += [PHOTON] * t.size
            chan += np.concatenate(p_c)[order].tolist()
            dtime += np.concatenate(p_d)[order].tolist()
            s += line_syncs
            nsync.append(s), kind.append(MARKER), chan.append(MASK["stop"]), dtime.append(0)
            # background during the flyback: outside every line
            n = rng.poisson(world.background_cps * world.flyback_syncs * world.period_ps * 1e-12)
            fly = np.sort(rng.integers(s + 1, s + world.flyback_syncs, n))
            nsync += fly.tolist()
            kind += [PHOTON] * n
            chan += rng.integers(0, 2, n).tolist()
            dtime += rng.integers(0, n_bins, n).tolist()
            s += world.flyback_syncs
    return (np.array(nsync, np.int64), np.array(kind, np.int64), np.array(chan, np.int64),
            np.array(dtime, np.int64), truth)  # fmt: skip


def image_header(world: ScanWorld, pixel_size_um: float = 0.1):
    """The ``ImgHdr_*`` tags a PicoQuant scanner writes."""
    return [
        ("ImgHdr_Dimensions", -1, "Int8", 3),
        ("ImgHdr_Ident", -1, "Int8", 3),
        ("ImgHdr_PixX", -1, "Int8", world.nx),
        ("ImgHdr_PixY", -1, "Int8", world.ny),
        ("ImgHdr_PixResol", -1, "Float8", pixel_size_um),
        ("ImgHdr_TimePerPixel", -1, "Float8", world.pixel_s() * 1e3),
        ("ImgHdr_LineStart", -1, "Int8", LINE_START),
        ("ImgHdr_LineStop", -1, "Int8", LINE_STOP),
        ("ImgHdr_Frame", -1, "Int8", FRAME),
        ("ImgHdr_BiDirect", -1, "Bool8", world.bidirectional),
        ("ImgHdr_SinCorrection", -1, "Int8", 0),
    ]


def write_scan_ptu(world: ScanWorld, path: str | Path, fmt: str = "HydraHarp2T3",
                   rng: np.random.Generator | None = None) -> np.ndarray:  # fmt: skip
    """Write the scan as a T3 PTU file; returns the truth image. PicoHarp T3 counts inputs
    from 1 (photons on inputs 1 and 2)."""
    nsync, kind, chan, dtime, truth = scan_events(world)
    if fmt.startswith("PicoHarp"):
        chan = np.where(kind == PHOTON, chan + 1, chan)
    records, _ = encode(fmt, nsync, kind, chan, dtime, rng)
    ptu_file(path, fmt, records, world.dtime_ps * 1e-12, 1e12 / world.period_ps,
             extra_tags=image_header(world))  # fmt: skip
    return truth
