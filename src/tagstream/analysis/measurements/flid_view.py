"""The FLID panel of the live web view: time bins by counts per bin and mean photon delay."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..flid import FlidResult
from ..plots_axes import duration_text, time_unit
from ..series import RecordedSeries
from ..view_panel import Figure, Number, ViewPanel, shown_span


def flid_panel(flid: FlidResult, series: RecordedSeries, after_ps: int | None = None) -> ViewPanel:
    """The FLID map of the last snapshot of ``series`` (``flid``: its result; only the bins that
    begin at or after ``after_ps`` when given)."""
    covered = shown_span(series, after_ps)
    if after_ps is not None:
        first = max(0, -(-(after_ps - flid.t0_ps) // flid.bin_ps))
        flid = replace(flid, t0_ps=flid.t0_ps + first * flid.bin_ps, counts=flid.counts[first:],
                       timed=flid.timed[first:], delay_sum=flid.delay_sum[first:],
                       exposure_ps=flid.exposure_ps[first:])  # fmt: skip
    base = {"key": "flid", "title": f"FLID ({duration_text(flid.bin_ps)} bins)", "slot": 40,
            "covered_ps": covered, "published_s": float(series.wall_time_s[-1])}  # fmt: skip
    hist, delay_edges, count_edges = flid.histogram()
    full = int(hist.sum())
    numbers = (Number("flid_bins", "time bins in the map", float(full), text=f"{full:,}"),)
    if full == 0:
        return ViewPanel(**base, numbers=numbers,
                         notes=("no full time bins with timed photons yet",))  # fmt: skip
    rows = np.flatnonzero(hist.sum(axis=1))
    hist, count_edges = hist[rows[0] : rows[-1] + 1], count_edges[rows[0] : rows[-1] + 2]
    scale, unit = time_unit(float(delay_edges[-1] - delay_edges[0]))
    x = 0.5 * (delay_edges[:-1] + delay_edges[1:]) / scale
    y = 0.5 * (count_edges[:-1] + count_edges[1:])
    z = np.where(hist > 0, np.log10(np.maximum(hist, 1)), np.nan)
    fig = Figure(f"mean delay after the laser pulse ({unit})",
                 f"counts per {duration_text(flid.bin_ps)} bin")  # fmt: skip
    fig.heatmap(x, y, z, "log10 time bins")
    return ViewPanel(**base, figure=fig.to_dict(), numbers=numbers)
