"""The series layout of a two-channel correlation (the HBT g2, the XX–X cross-correlation):
coincidences, expected coincidences and live time per lag bin, and the photons of both
channels, over the lag bin edges."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..g2 import G2Analyzer, G2Result
from ..measurement import ResumeState
from ..series import Column, RecordedSeries, SeriesSpec, Snapshot
from ._attrs import period, period_attr

#: The fields every snapshot of a pair series holds.
FIELDS = ("counts", "expected", "overlap_ps", "n_ab")


def pair_spec(
    name: str, description: str, analyzer: G2Analyzer, extra: Mapping[str, Column] | None = None
) -> SeriesSpec:
    """The series of ``analyzer``'s histogram, with ``extra`` fields."""
    a = analyzer
    bins = int(2 * a.window_ps // a.bin_ps)
    edges = np.arange(-a.window_ps, a.window_ps + 1, a.bin_ps, dtype=np.int64)
    return SeriesSpec(
        name=name,
        description=description,
        fields={
            "counts": Column(np.int64, (bins,), "Coincidences per lag bin."),
            "expected": Column(np.float64, (bins,), "Coincidences expected without correlation."),
            "overlap_ps": Column(
                np.float64, (bins,), "Live time that can hold each lag, ps (mean over the bin)."
            ),
            "n_ab": Column(np.int64, (2,), "Tags counted on A and on B."),
            **(extra or {}),
        },
        axes={"edges_ps": (edges, "Lag bin edges, ps.")},
        attrs={
            "channel_a": a.labels[0],
            "channel_b": a.labels[1],
            "bin_ps": int(a.bin_ps),
            "period_ps": period_attr(a.period_ps),
        },
    )


def pair_snapshot(name: str, result: G2Result, covered: tuple[int, int], **extra: Any) -> Snapshot:
    """A snapshot of the whole histogram so far (cumulative)."""
    values = {
        "counts": result.counts,
        "expected": result.expected,
        "overlap_ps": result.overlap_ps,
        "n_ab": np.array([result.n_a, result.n_b], dtype=np.int64),
    }
    return Snapshot(name, covered, result.live_ps, values | extra)


def restore_pair(name: str, analyzer: G2Analyzer, state: ResumeState) -> Snapshot | None:
    """Continue ``analyzer`` from the last snapshot of series ``name`` (returned; ``None``
    without one)."""
    last = state.snapshots.get(name)
    if last is None:
        return None
    n_a, n_b = (int(v) for v in last.values["n_ab"])
    analyzer.restore(np.asarray(last.values["counts"], np.int64), n_a, n_b, state.coverage())
    return last


def pair_result(series: Mapping[str, RecordedSeries], name: str, k: int = -1) -> G2Result:
    """The :class:`G2Result` of snapshot ``k`` of the recorded series ``name``."""
    s = series[name]
    values = {field: s.fields[field][k] for field in FIELDS}
    return result_of(s.attrs, s.axes["edges_ps"], values, int(s.live_ps[k]))


def result_of(attrs: Mapping, edges: np.ndarray, values: Mapping, live_ps: int) -> G2Result:
    """The g2 result of a snapshot's values and its series' attributes and axis."""
    n_a, n_b = (int(v) for v in values["n_ab"])
    return G2Result(
        channels=(str(attrs["channel_a"]), str(attrs["channel_b"])),
        edges_ps=edges,
        counts=np.asarray(values["counts"]),
        expected=np.asarray(values["expected"]),
        overlap_ps=np.asarray(values["overlap_ps"]),
        n_a=n_a,
        n_b=n_b,
        live_ps=live_ps,
        period_ps=period(attrs["period_ps"]),
    )


def same_pair(live: G2Result, offline: G2Result) -> bool:
    """Whether both results hold the same coincidences, photon counts and live time."""
    counts = (live.n_a, live.n_b, live.live_ps) == (offline.n_a, offline.n_b, offline.live_ps)
    return bool(np.array_equal(live.counts, offline.counts) and counts)
