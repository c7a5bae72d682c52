"""Counts between markers (see :mod:`~tagstream.analysis.counters`).

Runs when ``[analysis.counters]`` is given: ``start`` (the marker channel(s) opening an
interval: a pixel or line clock, a shutter's "open"), ``stop`` (closing it; without it the
next start does) and ``channels`` (counted; the detectors by default). Series ``counters``:
one row per closed interval (begin, end, counts per channel), the open interval per snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np

from ...errors import AnalysisError
from ...tags import ChannelMap, RunMetadata
from ..counters import CounterAnalyzer, CounterResult
from ..measurement import Measurement, Panel, ResumeState, register
from ..series import Column, RecordedSeries, SeriesSpec, Snapshot
from ..summary_settings import SummarySettings
from ..tables import make_table, table_head, table_or_reason
from ..view_panel import MAX_POINTS, Figure, Number, ViewPanel, shown_span
from ._attrs import numbers, numbers_attr
from .own_settings import check_table

SERIES = "counters"
KEYS = ("start", "stop", "channels", "intervals", "mean_interval_s", "mean_counts", "rate_cps")


@register
class CountersMeasurement(Measurement):
    """Photons per channel between markers."""

    kind = "counters"
    values: ClassVar[Mapping[str, Any]] = {"counters": None}
    exports = ("counters",)

    @classmethod
    def check_settings(cls, table: Mapping[str, Any]) -> None:
        """``start`` is needed; ``stop`` and ``channels`` may be given."""
        check_table(cls.kind, table, ("start", "stop", "channels"), ("start",), times=())

    @classmethod
    def build(
        cls, settings: SummarySettings, metadata: RunMetadata, notes: list[str]
    ) -> Self | None:
        """The counter of ``[analysis.counters]``; ``None`` when it is not given."""
        if not cls.configured(settings):
            return None
        own = cls.own_settings(settings)
        try:
            return cls(CounterAnalyzer(own["start"], own.get("stop"), own.get("channels"),
                                       metadata.channels))  # fmt: skip
        except AnalysisError as exc:
            raise AnalysisError(f"[analysis.counters] {str(exc).removeprefix('counters: ')}") \
                from None  # fmt: skip

    @classmethod
    def blocks(cls, summary: Any) -> dict[str, dict[str, Any]]:
        """The ``"counters"`` block (see the README)."""
        block: dict[str, Any] = dict.fromkeys(KEYS)
        result: CounterResult | None = summary.counters
        own = cls.own_settings(summary.settings)
        note = summary.note(cls.kind)
        if result is not None:
            block |= {"start": own.get("start"), "stop": own.get("stop"),
                      "channels": list(result.channels), "intervals": len(result)}  # fmt: skip
            if len(result):
                rates = result.rate_cps()
                block |= {
                    "mean_interval_s": float(result.duration_s.mean()),
                    "mean_counts": {c: float(v) for c, v in
                                    zip(result.channels, result.counts.mean(axis=0), strict=True)},
                    "rate_cps": {c: float(v) for c, v in
                                 zip(result.channels, rates, strict=True)},
                }  # fmt: skip
            elif note is None:
                note = "no interval closed: check the start and stop marker channels"
        elif note is None:
            note = "not requested: give [analysis.counters] start (a marker channel)"
        return {cls.kind: block | {"note": note}}

    @classmethod
    def lines(cls, summary: Any) -> list[tuple[str, str]]:
        """``counters: 4096 intervals of 10 ms, A 12.1 kcps, B 11.9 kcps``."""
        result = summary.counters
        if result is None:
            return []
        if not len(result):
            return [(cls.kind, "counters: no interval closed")]
        pairs = zip(result.channels, result.rate_cps(), strict=True)
        rates = ", ".join(f"{c} {r / 1e3:.4g} kcps" for c, r in pairs)
        mean = float(result.duration_s.mean())
        return [(cls.kind, f"counters: {len(result)} intervals of {mean * 1e3:.4g} ms on "
                           f"average; inside them {rates}")]  # fmt: skip

    @classmethod
    def panels(cls, summary: Any) -> list[Panel]:
        """Counts per interval over the run (slot 7)."""
        if summary.counters is None:
            return []

        def draw(fig: Any, cell: Any) -> None:
            ax = fig.add_subplot(cell)
            result = summary.counters
            ax.set_xlabel("interval end (s)")
            ax.set_ylabel("photons per interval")
            if not len(result):
                ax.text(0.5, 0.5, "no interval closed", ha="center", transform=ax.transAxes)
                return
            for j, name in enumerate(result.channels):
                ax.plot(result.end_ps * 1e-12, result.counts[:, j], lw=0.7, label=name)
            ax.set_title(f"counts between markers: {len(result)} intervals", fontsize="medium")
            ax.legend(frameon=False, fontsize="small")

        return [Panel(7, draw)]

    @classmethod
    def tables(cls, summary: Any) -> dict[str, Any]:
        """The ``"counters"`` table: one row per interval (nothing when not asked for)."""
        if not cls.configured(summary.settings):
            return {}
        result = summary.counters
        table = None
        if result is not None and len(result):
            columns = {"begin (s)": result.begin_ps * 1e-12, "end (s)": result.end_ps * 1e-12}
            columns |= {f"{c} (counts)": result.counts[:, j]
                        for j, c in enumerate(result.channels)}  # fmt: skip
            whole = tuple(c for c in columns if c.endswith("(counts)"))
            head = (f"{table_head(summary)}: counts between markers",)
            table = make_table("counters", head, columns, whole)
        return table_or_reason("counters", table, summary, cls.kind)

    @classmethod
    def live_status(
        cls, specs: Mapping[str, SeriesSpec], latest: Mapping[str, Snapshot], settings: Any
    ) -> str | None:
        """``"counters 120 intervals"`` (closed so far)."""
        snapshot = latest.get(cls.kind)
        if snapshot is None:
            return None
        return f"counters {int(np.asarray(snapshot.values['closed']))} intervals"

    @classmethod
    def view_panels(
        cls,
        series: Mapping[str, RecordedSeries],
        settings: Any,
        since: Mapping[str, RecordedSeries] | None = None,
    ) -> list[ViewPanel]:
        """Counts of the last :data:`MAX_POINTS` intervals."""
        s = series.get(cls.kind)
        if s is None or not len(s):
            return []
        result = cls.result_from(series)
        fig = Figure("interval end (s)", "photons per interval")
        last = slice(max(0, len(result) - MAX_POINTS), None)
        for j, name in enumerate(result.channels):
            fig.line(result.end_ps[last] * 1e-12, result.counts[last, j], name)
        rates = result.rate_cps()
        numbers = [Number("counters_intervals", "intervals", float(len(result)),
                          text=f"{len(result):,}")]  # fmt: skip
        numbers += [Number(f"counters_rate_{c}", f"{c} inside", float(r) / 1e3, unit="kcps")
                    for c, r in zip(result.channels, rates, strict=True)]  # fmt: skip
        notes = ("the last intervals, whatever the time shown",) if since is not None else ()
        return [ViewPanel(cls.kind, "counts between markers", 48, fig.to_dict(), tuple(numbers),
                          notes, shown_span(s), float(s.wall_time_s[-1]))]  # fmt: skip

    # ------------------------------------------------------------------ result series
    def series(self) -> tuple[SeriesSpec, ...]:
        """The ``"counters"`` series."""
        a = self.analyzer
        k = len(a.counted)
        return (SeriesSpec(
            name=SERIES,
            description="Counts between markers: one row per closed interval.",
            fields={
                "state": Column(np.int64, (2,), "An interval open (1/0), and its start, ps."),
                "partial": Column(np.int64, (k,), "Counts so far in the open interval."),
                "closed": Column(np.int64, (), "Intervals closed so far."),
            },
            row_arrays={
                "begin_ps": Column(np.int64, (), "Start of each interval, ps."),
                "end_ps": Column(np.int64, (), "End of each interval, ps."),
                "counts": Column(np.int64, (k,), "Counts per interval (rows) and channel."),
            },
            attrs={"channels": ",".join(a.labels),
                   "start": numbers_attr(a.start_numbers), "stop": numbers_attr(a.stop_numbers),
                   "counted": numbers_attr(a.counted)},
        ),)

    def snapshots(self, covered: tuple[int, int], live_ps: int, final: bool) -> list[Snapshot]:
        """The intervals closed since the last snapshot, and the open one."""
        a = self.analyzer
        begin, end, counts = a.rows_since(self._rows)
        self._rows = a.closed
        values = {"state": a.state.copy(), "partial": a.partial.copy(), "closed": a.closed}
        new = {"begin_ps": begin, "end_ps": end, "counts": counts}
        return [Snapshot(SERIES, covered, live_ps, values, new_rows=new)]

    _rows = 0

    def pending(self, covered: tuple[int, int], live_ps: int) -> list[Snapshot]:
        """The intervals not yet stored."""
        return [] if self.analyzer.closed <= self._rows else self.snapshots(covered, live_ps,
                                                                             True)  # fmt: skip

    def restore(self, state: ResumeState) -> None:
        """Continue after the stored intervals, with the interval open then."""
        last = state.snapshots.get(SERIES)
        if last is None:
            return
        rows = last.new_rows
        self.analyzer.restore(rows["begin_ps"], rows["end_ps"], rows["counts"],
                              last.values["state"], last.values["partial"])  # fmt: skip
        self._rows = self.analyzer.closed

    @classmethod
    def replica(cls, series: Mapping[str, RecordedSeries], channels: ChannelMap) -> Any:
        """A fresh counter of the recorded markers and channels."""
        attrs = series[SERIES].attrs
        return CounterAnalyzer(list(numbers(attrs["start"])), list(numbers(attrs["stop"])) or None,
                               list(numbers(attrs["counted"])), channels)  # fmt: skip

    @classmethod
    def same(cls, live: CounterResult, offline: CounterResult) -> bool:
        """Same intervals and counts."""
        return bool(np.array_equal(live.begin_ps, offline.begin_ps)
                    and np.array_equal(live.end_ps, offline.end_ps)
                    and np.array_equal(live.counts, offline.counts))  # fmt: skip

    @classmethod
    def result_from(cls, series: Mapping[str, RecordedSeries], k: int = -1) -> CounterResult:
        """The intervals stored up to snapshot ``k``."""
        s = series[SERIES]
        n = s.rows(k)
        state = np.asarray(s.fields["state"][k])
        return CounterResult(
            tuple(str(s.attrs["channels"]).split(",")), np.asarray(s.row_arrays["begin_ps"][:n]),
            np.asarray(s.row_arrays["end_ps"][:n]), np.asarray(s.row_arrays["counts"][:n]),
            int(state[1]) if state[0] else None,
        )  # fmt: skip
