"""The run summary as one figure: g2(τ), the decay, the intensity trace and the FLID map.

Figures are built on :class:`matplotlib.figure.Figure` with an Agg canvas, never through
``pyplot``, so importing tagstream leaves the user's matplotlib backend alone.
"""

from __future__ import annotations

import textwrap
from os import PathLike

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from .summary import RunSummary, value_with_error

__all__ = ["save_figure", "summary_figure"]

PS_PER_NS = 1e3
PS_PER_MS = 1e9


def summary_figure(summary: RunSummary) -> Figure:
    """Four panels: g2(τ) with g2(0); the decay with its fit; the intensity trace with the
    blinking thresholds and its occurrence histogram; the FLID map. A panel whose data are
    missing says why.

    Returns
    -------
    A figure with an Agg canvas (``fig.savefig`` works without a display).
    """
    warnings = [textwrap.fill(f"warning: {w}", 170) for w in summary.warnings]
    lines = sum(w.count("\n") + 1 for w in warnings)
    fig = Figure(figsize=(13, 8.5 + 0.2 * lines), layout="constrained")
    FigureCanvasAgg(fig)
    heights = (1, 1, 0.025 * lines) if warnings else (1, 1)
    grid = fig.add_gridspec(len(heights), 2, height_ratios=heights)
    if warnings:
        _warning_footer(fig.add_subplot(grid[2, :]), warnings)
    _g2_panel(fig.add_subplot(grid[0, 0]), summary)
    _decay_panel(fig.add_subplot(grid[0, 1]), summary)
    trace_grid = grid[1, 0].subgridspec(1, 2, width_ratios=(4, 1), wspace=0.02)
    trace_ax = fig.add_subplot(trace_grid[0])
    _trace_panel(trace_ax, fig.add_subplot(trace_grid[1], sharey=trace_ax), summary)
    _flid_panel(fig.add_subplot(grid[1, 1]), summary)
    lost = summary.live_ps < summary.t_end_ps - summary.t_begin_ps
    live = f", {summary.live_s:.4g} s live" if lost else ""
    fig.suptitle(f"{summary.name} — {summary.mode}, {summary.duration_s:.4g} s{live}")
    return fig


def _warning_footer(ax: Axes, warnings: list[str]) -> None:
    """The summary's warnings, in red across the bottom of the figure."""
    ax.set_axis_off()
    ax.text(
        0.0, 1.0, "\n".join(warnings), ha="left", va="top", transform=ax.transAxes,
        color="firebrick", fontsize="small",
    )  # fmt: skip


def save_figure(summary: RunSummary, path: str | PathLike[str], dpi: int = 150) -> None:
    """Write :func:`summary_figure` to ``path`` (the format follows the suffix: PNG, PDF, SVG)."""
    summary_figure(summary).savefig(path, dpi=dpi)


def _missing(ax: Axes, title: str, reasons: list[str], fallback: str = "not computed") -> None:
    """An empty panel stating why its data are missing: the first of ``reasons``, else
    ``fallback``."""
    reason = reasons[0] if reasons else fallback
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(
        0.5,
        0.5,
        "not available:\n" + textwrap.fill(reason, 48),
        ha="center",
        va="center",
        transform=ax.transAxes,
        color="0.3",
    )


def _remark(ax: Axes, reasons: list[str], top: bool) -> None:
    """The first reason, small, in a top or bottom corner of a panel that has data."""
    if reasons:
        ax.text(
            0.02,
            0.97 if top else 0.03,
            textwrap.fill(reasons[0], 60),
            ha="left",
            va="top" if top else "bottom",
            transform=ax.transAxes,
            fontsize="small",
            color="0.3",
        )


# ---------------------------------------------------------------------------------- g2
def _g2_panel(ax: Axes, summary: RunSummary) -> None:
    g = summary.g2
    if g is None or not np.any(np.isfinite(g.g2)):
        _missing(ax, "g2(τ)", summary.notes_for("g2"), "no coincidences")
        return
    tau_ns = g.tau_ps / PS_PER_NS
    ax.plot(
        tau_ns, g.g2, drawstyle="steps-mid", lw=0.7, color="C0", label=f"{'×'.join(g.channels)}"
    )
    z = summary.g2_zero
    if z is None:
        ax.set_title("g2(τ): no g2(0)")
        _remark(ax, summary.notes_for("g2"), top=True)
    else:
        if z.excitation == "pulsed":
            _shade_windows(ax, z.detail.period_ps, z.detail.offset_ps)
        if z.detail.model is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                curve = np.where(g.expected > 0, z.detail.model / g.expected, np.nan)
            ax.plot(tau_ns, curve, color="C3", lw=1.0, label="fit")
        ax.set_title(
            f"g2(0) = {value_with_error(z.value, z.error)}  ({z.excitation}, {z.method}; "
            f"purity {z.purity:.3f})"
        )
    ax.axhline(1.0, color="0.5", lw=0.6, ls=":")
    ax.set_xlabel("delay τ (ns)")
    ax.set_ylabel("g2(τ)")
    ax.set_xlim(tau_ns[0], tau_ns[-1])
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right", fontsize="small")


