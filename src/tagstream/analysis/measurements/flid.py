"""FLID: counts and mean photon delay per trace bin (fluorescence lifetime-intensity
distribution), for the run summary and live.

Series ``flid``: row array ``bins`` (photons, timed photons, delay sum, live time in ps per
completed time bin), fields ``t0_ps``, ``delay_unit_ps`` (unit of the delay sums) and
``partial`` (the bin still filling).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np

from ...tags import ChannelMap, RunMetadata
from ...tags.units import PS_PER_NS
from ..flid import FlidAnalyzer, FlidResult
from ..measurement import Measurement, Panel, ResumeState, register
from ..run_analyzers import flid_analyzer, trace_channels
from ..series import Column, RecordedSeries, SeriesSpec, Snapshot
from ..summary_settings import SummarySettings, no_decay_reason
from ..tables import Table, make_table, table_head, table_or_reason
from ..view_panel import ViewPanel, end_of
from .flid_view import flid_panel

SERIES = "flid"
#: The rows of a FLID bin in the series: photons, timed photons, delay sum, live time (ps).
ROWS = ("counts", "timed", "delay_sum", "exposure_ps")


@register
class FlidMeasurement(Measurement):
    """Counts and mean delays per FLID bin of the emitter's photons."""

    kind = SERIES
    values: ClassVar[Mapping[str, Any]] = {"flid": None}
    exports = ("flid",)

    @classmethod
    def build(
        cls, settings: SummarySettings, metadata: RunMetadata, notes: list[str]
    ) -> Self | None:
        """The FLID map for this run, or ``None`` when the settings resolve none; a note when the
        run has no decays to time its photons but a trace."""
        reason = no_decay_reason(metadata)
        if reason is not None and trace_channels(settings, metadata) is not None:
            notes.append(f"{cls.kind}: {reason}")
        analyzer = flid_analyzer(settings, metadata)
        return None if analyzer is None else cls(analyzer)

    @classmethod
    def panels(cls, summary: Any) -> list[Panel]:
        """The FLID panel (slot 3) in the pulsed layout; none in the CW one, where the trace's
        occurrence histogram takes its place."""
        from ..plots import cw_layout

        if cw_layout(summary):  # no decays: the trace's occurrences take its place
            return []

        def draw(fig: Any, cell: Any) -> None:
            from ..plots import plot_flid

            plot_flid(fig.add_subplot(cell), summary.flid, summary.notes_for("flid"))

        return [Panel(3, draw)]

    @classmethod
    def tables(cls, summary: Any) -> dict[str, Table | str]:
        """The ``"flid"`` CSV table, or the reason it is missing."""
        return table_or_reason("flid", flid_table(summary, table_head(summary)), summary, "flid")

    @classmethod
    def view_panels(
        cls,
        series: Mapping[str, RecordedSeries],
        settings: Any,
        since: Mapping[str, RecordedSeries] | None = None,
    ) -> list[ViewPanel]:
        """The FLID map of the full time bins so far (those since ``since``)."""
        s = series.get(SERIES)
        if s is None or not len(s):
            return []
        return [flid_panel(cls.result_from(series), s, end_of(since, SERIES))]

    # ------------------------------------------------------------------ result series
    def __init__(self, analyzer: FlidAnalyzer):
        super().__init__(analyzer)
        self._rows = 0  # bins stored so far

    def series(self) -> tuple[SeriesSpec, ...]:
        """The ``"flid"`` series: photons, timed photons, delay sums and live time per completed
        time bin as new rows, and the bin still filling."""
        a = self.analyzer
        spec = SeriesSpec(
            name=SERIES,
            description="FLID: photons, timed photons, delay sum and live time per time bin.",
            fields={
                "t0_ps": Column(np.int64, (), "Start of bin 0, ps."),
                "delay_unit_ps": Column(np.float64, (), "Unit of the delay sums, ps."),
                "partial": Column(np.int64, (4,), "The bin still filling, as a row of bins."),
            },
            row_arrays={
                "bins": Column(np.int64, (4,), "Per bin: " + ", ".join(ROWS) + "."),
            },
            attrs={"channels": ",".join(str(d) for d in a.detectors), "bin_ps": int(a.bin_ps)},
        )
        return (spec,)

    def snapshots(self, covered: tuple[int, int], live_ps: int, final: bool) -> list[Snapshot]:
        """The bins completed since the last snapshot (all with ``final``) and the one filling."""
        a = self.analyzer
        if a.t0 is None or a.delay_unit_ps is None:
            return []
        done = a.n_bins if final else min(a.n_bins, (covered[1] - a.t0) // a.bin_ps)
        partial = a.bins(done, done + 1)
        values = {
            "t0_ps": a.t0,
            "delay_unit_ps": a.delay_unit_ps,
            "partial": partial[:, 0] if partial.shape[1] else np.zeros(4, np.int64),
        }
        rows = a.bins(self._rows, done).T
        self._rows = done
        return [Snapshot(SERIES, covered, live_ps, values, new_rows={"bins": rows})]

    def pending(self, covered: tuple[int, int], live_ps: int) -> list[Snapshot]:
        """The bins not yet stored."""
        if self.analyzer.n_bins > self._rows:
            return self.snapshots(covered, live_ps, final=True)
        return []

    def restore(self, state: ResumeState) -> None:
        """Continue from the stored bins and the bin that was filling at the resume time."""
        last = state.snapshots.get(SERIES)
        if last is None:
            return
        columns = np.asarray(last.new_rows["bins"], np.int64).T
        self._rows = columns.shape[1]
        t0 = int(last.values["t0_ps"])
        if (state.t_resume - t0) % self.analyzer.bin_ps:
            partial = np.asarray(last.values["partial"], np.int64)[:, None]
            columns = np.concatenate([columns, partial], axis=1)
        self.analyzer.restore(t0, columns, state.coverage())

    @classmethod
    def replica(cls, series: Mapping[str, RecordedSeries], channels: ChannelMap) -> FlidAnalyzer:
        """A fresh :class:`FlidAnalyzer` of the recorded channels and bin (ps)."""
        s = series[SERIES]
        detectors = [int(d) for d in str(s.attrs["channels"]).split(",")]
        return FlidAnalyzer(detectors, bin=int(s.attrs["bin_ps"]), channels=channels)

    @classmethod
    def same(cls, live: FlidResult, offline: FlidResult) -> bool:
        """Whether both maps hold the same photons, timed photons, delay sums and live time per
        bin."""
        return all(
            np.array_equal(getattr(live, name), getattr(offline, name))
            for name in ("counts", "timed", "delay_sum", "exposure_ps")
        )

    @classmethod
    def result_from(cls, series: Mapping[str, RecordedSeries], k: int = -1) -> FlidResult:
        """The :class:`FlidResult` of the bins stored up to snapshot ``k``."""
        s = series[SERIES]
        bins = s.row_arrays["bins"][: s.rows(k)]
        return FlidResult(
            int(s.fields["t0_ps"][k]), int(s.attrs["bin_ps"]), bins[:, 0].copy(),
            bins[:, 1].copy(), bins[:, 2].copy(), float(s.fields["delay_unit_ps"][k]),
            bins[:, 3].copy(),
        )  # fmt: skip


# ---------------------------------------------------------------------- CSV export
def flid_table(summary: Any, head: str) -> Table | None:
    """The FLID map as a long CSV table, one row per cell (counts per time bin, mean delay in ns,
    time bins); ``None`` without a map or with an empty one."""
    fl = summary.flid
    if fl is None:
        return None
    hist, delay_edges, count_edges = fl.histogram()
    if hist.size == 0 or hist.sum() == 0:
        return None
    count_width = float(count_edges[1] - count_edges[0])
    delay_width = float(delay_edges[1] - delay_edges[0]) / PS_PER_NS
    comments = [
        f"{head}, FLID of {fl.bin_ps / 1e9:g} ms time bins (full bins with timed photons)",
        f"a long table, one row per cell of the map: counts_per_bin: centre of a class of "
        f"{count_width:g} counts per time bin; mean_delay_ns: centre of a class of "
        f"{delay_width:.6g} ns of the bin's mean photon delay after the laser pulse; "
        "time_bins: time bins in the cell (0 included, so the rows fill a "
        f"{hist.shape[0]} x {hist.shape[1]} grid, delay varying fastest)",
    ]
    counts_c = 0.5 * (count_edges[:-1] + count_edges[1:])
    delay_c = 0.5 * (delay_edges[:-1] + delay_edges[1:]) / PS_PER_NS
    rows, cols = np.meshgrid(counts_c, delay_c, indexing="ij")
    columns = {
        "counts_per_bin": rows.ravel(), "mean_delay_ns": cols.ravel(), "time_bins": hist.ravel()
    }  # fmt: skip
    return make_table("flid", comments, columns, ("time_bins",))
