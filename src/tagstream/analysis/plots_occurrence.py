"""The occurrence histogram of the counts per trace bin, drawn in at most a hundred count
classes beside the Poisson law of the same mean and the blinking thresholds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from scipy.stats import poisson

from .plots_axes import duration_text, legend


def coarse(
    values: np.ndarray, occurrences: np.ndarray, groups: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """An occurrence histogram in at most ``groups`` count classes: class centres (counts per
    bin) and bins per class."""
    if values.size == 0:
        return np.zeros(1), np.zeros(1)
    width = max(1, -(-values.size // groups))
    grouped = np.add.reduceat(occurrences, np.arange(0, values.size, width))
    return np.arange(grouped.size) * width + 0.5 * (width - 1), grouped


def occurrence_axes(
    ax: Axes, values: np.ndarray, occurrences: np.ndarray, thresholds: Sequence[float],
    bin_ps: int,
) -> None:  # fmt: skip
    """Bars of the occurrence histogram, the Poisson law of its mean and the thresholds (all in
    counts per bin)."""
    levels, grouped = coarse(values, occurrences)
    width = levels[1] - levels[0] if levels.size > 1 else 1.0
    ax.stairs(grouped, np.append(levels - 0.5 * width, levels[-1] + 0.5 * width), fill=True,
              color="C0", alpha=0.6, label="trace bins")  # fmt: skip
    bins = occurrences.sum()
    mean = float(np.dot(values, occurrences) / bins)
    grid = np.arange(values.size)
    law = bins * poisson.pmf(grid, mean)
    ax.plot(levels, coarse(grid, law)[1], color="C3", lw=1.0, label="Poisson,\nsame mean")
    for level in thresholds:
        ax.axvline(level, color="C3", lw=0.9, ls="--")
        ax.annotate(f"{level:.4g}", (level, 1.0), xycoords=("data", "axes fraction"),
                    ha="left", va="top", color="C3", fontsize="small")  # fmt: skip
    occupied = values[occurrences > 0]
    pad = max(2.0, 0.1 * float(occupied[-1] - occupied[0]))
    ax.set_xlim(max(-0.5, occupied[0] - pad), occupied[-1] + pad)
    ax.set_xlabel(f"counts per {duration_text(bin_ps)} bin")
    ax.set_ylabel("trace bins")
    ax.set_ylim(bottom=0)
    legend(ax)
