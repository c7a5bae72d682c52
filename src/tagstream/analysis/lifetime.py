"""Streaming decay histograms per detector, relative to the laser sync."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import AnalysisError
from ..kernels import NO_SYNC, magic_divisor
from ..kernels.divide import MAX_DIVIDEND
from ..tags import (
    ChannelMap,
    TagBatch,
    format_time,
    parse_period_ps,
    parse_time,
    parse_time_range,
)
from ..tags.metadata import N_CHANNELS
from .channels import channel_label, resolve_many, resolve_sync
from .laser_phase import PhaseFold, channel_offsets, phase_fold
from .lifetime_fill import fill_t2, fill_t3
from .parallel import default_threads
from .stream import Coverage, sync_segments


@dataclass(frozen=True)
class DecayResult:
    """Decay histogram of one channel: photon delay after the laser pulse.

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
    divider
        Laser pulses per sync: the delays after the sync were folded onto one laser period.
    """

    channel: str
    edges_ps: np.ndarray
    counts: np.ndarray
    period_ps: float | None
    mode: str
    divider: int = 1

    @property
    def t_ps(self) -> np.ndarray:
        """Bin centres, ps."""
        return 0.5 * (self.edges_ps[:-1] + self.edges_ps[1:])

    @property
    def bin_ps(self) -> float:
        """Bin width, ps."""
        return float(self.edges_ps[1] - self.edges_ps[0])

    def fit(self, model: str = "mono", **options):
        """Fit 1–3 exponentials by Poisson maximum likelihood (see
        :func:`~tagstream.analysis.decay_fit.fit_decay`); the period defaults to the run's."""
        from .decay_fit import fit_decay

        options.setdefault("period_ps", self.period_ps)
        return fit_decay(self.counts, self.edges_ps, model, **options)

    def __repr__(self) -> str:
        """One line: channel, bins, photons, period (no fit)."""
        period = f", period {format_time(self.period_ps)}" if self.period_ps else ""
        folded = f", {self.divider} pulses per sync" if self.divider > 1 else ""
        return (
            f"DecayResult({self.channel}, {self.counts.size} bins of {format_time(self.bin_ps)}, "
            f"{int(self.counts.sum())} photons, {self.mode}{period}{folded})"
        )

    def plot(self, ax=None, fit=None, residual_ax=None):
        """Draw the decay (log counts) with ``fit`` (a :class:`DecayFit`) and its deviance
        residuals in ``residual_ax``, as in the run figure; returns the main Axes. With
        ``ax=None`` and a fit, a new figure holds both panels."""
        from .plots import new_axes, plot_decay

        if ax is None and fit is not None:
            ax, residual_ax = new_axes(None, rows=2, height_ratios=(3, 1))
        return plot_decay(new_axes(ax), self, fit, residual_ax)


