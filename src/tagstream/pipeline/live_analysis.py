"""The measurements that follow a run while it is recorded, and their snapshots.

:class:`LiveAnalysis` feeds every batch to each live measurement of the registry (set up as for
the run summary: g2, decay histogram, trace with its blinking statistics, and any kind
registered since) and, each time the data cross another ``every`` of run time, takes a snapshot
of each for the run file's result series. Snapshots follow the data's own clock, so a replay at
any speed records the same ones.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..analysis.measurement import (
    FIT_SHARE,
    Measurement,
    ResumeState,
    build_measurements,
    failure_reason,
)
from ..analysis.series import Snapshot
from ..analysis.stream import Coverage
from ..analysis.summary_settings import SummarySettings, resolve_settings
from ..errors import TagstreamError
from ..tags import RunMetadata, TagBatch, parse_time

__all__ = ["LiveAnalysis", "ResumeState", "check_results_every"]

DEFAULT_EVERY = "1 s"
#: Shortest run time between snapshots, ps.
MIN_EVERY_PS = 10**10


def check_results_every(every: str | int, where: str = "results interval") -> int:
    """The run time between snapshots of a recording, ps, refused below ``MIN_EVERY_PS``.

    Each snapshot stores every histogram, so a recording's settings are held to this floor
    before it starts (the analyzers themselves take any positive interval).
    """
    every_ps = parse_time(every, where)
    if every_ps <= 0:
        raise TagstreamError(f"{where} must be positive, got {every!r}")
    if every_ps < MIN_EVERY_PS:
        raise TagstreamError(
            f"{where} {every!r}: at least {MIN_EVERY_PS // 10**9} ms between "
            "snapshots (each one stores every histogram)"
        )
    return every_ps


class LiveAnalysis:
    """Measurements over a run's batches, with snapshots at a fixed interval of run time.

    Parameters
    ----------
    metadata
        The run's metadata (channel map, mode, periods).
    settings
        Analysis settings, resolved as for :func:`~tagstream.analysis.summary.summarize`.
    every
        Run time between snapshots (``"1 s"``).
    fit_share
        Largest share of the time spent on fits at snapshots (the blinking statistics); 1 for
        fits at every snapshot.

    Attributes
    ----------
    measurements
        The live measurements by kind.
    specs
        The result series, to create in the run file before the run starts.
    notes
        Parts left out, and why.
    """

    def __init__(
        self,
        metadata: RunMetadata,
        settings: SummarySettings | None = None,
        every: str | int = DEFAULT_EVERY,
        fit_share: float = FIT_SHARE,
    ):
        self.every_ps = parse_time(every, "results interval")
        if self.every_ps <= 0:
            raise TagstreamError(f"results interval must be positive, got {every!r}")
        resolved, notes = resolve_settings(settings or SummarySettings(), metadata)
        self.settings = resolved
        self.notes = list(notes)
        self._coverage = Coverage()
        self._next_ps: int | None = None
        self._dirty = False
        built = build_measurements(resolved, metadata, self.notes, live=True)
        for m in built:
            m.fit_share = float(fit_share)
        self.measurements: dict[str, Measurement] = {m.kind: m for m in built}
        self.specs = tuple(spec for m in built for spec in m.series())

    @property
    def covered_until(self) -> int | None:
        """End of the data fed so far, ps (``None`` before the first batch)."""
        return self._coverage.t_end

    def process(
        self, batch: TagBatch, emit: Callable[[list[Snapshot]], object] | None = None
    ) -> list[Snapshot]:
        """Feed one batch; the snapshots due within it (often none).

        A batch that crosses snapshot times is fed in pieces cut there, so each snapshot covers
        the run up to a whole number of intervals (the histograms do not depend on the cuts).
        With ``emit``, each time's quick snapshots are handed to it as soon as they are taken,
        then those that need fits (see :meth:`snapshot`).
        """
        if self._next_ps is None:
            self._next_ps = batch.t_begin + self.every_ps
        while self._next_ps <= batch.t_begin:  # after a pause in the data
            self._next_ps += self.every_ps
        cuts = np.arange(self._next_ps, batch.t_end + 1, self.every_ps, dtype=np.int64)
        pieces = batch.split_at(cuts) if cuts.size else [batch]
        out: list[Snapshot] = []
        for piece in pieces:
            self._feed(piece)
            if piece.t_end >= self._next_ps:
                out += self.snapshot(emit=emit)
                self._next_ps += self.every_ps
        return out

    def _feed(self, batch: TagBatch) -> None:
        self._coverage.add(batch)
        for kind, measurement in list(self.measurements.items()):
            try:
                measurement.process(batch)
            except Exception as exc:
                self._drop(kind, exc)
        self._dirty = True

    def _drop(self, kind: str, exc: Exception) -> None:
        """Leave out a measurement that failed, with the reason as a note (a bad batch is not
        its fault: that propagates; see :func:`~tagstream.analysis.measurement.failure_reason`)."""
        reason = failure_reason(exc)
        measurement = self.measurements.pop(kind)
        self._note(f"{measurement.part_name()}: {reason}")

    def _span(self) -> tuple[tuple[int, int], int] | None:
        t_begin, t_end = self._coverage.t_begin, self._coverage.t_end
        return None if t_begin is None else ((t_begin, t_end), self._coverage.live_ps)

    def snapshot(
        self, final: bool = False, emit: Callable[[list[Snapshot]], object] | None = None
    ) -> list[Snapshot]:
        """Snapshots of every measurement now; ``final`` includes what is still incomplete (the
        trace's last, partial bin). The quick snapshots come first, then those that need fits;
        ``emit`` is handed each group as soon as it is made."""
        self._dirty = False
        span = self._span()
        if span is None:
            return []
        out = []
        for phase in ("snapshots", "fit_snapshots"):
            taken = []
            for kind, measurement in list(self.measurements.items()):
                try:
                    taken += getattr(measurement, phase)(*span, final)
                except Exception as exc:
                    self._drop(kind, exc)
            if emit is not None and taken:
                emit(taken)
            out += taken
        return out

    def final(self) -> list[Snapshot]:
        """The last snapshots: of every measurement when data came in since the previous ones,
        else what each still has pending (the trace's last, partial bin)."""
        if self._dirty:
            return self.snapshot(final=True)
        span = self._span()
        if span is None:
            return []
        return [s for m in self.measurements.values() for s in m.pending(*span)]

    def restore(self, state: ResumeState) -> None:
        """Continue from ``state`` (the measurements must be fresh); the next batch must start
        after ``state.t_resume`` (by more than any correlation window of the measurements)."""
        self._coverage = state.coverage()
        for measurement in self.measurements.values():
            measurement.restore(state)
            ends = [state.snapshots[s.name].covered_ps[1] for s in measurement.series()
                    if s.name in state.snapshots]  # fmt: skip
            if ends and max(ends) < state.t_resume:  # it had stopped (it failed, say)
                self._note(f"{measurement.part_name()}: resumed at {state.t_resume / 1e12:g} s "
                           f"from its results at {max(ends) / 1e12:g} s: the time between is "
                           "missing from them")  # fmt: skip
        done = (state.t_resume - state.t_begin) // self.every_ps
        self._next_ps = state.t_begin + (done + 1) * self.every_ps
        self._dirty = False

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)
