"""What the recorder keeps so that a restarted analysis worker can continue where the results
stopped: the last snapshot of each series, the trace's bins, and the time the analysis lost."""

from __future__ import annotations

import numpy as np

from ..store.results import Snapshot
from ..tags import intervals as iv
from . import result_series as rs
from .live_analysis import ResumeState

#: Counters of the analysis series, carried over a restart.
COUNTERS = ("received", "malformed", "missed", "restarts")


class ResumeBook:
    """Collects the snapshots a worker sends (in the order it sends them)."""

    def __init__(self) -> None:
        self.latest: dict[str, Snapshot] = {}
        self._trace_counts: list[np.ndarray] = []
        self._trace_exposure: list[np.ndarray] = []
        self._lost: list[np.ndarray] = []

    def add(self, snapshot: Snapshot) -> None:
        self.latest[snapshot.series] = snapshot
        if snapshot.series == rs.TRACE:
            self._trace_counts.append(np.asarray(snapshot.new_rows["counts"]))
            self._trace_exposure.append(np.asarray(snapshot.new_rows["exposure_ps"]))
        elif snapshot.series == rs.ANALYSIS:
            self._lost.append(np.asarray(snapshot.new_rows["gaps"]).reshape(-1, 2))

    @property
    def lost(self) -> np.ndarray:
        """Time the analysis lost so far (k, 2), ps."""
        return iv.normalize(np.concatenate([iv.EMPTY, *self._lost]))

    def counters(self) -> dict[str, int]:
        """The analysis counters of the last snapshot (zeros before the first)."""
        last = self.latest.get(rs.ANALYSIS)
        return {k: int(last.values[k]) if last else 0 for k in COUNTERS}

    def state(self, t_begin: int, acquired: np.ndarray) -> ResumeState:
        """Where a new worker continues.

        Parameters
        ----------
        t_begin
            Start of the run, ps.
        acquired
            The time the acquisition covered (k, 2), ps (the run less its own gaps).
        """
        ends = {s.covered_ps[1] for s in self.latest.values()}
        if not ends:
            return ResumeState(t_begin, t_begin, iv.EMPTY)
        t_resume = min(ends)
        covered = iv.subtract(iv.clip(acquired, t_begin, t_resume), self.lost)
        g2 = self.latest.get(rs.G2)
        lifetime = self.latest.get(rs.LIFETIME)
        trace = self.latest.get(rs.TRACE)
        trace_state = None
        if trace is not None:
            n_channels = np.asarray(trace.values["partial_counts"]).size
            counts = np.concatenate(
                [np.zeros((0, n_channels), np.int64), *self._trace_counts]
            ).astype(np.int64)
            exposure = np.concatenate([np.zeros(0, np.int64), *self._trace_exposure])
            trace_state = (
                int(trace.values["t0_ps"]),
                counts,
                exposure.astype(np.int64),
                np.asarray(trace.values["partial_counts"], np.int64),
                int(trace.values["partial_exposure_ps"]),
            )
        return ResumeState(
            t_begin=t_begin,
            t_resume=t_resume,
            covered=covered,
            g2=None
            if g2 is None
            else (
                np.asarray(g2.values["counts"], np.int64),
                int(g2.values["n_ab"][0]),
                int(g2.values["n_ab"][1]),
            ),
            lifetime=None if lifetime is None else np.asarray(lifetime.values["counts"], np.int64),
            trace=trace_state,
        )
