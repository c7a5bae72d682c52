"""The HBT g2: coincidences of the pair per lag bin.

Series ``g2``: ``counts``, ``expected`` (coincidences of uncorrelated light) and
``overlap_ps`` per lag bin, ``n_ab`` (tags on A and B); axis ``edges_ps``; g2 = counts /
expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np

from ...errors import AnalysisError, TagstreamError
from ...tags import ChannelMap, RunMetadata
from ...tags.units import PS_PER_NS, PS_PER_S
from ..derived import adjacent_peak_height
from ..formatting import gate_ns, gate_text, value_with_error
from ..g2 import G2Analyzer, G2Result
from ..g2_fits import CWG2Fit, find_period
from ..g2_zero import G2Zero, estimate_g2_zero
from ..measurement import Finishing, Measurement, Panel, ResumeState, kind, register
from ..poisson_fit import poisson_deviance
from ..run_analyzers import g2_analyzer
from ..series import Column, RecordedSeries, SeriesSpec, Snapshot
from ..summary_settings import SummarySettings
from ..tables import Table, make_table, table_head, table_or_reason
from ..view_panel import ViewPanel
from .g2_view import g2_between, g2_panel
from .pair_series import pair_result, pair_snapshot, pair_spec, restore_pair, result_of, same_pair

SERIES = "g2"


def gate_shares(analyzer: Any) -> dict[str, float | None] | None:
    """Each pair channel's share of photons inside the nanotime gate (None without a gate)."""
    gate = getattr(analyzer, "gate", None)
    if gate is None:
        return None
    numbers = (analyzer.a, analyzer.b)
    return {label: gate.share(n) for label, n in zip(analyzer.labels, numbers, strict=True)}


def _gate_fields(analyzer: Any) -> dict[str, Column]:
    """The g2 series' field of a gated pair: its photons before the gate (``n_ab`` holds those
    kept)."""
    if getattr(analyzer, "gate", None) is None:
        return {}
    return {"gate_seen_ab": Column(np.int64, (2,), "Tags on A and on B before the gate.")}


def _percent(kept: Any, seen: Any) -> str:
    """``"62 %, 60 %"``: kept of seen, per channel (``—`` before any)."""
    return ", ".join(f"{100 * k / n:.0f} %" if n else "—" for k, n in zip(kept, seen, strict=True))


def share_text(shares: Mapping[str, float | None] | None) -> str:
    """``"; the gate keeps 62 % of A, 60 % of B"`` (nothing without a gate)."""
    if not shares:
        return ""
    kept = [f"{100 * v:.0f} % of {k}" for k, v in shares.items() if v is not None]
    return "; the gate keeps " + ", ".join(kept) if kept else ""


#: The keys of the summary JSON's g2 block, present (``None``) even when it is not computed.
KEYS = (
    "pair", "excitation", "period_ns", "g2_zero", "g2_zero_err", "rate_per_ns", "method",
    "zero_delay_ns", "jitter_ps", "gate_ns", "gate_share",
)  # fmt: skip
#: A CW antibunching dip must lower the Poisson deviance by this much against a flat g2 (the
#: fit may place the dip anywhere in the window, so noise offers many places to choose from).
MIN_DIP_DEVIANCE_DROP = 25.0


