"""Building a scan image from a stream of tags, batch by batch: the photons of each line are
placed once the line's stop marker has come, so any chunking gives the same image. The lines
completed since they were last taken are kept apart too, for a run file's series."""

from __future__ import annotations

import math

import numpy as np

from ..errors import AnalysisError
from ..kernels import scan as k
from ..tags import RunMetadata, TagBatch
from .photon_phases import PhotonPhases
from .scan_image import ScanImage
from .scan_lines import LineSums
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
        self._flags = settings.flag_table()
        self.state = np.zeros(k.STATE_SIZE, dtype=np.int64)
        self.rows: list[int] = []
        self.line_ps: list[int] = []
        self.taken = 0
        self._pending: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.photons = 0
        self._t_end = 0
        self._setup(metadata)

    def _setup(self, metadata: RunMetadata | None) -> None:
        """Photon delays and decay bins from the run's metadata (known later for an imager
        made without it: from its first batch's)."""
        self.metadata = metadata
        self._phases = _phases(metadata)
        self.notes: list[str] = list(self.settings.notes)
        self.edges_ps = None if self._phases is None else self._edges(_period(metadata))
        bins = 0 if self.edges_ps is None else self.edges_ps.size - 1
        self.image = LineSums(self.settings.pixels_y, self.settings.pixels_x, bins)
        #: The lines completed and not yet taken (:meth:`take_lines`), indexed from ``taken``.
        self.fresh = LineSums(0, self.settings.pixels_x, bins)

    def process(self, batch: TagBatch) -> None:
        """Place the photons of ``batch`` (and of the line left open by the previous one)."""
        self._t_end = batch.t_end
        if self.metadata is None and batch.metadata is not None and not self.state.any():
            self._setup(batch.metadata)
        if len(batch.timestamps) == 0:
            return
        times = batch.timestamps
        chans = batch.channels.astype(np.int64)
        delays = self._delays(batch)
        if self._pending is not None:
            p_t, p_c, p_d = self._pending
            times, chans = np.concatenate([p_t, times]), np.concatenate([p_c, chans])
            delays = np.concatenate([p_d, delays])
        rows, xs, lines = (np.empty(times.size, dtype=np.int64) for _ in range(3))
        line_rows, line_ps = (np.empty(times.size + 1, dtype=np.int64) for _ in range(2))
        s = self.settings
        base = int(self.state[k.S_LINES])
        keep = k.scan_pixels(times, chans, self._flags, s.pixels_x, s.pixels_y,
                             s.pixel_time_ps, s.bidirectional, len(s.frame) > 0,
                             self.state, rows, xs, lines, line_rows, line_ps)  # fmt: skip
        new = int(self.state[k.S_LINES]) - base
        self.rows += line_rows[:new].tolist()
        self.line_ps += line_ps[:new].tolist()
        np.add.at(self.image.time_ps, line_rows[:new], line_ps[:new])
        self._add(rows[:keep], xs[:keep], lines[:keep], delays[:keep])
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
        self.state[:] = self.resume_state(final=True)
        self._pending = None

    def resume_state(self, final: bool = False) -> np.ndarray:
        """The scan state with the open line (if any) given up: what an imager that continues
        from here without that line's tags starts from (``final``: the run ends here; a line
        with a fixed dwell then counts as placed)."""
        st, s = self.state.copy(), self.settings
        if self._pending is not None:  # before the open line's start marker: take it
            f = int(self._flags[self._pending[1][0]])
            if f & k.FRAME:
                st[k.S_FRAME] += 1
                st[k.S_NEXT_ROW] = 0
            if st[k.S_NEXT_ROW] >= s.pixels_y and not s.frame:
                st[k.S_FRAME] += 1
                st[k.S_NEXT_ROW] = 0
            st[k.S_NEXT_ROW] += 1
            st[k.S_ABANDONED] += 1
        elif st[k.S_OPEN] == 1 and s.pixel_time_ps > 0 and st[k.S_ROW] >= 0 and not final:
            st[k.S_LINES] -= 1
            st[k.S_LINE_PS] -= s.pixels_x * s.pixel_time_ps
            st[k.S_ABANDONED] += 1
        st[k.S_OPEN] = 0
        return st

    def restart(self, t_resume: int) -> None:
        """Lose the open line, as an analysis restored at ``t_resume`` from this imager's last
        snapshot does (its photons so far leave the image)."""
        del t_resume
        st, s = self.state, self.settings
        if self._pending is None and st[k.S_OPEN] == 1 and s.pixel_time_ps > 0 \
                and st[k.S_ROW] >= 0:  # fmt: skip
            i = int(st[k.S_LINES]) - 1 - self.taken
            lines = self.fresh.head(i + 1)
            lines.time_ps[i] = self.line_ps[i]
            self.image.add_line(int(st[k.S_ROW]), lines, i, sign=-1)
            self.fresh = self.fresh.head(i)
            self.rows, self.line_ps = self.rows[:i], self.line_ps[:i]
        st[:] = self.resume_state()
        self._pending = None

    def _delays(self, batch: TagBatch) -> np.ndarray:
        if self._phases is None:
            return np.full(len(batch.timestamps), np.nan)
        return self._phases.of(batch)

    def _add(self, rows: np.ndarray, xs: np.ndarray, lines: np.ndarray, delays) -> None:
        placed = rows >= 0
        if not placed.any():
            return
        rows, xs, lines, d = rows[placed], xs[placed], lines[placed], delays[placed]
        last = int(lines[-1])
        omega = 2 * math.pi / self._phases.period_ps if self._phases is not None else 0.0
        bins = None
        if self.edges_ps is not None:
            width = self.edges_ps[1] - self.edges_ps[0]
            bins = np.minimum((np.nan_to_num(d) / width).astype(np.int64), self.image.bins - 1)
        self.image.add(rows, xs, d, omega, bins)
        self.fresh.grow(last + 1 - self.taken)
        self.fresh.add(lines - self.taken, xs, d, omega, bins)

    def _edges(self, period: float | None) -> np.ndarray | None:
        """Bin edges of the per-pixel decays over one laser period (whole nanotime units)."""
        if period is None:
            return None
        s = self.settings
        unit = (self.metadata.nanotime_unit_ps if self.metadata is not None else None) or 1.0
        width = s.decay_bin_ps or max(period / 128, unit)
        width = max(round(width / unit), 1) * unit
        bins = min(math.ceil(period / width), MAX_DECAY_BINS)
        n_pix = s.pixels_x * s.pixels_y
        while n_pix * bins > MAX_CUBE and bins > 8:
            bins //= 2
        if bins * width < period - width:
            width = period / bins
            self.notes.append(f"the per-pixel decays use {bins} bins of {width:.4g} ps (at most "
                              f"{MAX_DECAY_BINS} bins, {MAX_CUBE:.3g} pixel-bins)")  # fmt: skip
        edges = np.minimum(np.arange(bins + 1) * width, period)
        edges[-1] = period
        return edges

    def complete_lines(self) -> int:
        """Lines placed whose photons are all in (a fixed-dwell line still open is not)."""
        st = self.state
        open_now = self.settings.pixel_time_ps > 0 and st[k.S_OPEN] == 1 and st[k.S_ROW] >= 0
        return int(st[k.S_LINES]) - (1 if open_now else 0)

    def take_lines(self, final: bool = False) -> tuple[list[int], LineSums]:
        """The rows and sums of the lines completed since the last call (``final``: every
        line placed, an open one too; each line's duration in ``time_ps``), and forget them
        here."""
        done = int(self.state[k.S_LINES]) if final else self.complete_lines()
        n = max(done - self.taken, 0)
        rows, lines = self.rows[:n], self.fresh.head(n)
        lines.time_ps[:] = self.line_ps[:n]
        self.rows, self.line_ps = self.rows[n:], self.line_ps[n:]
        self.fresh = self.fresh.tail(n)
        self.taken += n
        return rows, lines

    def restore(self, state: np.ndarray, rows: list[int], lines: LineSums, photons: int) -> None:
        """Continue after the lines ``lines`` (rows ``rows``), with the kernel ``state`` of that
        time; a line open then is lost."""
        self.state[:] = state
        self.state[k.S_OPEN] = 0
        for row, i in zip(rows, range(len(rows)), strict=True):
            if 0 <= row < self.settings.pixels_y:
                self.image.add_line(row, lines, i)
        self.taken = len(rows)
        self.photons = photons

    def result(self, final: bool = True) -> ScanImage:
        """The image so far; ``final``: the stream has ended (a line still open is cut
        short)."""
        s, st = self.settings, self.state
        cut = final and self._pending is not None
        notes = [*self.notes, *scan_notes(st, s, cut)]
        return self.image.as_image(
            edges_ps=self.edges_ps, period_ps=_period(self.metadata) if self._phases else None,
            frames=int(st[k.S_FRAME]), lines=int(st[k.S_LINES]),
            line_time_ps=int(st[k.S_LINE_PS]), photons=self.photons, settings=s,
            mode=None if self.metadata is None else self.metadata.mode, notes=tuple(notes),
        )  # fmt: skip


