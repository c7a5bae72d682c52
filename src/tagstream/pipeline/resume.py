"""What the recorder keeps so that a restarted analysis worker can continue where the results
stopped: the last snapshot of each series with every row of its row arrays, and the time the
analysis lost."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..analysis.measurement import ResumeState
from ..analysis.series import Snapshot
from ..tags import intervals as iv
from . import result_series as rs

#: Counters of the analysis series, carried over a restart.
COUNTERS = rs.ANALYSIS_COUNTERS


class ResumeBook:
    """Collects the snapshots a worker sends (in the order it sends them)."""

    def __init__(self) -> None:
        self.latest: dict[str, Snapshot] = {}
        self._rows: dict[str, dict[str, list[np.ndarray]]] = {}

    def add(self, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` as the latest of its series, and its new rows."""
        self.latest[snapshot.series] = snapshot
        rows = self._rows.setdefault(snapshot.series, {})
        for name, new in snapshot.new_rows.items():
            rows.setdefault(name, []).append(np.asarray(new))

    def _all_rows(self, series: str) -> dict[str, np.ndarray]:
        """Every row of each row array of ``series`` so far."""
        return {name: np.concatenate(parts) for name, parts in self._rows.get(series, {}).items()}

    @property
    def lost(self) -> np.ndarray:
        """Time the analysis lost so far (k, 2), ps."""
        gaps = self._all_rows(rs.ANALYSIS).get("gaps")
        return iv.normalize(iv.EMPTY if gaps is None else gaps.reshape(-1, 2))

    def counters(self) -> dict[str, int]:
        """The analysis counters of the last snapshot (zeros before the first)."""
        last = self.latest.get(rs.ANALYSIS)
        return {k: int(last.values[k]) if last else 0 for k in COUNTERS}

    def state(
        self, t_begin: int, acquired: np.ndarray, names: dict[str, str] | None = None
    ) -> ResumeState:
        """Where a new worker continues: the measurements' last snapshots, each with every
        row of its series so far.

        Parameters
        ----------
        t_begin
            Start of the run, ps.
        acquired
            The time the acquisition covered (k, 2), ps (the run less its own gaps).
        names
            The series to resume, by stored name, with the name the measurements give them
            (an analysis segment's ``g2@1`` is ``g2``); default: every series but the run's own.
        """
        if names is None:
            names = {name: name for name in self.latest if name != rs.ANALYSIS}
        latest = {name: s for name, s in self.latest.items() if name in names}
        ends = {s.covered_ps[1] for s in latest.values()}
        if not ends:
            return ResumeState(t_begin, t_begin, iv.EMPTY)
        # The snapshots of one time come in one bundle, the fits of that time (a trace's
        # blinking statistics, derived from the trace and never restored from) in a later one,
        # or not at all when they were put off: the newest time is where every series that is
        # restored from stands. (The oldest would feed those series that time again.)
        t_resume = max(ends)
        covered = iv.subtract(iv.clip(acquired, t_begin, t_resume), self.lost)
        snapshots = {
            names[name]: replace(last, series=names[name], new_rows=self._all_rows(name))
            for name, last in latest.items()
        }
        return ResumeState(t_begin, t_resume, covered, snapshots)