class LifetimeAnalyzer:
    """Decay histograms of one or more detector channels, fed batch by batch.

    Each photon's delay after the sync (T3: its nanotime; T2: the time since the preceding tag
    on the sync channel) becomes its phase after the laser pulse that excited it
    (:mod:`~tagstream.analysis.laser_phase`): with a divided sync every photon is folded onto one
    laser period, and each channel's cable delay is taken off first. Photons before the first
    sync, or after lost data until the next sync, are skipped.

    Parameters
    ----------
    detectors
        Channel name(s) or number(s).
    bin
        Bin width (``"16 ps"``); in T3 a whole multiple of the nanotime unit.
    range
        ``(start, stop)`` of the phases to histogram, at most one laser period long (a negative
        start takes the end of the previous period); defaults to one laser period (or the
        part of it a T3 unit records), in whole bins.
    sync
        The sync channel (T2); defaults to the channel map's sync channel.
    period
        Laser period (ps, ``"12.5 ns"`` or ``"80 MHz"``); defaults to the run metadata's laser
        period, else the sync period.
    delays
        ``{channel: delay}``: cable delays to take off each channel (``"5 ns"`` or ps); a
        delay of the sync channel delays every photon's delay after it the other way.
    threads
        Threads for large batches (default: the machine's cores, at most four).
    """

    def __init__(
        self,
        detectors: str | int | Sequence[str | int],
        bin: str | int = "16 ps",
        range: tuple[str | int, str | int] | None = None,
        sync: str | int | None = None,
        channels: ChannelMap | None = None,
        period: str | float | None = None,
        threads: int | None = None,
        delays: Mapping[str | int, str | int] | None = None,
    ):
        self.detectors = resolve_many(detectors, channels)
        self.threads = default_threads() if threads is None else max(1, int(threads))
        self.labels = [channel_label(n, channels) for n in self.detectors]
        self.bin_ps = parse_time(bin, "bin")
        if self.bin_ps <= 0:
            raise AnalysisError("lifetime: the bin width must be positive")
        self._range = parse_time_range(range, "range")
        self.sync = resolve_sync(sync, channels)
        self.period_ps = None if period is None else parse_period_ps(period, "period")
        self._offsets = channel_offsets(delays, channels, sync=self.sync)
        self._rows = np.full(N_CHANNELS, -1, dtype=np.int64)
        self._rows[self.detectors] = np.arange(len(self.detectors))
        self._hist: np.ndarray | None = None
        self._mode: str | None = None
        self.fold: PhaseFold | None = None
        self._coverage = Coverage()
        self._last_sync = np.array([NO_SYNC], dtype=np.int64)

    def _setup(self, batch: TagBatch) -> None:
        md = batch.metadata
        self.configure(
            batch.mode,
            batch.sync_period_ps,
            batch.nanotime_unit_ps,
            laser_period_ps=None if md is None else md.laser_period_ps,
            nanotime_range_ps=None if md is None else md.nanotime_range_ps,
        )

    def configure(
        self,
        mode: str,
        sync_period_ps: float | None,
        nanotime_unit_ps: float | None,
        laser_period_ps: float | None = None,
        nanotime_range_ps: float | None = None,
    ) -> None:
        """Lay out the histogram before the first batch (else the first batch does it).

        Parameters
        ----------
        mode
            ``"T2"`` or ``"T3"``.
        sync_period_ps
            Period of the sync the tagger sees, ps.
        nanotime_unit_ps
            T3 nanotime unit, ps.
        laser_period_ps
            Laser period, ps (unless given to the analyzer); ``None`` for the sync period.
        nanotime_range_ps
            T3: the longest delay the unit records, ps; ``None`` if unlimited.
        """
        if self._hist is not None:
            raise AnalysisError("lifetime: the histogram is already laid out")
        if mode == "T2" and self.sync is None:
            raise AnalysisError("lifetime: T2 data need a sync channel (none in the channel map)")
        self._mode = mode
        laser = self.period_ps if self.period_ps is not None else laser_period_ps
        if sync_period_ps is None:
            sync_period_ps = laser
        if sync_period_ps is None and (self._range is None or np.any(self._offsets)):
            raise AnalysisError(
                "lifetime: no sync period is known; give the laser period "
                "(period='12.5 ns') or the histogram range"
            )
        try:
            self.fold = phase_fold(mode, sync_period_ps, laser, nanotime_range_ps, self._offsets)
        except AnalysisError as exc:
            raise AnalysisError(f"lifetime: {exc}") from None
        self.period_ps = self.fold.period_ps if math.isfinite(self.fold.period_ps) else None
        start, stop = self.fold.window(self._range, "lifetime")
        # raw delays are histogrammed as they are by the integer kernels (no fold, no delay, a
        # start on the nanotime grid); else folded onto the period from the start of the range
        self._phased = self.fold.folds(start)
        if self._mode == "T3":
            unit = nanotime_unit_ps
            self._step = _t3_step(self.bin_ps, unit)
            self._unit = float(unit)
            off_grid = abs(start / unit - round(start / unit)) > 1e-9
            self._phased |= off_grid and math.isfinite(self.fold.period_ps)
        else:
            self._step = self.bin_ps
        # whole bins: inside one period by default (a fit folds the tail of earlier pulses onto
        # exactly one period); an explicit range is covered completely (folded: as far as one
        # period from its start allows)
        limit = self.fold.period_ps * (1 + 1e-9) if self._phased else math.inf
        n_bins = _whole_bins(stop - start, self.bin_ps, self._range is not None, limit)
        if self._mode == "T2" and n_bins * self._step > MAX_DIVIDEND:
            raise AnalysisError("lifetime: the histogram range is limited to 2.1 ms")
        self._edges = start + self.bin_ps * np.arange(n_bins + 1, dtype=float)
        if self._phased:
            self._start = float(start)
        elif self._mode == "T3":
            self._start = round(start / self._unit)
        else:
            self._start = int(start)
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
        if self._mode == "T3":
            unit = (self._unit,) if self._phased else ()
            args = (self._rows, *unit, *self._kernel_args())
            fill_t3(self._hist, batch.channels, batch.nanotimes, self._phased, args, self.threads)
            return
        for i0, i1 in sync_segments(batch, lost, self._last_sync):
            fill_t2(
                self._hist,
                batch.timestamps[i0:i1],
                batch.channels[i0:i1],
                np.int64(self.sync),
                self._phased,
                (self._rows, *self._kernel_args()),
                self._last_sync,
                self.threads,
            )

    def _kernel_args(self) -> tuple:
        """The decay kernels' arguments after the channel rows (and, T3 folded, the unit)."""
        if self._phased:
            return (*self.fold.kernel_args(self._start), float(self.bin_ps))
        return (np.int64(self._start), np.int64(self._mult), np.int64(self._shift))

    def restore(self, counts: np.ndarray, coverage: Coverage) -> None:
        """Continue from earlier histograms (rows: detectors), after time was lost; the
        histogram must be laid out (:meth:`configure`)."""
        if self._hist is None:
            raise AnalysisError("lifetime: configure the histogram before restoring it")
        self._hist[...] = counts
        self._coverage = coverage
        self._last_sync[0] = NO_SYNC

    @property
    def edges_ps(self) -> np.ndarray:
        """Bin edges, ps (once laid out)."""
        if self._hist is None:
            raise AnalysisError("lifetime: no data processed yet")
        return self._edges.copy()

    def result(self, detector: str | int | None = None) -> DecayResult:
        """The histogram of one detector (the only one, if a single detector was given)."""
        if self._hist is None:
            raise AnalysisError("lifetime: no data processed yet")
        if detector is None:
            if len(self.detectors) != 1:
                raise AnalysisError(f"lifetime: name the detector, one of {self.labels}")
            row = 0
        else:
            row = self._row_of(detector)
        return DecayResult(
            channel=self.labels[row],
            edges_ps=self._edges.copy(),
            counts=self._hist[row].copy(),
            period_ps=self.period_ps,
            mode=str(self._mode),
            divider=self.fold.divider,
        )

    def _row_of(self, detector: str | int) -> int:
        key = str(detector)
        if key in self.labels:
            return self.labels.index(key)
        if key.lstrip("-").isdigit() and int(key) in self.detectors:
            return self.detectors.index(int(key))
        raise AnalysisError(f"lifetime: {detector!r} is not one of the detectors {self.labels}")

    def results(self) -> dict[str, DecayResult]:
        """The decay histogram of every analysed detector, by channel name."""
        return {label: self.result(label) for label in self.labels}


def _t3_step(bin_ps: int, unit: float | None) -> int:
    """The decay bin in nanotime units: ``bin_ps`` must be a whole multiple of the T3 nanotime
    unit ``unit`` (ps)."""
    if not unit:
        raise AnalysisError("lifetime: T3 data need their nanotime unit")
    factor = bin_ps / unit
    if abs(factor - round(factor)) > 1e-9 * factor or round(factor) < 1:
        raise AnalysisError(
            f"lifetime: the bin ({bin_ps} ps) must be a whole multiple of the "
            f"nanotime unit ({unit:g} ps)"
        )
    return round(factor)


def _whole_bins(span: float, bin_ps: int, explicit: bool, limit: float) -> int:
    """Bins of ``bin_ps`` in ``span`` ps: the whole ones, and for an ``explicit`` range one more
    covering its end when the bins then still end within ``limit`` ps."""
    n_bins = int(np.floor(span / bin_ps + 1e-9))
    if explicit and n_bins * bin_ps < span:
        n_bins += (n_bins + 1) * bin_ps <= limit
    return n_bins
