"""The decay curves of the decay panels: counts merged into display bins, the fit over its
fitted bins and the deviance residuals, with a histogram over one whole period turned round to
start just before the rise of the pulse when that rise wraps to the end of the period."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes

from .derived import deviance_residuals, running_mean
from .formatting import value_with_error
from .plots_axes import display_factor, duration_text, legend, merge_bins, time_unit

if TYPE_CHECKING:
    from .decay_fit import DecayFit

#: Display re-binning of the decay (figure only; exports keep the analysis bins): at least this
#: many photons per bin on average, and never fewer bins than this.
DECAY_MIN_MEAN = 20.0
DECAY_MIN_BINS = 128


def decay_curves(
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
    factor = display_factor(float(counts.sum()), n, DECAY_MIN_MEAN, DECAY_MIN_BINS)
    cut = rise_cut(edges_ps, counts, period_ps)
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
        values = [merge_bins(np.asarray(v[a:b], dtype=float), factor) for v in (counts, model)]
        if pieces and piece_edges[0] > pieces[-1][0][-1]:  # the bins do not tile the period
            gap = np.array([pieces[-1][0][-1], piece_edges[0]])
            pieces.append((gap, np.array([np.nan]), np.array([np.nan])))
        pieces.append((piece_edges, *values))
    edges = np.concatenate([pieces[0][0]] + [p[0][1:] for p in pieces[1:]])
    shown = np.concatenate([p[1] for p in pieces])
    expected = np.concatenate([p[2] for p in pieces])
    scale, unit = time_unit(float(edges_ps[-1] - edges_ps[0]))
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
    ax.set_ylabel(f"counts per {duration_text(float(edges_ps[factor] - edges_ps[0]))}")
    xlabel = f"delay after the laser pulse ({unit})"
    if residual_ax is not None and fit is not None:
        ax.tick_params(labelbottom=False)
        residual_ax.set_xlabel(xlabel)
    else:
        if residual_ax is not None:
            residual_ax.set_axis_off()
        ax.set_xlabel(xlabel)
    legend(ax)


def rise_cut(edges_ps: np.ndarray, counts: np.ndarray, period_ps: float | None) -> int:
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
