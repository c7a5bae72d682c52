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
from scipy.stats import poisson

from .blinking import BlinkingResult
from .blinking_states import occurrence_histogram
from .derived import adjacent_height, deviance_residuals, running_mean
from .formatting import value_with_error
from .measurement import registered
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

PS_PER_NS = 1e3
PS_PER_US = 1e6
PS_PER_MS = 1e9
PS_PER_S = 1e12
#: Display re-binning (figure only; exports keep the analysis bins): at least this many
#: coincidences per g2 bin on average, with at least this many bins per laser period (pulsed) or
#: across the window (CW).
G2_MIN_MEAN = 5.0
G2_MIN_BINS_PER_PERIOD = 40
G2_MIN_BINS_CW = 200
#: The same for the decay: photons per bin on average, and the fewest bins shown.
DECAY_MIN_MEAN = 20.0
DECAY_MIN_BINS = 128
#: Legends sit outside the data, to the right of the axes.
_LEGEND = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "borderaxespad": 0.0,
           "fontsize": "small", "frameon": False}  # fmt: skip


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
        _warning_footer(fig.add_subplot(grid[rows, :]), warnings)
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


def _warning_footer(ax: Axes, warnings: list[str]) -> None:
    """The summary's warnings, in red across the bottom of the figure."""
    ax.set_axis_off()
    ax.text(
        0.0, 1.0, "\n".join(warnings), ha="left", va="top", transform=ax.transAxes,
        color="firebrick", fontsize="small",
    )  # fmt: skip


def _missing(ax: Axes, title: str, reasons: Sequence[str], fallback: str = "not computed") -> Axes:
    """An empty panel stating why its data are missing: the first of ``reasons``, else
    ``fallback``."""
    reason = reasons[0] if reasons else fallback
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(
        0.5, 0.5, "not available:\n" + textwrap.fill(reason, 48), ha="center", va="center",
        transform=ax.transAxes, color="0.3",
    )  # fmt: skip
    return ax


def _remark(ax: Axes, reasons: Sequence[str], top: bool) -> None:
    """The first reason, small, in a top or bottom corner of a panel that has data."""
    if reasons:
        ax.text(
            0.02, 0.97 if top else 0.03, textwrap.fill(reasons[0], 60), ha="left",
            va="top" if top else "bottom", transform=ax.transAxes, fontsize="small", color="0.3",
        )  # fmt: skip


