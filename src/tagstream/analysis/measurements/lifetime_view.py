"""The decay panel of the live web view: the decay histogram on a log axis with a
one-exponential fit and its lifetime."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ...errors import TagstreamError
from ..lifetime import DecayResult
from ..plots_axes import merge_bins, time_unit
from ..series import RecordedSeries
from ..view_panel import MAX_POINTS, Figure, Number, ViewPanel, shown_span

if TYPE_CHECKING:
    from ..decay_fit import DecayFit


def decay_panel(
    result: DecayResult, series: RecordedSeries, since: RecordedSeries | None = None
) -> ViewPanel:
    """The decay panel of the last snapshot of ``series`` (``result``: its histogram, of the
    stretch after ``since`` when given)."""
    covered = shown_span(series, None if since is None else int(since.covered_ps[-1, 1]))
    base = {"key": "lifetime", "title": f"decay ({result.channel})", "slot": 20,
            "covered_ps": covered, "published_s": float(series.wall_time_s[-1])}  # fmt: skip
    photons = int(result.counts.sum())
    if photons == 0:
        return ViewPanel(**base, numbers=(Number("tau", "τ (mono)", None, unit="ns"),),
                         notes=("no photons in the decay yet",))  # fmt: skip
    notes: list[str] = []
    shown = displayed(result)
    fit = None
    try:
        fit = live_decay_fit(shown)
    except (TagstreamError, ValueError, FloatingPointError) as exc:
        notes.append(f"lifetime fit not available yet: {exc}")
    n = shown.counts.size
    edges = np.asarray(shown.edges_ps, dtype=np.float64)
    counts = np.asarray(shown.counts, dtype=float)
    scale, unit = time_unit(float(edges[-1] - edges[0]))
    centres = 0.5 * (edges[:-1] + edges[1:]) / scale
    fig = Figure(f"delay after the laser pulse ({unit})", "photons per bin", y_log=True)
    fig.line(centres, np.where(counts > 0, counts, np.nan), result.channel, steps=True)
    numbers = [Number("tau", "τ (mono)", None, unit="ns")]
    if fit is not None:
        model = np.full(n, np.nan)
        first = int(np.searchsorted(shown.edges_ps, fit.edges_ps[0]))
        model[first : first + fit.expected.size] = fit.expected
        fig.line(centres, model, "fit", color="#d62728")
        tau_ns, err_ns = float(fit.tau_ps[0]) / 1e3, float(fit.tau_err_ps[0]) / 1e3
        numbers = [Number("tau", "τ (mono)", tau_ns, err_ns, unit="ns")]
        notes += list(fit.model_warnings)
    numbers.append(Number("photons", "photons", float(photons), text=f"{photons:,}"))
    return ViewPanel(**base, figure=fig.to_dict(), numbers=tuple(numbers), notes=tuple(notes))


def displayed(result: DecayResult) -> DecayResult:
    """The histogram in at most :data:`MAX_POINTS` bins (whole groups of bins merged): what the
    panel draws and fits."""
    n = result.counts.size
    factor = max(1, -(-n // MAX_POINTS))
    if factor == 1:
        return result
    edges = np.asarray(result.edges_ps)[::factor][: n // factor + 1]
    return replace(result, edges_ps=edges, counts=merge_bins(result.counts, factor))


#: The last fit of each histogram layout (channel, bins, first and last edge, laser period and
#: sync divider) with the counts it fitted: the next snapshot's fit starts from its lifetime,
#: which spares one of the two grid profiles of a cold start when it converges to the same
#: optimum (the result differs from a cold start's by the fit's tolerance, about 1e-7), and the
#: same counts give the same fit. Panels are made in one thread at a time per layout in
#: practice; a race would only change which start is taken.
_LAST_FITS: dict[tuple, tuple[np.ndarray, DecayFit]] = {}
_LAYOUTS_KEPT = 16


def live_decay_fit(shown: DecayResult) -> DecayFit:
    """The live view's one-exponential fit of the displayed histogram (a merged histogram fits
    several times faster, under the run's load too; ``analyze`` fits every bin afterwards),
    started from the lifetime fitted to the previous snapshot."""
    edges = np.asarray(shown.edges_ps)
    layout = (shown.channel, int(edges.size), float(edges[0]), float(edges[-1]),
              shown.period_ps, shown.divider)  # fmt: skip
    counts = np.array(shown.counts)
    last = _LAST_FITS.get(layout)
    if last is not None and np.array_equal(last[0], counts):
        return last[1]
    fit = shown.fit("mono", tau_guess_ps=None if last is None else [float(last[1].tau_ps[0])])
    if len(_LAST_FITS) >= _LAYOUTS_KEPT and layout not in _LAST_FITS:
        _LAST_FITS.clear()
    _LAST_FITS[layout] = (counts, fit)
    return fit
