"""Change-point intensity levels of the emitter's photons and the states they fall into.

Series ``levels``: row array ``levels`` (start and end on the run's clock, live time, photons,
photons with a delay, delay sum; ps), one row per closed level, and ``decay`` (each level's
coarse decay histogram) when the run gives photon delays; fields ``rates_cps`` and ``fractions``
(each state's intensity and share of the live time, NaN where absent) of every level so far,
the last ones as they stand, and ``settled`` (the levels closed so far). A level closes when
the photons after it settle its end (see :mod:`~tagstream.analysis.levels`); the run's last
snapshot closes the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np

from ...errors import AnalysisError
from ...tags import ChannelMap, RunMetadata
from ...tags.units import PS_PER_NS, PS_PER_S
from ..blinking_method import blinking_method
from ..changepoint_null import ALPHAS
from ..formatting import gate_ns, gate_text
from ..level_result import LevelsResult
from ..level_states import MAX_STATES
from ..levels import DECAY_BINS, LEVEL_ROWS, LevelsAnalyzer
from ..measurement import Finishing, Measurement, Panel, ResumeState, register
from ..run_analyzers import gated, trace_channels
from ..series import Column, RecordedSeries, SeriesSpec, Snapshot
from ..summary_settings import SummarySettings, no_decay_reason
from ..tables import Table, make_table, table_head, table_or_reason
from ..view_panel import ViewPanel
from ._attrs import period, period_attr
from .levels_view import levels_panel

SERIES = "levels"
#: Default probability of a spurious change point per segment.
ALPHA = 0.01


@register
class LevelsMeasurement(Measurement):
    """Change-point levels (Watkins & Yang 2005) of the trace's photons."""

    kind = SERIES
    values: ClassVar[Mapping[str, Any]] = {"levels": None}
    required: ClassVar[Mapping[str, str]] = {"levels": "levels"}
    finish_order = -1  # before the trace, whose blinking analysis may take its states
    exports = ("levels",)

    def __init__(self, analyzer: Any, n_states: int | None):
        super().__init__(analyzer)
        self.n_states = n_states
        self._rows = 0  # levels stored so far
        self._done = False  # the last snapshot closed every level

    @classmethod
    def check_settings(cls, table: Mapping[str, Any]) -> None:
        """``alpha``: one of 0.05, 0.01, 0.001."""
        unknown = sorted(set(table) - {"alpha"})
        if unknown:
            raise AnalysisError(f"[analysis.levels]: unknown setting(s) {', '.join(unknown)}")
        if "alpha" in table and table["alpha"] not in ALPHAS:
            raise AnalysisError(
                f"[analysis.levels] alpha must be one of {', '.join(map(str, ALPHAS))}, "
                f"got {table['alpha']!r}"
            )

    @classmethod
    def build(
        cls, settings: SummarySettings, metadata: RunMetadata, notes: list[str]
    ) -> Self | None:
        """The levels of the trace's photons (gated as the trace), when the blinking method is
        ``levels`` or ``[analysis.levels]`` is given; ``None`` otherwise or without photons."""
        if blinking_method(settings) != "levels" and not cls.configured(settings):
            notes.append(
                "levels: not computed, the blinking method is thresholds "
                "(give [analysis.levels] to compute them too)"
            )
            return None
        detectors = trace_channels(settings, metadata)
        if detectors is None:
            return None
        analyzer = LevelsAnalyzer(
            detectors,
            channels=metadata.channels,
            alpha=float(cls.own_settings(settings).get("alpha", ALPHA)),
            decays=no_decay_reason(metadata) is None,
            delays=settings.delays,
        )
        return cls(gated(analyzer, settings, metadata), settings.n_states)

    def result(self) -> LevelsResult:
        """Every level so far, with the settings' number of states."""
        result = self.analyzer.result()
        return _with_states(result, self.n_states)

    # ------------------------------------------------------------------ the run summary
    def finish(self, finishing: Finishing) -> dict[str, Any]:
        """The levels, their states checked (a note when they cannot be grouped)."""
        levels = finishing.attempt("levels", self.result)
        if levels is not None and not levels.counts.sum():
            finishing.notes.append("levels: no photons")
            levels = None
        if levels is not None and finishing.attempt("levels", lambda: levels.fit) is None:
            levels = None
        return {"levels": levels}

    @classmethod
    def warnings(cls, values: Mapping[str, Any], metadata: RunMetadata) -> list[str]:
        """Too few levels for states that mean much."""
        levels = values.get("levels")
        if levels is not None and levels.n_levels < 10 and levels.fit.n_states > 1:
            return [f"levels: only {levels.n_levels} levels; their states are uncertain"]
        return []

    @classmethod
    def blocks(cls, summary: Any) -> dict[str, dict[str, Any]]:
        """The ``"levels"`` block: levels, switches, states (intensity, share of the time, dwell
        times, mean photon delay) and the ON / grey / OFF fractions."""
        gate = gate_ns(summary.settings.gate)
        block = levels_block(summary.levels) | {"gate_ns": gate}
        return {"levels": block | {"note": summary.note("levels")}}

    @classmethod
    def lines(cls, summary: Any) -> list[tuple[str, str]]:
        """``levels (alpha 0.01): 412 levels, 3 states: off 520 cps 0.28, ...``."""
        lv = summary.levels
        if lv is None:
            return [("levels", "levels: not available")]
        states = ", ".join(
            f"{name} {rate:.4g} cps {share:.3f}"
            for name, rate, share in zip(
                lv.state_names, lv.fit.rates_cps, lv.state_fractions, strict=True
            )
        )
        return [
            (
                "levels",
                f"levels (change points, alpha {lv.alpha:g}{gate_text(summary.settings.gate)}): "
                f"{lv.n_levels} levels, {lv.fit.n_states} state(s) (intensity, share of the "
                f"time): {states}",
            )
        ]

    @classmethod
    def panels(cls, summary: Any) -> list[Panel]:
        """The levels over the trace (slot 4)."""

        def draw(fig: Any, cell: Any) -> None:
            from ..plots_levels import plot_levels

            ax = fig.add_subplot(cell)
            plot_levels(ax, summary.levels, summary.trace, summary.notes_for("levels"))

        return [Panel(4, draw)]

    @classmethod
    def live_status(
        cls, specs: Mapping[str, SeriesSpec], latest: Mapping[str, Snapshot], settings: Any
    ) -> str | None:
        """``"ON 0.72 (levels)"`` from the last snapshot."""
        snapshot = latest.get(SERIES)
        if snapshot is None:
            return "ON — (levels)"
        on = float(snapshot.values["fractions"][0])
        return f"ON {on:.2f} (levels)" if np.isfinite(on) else "ON — (levels)"

    @classmethod
    def view_panels(
        cls,
        series: Mapping[str, RecordedSeries],
        settings: Any,
        since: Mapping[str, RecordedSeries] | None = None,
    ) -> list[ViewPanel]:
        """The levels so far (see :func:`.levels_view.levels_panel`)."""
        s = series.get(SERIES)
        if s is None or not len(s):
            return []
        return [levels_panel(cls.result_from(series), s, since)]

    @classmethod
    def tables(cls, summary: Any) -> dict[str, Table | str]:
        """The ``"levels"`` CSV table, or the reason it is missing."""
        table = levels_table(summary.levels, table_head(summary))
        return table_or_reason("levels", table, summary, "levels")

    # ------------------------------------------------------------------ result series
    def series(self) -> tuple[SeriesSpec, ...]:
        """The ``"levels"`` series (see the module docstring)."""
        a = self.analyzer
        rows = {"levels": Column(np.int64, (len(LEVEL_ROWS),), "Per level: "
                                 + ", ".join(LEVEL_ROWS) + ".")}  # fmt: skip
        if a.decays:
            rows["decay"] = Column(np.int64, (DECAY_BINS,), "Decay histogram of each level.")
        spec = SeriesSpec(
            name=SERIES,
            description="Change-point intensity levels and their states.",
            fields={
                "rates_cps": Column(np.float64, (MAX_STATES,), "Intensity of each state."),
                "fractions": Column(np.float64, (3,), "Share of the live time ON, grey, OFF."),
                "settled": Column(np.int64, (), "Levels closed so far (they change no more)."),
            },
            row_arrays=rows,
            attrs={
                "channels": ",".join(a.labels),
                "alpha": a.alpha,
                "period_ps": period_attr(a.period_ps),
            },
        )
        return (spec,)

    def snapshots(self, covered: tuple[int, int], live_ps: int, final: bool) -> list[Snapshot]:
        """The levels closed since the last snapshot (with ``final`` every level left), and the
        states of every level so far."""
        a = self.analyzer
        if a.t_begin is None or self._done:
            return []
        rows, decay = a.closed(self._rows)
        self._rows += rows.shape[1]
        levels = self.result()
        if final:
            more, more_decay = a.pending()
            rows = np.concatenate([rows, more], axis=1)
            decay = None if decay is None else np.concatenate([decay, more_decay], axis=1)
            self._done = True
        new = {"levels": rows.T} | ({} if decay is None else {"decay": decay.T})
        values = state_values(levels) | {"settled": np.int64(self._rows)}
        return [Snapshot(SERIES, covered, live_ps, values, new_rows=new)]

    def pending(self, covered: tuple[int, int], live_ps: int) -> list[Snapshot]:
        """The levels not yet closed."""
        return [] if self._done else self.snapshots(covered, live_ps, final=True)

    def restore(self, state: ResumeState) -> None:
        """Continue from the stored levels; a new level starts at the resume time."""
        last = state.snapshots.get(SERIES)
        if last is None:
            return
        rows = np.asarray(last.new_rows["levels"], np.int64).T
        decay = last.new_rows.get("decay")
        self._rows = rows.shape[1]
        self.analyzer.restore(rows, None if decay is None else np.asarray(decay).T, state)

    @classmethod
    def replica(cls, series: Mapping[str, RecordedSeries], channels: ChannelMap) -> Any:
        """A fresh analyzer of the recorded channels and alpha."""
        s = series[SERIES]
        return LevelsAnalyzer(
            str(s.attrs["channels"]).split(","), channels=channels, alpha=float(s.attrs["alpha"]),
            decays="decay" in s.row_arrays,
        )  # fmt: skip

    @classmethod
    def same(cls, live: LevelsResult, offline: LevelsResult) -> bool:
        """Whether both hold the same levels: the same settled ones and, when the live series
        ended with the levels still open (the run's last snapshot), those too."""
        n = live.n_levels
        if live.settled != offline.settled or n not in (offline.settled, offline.n_levels):
            return False
        return all(
            np.array_equal(getattr(live, k), getattr(offline, k)[:n])
            for k in ("starts_ps", "ends_ps", "live_ps", "counts", "timed", "delay_sum_ps")
        )

    @classmethod
    def result_from(cls, series: Mapping[str, RecordedSeries], k: int = -1) -> LevelsResult:
        """The levels stored up to snapshot ``k``."""
        s = series[SERIES]
        n = s.rows(k)
        table = s.row_arrays["levels"][:n].T
        decay = s.row_arrays["decay"][:n].T if "decay" in s.row_arrays else None
        begin = int(table[0, 0]) if n else int(s.covered_ps[k][0])
        return LevelsResult.from_table(
            table, decay, begin, int(s.covered_ps[k][1]), str(s.attrs["channels"]).split(","),
            float(s.attrs["alpha"]), period(s.attrs["period_ps"]),
            settled=int(s.fields["settled"][k]),
        )  # fmt: skip


