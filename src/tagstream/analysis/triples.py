"""Streaming triple coincidences of three channels: the 2-D histogram over (τ1, τ2) that g3 and
the heralded g2 are made of, with the two pair histograms of the reference channel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import AnalysisError
from ..kernels.triples import ROLE_A, ROLE_B, ROLE_C, history_start, triples
from ..tags import ChannelMap, TagBatch, format_time, parse_time
from .channels import channel_label, resolve_many
from .laser_phase import channel_offsets
from .stream import Coverage

#: Largest number of lag bins per axis (the 2-D histogram holds its square).
MAX_BINS = 1024


@dataclass(frozen=True)
class TripleResult:
    """Triple coincidences of a reference channel A with channels B and C.

    Attributes
    ----------
    channels
        Names of A, B and C; lags ``τ1 = t_B − t_A`` and ``τ2 = t_C − t_A`` (cable delays
        taken off).
    edges_ps
        Lag bin edges of both axes, ps (int64), half-open bins covering [−W, +W).
    counts
        Triples per (τ1, τ2) bin, int64[bins, bins].
    pair_ab, pair_ac
        Pairs (A, B) per τ1 bin and (A, C) per τ2 bin, whatever the third channel did.
    n_abc
        Tags counted on A, B and C.
    live_ps
        The covered time less gaps, ps.
    period_ps
        The laser period from the run's metadata, if any.
    """

    channels: tuple[str, str, str]
    edges_ps: np.ndarray
    counts: np.ndarray = field(repr=False)
    pair_ab: np.ndarray = field(repr=False)
    pair_ac: np.ndarray = field(repr=False)
    n_abc: tuple[int, int, int]
    live_ps: int
    period_ps: float | None = None

    @property
    def bin_ps(self) -> int:
        """Lag bin width, ps."""
        return int(self.edges_ps[1] - self.edges_ps[0])

    @property
    def tau_ps(self) -> np.ndarray:
        """Bin centres of either axis, ps."""
        return 0.5 * (self.edges_ps[:-1] + self.edges_ps[1:])

    @property
    def expected(self) -> np.ndarray:
        """Triples per bin expected for uncorrelated light: ``N_A (N_B b / T) (N_C b / T)``
        (the edges of the covered time neglected: lags are ≪ the run)."""
        n_a, n_b, n_c = self.n_abc
        b, live = float(self.bin_ps), float(self.live_ps)
        value = n_a * n_b * n_c * (b / live) ** 2 if live > 0 else 0.0
        return np.full(self.counts.shape, value)

    @property
    def g3(self) -> np.ndarray:
        """g3(τ1, τ2) per bin: counts over :attr:`expected` (NaN when nothing is expected)."""
        expected = self.expected
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(expected > 0, self.counts / expected, np.nan)

    def __repr__(self) -> str:
        return (
            f"TripleResult({'×'.join(self.channels)}, {self.counts.shape[0]}² bins of "
            f"{format_time(self.bin_ps)}, window ±{format_time(int(self.edges_ps[-1]))}, "
            f"{int(self.counts.sum())} triples)"
        )


class TripleAnalyzer:
    """Triples of a reference channel A with B and C over lags in ``[−window, +window)``.

    Processing a stream in any chunking gives exactly the same histograms as processing it
    whole.

    Parameters
    ----------
    a, b, c
        The reference channel and the two others (names or numbers, all different).
    window
        Half-width W of each lag axis (``"40 ns"`` or ps).
    bin
        Bin width (``"1 ns"`` or ps); must divide W, at most :data:`MAX_BINS` bins per axis.
    channels
        Channel map used to resolve names.
    delays
        ``{channel: delay}``: cable delays taken off each channel's tags, applied in whole bins.
    """

    def __init__(
        self,
        a: str | int,
        b: str | int,
        c: str | int,
        window: str | int = "40 ns",
        bin: str | int = "1 ns",
        channels: ChannelMap | None = None,
        delays: Mapping[str | int, str | int] | None = None,
    ):
        self.window_ps = parse_time(window, "window")
        self.bin_ps = parse_time(bin, "bin")
        if self.window_ps <= 0 or self.bin_ps <= 0:
            raise AnalysisError("window and bin must be positive")
        if self.window_ps % self.bin_ps:
            raise AnalysisError(
                f"the bin ({format_time(self.bin_ps)}) must divide the window "
                f"({format_time(self.window_ps)})"
            )
        numbers = [resolve_many(x, channels)[0] for x in (a, b, c)]
        if len(set(numbers)) != 3:
            raise AnalysisError("triples need three different channels")
        self.numbers = tuple(numbers)
        self.labels = tuple(channel_label(n, channels) for n in numbers)
        offsets = channel_offsets(delays, channels)
        # lags counted over a wider range, then read off shifted by the delays (whole bins)
        self.delays_ps = tuple(
            int(np.rint((offsets[n] - offsets[numbers[0]]) / self.bin_ps)) * self.bin_ps
            for n in numbers[1:]
        )
        self._reach = self.window_ps + max(abs(d) for d in self.delays_ps)
        bins = 2 * self._reach // self.bin_ps
        if 2 * self.window_ps // self.bin_ps > MAX_BINS or bins > 2 * MAX_BINS:
            raise AnalysisError(
                f"at most {MAX_BINS} lag bins per axis: widen the bin or narrow the window"
            )
        self._roles = np.zeros(256, np.uint8)
        self._roles[list(numbers)] = (ROLE_A, ROLE_B, ROLE_C)
        self._hist = np.zeros((bins, bins), np.int64)
        self._pair_ab = np.zeros(bins, np.int64)
        self._pair_ac = np.zeros(bins, np.int64)
        self._n = np.zeros(3, np.int64)
        self._carry_t = np.zeros(0, np.int64)
        self._carry_r = np.zeros(0, np.uint8)
        self._coverage = Coverage()
        self.period_ps: float | None = None

    def process(self, batch: TagBatch) -> None:
        """Add one batch (batches must come in time order)."""
        self._coverage.add(batch)
        if self.period_ps is None:  # the laser's, not the (possibly divided) sync's
            md = batch.metadata
            self.period_ps = md.laser_period_ps if md is not None else batch.sync_period_ps
        roles = self._roles[batch.channels]
        keep = roles != 0
        ts, rs = batch.timestamps[keep], roles[keep]
        self._n += [int((rs == r).sum()) for r in (ROLE_A, ROLE_B, ROLE_C)]
        all_t = np.concatenate([self._carry_t, ts])
        all_r = np.concatenate([self._carry_r, rs])
        triples(all_t, all_r, self._carry_t.size, np.int64(self._reach), np.int64(self.bin_ps),
                self._hist, self._pair_ab, self._pair_ac)  # fmt: skip
        i0 = history_start(all_t, batch.t_end, self._reach)
        self._carry_t, self._carry_r = all_t[i0:], all_r[i0:]

    def restore(self, result: TripleResult, coverage: Coverage) -> None:
        """Continue from an earlier result after time was lost (the next batch must begin at
        least two windows after the covered end)."""
        first_b, first_c = self._first()
        size = result.counts.shape[0]
        self._hist[:] = 0
        self._hist[first_b : first_b + size, first_c : first_c + size] = result.counts
        self._pair_ab[:] = 0
        self._pair_ab[first_b : first_b + size] = result.pair_ab
        self._pair_ac[:] = 0
        self._pair_ac[first_c : first_c + size] = result.pair_ac
        self._n[:] = result.n_abc
        self._coverage = coverage
        self._carry_t = np.zeros(0, np.int64)
        self._carry_r = np.zeros(0, np.uint8)

    def _first(self) -> tuple[int, int]:
        """First counted bin of the B and C axes that belongs to the delay-corrected range."""
        return tuple((self._reach - self.window_ps + d) // self.bin_ps for d in self.delays_ps)

    def result(self) -> TripleResult:
        """A snapshot of the histograms so far (copies)."""
        first_b, first_c = self._first()
        size = 2 * self.window_ps // self.bin_ps
        edges = np.arange(-self.window_ps, self.window_ps + 1, self.bin_ps, dtype=np.int64)
        return TripleResult(
            channels=self.labels,
            edges_ps=edges,
            counts=self._hist[first_b : first_b + size, first_c : first_c + size].copy(),
            pair_ab=self._pair_ab[first_b : first_b + size].copy(),
            pair_ac=self._pair_ac[first_c : first_c + size].copy(),
            n_abc=tuple(int(n) for n in self._n),
            live_ps=self._coverage.live_ps,
            period_ps=self.period_ps,
        )
