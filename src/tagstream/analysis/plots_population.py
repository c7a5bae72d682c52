"""The population figure of a batch: the distributions of g2(0), lifetime and ON fraction over the
dots, each with its count and median, and g2(0) against the lifetime."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from os import PathLike
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: What the figure shows: (column of the table, axis label).
G2 = ("g2.g2_zero", "g2(0)")
TAU = ("lifetime.tau_mean_ns.intensity", "lifetime τ (ns, intensity-weighted mean)")
ON = ("blinking.fractions.on", "ON fraction of time")


def column(rows: Sequence[Mapping[str, Any]], name: str) -> np.ndarray:
    """The finite values of column ``name`` over the rows without an error."""
    values = [r.get(name) for r in rows if r.get("error") is None]
    out = np.array([float(v) for v in values if isinstance(v, (int, float))], dtype=float)
    return out[np.isfinite(out)]


def population_figure(rows: Sequence[Mapping[str, Any]], path: str | PathLike) -> None:
    """Write the population figure of ``rows`` (a batch's table) to ``path``; a quantity no
    file gave says so in its panel."""
    fig = Figure(figsize=(10, 7.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 2)
    failed = sum(r.get("error") is not None for r in rows)
    fig.suptitle(f"{len(rows)} files, {failed} failed" if failed else f"{len(rows)} files")
    for ax, (name, label) in zip(axes.flat[:3], (G2, TAU, ON), strict=True):
        values = column(rows, name)
        ax.set_xlabel(label)
        ax.set_ylabel("dots")
        if not values.size:
            ax.text(0.5, 0.5, "no file gave this value", ha="center", transform=ax.transAxes)
            continue
        ax.hist(values, bins=max(5, min(40, int(np.sqrt(values.size)) * 2)), color="C0",
                alpha=0.7)  # fmt: skip
        median = float(np.median(values))
        ax.axvline(median, color="C3", ls="--", label=f"median {median:.3g}")
        good = sum(r.get("error") is None for r in rows)
        missing = f" ({good - values.size} files without a value: see their notes)"
        ax.set_title(f"N = {values.size}" + (missing if values.size < good else ""), fontsize=10)
        ax.legend(frameon=False)
    ax = axes.flat[3]
    pairs = [(r.get(G2[0]), r.get(TAU[0]), r.get(G2[0] + "_err")) for r in rows
             if r.get("error") is None]  # fmt: skip
    pairs = [(g, t, e) for g, t, e in pairs if isinstance(g, float) and isinstance(t, float)]
    ax.set_xlabel(TAU[1])
    ax.set_ylabel(G2[1])
    if pairs:
        g, t, e = (np.array([np.nan if p[i] is None else p[i] for p in pairs]) for i in range(3))
        ax.errorbar(t, g, yerr=np.where(np.isfinite(e), e, 0.0), fmt="o", ms=4, alpha=0.7)
        ax.set_title(f"g2(0) against τ, N = {len(pairs)}")
    else:
        ax.text(0.5, 0.5, "no file gave both", ha="center", transform=ax.transAxes)
    fig.savefig(path)
