"""The figure panel of HOM interference: the five-peak pattern with M and V_HOM."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes

from .formatting import value_with_error
from .g2 import G2Result
from .hom import Indistinguishability
from .plots_axes import display_factor, merge_bins, missing_panel, remark, time_unit

#: Fewest coincidences per displayed bin on average (sparser histograms are merged).
MIN_MEAN = 20.0


def plot_hom(
    ax: Axes, result: G2Result | None, value: Indistinguishability | None,
    reasons: Sequence[str] = (),
) -> Axes:  # fmt: skip
    """Coincidences of the outputs per bin, the five one-period windows shaded (zero delay in
    orange), titled with M and V_HOM."""
    if result is None or not result.counts.sum():
        return missing_panel(ax, "HOM interference", reasons, "no coincidences")
    n = result.counts.size
    factor = display_factor(float(result.counts.sum()), n, MIN_MEAN, min(n, 200))
    start = (n // 2) % factor
    edges = result.edges_ps[start::factor][: (n - start) // factor + 1]
    counts = merge_bins(result.counts, factor, start)
    scale, unit = time_unit(float(result.edges_ps[-1]))
    ax.stairs(counts, edges / scale, lw=0.7, color="C0", label="×".join(result.channels))
    ax.set_xlabel(f"τ = t_{result.channels[1]} − t_{result.channels[0]} ({unit})")
    ax.set_ylabel(f"coincidences per {result.bin_ps * factor / 1e3:g} ns")
    if value is None:
        ax.set_title("HOM interference: no M", fontsize="medium")
        remark(ax, reasons, top=True)
        return ax
    p = value.peaks
    for m in p.areas:
        c = (p.offset_ps + m * p.period_ps) / scale
        half = 0.5 * p.period_ps / scale
        ax.axvspan(c - half, c + half, color="C1" if m == 0 else "C2", alpha=0.08, lw=0)
    title = f"HOM: M = {value_with_error(value.value, value.error)}"
    if value.visibility is not None:
        title += f", V_HOM = {value_with_error(value.visibility, value.visibility_err)}"
    ax.set_title(f"{title}\nzero / ±1 peaks {value_with_error(p.ratio, p.ratio_err)} "
                 f"(against the {value.reference})", fontsize="medium")  # fmt: skip
    remark(ax, value.warnings, top=False)
    return ax
