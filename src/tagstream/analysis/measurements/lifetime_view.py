"""The decay panel of the live web view: the decay histogram on a log axis with a
one-exponential fit and its lifetime."""

from __future__ import annotations

import numpy as np

from ...errors import TagstreamError
from ..lifetime import DecayResult
from ..plots_axes import merge_bins, time_unit
from ..series import RecordedSeries
from ..view_panel import MAX_POINTS, Figure, Number, ViewPanel


def decay_panel(
    result: DecayResult, series: RecordedSeries, since: RecordedSeries | None = None
) -> ViewPanel:
    """The decay panel of the last snapshot of ``series`` (``result``: its histogram, of the
    stretch after ``since`` when given)."""
    covered = (int(series.covered_ps[-1, 0]), int(series.covered_ps[-1, 1]))
    if since is not None:
        covered = (int(since.covered_ps[-1, 1]), covered[1])
    base = {"key": "lifetime", "title": f"decay ({result.channel})", "slot": 20,
            "covered_ps": covered, "published_s": float(series.wall_time_s[-1])}  # fmt: skip
    photons = int(result.counts.sum())
    if photons == 0:
        return ViewPanel(**base, numbers=(Number("tau", "τ (mono)", None, unit="ns"),),
                         notes=("no photons in the decay yet",))  # fmt: skip
    notes: list[str] = []
    fit = None
    try:
        fit = result.fit("mono")
    except (TagstreamError, ValueError, FloatingPointError) as exc:
        notes.append(f"lifetime fit not available yet: {exc}")
    n = result.counts.size
    factor = max(1, -(-n // MAX_POINTS))
    edges = np.asarray(result.edges_ps, dtype=np.float64)[:: factor][: n // factor + 1]
    counts = merge_bins(np.asarray(result.counts, dtype=float), factor)
    scale, unit = time_unit(float(edges[-1] - edges[0]))
    centres = 0.5 * (edges[:-1] + edges[1:]) / scale
    fig = Figure(f"delay after the laser pulse ({unit})", "photons per bin", y_log=True)
    fig.line(centres, np.where(counts > 0, counts, np.nan), result.channel, steps=True)
    numbers = [Number("tau", "τ (mono)", None, unit="ns")]
    if fit is not None:
        model = np.full(n, np.nan)
        first = int(np.searchsorted(result.edges_ps, fit.edges_ps[0]))
        model[first : first + fit.expected.size] = fit.expected
        fig.line(centres, merge_bins(model, factor), "fit", color="#d62728")
        tau_ns, err_ns = float(fit.tau_ps[0]) / 1e3, float(fit.tau_err_ps[0]) / 1e3
        numbers = [Number("tau", "τ (mono)", tau_ns, err_ns, unit="ns")]
        notes += list(fit.model_warnings)
    numbers.append(Number("photons", "photons", float(photons), text=f"{photons:,}"))
    return ViewPanel(**base, figure=fig.to_dict(), numbers=tuple(numbers), notes=tuple(notes))
