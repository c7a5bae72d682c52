"""The change-point levels of a run and the intensity states they fall into."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..errors import AnalysisError
from ..tags.units import PS_PER_S
from .level_states import StateFit, fit_states


def state_names(n_states: int) -> tuple[str, ...]:
    """Names of ``n_states`` states by increasing intensity: ``("off", "on")``, ``("off",
    "grey", "on")``, ``("off", "grey 1", "grey 2", "on")``; one state is ``("on",)``."""
    if n_states == 1:
        return ("on",)
    if n_states == 2:
        return ("off", "on")
    if n_states == 3:
        return ("off", "grey", "on")
    return ("off", *(f"grey {k}" for k in range(1, n_states - 1)), "on")


def blinking_state(name: str) -> str:
    """The ON / grey / OFF class of a state name (``"grey 2"`` is grey)."""
    return "grey" if name.startswith("grey") else name


@dataclass(frozen=True, eq=False)
class LevelsResult:
    """Change-point levels (:class:`~tagstream.analysis.levels.LevelsAnalyzer`).

    Attributes
    ----------
    channels
        Names of the channels whose photons made the levels.
    t_begin_ps, t_end_ps
        The run's data, ps.
    alpha
        Probability of a spurious change point per segment without one.
    starts_ps, ends_ps
        Each level on the run's clock, ps: the first starts at ``t_begin_ps``, the last ends at
        ``t_end_ps``, each other starts where the one before it ends (at the photon that marks
        the change), except where a live analysis was restored after lost time: the levels it
        had not settled are lost with it, and a new level starts where it took up.
    live_ps
        Live time of each level, ps (less than its span where data were lost inside it).
    counts, timed, delay_sum_ps
        Photons of each level (without the photons at its change points), those with a delay
        after the laser pulse, and the sum of their delays (ps).
    decay
        Coarse decay histogram of each level (levels × bins over the laser period), or None.
    period_ps
        The laser period the decays span, ps (None without decays).
    n_states
        The number of states to group the levels into (None: by the information criterion).
    settled
        How many of the first levels the photons after them have settled (they change no more;
        the rest may still move or merge as photons come); None: all.
    """

    channels: tuple[str, ...]
    t_begin_ps: int
    t_end_ps: int
    alpha: float
    starts_ps: np.ndarray
    ends_ps: np.ndarray
    live_ps: np.ndarray
    counts: np.ndarray
    timed: np.ndarray
    delay_sum_ps: np.ndarray
    decay: np.ndarray | None = field(repr=False)
    period_ps: float | None
    n_states: int | None = None
    settled: int | None = None

    @classmethod
    def from_table(
        cls, table, decay, t_begin, t_end, channels, alpha, period_ps, n_states=None, settled=None
    ) -> LevelsResult:
        """From a level table (rows :data:`~.levels.LEVEL_ROWS`, one column per level) and the
        decay histograms (bins × levels, or None)."""
        table = np.asarray(table, np.int64).reshape(6, -1)
        return cls(
            tuple(channels), int(t_begin), int(t_end), float(alpha), *table,
            None if decay is None else np.asarray(decay).T, period_ps, n_states, settled,
        )  # fmt: skip

    # ------------------------------------------------------------------ levels
    @property
    def n_levels(self) -> int:
        """Number of levels."""
        return int(self.counts.size)

    @property
    def rate_cps(self) -> np.ndarray:
        """Intensity of each level, counts/s (NaN without live time)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.live_ps > 0, self.counts * PS_PER_S / self.live_ps, np.nan)

    @property
    def mean_delay_ps(self) -> np.ndarray:
        """Mean photon delay after the laser pulse of each level, ps (NaN without one)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.timed > 0, self.delay_sum_ps / self.timed, np.nan)

    @property
    def switch_times_ps(self) -> np.ndarray:
        """The change points on the run's clock, ps (the starts of every level but the first)."""
        return self.starts_ps[1:]

    # ------------------------------------------------------------------ states
    @cached_property
    def fit(self) -> StateFit:
        """The intensity states of the levels (:func:`~.level_states.fit_states`).

        Raises
        ------
        AnalysisError
            No levels with live time.
        """
        return fit_states(self.counts, self.live_ps / PS_PER_S, self.n_states)

    @property
    def state_names(self) -> tuple[str, ...]:
        """The states' names by increasing intensity (:func:`state_names`)."""
        return state_names(self.fit.n_states)

    @property
    def state(self) -> np.ndarray:
        """State of each level (index into :attr:`state_names`; -1 without live time)."""
        return self.fit.state

    @property
    def state_fractions(self) -> np.ndarray:
        """Share of the live time in each state."""
        live = self.live_ps.astype(float)
        total = live.sum()
        return np.array([live[self.state == s].sum() / total for s in range(self.fit.n_states)])

    @property
    def fractions(self) -> dict[str, float]:
        """``{"on", "grey", "off"}``: share of the live time in each class of state."""
        out = dict.fromkeys(("on", "grey", "off"), 0.0)
        for name, f in zip(self.state_names, self.state_fractions, strict=True):
            out[blinking_state(name)] += float(f)
        return out

    def dwells(self) -> dict[str, np.ndarray]:
        """Complete dwell times of each state, ps (live time): runs of consecutive levels in one
        state, without the first and the last (cut by the run) and those data were lost in."""
        out: dict[str, list] = {name: [] for name in self.state_names}
        state = self.state
        if state.size < 3:
            return {k: np.zeros(0, np.int64) for k in out}
        edges = np.flatnonzero(np.diff(state)) + 1
        first = np.concatenate([[0], edges])
        stop = np.concatenate([edges, [state.size]])
        live = np.add.reduceat(self.live_ps, first)
        span = self.ends_ps[stop - 1] - self.starts_ps[first]
        run_state = state[first]
        for k in range(1, first.size - 1):
            whole = live[k] == span[k] and min(run_state[k - 1], run_state[k + 1]) >= 0
            if run_state[k] >= 0 and whole:
                out[self.state_names[run_state[k]]].append(live[k])
        return {k: np.array(v, np.int64) for k, v in out.items()}

    def state_decays(self) -> np.ndarray:
        """Coarse decay histogram of each state (states × bins over the laser period).

        Raises
        ------
        AnalysisError
            The run gives no photon delays.
        """
        if self.decay is None:
            raise AnalysisError("the run gives no photon delays (no sync): no decays of levels")
        out = np.zeros((self.fit.n_states, self.decay.shape[1]), np.int64)
        for s in range(self.fit.n_states):
            out[s] = self.decay[self.state == s].sum(axis=0)
        return out

    def state_mean_delay_ps(self) -> np.ndarray:
        """Mean photon delay after the laser pulse in each state, ps (NaN without one)."""
        out = np.full(self.fit.n_states, np.nan)
        for s in range(self.fit.n_states):
            timed = self.timed[self.state == s].sum()
            if timed:
                out[s] = self.delay_sum_ps[self.state == s].sum() / timed
        return out

    def __repr__(self) -> str:
        """One line: levels, states and their shares of the time."""
        try:
            shares = ", ".join(
                f"{n} {r:.4g} cps {f:.2f}"
                for n, r, f in zip(
                    self.state_names, self.fit.rates_cps, self.state_fractions, strict=True
                )
            )
        except AnalysisError as exc:
            shares = str(exc)
        return f"LevelsResult({self.n_levels} levels of {'+'.join(self.channels)}: {shares})"
