"""Book-keeping shared by the streaming analyzers: covered time, and arrays that grow with time."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from ..errors import BatchError
from ..kernels import NO_SYNC
from ..tags import TagBatch
from ..tags import intervals as iv


class Coverage:
    """The live time of a stream: the union of batch spans minus their gaps.

    Batches must arrive in time order; time between two batches counts as a gap.
    """

    __slots__ = ("_ends", "_starts", "t_begin", "t_end")

    def __init__(self) -> None:
        self.t_begin: int | None = None
        self.t_end: int | None = None
        self._starts: list[int] = []
        self._ends: list[int] = []

    def add(self, batch: TagBatch) -> bool:
        """Record the batch's covered time. Returns True when time was lost before it (a hole
        between batches or a gap at its start), i.e. state that spans time must be reset."""
        lost = False
        if self.t_end is None:
            self.t_begin = batch.t_begin
        elif batch.t_begin < self.t_end:
            raise BatchError(
                f"batch starts at {batch.t_begin} ps, before the previous one ended "
                f"({self.t_end} ps)"
            )
        elif batch.t_begin > self.t_end:
            lost = True
        self.t_end = batch.t_end
        for s, e in batch.covered():
            s, e = int(s), int(e)
            if self._ends and self._ends[-1] == s:
                self._ends[-1] = e
            else:
                self._starts.append(s)
                self._ends.append(e)
        return lost

    @classmethod
    def from_intervals(cls, covered: np.ndarray, t_begin: int, t_end: int) -> Coverage:
        """The coverage of a stream that covered the normalised intervals ``covered`` between
        ``t_begin`` and ``t_end`` (to continue after a restart)."""
        coverage = cls()
        coverage.t_begin, coverage.t_end = int(t_begin), int(t_end)
        for start, stop in iv.as_intervals(covered, "covered"):
            coverage._starts.append(int(start))
            coverage._ends.append(int(stop))
        return coverage

    def intervals(self) -> np.ndarray:
        """The covered time as ``[start, end)`` rows, ps."""
        if not self._starts:
            return iv.EMPTY
        return np.column_stack([np.array(self._starts, np.int64), np.array(self._ends, np.int64)])

    @property
    def live_ps(self) -> int:
        """Total covered (live) time, ps."""
        return int(sum(self._ends) - sum(self._starts))

    def gaps(self) -> np.ndarray:
        """Lost time between the first batch's start and the last batch's end."""
        if self.t_begin is None or self.t_end is None:
            return iv.EMPTY
        return iv.complement(self.intervals(), self.t_begin, self.t_end)


class GrowingColumns:
    """A 2-D int64 array ``(rows, n)`` whose number of columns grows by doubling."""

    __slots__ = ("_data", "n")

    def __init__(self, rows: int, capacity: int = 1024):
        self._data = np.zeros((rows, max(capacity, 1)), dtype=np.int64)
        self.n = 0

    def ensure(self, n: int) -> np.ndarray:
        """Make room for ``n`` columns (new ones are zero) and return the full buffer."""
        if n > self._data.shape[1]:
            grown = np.zeros((self._data.shape[0], max(n, 2 * self._data.shape[1])), np.int64)
            grown[:, : self.n] = self._data[:, : self.n]
            self._data = grown
        self.n = max(self.n, n)
        return self._data

    def view(self) -> np.ndarray:
        """The ``n`` columns in use (a view, not a copy)."""
        return self._data[:, : self.n]


def add_exposure(exposure: np.ndarray, t0: int, width: int, first_bin: int, start: int, stop: int):
    """Add the covered time of ``[start, stop)`` to the bins of width ``width`` starting at ``t0``.

    ``exposure[j]`` holds bin ``first_bin + j``.
    """
    if stop <= start:
        return
    k0 = (start - t0) // width
    k1 = (stop - 1 - t0) // width
    j0, j1 = k0 - first_bin, k1 - first_bin
    if k0 == k1:
        exposure[j0] += stop - start
        return
    exposure[j0] += t0 + (k0 + 1) * width - start
    exposure[j0 + 1 : j1] += width
    exposure[j1] += stop - (t0 + k1 * width)


def sync_segments(batch: TagBatch, lost: bool, last_sync: np.ndarray) -> Iterator[tuple[int, int]]:
    """``(i0, i1)`` index ranges of the batch's tags between its gaps, for T2 state that follows
    the latest sync tag: ``last_sync`` (int64[1]) is forgotten (:data:`NO_SYNC`) when time was
    ``lost`` before the batch and at every gap inside it (syncs in lost time are unknown)."""
    if lost:
        last_sync[0] = NO_SYNC
    bounds = [0, *gap_cuts(batch), len(batch)]
    for k, (i0, i1) in enumerate(itertools.pairwise(bounds)):
        if k > 0:
            last_sync[0] = NO_SYNC
        yield i0, i1


def gap_cuts(batch: TagBatch) -> list[int]:
    """Indices into the batch's tags where a gap ends (sync-dependent state must reset there)."""
    if len(batch.gaps) == 0:
        return []
    return [int(i) for i in np.searchsorted(batch.timestamps, batch.gaps[:, 1], side="left")]
