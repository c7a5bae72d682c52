"""A sample of quantum dots under a scanning confocal microscope: where the dots sit, how
bright each is, its lifetime and its blinking, and how the scanner moves over them.

``[field]`` describes the sample, ``[scan]`` the raster scan; ``[scan] park = k`` parks the beam
on dot ``k`` (numbered from 0 by brightness, brightest first) instead of scanning. The dots
are drawn from ``sample_seed`` alone, so a scan and a parked run of one config see the same
sample whatever the run's seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...tags import parse_time
from .config_fields import ConfigError, no_unknown, number_in, time_ps

FWHM_PER_SIGMA = 2 * math.sqrt(2 * math.log(2))


@dataclass(frozen=True)
class FieldSpec:
    """The sample: ``dots`` dots in a square of ``size_um``, at least ``min_separation_um``
    apart and ``margin_um`` from its edges; a Gaussian excitation PSF of FWHM ``psf_fwhm_um``;
    per dot a lifetime, a ``<N>`` at the PSF's centre and mean ON/OFF dwells, each drawn
    log-uniformly between its two bounds."""

    dots: int = 20
    size_um: float = 10.0
    psf_fwhm_um: float = 0.35
    min_separation_um: float = 0.8
    margin_um: float = 0.5
    lifetime_ps: tuple[float, float] = (2_000.0, 12_000.0)
    mean_excitations: tuple[float, float] = (0.01, 0.3)
    on_dwell_ps: tuple[float, float] = (2e11, 2e12)
    off_dwell_ps: tuple[float, float] = (5e9, 5e10)
    sample_seed: int = 1

    @property
    def sigma_um(self) -> float:
        """Standard deviation of the PSF, µm."""
        return self.psf_fwhm_um / FWHM_PER_SIGMA


@dataclass(frozen=True)
class ScanSpec:
    """A raster scan: ``pixels`` x ``pixels`` over the field, ``pixel_time_ps`` per pixel, the
    beam returning in ``flyback_ps`` between lines; ``frames`` frames (then the run ends),
    every second line backwards when ``bidirectional``. ``park``: the dot to park on, by
    number; ``park_at``: by position (µm; the nearest dot, within a PSF FWHM)."""

    pixels: int = 100
    pixel_time_ps: int = 10**9
    flyback_ps: int = 10**9
    frames: int = 1
    bidirectional: bool = False
    park: int | None = None
    park_at: tuple[float, float] | None = None

    @property
    def parked(self) -> bool:
        """The beam is parked on a dot (no scan)."""
        return self.park is not None or self.park_at is not None

    @property
    def line_ps(self) -> int:
        """Time the beam spends on one line, ps."""
        return self.pixels * self.pixel_time_ps

    @property
    def line_period_ps(self) -> int:
        """Line plus flyback, ps."""
        return self.line_ps + self.flyback_ps

    @property
    def frame_ps(self) -> int:
        """One frame, ps."""
        return self.pixels * self.line_period_ps

    @property
    def duration_ps(self) -> int:
        """The whole scan, from a flyback before the first line to one after the last, ps."""
        return self.flyback_ps + self.frames * self.frame_ps


@dataclass(frozen=True)
class Sample:
    """The dots drawn for a field, brightest (largest ``<N>``) first; positions in µm."""

    x_um: np.ndarray
    y_um: np.ndarray
    lifetime_ps: np.ndarray
    mean_excitations: np.ndarray
    on_dwell_ps: np.ndarray
    off_dwell_ps: np.ndarray

    @property
    def on_fraction(self) -> np.ndarray:
        """Long-run fraction of time each dot is ON."""
        return self.on_dwell_ps / (self.on_dwell_ps + self.off_dwell_ps)


def draw_sample(spec: FieldSpec) -> Sample:
    """The dots of ``spec``, from its ``sample_seed``."""
    rng = np.random.default_rng(np.random.SeedSequence(spec.sample_seed, spawn_key=(7,)))
    lo, hi = spec.margin_um, spec.size_um - spec.margin_um
    xs: list[float] = []
    ys: list[float] = []
    for _ in range(10_000 * spec.dots):
        if len(xs) == spec.dots:
            break
        x, y = rng.uniform(lo, hi, 2)
        far = (x - np.array(xs)) ** 2 + (y - np.array(ys)) ** 2 >= spec.min_separation_um**2
        if far.all():
            xs.append(float(x))
            ys.append(float(y))
    else:
        raise ConfigError(f"[field]: {spec.dots} dots {spec.min_separation_um} um apart do not "
                          f"fit in {spec.size_um} um")  # fmt: skip

    def log_uniform(bounds: tuple[float, float]) -> np.ndarray:
        a, b = math.log(bounds[0]), math.log(bounds[1])
        return np.exp(rng.uniform(a, b, spec.dots))

    lifetimes = log_uniform(spec.lifetime_ps)
    brightness = log_uniform(spec.mean_excitations)
    on, off = log_uniform(spec.on_dwell_ps), log_uniform(spec.off_dwell_ps)
    order = np.argsort(-brightness, kind="stable")
    return Sample(np.array(xs)[order], np.array(ys)[order], lifetimes[order], brightness[order],
                  on[order], off[order])  # fmt: skip


def parse_field(table: Mapping[str, Any], where: str) -> FieldSpec:
    """``[field]`` of a simulator config."""
    keys = {"dots", "size", "psf_fwhm", "min_separation", "margin", "lifetime",
            "mean_excitations", "on_dwell", "off_dwell", "sample_seed"}  # fmt: skip
    no_unknown(table, keys, where)
    dots = table.get("dots", 20)
    if isinstance(dots, bool) or not isinstance(dots, int) or not 1 <= dots <= 10_000:
        raise ConfigError(f"{where}.dots: a whole number from 1 to 10000, got {dots!r}")
    seed = table.get("sample_seed", 1)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"{where}.sample_seed: a whole number >= 0, got {seed!r}")
    spec = FieldSpec(
        dots=dots,
        size_um=_um(table, "size", where, 10.0),
        psf_fwhm_um=_um(table, "psf_fwhm", where, 0.35),
        min_separation_um=_um(table, "min_separation", where, 0.8),
        margin_um=_um(table, "margin", where, 0.5, positive=False),
        lifetime_ps=_time_range(table, "lifetime", where, (2_000.0, 12_000.0)),
        mean_excitations=_range(table, "mean_excitations", where, (0.01, 0.3), 1e-6, 20.0),
        on_dwell_ps=_time_range(table, "on_dwell", where, (2e11, 2e12)),
        off_dwell_ps=_time_range(table, "off_dwell", where, (5e9, 5e10)),
        sample_seed=seed,
    )
    if 2 * spec.margin_um >= spec.size_um:
        raise ConfigError(f"{where}.margin: leaves no room in a {spec.size_um} um field")
    return spec


def parse_scan(table: Mapping[str, Any], where: str) -> ScanSpec:
    """``[scan]`` of a simulator config."""
    no_unknown(table, {"pixels", "pixel_time", "flyback", "frames", "bidirectional", "park",
                       "park_at"}, where)  # fmt: skip
    pixels = table.get("pixels", 100)
    if isinstance(pixels, bool) or not isinstance(pixels, int) or not 3 <= pixels <= 4096:
        raise ConfigError(f"{where}.pixels: a whole number from 3 to 4096, got {pixels!r}")
    frames = table.get("frames", 1)
    if isinstance(frames, bool) or not isinstance(frames, int) or not 1 <= frames <= 10_000:
        raise ConfigError(f"{where}.frames: a whole number from 1 to 10000, got {frames!r}")
    park = table.get("park")
    if park is not None and (isinstance(park, bool) or not isinstance(park, int) or park < 0):
        raise ConfigError(f"{where}.park: the number of a dot (from 0), got {park!r}")
    park_at = table.get("park_at")
    if park_at is not None:
        if park is not None:
            raise ConfigError(f"{where}: give park or park_at, not both")
        if not isinstance(park_at, list | tuple) or len(park_at) != 2:
            raise ConfigError(f"{where}.park_at: [x, y] in um, got {park_at!r}")
        place = f"{where}.park_at"
        park_at = (_um({"x": park_at[0]}, "x", place, 0.0, positive=False),
                   _um({"y": park_at[1]}, "y", place, 0.0, positive=False))
    bidirectional = table.get("bidirectional", False)
    if not isinstance(bidirectional, bool):
        raise ConfigError(f"{where}.bidirectional: true or false, got {bidirectional!r}")
    return ScanSpec(
        pixels=pixels,
        pixel_time_ps=int(time_ps(table, "pixel_time", where, 10**9)),
        flyback_ps=int(time_ps(table, "flyback", where, 10**9)),
        frames=frames,
        bidirectional=bidirectional,
        park=park,
        park_at=park_at,
    )


def _um(table: Mapping[str, Any], key: str, where: str, default: float,
        positive: bool = True) -> float:  # fmt: skip
    if key not in table:
        return default
    value = table[key]
    text = str(value).strip()
    if isinstance(value, str) and text.endswith("um"):
        text = text[:-2]
    elif isinstance(value, str) and text.endswith("nm"):
        try:
            return _checked(float(text[:-2]) / 1e3, key, where, positive)
        except ValueError:
            pass
    try:
        return _checked(float(text), key, where, positive)
    except ValueError:
        raise ConfigError(f"{where}.{key}: a length such as \"0.35 um\", got {value!r}") from None


def _checked(value: float, key: str, where: str, positive: bool) -> float:
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ConfigError(f"{where}.{key}: must be {'positive' if positive else '>= 0'}")
    return value


def _range(table, key, where, default, lo, hi) -> tuple[float, float]:
    if key not in table:
        return default
    value = table[key]
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ConfigError(f"{where}.{key}: two bounds [low, high], got {value!r}")
    a, b = (number_in({key: v}, key, where, lo, hi, None) for v in value)
    if a > b or a <= 0:
        raise ConfigError(f"{where}.{key}: bounds must be positive and in order")
    return (a, b)


def _time_range(table, key, where, default) -> tuple[float, float]:
    if key not in table:
        return default
    value = table[key]
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ConfigError(f"{where}.{key}: two bounds [\"low\", \"high\"], got {value!r}")
    a, b = (float(parse_time(v, f"{where}.{key}")) for v in value)
    if not 0 < a <= b:
        raise ConfigError(f"{where}.{key}: bounds must be positive and in order")
    return (a, b)
