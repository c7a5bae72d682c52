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
from typing import Any, ClassVar, Self

import numpy as np

from ...errors import AnalysisError
from ...tags import ChannelMap, RunMetadata
from ...tags.units import PS_PER_S
from ..blinking import MIN_BLINKING_BINS, NO_BLINKING, BlinkingResult
from ..blinking_levels import levels_blinking
from ..blinking_method import blinking_method
from ..formatting import count_rate, gate_ns, gate_text
from ..measurement import Finishing, Measurement, Panel, ResumeState, register
from ..run_analyzers import trace_analyzer
from ..series import Column, RecordedSeries, SeriesSpec, Snapshot
from ..summary_settings import SummarySettings
from ..tables import Table, make_table, table_head, table_or_reason
from ..trace import TraceAnalyzer, TraceResult
from ..view_panel import ViewPanel
from .trace_view import trace_panels

SERIES, BLINKING = "trace", "blinking"
STATES = ("on", "grey", "off")
#: The keys of the summary JSON's blinking block, present (``None``) even when not computed.
KEYS = (
    "bin_s", "thresholds_cps", "fractions", "on_exponent", "off_exponent", "on_exponent_err",
    "off_exponent_err", "on_dwell_min_s", "off_dwell_min_s", "dwell_min_method", "on_dwells",
    "off_dwells", "gate_ns", "method",
)  # fmt: skip