@register
class G2Measurement(Measurement):
    """g2(τ) of the settings' HBT pair (τ = t_B − t_A)."""

    kind = SERIES
    values: ClassVar[Mapping[str, Any]] = {"g2": None, "g2_zero": None, "g2_gate_share": None}
    required: ClassVar[Mapping[str, str]] = {"g2": "g2_zero"}
    exports = ("g2",)

    @classmethod
    def build(
        cls, settings: SummarySettings, metadata: RunMetadata, notes: list[str]
    ) -> Self | None:
        """The linear g2 of the HBT pair for this run, or ``None`` when the settings resolve no
        pair."""
        analyzer = g2_analyzer(settings, metadata)
        return None if analyzer is None else cls(analyzer)

    # ------------------------------------------------------------------ the run summary
    def finish(self, finishing: Finishing) -> dict[str, Any]:
        """The histogram and its g2(0); the fitted lifetime, when there is one, guides the
        choice of the pulsed method."""
        g2 = finishing.attempt("g2", self.result)
        zero = None
        if g2 is not None:
            fit = finishing.values.get("decay_fit")
            hint = float(np.max(fit.tau_ps)) if fit is not None else None
            zero = finishing.attempt("g2", lambda: g2_zero(g2, finishing.settings, hint))
        return {"g2": g2, "g2_zero": zero, "g2_gate_share": gate_shares(self.analyzer)}

    @classmethod
    def warnings(cls, values: Mapping[str, Any], metadata: RunMetadata) -> list[str]:
        """The warnings of the g2(0) estimate and of the lag range, prefixed ``"g2: "``; none
        without a g2(0)."""
        zero = values.get("g2_zero")
        if zero is None:
            return []
        return [f"g2: {w}" for w in (*zero.detail.warnings, *range_warnings(metadata))]

    @classmethod
    def blocks(cls, summary: Any) -> dict[str, dict[str, Any]]:
        """The ``"g2"`` block of the summary JSON: the pair, the g2(0) fields (``None`` when not
        computed), the gate (ns) and the note."""
        pair = summary.settings.g2_pair
        block = dict.fromkeys(KEYS) | {"pair": None if pair is None else list(pair)}
        if summary.g2_zero is not None:
            block |= summary.g2_zero.to_dict()
        gate = gate_ns(summary.settings.gate)
        share = summary.g2_gate_share
        return {"g2": block | {"gate_ns": gate, "gate_share": share, "note": summary.note("g2")}}

    @classmethod
    def lines(cls, summary: Any) -> list[tuple[str, str]]:
        """The g2 line of the text summary: g2(0) with its error, excitation, method, pair, gate,
        purity, and the laser period (ns) or the dip rate (per ns)."""
        z = summary.g2_zero
        if z is None:
            return [("g2", "g2(0): not available")]
        pair = "x".join(z.pair)
        head = (
            f"g2(0) = {value_with_error(z.value, z.error)} ({z.excitation}, {z.method}; "
            f"{pair}{gate_text(summary.settings.gate)}{share_text(summary.g2_gate_share)})"
        )
        if z.excitation == "pulsed":
            tail = f"period {z.period_ps / 1e3:.4g} ns"
        else:
            tail = f"k = {z.rate_per_ns:.3g}/ns (effective: radiative + pump)"
        return [("g2", f"{head}, purity {z.purity:.3f}, {tail}")]

    @classmethod
    def panels(cls, summary: Any) -> list[Panel]:
        """The g2(τ) panel (slot 0) with its g2(0) and notes."""

        def draw(fig: Any, cell: Any) -> None:
            from ..plots import plot_g2

            caption = gate_text(summary.settings.gate) + share_text(summary.g2_gate_share)
            plot_g2(fig.add_subplot(cell), summary.g2, summary.g2_zero, summary.notes_for("g2"),
                    caption[2:])  # fmt: skip

        return [Panel(0, draw)]

    @classmethod
    def live_status(
        cls, specs: Mapping[str, SeriesSpec], latest: Mapping[str, Snapshot], settings: Any
    ) -> str | None:
        """``"g2(0) value ± error"`` from the last g2 snapshot; ``"g2(0) —"`` while none can be
        computed."""
        snapshot, spec = latest.get(SERIES), specs.get(SERIES)
        if snapshot is None or spec is None:
            return "g2(0) —"
        try:
            result = cls.snapshot_result(spec, snapshot)
            zero = result.g2_zero(excitation=settings.excitation)
        except (TagstreamError, ValueError, FloatingPointError):
            return "g2(0) —"
        seen = snapshot.values.get("gate_seen_ab")
        kept = "" if seen is None else f" (gate keeps {_percent(snapshot.values['n_ab'], seen)})"
        return f"g2(0) {value_with_error(zero.value, zero.error)}{kept}"

    @classmethod
    def view_panels(
        cls,
        series: Mapping[str, RecordedSeries],
        settings: Any,
        since: Mapping[str, RecordedSeries] | None = None,
    ) -> list[ViewPanel]:
        """The g2(τ) panel with g2(0) ± σ and the peak windows or the fit (of the coincidences
        since ``since``, normalised to that stretch); the method as in the run summary, guided
        by the live decay's lifetime."""
        s = series.get(SERIES)
        if s is None or not len(s):
            return []
        result = cls.result_from(series)
        earlier = since.get(SERIES) if since else None
        if earlier is not None and len(earlier):
            result = g2_between(result, cls.result_from(since))
        # as in the run summary, the decay's lifetime tells whether window sums can be trusted
        # (the decay fit is made once per snapshot, for whichever panel comes first)
        try:
            lifetime_ps = kind("lifetime").live_lifetime_ps(series, since)
        except TagstreamError:  # no such kind loaded
            lifetime_ps = None
        published = float(s.wall_time_s[-1])
        decay = series.get("lifetime")
        if lifetime_ps is not None and decay is not None and len(decay):
            published = max(published, float(decay.wall_time_s[-1]))
        return [g2_panel(result, s, settings, earlier, lifetime_ps, published)]

    @classmethod
    def tables(cls, summary: Any) -> dict[str, Table | str]:
        """The ``"g2"`` CSV table, or the reason it is missing."""
        return table_or_reason("g2", g2_table(summary, table_head(summary)), summary, "g2")

    # ------------------------------------------------------------------ result series
    def series(self) -> tuple[SeriesSpec, ...]:
        """The ``"g2"`` series: coincidences, expected coincidences and live time (ps) per lag bin,
        and the photons of both channels, over the lag bin edges (ps)."""
        description = "g2(τ) of the HBT pair: coincidences per lag bin (τ = t_B − t_A)."
        return (pair_spec(SERIES, description, self.analyzer, _gate_fields(self.analyzer)),)

    def snapshots(self, covered: tuple[int, int], live_ps: int, final: bool) -> list[Snapshot]:
        """One snapshot of the g2 histogram so far (the whole histogram, cumulative)."""
        a = self.analyzer
        extra = {}
        if getattr(a, "gate", None) is not None:
            extra["gate_seen_ab"] = a.gate.seen_by_channel[[a.a, a.b]].copy()
        return [pair_snapshot(SERIES, a.result(), covered, **extra)]

    def restore(self, state: ResumeState) -> None:
        """Continue from the last g2 snapshot's coincidences and photon counts."""
        last = restore_pair(SERIES, self.analyzer, state)
        gate = getattr(self.analyzer, "gate", None)
        if last is not None and gate is not None and "gate_seen_ab" in last.values:
            numbers = [self.analyzer.a, self.analyzer.b]
            gate.seen_by_channel[numbers] = np.asarray(last.values["gate_seen_ab"], np.int64)
            gate.kept_by_channel[numbers] = np.asarray(last.values["n_ab"], np.int64)

    @classmethod
    def snapshot_result(cls, spec: SeriesSpec, snapshot: Snapshot) -> G2Result:
        """The :class:`G2Result` a live g2 snapshot holds."""
        return result_of(spec.attrs, spec.axes["edges_ps"][0], snapshot.values, snapshot.live_ps)

    @classmethod
    def replica(cls, series: Mapping[str, RecordedSeries], channels: ChannelMap) -> G2Analyzer:
        """A fresh :class:`G2Analyzer` with the recorded pair, window and bin (ps)."""
        g = cls.result_from(series)
        return G2Analyzer(*g.channels, window=int(g.edges_ps[-1]), bin=g.bin_ps, channels=channels)

    @classmethod
    def same(cls, live: G2Result, offline: G2Result) -> bool:
        """Whether both results hold the same coincidences, photon counts and live time."""
        return same_pair(live, offline)

    @classmethod
    def result_from(cls, series: Mapping[str, RecordedSeries], k: int = -1) -> G2Result:
        """The :class:`G2Result` of snapshot ``k`` of the recorded g2 series."""
        return pair_result(series, SERIES, k)


