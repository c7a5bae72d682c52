"""The decay histogram: photon delays after the laser pulse on the lifetime channel.

Series ``lifetime``: ``counts`` per decay bin; axis ``edges_ps``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar, Self

import numpy as np

from ...errors import TagstreamError
from ...tags import ChannelMap, RunMetadata
from ...tags.units import PS_PER_NS
from ..derived import deviance_residuals
from ..formatting import value_with_error
from ..lifetime import DecayResult, LifetimeAnalyzer
from ..lifetime_choice import decay_fits
from ..measurement import Finishing, Measurement, Panel, ResumeState, register
from ..run_analyzers import lifetime_analyzer
from ..series import Column, RecordedSeries, SeriesSpec, Snapshot
from ..summary_settings import SummarySettings
from ..tables import Table, make_table, table_head, table_or_reason
from ..view_panel import ViewPanel
from ._attrs import period, period_attr
from .lifetime_view import decay_panel, displayed, live_decay_fit

SERIES = "lifetime"
#: The keys of the summary JSON's lifetime block, present (``None``) even when not computed.
KEYS = (
    "channel", "model", "tau_ns", "tau_err_ns", "amplitudes", "irf", "intensity_fractions",
    "tau_mean_ns", "jitter_ps", "reduced_deviance", "deviance", "dof", "period_ns", "divider",
    "photons",
)  # fmt: skip


@register
class LifetimeMeasurement(Measurement):
    """The decay histogram of the settings' lifetime channel."""

    kind = SERIES
    values: ClassVar[Mapping[str, Any]] = {"decay": None, "decay_fit": None, "decay_fits": {}}
    required: ClassVar[Mapping[str, str]] = {"lifetime": "decay_fit"}
    exports = ("decay",)
    finish_order = -1  # the g2 takes the fitted lifetime as a hint

    def __init__(self, analyzer, mode: str):
        super().__init__(analyzer)
        self.mode = mode

    @classmethod
    def build(
        cls, settings: SummarySettings, metadata: RunMetadata, notes: list[str]
    ) -> Self | None:
        # without decays the resolved settings have no lifetime channel, and say why
        """The decay histogram of the lifetime channel for this run, or ``None`` without one (the
        resolved settings say why)."""
        analyzer = lifetime_analyzer(settings, metadata)
        return None if analyzer is None else cls(analyzer, metadata.mode)

    # ------------------------------------------------------------------ the run summary
    def finish(self, finishing: Finishing) -> dict[str, Any]:
        """The decay histogram and its lifetime fits (the chosen one, and every one tried)."""
        decay = finishing.attempt("lifetime", self.result)
        fits = None
        if decay is not None:
            settings, irf = finishing.settings, finishing.irf_counts
            fits = finishing.attempt("lifetime", lambda: decay_fits(decay, settings, irf))
        chosen, tried = (None, {}) if fits is None else fits
        return {"decay": decay, "decay_fit": chosen, "decay_fits": tried}

    @classmethod
    def warnings(cls, values: Mapping[str, Any], metadata: RunMetadata) -> list[str]:
        """The warnings of the decay fit, prefixed ``"lifetime: "``; none without a fit."""
        fit = values.get("decay_fit")
        return [] if fit is None else [f"lifetime: {w}" for w in fit.warnings]

    @classmethod
    def blocks(cls, summary: Any) -> dict[str, dict[str, Any]]:
        """The ``"lifetime"`` block of the summary JSON: the channel, the fit's fields (``None``
        when not computed), the photons, the pulses per sync and the note."""
        block = dict.fromkeys(KEYS) | {"channel": summary.settings.lifetime_channel}
        decay, fit = summary.decay, summary.decay_fit
        if fit is not None and decay is not None:
            block |= {"channel": decay.channel, **fit.to_dict()}
            block["photons"] = int(decay.counts.sum())
            block["divider"] = decay.divider
        return {"lifetime": block | {"note": summary.note("lifetime")}}

    @classmethod
    def lines(cls, summary: Any) -> list[tuple[str, str]]:
        """The lifetime line of the text summary: channel, model, IRF and each lifetime (ns) with
        its error and amplitude share."""
        fit, decay = summary.decay_fit, summary.decay
        if fit is None or decay is None:
            return [("lifetime", "lifetime: not available")]
        taus = ", ".join(
            f"{value_with_error(t / 1e3, e / 1e3)} ns ({100 * a:.0f} %)"
            for t, e, a in zip(fit.tau_ps, fit.tau_err_ps, fit.amplitudes, strict=True)
        )
        folded = f", {decay.divider} pulses per sync" if decay.divider > 1 else ""
        line = f"lifetime ({decay.channel}, {fit.model}, IRF {fit.irf}{folded}): tau = {taus}"
        return [("lifetime", line)]

    @classmethod
    def panels(cls, summary: Any) -> list[Panel]:
        """The decay panel with its fit residuals below (slot 1) in the pulsed layout; none in the
        CW one, where the log-binned g2 takes its place."""
        from ..plots import cw_layout

        if cw_layout(summary):  # the log-binned g2 takes its place
            return []

        def draw(fig: Any, cell: Any) -> None:
            from ..plots import plot_decay

            grid = cell.subgridspec(2, 1, height_ratios=(3, 1), hspace=0.0)
            ax = fig.add_subplot(grid[0])
            residual_ax = fig.add_subplot(grid[1], sharex=ax)
            reasons = summary.notes_for("lifetime")
            plot_decay(ax, summary.decay, summary.decay_fit, residual_ax, reasons)

        return [Panel(1, draw)]

    @classmethod
    def live_status(
        cls, specs: Mapping[str, SeriesSpec], latest: Mapping[str, Snapshot], settings: Any
    ) -> str | None:
        """``"tau 1.23 ns"`` from a one-exponential fit of the last decay snapshot; ``"tau —"``
        while none can be made."""
        snapshot, spec = latest.get(SERIES), specs.get(SERIES)
        if snapshot is None or spec is None or not np.any(snapshot.values["counts"]):
            return "tau —"
        try:
            fit = cls.snapshot_result(spec, snapshot).fit("mono")
        except (TagstreamError, ValueError, FloatingPointError):
            return "tau —"
        return f"tau {fit.tau_ps[0] / 1e3:.3g} ns"

    @classmethod
    def view_panels(
        cls,
        series: Mapping[str, RecordedSeries],
        settings: Any,
        since: Mapping[str, RecordedSeries] | None = None,
    ) -> list[ViewPanel]:
        """The decay panel (log axis) with a one-exponential fit (of the photons since
        ``since``)."""
        shown = cls._shown(series, since)
        return [] if shown is None else [decay_panel(shown[0], series[SERIES], shown[1])]

    @classmethod
    def live_lifetime_ps(
        cls, series: Mapping[str, RecordedSeries], since: Mapping[str, RecordedSeries] | None = None
    ) -> float | None:
        """The longest lifetime of the live view's decay fit (of the photons since ``since``),
        ps; ``None`` while there is none."""
        shown = cls._shown(series, since)
        if shown is None or not shown[0].counts.sum():
            return None
        try:
            return float(np.max(live_decay_fit(displayed(shown[0])).tau_ps))
        except (TagstreamError, ValueError, FloatingPointError):
            return None

    @classmethod
    def _shown(
        cls, series: Mapping[str, RecordedSeries], since: Mapping[str, RecordedSeries] | None
    ) -> tuple[DecayResult, RecordedSeries | None] | None:
        """The decay of the last snapshot (of the photons since ``since``) and the earlier
        snapshot it starts after; ``None`` without a snapshot."""
        s = series.get(SERIES)
        if s is None or not len(s):
            return None
        result = cls.result_from(series)
        earlier = since.get(SERIES) if since else None
        if earlier is not None and len(earlier):
            result = replace(result, counts=result.counts - cls.result_from(since).counts)
            return result, earlier
        return result, None

    @classmethod
    def tables(cls, summary: Any) -> dict[str, Table | str]:
        """The ``"decay"`` CSV table, or the reason it is missing."""
        return table_or_reason(
            "decay", decay_table(summary, table_head(summary)), summary, "lifetime"
        )

    # ------------------------------------------------------------------ result series
    def series(self) -> tuple[SeriesSpec, ...]:
        """The ``"lifetime"`` series: photons per delay bin over the bin edges (ps), with the
        channel, the mode, the laser period (ps) and the pulses per sync."""
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
        """One snapshot of the decay histogram so far (cumulative)."""
        return [Snapshot(SERIES, covered, live_ps, {"counts": self.analyzer.result().counts})]

    def restore(self, state: ResumeState) -> None:
        """Continue from the last decay snapshot's counts."""
        last = state.snapshots.get(SERIES)
        if last is None:
            return
        counts = np.asarray(last.values["counts"], np.int64)
        self.analyzer.restore(counts[None, :], state.coverage())

    @classmethod
    def snapshot_result(cls, spec: SeriesSpec, snapshot: Snapshot) -> DecayResult:
        """The :class:`DecayResult` a live decay snapshot holds."""
        return result_of(spec.attrs, spec.axes["edges_ps"][0], snapshot.values["counts"])

    @classmethod
    def replica(
        cls, series: Mapping[str, RecordedSeries], channels: ChannelMap
    ) -> LifetimeAnalyzer:
        """A fresh :class:`LifetimeAnalyzer` of the recorded channel and bin (ps)."""
        d = cls.result_from(series)
        return LifetimeAnalyzer(d.channel, bin=round(d.bin_ps), channels=channels)

    @classmethod
    def result_from(cls, series: Mapping[str, RecordedSeries], k: int = -1) -> DecayResult:
        """The :class:`DecayResult` of snapshot ``k`` of the recorded decay series."""
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


