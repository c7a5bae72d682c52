"""Streaming intensity (blinking) trace at a fine base bin, re-binnable to any multiple."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import AnalysisError
from ..kernels import bin_counts
from ..tags import ChannelMap, TagBatch, format_time, parse_time
from .channels import channel_label, resolve_many, row_table
from .parallel import binned_in_pieces, default_threads
from .stream import Coverage, GrowingColumns, add_exposure


@dataclass(frozen=True)
class TraceResult:
    """Photon counts in consecutive time bins.

    Attributes
    ----------
    channels
        Names of the counted channels (rows of :attr:`counts_by_channel`).
    t0_ps, bin_ps
        Start of bin 0 and bin width, ps.
    counts_by_channel
        Counts per channel and bin, int64 ``(channels, bins)``.
    exposure_ps
        Live time inside each bin, ps: the bin width, less where the run starts or ends inside
        the bin or data were lost. Empty bins of a dark emitter have full exposure and zero counts.
    """

    channels: tuple[str, ...]
    t0_ps: int
    bin_ps: int
    counts_by_channel: np.ndarray
    exposure_ps: np.ndarray

    @property
    def counts(self) -> np.ndarray:
        """Counts per bin, summed over channels."""
        return self.counts_by_channel.sum(axis=0)

    @property
    def t_s(self) -> np.ndarray:
        """Start of each bin, s."""
        return (self.t0_ps + self.bin_ps * np.arange(self.exposure_ps.size)) * 1e-12

    @property
    def rate_cps(self) -> np.ndarray:
        """Count rate per bin, counts/s (NaN for bins without live time)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.exposure_ps > 0, self.counts * 1e12 / self.exposure_ps, np.nan)

    def __repr__(self) -> str:
        """One line: channels, bins, duration, photons and mean rate."""
        live = float(self.exposure_ps.sum())
        rate = f", {self.counts.sum() * 1e12 / live:.4g} cps" if live > 0 else ""
        return (
            f"TraceResult({'+'.join(self.channels)}, {self.exposure_ps.size} bins of "
            f"{format_time(self.bin_ps)}, {live / 1e12:.4g} s live, "
            f"{int(self.counts_by_channel.sum())} photons{rate})"
        )

    def plot(self, ax=None, blinking=None, side=None):
        """Draw the trace in counts per bin with the thresholds of ``blinking`` (a
        :class:`BlinkingResult`) and, in ``side``, the occurrence histogram, as in the run
        figure; returns the Axes."""
        from .plots import new_axes, plot_trace

        return plot_trace(new_axes(ax), self, blinking, side)

    def rebin(self, bin: str | int) -> TraceResult:
        """The same trace in bins that are a whole multiple of the base bin."""
        width = parse_time(bin, "bin")
        if width <= 0 or width % self.bin_ps:
            raise AnalysisError(
                f"trace: {width} ps is not a whole multiple of the base bin ({self.bin_ps} ps)"
            )
        factor = width // self.bin_ps
        n = self.exposure_ps.size
        groups = -(-n // factor)
        pad = groups * factor - n
        counts = np.pad(self.counts_by_channel, ((0, 0), (0, pad)))
        exposure = np.pad(self.exposure_ps, (0, pad))
        return TraceResult(
            channels=self.channels,
            t0_ps=self.t0_ps,
            bin_ps=width,
            counts_by_channel=counts.reshape(len(self.channels), groups, factor).sum(axis=2),
            exposure_ps=exposure.reshape(groups, factor).sum(axis=1),
        )

    def states(
        self,
        thresholds_cps: Sequence[float] | None = None,
        n_states: int | None = None,
        powerlaw_min_ps: float | str | None = "auto",
        **options,
    ):
        """Blinking analysis of this trace: ON/grey/OFF thresholds, fractions, dwell times and
        power-law exponents (see :func:`~tagstream.analysis.blinking.analyze_blinking`).

        ``powerlaw_min_ps`` is the shortest dwell time in the power-law fits: ``"auto"`` (or
        None) chooses it per state by the Kolmogorov-Smirnov distance, a number (ps) fixes it.
        """
        from .blinking import analyze_blinking

        return analyze_blinking(
            self.counts,
            self.exposure_ps,
            self.t0_ps,
            self.bin_ps,
            thresholds_cps=thresholds_cps,
            n_states=n_states,
            powerlaw_min_ps=powerlaw_min_ps,
            **options,
        )


class TraceAnalyzer:
    """Counts per base bin for each selected channel, fed batch by batch.

    Bins are laid out from the start of the first batch and extend with each batch's span, so
    time without photons shows up as zeros.

    Parameters
    ----------
    detectors
        Channels to count; ``None`` for every detector of the channel map.
    bin
        Base bin width (``"1 ms"``); results can be re-binned to any multiple.
    threads
        Threads for large batches (default: the machine's cores, at most four).
    """

    def __init__(
        self,
        detectors: str | int | Sequence[str | int] | None = None,
        bin: str | int = "1 ms",
        channels: ChannelMap | None = None,
        threads: int | None = None,
    ):
        self.detectors = resolve_many(detectors, channels)
        self.threads = default_threads() if threads is None else max(1, int(threads))
        self.labels = tuple(channel_label(n, channels) for n in self.detectors)
        self.bin_ps = parse_time(bin, "bin")
        if self.bin_ps <= 0:
            raise AnalysisError("trace: the bin width must be positive")
        self._rows = row_table(self.detectors)
        self._channel_of_row = np.array(self.detectors, dtype=np.uint8)
        self._counts = GrowingColumns(len(self.detectors) + 1)  # + scratch row
        self._exposure = GrowingColumns(1)
        self._coverage = Coverage()
        self.t0: int | None = None

    def process(self, batch: TagBatch) -> None:
        """Add one batch (batches must come in time order)."""
        self._coverage.add(batch)
        if self.t0 is None:
            self.t0 = batch.t_begin
        n_bins = -(-(batch.t_end - self.t0) // self.bin_ps)
        counts = self._counts.ensure(n_bins)
        exposure = self._exposure.ensure(n_bins)[0]
        for start, stop in batch.covered():
            add_exposure(exposure, self.t0, self.bin_ps, 0, int(start), int(stop))
        self._count(batch.timestamps, batch.channels, counts)

    def _count(self, ts: np.ndarray, ch: np.ndarray, counts: np.ndarray) -> None:
        """Count tags into ``counts``, on several threads for large batches."""
        t0, width = np.int64(self.t0), np.int64(self.bin_ps)

        def fill(i0: int, i1: int, first: int, buf: np.ndarray) -> None:
            bin_counts(
                ts[i0:i1], ch[i0:i1], self._rows, self._channel_of_row, t0, width,
                np.int64(first), buf,
            )  # fmt: skip

        binned_in_pieces(ts, self.t0, self.bin_ps, counts, fill, self.threads)

    def restore(
        self, t0: int, counts: np.ndarray, exposure: np.ndarray, coverage: Coverage
    ) -> None:
        """Continue from an earlier trace (counts ``(channels, bins)``, exposure per bin),
        after time was lost."""
        n = exposure.size
        self.t0 = int(t0)
        self._counts = GrowingColumns(len(self.detectors) + 1, max(n, 1024))
        self._counts.ensure(n)[:-1, :n] = counts
        self._exposure = GrowingColumns(1, max(n, 1024))
        self._exposure.ensure(n)[0, :n] = exposure
        self._coverage = coverage

    @property
    def n_bins(self) -> int:
        """Bins so far (the last one may be partly covered)."""
        return self._exposure.view().shape[1] if self.t0 is not None else 0

    def bins(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Copies of bins ``start`` to ``stop``: counts ``(channels, k)`` and exposure ``(k,)``,
        ps."""
        counts = self._counts.view()[:-1, start:stop].copy()
        return counts, self._exposure.view()[0, start:stop].copy()

    def result(self) -> TraceResult:
        """Counts per bin and channel and the live time per bin (ps) so far; an
        :class:`AnalysisError` before the first batch."""
        if self.t0 is None:
            raise AnalysisError("trace: no data processed yet")
        return TraceResult(
            channels=self.labels,
            t0_ps=self.t0,
            bin_ps=self.bin_ps,
            counts_by_channel=self._counts.view()[:-1].copy(),
            exposure_ps=self._exposure.view()[0].copy(),
        )
