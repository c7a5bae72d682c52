"""Counts between markers (a scanner's pixel or line clock, a shutter, a gate): photons per
channel in each interval between a start and a stop marker (or the next start), and the count
rates inside them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import AnalysisError
from ..kernels.counters import counts_between_markers
from ..tags import ChannelMap, TagBatch
from ..tags.metadata import N_CHANNELS
from .channels import channel_label, resolve_many


@dataclass(frozen=True)
class CounterResult:
    """The intervals closed so far.

    Attributes
    ----------
    channels
        Names of the counted channels.
    begin_ps, end_ps
        Each interval's start and end, ps.
    counts
        (intervals, channels) photons.
    open_since_ps
        Start of the interval still open, ps (``None``: none is).
    """

    channels: tuple[str, ...]
    begin_ps: np.ndarray
    end_ps: np.ndarray
    counts: np.ndarray
    open_since_ps: int | None = None
    notes: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return int(self.begin_ps.size)

    @property
    def duration_s(self) -> np.ndarray:
        """Length of each interval, s."""
        return (self.end_ps - self.begin_ps) * 1e-12

    def rate_cps(self) -> np.ndarray:
        """Mean count rate of each channel inside the intervals, counts/s (NaN without any)."""
        total = float(self.duration_s.sum())
        if total <= 0:
            return np.full(len(self.channels), np.nan)
        return self.counts.sum(axis=0) / total


class CounterAnalyzer:
    """Counts of ``channels`` between the ``start`` and ``stop`` markers, batch by batch.

    Parameters
    ----------
    start
        Marker channel(s) that open an interval.
    stop
        Marker channel(s) that close it; ``None``: the next start closes it.
    channels
        Counted channels (all detectors by default).
    channel_map
        The run's channels.
    """

    def __init__(self, start, stop=None, channels: Sequence | None = None,
                 channel_map: ChannelMap | None = None):  # fmt: skip
        self.start_numbers = resolve_many(start, channel_map)
        self.stop_numbers = [] if stop is None else resolve_many(stop, channel_map)
        counted = resolve_many(channels, channel_map)
        if set(counted) & (set(self.start_numbers) | set(self.stop_numbers)):
            raise AnalysisError("counters: a marker channel is also a counted channel")
        self.counted = counted
        self.labels = tuple(channel_label(c, channel_map) for c in counted)
        self._start = np.zeros(N_CHANNELS, np.bool_)
        self._start[self.start_numbers] = True
        self._stop = np.zeros(N_CHANNELS, np.bool_)
        self._stop[self.stop_numbers] = True
        self._rows = np.full(N_CHANNELS, -1, np.int64)
        self._rows[counted] = np.arange(len(counted))
        self.state = np.zeros(2, np.int64)
        self.partial = np.zeros(len(counted), np.int64)
        self._begin: list[np.ndarray] = []
        self._end: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []

    def process(self, batch: TagBatch) -> None:
        """Add one batch."""
        n = len(batch.timestamps)
        if n == 0:
            return
        begin, end = np.empty(n, np.int64), np.empty(n, np.int64)
        counts = np.empty((n, len(self.counted)), np.int64)
        done = counts_between_markers(batch.timestamps, batch.channels, self._start, self._stop,
                                      bool(self.stop_numbers), self._rows, self.state,
                                      self.partial, begin, end, counts)  # fmt: skip
        if done:
            self._begin.append(begin[:done])
            self._end.append(end[:done])
            self._counts.append(counts[:done])

    def _joined(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if len(self._begin) > 1:
            self._begin = [np.concatenate(self._begin)]
            self._end = [np.concatenate(self._end)]
            self._counts = [np.concatenate(self._counts)]
        if not self._begin:
            k = len(self.counted)
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, k), np.int64)
        return self._begin[0], self._end[0], self._counts[0]

    @property
    def closed(self) -> int:
        """Intervals closed so far."""
        return int(sum(b.size for b in self._begin))

    def rows_since(self, first: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The intervals closed from number ``first`` on."""
        b, e, c = self._joined()
        return b[first:], e[first:], c[first:]

    def restore(self, begin, end, counts, state, partial) -> None:
        """Continue after the intervals given, with the open interval's ``state`` and
        ``partial`` counts."""
        self._begin, self._end = [np.asarray(begin, np.int64)], [np.asarray(end, np.int64)]
        self._counts = [np.asarray(counts, np.int64).reshape(-1, len(self.counted))]
        self.state[:] = state
        self.partial[:] = partial

    def result(self) -> CounterResult:
        """The intervals closed so far."""
        b, e, c = self._joined()
        return CounterResult(self.labels, b.copy(), e.copy(), c.copy(),
                             int(self.state[1]) if self.state[0] else None)  # fmt: skip
