"""Parts of the g2 panels: the display binning of g2(τ), the fitted model of the g2(0) estimate,
the shaded peak windows, and the test that tells real antibunching or bunching on the log-binned
g2 from noise."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes

from .plots_axes import merge_bins

if TYPE_CHECKING:
    from .g2 import G2Result
    from .g2_zero import G2Zero

#: Display re-binning (figure only; exports keep the analysis bins): at least this many
#: coincidences per g2 bin on average, with at least this many bins per laser period (pulsed) or
#: across the window (CW).
G2_MIN_MEAN = 5.0
G2_MIN_BINS_PER_PERIOD = 40
G2_MIN_BINS_CW = 200


def g2_fit_curve(
    ax: Axes, g2: G2Result, zero: G2Zero, norm: float | None, factor: int, start: int,
    edges: np.ndarray,
) -> None:  # fmt: skip
    """The fitted model of the g2(0) estimate, on the displayed scale."""
    model = zero.detail.model
    if model is None:
        return
    model = merge_bins(np.asarray(model, dtype=float), factor, start)
    with np.errstate(divide="ignore", invalid="ignore"):
        if norm is not None:
            curve = model / norm
        else:
            expected = merge_bins(g2.expected, factor, start)
            curve = np.where(expected > 0, model / expected, np.nan)
    ax.plot(0.5 * (edges[:-1] + edges[1:]), curve, color="C3", lw=1.0, label="fit")


def shade_windows(ax: Axes, period: float, offset: float) -> None:
    """The one-period windows of the peaks at −1, 0 and +1 periods (axis units)."""
    styles = {-1: ("C2", "adjacent\nwindows"), 0: ("C1", "zero-delay\nwindow"), 1: ("C2", None)}
    for k, (colour, label) in styles.items():
        centre = offset + k * period
        ax.axvspan(centre - 0.5 * period, centre + 0.5 * period, color=colour, alpha=0.12, lw=0,
                   label=label)  # fmt: skip


def significant(
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
