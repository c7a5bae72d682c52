"""Streaming linear-bin g2(τ) between two channels (or of one channel with itself)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import AnalysisError
from ..kernels import (
    count_two,
    magic_divisor,
    pairs_across,
    pairs_within,
    pairs_within_auto,
    pairs_within_cross,
    role_table,
)
from ..kernels.divide import MAX_DIVIDEND
from ..tags import ChannelMap, TagBatch, format_time, parse_time
from .channels import channel_label, resolve_many
from .laser_phase import channel_offsets
from .normalization import g2_uncertainty, linear_expected
from .parallel import default_threads, pieces, run_all
from .stream import Coverage


@dataclass(frozen=True)
class G2Result:
    """A g2(τ) histogram with its normalisation.

    Attributes
    ----------
    channels
        Names of the start (A) and stop (B) channel; lag τ = t_B − t_A.
    edges_ps
        Lag bin edges, ps (int64, ``len(counts) + 1``), half-open bins covering [−W, +W).
    counts
        Coincidences per bin.
    expected
        Coincidences expected per bin for uncorrelated light, ≈ N_A·N_B·b/T.
    n_a, n_b
        Tags counted on each channel; ``live_ps`` the covered time minus gaps.
    period_ps
        Laser repetition period from the run's metadata, if any (used by :meth:`g2_zero`).
    """

    channels: tuple[str, str]
    edges_ps: np.ndarray
    counts: np.ndarray
    expected: np.ndarray = field(repr=False)
    overlap_ps: np.ndarray = field(repr=False)
    n_a: int
    n_b: int
    live_ps: int
    period_ps: float | None = None

    @property
    def bin_ps(self) -> int:
        """Lag bin width, ps."""
        return int(self.edges_ps[1] - self.edges_ps[0])

    @property
    def tau_ps(self) -> np.ndarray:
        """Bin centres, ps."""
        return 0.5 * (self.edges_ps[:-1] + self.edges_ps[1:])

    @property
    def g2(self) -> np.ndarray:
        """Normalised g2 per bin (NaN where nothing is expected)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.expected > 0, self.counts / self.expected, np.nan)

    @property
    def g2_err(self) -> np.ndarray:
        """One-sigma uncertainty of :attr:`g2` (Poisson, see
        :func:`~tagstream.analysis.normalization.g2_uncertainty`)."""
        err = g2_uncertainty(
            self.g2, self.counts, self.n_a, self.n_b, self.live_ps, self.overlap_ps
        )
        return np.where(self.expected > 0, err, np.nan)

    def g2_zero(self, excitation: str = "auto", period: str | float | None = None, **options):
        """g2(0) with its uncertainty, for pulsed or CW excitation.

        Parameters
        ----------
        excitation
            ``"pulsed"``, ``"cw"`` or ``"auto"`` (pulsed when the metadata has a sync period or
            the histogram shows periodic peaks).
        period
            Repetition period for pulsed data (``"12.5 ns"``, ps, or ``"80 MHz"``); defaults to
            the metadata, else it is found from the histogram.
        options
            Passed to :func:`~tagstream.analysis.g2_fits.pulsed_g2_zero` or
            :func:`~tagstream.analysis.g2_fits.fit_cw`.
        """
        from .g2_zero import estimate_g2_zero

        return estimate_g2_zero(self, excitation=excitation, period=period, **options)

    def __repr__(self) -> str:
        """One line: pair, bins, window, coincidences and, with a known laser period, the
        peak-window g2(0) (cheap; no fit)."""
        text = (
            f"G2Result({'×'.join(self.channels)}, {self.counts.size} bins of "
            f"{format_time(self.bin_ps)}, window ±{format_time(int(self.edges_ps[-1]))}, "
            f"{int(self.counts.sum())} coincidences"
        )
        if self.period_ps:
            from .g2_fits import pulsed_g2_zero

            try:
                z = pulsed_g2_zero(
                    self.edges_ps, self.counts, self.expected, self.period_ps, method="window"
                )
                text += f", g2(0)={z.value:.3g}±{z.error:.2g} pulsed"
            except AnalysisError:
                pass
        return text + ")"

    def plot(self, ax=None, zero=None):
        """Draw g2(τ) as in the run figure (pulsed: normalised to the adjacent peaks, from
        ``zero`` or a peak-window estimate); returns the matplotlib Axes (a new figure's when
        ``ax`` is None)."""
        from .plots import new_axes, plot_g2

        if zero is None and self.period_ps:
            try:
                zero = self.g2_zero("pulsed", method="window")
            except AnalysisError:
                zero = None
        return plot_g2(new_axes(ax), self, zero)


