"""The g2 panel of the live web view: g2(τ) over the uncorrelated expectation, with g2(0) ± σ,
the pulsed peak windows or the CW fit."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ...errors import TagstreamError
from ..g2 import G2Result
from ..normalization import pair_factor
from ..plots_axes import display_factor, merge_bins, time_unit
from ..series import RecordedSeries
from ..view_panel import MAX_POINTS, Figure, Number, ViewPanel, shown_span

#: Fewest coincidences per displayed bin on average (sparser histograms are merged).
MIN_MEAN = 20.0


def g2_between(now: G2Result, then: G2Result) -> G2Result:
    """The g2 of the stretch between two cumulative results ``then`` and ``now`` of one
    analyzer: coincidences, photons, live time and lag overlap subtracted, the uncorrelated
    expectation made again from them (N_A·N_B·overlap·bin / T², as for a whole run)."""
    n_a, n_b = now.n_a - then.n_a, now.n_b - then.n_b
    live = now.live_ps - then.live_ps
    overlap = now.overlap_ps - then.overlap_ps
    expected = np.zeros_like(now.expected)
    if live > 0:
        auto = now.channels[0] == now.channels[1]
        widths = np.diff(now.edges_ps).astype(np.float64)
        expected = pair_factor(n_a, n_b, auto) * overlap * widths / float(live) ** 2
    return replace(now, counts=now.counts - then.counts, expected=expected, overlap_ps=overlap,
                   n_a=n_a, n_b=n_b, live_ps=live)  # fmt: skip


def g2_panel(
    result: G2Result | None, series: RecordedSeries, settings: Any,
    since: RecordedSeries | None = None, lifetime_ps: float | None = None,
    published_s: float | None = None,
) -> ViewPanel:  # fmt: skip
    """The g2 panel of the last snapshot of ``series`` (``result``: its :class:`G2Result`, of
    the stretch after ``since`` when given; ``lifetime_ps``: the emitter's, when known;
    ``published_s``: when its newest input was published, by default the g2 snapshot's time)."""
    covered = shown_span(series, None if since is None else int(since.covered_ps[-1, 1]))
    published = float(series.wall_time_s[-1]) if published_s is None else published_s
    base = {"key": "g2", "title": "g2(τ)", "slot": 10, "covered_ps": covered,
            "published_s": published}  # fmt: skip
    if result is None or result.counts.sum() == 0:
        numbers = (Number("g2_zero", "g2(0)", None),)
        return ViewPanel(**base, numbers=numbers, notes=("no coincidences yet",))
    notes: list[str] = []
    try:
        zero = live_g2_zero(result, settings, lifetime_ps)
    except (TagstreamError, ValueError, FloatingPointError) as exc:
        zero = None
        notes.append(f"g2(0) not available yet: {exc}")
    factor, start, edges = _display_bins(result)
    counts = merge_bins(result.counts, factor, start)
    expected = merge_bins(result.expected, factor, start)
    with np.errstate(divide="ignore", invalid="ignore"):
        shown = np.where(expected > 0, counts / expected, np.nan)
    scale, unit = time_unit(float(result.edges_ps[-1]))
    centres = 0.5 * (edges[:-1] + edges[1:]) / scale
    fig = Figure(f"delay τ ({unit})", "g2(τ)").line(centres, shown, "×".join(result.channels),
                                                     steps=True)  # fmt: skip
    numbers = [Number("g2_zero", "g2(0)", None)]
    if zero is not None:
        numbers = [
            Number("g2_zero", "g2(0)", zero.value, zero.error),
            Number("purity", "purity", zero.purity),
        ]
        notes += list(getattr(zero.detail, "warnings", ()))
        _decorate(fig, result, zero, factor, start, centres, scale, expected)
    numbers.append(Number("coincidences", "coincidences", float(result.counts.sum()),
                          text=f"{int(result.counts.sum()):,}"))  # fmt: skip
    fig.level(1.0, color="rgba(128,128,128,0.7)")
    return ViewPanel(**base, figure=fig.to_dict(), numbers=tuple(numbers), notes=tuple(notes))


def live_g2_zero(result: G2Result, settings: Any, lifetime_ps: float | None = None) -> Any:
    """The live view's g2(0) of ``result``, by the method the run summary takes: for pulsed
    excitation "auto" sums one-period windows when the peaks, decaying with ``lifetime_ps``,
    stay inside them (a millisecond) and fits the peak comb when they overlap (tens of them),
    unless the settings name a method."""
    pulsed = settings.excitation == "pulsed" or (
        settings.excitation == "auto" and result.period_ps is not None
    )
    if not pulsed:
        return result.g2_zero(excitation=settings.excitation)
    return result.g2_zero(
        excitation="pulsed",
        method=settings.g2_method,
        lifetime_ps=lifetime_ps,
        search_zero_peak=not settings.delays,
    )


def _display_bins(result: G2Result) -> tuple[int, int, np.ndarray]:
    """Bins merged for display (a group edge at τ = 0): the factor, the first bin, the edges."""
    n = result.counts.size
    factor = display_factor(float(result.counts.sum()), n, MIN_MEAN, min(n, 200))
    factor = max(factor, -(-n // MAX_POINTS))
    start = (n // 2) % factor
    edges = result.edges_ps[start::factor][: (n - start) // factor + 1]
    return factor, start, np.asarray(edges, dtype=np.float64)


def _decorate(fig: Figure, result: G2Result, zero: Any, factor: int, start: int,
              centres: np.ndarray, scale: float, expected: np.ndarray) -> None:  # fmt: skip
    """The pulsed peak windows (−1, 0, +1 periods), and the fitted model where there is one."""
    if zero.excitation == "pulsed" and zero.period_ps:
        period, offset = zero.period_ps, zero.detail.offset_ps
        for k in (-1, 0, 1):
            colour = "rgba(255,127,14,0.15)" if k == 0 else "rgba(44,160,44,0.12)"
            centre = offset + k * period
            fig.band((centre - period / 2) / scale, (centre + period / 2) / scale, colour)
    model = getattr(zero.detail, "model", None)
    if model is not None:
        merged = merge_bins(np.asarray(model, dtype=float), factor, start)
        with np.errstate(divide="ignore", invalid="ignore"):
            curve = np.where(expected > 0, merged / expected, np.nan)
        fig.line(centres, curve, "fit", color="#d62728")
