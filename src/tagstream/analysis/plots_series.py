"""The figure of a power series: count rate against power with the saturation fit, g2(0)
against ``<N>`` with the biexciton cascade, and the lifetime and ON fraction against power."""

from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .formatting import plus_minus
from .saturation import cascade_g2_zero, saturation_curve


def _values(steps, key):
    return np.array([np.nan if s.get(key) is None else float(s[key]) for s in steps], float)


def series_figure(result: Mapping[str, Any], path: str | PathLike) -> None:
    """Write the figure of ``result`` (:func:`~tagstream.pipeline.series_analysis.series_result`)
    to ``path``; a panel without data says so."""
    fig = Figure(figsize=(10, 7.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax_rate, ax_g2, ax_tau, ax_on = fig.subplots(2, 2).flat
    steps = [s for s in result["steps"] if not s["dark"] and not s["error"]]
    unit = "W" if result["power_from"] == "meter" else f"{result['setting']} (no meter)"
    scale, shown = (1e6, "µW") if result["power_from"] == "meter" else (1.0, unit)
    p = _values(steps, "power") * scale
    sat = result.get("saturation")
    ax_rate.errorbar(p, _values(steps, "rate_cps") / 1e3, _values(steps, "rate_err_cps") / 1e3,
                     fmt="o", label="steps (dark counts off)")  # fmt: skip
    if sat:
        x = np.linspace(0, np.nanmax(p) * 1.05, 200)
        fit = saturation_curve(x / scale, sat["i_sat_cps"], sat["p_sat"], sat["qy_ratio_used"])
        p_sat = plus_minus(sat["p_sat"] * scale, (sat["p_sat_err"] or 0) * scale, ".3g")
        ax_rate.plot(x, fit / 1e3, "C3-", label=f"P_sat = {p_sat} {shown}")
        ax_rate.axhline(sat["i_sat_cps"] / 1e3, color="C3", ls=":", lw=0.8)
    ax_rate.set_xlabel(f"power at the sample ({shown})")
    ax_rate.set_ylabel("count rate (kcps)")
    ax_rate.set_title("saturation")
    ax_rate.legend(frameon=False, fontsize=8)
    n = _values(steps, "mean_excitations")
    g, e = _values(steps, "g2_zero"), _values(steps, "g2_zero_err")
    cascade = result.get("cascade")
    if np.isfinite(n).any() and np.isfinite(g).any():
        ax_g2.errorbar(n, g, e, fmt="o", label="g2(0) measured")
        if cascade:
            x = np.geomspace(max(np.nanmin(n) * 0.7, 1e-3), np.nanmax(n) * 1.3, 200)
            ax_g2.plot(x, cascade_g2_zero(x, cascade["qy_ratio"]), "C3-", lw=1,
                       label=f"cascade, QY(BX)/QY(X) = "
                       f"{plus_minus(cascade['qy_ratio'], cascade['qy_ratio_err'], '.3g')} "
                       "(no dark counts)")  # fmt: skip
            ax_g2.plot(n, _values(steps, "g2_zero_model"), "C3x", ms=8,
                       label="the fit at each step, with its dark counts")  # fmt: skip
        ax_g2.set_xscale("log")
        ax_g2.legend(frameon=False, fontsize=8)
    else:
        ax_g2.text(0.5, 0.5, "no g2(0) against <N>", ha="center", transform=ax_g2.transAxes)
    ax_g2.set_xlabel("<N> = P / P_sat")
    ax_g2.set_ylabel("g2(0)")
    ax_g2.set_title("g2(0) against excitation")
    for ax, key, label in ((ax_tau, "tau_ns", "lifetime τ (ns, intensity mean)"),
                           (ax_on, "on_fraction", "ON fraction of time")):  # fmt: skip
        y = _values(steps, key)
        if np.isfinite(y).any():
            ax.plot(p, y, "o-")
        else:
            ax.text(0.5, 0.5, "no step gave this value", ha="center", transform=ax.transAxes)
        ax.set_xlabel(f"power at the sample ({shown})")
        ax.set_ylabel(label)
    notes = [w for w in result.get("warnings", [])]
    if sat and sat.get("note"):
        notes.append(sat["note"])
    fig.suptitle(f"power series: {len(steps)} steps" + ("\n" + "; ".join(notes) if notes else ""),
                 fontsize=9 if notes else 12)  # fmt: skip
    fig.savefig(path)
