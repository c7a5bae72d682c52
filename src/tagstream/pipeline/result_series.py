"""The result series of a run file: the measurements' snapshots, and back.

Every measurement kind of the registry describes its own series
(:mod:`tagstream.analysis.measurements`: ``g2``, ``lifetime``, ``trace`` and ``blinking``, and
any kind registered since; see :mod:`tagstream.store.results` for the common datasets). The
pipeline adds one of its own, ``analysis``: the messages the live analysis received, rejected
and missed, and the time it lost. Each series is cumulative from the start of the run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.g2 import G2Result
from ..analysis.lifetime import DecayResult
from ..analysis.measurement import kind
from ..analysis.series import Column, RecordedSeries, SeriesSpec, Snapshot
from ..analysis.trace import TraceResult
from ..errors import TagstreamError
from ..sources.hdf5_file import open_hdf5
from ..store.results import read_series
from .control_messages import COUNTERS

G2, LIFETIME, TRACE, BLINKING, ANALYSIS = "g2", "lifetime", "trace", "blinking", "analysis"
#: Counters of the ``analysis`` series: a worker's messages, and the restarts of workers.
ANALYSIS_COUNTERS = (*COUNTERS, "restarts")


# ---------------------------------------------------------------------- the analysis itself
def analysis_spec() -> SeriesSpec:
    """The ``"analysis"`` series of a live run: the worker's message counters and the time the live
    analysis lost (``[start, stop)`` rows, ps)."""
    return SeriesSpec(
        name=ANALYSIS,
        description=(
            "The live analysis: messages received, malformed and missed, and the time it lost "
            "(results exclude it; the raw tags in /photon_data hold everything)."
        ),
        fields={
            "received": Column(np.int64, (), "Valid messages received."),
            "malformed": Column(np.int64, (), "Malformed messages rejected."),
            "missed": Column(np.int64, (), "Batch messages lost (holes in the sequence)."),
            "restarts": Column(np.int64, (), "Restarts of the analysis worker."),
        },
        row_arrays={"gaps": Column(np.int64, (2,), "Time the analysis lost, [start, stop) ps.")},
    )


def analysis_snapshot(
    counters: dict[str, int], new_gaps: np.ndarray, covered: tuple[int, int], live_ps: int
) -> Snapshot:
    """A snapshot of the ``"analysis"`` series: the message counters now and the newly lost time
    (``[start, stop)`` rows, ps)."""
    values = {k: int(counters[k]) for k in ANALYSIS_COUNTERS}
    gaps = np.asarray(new_gaps, dtype=np.int64).reshape(-1, 2)
    return Snapshot(ANALYSIS, covered, live_ps, values, new_rows={"gaps": gaps})


# ---------------------------------------------------------------------- reading
@dataclass(frozen=True)
class RecordedResults:
    """The result series of a run file, as far as they were committed.

    Attributes
    ----------
    path
        The file.
    series
        Every series by name (see :class:`~tagstream.store.results.RecordedSeries`).
    """

    path: Path
    series: dict[str, RecordedSeries]

    def _get(self, name: str) -> RecordedSeries:
        found = self.series.get(name)
        if found is None or not len(found):
            raise TagstreamError(f"{self.path}: no {name} snapshots")
        return found

    def result(self, name: str, k: int = -1) -> Any:
        """The result of measurement ``name`` as of snapshot ``k`` (default: the last)."""
        self._get(name)
        return kind(name).result_from(self.series, k)

    def g2(self, k: int = -1) -> G2Result:
        """g2 as of snapshot ``k`` (default: the last)."""
        return self.result(G2, k)

    def lifetime(self, k: int = -1) -> DecayResult:
        """Decay histogram as of snapshot ``k``."""
        return self.result(LIFETIME, k)

    def trace(self, k: int = -1) -> TraceResult:
        """Intensity trace as of snapshot ``k``."""
        return self.result(TRACE, k)

    def blinking(self) -> RecordedSeries:
        """The blinking statistics of every snapshot."""
        return self._get(BLINKING)

    def segment_numbers(self) -> list[int]:
        """The run's analysis segments: 0, then one per change of the live analyses (see
        :mod:`tagstream.pipeline.segments`)."""
        events = self.series.get("events")
        later = [] if events is None else [int(v) for v in events.fields["segment"]]
        return [0, *later]

    def segment_series(self, number: int) -> dict[str, RecordedSeries]:
        """The measurements' series of analysis segment ``number``, by their names (``g2``
        for ``g2@2``)."""
        if number == 0:
            return {name: s for name, s in self.series.items() if "@" not in name}
        suffix = f"@{number}"
        return {name[: -len(suffix)]: s for name, s in self.series.items() if name.endswith(suffix)}

    def analysis_gaps(self) -> np.ndarray:
        """Time the live analysis lost (k, 2), ps: its results exclude it."""
        series = self.series.get(ANALYSIS)
        if series is None or not len(series):
            return np.zeros((0, 2), np.int64)
        return series.row_arrays["gaps"]

    def restart_times(self) -> np.ndarray:
        """Where a restarted analysis worker took up, ps: the end of the results before each
        restart (the restored analyzers continue from their snapshots there)."""
        series = self.series.get(ANALYSIS)
        if series is None or not len(series):
            return np.zeros(0, np.int64)
        restarts = np.asarray(series.fields["restarts"], np.int64)
        ends = series.covered_ps[:, 1]
        up = np.flatnonzero(np.diff(restarts) > 0) + 1
        return ends[up - 1].astype(np.int64)


def read_results(path: str | os.PathLike) -> RecordedResults:
    """The result series stored in a run file (also while it is being written)."""
    file = Path(path)
    with open_hdf5(file) as f:
        return RecordedResults(file, read_series(f, file))
