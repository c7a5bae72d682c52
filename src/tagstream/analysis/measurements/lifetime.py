"""The decay histogram: photon delays after the laser pulse on the lifetime channel.

Series ``lifetime``: ``counts`` per decay bin; axis ``edges_ps``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

import numpy as np

from ...tags import RunMetadata
from ..lifetime import DecayResult
from ..measurement import Measurement, ResumeState, register
from ..run_analyzers import lifetime_analyzer
from ..series import Column, RecordedSeries, SeriesSpec, Snapshot
from ..summary_settings import SummarySettings
from ._attrs import period, period_attr

SERIES = "lifetime"


@register
class LifetimeMeasurement(Measurement):
    """The decay histogram of the settings' lifetime channel."""

    kind = SERIES

    def __init__(self, analyzer, mode: str):
        super().__init__(analyzer)
        self.mode = mode

    @classmethod
    def build(
        cls, settings: SummarySettings, metadata: RunMetadata, notes: list[str]
    ) -> Self | None:
        # without decays the resolved settings have no lifetime channel, and say why
        analyzer = lifetime_analyzer(settings, metadata)
        return None if analyzer is None else cls(analyzer, metadata.mode)

    def series(self) -> tuple[SeriesSpec, ...]:
        a = self.analyzer
        edges = a.edges_ps
        spec = SeriesSpec(
            name=SERIES,
            description="Decay histogram: photon delay after the laser pulse.",
            fields={"counts": Column(np.int64, (edges.size - 1,), "Photons per delay bin.")},
            axes={"edges_ps": (edges, "Delay bin edges, ps.")},
            attrs={
                "channel": a.labels[0],
                "mode": self.mode,
                "period_ps": period_attr(a.period_ps),
                "divider": a.fold.divider,
            },
        )
        return (spec,)

    def snapshots(self, covered: tuple[int, int], live_ps: int, final: bool) -> list[Snapshot]:
        return [Snapshot(SERIES, covered, live_ps, {"counts": self.analyzer.result().counts})]

    def restore(self, state: ResumeState) -> None:
        last = state.snapshots.get(SERIES)
        if last is None:
            return
        counts = np.asarray(last.values["counts"], np.int64)
        self.analyzer.restore(counts[None, :], state.coverage())

    @classmethod
    def snapshot_result(cls, spec: SeriesSpec, snapshot: Snapshot) -> DecayResult:
        return result_of(spec.attrs, spec.axes["edges_ps"][0], snapshot.values["counts"])

    @classmethod
    def result_from(cls, series: Mapping[str, RecordedSeries], k: int = -1) -> DecayResult:
        s = series[SERIES]
        return result_of(s.attrs, s.axes["edges_ps"], s.fields["counts"][k])


def result_of(attrs: Mapping, edges: np.ndarray, counts: np.ndarray) -> DecayResult:
    """The decay histogram of a snapshot's counts and its series' attributes and axis."""
    return DecayResult(
        channel=str(attrs["channel"]),
        edges_ps=edges,
        counts=np.asarray(counts),
        period_ps=period(attrs["period_ps"]),
        mode=str(attrs["mode"]),
        divider=int(attrs.get("divider", 1)),
    )