class G2Analyzer:
    """All-pairs g2(τ) over ``[−window, +window)`` in bins of ``bin``, fed batch by batch.

    Processing a stream in any chunking gives exactly the same histogram as processing it whole.

    Parameters
    ----------
    a, b
        Start and stop channel (name or number); equal for an auto-correlation.
    window
        Half-width W of the lag range (``"100 ns"`` or ps).
    bin
        Bin width (``"100 ps"`` or ps); must divide W.
    channels
        Channel map used to resolve names.
    period_ps
        Laser repetition period, passed on to the result (from the batches' metadata when not
        given).
    threads
        Threads for large batches (default: the machine's cores, at most four).
    delays
        ``{channel: delay}``: cable delays (``"5 ns"`` or ps) taken off each channel's tags, so
        that the lag is ``(t_B - delay_B) - (t_A - delay_A)``; the difference is applied in
        whole bins (:attr:`delay_ps` says what was applied).
    """

    def __init__(
        self,
        a: str | int,
        b: str | int,
        window: str | int = "100 ns",
        bin: str | int = "100 ps",
        channels: ChannelMap | None = None,
        period_ps: float | None = None,
        threads: int | None = None,
        delays: Mapping[str | int, str | int] | None = None,
    ):
        self.window_ps = parse_time(window, "window")
        self.bin_ps = parse_time(bin, "bin")
        if self.window_ps <= 0 or self.bin_ps <= 0:
            raise AnalysisError("g2: window and bin must be positive")
        if self.window_ps % self.bin_ps:
            raise AnalysisError(
                f"g2: the bin ({self.bin_ps} ps) must divide the window ({self.window_ps} ps)"
            )
        if 2 * self.window_ps > MAX_DIVIDEND:
            raise AnalysisError("g2: the window is limited to ±1.07 ms; use the log-binned g2")
        (self.a,) = resolve_many(a, channels)
        (self.b,) = resolve_many(b, channels)
        self.auto = self.a == self.b
        self.labels = (channel_label(self.a, channels), channel_label(self.b, channels))
        self.period_ps = period_ps
        self.threads = default_threads() if threads is None else max(1, int(threads))
        offsets = channel_offsets(delays, channels)
        # lags are counted over a window widened by the delay, then read off shifted by it
        self.delay_ps = (
            int(np.rint((offsets[self.b] - offsets[self.a]) / self.bin_ps)) * self.bin_ps
        )
        self._reach = self.window_ps + abs(self.delay_ps)
        if 2 * self._reach > MAX_DIVIDEND:
            raise AnalysisError("g2: window and delay together are limited to ±1.07 ms")
        self._first = (self._reach - self.window_ps + self.delay_ps) // self.bin_ps
        self._roles = role_table(self.a, self.b)
        self._mult, self._shift = magic_divisor(self.bin_ps)
        # one scratch bin at the end for the branch-free updates of the fast kernels
        self._hist = np.zeros(2 * self._reach // self.bin_ps + 1, dtype=np.int64)
        self._n = np.zeros(2, dtype=np.int64)
        self._carry_t = np.zeros(0, dtype=np.int64)
        self._carry_r = np.zeros(0, dtype=np.uint8)
        self._coverage = Coverage()

    def process(self, batch: TagBatch) -> None:
        """Add one batch (batches must come in time order)."""
        self._coverage.add(batch)
        if self.period_ps is None:
            md = batch.metadata
            self.period_ps = md.laser_period_ps if md is not None else batch.sync_period_ps
        ts, ch = batch.timestamps, batch.channels
        args = (self._roles, np.int64(self._reach), np.int64(self._mult), np.int64(self._shift))
        if len(self._carry_t) and len(ts):
            pairs_across(self._carry_t, self._carry_r, ts, ch, *args, self._hist)
        n_a, n_b = count_two(ch, np.uint8(self.a), np.uint8(self.b))
        self._n += (n_a, n_b)
        within = self._pairs_within(n_a if self.auto else n_a + n_b, len(ts))
        parts = pieces(len(ts), self.threads)
        if len(parts) == 1:
            within(ts, ch, self._hist)
        else:
            hists = [self._hist] + [np.zeros_like(self._hist) for _ in parts[1:]]
            run_all(
                [
                    lambda i0=i0, i1=i1, h=h: within(ts[i0:i1], ch[i0:i1], h)
                    for (i0, i1), h in zip(parts, hists, strict=True)
                ]
            )
            for h in hists[1:]:
                self._hist += h
            for (p0, p1), (i0, _) in itertools.pairwise(parts):
                # pairs of a tag of one piece with tags of the pieces after it
                j = max(p0, int(np.searchsorted(ts, ts[i0] - self._reach, side="left")))
                roles = self._roles[ch[j:p1]]
                keep = roles != 0
                pairs_across(ts[j:p1][keep], roles[keep], ts[i0:], ch[i0:], *args, self._hist)
        self._update_carry(batch)

    def _pairs_within(self, relevant: int, n: int):
        """The pair kernel for a batch of ``n`` tags of which ``relevant`` are on A or B."""
        args = (self._roles, np.int64(self._reach), np.int64(self._mult), np.int64(self._shift))
        a, b = np.uint8(self.a), np.uint8(self.b)
        if 2 * relevant < n:  # mostly other channels: scan only the relevant tags
            return lambda ts, ch, hist: pairs_within(ts, ch, *args, hist)
        if self.auto:
            return lambda ts, ch, hist: pairs_within_auto(ts, ch, a, *args, hist)
        return lambda ts, ch, hist: pairs_within_cross(ts, ch, a, b, *args, hist)

    def _update_carry(self, batch: TagBatch) -> None:
        """Keep the tags that later tags can still pair with: those within W of the batch end."""
        cut = batch.t_end - self._reach
        keep = self._carry_t >= cut
        i0 = int(np.searchsorted(batch.timestamps, cut, side="left"))
        tail_t = batch.timestamps[i0:]
        tail_r = self._roles[batch.channels[i0:]]
        relevant = tail_r != 0
        self._carry_t = np.concatenate([self._carry_t[keep], tail_t[relevant]])
        self._carry_r = np.concatenate([self._carry_r[keep], tail_r[relevant]])

    def restore(self, counts: np.ndarray, n_a: int, n_b: int, coverage: Coverage) -> None:
        """Continue from an earlier result, after time was lost.

        Parameters
        ----------
        counts
            Coincidences per bin so far.
        n_a, n_b
            Tags counted on A and B so far.
        coverage
            The time covered so far. The next batch must begin at least one window after its
            end, so that no pair across the lost time is missed.
        """
        self._hist[:] = 0
        self._hist[self._first : self._first + len(counts)] = counts
        self._n[:] = (n_a, n_b)
        self._coverage = coverage
        self._carry_t = np.zeros(0, dtype=np.int64)
        self._carry_r = np.zeros(0, dtype=np.uint8)

    def result(self) -> G2Result:
        """A snapshot of the histogram so far (a copy: later batches do not change it)."""
        edges = np.arange(-self.window_ps, self.window_ps + 1, self.bin_ps, dtype=np.int64)
        n_a, n_b = int(self._n[0]), int(self._n[1])
        expected, overlap = linear_expected(
            edges + self.delay_ps, self._coverage.intervals(), n_a, n_b, self.auto
        )
        return G2Result(
            channels=self.labels,
            edges_ps=edges,
            counts=self._hist[self._first : self._first + edges.size - 1].copy(),
            expected=expected,
            overlap_ps=overlap,
            n_a=n_a,
            n_b=n_b,
            live_ps=self._coverage.live_ps,
            period_ps=self.period_ps,
        )
