"""The levels panel of the live web view: the intensity of each change-point level over time,
with the states' intensities and their shares of the time."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ...errors import AnalysisError
from ..level_result import LevelsResult
from ..series import RecordedSeries
from ..view_panel import MAX_POINTS, Figure, Number, ViewPanel, end_of, shown_span

STATES = ("on", "grey", "off")


def levels_panel(
    levels: LevelsResult, series: RecordedSeries, since: Mapping[str, RecordedSeries] | None
) -> ViewPanel:
    """The closed levels of the last snapshot (those that end after ``since``, when given), drawn
    as steps of their intensity; the numbers are the ON, grey and OFF shares of every level so
    far."""
    after_ps = end_of(since, "levels")
    covered = shown_span(series, after_ps)
    shown = levels.ends_ps > covered[0]
    starts, ends = levels.starts_ps[shown][-MAX_POINTS:], levels.ends_ps[shown][-MAX_POINTS:]
    rate = levels.rate_cps[shown][-MAX_POINTS:]
    x = np.column_stack([starts, ends]).ravel() / 1e12
    y = np.repeat(rate, 2)
    fig = Figure("time (s)", "intensity of the level (cps)")
    fig.line(x, y, "levels")
    fractions = [float(v) for v in series.fields["fractions"][-1]]
    numbers = [Number(f"levels_{s}", f"{s.upper()} (levels)", f)
               for s, f in zip(STATES, fractions, strict=True)]  # fmt: skip
    numbers.append(Number("levels_count", "levels", float(levels.n_levels),
                          text=f"{levels.n_levels:,}"))  # fmt: skip
    notes: tuple[str, ...] = ()
    try:
        for rate_cps in levels.fit.rates_cps:
            fig.level(float(rate_cps), color="rgba(44,160,44,0.8)")
    except AnalysisError as exc:
        notes = (f"no states yet: {exc}",)
    if after_ps is not None:
        notes += ("the shares are of the whole segment, not only the levels shown",)
    notes += ("the newest levels close once the photons after them settle their ends",)
    return ViewPanel("levels", "change-point levels", 35, fig.to_dict(), tuple(numbers), notes,
                     covered, float(series.wall_time_s[-1]))  # fmt: skip
