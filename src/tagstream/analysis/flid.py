"""Fluorescence-lifetime–intensity distribution (FLID): counts per bin against the mean photon
delay after the laser pulse in that bin."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import AnalysisError
from ..kernels import NO_SYNC, bin_delays_t2, bin_delays_t3
from ..kernels.decay_phase import bin_phases_t2, bin_phases_t3
from ..tags import ChannelMap, TagBatch, parse_period_ps, parse_time, parse_time_range
from .channels import resolve_many, resolve_sync, selection_table
from .laser_phase import PhaseFold, channel_offsets, phase_fold
from .parallel import binned_in_pieces, default_threads
from .stream import Coverage, GrowingColumns, add_exposure, sync_segments


@dataclass(frozen=True)
class FlidResult:
    """Per time bin: photons, photons with a known delay, and the sum of their delays.

    Attributes
    ----------
    t0_ps, bin_ps
        Start of bin 0 and bin width, ps.
    counts, timed, delay_sum
        Photons per bin, photons whose delay lies in the delay range, and the sum of those delays
        in units of ``delay_unit_ps``.
    exposure_ps
        Live time inside each bin, ps.
    """

    t0_ps: int
    bin_ps: int
    counts: np.ndarray
    timed: np.ndarray
    delay_sum: np.ndarray
    delay_unit_ps: float
    exposure_ps: np.ndarray

    def rebin(self, bin: str | int) -> FlidResult:
        """The same data in bins of ``bin`` (a whole multiple of the base bin; a partial last bin is
        kept)."""
        width = parse_time(bin, "bin")
        if width <= 0 or width % self.bin_ps:
            raise AnalysisError(
                f"FLID: {width} ps is not a whole multiple of the base bin ({self.bin_ps} ps)"
            )
        factor = width // self.bin_ps
        groups = -(-self.counts.size // factor)
        pad = groups * factor - self.counts.size

        def fold(a: np.ndarray) -> np.ndarray:
            return np.pad(a, (0, pad)).reshape(groups, factor).sum(axis=1)

        return FlidResult(
            self.t0_ps,
            width,
            fold(self.counts),
            fold(self.timed),
            fold(self.delay_sum),
            self.delay_unit_ps,
            fold(self.exposure_ps),
        )

    def __repr__(self) -> str:
        """One line: bins, photons, and the photon-weighted mean delay."""
        timed = int(self.timed.sum())
        mean = (
            f", mean delay {float(self.delay_sum.sum()) * self.delay_unit_ps / timed / 1e3:.4g} ns"
            if timed else ""
        )  # fmt: skip
        return (
            f"FlidResult({self.counts.size} bins of {self.bin_ps / 1e9:g} ms, "
            f"{int(self.counts.sum())} photons, {timed} timed{mean})"
        )

    def plot(self, ax=None):
        """Draw the FLID map (counts per bin against mean delay), as in the run figure;
        returns the Axes."""
        from .plots import new_axes, plot_flid

        return plot_flid(new_axes(ax), self)

    @property
    def mean_delay_ps(self) -> np.ndarray:
        """Mean delay after the laser pulse per bin, ps (NaN for bins without timed photons)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(
                self.timed > 0, self.delay_sum * self.delay_unit_ps / self.timed, np.nan
            )

    def histogram(
        self, delay_bins: int | np.ndarray = 60, count_bins: int | np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """2-D histogram of full bins: rows = counts per bin, columns = mean delay (ps).

        Returns ``(hist, delay_edges_ps, count_edges)``.
        """
        full = (self.exposure_ps == self.bin_ps) & (self.timed > 0)
        delay = self.mean_delay_ps[full]
        counts = self.counts[full]
        if count_bins is None:
            top = int(counts.max()) if counts.size else 0
            step = max(1, (top + 1) // 60)
            count_bins = -0.5 + step * np.arange(-(-(top + 1) // step) + 1)  # the last holds top
        hist, count_edges, delay_edges = np.histogram2d(
            counts, delay, bins=(count_bins, delay_bins)
        )
        return hist.astype(np.int64), delay_edges, count_edges


class FlidAnalyzer:
    """Per-bin photon counts and delay sums, fed batch by batch (T2 or T3).

    Parameters
    ----------
    detectors
        Channels whose photons are counted together; ``None`` for all detectors of the map.
    bin
        Base time bin (``"10 ms"``).
    delay_range
        ``(start, stop)`` of the delays after the laser pulse that enter the mean; defaults to
        one laser period.
    sync
        Sync channel for T2 data; defaults to the channel map's.
    period
        Laser period; defaults to the run metadata's laser period, else the sync period. With a
        divided sync, delays are folded onto the laser period as for the decay histograms
        (:mod:`~tagstream.analysis.laser_phase`).
    delays
        ``{channel: delay}``: cable delays to take off each channel (a delay of the sync
        channel delays every photon's delay after it the other way).
    threads
        Threads for large T3 batches (default: the machine's cores, at most four).
    """

    def __init__(
        self,
        detectors: str | int | Sequence[str | int] | None = None,
        bin: str | int = "10 ms",
        delay_range: tuple[str | int, str | int] | None = None,
        sync: str | int | None = None,
        channels: ChannelMap | None = None,
        period: str | float | None = None,
        delays: Mapping[str | int, str | int] | None = None,
        threads: int | None = None,
    ):
        self.detectors = resolve_many(detectors, channels)
        self.threads = default_threads() if threads is None else max(1, int(threads))
        self._period = None if period is None else parse_period_ps(period, "period")
        self.sync = resolve_sync(sync, channels)
        self._offsets = channel_offsets(delays, channels, sync=self.sync)
        self.fold: PhaseFold | None = None
        self.bin_ps = parse_time(bin, "bin")
        if self.bin_ps <= 0:
            raise AnalysisError("FLID: the bin width must be positive")
        self._range = parse_time_range(delay_range, "delay")
        self._selected = selection_table(self.detectors)
        self._cols = GrowingColumns(4)  # counts, timed, delay sum, exposure
        self._coverage = Coverage()
        self._last_sync = np.array([NO_SYNC], dtype=np.int64)
        self.t0: int | None = None
        self._mode: str | None = None

    def _setup(self, batch: TagBatch) -> None:
        self.t0 = batch.t_begin if self.t0 is None else self.t0  # restored: kept
        self._mode = batch.mode
        md = batch.metadata
        laser = self._period
        if laser is None and md is not None:
            laser = md.laser_period_ps
        sync_period = batch.sync_period_ps or laser
        if sync_period is None and (self._range is None or np.any(self._offsets)):
            raise AnalysisError(
                "FLID: no sync period is known; give the laser period or the delay range"
            )
        if self._mode == "T2" and self.sync is None:
            raise AnalysisError("FLID: T2 data need a sync channel (none in the channel map)")
        try:
            self.fold = phase_fold(
                batch.mode,
                sync_period,
                laser,
                None if md is None else md.nanotime_range_ps,
                self._offsets,
            )
        except AnalysisError as exc:
            raise AnalysisError(f"FLID: {exc}") from None
        start, stop = self.fold.window(self._range, "FLID")
        self._phased = self.fold.folds(start)
        if self._phased:
            self._unit = 1.0
            self._start, self._stop = float(start), float(stop)
        elif self._mode == "T3":
            self._unit = float(batch.nanotime_unit_ps)
            self._start = int(np.floor(start / self._unit))
            self._stop = int(np.ceil(stop / self._unit))
        else:
            self._unit = 1.0
            self._start, self._stop = int(start), int(np.ceil(stop))

    def process(self, batch: TagBatch) -> None:
        """Add one batch (batches must come in time order): photons, timed photons and their delays
        per time bin, and the live time per bin."""
        lost = self._coverage.add(batch)
        if self.fold is None:
            self._setup(batch)
        n_bins = -(-(batch.t_end - self.t0) // self.bin_ps)
        cols = self._cols.ensure(n_bins)
        counts, timed, delay_sum, exposure = cols[0], cols[1], cols[2], cols[3]
        for start, stop in batch.covered():
            add_exposure(exposure, self.t0, self.bin_ps, 0, int(start), int(stop))
        common = (np.int64(self.t0), np.int64(self.bin_ps), np.int64(0))
        columns = (counts, timed, delay_sum)
        if self._mode == "T3":
            self._bin_t3(batch, common, cols[:3])
            return
        for i0, i1 in sync_segments(batch, lost, self._last_sync):
            self._bin_t2(batch.timestamps[i0:i1], batch.channels[i0:i1], common, columns)

    def _phase_args(self) -> tuple:
        return (*self.fold.kernel_args(self._start), float(self._stop))

    def _bin_t3(self, batch: TagBatch, common: tuple, out: np.ndarray) -> None:
        """Bin a T3 batch into ``out`` (counts, timed photons, delay sums), on several threads."""
        ts, ch, nt = batch.timestamps, batch.channels, batch.nanotimes
        t0, width, _ = common
        if not self._phased:
            limits = (np.int64(self._start), np.int64(self._stop))

            def fill(i0: int, i1: int, first: int, buf: np.ndarray) -> None:
                bin_delays_t3(
                    ts[i0:i1], ch[i0:i1], nt[i0:i1], self._selected, t0, width, np.int64(first),
                    *limits, buf[0], buf[1], buf[2],
                )  # fmt: skip
        else:
            unit, args = float(batch.nanotime_unit_ps), self._phase_args()

            def fill(i0: int, i1: int, first: int, buf: np.ndarray) -> None:
                bin_phases_t3(
                    ts[i0:i1], ch[i0:i1], nt[i0:i1], self._selected, t0, width, np.int64(first),
                    unit, *args, buf[0], buf[1], buf[2],
                )  # fmt: skip

        binned_in_pieces(ts, self.t0, self.bin_ps, out, fill, self.threads)

    def _bin_t2(self, ts: np.ndarray, ch: np.ndarray, common: tuple, columns: tuple) -> None:
        sync = np.int64(self.sync)
        if not self._phased:
            limits = (np.int64(self._start), np.int64(self._stop))
            bin_delays_t2(ts, ch, sync, self._selected, *common, *limits, self._last_sync, *columns)
        else:
            args = self._phase_args()
            bin_phases_t2(ts, ch, sync, self._selected, *common, *args, self._last_sync, *columns)

    def restore(self, t0: int, columns: np.ndarray, coverage: Coverage) -> None:
        """Continue from earlier bins (``columns``: counts, timed photons, delay sums and live
        time (ps), one row each, one column per bin) after time was lost."""
        n = columns.shape[1]
        self.t0 = int(t0)
        self._cols = GrowingColumns(4, max(n, 1024))
        self._cols.ensure(n)[:, :n] = columns
        self._coverage = coverage

    @property
    def n_bins(self) -> int:
        """Bins so far (the last one may be partly covered)."""
        return self._cols.view().shape[1] if self.t0 is not None else 0

    @property
    def delay_unit_ps(self) -> float | None:
        """Unit of the delay sums, ps (known from the first batch on)."""
        return getattr(self, "_unit", None)

    def bins(self, start: int, stop: int) -> np.ndarray:
        """Copies of bins ``start`` to ``stop``: counts, timed photons, delay sums and live time
        (ps) as rows."""
        return self._cols.view()[:, start:stop].copy()

    def result(self) -> FlidResult:
        """The per-bin counts, delay sums and live time so far; an :class:`AnalysisError` before the
        first batch."""
        if self.t0 is None:
            raise AnalysisError("FLID: no data processed yet")
        cols = self._cols.view()
        return FlidResult(
            self.t0,
            self.bin_ps,
            cols[0].copy(),
            cols[1].copy(),
            cols[2].copy(),
            self._unit,
            cols[3].copy(),
        )
