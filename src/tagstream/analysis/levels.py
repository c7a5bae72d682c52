"""Intensity levels photon by photon: the change points of a stream, found while it streams.

The photons of the emitter's channels are put on the run's live clock (lost time taken out, so a
gap is not mistaken for an OFF period) and searched for change points (:mod:`.changepoints`) in
windows of :data:`WINDOW` photons: whenever ``WINDOW + 1`` photons wait, the first ``WINDOW``
(on the segment from the window's start to the next photon) are segmented; the change points
among the first three quarters are kept and the window moves to the last of them. Without one
there, the window moves on by half its photons (the level goes on). The change points near a
window's end are found again in the next window, with the photons after them. At the end of the
run the photons left are segmented up to the run's end. Which photons are segmented together
depends on the photons alone, so the levels are the same in any chunking of the stream.

Each level keeps its live start and end, its photons and, where the run gives photon delays
after the laser pulse, the photons with a delay, their sum and a coarse decay histogram
(:data:`DECAY_BINS` bins over the laser period): the decays of each level and each state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import AnalysisError
from ..kernels.changepoint import quiet_windows
from ..kernels.selection import phase_sums, select_tags
from ..tags import ChannelMap, TagBatch
from .changepoint_null import SPANS
from .changepoints import critical, find_changes
from .channels import channel_label, resolve_many, selection_table
from .level_result import LevelsResult
from .photon_phases import PhotonPhases
from .stream import Coverage, GrowingColumns

#: Photons segmented together (see the module docstring).
WINDOW = 8192
#: Bins of each level's decay histogram over the laser period.
DECAY_BINS = 128
#: Rows of the level table: start and end on the run's clock (ps), live time (ps), photons,
#: photons with a delay, delay sum (whole ps).
LEVEL_ROWS = ("start_ps", "end_ps", "live_ps", "counts", "timed", "delay_sum_ps")


class LevelsAnalyzer:
    """Change-point intensity levels of the selected channels' photons, fed batch by batch.

    Parameters
    ----------
    detectors
        Channels whose photons are taken together; ``None`` for every detector.
    alpha
        Probability of a spurious change point in a segment without one (0.05, 0.01, 0.001).
    decays
        Keep each level's photon delays after the laser pulse (needs a sync).
    delays
        ``{channel: delay}``: cable delays to take off each channel's photon delays.
    """

    def __init__(
        self,
        detectors: str | int | Sequence[str | int] | None = None,
        channels: ChannelMap | None = None,
        alpha: float = 0.01,
        decays: bool = False,
        delays: Mapping | None = None,
    ):
        self.detectors = resolve_many(detectors, channels)
        self.labels = tuple(channel_label(n, channels) for n in self.detectors)
        self.alpha = float(alpha)
        self._selected = selection_table(self.detectors)
        self._phases = PhotonPhases(channels, delays) if decays else None
        self._coverage = Coverage()
        # live times of the photons not in a closed level, and their times on the run's clock
        # (one array while no time was lost)
        self._t = self._real = np.zeros(0, np.int64)
        self._phase = np.zeros(0)  # their phases, ps (NaN: none; kept only with decays)
        self._a = 0  # live start of the window
        self._open = np.zeros(len(LEVEL_ROWS), np.int64)  # the open level so far (before _t)
        self._open_live = 0  # live start of the open level
        self._open_decay = np.zeros(DECAY_BINS, np.int64)
        self._levels = GrowingColumns(len(LEVEL_ROWS))
        self._decay = GrowingColumns(DECAY_BINS) if decays else None
        self._lost = 0  # ps lost so far
        self._end: int | None = None  # real end of the covered time so far

    # ------------------------------------------------------------------ streaming
    def process(self, batch: TagBatch) -> None:
        """Add one batch (batches must come in time order)."""
        self._coverage.add(batch)
        if self._end is None:
            self._end = self._a = self._open_live = int(batch.t_begin)
            self._open[0] = self._a
        n = batch.timestamps.size
        picked, index = np.empty(n, np.int64), np.empty(n, np.int64)
        k = select_tags(batch.timestamps, batch.channels, self._selected, picked, index)
        ts = picked[:k]
        spans = []  # photons inside the covered intervals (one in a gap is left out), time lost
        for start, stop in batch.covered():
            start, stop = int(start), int(stop)
            if start > self._end:
                self._lost += start - self._end
            i0, i1 = np.searchsorted(ts, [start, stop])
            spans.append((int(i0), int(i1), self._lost))
            self._end = stop
        shared = self._t is self._real
        self._real = np.concatenate([self._real, *(ts[i0:i1] for i0, i1, _ in spans)])
        if shared and self._lost == 0:
            self._t = self._real  # nothing lost yet: live times are the run's times
        else:
            self._t = np.concatenate([self._t, *(ts[i0:i1] - lost for i0, i1, lost in spans)])
        if self._phases is not None:
            ph = self._phases.of(batch)[index[:k]]
            self._phase = np.concatenate([self._phase, *(ph[i0:i1] for i0, i1, _ in spans)])
        while self._t.size > WINDOW:
            self._skip_quiet()
            if self._t.size > WINDOW:
                self._step()

    def _skip_quiet(self) -> None:
        """Settle the windows without a change in one call (what :meth:`_step` does to each)."""
        settled, self._a = quiet_windows(
            self._t,
            self._a,
            WINDOW,
            critical(WINDOW, self.alpha),
            critical(WINDOW, self.alpha, pair=True),
            SPANS,
        )
        self._absorb(0, settled)
        self._drop(settled)

    def _step(self) -> None:
        """Segment the next window and close the levels it settles."""
        changes = find_changes(self._t, 0, WINDOW, self._a, int(self._t[WINDOW]), self.alpha)
        kept = [j for j in changes if j <= 3 * WINDOW // 4]
        if kept:
            self._close(kept)
        else:  # the open level goes on: its first half-window of photons is settled
            half = WINDOW // 2
            self._a = int(self._t[half])  # the window's new start, its photon counted
            self._absorb(0, half + 1)
            self._drop(half + 1)

    def _close(self, changes: list[int]) -> None:
        """Close the open level at the first change point and a level between each next two
        (the photon at a change point is in neither)."""
        first = 0
        for j in changes:
            self._absorb(first, j)
            self._end_open(int(self._real[j]), int(self._t[j]))
            self._open[:] = 0
            self._open[0], self._open_live = int(self._real[j]), int(self._t[j])
            self._open_decay[:] = 0
            first = j + 1
        self._a = int(self._t[changes[-1]])
        self._drop(first)

    def _absorb(self, i0: int, i1: int) -> None:
        """Add photons ``i0`` to ``i1`` of the buffer to the open level."""
        self._open[3] += i1 - i0
        if self._phases is None:
            return
        decay = self._open_decay if self._decay is not None else self._open_decay[:0]
        timed, floor_sum = phase_sums(self._phase[i0:i1], self._phases.period_ps or 1.0, decay)
        self._open[4] += timed
        self._open[5] += floor_sum

    def _end_open(self, end_ps: int, end_live_ps: int) -> None:
        """Close the open level at ``end_ps`` (live ``end_live_ps``)."""
        self._open[1], self._open[2] = end_ps, end_live_ps - self._open_live
        n = self._levels.n
        self._levels.ensure(n + 1)[:, n] = self._open
        if self._decay is not None:
            self._decay.ensure(n + 1)[:, n] = self._open_decay

    def _drop(self, n: int) -> None:
        if self._t is self._real:
            self._t = self._real = self._real[n:]
        else:
            self._t, self._real = self._t[n:], self._real[n:]
        if self._phases is not None:
            self._phase = self._phase[n:]

    # ------------------------------------------------------------------ results
    @property
    def t_begin(self) -> int | None:
        """Start of the first batch, ps (None before it)."""
        return self._coverage.t_begin

    @property
    def decays(self) -> bool:
        """Whether the levels keep their photons' delays."""
        return self._decay is not None

    @property
    def n_closed(self) -> int:
        """Levels closed so far (they do not change any more)."""
        return self._levels.n

    def closed(self, start: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
        """Copies of the closed levels from ``start`` on: the level table (rows
        :data:`LEVEL_ROWS`, one column per level) and their decay histograms (None without
        decays)."""
        rows = self._levels.view()[:, start:].copy()
        return rows, None if self._decay is None else self._decay.view()[:, start:].copy()

    def pending(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The levels after the closed ones, as they stand (the photons waiting segmented up to
        the end of the data so far), like :meth:`closed`."""
        if self._coverage.t_end is None:
            return np.zeros((len(LEVEL_ROWS), 0), np.int64), None
        end = self._coverage.t_end - self._lost
        changes = find_changes(self._t, 0, self._t.size, self._a, end, self.alpha)
        saved = (
            self._open.copy(), self._open_decay.copy(), self._open_live, self._levels,
            self._decay, self._a, self._t, self._real, self._phase,
        )  # fmt: skip
        self._levels = GrowingColumns(len(LEVEL_ROWS), 16)
        self._decay = GrowingColumns(DECAY_BINS, 16) if self._decay is not None else None
        try:
            if changes:
                self._close(changes)
            self._absorb(0, self._t.size)
            self._end_open(int(self._coverage.t_end), end)
            return self.closed()
        finally:
            (
                self._open, self._open_decay, self._open_live, self._levels, self._decay,
                self._a, self._t, self._real, self._phase,
            ) = saved  # fmt: skip

    def restore(self, rows: np.ndarray, decay: np.ndarray | None, state) -> None:
        """Continue from stored levels (``rows``: :data:`LEVEL_ROWS` × levels, ``decay``: bins ×
        levels) after time was lost (``state``: a :class:`~.measurement.ResumeState`); a new
        level starts at the resume time."""
        n = rows.shape[1]
        self._levels = GrowingColumns(len(LEVEL_ROWS), max(n, 1024))
        self._levels.ensure(n)[:, :n] = rows
        if self._decay is not None and decay is not None:
            self._decay = GrowingColumns(DECAY_BINS, max(n, 1024))
            self._decay.ensure(n)[:, :n] = decay
        self._coverage = state.coverage()
        resume = int(state.t_resume)
        self._lost = (resume - int(state.t_begin)) - self._coverage.live_ps
        self._end = resume
        self._new_level(resume)

    def restart(self, t_resume: int) -> None:
        """Do what a restore does to the state: the photons not in a closed level and the open
        level are dropped, and a new level starts at ``t_resume`` (any time between the data so
        far and it is lost). A replica of a restored live analyzer calls it where the restored
        one took up: at the start of each analysis gap, the end of the last stored results."""
        if self._end is None:
            return
        if int(t_resume) > self._end:
            self._lost += int(t_resume) - self._end
            self._end = int(t_resume)
        self._new_level(int(t_resume))

    def _new_level(self, start: int) -> None:
        """Drop every photon not in a closed level; the open level starts at ``start``."""
        self._a = self._open_live = start - self._lost
        self._open[:] = 0
        self._open[0] = start
        self._open_decay[:] = 0
        self._drop(self._t.size)

    def result(self) -> LevelsResult:
        """Every level so far (the last ones as they stand); an :class:`AnalysisError` before the
        first batch."""
        if self._coverage.t_begin is None:
            raise AnalysisError("levels: no data processed yet")
        rows, decay = self.closed()
        more, more_decay = self.pending()
        table = np.concatenate([rows, more], axis=1)
        decays = None if decay is None else np.concatenate([decay, more_decay], axis=1)
        return LevelsResult.from_table(
            table, decays, self._coverage.t_begin, self._coverage.t_end, self.labels,
            self.alpha, self.period_ps, settled=self.n_closed,
        )  # fmt: skip

    @property
    def period_ps(self) -> float | None:
        """The laser period of the decay histograms, ps (None without decays or before the
        first batch)."""
        return None if self._phases is None else self._phases.period_ps
