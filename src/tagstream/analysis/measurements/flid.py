"""FLID: counts and mean photon delay per trace bin (fluorescence lifetime-intensity
distribution), for the run summary."""

from __future__ import annotations

from typing import Self

from ...tags import RunMetadata
from ..measurement import Measurement, register
from ..run_analyzers import flid_analyzer, trace_channels
from ..summary_settings import SummarySettings, no_decay_reason


@register
class FlidMeasurement(Measurement):
    """Counts and mean delays per FLID bin of the emitter's photons."""

    kind = "flid"
    live = False

    @classmethod
    def build(
        cls, settings: SummarySettings, metadata: RunMetadata, notes: list[str]
    ) -> Self | None:
        reason = no_decay_reason(metadata)
        if reason is not None and trace_channels(settings, metadata) is not None:
            notes.append(f"{cls.kind}: {reason}")
        analyzer = flid_analyzer(settings, metadata)
        return None if analyzer is None else cls(analyzer)
