"""Building a scan image from a stream of tags, batch by batch: the photons of each line are
placed once the line's stop marker has come, so any chunking gives the same image."""

from __future__ import annotations

import math

import numpy as np

from ..errors import AnalysisError
from ..kernels import scan as k
from ..tags import RunMetadata, TagBatch
from .photon_phases import PhotonPhases
from .scan_image import ScanImage
from .scan_settings import MAX_CUBE, MAX_DECAY_BINS, ScanSettings

#: A line still open after this many tags is given up (its stop marker is missing).
MAX_OPEN_LINE_TAGS = 50_000_000


class ScanImager:
    """Counts, delays and phasors per pixel, and a decay histogram per pixel.

    Parameters
    ----------
    settings
        The grid and markers (:func:`~tagstream.analysis.scan_settings.scan_settings`).
    metadata
        The run's metadata: its channel map, and its sync for photon delays (without a known
        period the image holds counts only).
    """

    def __init__(self, settings: ScanSettings, metadata: RunMetadata | None):
        self.settings = settings
        self.metadata = metadata
        self._flags = settings.flag_table()
        self._state = np.zeros(k.STATE_SIZE, dtype=np.int64)
        n_pix = settings.pixels_x * settings.pixels_y
        self.counts = np.zeros(n_pix, dtype=np.int64)
        self._delay_sum = np.zeros(n_pix)
        self._cos_sum = np.zeros(n_pix)
        self._sin_sum = np.zeros(n_pix)
        self._cube: np.ndarray | None = None
        self._edges: np.ndarray | None = None
        self._phases = _phases(metadata)
        self._pending: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.photons = 0
        self.notes: list[str] = list(settings.notes)
        self._t_end = 0

    def process(self, batch: TagBatch) -> None:
        """Place the photons of ``batch`` (and of the line left open by the previous one)."""
        self._t_end = batch.t_end
        if len(batch.timestamps) == 0:
            return
        times = batch.timestamps
        chans = batch.channels.astype(np.int64)
        delays = self._delays(batch)
        if self._pending is not None:
            p_t, p_c, p_d = self._pending
            times, chans = np.concatenate([p_t, times]), np.concatenate([p_c, chans])
            delays = np.concatenate([p_d, delays])
        rows = np.empty(times.size, dtype=np.int64)
        xs = np.empty(times.size, dtype=np.int64)
        s = self.settings
        keep = k.scan_pixels(times, chans, self._flags, s.pixels_x, s.pixels_y,
                             s.pixel_time_ps, s.bidirectional, len(s.frame) > 0,
                             self._state, rows, xs)  # fmt: skip
        self._add(rows[:keep], xs[:keep], delays[:keep])
        self.photons += int(np.count_nonzero(self._flags[batch.channels] == k.COUNTED))
        if keep < times.size:
            self._pending = (times[keep:], chans[keep:], delays[keep:])
            if times.size - keep > MAX_OPEN_LINE_TAGS:
                self._give_up()
        else:
            self._pending = None

    def _give_up(self) -> None:
        """Drop the open line (its stop never came): its start marker takes effect, its
        photons stay out of the image."""
        assert self._pending is not None
        st, s = self._state, self.settings
        f = int(self._flags[self._pending[1][0]])
        if f & k.FRAME:
            st[k.S_FRAME] += 1
            st[k.S_NEXT_ROW] = 0
        if st[k.S_NEXT_ROW] >= s.pixels_y and not s.frame:
            st[k.S_FRAME] += 1
            st[k.S_NEXT_ROW] = 0
        st[k.S_NEXT_ROW] += 1
        st[k.S_OPEN] = 0
        st[k.S_ABANDONED] += 1
        self._pending = None

    def _delays(self, batch: TagBatch) -> np.ndarray:
        if self._phases is None:
            return np.full(len(batch.timestamps), np.nan)
        return self._phases.of(batch)

    def _add(self, rows: np.ndarray, xs: np.ndarray, delays: np.ndarray) -> None:
        placed = rows >= 0
        if not placed.any():
            return
        pix = rows[placed] * self.settings.pixels_x + xs[placed]
        n = self.counts.size
        self.counts += np.bincount(pix, minlength=n)
        d = delays[placed]
        known = np.isfinite(d)
        if not known.any() or self._phases is None or self._phases.period_ps is None:
            return
        pix, d = pix[known], d[known]
        period = self._phases.period_ps
        omega = 2 * math.pi / period
        self._delay_sum += np.bincount(pix, weights=d, minlength=n)
        self._cos_sum += np.bincount(pix, weights=np.cos(omega * d), minlength=n)
        self._sin_sum += np.bincount(pix, weights=np.sin(omega * d), minlength=n)
        if self._cube is None:
            self._make_cube(period)
        assert self._cube is not None and self._edges is not None
        bins = self._edges.size - 1
        b = np.minimum((d / (self._edges[1] - self._edges[0])).astype(np.int64), bins - 1)
        self._cube += np.bincount(pix * bins + b, minlength=n * bins).reshape(n, bins)

    def _make_cube(self, period: float) -> None:
        s = self.settings
        unit = (self.metadata.nanotime_unit_ps if self.metadata is not None else None) or 1.0
        width = s.decay_bin_ps or max(period / 128, unit)
        width = max(round(width / unit), 1) * unit  # whole nanotime units
        bins = min(math.ceil(period / width), MAX_DECAY_BINS)
        n_pix = s.pixels_x * s.pixels_y
        while n_pix * bins > MAX_CUBE and bins > 8:
            bins //= 2
        if bins * width < period - width:
            width = period / bins
            self.notes.append(f"the per-pixel decays use {bins} bins of {width:.4g} ps (at most "
                              f"{MAX_DECAY_BINS} bins, {MAX_CUBE:.3g} pixel-bins)")  # fmt: skip
        self._edges = np.minimum(np.arange(bins + 1) * width, period)
        self._edges[-1] = period
        self._cube = np.zeros((n_pix, bins), dtype=np.int64)

    def result(self, final: bool = True) -> ScanImage:
        """The image so far; ``final``: the stream has ended (a line still open is cut
        short)."""
        s, st = self.settings, self._state
        notes = list(self.notes)
        abandoned = int(st[k.S_ABANDONED])
        if final and self._pending is not None:
            abandoned += 1
            notes.append("the last line has no stop marker (the run ends inside it): its "
                         "photons are not in the image")  # fmt: skip
        if abandoned:
            notes.append(f"{abandoned} line(s) without a stop marker are left out")
        if st[k.S_EXTRA]:
            notes.append(f"{int(st[k.S_EXTRA])} line(s) beyond the {s.pixels_y} of a frame are "
                         "left out")  # fmt: skip
        if st[k.S_LINES] == 0:
            notes.append("no complete scan line: check the marker channels and the pixel grid")
        shape = (s.pixels_y, s.pixels_x)
        period = None if self._phases is None else self._phases.period_ps
        cube = None if self._cube is None else self._cube.reshape(*shape, -1)
        return ScanImage(
            counts=self.counts.reshape(shape).copy(),
            delay_sum_ps=self._delay_sum.reshape(shape).copy(),
            cos_sum=self._cos_sum.reshape(shape).copy(),
            sin_sum=self._sin_sum.reshape(shape).copy(),
            cube=None if cube is None else cube.copy(),
            edges_ps=None if self._edges is None else self._edges.copy(),
            period_ps=period,
            frames=int(st[k.S_FRAME]),
            lines=int(st[k.S_LINES]),
            line_time_ps=int(st[k.S_LINE_PS]),
            photons=self.photons,
            settings=s,
            mode=None if self.metadata is None else self.metadata.mode,
            notes=tuple(notes),
        )


def _phases(metadata: RunMetadata | None) -> PhotonPhases | None:
    """Photon delays, when the run knows its sync (T3, or T2 with a sync channel)."""
    if metadata is None:
        return None
    if metadata.mode == "T2" and metadata.channels.sync is None:
        return None
    if metadata.sync_period_ps is None and metadata.laser_period_ps is None:
        return None
    try:
        return PhotonPhases(metadata.channels)
    except AnalysisError:
        return None