@register
class TraceMeasurement(Measurement):
    """The intensity trace of the emitter's photons at the trace bin, with its blinking."""

    kind = SERIES
    values: ClassVar[Mapping[str, Any]] = {"trace": None, "blinking": None}
    required: ClassVar[Mapping[str, str]] = {"blinking": "blinking"}
    exports = ("trace",)

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
        """The trace (and blinking) of the run's trace channels; ``None`` without any."""
        analyzer = trace_analyzer(settings, metadata)
        return None if analyzer is None else cls(analyzer, settings, notes)

    # ------------------------------------------------------------------ the run summary
    def finish(self, finishing: Finishing) -> dict[str, Any]:
        """The trace and its blinking analysis."""
        trace = finishing.attempt("trace", self.result)
        blinking = None if trace is None else _blinking(trace, self.settings, finishing)
        return {"trace": trace, "blinking": blinking}

    @classmethod
    def blocks(cls, summary: Any) -> dict[str, dict[str, Any]]:
        """The ``"blinking"`` block of the summary JSON (with the gate in ns and the note)."""
        block = dict.fromkeys(KEYS)
        if summary.blinking is not None:
            block |= summary.blinking.to_dict()
        gate = gate_ns(summary.settings.gate)
        return {"blinking": block | {"gate_ns": gate, "note": summary.note("blinking")}}

    @classmethod
    def lines(cls, summary: Any) -> list[tuple[str, str]]:
        """The blinking line: bin (ms), thresholds, ON/grey/OFF fractions, dwell exponents."""
        b = summary.blinking
        if b is None:
            if any(n.startswith(f"blinking: {NO_BLINKING}") for n in summary.notes):
                return [
                    ("blinking", "blinking: none seen, the trace shows one state (see the note)")
                ]
            return [("blinking", "blinking: not available")]
        fr = b.fractions
        thr = ", ".join(count_rate(t) for t in b.thresholds_cps)
        line = (
            f"blinking ({b.bin_ps / 1e9:g} ms bins, thresholds {thr}, {b.method}"
            f"{gate_text(summary.settings.gate)}): "
            f"on {fr['on']:.2f}, grey {fr['grey']:.2f}, off {fr['off']:.2f}"
        )
        for state, alpha in (("on", b.on_exponent), ("off", b.off_exponent)):
            if alpha is not None:
                line += f"; alpha_{state} {alpha:.2f}"
        return [("blinking", line)]

    @classmethod
    def panels(cls, summary: Any) -> list[Panel]:
        """The trace panel (slot 2); in the CW layout also the occurrence histogram (slot 3)."""
        from ..plots import cw_layout

        def draw_trace(fig: Any, cell: Any) -> None:
            from ..plots import plot_trace

            grid = cell.subgridspec(1, 2, width_ratios=(4, 1), wspace=0.02)
            ax = fig.add_subplot(grid[0])
            side = fig.add_subplot(grid[1], sharey=ax)
            notes = summary.notes_for("blinking") if summary.blinking is None else []
            plot_trace(
                ax, summary.trace, summary.blinking, side, notes or summary.notes_for("trace")
            )

        def draw_occurrence(fig: Any, cell: Any) -> None:
            from ..plots import plot_occurrence

            ax = fig.add_subplot(cell)
            plot_occurrence(ax, summary.trace, summary.blinking, summary.notes_for("trace"))

        panels = [Panel(2, draw_trace)]
        if cw_layout(summary):  # no FLID without decays: the occurrences against Poisson
            panels.append(Panel(3, draw_occurrence))
        return panels

    @classmethod
    def live_status(
        cls, specs: Mapping[str, SeriesSpec], latest: Mapping[str, Snapshot], settings: Any
    ) -> str | None:
        """``"ON 0.85"``: the ON fraction of the last blinking snapshot; ``"ON —"`` before one;
        nothing when the levels give the blinking fractions (they say it themselves)."""
        if settings is not None and blinking_method(settings) == "levels" and "levels" in specs:
            return None
        snapshot = latest.get(BLINKING)
        if snapshot is None:
            return "ON —"
        return f"ON {float(snapshot.values['fractions'][0]):.2f}"

    @classmethod
    def view_panels(
        cls,
        series: Mapping[str, RecordedSeries],
        settings: Any,
        since: Mapping[str, RecordedSeries] | None = None,
    ) -> list[ViewPanel]:
        """The trace with its thresholds and, beside it, its occurrence histogram, with the ON,
        grey and OFF fractions (the bins since ``since``; see :func:`.trace_view.trace_panels`)."""
        return trace_panels(cls.result_from, series, since, BLINKING)

    @classmethod
    def tables(cls, summary: Any) -> dict[str, Table | str]:
        """The ``"trace"`` CSV table, or the reason it is missing."""
        return table_or_reason("trace", trace_table(summary, table_head(summary)), summary, "trace")

    # ------------------------------------------------------------------ result series
    def series(self) -> tuple[SeriesSpec, ...]:
        """The ``"trace"`` series (counts and live time (ps) per bin as new rows, the bin still
        filling apart) and the ``"blinking"`` series (thresholds in counts/s, state fractions,
        dwell exponents)."""
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
        """The trace bins completed since the last snapshot."""
        a = self.analyzer
        if a.t0 is None:
            return []
        done = a.n_bins if final else (covered[1] - a.t0) // a.bin_ps
        out = [trace_snapshot(a, self._rows, done, covered, live_ps)]
        self._rows = done
        return out

    def fit_snapshots(self, covered: tuple[int, int], live_ps: int, final: bool) -> list:
        """The blinking statistics of the trace so far, if due."""
        a = self.analyzer
        return [] if a.t0 is None else self._blinking_snapshot(covered, live_ps, final)

    def pending(self, covered: tuple[int, int], live_ps: int) -> list[Snapshot]:
        """The trace bins not yet stored, else a blinking fit that was put off."""
        if self.analyzer.n_bins > self._rows:
            out = self.snapshots(covered, live_ps, final=True)
            return out + self.fit_snapshots(covered, live_ps, final=True)
        if self._fit_missing:
            return self._blinking_snapshot(covered, live_ps, final=True)
        return []

    def restore(self, state: ResumeState) -> None:
        """Continue from the stored trace rows and the bin that was filling at the resume time."""
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
    def replica(cls, series: Mapping[str, RecordedSeries], channels: ChannelMap) -> TraceAnalyzer:
        """A fresh :class:`TraceAnalyzer` of the recorded channels and bin (ps)."""
        tr = cls.result_from(series)
        return TraceAnalyzer(list(tr.channels), bin=tr.bin_ps, channels=channels)

    @classmethod
    def same(cls, live: TraceResult, offline: TraceResult) -> bool:
        """Whether both traces hold the same counts per bin and channel and the same live time."""
        return bool(
            np.array_equal(live.counts_by_channel, offline.counts_by_channel)
            and np.array_equal(live.exposure_ps, offline.exposure_ps)
        )

    @classmethod
    def result_from(cls, series: Mapping[str, RecordedSeries], k: int = -1) -> TraceResult:
        """The :class:`TraceResult` of the rows stored up to snapshot ``k`` of the trace."""
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



