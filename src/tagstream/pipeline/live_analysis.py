"""The analyzers that follow a run while it is recorded, and their snapshots.

:class:`LiveAnalysis` feeds every batch to a g2, a decay-histogram and a trace analyzer (set up
as for the run summary) and, each time the data cross another ``every`` of run time, takes a
snapshot of each for the run file's result series, with the blinking statistics of the trace
so far. Snapshots follow the data's own clock, so a replay at any speed records the same ones.

The blinking statistics come from a fit of the whole trace so far (tens of ms, more as the run
grows) while everything else is incremental. So that the fits never hold the analysis back, a
snapshot carries them only when the fits so far took at most :data:`BLINKING_SHARE` of the time
since the first one: at the pace of a live run that is every snapshot, in a fast replay every
few. The last snapshots of a run always carry them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..analysis.run_analyzers import g2_analyzer, lifetime_analyzer, trace_analyzer
from ..analysis.stream import Coverage
from ..analysis.summary import MIN_BLINKING_BINS
from ..analysis.summary_settings import SummarySettings, no_decay_reason, resolve_settings
from ..errors import AnalysisError, TagstreamError
from ..store.results import SeriesSpec, Snapshot
from ..tags import RunMetadata, TagBatch, parse_time
from . import result_series as rs

DEFAULT_EVERY = "1 s"
#: Shortest run time between snapshots, ps.
MIN_EVERY_PS = 10**10
#: Largest share of the time the blinking fits may take (see the module docstring).
BLINKING_SHARE = 0.1


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


@dataclass(frozen=True)
class ResumeState:
    """Where an analysis continues after it lost time (a restarted worker): the last snapshots.

    Attributes
    ----------
    t_begin
        Start of the run's data, ps.
    t_resume
        End of the data the snapshots cover, ps; analysis continues with the next batch after it.
    covered
        The time the snapshots cover (k, 2), ps: the run less lost time.
    g2
        ``(counts, n_a, n_b)`` of the g2 snapshot.
    lifetime
        Counts of the decay-histogram snapshot.
    trace
        ``(t0, counts (bins, channels), exposure (bins,), partial counts, partial exposure)``:
        the trace's complete bins and the bin still filling at ``t_resume``.
    """

    t_begin: int
    t_resume: int
    covered: np.ndarray
    g2: tuple[np.ndarray, int, int] | None = None
    lifetime: np.ndarray | None = None
    trace: tuple[int, np.ndarray, np.ndarray, np.ndarray, int] | None = None


class LiveAnalysis:
    """Analyzers over a run's batches, with snapshots at a fixed interval of run time.

    Parameters
    ----------
    metadata
        The run's metadata (channel map, mode, periods).
    settings
        Analysis settings, resolved as for :func:`~tagstream.analysis.summary.summarize`.
    every
        Run time between snapshots (``"1 s"``).
    blinking_share
        Largest share of the time spent on blinking fits; 1 for a fit at every snapshot.

    Attributes
    ----------
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
        blinking_share: float = BLINKING_SHARE,
    ):
        self.every_ps = parse_time(every, "results interval")
        self._blinking_share = float(blinking_share)
        self._blinking_since: float | None = None  # time.perf_counter() of the first fit
        self._blinking_spent = 0.0  # s, on fits
        self._blinking_missing = False  # the last trace snapshot went without a fit
        if self.every_ps <= 0:
            raise TagstreamError(f"results interval must be positive, got {every!r}")
        resolved, notes = resolve_settings(settings or SummarySettings(), metadata)
        self.settings = resolved
        self.notes = list(notes)
        self._coverage = Coverage()
        self._next_ps: int | None = None
        self._trace_rows = 0
        self._dirty = False
        specs: list[SeriesSpec] = []
        self.g2 = g2_analyzer(resolved, metadata)
        if self.g2 is not None:
            specs.append(rs.g2_spec(self.g2))
        reason = no_decay_reason(metadata)
        self.lifetime = lifetime_analyzer(resolved, metadata)
        if self.lifetime is not None:
            specs.append(rs.lifetime_spec(self.lifetime, metadata.mode))
        elif reason is not None:
            self._note(f"lifetime: {reason}")
        self.trace = trace_analyzer(resolved, metadata)
        if self.trace is not None:
            specs += [rs.trace_spec(self.trace), rs.blinking_spec(self.trace.bin_ps)]
        self.specs = tuple(specs)

    @property
    def covered_until(self) -> int | None:
        """End of the data fed so far, ps (``None`` before the first batch)."""
        return self._coverage.t_end

    def process(self, batch: TagBatch) -> list[Snapshot]:
        """Feed one batch; the snapshots due within it (often none).

        A batch that crosses snapshot times is fed in pieces cut there, so each snapshot covers
        the run up to a whole number of intervals (the histograms do not depend on the cuts).
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
                out += self.snapshot()
                self._next_ps += self.every_ps
        return out

    def _feed(self, batch: TagBatch) -> None:
        self._coverage.add(batch)
        for name in ("g2", "lifetime", "trace"):
            analyzer = getattr(self, name)
            if analyzer is None:
                continue
            try:
                analyzer.process(batch)
            except AnalysisError as exc:
                self._note(f"{name}: {exc}")
                setattr(self, name, None)
        self._dirty = True

    def snapshot(self, final: bool = False) -> list[Snapshot]:
        """Snapshots of every analyzer now; ``final`` includes the trace's last, partial bin."""
        self._dirty = False
        t_begin, t_end = self._coverage.t_begin, self._coverage.t_end
        if t_begin is None:
            return []
        covered, live = (t_begin, t_end), self._coverage.live_ps
        out = []
        if self.g2 is not None:
            out.append(rs.g2_snapshot(self.g2.result(), covered))
        if self.lifetime is not None:
            out.append(rs.lifetime_snapshot(self.lifetime.result(), covered, live))
        if self.trace is not None and self.trace.t0 is not None:
            out += self._trace_snapshots(covered, live, final)
        return out

    def final(self) -> list[Snapshot]:
        """The last snapshots: of every analyzer when data came in since the previous ones, else
        of the trace's last, partial bin if it is still missing."""
        if self._dirty:
            return self.snapshot(final=True)
        trace = self.trace
        if trace is None:
            return []
        covered = (self._coverage.t_begin, self._coverage.t_end)
        if trace.n_bins > self._trace_rows:
            return self._trace_snapshots(covered, self._coverage.live_ps, final=True)
        if self._blinking_missing:
            return self._blinking_snapshot(covered, self._coverage.live_ps, final=True)
        return []

    def restore(self, state: ResumeState) -> None:
        """Continue from ``state`` (the analyzers must be fresh); the next batch must start
        after ``state.t_resume`` (by more than the g2 window)."""

        def coverage() -> Coverage:
            return Coverage.from_intervals(state.covered, state.t_begin, state.t_resume)

        self._coverage = coverage()
        if self.g2 is not None and state.g2 is not None:
            counts, n_a, n_b = state.g2
            self.g2.restore(counts, n_a, n_b, coverage())
        if self.lifetime is not None and state.lifetime is not None:
            self.lifetime.restore(np.asarray(state.lifetime)[None, :], coverage())
        if self.trace is not None and state.trace is not None:
            t0, rows, exposure, partial, partial_exposure = state.trace
            counts, exposure = np.asarray(rows).T, np.asarray(exposure)
            self._trace_rows = exposure.size
            if (state.t_resume - t0) % self.trace.bin_ps:
                counts = np.column_stack([counts, partial])
                exposure = np.append(exposure, partial_exposure)
            self.trace.restore(t0, counts, exposure, coverage())
        done = (state.t_resume - state.t_begin) // self.every_ps
        self._next_ps = state.t_begin + (done + 1) * self.every_ps
        self._dirty = False

    def _trace_snapshots(self, covered: tuple[int, int], live: int, final: bool) -> list:
        trace = self.trace
        done = trace.n_bins if final else (covered[1] - trace.t0) // trace.bin_ps
        out = [rs.trace_snapshot(trace, self._trace_rows, done, covered, live)]
        self._trace_rows = done
        return out + self._blinking_snapshot(covered, live, final)

    def _blinking_snapshot(self, covered: tuple[int, int], live: int, final: bool) -> list:
        """The blinking statistics of the trace so far, when due (see the module docstring)."""
        result = self.trace.result()
        full = int((result.exposure_ps == result.bin_ps).sum())
        if full < MIN_BLINKING_BINS:
            return []
        start = time.perf_counter()
        if self._blinking_since is not None and not final:
            if self._blinking_spent > self._blinking_share * (start - self._blinking_since):
                self._blinking_missing = True
                return []
        self._blinking_missing = False
        try:
            states = result.states(
                self.settings.thresholds_cps,
                self.settings.n_states,
                powerlaw_min_ps=self.settings.powerlaw_min,
            )
        except AnalysisError as exc:
            self._note(f"blinking: {exc}")
            return []
        finally:
            if self._blinking_since is None:
                self._blinking_since = start
            self._blinking_spent += time.perf_counter() - start
        return [rs.blinking_snapshot(states, covered, live)]

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)