def scan_notes(state: np.ndarray, settings: ScanSettings, cut_short: bool) -> list[str]:
    """What the scan state says is missing from the image (``cut_short``: the run ended
    inside a line)."""
    notes = []
    abandoned = int(state[k.S_ABANDONED]) + (1 if cut_short else 0)
    if cut_short:
        notes.append("the last line has no stop marker (the run ends inside it): its photons "
                     "are not in the image")  # fmt: skip
    if abandoned:
        notes.append(f"{abandoned} line(s) without a stop marker are left out")
    if state[k.S_EXTRA]:
        notes.append(f"{int(state[k.S_EXTRA])} line(s) beyond the {settings.pixels_y} of a "
                     "frame are left out")  # fmt: skip
    if state[k.S_LINES] == 0:
        notes.append("no complete scan line: check the marker channels and the pixel grid")
    return notes


def _period(metadata: RunMetadata | None) -> float | None:
    """The laser period the delays fold onto, ps."""
    if metadata is None:
        return None
    return metadata.laser_period_ps or metadata.sync_period_ps


def _phases(metadata: RunMetadata | None) -> PhotonPhases | None:
    """Photon delays, when the run knows its sync (T3, or T2 with a sync channel)."""
    if metadata is None or _period(metadata) is None:
        return None
    if metadata.mode == "T2" and metadata.channels.sync is None:
        return None
    try:
        return PhotonPhases(metadata.channels)
    except AnalysisError:
        return None
