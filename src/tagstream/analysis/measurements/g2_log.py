"""The log-binned (multi-tau) g2 of the pair, for runs without decays (CW), for the run
summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from ...tags import RunMetadata
from ...tags.units import PS_PER_S
from ..measurement import Measurement, Panel, register
from ..run_analyzers import log_g2_analyzer
from ..summary_settings import SummarySettings
from ..tables import Table, make_table, table_head, table_or_reason


@register
class LogG2Measurement(Measurement):
    """g2 of the pair on logarithmic lag bins from the g2 bin to 1 s."""

    kind = "g2_log"
    part = "g2"
    live = False
    values: ClassVar[Mapping[str, Any]] = {"g2_log": None}
    exports = ("g2_log",)

    @classmethod
    def build(
        cls, settings: SummarySettings, metadata: RunMetadata, notes: list[str]
    ) -> Self | None:
        """The log-binned (multi-tau) g2 of the HBT pair for this run, or ``None`` when the settings
        resolve none."""
        analyzer = log_g2_analyzer(settings, metadata)
        return None if analyzer is None else cls(analyzer)

    @classmethod
    def panels(cls, summary: Any) -> list[Panel]:
        """The log-binned g2 panel (slot 1) in the CW layout; none in the pulsed one."""
        from ..plots import cw_layout

        if not cw_layout(summary):
            return []

        def draw(fig: Any, cell: Any) -> None:
            from ..plots import plot_g2_log

            plot_g2_log(fig.add_subplot(cell), summary.g2_log, summary.notes_for("g2"))

        return [Panel(1, draw)]

    @classmethod
    def tables(cls, summary: Any) -> dict[str, Table | str]:
        """The ``"g2_log"`` CSV table, or the reason it is missing; none for a pulsed run (the decay
        is exported instead)."""
        table = g2_log_table(summary, table_head(summary))
        if table is None and summary.decay is not None:  # pulsed: the decay is exported
            return {}
        return table_or_reason("g2_log", table, summary, "g2")


# ---------------------------------------------------------------------- CSV export
def g2_log_table(summary: Any, head: str) -> Table | None:
    """The log-binned g2 CSV table (lag and cell width in s, coincidences of both directions,
    expected, g2 and its error) headed by the run and the pair; ``None`` without one."""
    log = summary.g2_log
    if log is None:
        return None
    comments = [
        f"{head}, log-binned (multi-tau) g2 pair {'-'.join(log.channels)}, {log.n_a} and "
        f"{log.n_b} photons, {log.live_ps / PS_PER_S:.6g} s live",
        "tau_s: lag (s); cell_s: width of the cells whose index differs by tau / cell (a bin "
        "spans tau - cell to tau + cell with a triangular weight); counts: coincidences of both "
        "directions; expected: the same for uncorrelated light; g2: counts / expected "
        "(nan where nothing is expected); g2_err: its one-sigma uncertainty",
    ]
    columns = {
        "tau_s": log.tau_ps / PS_PER_S, "cell_s": log.cell_ps / PS_PER_S,
        "counts": log.counts_ab + log.counts_ba, "expected": 2.0 * log.expected, "g2": log.g2,
        "g2_err": log.g2_err,
    }  # fmt: skip
    return make_table("g2_log", comments, columns, ("counts",))