# ---------------------------------------------------------------------- g2(0) of the summary
def excitation(result: G2Result, requested: str) -> str:
    """``requested``, or for "auto": pulsed when the period is known or peaks are found."""
    if requested != "auto":
        return requested
    if result.period_ps is not None:
        return "pulsed"
    try:
        find_period(result.edges_ps, result.counts)
    except AnalysisError:
        return "cw"
    return "pulsed"


def g2_zero(result: G2Result, settings: SummarySettings, lifetime_ps: float | None) -> G2Zero:
    """g2(0) of the HBT histogram; the fitted lifetime (ps) guides the pulsed method choice.

    Raises
    ------
    AnalysisError
        A detector without photons, or neither pulsed peaks nor a significant CW dip.
    """
    for label, n in zip(result.channels, (result.n_a, result.n_b), strict=True):
        if n == 0:
            raise AnalysisError(f"no photons on detector {label}")
    if excitation(result, settings.excitation) == "pulsed":
        return estimate_g2_zero(
            result,
            "pulsed",
            method=settings.g2_method,
            lifetime_ps=lifetime_ps,
            search_zero_peak=not settings.delays,
        )
    jitter = settings.cw_jitter
    try:
        zero = estimate_g2_zero(result, "cw", jitter_ps=None if jitter == "none" else jitter)
    except AnalysisError as exc:
        raise AnalysisError(f"no pulsed peaks, and the CW antibunching fit failed: {exc}") from exc
    drop = dip_deviance_drop(result, zero.detail)
    if not (zero.value < 1.0 and drop > MIN_DIP_DEVIANCE_DROP):
        raise AnalysisError(
            f"no pulsed peaks and no significant antibunching dip (CW fit: g2(0) = "
            f"{zero.value:.3g} ± {zero.error:.2g}, deviance {drop:.3g} below a flat g2, "
            f"needs {MIN_DIP_DEVIANCE_DROP:g})"
        )
    return zero