def _legend(ax: Axes) -> None:
    """A legend outside the data, right of the axes (none without labelled artists)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**_LEGEND)


def _group(values: np.ndarray, factor: int, start: int = 0) -> np.ndarray:
    """Sums of ``factor`` consecutive entries from index ``start`` (whole groups only)."""
    if factor == 1 and start == 0:
        return np.asarray(values)
    n = (values.size - start) // factor
    return np.asarray(values)[start : start + n * factor].reshape(n, factor).sum(axis=1)


def _display_factor(total: float, n: int, min_mean: float, min_bins: int) -> int:
    """Bins to merge for display: enough counts per bin on average, never fewer than
    ``min_bins`` bins (1 when the data are dense enough)."""
    if total <= 0 or n <= min_bins:
        return 1
    wanted = math.ceil(min_mean * n / total)
    return int(max(1, min(wanted, n // min_bins)))


def _time_unit(span_ps: float) -> tuple[float, str]:
    """ps per axis unit and its name for an axis spanning ``span_ps``: ns, or µs from 2 µs."""
    return (PS_PER_US, "µs") if span_ps >= 2 * PS_PER_US else (PS_PER_NS, "ns")


# ---------------------------------------------------------------------------------- g2
def plot_g2(
    ax: Axes, g2: G2Result | None, zero: G2Zero | None = None, reasons: Sequence[str] = ()
) -> Axes:
    """g2(τ): pulsed, divided by the height of the mean adjacent peak in the displayed bins
    (side peaks at 1, the zero-delay peak's maximum near g2(0) for peaks of one shape; g2(0) in
    the title is the analysis' area ratio) with the peak windows shaded; CW (or without g2(0)),
    counts over the uncorrelated expectation, with the fit. Sparse histograms are merged into
    wider bins for display."""
    if g2 is None or not np.any(np.isfinite(g2.g2)):
        return _missing(ax, "g2(τ)", reasons, "no coincidences")
    pulsed = zero is not None and zero.excitation == "pulsed" and bool(zero.period_ps)
    period = zero.period_ps if pulsed else None
    n = g2.counts.size
    min_bins = G2_MIN_BINS_CW
    if pulsed:
        min_bins = int(G2_MIN_BINS_PER_PERIOD * n * g2.bin_ps / period)
    factor = _display_factor(float(g2.counts.sum()), n, G2_MIN_MEAN, min_bins)
    start = (n // 2) % factor  # a group edge at τ = 0
    edges = g2.edges_ps[start::factor][: (n - start) // factor + 1]
    counts = _group(g2.counts, factor, start)
    scale, unit = _time_unit(float(g2.edges_ps[-1]))
    norm = adjacent_height(edges, counts, period, zero.detail.offset_ps) if pulsed else None
    pulsed = norm is not None
    with np.errstate(divide="ignore", invalid="ignore"):
        if pulsed:
            shown = counts / norm
        else:
            expected = _group(g2.expected, factor, start)
            shown = np.where(expected > 0, counts / expected, np.nan)
    ax.stairs(shown, edges / scale, lw=0.7, color="C0", label="×".join(g2.channels))
    if zero is None:
        ax.set_title("g2(τ): no g2(0)")
        _remark(ax, reasons, top=True)
    else:
        _g2_fit(ax, g2, zero, norm, factor, start, edges / scale)
        if pulsed:
            _shade_windows(ax, period / scale, zero.detail.offset_ps / scale)
        area = "area ratio, " if zero.excitation == "pulsed" else ""
        ax.set_title(
            f"g2(0) = {value_with_error(zero.value, zero.error)}  ({area}{zero.excitation}, "
            f"{zero.method}; purity {zero.purity:.3f})"
        )
    ax.axhline(1.0, color="0.5", lw=0.6, ls=":")
    ax.set_xlabel(f"delay τ ({unit})")
    if pulsed:
        ax.set_ylabel("g2(τ), side peaks normalised to 1")
    else:
        ax.set_ylabel("g2(τ), normalised to uncorrelated light")
    bin_text = f"{_duration(float(edges[1] - edges[0]))} bins"
    if pulsed:
        bin_text += "; divided by the mean adjacent peak's height; g2(0) is the area ratio"
    ax.text(1.0, -0.13 if pulsed else -0.1, bin_text, transform=ax.transAxes, ha="right", va="top",
            fontsize="x-small", color="0.4")  # fmt: skip
    ax.set_xlim(edges[0] / scale, edges[-1] / scale)
    ax.set_ylim(bottom=0)
    _legend(ax)
    return ax


def _g2_fit(
    ax: Axes, g2: G2Result, zero: G2Zero, norm: float | None, factor: int, start: int,
    edges: np.ndarray,
) -> None:  # fmt: skip
    """The fitted model of the g2(0) estimate, on the displayed scale."""
    model = zero.detail.model
    if model is None:
        return
    model = _group(np.asarray(model, dtype=float), factor, start)
    with np.errstate(divide="ignore", invalid="ignore"):
        if norm is not None:
            curve = model / norm
        else:
            expected = _group(g2.expected, factor, start)
            curve = np.where(expected > 0, model / expected, np.nan)
    ax.plot(0.5 * (edges[:-1] + edges[1:]), curve, color="C3", lw=1.0, label="fit")


def _shade_windows(ax: Axes, period: float, offset: float) -> None:
    """The one-period windows of the peaks at −1, 0 and +1 periods (axis units)."""
    styles = {-1: ("C2", "adjacent\nwindows"), 0: ("C1", "zero-delay\nwindow"), 1: ("C2", None)}
    for k, (colour, label) in styles.items():
        centre = offset + k * period
        ax.axvspan(centre - 0.5 * period, centre + 0.5 * period, color=colour, alpha=0.12, lw=0,
                   label=label)  # fmt: skip


def plot_g2_log(ax: Axes, log: LogG2Result | None, reasons: Sequence[str] = ()) -> Axes:
    """The log-binned (multi-tau) g2 on a logarithmic lag axis, with one-sigma bands. The title
    names antibunching (below 1 under 100 ns) and bunching (above 1 from 1 µs, as blinking
    gives) only where a decade of lags departs from 1 by over 5 sigma and 0.03."""
    if log is None:
        return _missing(ax, "g2(τ), log-binned", reasons, "not computed")
    keep = (log.tau_ps > 0) & np.isfinite(log.g2)
    if not np.any(keep):
        return _missing(ax, "g2(τ), log-binned", reasons, "no coincidences")
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
    if _significant(tau_s, tau_s < 1e-7, 1.0 - g, err):
        seen.append("antibunching at short τ")
    if _significant(tau_s, tau_s >= 1e-6, g - 1.0, err):
        seen.append("bunching above 1 at long τ (blinking)")
    ax.set_title("g2(τ), log-binned" + (": " + ", ".join(seen) if seen else ""))
    _legend(ax)
    return ax


def _significant(
    tau_s: np.ndarray, keep: np.ndarray, excess: np.ndarray, err: np.ndarray,
    sigmas: float = 5.0, floor: float = 0.03,
) -> bool:  # fmt: skip
    """Whether ``excess`` (of g2 above or below 1) at the lags ``keep`` is real: its
    inverse-variance mean over some decade of lag ``tau_s`` exceeds both ``sigmas`` errors and
    ``floor``."""
    decades = np.floor(np.log10(tau_s))
    for decade in np.unique(decades[keep]):
        inside = keep & (decades == decade) & (err > 0) & np.isfinite(excess)
        if not np.any(inside):
            continue
        weight = 1.0 / err[inside] ** 2
        mean = float(np.sum(weight * excess[inside]) / weight.sum())
        if mean > floor and mean > sigmas / np.sqrt(weight.sum()):
            return True
    return False


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
        return _missing(ax, "decay", reasons, "no photons in the decay histogram")
    first = 0
    if fit is not None:
        first = int(np.argmin(np.abs(decay.edges_ps - fit.edges_ps[0])))
    _decay_curves(
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
    _remark(ax, reasons if fit is None else [], top=False)
    return ax


def plot_decay_fit(ax: Axes, fit: DecayFit, residual_ax: Axes | None = None) -> Axes:
    """A decay fit on its own: the fitted bins' counts, the model and (in ``residual_ax``) the
    deviance residuals."""
    _decay_curves(ax, residual_ax, fit.edges_ps, fit.counts, fit, 0, "data", fit.period_ps)
    ax.set_title(f"{fit.model}-exponential fit, IRF {fit.irf}")
    return ax


def _decay_curves(
    ax: Axes, residual_ax: Axes | None, edges_ps: np.ndarray, counts: np.ndarray,
    fit: DecayFit | None, first: int, label: str, period_ps: float | None = None,
) -> None:  # fmt: skip
    """Counts (bins ``edges_ps``), the fit whose bins start at bin ``first``, residuals. A
    histogram over a whole ``period_ps`` whose rise wraps to the end of the period is shown
    turned round so that it starts just before the rise (the wrapped bins at negative delay)."""
    n = counts.size
    edges_ps = np.asarray(edges_ps, dtype=float)
    model = np.full(n, np.nan)
    if fit is not None:
        model[first : first + fit.expected.size] = fit.expected
    factor = _display_factor(float(counts.sum()), n, DECAY_MIN_MEAN, DECAY_MIN_BINS)
    cut = _rise_cut(edges_ps, counts, period_ps)
    if cut > 0:
        cut = n - factor * -(-(n - cut) // factor)  # whole display bins before the pulse
    if cut > 0:
        parts = [(cut, n, -float(period_ps)), (0, cut, 0.0)]
    else:
        parts = [(first % factor, n, 0.0)]
    pieces = []
    for a, b, shift in parts:
        groups = (b - a) // factor
        piece_edges = edges_ps[a : a + groups * factor + 1 : factor] + shift
        values = [_group(np.asarray(v[a:b], dtype=float), factor) for v in (counts, model)]
        if pieces and piece_edges[0] > pieces[-1][0][-1]:  # the bins do not tile the period
            gap = np.array([pieces[-1][0][-1], piece_edges[0]])
            pieces.append((gap, np.array([np.nan]), np.array([np.nan])))
        pieces.append((piece_edges, *values))
    edges = np.concatenate([pieces[0][0]] + [p[0][1:] for p in pieces[1:]])
    shown = np.concatenate([p[1] for p in pieces])
    expected = np.concatenate([p[2] for p in pieces])
    scale, unit = _time_unit(float(edges_ps[-1] - edges_ps[0]))
    ax.stairs(np.where(shown > 0, shown, np.nan), edges / scale, lw=0.7, color="C0", label=label)
    if fit is not None:
        centres = 0.5 * (edges[:-1] + edges[1:]) / scale
        taus = "\n".join(
            f"{value_with_error(t / scale, e / scale)} {unit}"
            for t, e in zip(fit.tau_ps, fit.tau_err_ps, strict=True)
        )
        ax.plot(centres, expected, color="C3", lw=1.0, label=f"{fit.model}: τ =\n{taus}")
        if residual_ax is not None:
            residuals = deviance_residuals(shown, expected)
            residual_ax.stairs(residuals, edges / scale, color="C0", lw=0.7)
            residual_ax.axhline(0.0, color="C3", lw=0.8)
            residual_ax.set_ylabel("deviance\nresidual")
            top = float(np.nanmax(np.abs(residuals), initial=1.0))
            residual_ax.set_ylim(-1.1 * top, 1.1 * top)
    ax.set_yscale("log")
    ax.set_ylim(0.5, 2.0 * float(np.nanmax(shown)))
    ax.set_xlim(edges[0] / scale, edges[-1] / scale)
    ax.set_ylabel(f"counts per {_duration(float(edges_ps[factor] - edges_ps[0]))}")
    xlabel = f"delay after the laser pulse ({unit})"
    if residual_ax is not None and fit is not None:
        ax.tick_params(labelbottom=False)
        residual_ax.set_xlabel(xlabel)
    else:
        if residual_ax is not None:
            residual_ax.set_axis_off()
        ax.set_xlabel(xlabel)
    _legend(ax)


def _rise_cut(edges_ps: np.ndarray, counts: np.ndarray, period_ps: float | None) -> int:
    """Where to start showing a decay histogram that covers one whole period: the index of the
    first bin shown (0: as recorded), before the rising edge of the pulse when that edge wraps
    to the end of the period. The edge begins where the lightly smoothed counts, walking back
    from their maximum, fall to a twentieth of the way from the baseline (10th percentile) to
    it; the display starts as far again before (at least 1 % of the bins)."""
    n = counts.size
    if not period_ps or n < 16:
        return 0
    bin_ps = float(edges_ps[1] - edges_ps[0])
    span = float(edges_ps[-1] - edges_ps[0])
    if span > period_ps + 1e-6 * bin_ps or span < period_ps - 2 * bin_ps:
        return 0
    k = max(1, n // 400)
    padded = np.concatenate([counts[-k:], counts, counts[:k]]).astype(float)
    smooth = running_mean(padded, 2 * k + 1)[k:-k]
    peak = int(np.argmax(smooth))
    base = float(np.percentile(smooth, 10))
    level = base + 0.05 * (float(smooth[peak]) - base)
    for back in range(1, n // 4):
        if smooth[(peak - back) % n] <= level:
            start = peak - back - max(back, n // 100)
            return n + start if start < 0 else 0
    return 0


def _duration(ps: float) -> str:
    """A bin width in ps, ns, µs or ms."""
    for scale, unit in ((PS_PER_MS, "ms"), (PS_PER_US, "µs"), (PS_PER_NS, "ns")):
        if ps >= scale:
            return f"{ps / scale:.4g} {unit}"
    return f"{ps:.4g} ps"


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
        return _missing(ax, "intensity trace", reasons, "no live time")
    edges_s = (trace.t0_ps + trace.bin_ps * np.arange(trace.counts.size + 1)) / PS_PER_S
    ax.stairs(trace.counts, edges_s, lw=0.5, color="C0")
    if side is not None:
        values, occurrences = occurrence_histogram(trace.counts, trace.exposure_ps, trace.bin_ps)
        levels, grouped = _coarse(values, occurrences)
        side.fill_betweenx(levels, grouped, step="mid", color="C0", alpha=0.6, lw=0)
        side.tick_params(labelleft=False)
        side.set_xlabel("bins")
    if blinking is None:
        ax.set_title("intensity trace (no blinking analysis)")
        _remark(ax, reasons, top=False)
    else:
        # labels in the right margin, beyond the occurrence histogram when there is one: the
        # lowest under its line, the others above, so two close thresholds stay apart
        label_ax = side if side is not None else ax
        pairs = zip(blinking.thresholds_counts, blinking.thresholds_cps, strict=True)
        for i, (level, cps) in enumerate(pairs):
            for axis in (ax, side) if side is not None else (ax,):
                axis.axhline(level, color="C3", lw=0.9, ls="--")
            label_ax.annotate(
                f"{level:.4g} counts ({_rate(cps)})", (1.0, level),
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
    ax.set_ylabel(f"counts per {_duration(trace.bin_ps)} bin")
    return ax


def _coarse(
    values: np.ndarray, occurrences: np.ndarray, groups: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """An occurrence histogram in at most ``groups`` count classes: class centres (counts per
    bin) and bins per class."""
    if values.size == 0:
        return np.zeros(1), np.zeros(1)
    width = max(1, -(-values.size // groups))
    grouped = np.add.reduceat(occurrences, np.arange(0, values.size, width))
    return np.arange(grouped.size) * width + 0.5 * (width - 1), grouped


def _rate(cps: float) -> str:
    for scale, prefix in ((1e6, "M"), (1e3, "k")):
        if abs(cps) >= scale:
            return f"{cps / scale:.3g} {prefix}cps"
    return f"{cps:.3g} cps"


def plot_occurrence(
    ax: Axes,
    trace: TraceResult | None,
    blinking: BlinkingResult | None = None,
    reasons: Sequence[str] = (),
) -> Axes:
    """Occurrence histogram of the counts per full trace bin against the Poisson law of the
    same mean: an emitter that does not blink follows it, blinking widens it."""
    if trace is None:
        return _missing(ax, "count occurrence", reasons, "no trace")
    values, occurrences = occurrence_histogram(trace.counts, trace.exposure_ps, trace.bin_ps)
    if occurrences.sum() == 0:
        return _missing(ax, "count occurrence", reasons, "no full trace bins")
    thresholds = blinking.thresholds_counts if blinking is not None else ()
    _occurrence_axes(ax, values, occurrences, thresholds, trace.bin_ps)
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
        return _missing(ax, "blinking", [], "no full trace bins")
    _occurrence_axes(ax, values, occurrences, blinking.thresholds_counts, blinking.bin_ps)
    fr = blinking.fractions
    ax.set_title(f"blinking: on {fr['on']:.2f}, grey {fr['grey']:.2f}, off {fr['off']:.2f}")
    return ax


def _occurrence_axes(
    ax: Axes, values: np.ndarray, occurrences: np.ndarray, thresholds: Sequence[float],
    bin_ps: int,
) -> None:  # fmt: skip
    """Bars of the occurrence histogram, the Poisson law of its mean and the thresholds (all in
    counts per bin)."""
    levels, grouped = _coarse(values, occurrences)
    width = levels[1] - levels[0] if levels.size > 1 else 1.0
    ax.stairs(grouped, np.append(levels - 0.5 * width, levels[-1] + 0.5 * width), fill=True,
              color="C0", alpha=0.6, label="trace bins")  # fmt: skip
    bins = occurrences.sum()
    mean = float(np.dot(values, occurrences) / bins)
    grid = np.arange(values.size)
    law = bins * poisson.pmf(grid, mean)
    ax.plot(levels, _coarse(grid, law)[1], color="C3", lw=1.0, label="Poisson,\nsame mean")
    for level in thresholds:
        ax.axvline(level, color="C3", lw=0.9, ls="--")
        ax.annotate(f"{level:.4g}", (level, 1.0), xycoords=("data", "axes fraction"),
                    ha="left", va="top", color="C3", fontsize="small")  # fmt: skip
    occupied = values[occurrences > 0]
    pad = max(2.0, 0.1 * float(occupied[-1] - occupied[0]))
    ax.set_xlim(max(-0.5, occupied[0] - pad), occupied[-1] + pad)
    ax.set_xlabel(f"counts per {_duration(bin_ps)} bin")
    ax.set_ylabel("trace bins")
    ax.set_ylim(bottom=0)
    _legend(ax)


# ---------------------------------------------------------------------------------- FLID
def plot_flid(ax: Axes, flid: FlidResult | None, reasons: Sequence[str] = ()) -> Axes:
    """The FLID map: time bins by counts per bin and mean delay after the laser pulse (the
    histogram of :meth:`FlidResult.histogram`), the count axis cut to the occupied rows."""
    hist = delay_edges = count_edges = None
    if flid is not None:
        hist, delay_edges, count_edges = flid.histogram()
    if hist is None or hist.max() == 0:
        return _missing(ax, "FLID", reasons, "no full time bins with timed photons")
    scale, unit = _time_unit(float(delay_edges[-1] - delay_edges[0]))
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
    ax.set_title(f"FLID ({_duration(flid.bin_ps)} bins)")
    ax.set_xlabel(f"mean delay after the laser pulse ({unit})")
    ax.set_ylabel(f"counts per {_duration(flid.bin_ps)} bin")
    return ax