def _blinking(trace: TraceResult, settings: Any, finishing: Finishing) -> BlinkingResult | None:
    """The blinking analysis by the settings' method: from the change-point levels when they
    are the method and were found, else (with a note when they were the method) from the
    trace's thresholds."""
    levels = finishing.values.get("levels")
    if blinking_method(settings) == "levels":
        if levels is not None:
            return finishing.attempt(
                "blinking",
                lambda: levels_blinking(trace, levels, powerlaw_min_ps=settings.powerlaw_min),
            )
        finishing.notes.append("blinking: no change-point levels; from trace thresholds")
    return finishing.attempt("blinking", lambda: blinking_of(trace, settings))

def trace_snapshot(
    a: TraceAnalyzer, first: int, last: int, covered: tuple[int, int], live_ps: int
) -> Snapshot:
    """A ``trace`` snapshot of analyzer ``a``: bins ``first`` to ``last`` as new rows, and the
    bin after them so far."""
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


def blinking_of(trace: TraceResult, settings: SummarySettings) -> BlinkingResult:
    """The blinking analysis of the whole trace (for the run summary).

    Raises
    ------
    AnalysisError
        Fewer full bins than :data:`MIN_BLINKING_BINS`, or no usable states.
    """
    full = int(np.count_nonzero(trace.exposure_ps == trace.bin_ps))
    if full < MIN_BLINKING_BINS:
        raise AnalysisError(
            f"{full} full trace bins of {trace.bin_ps / 1e9:g} ms; a blinking analysis needs "
            f"at least {MIN_BLINKING_BINS}"
        )
    return trace.states(
        settings.thresholds_cps, settings.n_states, powerlaw_min_ps=settings.powerlaw_min
    )


# ---------------------------------------------------------------------- CSV export
def trace_table(summary: Any, head: str) -> Table | None:
    """The trace CSV table (bin start in s, counts, live time in s, rate in counts/s, and the state
    per bin when blinking was analysed) headed by the run, channels and bin; ``None`` without a
    trace."""
    tr, b = summary.trace, summary.blinking
    if tr is None:
        return None
    comments = [
        f"{head}, intensity trace of {'+'.join(tr.channels)}, bin {tr.bin_ps / 1e9:g} ms",
        "t_s: start of the bin on the run's clock (s); counts: photons in the bin; live_s: live "
        "time in the bin (s; less than the bin where the run starts or ends or data were lost); "
        "rate_cps: counts / live time (counts per second, nan without live time)",
    ]
    columns = {
        "t_s": tr.t_s, "counts": tr.counts, "live_s": tr.exposure_ps / PS_PER_S,
        "rate_cps": tr.rate_cps,
    }  # fmt: skip
    if b is not None:
        thresholds = ", ".join(
            f"{c:.6g} counts per full bin ({r:.6g} cps)"
            for c, r in zip(b.thresholds_counts, b.thresholds_cps, strict=True)
        )
        comments.append(
            f"state: 2 on, 1 grey, 0 off, -1 no live time; thresholds {thresholds} ({b.method})"
        )
        columns["state"] = b.states
    return make_table("trace", comments, columns, ("counts", "state"))
