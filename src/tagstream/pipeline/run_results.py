"""The results of a live run as they arrive from its workers: snapshots checked against the
run's series, stored in the run file and kept for a worker that has to resume, and the
workers' reports; and, at the end, the time no results cover recorded as lost to the analysis.

Everything here is read and changed under the run's lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ..analysis.series import SeriesSpec, Snapshot
from ..store.background import BackgroundWriter
from ..tags import format_time
from ..tags import intervals as iv
from ..transport.wire import WireError
from . import result_series as rs
from .control_messages import WorkerReport
from .messages import resume_arrays
from .meters import RunMeters
from .resume import ResumeBook
from .run_status import RunNotes
from .segments import RUN_SERIES, Segment, base_name
from .worker_pool import WorkerPool


class RunResults:
    """What the workers sent a run.

    Parameters
    ----------
    lock
        The run's lock (notified when a worker's state changes).
    specs
        The run's series: a snapshot of any other is refused.
    meters, workers
        The run's meters (the lag of the results) and its workers (their progress).
    notes
        The run's report.
    """

    def __init__(
        self,
        lock: threading.Condition,
        specs: tuple[SeriesSpec, ...],
        meters: RunMeters,
        workers: WorkerPool,
        notes: RunNotes,
    ):
        self._lock = lock
        self._specs = {spec.name: spec for spec in specs}
        #: The analysis segment the workers are in now, and its series (stored: base name).
        self.segment = Segment()
        self.segment_names = {s.name: s.name for s in specs if s.name not in RUN_SERIES}
        self._meters, self._workers, self._notes = meters, workers, notes
        self.book = ResumeBook()
        self.background: BackgroundWriter | None = None  # set while the run file is open
        self.published = 0  # batch messages published so far
        #: Called with every bundle of snapshots once it is stored (in the service thread:
        #: a listener must return at once, e.g. hand them to its own thread).
        self.listeners: list[Callable[[list[Snapshot]], None]] = []

    def note(self, text: str) -> None:
        """Say something in the run's report (takes the lock)."""
        self._notes.add(text)

    def take_snapshots(self, snapshots: list[Snapshot], received: float) -> None:
        """Store a worker's snapshots (each checked against its series first)."""
        checked = [self._checked(s) for s in snapshots]
        for snapshot in checked:
            self.background.add_snapshot(snapshot)
        with self._lock:
            for snapshot in checked:
                self.book.add(snapshot)
            if checked:
                self._meters.results_arrived(checked[0].covered_ps[1], received)
        for listener in self.listeners:
            listener(checked)

    def begin_segment(self, segment: Segment, specs: tuple[SeriesSpec, ...]) -> None:
        """The workers begin ``segment`` with the series ``specs`` (stored names). The lock
        held."""
        self._specs.update({s.name: s for s in specs})
        self.segment = segment
        self.segment_names = {s.name: base_name(s.name) for s in specs}

    def spec(self, name: str) -> SeriesSpec | None:
        """The spec of the run's series stored as ``name`` (any segment's)."""
        return self._specs.get(name)

    def current(self) -> tuple[dict[str, SeriesSpec], dict[str, Snapshot]]:
        """The current segment's series and their last snapshots, by the measurements' names
        (``g2``, not ``g2@1``). The lock held."""
        specs = {base: self._specs[stored] for stored, base in self.segment_names.items()}
        latest = {
            base: self.book.latest[stored]
            for stored, base in self.segment_names.items()
            if stored in self.book.latest
        }
        return specs, latest

    def take_report(self, report: WorkerReport, received: float) -> None:
        """A worker is ready, reports progress, or is done."""
        with self._lock:
            info = self._workers.joined.get(report.worker)
            if info is None:
                raise WireError(f"a report from worker {report.worker[:40]!r}, unknown")
            if report.kind == "ready":
                info.ready = True
            elif report.kind == "end":
                info.done = True
                info.counters.update(report.counters)
            else:
                progress = report.counters
                info.sequence = max(info.sequence, progress["sequence"])
                info.t_end = progress["t_end"]
                info.counters = progress
                sent = self._meters.published_at.get(info.sequence)
                if sent is not None:
                    info.latency_s = received - sent
                active = [w.sequence for w in self._workers.active()]
                self._meters.forget_before(min(active, default=self.published) - 1)
            self._lock.notify_all()

    def resume(self) -> tuple[dict[str, Any] | None, dict | None, dict[str, int]]:
        """For a worker that joins now: the state to resume from (a record and its arrays;
        ``None`` before the first batch) and the analysis counters so far. The lock held."""
        resume, arrays = None, None
        acquired = self._meters.acquired
        if acquired.t_begin is not None:
            t_begin = self.segment.t_begin_ps
            t_begin = acquired.t_begin if t_begin is None else t_begin
            state = self.book.state(t_begin, acquired.intervals(), self.segment_names)
            resume, arrays = resume_arrays(state)
        counters = {**self.book.counters(), "restarts": self._workers.restarts}
        return resume, arrays, counters

    def account_unanalysed(self) -> None:
        """Record the time at the end of the run that no results cover (a worker died or did
        not finish) as lost to the analysis: in the run file and in the report."""
        acquired = self._meters.acquired
        t_begin, t_end = acquired.t_begin, acquired.t_end
        if t_begin is None or t_end <= t_begin:
            return
        with self._lock:
            # every bundle of results a worker sends carries the analysis series' snapshot
            # (a series may skip one: the blinking fits when they take too long)
            last = self.book.latest.get(rs.ANALYSIS)
            until = t_begin if last is None else max(t_begin, last.covered_ps[1])
            if until >= t_end:
                return
            lost = iv.subtract(np.array([[until, t_end]], np.int64), self.book.lost)
            if not len(lost):
                return
            counters = {**self.book.counters(), "restarts": self._workers.restarts}
            live_ps = iv.total(iv.clip(acquired.intervals(), until, t_end))
            snapshot = rs.analysis_snapshot(counters, lost, (until, t_end), live_ps)
            self.book.add(snapshot)
            self._notes.add_locked(
                f"the analysis results end at {format_time(until - t_begin)} of "
                f"{format_time(t_end - t_begin)}: the rest is recorded but not analysed live"
            )
        self.background.add_snapshot(snapshot)

    def _checked(self, snapshot: Snapshot) -> Snapshot:
        """A snapshot of one of the run's series, its values of the stored types."""
        spec = self._specs.get(snapshot.series)
        if spec is None:
            raise WireError(f"a snapshot of series {snapshot.series[:40]!r}, not one of the run's")
        return spec.checked(snapshot)
