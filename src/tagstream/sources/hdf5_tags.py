"""A Photon-HDF5 file's tags cut at given times: each span's timestamps (int64 ps), channels
and nanotimes, read once and in order; tags whose timestamps count syncs are put in order of
their absolute time first (see :mod:`.hdf5_clock`)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np

from ..errors import CorruptFileError
from .hdf5_clock import Clock, ReadAhead

#: One span's tags: ``(t_begin, t_end, timestamps, channels, nanotimes or None)``, ps.
Slice = tuple[int, int, np.ndarray, np.ndarray, np.ndarray | None]


class TagSlices:
    """The per-tag arrays of a file (the first ``num_tags`` values of each), cut into spans.

    Parameters
    ----------
    timestamps, detectors, nanotimes
        The stored arrays (``detectors`` and ``nanotimes`` may be absent: ``None``).
    num_tags
        The number of tags to read.
    clock
        How stored values become ps.
    path
        The file, for error messages.
    """

    def __init__(
        self,
        timestamps: h5py.Dataset,
        detectors: h5py.Dataset | None,
        nanotimes: h5py.Dataset | None,
        num_tags: int,
        clock: Clock,
        path: Path,
    ):
        self._timestamps, self._detectors, self._nanotimes = timestamps, detectors, nanotimes
        self._num_tags, self._clock, self._path = num_tags, clock, path

    def between(self, edges: list[int]) -> Iterator[Slice]:
        """The tags of each span between consecutive ``edges`` (ps), in order."""
        if self._clock.counts_syncs:
            yield from self._sync_counting(edges)
        else:
            yield from self._absolute(edges)

    def _absolute(self, edges: list[int]) -> Iterator[Slice]:
        ahead = ReadAhead(self._timestamps, self._num_tags, self._clock.macro_ps)
        for a, b in itertools.pairwise(edges):
            i0, raw, t = ahead.before(b if b < edges[-1] else None)
            i1 = i0 + raw.size
            yield a, b, t, self._channels(i0, i1), self._nanotimes_slice(i0, i1)

    def _sync_counting(self, edges: list[int]) -> Iterator[Slice]:
        """T3 tags whose absolute order may differ from the stored order within a sync period:
        each span reads every tag whose sync comes before its end, keeps those that arrive
        before it and carries the rest to the next span."""
        clock = self._clock
        ahead = ReadAhead(self._timestamps, self._num_tags, clock.macro_ps)
        t_carry = np.zeros(0, np.int64)
        ch_carry = np.zeros(0, np.uint8)
        nt_carry = np.zeros(0, self._nanotimes.dtype)
        for a, b in itertools.pairwise(edges):
            i0, raw, macro = ahead.before(b)
            i1 = i0 + raw.size
            nt_new = self._nanotimes[i0:i1]
            t, in_order = clock.after_syncs(macro, nt_new, t_carry)
            ch = np.concatenate([ch_carry, self._channels(i0, i1)])
            nt = np.concatenate([nt_carry, nt_new])
            if not in_order:  # often in order already
                order = np.argsort(t, kind="stable")
                t, ch, nt = t[order], ch[order], nt[order]
            k = int(np.searchsorted(t, b, side="left"))
            yield a, b, t[:k], ch[:k], nt[:k]
            t_carry, ch_carry, nt_carry = t[k:], ch[k:], nt[k:]
        if t_carry.size:
            raise CorruptFileError(self._path, "nanotimes reach beyond the TCSPC range")

    def _channels(self, i0: int, i1: int) -> np.ndarray:
        if self._detectors is None:
            return np.zeros(i1 - i0, dtype=np.uint8)
        return self._detectors[i0:i1]

    def _nanotimes_slice(self, i0: int, i1: int) -> np.ndarray | None:
        return None if self._nanotimes is None else self._nanotimes[i0:i1]
