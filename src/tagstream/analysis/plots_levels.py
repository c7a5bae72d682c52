"""The figure panel of the change-point levels: the trace with the levels' intensities over it,
coloured by state."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes

from ..errors import AnalysisError
from ..tags.units import PS_PER_S
from .level_result import LevelsResult
from .plots_axes import legend, missing_panel, remark
from .trace import TraceResult

#: Colours of the states, by class.
COLOURS = {"off": "C3", "grey": "C1", "on": "C2"}
#: Longest stretch drawn, s (the first of the run), so that single levels can be told apart.
SHOWN_S = 10.0


def plot_levels(
    ax: Axes,
    levels: LevelsResult | None,
    trace: TraceResult | None = None,
    reasons: Sequence[str] = (),
) -> Axes:
    """The first :data:`SHOWN_S` s of the trace (counts/s, grey) and of the levels (their
    intensity, coloured by state), titled with the states' shares of the time."""
    if levels is None or levels.n_levels == 0:
        return missing_panel(ax, "change-point levels", reasons, "no levels")
    t0 = levels.t_begin_ps
    stop = t0 + SHOWN_S * PS_PER_S
    if trace is not None and trace.exposure_ps.size:
        edges = (trace.t0_ps + trace.bin_ps * np.arange(trace.counts.size + 1)) / PS_PER_S
        keep = edges[:-1] * PS_PER_S < stop
        rate = np.nan_to_num(trace.rate_cps[keep])
        ax.stairs(rate, edges[: keep.sum() + 1], color="0.7", lw=0.5, label="trace")
    try:
        names, state = levels.state_names, levels.state
        title = ", ".join(
            f"{n} {f:.3f}" for n, f in zip(names, levels.state_fractions, strict=True)
        )
    except AnalysisError as exc:
        names, state, title = ("level",), np.zeros(levels.n_levels, int), str(exc)
    shown = levels.starts_ps < stop
    for k, name in enumerate(names):
        mine = shown & (state == k)
        colour = COLOURS.get(name.split()[0], "C0")
        ax.hlines(levels.rate_cps[mine], levels.starts_ps[mine] / PS_PER_S,
                  levels.ends_ps[mine] / PS_PER_S, color=colour, lw=1.5, label=name)  # fmt: skip
    ax.set_xlim(t0 / PS_PER_S, min(stop, levels.t_end_ps) / PS_PER_S)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("intensity (counts/s)")
    ax.set_title(
        f"change-point levels ({levels.n_levels}, alpha {levels.alpha:g}): {title}",
        fontsize="medium",
    )
    legend(ax)
    remark(ax, reasons, top=False)
    return ax
