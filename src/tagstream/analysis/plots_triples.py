"""The figure panels of the cascade correlations: the XX–X cross-correlation, and the triple
maps of g3 and of the heralded g2."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

from .formatting import value_with_error
from .g2 import G2Result
from .g2_pulsed_result import PulsedG2
from .plots_axes import display_factor, merge_bins, missing_panel, remark, time_unit
from .triples import TripleResult
from .triples_zero import TripleValue

#: Fewest coincidences per displayed bin on average (sparser histograms are merged).
MIN_MEAN = 20.0
#: Most cells per axis of a drawn triple map.
MAP_CELLS = 120


def plot_xx_x(
    ax: Axes, result: G2Result | None, bunching: PulsedG2 | None, reasons: Sequence[str] = ()
) -> Axes:
    """g2_XX,X(τ) over the uncorrelated expectation, the three peak windows shaded, titled with
    the bunching amplitude."""
    if result is None or not result.counts.sum():
        return missing_panel(ax, "XX–X cross-correlation", reasons, "no coincidences")
    n = result.counts.size
    factor = display_factor(float(result.counts.sum()), n, MIN_MEAN, min(n, 200))
    start = (n // 2) % factor
    edges = result.edges_ps[start::factor][: (n - start) // factor + 1]
    counts = merge_bins(result.counts, factor, start)
    expected = merge_bins(result.expected, factor, start)
    with np.errstate(divide="ignore", invalid="ignore"):
        shown = np.where(expected > 0, counts / expected, np.nan)
    scale, unit = time_unit(float(result.edges_ps[-1]))
    ax.stairs(shown, edges / scale, lw=0.7, color="C4", label="→".join(result.channels))
    ax.axhline(1.0, color="0.5", lw=0.6, ls=":")
    if bunching is None:
        ax.set_title("XX–X cross-correlation: no bunching amplitude", fontsize="medium")
        remark(ax, reasons, top=True)
    else:
        for k in (-1, 0, 1):
            c = (bunching.offset_ps + k * bunching.period_ps) / scale
            half = 0.5 * bunching.period_ps / scale
            ax.axvspan(c - half, c + half, color="C1" if k == 0 else "C2", alpha=0.08, lw=0)
        ax.set_title(f"XX–X bunching = {value_with_error(bunching.value, bunching.error)} "
                     "(peak areas, pulsed)", fontsize="medium")  # fmt: skip
        remark(ax, bunching.warnings, top=False)
    ax.set_xlabel(f"τ = t_{result.channels[1]} − t_{result.channels[0]} ({unit})")
    ax.set_ylabel("g2_XX,X(τ)")
    return ax


def plot_triples(
    ax: Axes, result: TripleResult | None, value: TripleValue | None, label: str,
    reasons: Sequence[str] = (),
) -> Axes:  # fmt: skip
    """The triple map (counts over the uncorrelated expectation) with the zero-delay window
    outlined, titled with ``label`` = value ± error."""
    title = f"{label} triples"
    if result is None or not result.counts.sum():
        return missing_panel(ax, title, reasons, "no triples")
    n = result.counts.shape[0]
    factor = max(1, -(-n // MAP_CELLS))
    m = n // factor
    counts = result.counts[: m * factor, : m * factor].reshape(m, factor, m, factor).sum((1, 3))
    expected = float(result.expected[0, 0]) * factor**2
    z = counts / expected if expected > 0 else counts.astype(float)
    scale, unit = time_unit(float(result.edges_ps[-1]))
    lo, hi = result.edges_ps[0] / scale, result.edges_ps[m * factor] / scale
    image = ax.imshow(z, origin="lower", extent=(lo, hi, lo, hi), cmap="viridis",
                      interpolation="nearest", aspect="auto")  # fmt: skip
    ax.figure.colorbar(image, ax=ax, label="triples / uncorrelated", shrink=0.85)
    a, b, c = result.channels
    ax.set_xlabel(f"τ2 = t_{c} − t_{a} ({unit})")
    ax.set_ylabel(f"τ1 = t_{b} − t_{a} ({unit})")
    if value is None:
        ax.set_title(f"{title}: no {label}", fontsize="medium")
        remark(ax, reasons, top=True)
        return ax
    w = value.window_ps / scale
    c1, c2 = (v / scale for v in value.centre_ps)
    ax.add_patch(Rectangle((c2 - w / 2, c1 - w / 2), w, w, fill=False, ec="C3", lw=1.0))
    ax.set_title(f"{label} = {value_with_error(value.value, value.error)} ({value.excitation})",
                 fontsize="medium")  # fmt: skip
    remark(ax, value.warnings, top=False)
    return ax
