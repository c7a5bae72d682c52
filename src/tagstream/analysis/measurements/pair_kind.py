"""What the kinds made of one two-channel histogram share (the XX–X cross-correlation, HOM):
settings naming the channels, the series (:mod:`.pair_series`), resume, the estimate with its
warnings, the live status and the live-view panel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar, Self

from ...errors import AnalysisError, TagstreamError
from ...tags import ChannelMap, RunMetadata, parse_time
from ..formatting import value_with_error
from ..g2 import G2Analyzer, G2Result
from ..measurement import Finishing, Measurement, ResumeState
from ..series import RecordedSeries, SeriesSpec, Snapshot
from ..summary_settings import SummarySettings
from ..triples_zero import leakage_warnings
from ..view_panel import ViewPanel
from .own_settings import check_table, default_window
from .pair_series import pair_result, pair_snapshot, pair_spec, restore_pair, result_of, same_pair
from .triples_kind import fitted_lifetime_ps

DEFAULT_BIN = "100 ps"


class PairMeasurement(Measurement):
    """A kind made of one pair histogram; subclasses name the channels and the estimate."""

    #: The estimate as the status line names it (``"XX–X"``).
    label: ClassVar[str]
    #: Settings naming channels (needed), and the kind's other settings besides window and bin.
    channel_keys: ClassVar[tuple[str, ...]]
    other_keys: ClassVar[tuple[str, ...]] = ()
    #: What the series holds, in words.
    description: ClassVar[str]

    @classmethod
    def channels_of(cls, own: Mapping[str, Any], settings: SummarySettings) -> tuple[Any, Any]:
        """The start and stop channel."""
        raise NotImplementedError

    @classmethod
    def estimate(cls, result: G2Result, settings: Any) -> Any:
        """The kind's value from the histogram (with ``period_ps`` and ``warnings``); raises
        :class:`~tagstream.errors.AnalysisError` when the data do not allow it."""
        raise NotImplementedError

    @classmethod
    def panel(cls, result: G2Result, value: Any, note: str | None,
              series: RecordedSeries) -> ViewPanel:  # fmt: skip
        """The live-view panel."""
        raise NotImplementedError

    @classmethod
    def check_settings(cls, table: Mapping[str, Any]) -> None:
        """The channel settings are needed; ``window``, ``bin`` are times."""
        keys = (*cls.channel_keys, "window", "bin", *cls.other_keys)
        check_table(cls.kind, table, keys, cls.needed())

    @classmethod
    def needed(cls) -> tuple[str, ...]:
        """The settings that must be given."""
        return cls.channel_keys

    @classmethod
    def build(
        cls, settings: SummarySettings, metadata: RunMetadata, notes: list[str]
    ) -> Self | None:
        """The histogram of the named channels; ``None`` unless the kind's table is given."""
        if not cls.configured(settings):
            return None
        own = cls.own_settings(settings)
        bin_ps = parse_time(own.get("bin", DEFAULT_BIN), "bin")
        window = own["window"] if "window" in own else default_window(metadata, bin_ps)
        try:
            analyzer = G2Analyzer(
                *cls.channels_of(own, settings),
                window=window,
                bin=bin_ps,
                channels=metadata.channels,
                period_ps=metadata.laser_period_ps,
                delays=settings.delays,
            )
        except AnalysisError as exc:  # the histogram's message, as the kind's setting
            raise AnalysisError(f"[analysis.{cls.kind}] {str(exc).removeprefix('g2: ')}") from None
        return cls(analyzer)

    def finish(self, finishing: Finishing) -> dict[str, Any]:
        """The histogram and the estimate, with a warning when the decay fit says the peaks
        leak out of their windows."""
        result = finishing.attempt(self.kind, self.result)
        value = None
        if result is not None:
            value = finishing.attempt(self.kind, lambda: self.estimate(result, finishing.settings))
        if value is not None:
            more = leakage_warnings(value.period_ps, fitted_lifetime_ps(finishing))
            value = replace(value, warnings=value.warnings + more)
        return {self.kind: result, f"{self.kind}_value": value}

    @classmethod
    def warnings(cls, values: Mapping[str, Any], metadata: RunMetadata) -> list[str]:
        """The estimate's warnings."""
        value = values.get(f"{cls.kind}_value")
        return [] if value is None else [f"{cls.kind}: {w}" for w in value.warnings]

    @classmethod
    def live_status(
        cls, specs: Mapping[str, SeriesSpec], latest: Mapping[str, Snapshot], settings: Any
    ) -> str | None:
        """``"<label> value ± error"`` (``"—"`` before it can be computed)."""
        spec, snapshot = specs.get(cls.kind), latest.get(cls.kind)
        if spec is None:
            return None
        try:
            value = cls.estimate(cls.snapshot_result(spec, snapshot), settings)
        except (TagstreamError, AttributeError, ValueError, FloatingPointError):
            return f"{cls.label} —"
        return f"{cls.label} {value_with_error(value.value, value.error)}"

    @classmethod
    def view_panels(
        cls,
        series: Mapping[str, RecordedSeries],
        settings: Any,
        since: Mapping[str, RecordedSeries] | None = None,
    ) -> list[ViewPanel]:
        """The histogram so far with the estimate."""
        s = series.get(cls.kind)
        if s is None or not len(s):
            return []
        result = cls.result_from(series)
        try:
            value, note = cls.estimate(result, settings), None
        except TagstreamError as exc:
            value, note = None, str(exc)
        return [cls.panel(result, value, note, s)]

    # ------------------------------------------------------------------ result series
    def series(self) -> tuple[SeriesSpec, ...]:
        """The kind's pair series."""
        return (pair_spec(self.kind, self.description, self.analyzer),)

    def snapshots(self, covered: tuple[int, int], live_ps: int, final: bool) -> list[Snapshot]:
        """The histogram so far."""
        return [pair_snapshot(self.kind, self.analyzer.result(), covered)]

    def restore(self, state: ResumeState) -> None:
        """Continue from the last snapshot."""
        restore_pair(self.kind, self.analyzer, state)

    @classmethod
    def snapshot_result(cls, spec: SeriesSpec, snapshot: Snapshot) -> G2Result:
        """The histogram a live snapshot holds."""
        return result_of(spec.attrs, spec.axes["edges_ps"][0], snapshot.values, snapshot.live_ps)

    @classmethod
    def replica(cls, series: Mapping[str, RecordedSeries], channels: ChannelMap) -> G2Analyzer:
        """A fresh analyzer of the recorded pair, window and bin."""
        g = cls.result_from(series)
        return G2Analyzer(*g.channels, window=int(g.edges_ps[-1]), bin=g.bin_ps, channels=channels)

    @classmethod
    def same(cls, live: G2Result, offline: G2Result) -> bool:
        """Same coincidences, photons and live time."""
        return same_pair(live, offline)

    @classmethod
    def result_from(cls, series: Mapping[str, RecordedSeries], k: int = -1) -> G2Result:
        """The histogram of snapshot ``k``."""
        return pair_result(series, cls.kind, k)
