"""Decoding a PicoQuant file's pieces into batches, two pieces at a time on two worker threads,
straight into the arrays the batches are views of (a batch's tags are written once).

Each round of two pieces is queued before the round ahead of it is finished, so the workers do
not wait for the batches to be cut: it goes after the tags held back (not yet handed out) when
the arrays have room, else into other arrays behind room for them, where they are copied
meanwhile. Memory stays bounded by the batch duration and
:data:`~.ptu_pieces.PIECE_RECORDS`, whatever the file size. A batch is handed out once no later
record can reach back into it: a tag more than :data:`MARKER_REACH_PS` earlier than tags
recorded before it (only in damaged files) is left out and counted.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Generator

import numpy as np

from ..kernels.pq_records import settle
from ..tags import TagBatch
from .ptu_pieces import Pieces, pool

#: The arrays :func:`cut_batches` decodes into hold this many rounds of two pieces, so that
#: the tags held back between rounds are moved to other arrays only now and then.
ROUNDS_PER_BUFFER = 2
#: How far a marker may precede the photons recorded before it, ps.
MARKER_REACH_PS = 10**7

#: Makes the batch ``[a, b)`` of times, channels and dtimes.
MakeBatch = Callable[[int, int, np.ndarray, np.ndarray, np.ndarray], TagBatch]


def cut_batches(
    pieces: Pieces, spare: Spare, span: int, t_begin: int, t_end: int, make_batch: MakeBatch
) -> Generator[TagBatch, None, int]:
    """Consecutive batches of ``span`` ps from ``t_begin`` to ``t_end`` (the last one
    shorter); returns the number of tags left out as out of time order."""
    late = 0
    room = 0  # the largest batch so far, tags
    a = t_begin
    held = 0  # decoded tags not yet handed out, at the front of the buffers
    arrays = spare.take((ROUNDS_PER_BUFFER + 1) * 2 * pieces.longest, None)
    bufs = arrays  # views of the arrays from the first held tag on
    pending = _start_round(pieces, 0, bufs, held)
    for p in range(0, pieces.count, 2):
        # queue the next round: at most this many tags are held back after this one
        reach = held + pieces.round_tags(p)
        nxt = pieces.round_tags(p + 2)
        ahead = new = None
        if p + 2 < pieces.count:
            if reach + nxt <= bufs[0].size:  # after the held tags
                ahead = _start_round(pieces, p + 2, bufs, reach)
            else:  # other arrays, behind room for the held tags
                size = max(reach, room) + ROUNDS_PER_BUFFER * 2 * pieces.longest
                new = spare.take(size, arrays)
                ahead = _start_round(pieces, p + 2, new, reach)
        end, last = _finish_round(pending, bufs, held)
        times, chans, dtimes = bufs
        # later records hold nothing earlier than this
        done = last - MARKER_REACH_PS if end > held else a
        j = int(np.searchsorted(times[:end], a, side="left"))
        late += j  # earlier than what was handed out already: left out
        first = j
        cuts = []
        while a + span <= done:
            b = a + span
            k = j + int(np.searchsorted(times[j:end], b, side="left"))
            cuts.append((a, b, j, k))
            j, a = k, b
        held = end - j
        room = max(room, j - first)
        if new is None:
            new_bufs = tuple(arr[j:] for arr in bufs)
        else:  # the held tags move to the front of the next round
            new_bufs = tuple(arr[reach - held :] for arr in new)
            for i in range(3):
                new_bufs[i][:held] = bufs[i][j:end]
            spare.keep(arrays)
            arrays = new
        pending = ahead
        for a0, b0, j0, k0 in cuts:  # while the next pieces are decoded
            yield make_batch(a0, b0, times[j0:k0], chans[j0:k0], dtimes[j0:k0])
        bufs = new_bufs
    times, chans, dtimes = bufs
    j = 0
    while a < t_end:
        b = min(a + span, t_end)
        k = j + int(np.searchsorted(times[j:held], b, side="left"))
        yield make_batch(a, b, times[j:k], chans[j:k], dtimes[j:k])
        j, a = k, b
    return late


def decode_all(pieces: Pieces) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every tag's time (int64 ps), channel and dtime, in time order: the pieces decoded on
    two threads straight into the arrays."""
    n = int(pieces.counts.sum())
    times = np.empty(n, dtype=np.int64)
    chans = np.empty(n, dtype=np.uint8)
    dtimes = np.zeros(n, dtype=np.uint16)

    def piece(p: int) -> bool:
        at = int(pieces.first[p])
        views = times[at:], chans[at:], dtimes[at:]
        return pieces.decode(p, *views, 0)[2]

    ordered = all(list(pool().map(piece, range(pieces.count))))
    for at in pieces.first[1:-1]:
        ordered = ordered and settle(times, chans, dtimes, int(at), n)
    if not ordered:
        _sort_stably(times, chans, dtimes, n)
    return times, chans, dtimes


