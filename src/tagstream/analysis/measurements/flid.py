"""FLID: counts and mean photon delay per trace bin (fluorescence lifetime-intensity
distribution), for the run summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from ...tags import RunMetadata
from ..measurement import Measurement, Panel, register
from ..run_analyzers import flid_analyzer, trace_channels
from ..summary_settings import SummarySettings, no_decay_reason


@register
class FlidMeasurement(Measurement):
    """Counts and mean delays per FLID bin of the emitter's photons."""

    kind = "flid"
    live = False
    values: ClassVar[Mapping[str, Any]] = {"flid": None}

    @classmethod
    def build(
        cls, settings: SummarySettings, metadata: RunMetadata, notes: list[str]
    ) -> Self | None:
        reason = no_decay_reason(metadata)
        if reason is not None and trace_channels(settings, metadata) is not None:
            notes.append(f"{cls.kind}: {reason}")
        analyzer = flid_analyzer(settings, metadata)
        return None if analyzer is None else cls(analyzer)

    @classmethod
    def panels(cls, summary: Any) -> list[Panel]:
        from ..plots import cw_layout

        if cw_layout(summary):  # no decays: the trace's occurrences take its place
            return []

        def draw(fig: Any, cell: Any) -> None:
            from ..plots import plot_flid

            plot_flid(fig.add_subplot(cell), summary.flid, summary.notes_for("flid"))

        return [Panel(3, draw)]