# ---------------------------------------------------------------------- CSV export
def decay_table(summary: Any, head: str) -> Table | None:
    """The decay CSV table (delay, counts and the fitted model per bin) headed by the run, the
    channel, the binning and the fitted lifetimes or why there is no fit; ``None`` without a
    decay."""
    d, fit = summary.decay, summary.decay_fit
    if d is None:
        return None
    period = f", laser period {d.period_ps / PS_PER_NS:.6g} ns" if d.period_ps else ""
    folded = f", {d.divider} pulses per sync folded" if d.divider > 1 else ""
    comments = [f"{head}, decay of {d.channel}, bin {d.bin_ps:g} ps, {d.mode}{period}{folded}"]
    model = np.full(d.counts.size, np.nan)
    if fit is None:
        reasons = summary.notes_for("lifetime")
        comments.append(f"no fit: {reasons[0] if reasons else 'not computed'}")
    else:
        first = int(np.argmin(np.abs(d.edges_ps - fit.edges_ps[0])))
        model[first : first + fit.expected.size] = fit.expected
        taus = ", ".join(
            f"{value_with_error(t / PS_PER_NS, e / PS_PER_NS)}"
            for t, e in zip(fit.tau_ps, fit.tau_err_ps, strict=True)
        )
        amplitudes = ", ".join(f"{a:.4g}" for a in fit.amplitudes)
        comments.append(
            f"fit: {fit.model}-exponential, Poisson maximum likelihood, IRF {fit.irf}, "
            f"tau = {taus} ns, amplitudes {amplitudes}, deviance {fit.deviance:.6g} for "
            f"{fit.dof} degrees of freedom"
        )
    comments.append(
        "t_ns: bin centre, delay after the laser pulse (ns); counts: photons per bin; fit: model "
        "photons per bin (nan outside the fitted bins); residual: Poisson deviance residual "
        "sign(counts - fit) sqrt(2 [counts ln(counts / fit) - (counts - fit)]) (squares sum to "
        "the deviance)"
    )
    columns = {
        "t_ns": d.t_ps / PS_PER_NS, "counts": d.counts, "fit": model,
        "residual": deviance_residuals(d.counts, model),
    }  # fmt: skip
    return make_table("decay", comments, columns, ("counts",))
