"""Streaming log-binned (multi-tau) g2(τ) from about a nanosecond to tens of seconds."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import AnalysisError
from ..kernels import count_roles, role_table
from ..kernels.multitau import UNSET
from ..tags import ChannelMap, TagBatch, format_time, parse_time
from .channels import channel_label, resolve_many
from .multitau_threads import MultitauThreads
from .normalization import g2_uncertainty, multitau_expected
from .parallel import default_threads
from .stream import Coverage


@dataclass(frozen=True)
class LogG2Result:
    """A multi-tau g2 at positive lags.

    Lag ``tau_ps[i]`` is ``m * dt`` for cell width ``dt`` of its level: the bin counts pairs whose
    arrival *cells* differ by ``m``, so it spans lags from ``(m - 1) dt`` to ``(m + 1) dt`` with a
    triangular weight. ``counts_ab`` holds pairs with B after A, ``counts_ba`` with A after B;
    :attr:`g2` averages both directions.
    """

    channels: tuple[str, str]
    tau_ps: np.ndarray
    cell_ps: np.ndarray
    counts_ab: np.ndarray
    counts_ba: np.ndarray
    expected: np.ndarray = field(repr=False)
    overlap_ps: np.ndarray = field(repr=False)
    n_a: int
    n_b: int
    live_ps: int
    auto: bool = False

    @property
    def tau_s(self) -> np.ndarray:
        """Lags, s."""
        return self.tau_ps * 1e-12

    def _ratio(self, counts: np.ndarray, scale: float = 1.0) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.expected > 0, counts / (scale * self.expected), np.nan)

    @property
    def g2(self) -> np.ndarray:
        """Normalised g2, both lag directions averaged."""
        return self._ratio(self.counts_ab + self.counts_ba, 2.0)

    @property
    def g2_err(self) -> np.ndarray:
        """One-sigma uncertainty of :attr:`g2` (see
        :func:`~tagstream.analysis.normalization.g2_uncertainty`), from the number of distinct
        pairs: in an auto-correlation both directions hold the same pairs, and at lag 0 (same
        cell) both directions of a cross-correlation do too."""
        if self.auto:
            pairs = self.counts_ab.astype(float)
            pairs[self.tau_ps == 0] /= 2.0  # ordered pairs in one cell: each pair twice
        else:
            pairs = (self.counts_ab + self.counts_ba).astype(float)
            pairs[self.tau_ps == 0] /= 2.0
        err = g2_uncertainty(self.g2, pairs, self.n_a, self.n_b, self.live_ps, self.overlap_ps)
        return np.where(self.expected > 0, err, np.nan)

    @property
    def g2_ab(self) -> np.ndarray:
        """Normalised g2 of the pairs with B after A (NaN where nothing is expected)."""
        return self._ratio(self.counts_ab)

    def __repr__(self) -> str:
        """One line: pair, lags, coincidences and g2 at the shortest non-zero lag."""
        g = self.g2
        first = np.flatnonzero((self.tau_ps > 0) & np.isfinite(g))
        at = (
            f", g2({format_time(int(self.tau_ps[first[0]]))})={g[first[0]]:.3g}"
            if first.size else ""
        )  # fmt: skip
        return (
            f"LogG2Result({'×'.join(self.channels)}, {self.tau_ps.size} lags "
            f"{format_time(int(self.cell_ps[0]))}–{format_time(int(self.tau_ps[-1]))}, "
            f"{int(self.counts_ab.sum() + self.counts_ba.sum())} coincidences{at})"
        )

    def plot(self, ax=None):
        """Draw g2 on a logarithmic lag axis, as in the CW run figure; returns the Axes."""
        from .plots import new_axes, plot_g2_log

        return plot_g2_log(new_axes(ax), self)

    @property
    def g2_ba(self) -> np.ndarray:
        """Normalised g2 of the pairs with A after B (NaN where nothing is expected)."""
        return self._ratio(self.counts_ba)


class LogG2Analyzer:
    """Multi-tau correlation of two channels (or one with itself), fed batch by batch.

    Parameters
    ----------
    a, b
        Start and stop channel (name or number).
    tau_min
        Cell width of the first level, the finest lag resolution (``"1 ns"``).
    tau_max
        Longest lag to reach (``"10 s"``); sets the number of levels.
    per_octave
        Lags per level (P); level 0 has 2P lags ``0 .. 2P-1``, each further level P lags
        ``P .. 2P-1`` in cells twice as wide. A power of two.
    threads
        Threads for large batches (default: the machine's cores, at most four).
    """

    def __init__(
        self,
        a: str | int,
        b: str | int,
        tau_min: str | int = "1 ns",
        tau_max: str | int = "10 s",
        per_octave: int = 8,
        channels: ChannelMap | None = None,
        threads: int | None = None,
    ):
        self.dt0 = parse_time(tau_min, "tau_min")
        tau_max_ps = parse_time(tau_max, "tau_max")
        if self.dt0 <= 0 or tau_max_ps <= self.dt0:
            raise AnalysisError("log g2: need 0 < tau_min < tau_max")
        if per_octave < 1 or per_octave & (per_octave - 1):
            raise AnalysisError(f"log g2: per_octave must be a power of two, got {per_octave}")
        self.half = per_octave
        levels = 1
        while (2 * self.half - 1) * self.dt0 * (1 << (levels - 1)) < tau_max_ps:
            levels += 1
        self.levels = levels
        (self.a,) = resolve_many(a, channels)
        (self.b,) = resolve_many(b, channels)
        self.auto = self.a == self.b
        self.labels = (channel_label(self.a, channels), channel_label(self.b, channels))
        self._roles = role_table(self.a, self.b)
        size = 2 * self.half
        self._state = {
            "hist": np.zeros((levels, 2, size), np.int64),
            "clock": np.full(1, UNSET, np.int64),
            "counts_ab": np.zeros((levels, size), np.int64),
            "counts_ba": np.zeros((levels, size), np.int64),
        }
        threads = default_threads() if threads is None else max(1, int(threads))
        self._counter = MultitauThreads(
            self._state, self._roles, self.auto, self.dt0, self.half, threads
        )
        self._split = -1  # levels counted pair by pair: chosen per block
        self._n = np.zeros(2, np.int64)
        self._coverage = Coverage()

    def process(self, batch: TagBatch) -> None:
        """Add one batch (batches must come in time order)."""
        self._coverage.add(batch)
        self._counter.split = self._split
        self._counter.process(batch.timestamps, batch.channels, batch.t_end)
        count_roles(batch.channels, self._roles, self._n)

    def result(self) -> LogG2Result:
        """The correlation of everything so far, unfinished cells included (state is unchanged:
        the kernel keeps the counts complete after every batch)."""
        state = self._state
        n_a, n_b = int(self._n[0]), int(self._n[1])
        expected, overlap = multitau_expected(
            self._coverage.intervals(), self.dt0, self.levels, self.half, n_a, n_b, self.auto
        )
        level, lag = self._owned_bins()
        cell = self.dt0 * (np.int64(1) << level)
        return LogG2Result(
            channels=self.labels,
            tau_ps=lag * cell,
            cell_ps=cell,
            counts_ab=state["counts_ab"][level, lag],
            counts_ba=state["counts_ba"][level, lag],
            expected=expected[level, lag],
            overlap_ps=overlap[level, lag],
            n_a=n_a,
            n_b=n_b,
            live_ps=self._coverage.live_ps,
            auto=self.auto,
        )

    def _owned_bins(self) -> tuple[np.ndarray, np.ndarray]:
        level = [0] * (2 * self.half)
        lag = list(range(2 * self.half))
        for k in range(1, self.levels):
            level += [k] * self.half
            lag += list(range(self.half, 2 * self.half))
        return np.array(level, np.int64), np.array(lag, np.int64)
