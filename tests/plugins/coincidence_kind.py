"""A measurement kind that lives only here: the coincidence counter.

It counts pairs of a photon on A and a later (or simultaneous) photon on B at most ``window``
after it: ``t_A <= t_B <= t_A + window``. Every B tag counts the A tags in ``[t_B - window,
t_B]``; the A tags of the last ``window`` of a batch are carried to the next, so the count does
not depend on the chunking. It is built only when ``[analysis.coincidences]`` is given, and
everything about it is in this module: settings, analyzer, series, resume, summary block and
line, figure panel, CSV table and live status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np

from tagstream.analysis.measurement import Measurement, Panel, ResumeState, register
from tagstream.analysis.series import Column, RecordedSeries, SeriesSpec, Snapshot
from tagstream.analysis.tables import make_table, table_head
from tagstream.errors import AnalysisError
from tagstream.tags import ChannelMap, TagBatch, parse_time

KIND = "coincidences"


class CoincidenceCounter:
    """Counts ``t_A <= t_B <= t_A + window_ps`` pairs over a stream of batches."""

    def __init__(self, a: int, b: int, window_ps: int, labels: tuple[str, str]):
        self.a, self.b, self.window_ps, self.labels = a, b, window_ps, labels
        self.count = 0
        self._carry = np.zeros(0, np.int64)  # A tags of the last window

    def process(self, batch: TagBatch) -> None:
        ts, ch = batch.timestamps, batch.channels
        a = np.concatenate([self._carry, ts[ch == self.a]])
        b = ts[ch == self.b]
        hi = np.searchsorted(a, b, side="right")
        lo = np.searchsorted(a, b - self.window_ps, side="left")
        self.count += int((hi - lo).sum())
        self._carry = a[a >= batch.t_end - self.window_ps]

    def result(self) -> int:
        return self.count


@register
class CoincidenceMeasurement(Measurement):
    """Coincidences of the HBT pair within a window (``[analysis.coincidences] window``)."""

    kind = KIND
    values: ClassVar[Mapping[str, Any]] = {KIND: None}
    exports = (KIND,)

    @classmethod
    def check_settings(cls, table: Mapping[str, Any]) -> None:
        unknown = set(table) - {"window"}
        if unknown:
            raise AnalysisError(f"unknown setting(s) {sorted(unknown)}")
        if parse_time(table.get("window", "1 ns"), "window") <= 0:
            raise AnalysisError("window must be positive")

    @classmethod
    def build(cls, settings, metadata, notes) -> Self | None:
        if not cls.configured(settings) or settings.g2_pair is None:
            return None
        window = parse_time(cls.own_settings(settings).get("window", "1 ns"), "window")
        a, b = (metadata.channels[name].number for name in settings.g2_pair)
        return cls(CoincidenceCounter(a, b, window, tuple(settings.g2_pair)))

    # ------------------------------------------------------------------ series
    def series(self) -> tuple[SeriesSpec, ...]:
        c = self.analyzer
        spec = SeriesSpec(
            name=KIND,
            description="Coincidences t_A <= t_B <= t_A + window.",
            fields={"count": Column(np.int64, (), "Pairs counted so far.")},
            attrs={"channel_a": c.labels[0], "channel_b": c.labels[1], "window_ps": c.window_ps},
        )
        return (spec,)

    def snapshots(self, covered, live_ps, final) -> list[Snapshot]:
        return [Snapshot(KIND, covered, live_ps, {"count": self.analyzer.count})]

    def restore(self, state: ResumeState) -> None:
        last = state.snapshots.get(KIND)
        if last is not None:
            self.analyzer.count = int(last.values["count"])

    @classmethod
    def result_from(cls, series: Mapping[str, RecordedSeries], k: int = -1) -> int:
        return int(series[KIND].fields["count"][k])

    @classmethod
    def replica(cls, series: Mapping[str, RecordedSeries], channels: ChannelMap):
        attrs = series[KIND].attrs
        labels = (str(attrs["channel_a"]), str(attrs["channel_b"]))
        a, b = (channels[name].number for name in labels)
        return CoincidenceCounter(a, b, int(attrs["window_ps"]), labels)

    @classmethod
    def same(cls, live: int, offline: int) -> bool:
        return live == offline

    # ------------------------------------------------------------------ the run summary
    @classmethod
    def _configured(cls, summary: Any) -> bool:
        return cls.configured(summary.settings)

    @classmethod
    def blocks(cls, summary: Any) -> dict[str, dict[str, Any]]:
        if not cls._configured(summary):
            return {}
        count = summary.coincidences
        rate = None if count is None or summary.live_s <= 0 else count / summary.live_s
        return {KIND: {"count": count, "rate_cps": rate, "note": summary.note(KIND)}}

    @classmethod
    def lines(cls, summary: Any) -> list[tuple[str, str]]:
        if not cls._configured(summary):
            return []
        return [(KIND, f"coincidences: {summary.coincidences}")]

    @classmethod
    def panels(cls, summary: Any) -> list[Panel]:
        if not cls._configured(summary):
            return []

        def draw(fig: Any, cell: Any) -> None:
            ax = fig.add_subplot(cell)
            ax.bar([0], [summary.coincidences or 0])
            ax.set_title("coincidences")

        return [Panel(100, draw)]

    @classmethod
    def tables(cls, summary: Any) -> dict[str, Any]:
        if not cls._configured(summary) or summary.coincidences is None:
            return {}
        columns = {"count": np.array([summary.coincidences])}
        return {KIND: make_table(KIND, [table_head(summary)], columns, ("count",))}

    @classmethod
    def live_status(cls, specs, latest, settings) -> str | None:
        last = latest.get(KIND)  # None also when the run does not measure it
        return None if last is None else f"coinc {int(last.values['count'])}"
