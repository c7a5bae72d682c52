"""Checks and defaults shared by the kinds that run only when their table names channels
(``[analysis.xx_x]``, ``[analysis.g3]``, ``[analysis.heralded]``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ...errors import AnalysisError
from ...tags import RunMetadata, parse_time

#: A correlation's window in laser periods by default (the zero-delay peak and its neighbours
#: whole, with the peaks two periods away for g3's side peaks).
WINDOW_PERIODS = 2.6
#: The window without a laser period.
CW_WINDOW = "50 ns"


def check_table(
    kind: str,
    table: Mapping[str, Any],
    known: tuple[str, ...],
    needed: tuple[str, ...],
    times: tuple[str, ...] = ("window", "bin"),
) -> None:
    """A one-line error for an unknown or missing setting of ``[analysis.<kind>]``, or one of
    ``times`` that is not a time."""
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise AnalysisError(
            f"[analysis.{kind}]: unknown setting(s) {', '.join(unknown)} "
            f"(known: {', '.join(known)})"
        )
    missing = [k for k in needed if k not in table]
    if missing:
        raise AnalysisError(f"[analysis.{kind}]: give {', '.join(missing)} (channel names)")
    for key in times:
        if key in table and parse_time(table[key], f"[analysis.{kind}] {key}") <= 0:
            raise AnalysisError(f"[analysis.{kind}] {key}: must be positive, got {table[key]!r}")


def default_window(metadata: RunMetadata, bin_ps: int) -> int:
    """:data:`WINDOW_PERIODS` laser periods in whole bins, else :data:`CW_WINDOW` (ps)."""
    period_ps = metadata.laser_period_ps or metadata.sync_period_ps
    if not period_ps:
        return parse_time(CW_WINDOW)
    return math.ceil(WINDOW_PERIODS * period_ps / bin_ps) * bin_ps
