"""The intensity trace and the blinking statistics of the trace so far.

Series ``trace``: row arrays ``counts`` (bins × channels) and ``exposure_ps`` (live time per
bin), one row per completed bin; snapshot ``k`` holds the first ``rows[k]`` bins, starting at
``t0_ps[k]``.

Series ``blinking``: ``thresholds_cps`` (NaN where a state is absent), ``fractions`` (on, grey,
off) and ``exponents`` (ON and OFF dwell-time power laws, NaN when not found) of the trace so far.

The blinking statistics come from a fit of the whole trace so far (tens of ms, more as the run
grows) while everything else is incremental. So that the fits never hold the analysis back, a
snapshot carries them only when the fits so far took at most ``fit_share`` of the time
since the first one: at the pace of a live run that is every snapshot, in a fast replay every
few. The last snapshots of a run always carry them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Self

import numpy as np

from ...errors import AnalysisError
from ...tags import RunMetadata
from ..blinking import MIN_BLINKING_BINS, BlinkingResult
from ..measurement import Measurement, ResumeState, register
from ..run_analyzers import trace_analyzer
from ..series import Column, RecordedSeries, SeriesSpec, Snapshot
from ..summary_settings import SummarySettings
from ..trace import TraceResult

SERIES, BLINKING = "trace", "blinking"
STATES = ("on", "grey", "off")


@register
class TraceMeasurement(Measurement):
    """The intensity trace of the emitter's photons at the trace bin, with its blinking."""

    kind = SERIES

    def __init__(self, analyzer, settings: SummarySettings, notes: list[str]):
        super().__init__(analyzer)
        self.settings = settings
        self.notes = notes
        self._rows = 0  # trace bins in the snapshots so far
        self._fits_since: float | None = None  # time.perf_counter() of the first fit
        self._fits_spent = 0.0  # s, on fits
        self._fit_missing = False  # the last trace snapshot went without a fit

    @classmethod
    def build(
        cls, settings: SummarySettings, metadata: RunMetadata, notes: list[str]
    ) -> Self | None:
        analyzer = trace_analyzer(settings, metadata)
        return None if analyzer is None else cls(analyzer, settings, notes)

    def series(self) -> tuple[SeriesSpec, ...]:
        a = self.analyzer
        n = len(a.labels)
        trace = SeriesSpec(
            name=SERIES,
            description="Intensity trace: counts per time bin and channel.",
            fields={
                "t0_ps": Column(np.int64, (), "Start of bin 0, ps."),
                "partial_counts": Column(np.int64, (n,), "Counts so far in the bin still filling."),
                "partial_exposure_ps": Column(np.int64, (), "Live time so far in that bin, ps."),
            },
            row_arrays={
                "counts": Column(np.int64, (n,), "Counts per bin (rows) and channel (columns)."),
                "exposure_ps": Column(np.int64, (), "Live time inside each bin, ps."),
            },
            attrs={"channels": ",".join(a.labels), "bin_ps": int(a.bin_ps)},
        )
        blinking = SeriesSpec(
            name=BLINKING,
            description="Blinking of the trace so far: thresholds, time fractions, power laws.",
            fields={
                "thresholds_cps": Column(np.float64, (2,), "Intensity thresholds, counts/s."),
                "fractions": Column(np.float64, (3,), "Fraction of live time ON, grey, OFF."),
                "exponents": Column(np.float64, (2,), "Power-law exponents of ON and OFF dwells."),
            },
            attrs={"bin_ps": int(a.bin_ps), "states": ",".join(STATES)},
        )
        return trace, blinking

    def snapshots(self, covered: tuple[int, int], live_ps: int, final: bool) -> list[Snapshot]:
        a = self.analyzer
        if a.t0 is None:
            return []
        done = a.n_bins if final else (covered[1] - a.t0) // a.bin_ps
        out = [self._trace_snapshot(self._rows, done, covered, live_ps)]
        self._rows = done
        return out + self._blinking_snapshot(covered, live_ps, final)

    def pending(self, covered: tuple[int, int], live_ps: int) -> list[Snapshot]:
        if self.analyzer.n_bins > self._rows:
            return self.snapshots(covered, live_ps, final=True)
        if self._fit_missing:
            return self._blinking_snapshot(covered, live_ps, final=True)
        return []

    def restore(self, state: ResumeState) -> None:
        last = state.snapshots.get(SERIES)
        if last is None:
            return
        values, rows = last.values, last.new_rows
        t0 = int(values["t0_ps"])
        counts = np.asarray(rows["counts"], np.int64).T
        exposure = np.asarray(rows["exposure_ps"], np.int64)
        self._rows = exposure.size
        if (state.t_resume - t0) % self.analyzer.bin_ps:
            counts = np.column_stack([counts, np.asarray(values["partial_counts"], np.int64)])
            exposure = np.append(exposure, int(values["partial_exposure_ps"]))
        self.analyzer.restore(t0, counts, exposure, state.coverage())

    @classmethod
    def result_from(cls, series: Mapping[str, RecordedSeries], k: int = -1) -> TraceResult:
        s = series[SERIES]
        rows = s.rows(k)
        return TraceResult(
            channels=tuple(str(s.attrs["channels"]).split(",")),
            t0_ps=int(s.fields["t0_ps"][k]),
            bin_ps=int(s.attrs["bin_ps"]),
            counts_by_channel=np.ascontiguousarray(s.row_arrays["counts"][:rows].T),
            exposure_ps=s.row_arrays["exposure_ps"][:rows],
        )

    # ------------------------------------------------------------------ snapshots
    def _trace_snapshot(
        self, first: int, last: int, covered: tuple[int, int], live_ps: int
    ) -> Snapshot:
        """Bins ``first`` to ``last`` as new rows, and the bin after them so far."""
        a = self.analyzer
        counts, exposure = a.bins(first, last)
        partial_counts, partial_exposure = a.bins(last, last + 1)
        n = len(a.labels)
        values = {
            "t0_ps": a.t0,
            "partial_counts": partial_counts[:, 0] if partial_exposure.size else np.zeros(n),
            "partial_exposure_ps": int(partial_exposure[0]) if partial_exposure.size else 0,
        }
        new_rows = {"counts": counts.T, "exposure_ps": exposure}
        return Snapshot(SERIES, covered, live_ps, values, new_rows=new_rows)

    def _blinking_snapshot(
        self, covered: tuple[int, int], live_ps: int, final: bool
    ) -> list[Snapshot]:
        """The blinking statistics of the trace so far, when due (see the module docstring)."""
        result = self.analyzer.result()
        full = int((result.exposure_ps == result.bin_ps).sum())
        if full < MIN_BLINKING_BINS:
            return []
        start = time.perf_counter()
        if self._fits_since is not None and not final:
            if self._fits_spent > self.fit_share * (start - self._fits_since):
                self._fit_missing = True
                return []
        self._fit_missing = False
        s = self.settings
        try:
            states = result.states(s.thresholds_cps, s.n_states, powerlaw_min_ps=s.powerlaw_min)
        except AnalysisError as exc:
            note = f"blinking: {exc}"
            if note not in self.notes:
                self.notes.append(note)
            return []
        finally:
            if self._fits_since is None:
                self._fits_since = start
            self._fits_spent += time.perf_counter() - start
        return [blinking_snapshot(states, covered, live_ps)]


def blinking_snapshot(result: BlinkingResult, covered: tuple[int, int], live_ps: int) -> Snapshot:
    """A ``blinking`` snapshot of a blinking analysis."""
    thresholds = np.full(2, np.nan)
    thresholds[: len(result.thresholds_cps)] = result.thresholds_cps
    exponents = [result.on_exponent, result.off_exponent]
    values = {
        "thresholds_cps": thresholds,
        "fractions": np.array([result.fractions[s] for s in STATES]),
        "exponents": np.array([np.nan if e is None else e for e in exponents]),
    }
    return Snapshot(BLINKING, covered, live_ps, values)
