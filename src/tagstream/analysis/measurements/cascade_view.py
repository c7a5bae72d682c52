"""The live web view's panels of the cascade correlations: the XX–X cross-correlation (a line
over the lag with the peak windows) and the triple-coincidence maps of g3 and the heralded g2."""

from __future__ import annotations

import numpy as np

from ..g2 import G2Result
from ..g2_pulsed_result import PulsedG2
from ..plots_axes import merge_bins, time_unit
from ..series import RecordedSeries
from ..triples import TripleResult
from ..triples_zero import TripleValue
from ..view_panel import MAX_POINTS, Figure, Number, ViewPanel, shown_span

#: Most cells per axis of a triple map sent to the page (finer maps are merged).
MAP_CELLS = 100


def xx_x_panel(
    result: G2Result, bunching: PulsedG2 | None, note: str | None, series: RecordedSeries
) -> ViewPanel:
    """g2_XX,X(τ) (counts over the uncorrelated expectation) with the bunching amplitude."""
    notes: tuple[str, ...] = () if note is None else (f"bunching not available: {note}",)
    value = error = None
    centres: list[float] = []
    period = 0.0
    if bunching is not None:
        value, error = bunching.value, bunching.error
        notes += bunching.warnings
        period = bunching.period_ps
        centres = [bunching.offset_ps + k * period for k in (-1, 0, 1)]
    numbers = [Number("xx_x_bunching", "XX–X bunching", value, error)]
    return peaks_panel("xx_x", "XX–X cross-correlation", "g2_XX,X(τ)", result, centres, period,
                       numbers, notes, series)  # fmt: skip


def peaks_panel(
    key: str, title: str, y_title: str, result: G2Result, centres: list[float], period: float,
    numbers: list[Number], notes: tuple[str, ...], series: RecordedSeries,
) -> ViewPanel:  # fmt: skip
    """A pair histogram (counts over the uncorrelated expectation) with one-period windows
    shaded around ``centres`` (ps; the one nearest zero in orange) and the coincidences."""
    n = result.counts.size
    factor = max(1, -(-n // MAX_POINTS))
    start = (n // 2) % factor
    edges = np.asarray(result.edges_ps[start::factor][: (n - start) // factor + 1], float)
    counts = merge_bins(result.counts, factor, start)
    expected = merge_bins(result.expected, factor, start)
    with np.errstate(divide="ignore", invalid="ignore"):
        shown = np.where(expected > 0, counts / expected, np.nan)
    scale, unit = time_unit(float(result.edges_ps[-1]))
    a, b = result.channels
    fig = Figure(f"τ = t_{b} − t_{a} ({unit})", y_title)
    fig.line(0.5 * (edges[:-1] + edges[1:]) / scale, shown, "×".join(result.channels), steps=True)
    nearest = min(centres, key=abs) if centres else None
    for c in centres:
        colour = "rgba(255,127,14,0.15)" if c == nearest else "rgba(44,160,44,0.12)"
        fig.band((c - period / 2) / scale, (c + period / 2) / scale, colour)
    total = int(result.counts.sum())
    numbers = [*numbers, Number(f"{key}_pairs", "coincidences", float(total), text=f"{total:,}")]
    return ViewPanel(key, title, 45, fig.to_dict(), tuple(numbers), notes, shown_span(series),
                     float(series.wall_time_s[-1]))  # fmt: skip


def triples_panel(
    key: str, title: str, label: str, result: TripleResult, value: TripleValue | None,
    note: str | None, series: RecordedSeries,
) -> ViewPanel:  # fmt: skip
    """The triple map (counts over the uncorrelated expectation, cells merged to at most
    :data:`MAP_CELLS` per axis) with the value (``label``: its name)."""
    n = result.counts.shape[0]
    factor = max(1, -(-n // MAP_CELLS))
    m = n // factor
    counts = result.counts[: m * factor, : m * factor].reshape(m, factor, m, factor).sum((1, 3))
    expected = result.expected[0, 0] * factor**2
    with np.errstate(divide="ignore", invalid="ignore"):
        z = counts / expected if expected > 0 else np.full(counts.shape, np.nan)
    edges = np.asarray(result.edges_ps[: m * factor + 1 : factor], float)
    scale, unit = time_unit(float(result.edges_ps[-1]))
    centres = 0.5 * (edges[:-1] + edges[1:]) / scale
    b, c = result.channels[1:]
    a = result.channels[0]
    fig = Figure(f"τ2 = t_{c} − t_{a} ({unit})", f"τ1 = t_{b} − t_{a} ({unit})")
    fig.heatmap(centres, centres, z, "triples / uncorrelated")
    notes: tuple[str, ...] = () if note is None else (f"{label} not available: {note}",)
    numbers = [Number(key, label, None if value is None else value.value,
                      None if value is None else value.error)]  # fmt: skip
    if value is not None:
        notes += value.warnings
    total = int(result.counts.sum())
    numbers.append(Number(f"{key}_triples", "triples", float(total), text=f"{total:,}"))
    return ViewPanel(key, title, 46, fig.to_dict(), tuple(numbers), notes, shown_span(series),
                     float(series.wall_time_s[-1]))  # fmt: skip
