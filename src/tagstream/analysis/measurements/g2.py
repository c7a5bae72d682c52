"""The HBT g2: coincidences of the pair per lag bin.

Series ``g2``: ``counts``, ``expected`` (coincidences of uncorrelated light) and
``overlap_ps`` per lag bin, ``n_ab`` (tags on A and B); axis ``edges_ps``; g2 = counts /
expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

import numpy as np

from ...tags import RunMetadata
from ..g2 import G2Result
from ..measurement import Measurement, ResumeState, register
from ..run_analyzers import g2_analyzer
from ..series import Column, RecordedSeries, SeriesSpec, Snapshot
from ..summary_settings import SummarySettings
from ._attrs import period, period_attr

SERIES = "g2"


@register
class G2Measurement(Measurement):
    """g2(τ) of the settings' HBT pair (τ = t_B − t_A)."""

    kind = SERIES

    @classmethod
    def build(
        cls, settings: SummarySettings, metadata: RunMetadata, notes: list[str]
    ) -> Self | None:
        analyzer = g2_analyzer(settings, metadata)
        return None if analyzer is None else cls(analyzer)

    def series(self) -> tuple[SeriesSpec, ...]:
        a = self.analyzer
        bins = int(2 * a.window // a.bin)
        edges = np.arange(-a.window, a.window + 1, a.bin, dtype=np.int64)
        spec = SeriesSpec(
            name=SERIES,
            description="g2(τ) of the HBT pair: coincidences per lag bin (τ = t_B − t_A).",
            fields={
                "counts": Column(np.int64, (bins,), "Coincidences per lag bin."),
                "expected": Column(
                    np.float64, (bins,), "Coincidences expected without correlation."
                ),
                "overlap_ps": Column(
                    np.float64, (bins,), "Live time that can hold each lag, ps (mean over the bin)."
                ),
                "n_ab": Column(np.int64, (2,), "Tags counted on A and on B."),
            },
            axes={"edges_ps": (edges, "Lag bin edges, ps.")},
            attrs={
                "channel_a": a.labels[0],
                "channel_b": a.labels[1],
                "bin_ps": int(a.bin),
                "period_ps": period_attr(a.period_ps),
            },
        )
        return (spec,)

    def snapshots(self, covered: tuple[int, int], live_ps: int, final: bool) -> list[Snapshot]:
        result = self.analyzer.result()
        values = {
            "counts": result.counts,
            "expected": result.expected,
            "overlap_ps": result.overlap_ps,
            "n_ab": np.array([result.n_a, result.n_b], dtype=np.int64),
        }
        return [Snapshot(SERIES, covered, result.live_ps, values)]

    def restore(self, state: ResumeState) -> None:
        last = state.snapshots.get(SERIES)
        if last is None:
            return
        n_a, n_b = (int(v) for v in last.values["n_ab"])
        counts = np.asarray(last.values["counts"], np.int64)
        self.analyzer.restore(counts, n_a, n_b, state.coverage())

    @classmethod
    def snapshot_result(cls, spec: SeriesSpec, snapshot: Snapshot) -> G2Result:
        return result_of(spec.attrs, spec.axes["edges_ps"][0], snapshot.values, snapshot.live_ps)

    @classmethod
    def result_from(cls, series: Mapping[str, RecordedSeries], k: int = -1) -> G2Result:
        s = series[SERIES]
        values = {name: s.fields[name][k] for name in ("counts", "expected", "overlap_ps", "n_ab")}
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
