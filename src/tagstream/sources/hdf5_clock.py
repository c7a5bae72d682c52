"""The times of a Photon-HDF5 file's tags: stored values turned into int64 ps, found by time and
read in order, and the span of a file that does not store it.

Times
    Timestamps become int64 ps: ``t_ps = round(t * u)`` with ``u`` the timestamps unit in ps,
    rounded to the nearest picosecond (ties to even) and computed as
    ``t * floor(u) + round(t * (u - floor(u)))`` so that long runs lose no precision. Units that
    are whole picoseconds (within 1e-9) convert exactly. In T3 files from other software whose
    timestamps count syncs (a unit of at least half the sync period), the absolute time is
    ``macrotime * u + nanotime * tcspc_unit``, each term rounded to ps as above; tags within
    one sync period are put in order of that time (stably). Nanotimes keep their stored values,
    in units of ``tcspc_unit``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import h5py
import numpy as np

from ..kernels.clock_counts import counts_to_ps, sync_counted_ps
from ..tags.units import ps_factors
from .hdf5_fields import nanotime_reach_ps

SEARCH_BLOCK = 1 << 14  # tags read at once when the binary search narrows down


@dataclass(frozen=True)
class Clock:
    """Turns stored timestamps (and, for sync-counting T3, nanotimes) into absolute ps."""

    unit_ps: float
    nanotime_unit_ps: float | None = None  # set when the timestamps count syncs

    @property
    def counts_syncs(self) -> bool:
        """Whether the timestamps count syncs (the nanotimes add the time after each)."""
        return self.nanotime_unit_ps is not None

    def macro_ps(self, raw: np.ndarray) -> np.ndarray:
        """Stored timestamps as int64 ps (without their nanotimes)."""
        return converted_ps(raw, self.unit_ps)

    def absolute_ps(self, raw: np.ndarray, nanotimes: np.ndarray | None) -> np.ndarray:
        """Absolute times of stored values (with their nanotimes when the clock counts syncs)."""
        macro = self.macro_ps(raw)
        if self.nanotime_unit_ps is None or nanotimes is None:
            return macro
        return self.after_syncs(macro, nanotimes, np.zeros(0, np.int64))[0]

    def after_syncs(
        self, macro_ps: np.ndarray, nanotimes: np.ndarray, carry_ps: np.ndarray
    ) -> tuple[np.ndarray, bool]:
        """``carry_ps`` (absolute times, ps), then the sync times ``macro_ps`` plus their
        ``nanotimes``; and whether the whole is in order. In one pass."""
        _, floor, fraction = ps_factors(self.nanotime_unit_ps)
        t = np.empty(carry_ps.size + macro_ps.size, np.int64)
        in_order = sync_counted_ps(carry_ps, macro_ps, nanotimes, np.int64(floor), fraction, t)
        return t, bool(in_order)


def converted_ps(raw: np.ndarray, unit_ps: float) -> np.ndarray:
    """Stored counts of ``unit_ps`` as int64 ps (``tags.units.to_ps`` in one pass)."""
    whole, floor, fraction = ps_factors(unit_ps)
    if whole == 1 and raw.dtype == np.int64:
        return raw
    out = np.empty(raw.size, np.int64)
    counts_to_ps(raw, np.int64(floor), fraction, out)
    return out


def first_index_at(
    ds: h5py.Dataset, t_ps: int, lo: int, hi: int, to_ps: Callable[[np.ndarray], np.ndarray]
) -> int:
    """The first index in ``[lo, hi]`` whose time is at least ``t_ps``, by bisection on single
    values until at most :data:`SEARCH_BLOCK` values remain; those are read at once."""
    while hi - lo > SEARCH_BLOCK:
        mid = (lo + hi) // 2
        if to_ps(ds[mid : mid + 1])[0] < t_ps:
            lo = mid + 1
        else:
            hi = mid
    return lo + int(np.searchsorted(to_ps(ds[lo:hi]), t_ps, side="left"))


class ReadAhead:
    """Reads a sorted timestamp dataset in order, a block at a time, and hands it out cut at
    given times, so each value is read and converted once. A block is as long as the last piece
    handed out (at least :data:`SEARCH_BLOCK`) and doubles while a piece is not complete."""

    def __init__(self, ds: h5py.Dataset, n: int, to_ps: Callable[[np.ndarray], np.ndarray]):
        self._ds, self._n, self._to_ps = ds, n, to_ps
        self._start = 0  # file index of the first value held
        self._raw = np.zeros(0, ds.dtype)
        self._t = np.zeros(0, np.int64)  # their times, ps
        self._block = SEARCH_BLOCK

    def before(self, t_ps: int | None) -> tuple[int, np.ndarray, np.ndarray]:
        """The next values whose time is before ``t_ps`` (all the rest for ``None``): their
        first file index, raw values and times (ps)."""
        raws, times = [self._raw], [self._t]
        end, block = self._start + self._raw.size, self._block
        while end < self._n and (t_ps is None or times[-1].size == 0 or times[-1][-1] < t_ps):
            raws.append(self._ds[end : min(end + block, self._n)])
            times.append(self._to_ps(raws[-1]))
            end += raws[-1].size
            block *= 2
        raw, t = (raws[0], times[0]) if len(raws) == 1 else map(np.concatenate, (raws, times))
        k = raw.size if t_ps is None else int(np.searchsorted(t, t_ps, side="left"))
        start = self._start
        self._raw, self._t, self._start = raw[k:], t[k:], start + k
        self._block = max(SEARCH_BLOCK, k)
        return start, raw[:k], t[:k]


def tag_span(
    f: h5py.File,
    timestamps: h5py.Dataset,
    nanotimes: h5py.Dataset | None,
    num_tags: int,
    clock: Clock,
    acquisition_ps: int,
) -> tuple[int, int]:
    """The span of a file that does not store it, ps: from 0 (timestamps count from the start
    of the acquisition) unless the first tag lies beyond ``acquisition_ps``, then from the first
    tag; to the last tag or the start plus ``acquisition_ps``, whichever is later."""
    if num_tags == 0:
        return 0, acquisition_ps
    first, last = _first_last_ps(f, timestamps, nanotimes, num_tags, clock)
    begin = first if acquisition_ps and first >= acquisition_ps else min(0, first)
    return begin, max(last + 1, begin + acquisition_ps)


def _first_last_ps(
    f: h5py.File,
    ts: h5py.Dataset,
    nanotimes: h5py.Dataset | None,
    num_tags: int,
    clock: Clock,
) -> tuple[int, int]:
    """The times of the first and the last tag, ps (the latest of those whose syncs are within
    a nanotime's reach of the last sync, when the clock counts syncs)."""
    first = int(clock.macro_ps(ts[:1])[0])
    if not clock.counts_syncs:
        return first, int(clock.macro_ps(ts[-1:])[0])
    reach = nanotime_reach_ps(f, nanotimes, clock.nanotime_unit_ps)
    last_macro = int(clock.macro_ps(ts[-1:])[0])
    i = first_index_at(ts, last_macro - reach, 0, num_tags, clock.macro_ps)
    tail = clock.absolute_ps(ts[i:], nanotimes[i:])
    return first, int(tail.max())
