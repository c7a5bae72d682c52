"""FLID: counts and mean photon delay per trace bin (fluorescence lifetime-intensity
distribution), for the run summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np

from ...tags import RunMetadata
from ...tags.units import PS_PER_NS
from ..measurement import Measurement, Panel, register
from ..run_analyzers import flid_analyzer, trace_channels
from ..summary_settings import SummarySettings, no_decay_reason
from ..tables import Table, make_table, table_head, table_or_reason


@register
class FlidMeasurement(Measurement):
    """Counts and mean delays per FLID bin of the emitter's photons."""

    kind = "flid"
    live = False
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