def dip_deviance_drop(result: G2Result, fit: CWG2Fit) -> float:
    """How much the CW dip model lowers the Poisson deviance against a flat g2."""
    flat = result.expected * (result.counts.sum() / result.expected.sum())
    return poisson_deviance(result.counts, flat) - fit.deviance


def range_warnings(metadata: RunMetadata) -> list[str]:
    """A T3 unit that records delays over less than the sync period loses the later photons of
    each sync period: the photon stream is cut periodically, which distorts the g2 peaks."""
    reach, sync = metadata.nanotime_range_ps, metadata.sync_period_ps
    if metadata.mode != "T3" or not reach or not sync or reach >= sync * (1 - 1e-6):
        return []
    return [
        f"the unit records delays only up to {reach / 1e3:.4g} ns of the {sync / 1e3:.4g} ns "
        "sync period: photons arriving later are lost, which distorts the g2 peaks and may "
        "bias g2(0); widen the TCSPC range (a coarser resolution) or record in T2"
    ]


# ---------------------------------------------------------------------- CSV export
def g2_table(summary: Any, head: str) -> Table | None:
    """The g2(τ) CSV table (lag in ns, coincidences, expected, g2 and its error) headed by the run,
    the pair, the binning and the g2(0) line; ``None`` without a g2."""
    g, z = summary.g2, summary.g2_zero
    if g is None:
        return None
    pair = "-".join(g.channels)
    comments = [
        f"{head}, g2 pair {pair}, bin {g.bin_ps / PS_PER_NS:g} ns, window "
        f"±{g.edges_ps[-1] / PS_PER_NS:g} ns, {g.n_a} and {g.n_b} photons, "
        f"{g.live_ps / PS_PER_S:.6g} s live",
        g2_zero_line(summary),
        f"tau_ns: delay t_{g.channels[1]} - t_{g.channels[0]} at the bin centre (ns); counts: "
        "coincidences per bin; expected: coincidences per bin for uncorrelated light; "
        "g2: counts / expected; g2_err: its one-sigma uncertainty",
    ]
    columns = {
        "tau_ns": g.tau_ps / PS_PER_NS, "counts": g.counts, "expected": g.expected, "g2": g.g2,
        "g2_err": g.g2_err,
    }  # fmt: skip
    height = adjacent_peak_height(g, z) if z is not None else None
    if height is not None:
        comments.append(
            "g2_adjacent: counts / the height of the mean adjacent peak (side peaks normalised "
            f"to 1): the peaks at +-{z.period_ps / PS_PER_NS:g} ns from the zero-delay position "
            "averaged bin by bin, smoothed by a running mean, maximum "
            f"{height:.6g} coincidences per bin; the zero-delay peak's maximum is then near "
            "g2(0) for peaks of one shape, while g2(0) above is the ratio of the peak areas"
        )
        columns["g2_adjacent"] = g.counts / height
    return make_table("g2", comments, columns, ("counts",))


def g2_zero_line(summary: Any) -> str:
    """The g2(0) comment line of the CSV tables: value, error, excitation, method and the period
    (ns) or dip rate (per ns), or why it is not available."""
    z = summary.g2_zero
    if z is None:
        reasons = summary.notes_for("g2")
        return f"g2(0) not available: {reasons[0] if reasons else 'not computed'}"
    tail = (
        f"period {z.period_ps / PS_PER_NS:.6g} ns" if z.excitation == "pulsed"
        else f"k = {z.rate_per_ns:.4g}/ns"
    )  # fmt: skip
    return f"g2(0) = {value_with_error(z.value, z.error)} ({z.excitation}, {z.method}), {tail}"
