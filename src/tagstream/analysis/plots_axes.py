"""What every panel of the figure shares: time units and their labels, count-rate labels,
legends outside the data, the panel that says why its data are missing, remarks, the warning
footer, and the merging of sparse histogram bins for display (the analysis keeps its bins)."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes

from ..tags.units import PS_PER_MS, PS_PER_NS, PS_PER_US

#: Legends sit outside the data, to the right of the axes.
_LEGEND = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "borderaxespad": 0.0,
           "fontsize": "small", "frameon": False}  # fmt: skip


def warning_footer(ax: Axes, warnings: list[str]) -> None:
    """The summary's warnings, in red across the bottom of the figure."""
    ax.set_axis_off()
    ax.text(
        0.0, 1.0, "\n".join(warnings), ha="left", va="top", transform=ax.transAxes,
        color="firebrick", fontsize="small",
    )  # fmt: skip


def missing_panel(
    ax: Axes, title: str, reasons: Sequence[str], fallback: str = "not computed"
) -> Axes:
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


def remark(ax: Axes, reasons: Sequence[str], top: bool) -> None:
    """The first reason, small, in a top or bottom corner of a panel that has data."""
    if reasons:
        ax.text(
            0.02, 0.97 if top else 0.03, textwrap.fill(reasons[0], 60), ha="left",
            va="top" if top else "bottom", transform=ax.transAxes, fontsize="small", color="0.3",
        )  # fmt: skip


def legend(ax: Axes) -> None:
    """A legend outside the data, right of the axes (none without labelled artists)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**_LEGEND)


def merge_bins(values: np.ndarray, factor: int, start: int = 0) -> np.ndarray:
    """Sums of ``factor`` consecutive entries from index ``start`` (whole groups only)."""
    if factor == 1 and start == 0:
        return np.asarray(values)
    n = (values.size - start) // factor
    return np.asarray(values)[start : start + n * factor].reshape(n, factor).sum(axis=1)


def display_factor(total: float, n: int, min_mean: float, min_bins: int) -> int:
    """Bins to merge for display: enough counts per bin on average, never fewer than
    ``min_bins`` bins (1 when the data are dense enough)."""
    if total <= 0 or n <= min_bins:
        return 1
    wanted = math.ceil(min_mean * n / total)
    return int(max(1, min(wanted, n // min_bins)))


def time_unit(span_ps: float) -> tuple[float, str]:
    """Picoseconds per axis unit and its name for an axis spanning ``span_ps``: ns, or µs from
    2 µs."""
    return (PS_PER_US, "µs") if span_ps >= 2 * PS_PER_US else (PS_PER_NS, "ns")


def duration_text(ps: float) -> str:
    """A bin width in ps, ns, µs or ms."""
    for scale, unit in ((PS_PER_MS, "ms"), (PS_PER_US, "µs"), (PS_PER_NS, "ns")):
        if ps >= scale:
            return f"{ps / scale:.4g} {unit}"
    return f"{ps:.4g} ps"


def rate_text(cps: float) -> str:
    """A count rate, counts/s, in cps, kcps or Mcps."""
    for scale, prefix in ((1e6, "M"), (1e3, "k")):
        if abs(cps) >= scale:
            return f"{cps / scale:.3g} {prefix}cps"
    return f"{cps:.3g} cps"
