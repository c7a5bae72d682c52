"""The log-binned (multi-tau) g2 of the pair, for runs without decays (CW), for the run
summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from ...tags import RunMetadata
from ..measurement import Measurement, Panel, register
from ..run_analyzers import log_g2_analyzer
from ..summary_settings import SummarySettings


@register
class LogG2Measurement(Measurement):
    """g2 of the pair on logarithmic lag bins from the g2 bin to 1 s."""

    kind = "g2_log"
    part = "g2"
    live = False
    values: ClassVar[Mapping[str, Any]] = {"g2_log": None}

    @classmethod
    def build(
        cls, settings: SummarySettings, metadata: RunMetadata, notes: list[str]
    ) -> Self | None:
        analyzer = log_g2_analyzer(settings, metadata)
        return None if analyzer is None else cls(analyzer)

    @classmethod
    def panels(cls, summary: Any) -> list[Panel]:
        from ..plots import cw_layout

        if not cw_layout(summary):
            return []

        def draw(fig: Any, cell: Any) -> None:
            from ..plots import plot_g2_log

            plot_g2_log(fig.add_subplot(cell), summary.g2_log, summary.notes_for("g2"))

        return [Panel(1, draw)]