def _start_round(pieces: Pieces, p: int, bufs: tuple, at: int) -> tuple:
    """Queue pieces ``p`` and ``p + 1`` for the worker threads, to be decoded into
    ``bufs`` from index ``at`` on; the workers leave what is before alone (it may still be
    being copied in). ``(jobs, tags of piece p)``."""
    mid = at + pieces.tags(p)
    jobs = []
    for q, to in ((p, at), (p + 1, mid)):
        if q < pieces.count:
            views = tuple(arr[to:] for arr in bufs)
            jobs.append(pool().submit(pieces.decode, q, *views, 0))
    return jobs, mid - at


def _finish_round(pending: tuple, bufs: tuple, held: int) -> tuple[int, int]:
    """Wait for a round decoded into ``bufs`` after ``held`` tags; the held tags and its
    pieces joined in time order. ``(end, last)``."""
    jobs, first = pending
    end, last, ordered = held, -1, True
    for job, at in zip(jobs, (held, held + first), strict=False):
        got, last_p, ordered_p = job.result()
        if got:
            end = at + got
            last = max(last, last_p)
            ordered = ordered and ordered_p and settle(*bufs, at, end)
    if not ordered:  # damaged or unusual: sort what is held
        _sort_stably(*bufs, end)
    return end, last


def _buffers(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times, channels and dtimes for ``size`` tags."""
    return (
        np.empty(size, dtype=np.int64),
        np.empty(size, dtype=np.uint8),
        np.empty(size, dtype=np.uint16),
    )


class Spare:
    """Buffers for :func:`cut_batches`, reused once no batch is a view of them any more
    (fresh memory costs more than decoding on some machines)."""

    KEEP = 3

    def __init__(self):
        self.pool: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def take(self, size: int, busy: tuple | None) -> tuple:
        """Buffers for at least ``size`` tags that no batch is a view of, other than
        ``busy``."""
        for bufs in self.pool:
            # referenced by this list, the loop and getrefcount's argument: no batch views
            if bufs is not busy and bufs[0].size >= size and not _viewed(bufs):
                return bufs
        return _buffers(size + size // 4)  # room for the next request, a little larger

    def keep(self, bufs: tuple) -> None:
        """Keep ``bufs`` for reuse once their batches are gone."""
        if not any(kept is bufs for kept in self.pool):
            self.pool.append(bufs)
            del self.pool[: -self.KEEP]


def _viewed(bufs: tuple) -> bool:
    """Whether anything but the caller's references holds one of the arrays."""
    return any(sys.getrefcount(arr) > 3 for arr in bufs)


def _sort_stably(times: np.ndarray, chans: np.ndarray, dtimes: np.ndarray, n: int) -> None:
    """Put the first ``n`` tags in time order in place, ties in their present order."""
    order = np.argsort(times[:n], kind="stable")
    times[:n] = times[:n][order]
    chans[:n] = chans[:n][order]
    dtimes[:n] = dtimes[:n][order]
