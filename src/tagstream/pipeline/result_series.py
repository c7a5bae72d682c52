"""The result series of a run file: analyzer results as snapshots, and back.

Four series, each cumulative from the start of the run (see :mod:`tagstream.store.results`
for the common datasets):

``g2``
    ``counts``, ``expected`` (coincidences of uncorrelated light) and ``overlap_ps`` per lag
    bin, ``n_ab`` (tags on A and B); axis ``edges_ps``; g2 = counts / expected.
``lifetime``
    ``counts`` per decay bin; axis ``edges_ps``.
``trace``
    Row arrays ``counts`` (bins × channels) and ``exposure_ps`` (live time per bin), one row per
    completed bin; snapshot ``k`` holds the first ``rows[k]`` bins, starting at ``t0_ps[k]``.
``blinking``
    ``thresholds_cps`` (NaN where a state is absent), ``fractions`` (on, grey, off) and
    ``exponents`` (ON and OFF dwell-time power laws, NaN when not found) of the trace so far.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..analysis.blinking import BlinkingResult
from ..analysis.g2 import G2Analyzer, G2Result
from ..analysis.lifetime import DecayResult, LifetimeAnalyzer
from ..analysis.trace import TraceAnalyzer, TraceResult
from ..errors import TagstreamError
from ..sources.hdf5_file import open_hdf5
from ..store.results import Column, RecordedSeries, SeriesSpec, Snapshot, read_series

G2, LIFETIME, TRACE, BLINKING, ANALYSIS = "g2", "lifetime", "trace", "blinking", "analysis"
STATES = ("on", "grey", "off")


def _period_attr(period_ps: float | None) -> float:
    return float("nan") if period_ps is None else float(period_ps)


def _period(value: object) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


# ---------------------------------------------------------------------- g2
def g2_spec(analyzer: G2Analyzer) -> SeriesSpec:
    bins = int(2 * analyzer.window // analyzer.bin)
    edges = np.arange(-analyzer.window, analyzer.window + 1, analyzer.bin, dtype=np.int64)
    return SeriesSpec(
        name=G2,
        description="g2(τ) of the HBT pair: coincidences per lag bin (τ = t_B − t_A).",
        fields={
            "counts": Column(np.int64, (bins,), "Coincidences per lag bin."),
            "expected": Column(np.float64, (bins,), "Coincidences expected without correlation."),
            "overlap_ps": Column(
                np.float64, (bins,), "Live time that can hold each lag, ps (mean over the bin)."
            ),
            "n_ab": Column(np.int64, (2,), "Tags counted on A and on B."),
        },
        axes={"edges_ps": (edges, "Lag bin edges, ps.")},
        attrs={
            "channel_a": analyzer.labels[0],
            "channel_b": analyzer.labels[1],
            "bin_ps": int(analyzer.bin),
            "period_ps": _period_attr(analyzer.period_ps),
        },
    )


def g2_snapshot(result: G2Result, covered: tuple[int, int]) -> Snapshot:
    return Snapshot(
        G2,
        covered,
        result.live_ps,
        {
            "counts": result.counts,
            "expected": result.expected,
            "overlap_ps": result.overlap_ps,
            "n_ab": np.array([result.n_a, result.n_b], dtype=np.int64),
        },
    )


def g2_from(series: RecordedSeries, k: int = -1) -> G2Result:
    """The g2 result of snapshot ``k``."""
    f = series.fields
    values = {name: f[name][k] for name in ("counts", "expected", "overlap_ps", "n_ab")}
    return _g2(series.attrs, series.axes["edges_ps"], values, int(series.live_ps[k]))


def _g2(attrs, edges: np.ndarray, values, live_ps: int) -> G2Result:
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
        period_ps=_period(attrs["period_ps"]),
    )


# ---------------------------------------------------------------------- lifetime
def lifetime_spec(analyzer: LifetimeAnalyzer, mode: str) -> SeriesSpec:
    edges = analyzer.edges_ps
    return SeriesSpec(
        name=LIFETIME,
        description="Decay histogram: photon delay after the laser pulse.",
        fields={"counts": Column(np.int64, (edges.size - 1,), "Photons per delay bin.")},
        axes={"edges_ps": (edges, "Delay bin edges, ps.")},
        attrs={
            "channel": analyzer.labels[0],
            "mode": mode,
            "period_ps": _period_attr(analyzer.period_ps),
            "divider": analyzer.fold.divider,
        },
    )


def lifetime_snapshot(result: DecayResult, covered: tuple[int, int], live_ps: int) -> Snapshot:
    return Snapshot(LIFETIME, covered, live_ps, {"counts": result.counts})


def lifetime_from(series: RecordedSeries, k: int = -1) -> DecayResult:
    """The decay histogram of snapshot ``k``."""
    return _decay(series.attrs, series.axes["edges_ps"], series.fields["counts"][k])


def _decay(attrs, edges: np.ndarray, counts: np.ndarray) -> DecayResult:
    return DecayResult(
        channel=str(attrs["channel"]),
        edges_ps=edges,
        counts=np.asarray(counts),
        period_ps=_period(attrs["period_ps"]),
        mode=str(attrs["mode"]),
        divider=int(attrs.get("divider", 1)),
    )


def snapshot_result(spec: SeriesSpec, snapshot: Snapshot) -> G2Result | DecayResult:
    """The g2 or decay result a live snapshot holds (``spec``: its series)."""
    edges = spec.axes["edges_ps"][0]
    if spec.name == G2:
        return _g2(spec.attrs, edges, snapshot.values, snapshot.live_ps)
    if spec.name == LIFETIME:
        return _decay(spec.attrs, edges, snapshot.values["counts"])
    raise TagstreamError(f"no result type for series {spec.name!r}")


# ---------------------------------------------------------------------- trace
def trace_spec(analyzer: TraceAnalyzer) -> SeriesSpec:
    n = len(analyzer.labels)
    return SeriesSpec(
        name=TRACE,
        description="Intensity trace: counts per time bin and channel.",
        fields={
            "t0_ps": Column(np.int64, (), "Start of bin 0, ps."),
            "partial_counts": Column(np.int64, (n,), "Counts so far in the bin still filling."),
            "partial_exposure_ps": Column(np.int64, (), "Live time so far in that bin, ps."),
        },
        row_arrays={
            "counts": Column(np.int64, (n,), "Counts per bin (rows) and channel (columns)."),
            "exposure_ps": Column(np.int64, (), "Live time inside each bin, ps."),
        },
        attrs={"channels": ",".join(analyzer.labels), "bin_ps": int(analyzer.bin_ps)},
    )


def trace_snapshot(
    analyzer: TraceAnalyzer, first: int, last: int, covered: tuple[int, int], live_ps: int
) -> Snapshot:
    """Bins ``first`` to ``last`` as new rows, and the bin after them so far."""
    counts, exposure = analyzer.bins(first, last)
    partial_counts, partial_exposure = analyzer.bins(last, last + 1)
    n = len(analyzer.labels)
    return Snapshot(
        TRACE,
        covered,
        live_ps,
        {
            "t0_ps": analyzer.t0,
            "partial_counts": partial_counts[:, 0] if partial_exposure.size else np.zeros(n),
            "partial_exposure_ps": int(partial_exposure[0]) if partial_exposure.size else 0,
        },
        new_rows={"counts": counts.T, "exposure_ps": exposure},
    )


def trace_from(series: RecordedSeries, k: int = -1) -> TraceResult:
    """The trace as of snapshot ``k``."""
    rows = series.rows(k)
    return TraceResult(
        channels=tuple(str(series.attrs["channels"]).split(",")),
        t0_ps=int(series.fields["t0_ps"][k]),
        bin_ps=int(series.attrs["bin_ps"]),
        counts_by_channel=np.ascontiguousarray(series.row_arrays["counts"][:rows].T),
        exposure_ps=series.row_arrays["exposure_ps"][:rows],
    )


# ---------------------------------------------------------------------- blinking
def blinking_spec(bin_ps: int) -> SeriesSpec:
    return SeriesSpec(
        name=BLINKING,
        description="Blinking of the trace so far: thresholds, time fractions, power laws.",
        fields={
            "thresholds_cps": Column(np.float64, (2,), "Intensity thresholds, counts/s."),
            "fractions": Column(np.float64, (3,), "Fraction of live time ON, grey, OFF."),
            "exponents": Column(np.float64, (2,), "Power-law exponents of ON and OFF dwells."),
        },
        attrs={"bin_ps": int(bin_ps), "states": ",".join(STATES)},
    )


def blinking_snapshot(result: BlinkingResult, covered: tuple[int, int], live_ps: int) -> Snapshot:
    thresholds = np.full(2, np.nan)
    thresholds[: len(result.thresholds_cps)] = result.thresholds_cps
    exponents = [result.on_exponent, result.off_exponent]
    return Snapshot(
        BLINKING,
        covered,
        live_ps,
        {
            "thresholds_cps": thresholds,
            "fractions": np.array([result.fractions[s] for s in STATES]),
            "exponents": np.array([np.nan if e is None else e for e in exponents]),
        },
    )


# ---------------------------------------------------------------------- the analysis itself
def analysis_spec() -> SeriesSpec:
    return SeriesSpec(
        name=ANALYSIS,
        description=(
            "The live analysis: messages received, malformed and missed, and the time it lost "
            "(results exclude it; the raw tags in /photon_data hold everything)."
        ),
        fields={
            "received": Column(np.int64, (), "Valid messages received."),
            "malformed": Column(np.int64, (), "Malformed messages rejected."),
            "missed": Column(np.int64, (), "Batch messages lost (holes in the sequence)."),
            "restarts": Column(np.int64, (), "Restarts of the analysis worker."),
        },
        row_arrays={"gaps": Column(np.int64, (2,), "Time the analysis lost, [start, stop) ps.")},
    )


def analysis_snapshot(
    counters: dict[str, int], new_gaps: np.ndarray, covered: tuple[int, int], live_ps: int
) -> Snapshot:
    values = {k: int(counters[k]) for k in ("received", "malformed", "missed", "restarts")}
    gaps = np.asarray(new_gaps, dtype=np.int64).reshape(-1, 2)
    return Snapshot(ANALYSIS, covered, live_ps, values, new_rows={"gaps": gaps})


# ---------------------------------------------------------------------- reading
@dataclass(frozen=True)
class RecordedResults:
    """The result series of a run file, as far as they were committed.

    Attributes
    ----------
    path
        The file.
    series
        Every series by name (see :class:`~tagstream.store.results.RecordedSeries`).
    """

    path: Path
    series: dict[str, RecordedSeries]

    def _get(self, name: str) -> RecordedSeries:
        found = self.series.get(name)
        if found is None or not len(found):
            raise TagstreamError(f"{self.path}: no {name} snapshots")
        return found

    def g2(self, k: int = -1) -> G2Result:
        """g2 as of snapshot ``k`` (default: the last)."""
        return g2_from(self._get(G2), k)

    def lifetime(self, k: int = -1) -> DecayResult:
        """Decay histogram as of snapshot ``k``."""
        return lifetime_from(self._get(LIFETIME), k)

    def trace(self, k: int = -1) -> TraceResult:
        """Intensity trace as of snapshot ``k``."""
        return trace_from(self._get(TRACE), k)

    def blinking(self) -> RecordedSeries:
        """The blinking statistics of every snapshot."""
        return self._get(BLINKING)

    def analysis_gaps(self) -> np.ndarray:
        """Time the live analysis lost (k, 2), ps: its results exclude it."""
        series = self.series.get(ANALYSIS)
        if series is None or not len(series):
            return np.zeros((0, 2), np.int64)
        return series.row_arrays["gaps"]


def read_results(path: str | os.PathLike) -> RecordedResults:
    """The result series stored in a run file (also while it is being written)."""
    file = Path(path)
    with open_hdf5(file) as f:
        return RecordedResults(file, read_series(f, file))