def _with_states(levels: LevelsResult, n_states: int | None) -> LevelsResult:
    from dataclasses import replace

    return levels if n_states is None else replace(levels, n_states=n_states)


def state_values(levels: LevelsResult) -> dict[str, np.ndarray]:
    """The snapshot's fields: each state's intensity and the ON / grey / OFF shares (NaN when
    the levels cannot be grouped yet)."""
    rates = np.full(MAX_STATES, np.nan)
    fractions = np.full(3, np.nan)
    try:
        fit = levels.fit
    except AnalysisError:
        return {"rates_cps": rates, "fractions": fractions}
    rates[: fit.n_states] = fit.rates_cps
    fr = levels.fractions
    fractions[:] = [fr["on"], fr["grey"], fr["off"]]
    return {"rates_cps": rates, "fractions": fractions}


def levels_block(levels: LevelsResult | None) -> dict[str, Any]:
    """The summary JSON's ``"levels"`` block (keys present, ``None`` without levels)."""
    keys = ("channels", "alpha", "n_levels", "n_switches", "n_states", "states", "fractions")
    if levels is None:
        return dict.fromkeys(keys)
    dwells = levels.dwells()
    delays = levels.state_mean_delay_ps()
    states = [
        {
            "name": name,
            "rate_cps": float(rate),
            "fraction": float(share),
            "dwells": int(dwells[name].size),
            "mean_dwell_s": float(dwells[name].mean() / PS_PER_S) if dwells[name].size else None,
            "mean_delay_ns": float(delay / PS_PER_NS) if np.isfinite(delay) else None,
        }
        for name, rate, share, delay in zip(
            levels.state_names, levels.fit.rates_cps, levels.state_fractions, delays, strict=True
        )
    ]
    return {
        "channels": list(levels.channels), "alpha": levels.alpha, "n_levels": levels.n_levels,
        "n_switches": int(np.count_nonzero(np.diff(levels.state[levels.state >= 0]))),
        "n_states": len(states),
        "states": states, "fractions": levels.fractions,
    }  # fmt: skip


def levels_table(levels: LevelsResult | None, head: str) -> Table | None:
    """One row per level: start, end and live time (s), photons, intensity (counts/s), state and
    mean photon delay (ns)."""
    if levels is None:
        return None
    comments = [
        f"{head}, change-point levels of {'+'.join(levels.channels)} (alpha {levels.alpha:g})",
        "start_s, end_s: the level on the run's clock (s); live_s: its live time (s); counts: "
        "its photons (without those at its change points); rate_cps: counts / live time; "
        f"state: 0..{levels.fit.n_states - 1} = {', '.join(levels.state_names)}; "
        "mean_delay_ns: mean photon delay after the laser pulse (nan without one)",
    ]
    columns = {
        "start_s": levels.starts_ps / PS_PER_S, "end_s": levels.ends_ps / PS_PER_S,
        "live_s": levels.live_ps / PS_PER_S, "counts": levels.counts,
        "rate_cps": levels.rate_cps, "state": levels.state,
        "mean_delay_ns": levels.mean_delay_ps / PS_PER_NS,
    }  # fmt: skip
    return make_table("levels", comments, columns, ("counts", "state"))
