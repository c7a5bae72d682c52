"""The log-binned (multi-tau) g2 of the pair, for runs without decays (CW), for the run
summary."""

from __future__ import annotations

from typing import Self

from ...tags import RunMetadata
from ..measurement import Measurement, register
from ..run_analyzers import log_g2_analyzer
from ..summary_settings import SummarySettings


@register
class LogG2Measurement(Measurement):
    """g2 of the pair on logarithmic lag bins from the g2 bin to 1 s."""

    kind = "g2_log"
    part = "g2"
    live = False

    @classmethod
    def build(
        cls, settings: SummarySettings, metadata: RunMetadata, notes: list[str]
    ) -> Self | None:
        analyzer = log_g2_analyzer(settings, metadata)
        return None if analyzer is None else cls(analyzer)
