"""Streaming decay histograms per detector, relative to the laser sync."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import AnalysisError
from ..kernels import NO_SYNC, decay_histogram_t2, decay_histogram_t3, magic_divisor
from ..kernels.divide import MAX_DIVIDEND
from ..tags import ChannelMap, TagBatch, parse_time
from .channels import channel_label, resolve_many, row_table
from .stream import Coverage, gap_cuts


@dataclass(frozen=True)
class DecayResult:
    """Decay histogram of one channel: photon delay after the laser sync.

    Attributes
    ----------
    channel
        Channel name.
    edges_ps
        Bin edges, ps (float: T3 nanotime units need not be whole picoseconds).
    counts
        Photons per bin.
    period_ps
        Laser repetition period, if known (wrapped tails in fits).
    mode
        ``"T2"`` or ``"T3"``.
    """

    channel: str
    edges_ps: np.ndarray
    counts: np.ndarray
    period_ps: float | None
    mode: str

    @property
    def t_ps(self) -> np.ndarray:
        """Bin centres, ps."""
        return 0.5 * (self.edges_ps[:-1] + self.edges_ps[1:])

    @property
    def bin_ps(self) -> float:
        return float(self.edges_ps[1] - self.edges_ps[0])

    def fit(self, model: str = "mono", **options):
        """Fit 1–3 exponentials by Poisson maximum likelihood (see
        :func:`~tagstream.analysis.decay_fit.fit_decay`); the period defaults to the run's."""
        from .decay_fit import fit_decay

        options.setdefault("period_ps", self.period_ps)
        return fit_decay(self.counts, self.edges_ps, model, **options)


class LifetimeAnalyzer:
    """Decay histograms of one or more detector channels, fed batch by batch.

    T3 batches are histogrammed from their nanotimes; T2 batches from the delay since the
    preceding tag on the sync channel (photons before the first sync, or after lost data until the
    next sync, are skipped).

    Parameters
    ----------
    detectors
        Channel name(s) or number(s).
    bin
        Bin width (``"16 ps"``); in T3 a whole multiple of the nanotime unit.
    range
        ``(start, stop)`` of the delays to histogram; defaults to one sync period.
    sync
        The sync channel (T2); defaults to the channel map's sync channel.
    period
        Laser period; defaults to the batches' ``sync_period_ps``.
    """

    def __init__(
        self,
        detectors: str | int | Sequence[str | int],
        bin: str | int = "16 ps",  # noqa: A002
        range: tuple[str | int, str | int] | None = None,  # noqa: A002
        sync: str | int | None = None,
        channels: ChannelMap | None = None,
        period: float | None = None,
    ):
        self.detectors = resolve_many(detectors, channels)
        self.labels = [channel_label(n, channels) for n in self.detectors]
        self.bin_ps = parse_time(bin, "bin")
        if self.bin_ps <= 0:
            raise AnalysisError("lifetime: the bin width must be positive")
        self._range = None if range is None else (
            parse_time(range[0], "range start"), parse_time(range[1], "range stop")
        )
        if sync is not None:
            (self.sync,) = resolve_many(sync, channels)
        elif channels is not None and channels.sync is not None:
            self.sync = channels.sync.number
        else:
            self.sync = None
        self.period_ps = period
        self._rows = row_table(self.detectors)
        self._hist: np.ndarray | None = None
        self._mode: str | None = None
        self._coverage = Coverage()
        self._last_sync = np.array([NO_SYNC], dtype=np.int64)

    def _setup(self, batch: TagBatch) -> None:
        self._mode = batch.mode
        if self.period_ps is None:
            self.period_ps = batch.sync_period_ps
        start, stop = self._range if self._range is not None else (0, self.period_ps)
        if stop is None:
            raise AnalysisError(
                "lifetime: no sync period is known; give the histogram range, e.g. range=('0 ns', '50 ns')"
            )
        if self._mode == "T3":
            unit = batch.nanotime_unit_ps
            factor = self.bin_ps / unit
            if abs(factor - round(factor)) > 1e-9 * factor or round(factor) < 1:
                raise AnalysisError(
                    f"lifetime: the bin ({self.bin_ps} ps) must be a whole multiple of the nanotime "
                    f"unit ({unit:g} ps)"
                )
            self._step = int(round(factor))
            self._start = int(np.floor(start / unit + 1e-9))
            n_bins = int(np.ceil((stop / unit - self._start) / self._step - 1e-9))
            self._edges = (self._start + self._step * np.arange(n_bins + 1)) * unit
        else:
            if self.sync is None:
                raise AnalysisError("lifetime: T2 data need a sync channel (none in the channel map)")
            self._step = self.bin_ps
            self._start = int(start)
            n_bins = int(np.ceil((stop - self._start) / self._step - 1e-9))
            self._edges = (self._start + self._step * np.arange(n_bins + 1)).astype(float)
            if n_bins * self._step > MAX_DIVIDEND:
                raise AnalysisError("lifetime: the histogram range is limited to 2.1 ms")
        if n_bins < 1:
            raise AnalysisError("lifetime: the histogram range is empty")
        self._mult, self._shift = magic_divisor(self._step)
        self._hist = np.zeros((len(self.detectors), n_bins), dtype=np.int64)

    def process(self, batch: TagBatch) -> None:
        """Add one batch (batches must come in time order)."""
        lost = self._coverage.add(batch)
        if self._hist is None:
            self._setup(batch)
        elif batch.mode != self._mode:
            raise AnalysisError(f"lifetime: a {batch.mode} batch in a {self._mode} stream")
        args = (np.int64(self._start), np.int64(self._mult), np.int64(self._shift))
        if self._mode == "T3":
            decay_histogram_t3(batch.channels, batch.nanotimes, self._rows, *args, self._hist)
            return
        if lost:
            self._last_sync[0] = NO_SYNC
        bounds = [0, *gap_cuts(batch), len(batch)]
        for k, (i0, i1) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            if k > 0:  # syncs inside the lost time are unknown
                self._last_sync[0] = NO_SYNC
            decay_histogram_t2(
                batch.timestamps[i0:i1], batch.channels[i0:i1], np.int64(self.sync), self._rows,
                *args, self._last_sync, self._hist,
            )

    def result(self, detector: str | int | None = None) -> DecayResult:
        """The histogram of one detector (the only one, if a single detector was given)."""
        if self._hist is None:
            raise AnalysisError("lifetime: no data processed yet")
        if detector is None:
            if len(self.detectors) != 1:
                raise AnalysisError(f"lifetime: name the detector, one of {self.labels}")
            row = 0
        else:
            key = str(detector)
            row = self.labels.index(key) if key in self.labels else self.detectors.index(int(key))
        return DecayResult(
            channel=self.labels[row],
            edges_ps=self._edges.copy(),
            counts=self._hist[row].copy(),
            period_ps=self.period_ps,
            mode=str(self._mode),
        )

    def results(self) -> dict[str, DecayResult]:
        return {label: self.result(label) for label in self.labels}
