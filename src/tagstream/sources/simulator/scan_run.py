"""A confocal raster scan over a field of dots: the beam moves along each line at constant
speed, excites every dot by the PSF's intensity at it, and the scanner marks each line's start
and stop and each frame with markers, as PicoQuant's scanners do (``ImgHdr_*`` in the
metadata), so the tags open as an image anywhere."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ...formats import scan_spec
from ...formats.pq_spec import MARKER_BASE
from ...tags import Channel, ChannelMap, Role, TagBatch
from .config import Blinking, ConfigError, Decay, SimConfig
from .field import Sample, draw_sample
from .run import _EMITTER, SimulatedRun, _rng
from .setup import DetectorBank

#: Marker inputs of the scanner (PicoQuant numbering, 1..4) and their channel numbers.
LINE_START_INPUT, LINE_STOP_INPUT, FRAME_INPUT = 1, 2, 3
MARKERS = {name: MARKER_BASE + scan_spec.marker_mask(n) for name, n in
           (("line_start", LINE_START_INPUT), ("line_stop", LINE_STOP_INPUT),
            ("frame", FRAME_INPUT))}  # fmt: skip
#: A dot farther than this many PSF sigmas from the beam is not excited.
REACH_SIGMAS = 5.0


class ScanRun(SimulatedRun):
    """Tags of a raster scan over ``config.field`` with ``config.scan``.

    ``duration`` defaults to the scan's frames; a longer run goes on scanning, a shorter one
    ends inside the scan.
    """

    def __init__(self, config: SimConfig, duration=None, seed: int = 0, realtime: bool = False):
        assert config.field is not None and config.scan is not None
        self.sample: Sample = draw_sample(config.field)
        super().__init__(config, duration if duration is not None else config.scan.duration_ps,
                         seed, realtime)  # fmt: skip
        self.block_ps = config.scan.line_period_ps
        self.metadata = _scan_metadata(self.metadata, config)
        end = self.duration_ps if self.duration_ps is not None else config.scan.duration_ps
        self._switches = _blinking(self.sample, int(end), seed)

    @property
    def pixel_size_um(self) -> float:
        """Size of a pixel, µm."""
        assert self.config.field is not None and self.config.scan is not None
        return self.config.field.size_um / self.config.scan.pixels

    def dots_px(self) -> tuple[np.ndarray, np.ndarray]:
        """The dots' centres in pixels (column, row; pixel ``i`` centred at ``i``)."""
        size = self.pixel_size_um
        return self.sample.x_um / size - 0.5, self.sample.y_um / size - 0.5

    def _photons(self, emitter, end: float):
        k = 0
        while k * self.block_ps < end:
            block_end = (k + 1) * self.block_ps
            rng = _rng(self.seed, _EMITTER, k)
            times, dets = self._line(k, rng)
            keep = times < end
            yield k, block_end, block_end >= end, times[keep], dets[keep], rng
            k += 1

    def _line(self, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Emission times and detectors of the photons of line ``k`` (in time order)."""
        config, spec, field = self.config, self.config.scan, self.config.field
        assert spec is not None and field is not None
        row = k % spec.pixels
        backwards = spec.bidirectional and row % 2 == 1
        t_start = spec.flyback_ps + k * spec.line_period_ps
        size, sigma = self.pixel_size_um, field.sigma_um
        beam_y = (row + 0.5) * size
        period = config.excitation.period_ps
        eta = np.array(config.detection_probabilities())
        qy = config.exciton.quantum_yield
        out_t, out_d = [], []
        for i in range(self.sample.x_um.size):
            dy = beam_y - self.sample.y_um[i]
            if abs(dy) > REACH_SIGMAS * sigma:
                continue
            # beam position u (pixels along the line, in scan direction) within reach of the dot
            x_dot = self.sample.x_um[i] / size
            x_dot = spec.pixels - x_dot if backwards else x_dot
            reach = REACH_SIGMAS * sigma / size
            u0, u1 = max(0.0, x_dot - reach), min(float(spec.pixels), x_dot + reach)
            if u1 <= u0:
                continue
            j0 = math.ceil((t_start + u0 * spec.pixel_time_ps - 0.5) / period)
            j1 = math.ceil((t_start + u1 * spec.pixel_time_ps - 0.5) / period)
            if j1 <= j0:
                continue
            n_max = self.sample.mean_excitations[i]
            p_max = -math.expm1(-n_max) * qy * float(eta.sum())
            n = int(rng.binomial(j1 - j0, p_max))
            if n == 0:
                continue
            pulses = j0 + rng.choice(j1 - j0, n, replace=False)
            t = np.floor(pulses * period + 0.5)
            u = (t - t_start) / spec.pixel_time_ps
            dx = (u - x_dot) * size
            p = -np.expm1(-n_max * np.exp(-(dx**2 + dy**2) / (2 * sigma**2))) * qy * eta.sum()
            on = self._on(i, t)
            keep = (rng.random(n) * p_max < p) & on
            t = t[keep] + rng.exponential(self.sample.lifetime_ps[i], int(keep.sum()))
            out_t.append(t.astype(np.int64))
            out_d.append(rng.choice(eta.size, t.size, p=eta / eta.sum()).astype(np.int64))
        if not out_t:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        times, dets = np.concatenate(out_t), np.concatenate(out_d)
        order = np.argsort(times, kind="stable")
        return times[order], dets[order]

    def _on(self, i: int, times: np.ndarray) -> np.ndarray:
        first_on, switches = self._switches[i]
        flips = np.searchsorted(switches, times, side="right")
        return (flips % 2 == 0) == first_on

    def _window(self, bank: DetectorBank, times, dets, t0: int, t1: int, rng) -> TagBatch:
        batch = super()._window(bank, times, dets, t0, t1, rng)
        m_t, m_c = self._markers(t0, t1)
        if m_t.size == 0:
            return batch
        all_t = np.concatenate([m_t, batch.timestamps])
        order = np.argsort(all_t, kind="stable")  # markers before photons at equal times
        all_c = np.concatenate([m_c, batch.channels])[order]
        nano = None
        if batch.nanotimes is not None:
            nano = np.concatenate([bank.nanotimes(m_t), batch.nanotimes])[order]
        return TagBatch(all_t[order], all_c, t0, t1, nanotimes=nano,
                        nanotime_unit_ps=batch.nanotime_unit_ps,
                        sync_period_ps=batch.sync_period_ps, metadata=batch.metadata,
                        check=False)  # fmt: skip

    def _markers(self, t0: int, t1: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame, line-start and line-stop markers in ``[t0, t1)``, in time order (a frame
        marker just before its first line's start)."""
        spec = self.config.scan
        assert spec is not None
        lp, fly = spec.line_period_ps, spec.flyback_ps
        k0 = max(0, (t0 - fly) // lp - 1)
        k1 = max(0, (t1 - fly) // lp + 1)
        times, chans = [], []
        for k in range(int(k0), int(k1) + 1):
            start, stop = fly + k * lp, fly + k * lp + spec.line_ps
            if k % spec.pixels == 0:
                times.append(start)
                chans.append(MARKERS["frame"])
            times += [start, stop]
            chans += [MARKERS["line_start"], MARKERS["line_stop"]]
        t = np.array(times, np.int64)
        c = np.array(chans, np.uint8)
        order = np.argsort(t, kind="stable")
        t, c = t[order], c[order]
        inside = (t >= t0) & (t < t1)
        return t[inside], c[inside]


def _blinking(sample: Sample, end: int, seed: int) -> list[tuple[bool, np.ndarray]]:
    """Per dot: ON at the start or not, and the times it switches (exponential dwells)."""
    out = []
    for i in range(sample.x_um.size):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(11, i)))
        on = bool(rng.random() < sample.on_fraction[i])
        means = (sample.on_dwell_ps[i], sample.off_dwell_ps[i])
        t, state, flips = 0.0, on, []
        while t < end:
            t += rng.exponential(means[0] if state else means[1])
            flips.append(t)
            state = not state
        out.append((on, np.array(flips)))
    return out


def _scan_metadata(md, config: SimConfig):
    spec, field = config.scan, config.field
    assert spec is not None and field is not None
    markers = [Channel(n, name, Role.MARKER) for name, n in MARKERS.items()]
    settings = dict(md.settings)
    settings[scan_spec.SETTINGS_KEY] = {
        "ImgHdr_Dimensions": scan_spec.AREA_IMAGE,
        "ImgHdr_PixX": spec.pixels,
        "ImgHdr_PixY": spec.pixels,
        "ImgHdr_PixResol": field.size_um / spec.pixels,
        "ImgHdr_X0": 0.0,
        "ImgHdr_Y0": 0.0,
        "ImgHdr_TimePerPixel": spec.pixel_time_ps / 1e9,
        "ImgHdr_LineStart": LINE_START_INPUT,
        "ImgHdr_LineStop": LINE_STOP_INPUT,
        "ImgHdr_Frame": FRAME_INPUT,
        "ImgHdr_BiDirect": spec.bidirectional,
        "ImgHdr_SinCorrection": 0,
    }
    return replace(md, channels=ChannelMap([*md.channels, *markers]), settings=settings)


def parked_config(config: SimConfig) -> SimConfig:
    """The single-dot model of the dot ``config.scan.park`` (or the one at ``park_at``) with
    the beam on it (the other dots are out of reach)."""
    assert config.field is not None and config.scan is not None and config.scan.parked
    sample = draw_sample(config.field)
    k = config.scan.park
    if config.scan.park_at is not None:
        x, y = config.scan.park_at
        distance = np.hypot(sample.x_um - x, sample.y_um - y)
        k = int(np.argmin(distance))
        if distance[k] > config.field.psf_fwhm_um:
            raise ConfigError(f"[scan].park_at: no dot within a PSF FWHM "
                              f"({config.field.psf_fwhm_um:g} um) of ({x:g}, {y:g}) um; the "
                              f"nearest is {distance[k]:.3g} um away")  # fmt: skip
    assert k is not None
    if k >= sample.x_um.size:
        raise ConfigError(f"[scan].park: there are {sample.x_um.size} dots (0 to "
                          f"{sample.x_um.size - 1}), not {k}")  # fmt: skip
    blinking = Blinking(states=("on", "off"), dwell="exponential",
                        mean_dwell_ps={"on": float(sample.on_dwell_ps[k]),
                                       "off": float(sample.off_dwell_ps[k])})  # fmt: skip
    return replace(
        config,
        name=f"{config.name} dot {k}",
        excitation=replace(config.excitation, mean_excitations=float(sample.mean_excitations[k])),
        exciton=Decay(float(sample.lifetime_ps[k]), config.exciton.quantum_yield),
        off=Decay(config.off.lifetime_ps, 0.0),
        blinking=blinking,
        field=None,
        scan=None,
    )

