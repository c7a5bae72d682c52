"""The pieces a PicoQuant file's records are decoded in, two at a time on two threads.

A first pass counts each piece independently (tags per channel, overflows, the last time) and
joins the counts: so each piece is later decoded on its own, knowing the overflow offset at its
start and how many tags come before it. Times that reach past :data:`MAX_TIME_PS` (only with
damaged overflow records or an absurd resolution) raise
:class:`~tagstream.errors.CorruptFileError` naming the byte offsets.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError
from ..formats import pq_spec as spec
from ..formats.pq_spec import RecordFormat
from ..kernels.pq_records import STATE_UNORDERED, count_records, decode_ps
from ..tags.metadata import N_CHANNELS
from ..tags.units import PS_PER_S, to_ps
from .pq_header import PtuHeader
from .ptu_records import Units, where

#: Records decoded at once by one thread (two pieces at a time), at most.
PIECE_RECORDS = 1 << 20
#: Times beyond this (ps, about 53 days) mean damaged overflow records.
MAX_TIME_PS = float(1 << 62)

_POOL: ThreadPoolExecutor | None = None


def pool() -> ThreadPoolExecutor:
    """Two threads decoding pieces of PicoQuant files (the kernels release the GIL)."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(2, thread_name_prefix="tagstream-ptu")
    return _POOL


def piece_bounds(n: int) -> np.ndarray:
    """Where the pieces of a file of ``n`` records start, and ``n``: at most
    :data:`PIECE_RECORDS` each, in pairs of equal length so that the two threads decoding a
    pair finish together, and the last pair's records cut into three shorter pairs (1/2, 1/4,
    1/4), so that whichever thread is ahead at the end waits less for the other."""
    if n <= PIECE_RECORDS:
        return np.array([0, n] if n else [0], dtype=np.int64)
    pairs = -(-n // (2 * PIECE_RECORDS))
    length = -(-n // (2 * pairs))
    bounds = list(range(0, 2 * (pairs - 1) * length, length))
    tail = bounds[-1] + length if bounds else 0  # the last pair's records
    bounds += [tail + (n - tail) * eighths // 8 for eighths in (0, 2, 4, 5, 6, 7)]
    return np.unique(np.array([*bounds, n], dtype=np.int64))  # no empty pieces


@dataclass
class Pieces:
    """A file's records in pieces, counted.

    Attributes
    ----------
    records
        The records (32-bit words).
    bounds
        Where each piece starts, and the end (record numbers).
    fmt, units
        The records' format and time units.
    offsets
        The overflow offset (in ticks) at the start of each piece.
    first
        Tags before each piece, and the total.
    counts
        Tags per channel number over the whole file.
    last_ps
        The time of the last tag, ps (-1 without tags); in T3 the latest a tag of the last
        sync can arrive.
    """

    records: np.ndarray
    bounds: np.ndarray
    fmt: RecordFormat
    units: Units
    offsets: np.ndarray
    first: np.ndarray
    counts: np.ndarray
    last_ps: int

    @property
    def count(self) -> int:
        """Number of pieces."""
        return len(self.bounds) - 1

    @property
    def longest(self) -> int:
        """Records in the longest piece (at least 1)."""
        return int(np.diff(self.bounds).max(initial=1))

    def tags(self, p: int) -> int:
        """Tags in piece ``p`` (0 past the end)."""
        if p >= self.count:
            return 0
        return int(self.first[p + 1] - self.first[p])

    def round_tags(self, p: int) -> int:
        """Tags in pieces ``p`` and ``p + 1``."""
        return self.tags(p) + self.tags(p + 1)

    def decode(self, p: int, times, chans, dtimes, start: int) -> tuple[int, int, bool]:
        """Decode piece ``p`` into the outputs after ``start`` tags with
        :func:`~tagstream.kernels.pq_records.decode_ps`; ``(end, last, ordered)``."""
        fmt = self.fmt
        tick, dunit = self.units.factors
        state = np.array([self.offsets[p], 0, 0], dtype=np.int64)
        chunk = self.records[self.bounds[p] : self.bounds[p + 1]]
        end, last = decode_ps(
            chunk, fmt.family, fmt.wrap, fmt.counted, tick, dunit, state,
            times, chans, dtimes, start,
        )  # fmt: skip
        return end, last, not state[STATE_UNORDERED]


def scan_pieces(
    path: Path,
    header: PtuHeader,
    records: np.ndarray,
    fmt: RecordFormat,
    units: Units,
    warnings: list[str],
) -> Pieces:
    """Tags per channel, the time of the last tag, and the state at the start of each
    piece (overflow offset, tags before it): pieces are counted independently on two
    threads and joined. Special records of unknown meaning are a warning."""
    bounds = piece_bounds(records.size)
    tick_ps = units.tick_ps

    def byte(record: int) -> int:
        """Byte offset of record number ``record`` (or the end of the records)."""
        return header.records_offset + 4 * min(record, records.size)

    def count(p: int) -> tuple[np.ndarray, np.ndarray, int]:
        counts = np.zeros(N_CHANNELS, dtype=np.int64)
        state = np.zeros(2, dtype=np.int64)
        chunk = records[bounds[p] : bounds[p + 1]]
        last = count_records(chunk, fmt.family, fmt.wrap, fmt.counted, state, counts)
        return counts, state, int(last)

    parts = list(pool().map(count, range(len(bounds) - 1)))
    per_piece = np.array([c.sum() for c, _, _ in parts], dtype=np.int64)
    added = np.array([st[0] for _, st, _ in parts], dtype=np.int64)
    reach = np.cumsum(added.astype(float)) * tick_ps  # ps, after each piece
    if reach.size and (reach[-1] + 2.0**fmt.time_bits * tick_ps) >= MAX_TIME_PS > reach[-1]:
        raise CorruptFileError(
            path,
            f"{spec.TAG_GLOBAL_RESOLUTION} {where(header, spec.TAG_GLOBAL_RESOLUTION)} = "
            f"{tick_ps / PS_PER_S:g} s makes the times reach past "
            f"{MAX_TIME_PS / 86400e12:.0f} days",
        )
    if reach.size and reach[-1] >= MAX_TIME_PS:
        p = int(np.argmax(reach >= MAX_TIME_PS))
        raise CorruptFileError(
            path,
            f"overflow records between byte offsets {byte(bounds[p])} and "
            f"{byte(bounds[p + 1])} carry the time past "
            f"{MAX_TIME_PS / 86400e12:.0f} days",
        )
    offsets = np.concatenate([[0], np.cumsum(added)])[: len(parts)]
    first = np.concatenate([[0], np.cumsum(per_piece)])  # and the total
    counts = sum((c for c, _, _ in parts), np.zeros(N_CHANNELS, dtype=np.int64))
    unknown = sum(int(st[1]) for _, st, _ in parts)
    if unknown:
        warnings.append(f"{unknown} special records of unknown meaning were skipped")
    lasts = [int(o) + got for o, (_, _, got) in zip(offsets, parts, strict=True) if got >= 0]
    last = max(lasts, default=-1)
    last_ps = -1 if last < 0 else int(to_ps(np.array([last]), tick_ps)[0])
    if fmt.mode == "T3" and last >= 0:
        last_ps += round(((1 << fmt.dtime_bits) - 1) * units.dtime_ps)
    return Pieces(records, bounds, fmt, units, offsets, first, counts, last_ps)
