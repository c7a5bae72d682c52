"""What the kinds made of triple coincidences share (g3, the heralded g2): settings, the
series, resume, the summary block, text line, figure panel and live view.

Series ``<kind>``: fields ``counts`` (triples per (τ1, τ2) bin), ``pair_ab`` and ``pair_ac``
(pairs of the reference channel with each other channel per lag bin) and ``n_abc`` (photons
of the three channels); axis ``edges_ps`` (lag bin edges of both axes).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, ClassVar, Self

import numpy as np

from ...errors import TagstreamError
from ...tags import ChannelMap, RunMetadata, parse_time
from ..formatting import value_with_error
from ..measurement import Finishing, Measurement, Panel, ResumeState
from ..series import Column, RecordedSeries, SeriesSpec, Snapshot
from ..summary_settings import SummarySettings
from ..triples import TripleAnalyzer, TripleResult
from ..triples_zero import TripleValue, leakage_warnings
from ..view_panel import ViewPanel
from ._attrs import period, period_attr
from .cascade_view import triples_panel
from .own_settings import check_table, default_window

#: Bins per laser period by default.
BINS_PER_PERIOD = 20
#: The bin without a laser period, and the zero-delay window of CW data.
CW_BIN = "1 ns"
FIELDS = ("counts", "pair_ab", "pair_ac", "n_abc")


class TriplesMeasurement(Measurement):
    """A kind made of triple coincidences; subclasses name the channels and the estimate."""

    #: The estimated quantity as printed (``"g3(0,0)"``).
    label: ClassVar[str]
    #: The panel's and the view's title.
    title: ClassVar[str]
    #: Its settings: the channel settings, then ``window``, ``bin``, ``zero_window``.
    channel_keys: ClassVar[tuple[str, ...]]
    #: Keys of the value and its error in the JSON block.
    value_keys: ClassVar[tuple[str, str]]
    #: The estimate: ``estimate(result, excitation, zero_window_ps) -> TripleValue``.
    estimate: ClassVar[Callable[[TripleResult, str, float], TripleValue]]

    def __init__(self, analyzer: TripleAnalyzer, zero_window_ps: int):
        super().__init__(analyzer)
        self.zero_window_ps = zero_window_ps

    @classmethod
    def channels_of(cls, own: Mapping[str, Any]) -> tuple[Any, Any, Any]:
        """The reference channel and the two others, from the kind's own settings."""
        raise NotImplementedError

    @classmethod
    def check_settings(cls, table: Mapping[str, Any]) -> None:
        """The channel settings are needed; ``window``, ``bin``, ``zero_window`` are times."""
        keys = (*cls.channel_keys, "window", "bin", "zero_window")
        check_table(cls.kind, table, keys, cls.channel_keys, ("window", "bin", "zero_window"))
        cls.channels_of(table)

    @classmethod
    def build(
        cls, settings: SummarySettings, metadata: RunMetadata, notes: list[str]
    ) -> Self | None:
        """Triples of the named channels; ``None`` unless the kind's table is given."""
        if not cls.configured(settings):
            return None
        own = cls.own_settings(settings)
        period_ps = metadata.laser_period_ps or metadata.sync_period_ps
        default_bin = max(1, math.floor(period_ps / BINS_PER_PERIOD)) if period_ps else CW_BIN
        bin_ps = parse_time(own.get("bin", default_bin), "bin")
        analyzer = TripleAnalyzer(
            *cls.channels_of(own), window=own.get("window", default_window(metadata, bin_ps)),
            bin=bin_ps, channels=metadata.channels, delays=settings.delays,
        )  # fmt: skip
        analyzer.period_ps = metadata.laser_period_ps
        return cls(analyzer, parse_time(own.get("zero_window", CW_BIN), "zero_window"))

    @classmethod
    def excitation(cls, result: TripleResult, requested: str) -> str:
        """``requested``, or for "auto" pulsed when the run has a laser period."""
        if requested != "auto":
            return requested
        return "pulsed" if result.period_ps else "cw"

    @classmethod
    def value_of(cls, result: TripleResult, settings: Any, zero_window_ps: float) -> TripleValue:
        """The estimate for the settings' excitation."""
        return cls.estimate(result, cls.excitation(result, settings.excitation), zero_window_ps)

    # ------------------------------------------------------------------ the run summary
    def finish(self, finishing: Finishing) -> dict[str, Any]:
        """The triples and the estimate."""
        result = finishing.attempt(self.kind, self.result)
        value = None
        if result is not None:
            value = finishing.attempt(
                self.kind, lambda: self.value_of(result, finishing.settings, self.zero_window_ps)
            )
        if value is not None and value.excitation == "pulsed":
            more = leakage_warnings(value.window_ps, fitted_lifetime_ps(finishing))
            value = replace(value, warnings=value.warnings + more)
        return {self.kind: result, f"{self.kind}_zero": value}

    @classmethod
    def warnings(cls, values: Mapping[str, Any], metadata: RunMetadata) -> list[str]:
        """The estimate's warnings."""
        value = values.get(f"{cls.kind}_zero")
        return [] if value is None else [f"{cls.kind}: {w}" for w in value.warnings]

    @classmethod
    def blocks(cls, summary: Any) -> dict[str, dict[str, Any]]:
        """The kind's block: channels, the value and its error, excitation, the zero-delay
        position and window (ns), the coincidence numbers, and the note."""
        result, value = summary.values[cls.kind], summary.values[f"{cls.kind}_zero"]
        keys = ("channels", *cls.value_keys, "excitation", "zero_delay_ns", "window_ns", "counts")
        block = dict.fromkeys(keys)
        if result is not None:
            block["channels"] = list(result.channels)
        if value is not None:
            fields = value.to_dict()
            block |= {cls.value_keys[0]: value.value, cls.value_keys[1]: value.error}
            block |= {k: fields[k] for k in ("excitation", "zero_delay_ns", "window_ns", "counts")}
        note = summary.note(cls.kind)
        if not cls.configured(summary.settings):
            note = f"not requested: name the channels in [analysis.{cls.kind}]"
        return {cls.kind: block | {"note": note}}

    @classmethod
    def lines(cls, summary: Any) -> list[tuple[str, str]]:
        """``g3(0,0) = 0.22 ± 0.01 (A, B, C; pulsed, 1053 triples at zero delay)``."""
        if not cls.configured(summary.settings):
            return []
        result, value = summary.values[cls.kind], summary.values[f"{cls.kind}_zero"]
        if value is None:
            return [(cls.kind, f"{cls.label}: not available")]
        central = value.counts.get("central", value.counts.get("triples", 0.0))
        return [(cls.kind, f"{cls.label} = {value_with_error(value.value, value.error)} "
                           f"({cls.describe(result)}; {value.excitation}, {central:.0f} triples "
                           "at zero delay)")]  # fmt: skip

    @classmethod
    def describe(cls, result: TripleResult) -> str:
        """The channels as the text line names them."""
        return ", ".join(result.channels)

    @classmethod
    def panels(cls, summary: Any) -> list[Panel]:
        """The triple map (slot 5), when configured."""
        if not cls.configured(summary.settings):
            return []

        def draw(fig: Any, cell: Any) -> None:
            from ..plots_triples import plot_triples

            plot_triples(fig.add_subplot(cell), summary.values[cls.kind],
                         summary.values[f"{cls.kind}_zero"], cls.label,
                         summary.notes_for(cls.kind))  # fmt: skip

        return [Panel(5, draw)]

    @classmethod
    def live_status(
        cls, specs: Mapping[str, SeriesSpec], latest: Mapping[str, Snapshot], settings: Any
    ) -> str | None:
        """``"g3(0,0) 0.22 ± 0.01"``."""
        spec, snapshot = specs.get(cls.kind), latest.get(cls.kind)
        if spec is None:
            return None
        try:
            result = cls.snapshot_result(spec, snapshot)
            value = cls.value_of(result, settings, float(spec.attrs["zero_window_ps"]))
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
        """The triple map so far with the value."""
        s = series.get(cls.kind)
        if s is None or not len(s):
            return []
        result = cls.result_from(series)
        try:
            value = cls.value_of(result, settings, float(s.attrs["zero_window_ps"]))
            note = None
        except TagstreamError as exc:
            value, note = None, str(exc)
        return [triples_panel(cls.kind, cls.title, cls.label, result, value, note, s)]

    # ------------------------------------------------------------------ result series
    def series(self) -> tuple[SeriesSpec, ...]:
        """The kind's series (see the module docstring)."""
        a = self.analyzer
        bins = 2 * a.window_ps // a.bin_ps
        edges = np.arange(-a.window_ps, a.window_ps + 1, a.bin_ps, dtype=np.int64)
        names = ", ".join(a.labels)
        spec = SeriesSpec(
            name=self.kind,
            description=f"{self.title}: triples of {names} per (τ1, τ2) lag bin.",
            fields={
                "counts": Column(np.int64, (bins, bins), "Triples per (τ1, τ2) bin."),
                "pair_ab": Column(np.int64, (bins,), "Pairs of the first two channels per τ1."),
                "pair_ac": Column(np.int64, (bins,), "Pairs of the first and third per τ2."),
                "n_abc": Column(np.int64, (3,), "Photons of the three channels."),
            },
            axes={"edges_ps": (edges, "Lag bin edges of both axes, ps.")},
            attrs={
                "channels": ",".join(a.labels), "bin_ps": int(a.bin_ps),
                "period_ps": period_attr(a.period_ps), "zero_window_ps": int(self.zero_window_ps),
            },
        )  # fmt: skip
        return (spec,)

    def snapshots(self, covered: tuple[int, int], live_ps: int, final: bool) -> list[Snapshot]:
        """The histograms so far (cumulative)."""
        r = self.analyzer.result()
        values = {"counts": r.counts, "pair_ab": r.pair_ab, "pair_ac": r.pair_ac,
                  "n_abc": np.array(r.n_abc, np.int64)}  # fmt: skip
        return [Snapshot(self.kind, covered, r.live_ps, values)]

    def restore(self, state: ResumeState) -> None:
        """Continue from the last snapshot."""
        last = state.snapshots.get(self.kind)
        if last is not None:
            spec = self.series()[0]
            self.analyzer.restore(self.snapshot_result(spec, last), state.coverage())

    @classmethod
    def snapshot_result(cls, spec: SeriesSpec, snapshot: Snapshot) -> TripleResult:
        """The triples a live snapshot holds."""
        return _result(spec.attrs, spec.axes["edges_ps"][0], snapshot.values, snapshot.live_ps)

    @classmethod
    def replica(cls, series: Mapping[str, RecordedSeries], channels: ChannelMap) -> Any:
        """A fresh analyzer of the recorded channels, window and bin."""
        r = cls.result_from(series)
        return TripleAnalyzer(*r.channels, window=int(r.edges_ps[-1]), bin=r.bin_ps,
                              channels=channels)  # fmt: skip

    @classmethod
    def same(cls, live: TripleResult, offline: TripleResult) -> bool:
        """The same triples, pairs, photons and live time."""
        return bool(
            np.array_equal(live.counts, offline.counts)
            and np.array_equal(live.pair_ab, offline.pair_ab)
            and np.array_equal(live.pair_ac, offline.pair_ac)
            and (live.n_abc, live.live_ps) == (offline.n_abc, offline.live_ps)
        )

    @classmethod
    def result_from(cls, series: Mapping[str, RecordedSeries], k: int = -1) -> TripleResult:
        """The triples of snapshot ``k``."""
        s = series[cls.kind]
        values = {name: s.fields[name][k] for name in FIELDS}
        return _result(s.attrs, s.axes["edges_ps"], values, int(s.live_ps[k]))


def fitted_lifetime_ps(finishing: Finishing) -> float | None:
    """The longest lifetime of the run's decay fit, ps (``None`` without one)."""
    fit = finishing.values.get("decay_fit")
    return None if fit is None else float(np.max(fit.tau_ps))


def _result(attrs: Mapping, edges: np.ndarray, values: Mapping, live_ps: int) -> TripleResult:
    return TripleResult(
        channels=tuple(str(attrs["channels"]).split(",")),
        edges_ps=np.asarray(edges),
        counts=np.asarray(values["counts"]),
        pair_ab=np.asarray(values["pair_ab"]),
        pair_ac=np.asarray(values["pair_ac"]),
        n_abc=tuple(int(v) for v in values["n_abc"]),
        live_ps=live_ps,
        period_ps=period(attrs["period_ps"]),
    )
