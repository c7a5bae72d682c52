"""The run summary as one figure, and the panels it is made of.

Pulsed runs: g2(τ) normalised to the adjacent peaks; the decay with its fit and deviance
residuals; the intensity trace with the blinking thresholds and its occurrence histogram; the FLID
map. CW runs (no sync, so no decay and no FLID) show instead the log-binned g2 from nanoseconds to
a second (antibunching, and bunching from blinking) and the count occurrence histogram against a
Poisson law of the same mean (wider means blinking).

The figure is built on :class:`matplotlib.figure.Figure` with an Agg canvas, never through
``pyplot``, so importing tagstream leaves the user's matplotlib backend alone. The ``plot_*``
panel functions draw into a given Axes; the results' ``.plot()`` methods call them (through
:func:`new_axes`, which uses ``pyplot`` only when no Axes is given, so Jupyter shows the figure).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from os import PathLike
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from ..tags.units import PS_PER_S
from .blinking import BlinkingResult
from .blinking_states import occurrence_histogram
from .derived import adjacent_height
from .formatting import value_with_error
from .measurement import registered
from .plots_axes import (
    display_factor,
    duration_text,
    legend,
    merge_bins,
    missing_panel,
    rate_text,
    remark,
    time_unit,
    warning_footer,
)
from .plots_decay import decay_curves
from .plots_g2 import (
    G2_MIN_BINS_CW,
    G2_MIN_BINS_PER_PERIOD,
    G2_MIN_MEAN,
    g2_fit_curve,
    shade_windows,
    significant,
)
from .plots_occurrence import coarse, occurrence_axes
from .run_summary import RunSummary

if TYPE_CHECKING:
    from .decay_fit import DecayFit
    from .flid import FlidResult
    from .g2 import G2Result
    from .g2_log import LogG2Result
    from .g2_zero import G2Zero
    from .lifetime import DecayResult
    from .trace import TraceResult

__all__ = [
    "new_axes",
    "plot_blinking",
    "plot_decay",
    "plot_decay_fit",
    "plot_flid",
    "plot_g2",
    "plot_g2_log",
    "plot_occurrence",
    "plot_trace",
    "save_figure",
    "summary_figure",
]


def summary_figure(summary: RunSummary) -> Figure:
    """The run's figure: the panels of every measurement kind in a two-column grid (see
    :class:`~tagstream.analysis.measurement.Panel`). Pulsed runs: g2(τ) with g2(0); the decay
    with its fit and residuals; the intensity trace with the blinking thresholds and its
    occurrence histogram; the FLID map. CW runs: the log-binned g2 and the count occurrence
    histogram against Poisson instead of the decay and FLID. A panel whose data are missing says
    why; warnings run across the bottom.

    Returns
    -------
    A figure with an Agg canvas (``fig.savefig`` works without a display).
    """
    panels = [p for cls in registered() for p in cls.panels(summary)]
    panels.sort(key=lambda p: p.slot)  # stable: the registry's order among equal slots
    rows = max(1, math.ceil(len(panels) / 2))
    warnings = [textwrap.fill(f"warning: {w}", 170) for w in summary.warnings]
    lines = sum(w.count("\n") + 1 for w in warnings)
    fig = Figure(figsize=(14, 4.5 * rows + 0.2 * lines), layout="constrained")
    FigureCanvasAgg(fig)
    heights = (*([1] * rows), 0.0125 * rows * lines) if warnings else (1,) * rows
    grid = fig.add_gridspec(len(heights), 2, height_ratios=heights)
    if warnings:
        warning_footer(fig.add_subplot(grid[rows, :]), warnings)
    for k, panel in enumerate(panels):
        panel.draw(fig, grid[k // 2, k % 2])
    lost = summary.live_ps < summary.t_end_ps - summary.t_begin_ps
    live = f", {summary.live_s:.4g} s live" if lost else ""
    fig.suptitle(f"{summary.name} — {summary.mode}, {summary.duration_s:.4g} s{live}")
    return fig


def cw_layout(summary: RunSummary) -> bool:
    """Whether the figure shows a CW run's panels: no decay histogram, a log-binned g2."""
    return summary.decay is None and getattr(summary, "g2_log", None) is not None


def save_figure(summary: RunSummary, path: str | PathLike[str], dpi: int = 150) -> None:
    """Write :func:`summary_figure` to ``path`` (the format follows the suffix: PNG, PDF, SVG)."""
    summary_figure(summary).savefig(path, dpi=dpi)