def _shade_windows(ax: Axes, period_ps: float, offset_ps: float) -> None:
    """The one-period windows of the peaks at −1, 0 and +1 periods."""
    styles = {-1: ("C2", "adjacent windows"), 0: ("C1", "zero-delay window"), 1: ("C2", None)}
    for k, (colour, label) in styles.items():
        centre = offset_ps + k * period_ps
        lo, hi = (centre - 0.5 * period_ps) / PS_PER_NS, (centre + 0.5 * period_ps) / PS_PER_NS
        ax.axvspan(lo, hi, color=colour, alpha=0.12, lw=0, label=label)


# ---------------------------------------------------------------------------------- decay
def _decay_panel(ax: Axes, summary: RunSummary) -> None:
    d = summary.decay
    if d is None or d.counts.sum() == 0:
        _missing(ax, "decay", summary.notes_for("lifetime"), "no photons in the decay histogram")
        return
    t_ns = d.t_ps / PS_PER_NS
    counts = np.where(d.counts > 0, d.counts, np.nan)
    ax.plot(t_ns, counts, drawstyle="steps-mid", lw=0.7, color="C0", label=f"{d.channel} data")
    fit = summary.decay_fit
    if fit is not None:
        centres = 0.5 * (fit.edges_ps[:-1] + fit.edges_ps[1:]) / PS_PER_NS
        taus = ", ".join(
            f"{value_with_error(t / PS_PER_NS, e / PS_PER_NS)} ns"
            for t, e in zip(fit.tau_ps, fit.tau_err_ps, strict=True)
        )
        ax.plot(centres, fit.expected, color="C3", lw=1.0, label=f"{fit.model}: τ = {taus}")
        ax.set_title(f"decay of {d.channel} ({fit.model}-exponential, IRF {fit.irf})")
    else:
        ax.set_title(f"decay of {d.channel} (no fit)")
    ax.set_yscale("log")
    ax.set_ylim(0.5, 2.0 * float(d.counts.max()))
    ax.set_xlim(d.edges_ps[0] / PS_PER_NS, d.edges_ps[-1] / PS_PER_NS)
    ax.set_xlabel("delay after the laser pulse (ns)")
    ax.set_ylabel(f"counts per {d.bin_ps:g} ps")
    ax.legend(loc="upper right", fontsize="small")


# ---------------------------------------------------------------------------------- trace
def _trace_panel(ax: Axes, side: Axes, summary: RunSummary) -> None:
    tr = summary.trace
    if tr is None or tr.exposure_ps.sum() == 0:
        side.set_axis_off()
        _missing(ax, "intensity trace", summary.notes_for("trace"), "no live time")
        return
    bin_ms = tr.bin_ps / PS_PER_MS
    edges_s = tr.t0_ps * 1e-12 + tr.bin_ps * 1e-12 * np.arange(tr.counts.size + 1)
    ax.stairs(tr.counts, edges_s, lw=0.5, color="C0")
    b = summary.blinking
    levels, occurrences = _occurrence(tr.counts[tr.exposure_ps == tr.bin_ps])
    side.fill_betweenx(levels, occurrences, step="mid", color="C0", alpha=0.6, lw=0)
    side.tick_params(labelleft=False)
    side.set_xlabel("bins")
    if b is None:
        ax.set_title("intensity trace (no blinking analysis)")
        _remark(ax, summary.notes_for("blinking"), top=False)
    else:
        for level, cps in zip(b.thresholds_counts, b.thresholds_cps, strict=True):
            for axis in (ax, side):
                axis.axhline(level, color="C3", lw=0.9, ls="--")
            ax.annotate(
                f"{cps / 1e3:.4g} kcps",
                (1.0, level),
                xycoords=("axes fraction", "data"),
                ha="right",
                va="bottom",
                color="C3",
                fontsize="small",
            )
        fr = b.fractions
        ax.set_title(
            f"intensity trace: on {fr['on']:.2f}, grey {fr['grey']:.2f}, off {fr['off']:.2f}"
        )
    ax.set_xlim(edges_s[0], edges_s[-1])
    ax.set_ylim(bottom=0)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"counts per {bin_ms:g} ms")


def _occurrence(full: np.ndarray, groups: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Occurrence histogram of the counts of full bins in at most ``groups`` count classes:
    class centres (counts per bin) and the number of bins in each."""
    if full.size == 0:
        return np.zeros(1), np.zeros(1)
    width = max(1, -(-(int(full.max()) + 1) // groups))
    occurrences = np.bincount(full // width)
    return (np.arange(occurrences.size) + 0.5) * width - 0.5, occurrences


# ---------------------------------------------------------------------------------- FLID
def _flid_panel(ax: Axes, summary: RunSummary) -> None:
    fl = summary.flid
    hist = delay_edges = count_edges = None
    if fl is not None:
        hist, delay_edges, count_edges = fl.histogram()
    if hist is None or hist.max() == 0:
        _missing(ax, "FLID", summary.notes_for("flid"), "no full time bins with timed photons")
        return
    mesh = ax.pcolormesh(
        delay_edges / PS_PER_NS,
        count_edges,
        np.ma.masked_equal(hist, 0),
        norm=LogNorm(vmin=1, vmax=max(int(hist.max()), 2)),
        cmap="viridis",
    )
    ax.figure.colorbar(mesh, ax=ax, label="time bins")
    ax.set_title(f"FLID ({fl.bin_ps / PS_PER_MS:g} ms bins)")
    ax.set_xlabel("mean delay after the laser pulse (ns)")
    ax.set_ylabel(f"counts per {fl.bin_ps / PS_PER_MS:g} ms")