def new_axes(ax: Axes | None, rows: int = 1, **options) -> Axes | list[Axes]:
    """``ax``, or (when ``None``) the Axes of a new ``pyplot`` figure: one, or ``rows``
    stacked with a shared time axis (options go to ``pyplot.subplots``)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # only here: importing tagstream leaves pyplot alone

    if rows == 1:
        return plt.subplots(layout="constrained", **options)[1]
    return list(plt.subplots(rows, 1, sharex=True, layout="constrained", **options)[1])


# ---------------------------------------------------------------------------------- g2
def plot_g2(
    ax: Axes,
    g2: G2Result | None,
    zero: G2Zero | None = None,
    reasons: Sequence[str] = (),
    caption: str = "",
) -> Axes:
    """g2(τ): pulsed, divided by the height of the mean adjacent peak in the displayed bins
    (side peaks at 1, the zero-delay peak's maximum near g2(0) for peaks of one shape; g2(0) in
    the title is the analysis' area ratio) with the peak windows shaded; CW (or without g2(0)),
    counts over the uncorrelated expectation, with the fit. Sparse histograms are merged into
    wider bins for display. ``caption`` (the nanotime gate and its share of the photons) goes
    under the title."""
    if g2 is None or not np.any(np.isfinite(g2.g2)):
        return missing_panel(ax, "g2(τ)", reasons, "no coincidences")
    pulsed = zero is not None and zero.excitation == "pulsed" and bool(zero.period_ps)
    period = zero.period_ps if pulsed else None
    n = g2.counts.size
    min_bins = G2_MIN_BINS_CW
    if pulsed:
        min_bins = int(G2_MIN_BINS_PER_PERIOD * n * g2.bin_ps / period)
    factor = display_factor(float(g2.counts.sum()), n, G2_MIN_MEAN, min_bins)
    start = (n // 2) % factor  # a group edge at τ = 0
    edges = g2.edges_ps[start::factor][: (n - start) // factor + 1]
    counts = merge_bins(g2.counts, factor, start)
    scale, unit = time_unit(float(g2.edges_ps[-1]))
    norm = adjacent_height(edges, counts, period, zero.detail.offset_ps) if pulsed else None
    pulsed = norm is not None
    with np.errstate(divide="ignore", invalid="ignore"):
        if pulsed:
            shown = counts / norm
        else:
            expected = merge_bins(g2.expected, factor, start)
            shown = np.where(expected > 0, counts / expected, np.nan)
    ax.stairs(shown, edges / scale, lw=0.7, color="C0", label="×".join(g2.channels))
    if zero is None:
        ax.set_title("g2(τ): no g2(0)")
        remark(ax, reasons, top=True)
    else:
        g2_fit_curve(ax, g2, zero, norm, factor, start, edges / scale)
        if pulsed:
            shade_windows(ax, period / scale, zero.detail.offset_ps / scale)
        area = "area ratio, " if zero.excitation == "pulsed" else ""
        ax.set_title(
            f"g2(0) = {value_with_error(zero.value, zero.error)}  ({area}{zero.excitation}, "
            f"{zero.method}; purity {zero.purity:.3f})" + (f"\n{caption}" if caption else "")
        )
    ax.axhline(1.0, color="0.5", lw=0.6, ls=":")
    ax.set_xlabel(f"delay τ ({unit})")
    if pulsed:
        ax.set_ylabel("g2(τ), side peaks normalised to 1")
    else:
        ax.set_ylabel("g2(τ), normalised to uncorrelated light")
    bin_text = f"{duration_text(float(edges[1] - edges[0]))} bins"
    if pulsed:
        bin_text += "; divided by the mean adjacent peak's height; g2(0) is the area ratio"
    ax.text(1.0, -0.13 if pulsed else -0.1, bin_text, transform=ax.transAxes, ha="right", va="top",
            fontsize="x-small", color="0.4")  # fmt: skip
    ax.set_xlim(edges[0] / scale, edges[-1] / scale)
    ax.set_ylim(bottom=0)
    legend(ax)
    return ax


def plot_g2_log(ax: Axes, log: LogG2Result | None, reasons: Sequence[str] = ()) -> Axes:
    """The log-binned (multi-tau) g2 on a logarithmic lag axis, with one-sigma bands. The title
    names antibunching (below 1 under 100 ns) and bunching (above 1 from 1 µs, as blinking
    gives) only where a decade of lags departs from 1 by over 5 sigma and 0.03."""
    if log is None:
        return missing_panel(ax, "g2(τ), log-binned", reasons, "not computed")
    keep = (log.tau_ps > 0) & np.isfinite(log.g2)
    if not np.any(keep):
        return missing_panel(ax, "g2(τ), log-binned", reasons, "no coincidences")
    tau_s = log.tau_ps[keep] / PS_PER_S
    g, err = log.g2[keep], log.g2_err[keep]
    ax.fill_between(tau_s, g - err, g + err, color="C0", alpha=0.25, lw=0, label="± 1σ")
    ax.plot(tau_s, g, "o-", ms=2.5, lw=0.8, color="C0", label="×".join(log.channels))
    ax.axhline(1.0, color="0.5", lw=0.6, ls=":")
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set_xlim(tau_s[0], tau_s[-1])
    ax.set_xlabel("lag τ (s)")
    ax.set_ylabel("g2(τ), normalised to uncorrelated light")
    seen = []
    if significant(tau_s, tau_s < 1e-7, 1.0 - g, err):
        seen.append("antibunching at short τ")
    if significant(tau_s, tau_s >= 1e-6, g - 1.0, err):
        seen.append("bunching above 1 at long τ (blinking)")
    ax.set_title("g2(τ), log-binned" + (": " + ", ".join(seen) if seen else ""))
    legend(ax)
    return ax


# ---------------------------------------------------------------------------------- decay
def plot_decay(
    ax: Axes,
    decay: DecayResult | None,
    fit: DecayFit | None = None,
    residual_ax: Axes | None = None,
    reasons: Sequence[str] = (),
) -> Axes:
    """The decay histogram (log counts) with the fit over its fitted bins, and the Poisson
    deviance residuals in ``residual_ax`` (when given). Sparse histograms are merged into wider
    bins for display."""
    if decay is None or decay.counts.sum() == 0:
        if residual_ax is not None:
            residual_ax.set_axis_off()
        return missing_panel(ax, "decay", reasons, "no photons in the decay histogram")
    first = 0
    if fit is not None:
        first = int(np.argmin(np.abs(decay.edges_ps - fit.edges_ps[0])))
    decay_curves(
        ax,
        residual_ax,
        decay.edges_ps,
        decay.counts,
        fit,
        first,
        f"{decay.channel} data",
        decay.period_ps,
    )
    how = f"{fit.model}-exponential, IRF {fit.irf}" if fit is not None else "no fit"
    ax.set_title(f"decay of {decay.channel} ({how})")
    remark(ax, reasons if fit is None else [], top=False)
    return ax


def plot_decay_fit(ax: Axes, fit: DecayFit, residual_ax: Axes | None = None) -> Axes:
    """A decay fit on its own: the fitted bins' counts, the model and (in ``residual_ax``) the
    deviance residuals."""
    decay_curves(ax, residual_ax, fit.edges_ps, fit.counts, fit, 0, "data", fit.period_ps)
    ax.set_title(f"{fit.model}-exponential fit, IRF {fit.irf}")
    return ax


# ---------------------------------------------------------------------------------- trace
def plot_trace(
    ax: Axes,
    trace: TraceResult | None,
    blinking: BlinkingResult | None = None,
    side: Axes | None = None,
    reasons: Sequence[str] = (),
) -> Axes:
    """The intensity trace in counts per bin, the blinking thresholds labelled in counts per
    bin (the axis' unit, their rate beside) in the right margin, outside the data (beyond
    ``side``, the occurrence histogram, when given)."""
    if trace is None or trace.exposure_ps.sum() == 0:
        if side is not None:
            side.set_axis_off()
        return missing_panel(ax, "intensity trace", reasons, "no live time")
    edges_s = (trace.t0_ps + trace.bin_ps * np.arange(trace.counts.size + 1)) / PS_PER_S
    ax.stairs(trace.counts, edges_s, lw=0.5, color="C0")
    if side is not None:
        values, occurrences = occurrence_histogram(trace.counts, trace.exposure_ps, trace.bin_ps)
        levels, grouped = coarse(values, occurrences)
        side.fill_betweenx(levels, grouped, step="mid", color="C0", alpha=0.6, lw=0)
        side.tick_params(labelleft=False)
        side.set_xlabel("bins")
    if blinking is None:
        ax.set_title("intensity trace (no blinking analysis)")
        remark(ax, reasons, top=False)
    else:
        # labels in the right margin, beyond the occurrence histogram when there is one: the
        # lowest under its line, the others above, so two close thresholds stay apart
        label_ax = side if side is not None else ax
        pairs = zip(blinking.thresholds_counts, blinking.thresholds_cps, strict=True)
        for i, (level, cps) in enumerate(pairs):
            for axis in (ax, side) if side is not None else (ax,):
                axis.axhline(level, color="C3", lw=0.9, ls="--")
            label_ax.annotate(
                f"{level:.4g} counts ({rate_text(cps)})", (1.0, level),
                xycoords=("axes fraction", "data"), xytext=(3, 0), textcoords="offset points",
                ha="left", va="top" if i == 0 else "bottom", color="C3", fontsize="small",
                annotation_clip=False,
            )  # fmt: skip
        fr = blinking.fractions
        ax.set_title(
            f"intensity trace: on {fr['on']:.2f}, grey {fr['grey']:.2f}, off {fr['off']:.2f}"
        )
    ax.set_xlim(edges_s[0], edges_s[-1])
    ax.set_ylim(bottom=0)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"counts per {duration_text(trace.bin_ps)} bin")
    return ax


def plot_occurrence(
    ax: Axes,
    trace: TraceResult | None,
    blinking: BlinkingResult | None = None,
    reasons: Sequence[str] = (),
) -> Axes:
    """Occurrence histogram of the counts per full trace bin against the Poisson law of the
    same mean: an emitter that does not blink follows it, blinking widens it."""
    if trace is None:
        return missing_panel(ax, "count occurrence", reasons, "no trace")
    values, occurrences = occurrence_histogram(trace.counts, trace.exposure_ps, trace.bin_ps)
    if occurrences.sum() == 0:
        return missing_panel(ax, "count occurrence", reasons, "no full trace bins")
    thresholds = blinking.thresholds_counts if blinking is not None else ()
    occurrence_axes(ax, values, occurrences, thresholds, trace.bin_ps)
    bins = occurrences.sum()
    mean = float(np.dot(values, occurrences) / bins)
    var = float(np.dot((values - mean) ** 2, occurrences) / bins)
    ax.set_title(
        f"count occurrence: variance / mean = {var / mean:.3g} (Poisson: 1)"
        if mean > 0
        else "count occurrence"
    )
    return ax


def plot_blinking(ax: Axes, blinking: BlinkingResult) -> Axes:
    """A blinking analysis: the occurrence histogram with its thresholds and the fraction of
    time in each state."""
    values, occurrences = blinking.occurrence
    if occurrences.sum() == 0:
        return missing_panel(ax, "blinking", [], "no full trace bins")
    occurrence_axes(ax, values, occurrences, blinking.thresholds_counts, blinking.bin_ps)
    fr = blinking.fractions
    ax.set_title(f"blinking: on {fr['on']:.2f}, grey {fr['grey']:.2f}, off {fr['off']:.2f}")
    return ax


# ---------------------------------------------------------------------------------- FLID
def plot_flid(ax: Axes, flid: FlidResult | None, reasons: Sequence[str] = ()) -> Axes:
    """The FLID map: time bins by counts per bin and mean delay after the laser pulse (the
    histogram of :meth:`FlidResult.histogram`), the count axis cut to the occupied rows."""
    hist = delay_edges = count_edges = None
    if flid is not None:
        hist, delay_edges, count_edges = flid.histogram()
    if hist is None or hist.max() == 0:
        return missing_panel(ax, "FLID", reasons, "no full time bins with timed photons")
    scale, unit = time_unit(float(delay_edges[-1] - delay_edges[0]))
    mesh = ax.pcolormesh(
        delay_edges / scale,
        count_edges,
        np.ma.masked_equal(hist, 0),
        norm=LogNorm(vmin=1, vmax=max(int(hist.max()), 2)),
        cmap="viridis",
    )
    ax.figure.colorbar(mesh, ax=ax, label="time bins")
    rows = np.flatnonzero(hist.sum(axis=1))
    pad = max(1, (rows[-1] - rows[0]) // 10)
    ax.set_ylim(
        count_edges[max(0, rows[0] - pad)],
        count_edges[min(len(count_edges) - 1, rows[-1] + 1 + pad)],
    )
    ax.set_title(f"FLID ({duration_text(flid.bin_ps)} bins)")
    ax.set_xlabel(f"mean delay after the laser pulse ({unit})")
    ax.set_ylabel(f"counts per {duration_text(flid.bin_ps)} bin")
    return ax
