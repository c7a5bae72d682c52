"""Decoding PicoQuant TTTR records (32-bit words; layouts in :mod:`tagstream.formats.pq_spec`).

One kernel serves every record type through its family number:

0. PicoHarp T2: channel in bits 28-31, time in bits 0-27; channel 15 is special, its low 4
   time bits are marker bits, or an overflow when they are 0.
1. PicoHarp T3: channel in bits 28-31, dtime in bits 16-27, sync counter in bits 0-15; channel
   15 is special, the low 4 dtime bits are marker bits, or an overflow when they are 0.
2. HydraHarp-family T2: special bit 31, channel in bits 25-30, time in bits 0-24; special
   channel 63 is an overflow (counted: the time field holds how many, 0 meaning one), special
   channel 0 a sync, special channels 1-15 marker bits.
3. HydraHarp-family T3: special bit 31, channel in bits 25-30, dtime in bits 10-24, sync counter
   in bits 0-9; special channel 63 is an overflow (counted in the sync field), 1-15 markers.

Output channel numbers follow tagstream's convention for PicoQuant files: the sync is 0, the
HydraHarp family's detector inputs count from 1 (the front-panel numbers), PicoHarp channel
fields are kept as they are, and marker records become channel ``64 + bits``. Times are in the
record's own unit: T2 ticks, or T3 sync counts.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..tags.metadata import N_CHANNELS

#: Output channel of marker bits ``m`` is ``MARKER_BASE + m``; must match ``pq_spec``.
MARKER_BASE = 64
#: ``state`` entries: the overflow offset so far, records that are neither events nor
#: overflows, and (:func:`decode_ps`) 1 once tags were left out of time order.
STATE_OFFSET = 0
STATE_UNKNOWN = 1
STATE_UNORDERED = 2
#: Overflow offsets are counted up to this (record units) and no further.
MAX_OFFSET = 1 << 62
#: :func:`decode_ps` stops ordering by insertion after this many moves per record (then the
#: caller sorts): real files are nearly ordered, damaged ones must not take quadratic time.
MOVES_PER_RECORD = 8
#: Records from these up are special, in the PicoHarp and the HydraHarp families.
PH_LIMIT = np.int64(0xF0000000)
HH_LIMIT = np.int64(0x80000000)


@njit(nogil=True, cache=True, inline="always")
def _parse(r, family, wrap, counted):
    """One record: ``(what, time, channel, dtime)``; ``what`` is 0 for an event, 1 for an
    overflow (``time`` then holds what it adds), 2 for a special record of unknown meaning."""
    if family <= 1:
        ch = r >> 28
        if family == 0:
            t = r & 0x0FFFFFFF
            dt = np.int64(0)
            bits = t & 0xF
        else:
            t = r & 0xFFFF
            dt = (r >> 16) & 0xFFF
            bits = dt & 0xF
        if ch == 15:
            if bits == 0:
                return 1, wrap, 0, 0
            return 0, t, MARKER_BASE + bits, 0
        return 0, t, ch, dt
    ch = (r >> 25) & 0x3F
    if family == 2:
        t = r & 0x1FFFFFF
        dt = np.int64(0)
    else:
        t = r & 0x3FF
        dt = (r >> 10) & 0x7FFF
    if r >> 31:
        if ch == 63:
            return 1, wrap * t if counted and t > 0 else wrap, 0, 0
        if ch > 15 or (ch == 0 and family == 3):
            return 2, 0, 0, 0
        return 0, t, MARKER_BASE + ch if ch > 0 else 0, 0
    return 0, t, ch + 1, dt


@njit(nogil=True, cache=True, inline="always")
def _ps(raw, whole, floor, fraction):
    """``raw`` counts of a unit as ps, as :func:`tagstream.tags.units.to_ps` converts them."""
    if whole > 0:
        return raw * whole
    return raw * floor + np.int64(np.rint(raw * fraction))


@njit(nogil=True, cache=True, boundscheck=False, inline="always")
def _plain_run(records, i, m, times, channels, dtimes, k, offset, tick, dunit, layout):
    """Decode the ``m`` plain event records from ``records[i]`` (no specials among them) to
    the outputs from index ``k``: one branch-free loop the compiler vectorises (unsigned
    indices, so that no negative-index wraparound stands in the way). ``layout`` is
    ``(channel shift, channel mask, channel added, time mask, dtime shift, dtime mask)``."""
    csh, cmask, cadd, tmask, dsh, dmask = layout
    ui, uk = np.uint64(i), np.uint64(k)
    if tick[0] > 0 and dunit[0] > 0:
        tw, dw = tick[0], dunit[0]
        for q in range(np.uint64(m)):
            r = np.int64(records[ui + q])
            dt = (r >> dsh) & dmask
            times[uk + q] = (offset + (r & tmask)) * tw + dt * dw
            channels[uk + q] = ((r >> csh) & cmask) + cadd
            dtimes[uk + q] = dt
    else:
        tf, tx, df, dx = tick[1], tick[2], dunit[1], dunit[2]
        for q in range(np.uint64(m)):
            r = np.int64(records[ui + q])
            dt = (r >> dsh) & dmask
            raw = offset + (r & tmask)
            times[uk + q] = (
                raw * tf + np.int64(np.rint(raw * tx)) + dt * df + np.int64(np.rint(dt * dx))
            )
            channels[uk + q] = ((r >> csh) & cmask) + cadd
            dtimes[uk + q] = dt


@njit(nogil=True, cache=True, boundscheck=False, inline="always")
def _disorder(times, k, m, prev):
    """How many of the ``m`` tags from ``times[k]`` are earlier than the tag before them
    (``prev`` before the first); read while they are still in the cache."""
    uk, one = np.uint64(k), np.uint64(1)
    bad = np.int64(times[uk] < prev)
    for q in range(one, np.uint64(m)):
        bad += times[uk + q] < times[uk + q - one]
    return bad


@njit(nogil=True, cache=True, boundscheck=False, inline="always")
def _decode_loop(head, out, k, offset, limit, layout):
    """The loop of :func:`decode_ps` for one family, its ``layout`` constant (see
    :func:`_plain_run`; a record below ``limit`` is plain): ``(end, offset, unknown records,
    tags earlier than the one before them)``. ``head`` is ``(records, family, wrap, counted,
    tick, dunit)`` and ``out`` ``(times, channels, dtimes)`` of :func:`decode_ps`."""
    records, family, wrap, counted, tick, dunit = head
    times, channels, dtimes = out
    t3 = family & 1
    hh_overflow = family >= 2
    tmask = layout[3]
    n = np.uint64(records.shape[0])
    one = np.uint64(1)
    unknown = np.int64(0)
    bad = np.int64(0)
    prev = times[k - 1] if k > 0 else np.int64(-(1 << 62))
    i = np.uint64(0)
    while i < n:
        e = i
        while e < n and np.int64(records[e]) < limit:
            e += one
        if e > i:  # plain events
            m = np.int64(e - i)
            _plain_run(records, i, m, times, channels, dtimes, k, offset, tick, dunit, layout)
            bad += _disorder(times, k, m, prev)
            k += m
            prev = times[k - 1]
        if e == n:
            break
        r = np.int64(records[e])
        i = e + one
        if hh_overflow and r >> 25 == 0x7F:  # the common special record, first
            c = r & tmask
            offset += wrap * c if counted and c > 0 else wrap
            continue
        what, t, ch, dt = _parse(r, family, wrap, counted)
        if what == 1:
            offset += t
        elif what == 2:
            unknown += 1
        else:
            ps = _ps(offset + t, tick[0], tick[1], tick[2])
            if t3:
                ps += _ps(np.int64(dt), dunit[0], dunit[1], dunit[2])
            times[k] = ps
            channels[k] = ch
            dtimes[k] = dt
            bad += ps < prev
            prev = ps
            k += 1
    return k, offset, unknown, bad


#: Tags checked for time order at once by :func:`_order`.
ORDER_BLOCK = 64


@njit(nogil=True, cache=True, boundscheck=False)
def _order(times, channels, dtimes, first, end, moves_left):
    """Put ``[first, end)`` in time order after the ordered ``[0, first)``: blocks of
    :data:`ORDER_BLOCK` tags are checked by a vectorised loop, and only blocks holding a tag
    earlier than the one before it are settled by insertion. Returns the moves left (negative:
    stopped, the rest left as it is)."""
    one = np.uint64(1)
    b = max(first, 1)
    while b < end:
        c = min(b + ORDER_BLOCK, end)
        bad = 0
        for q in range(np.uint64(b), np.uint64(c)):
            bad += times[q] < times[q - one]
        if bad:
            moves_left = _settle(times, channels, dtimes, b, c, moves_left)
            if moves_left < 0:
                return moves_left
        b = c
    return moves_left


@njit(nogil=True, cache=True, boundscheck=False)
def _settle(times, channels, dtimes, first, end, moves_left):
    """Insertion sort of ``[first, end)`` into the ordered ``[0, first)``, ties in place;
    returns the moves left of the budget (negative: stopped, the rest stays as it is)."""
    for i in range(first, end):
        t = times[i]
        j = i
        while j > 0 and times[j - 1] > t:
            j -= 1
        if j < i:
            c, d = channels[i], dtimes[i]
            for q in range(i, j, -1):
                times[q] = times[q - 1]
                channels[q] = channels[q - 1]
                dtimes[q] = dtimes[q - 1]
            times[j], channels[j], dtimes[j] = t, c, d
            moves_left -= i - j
            if moves_left < 0:
                return moves_left
    return moves_left


@njit(nogil=True, cache=True, boundscheck=False)
def settle(times, channels, dtimes, first, end):
    """Join two ordered runs ``[0, first)`` and ``[first, end)`` whose overlap is small: move
    the second run's early tags back into place (ties stay behind). Returns False, leaving
    the arrays unordered, when that takes more than :data:`MOVES_PER_RECORD` moves per tag."""
    budget = MOVES_PER_RECORD * (end - first) + 64
    i = first
    while 0 < i < end and times[i] < times[i - 1]:
        budget = _settle(times, channels, dtimes, i, i + 1, budget)
        if budget < 0:
            return False
        i += 1
    return True


@njit(nogil=True, cache=True, boundscheck=False)
def decode_ps(records, family, wrap, counted, tick, dunit, state, times, channels, dtimes, start):
    """Decode records into ps time tags, appended in time order after ``start`` tags.

    Tags go to ``times[start:]`` etc. in record order (runs of plain event records, between
    overflow, sync and marker records, by a vectorised loop); then each tag earlier than the
    one before it is moved back among the tags before it (from index 0) until ``times[:end]``
    is in order, ties kept in record order. After :data:`MOVES_PER_RECORD`
    moves per record on average the rest is left as it is and ``state[STATE_UNORDERED]`` is
    set (the caller then sorts stably).

    Parameters
    ----------
    records : uint32[n]
    family : int
        0-3, see the module docstring.
    wrap : int
        What one overflow adds to the time.
    counted : bool
        Overflow records hold their count (HydraHarp V2 and later).
    tick, dunit : (int, int, float)
        :func:`~tagstream.tags.units.ps_factors` of the time unit (T2 tick, or T3 sync period)
        and of the T3 dtime unit (ignored in T2).
    state : int64[3]
        ``[overflow offset, unknown special records, unordered flag]``, updated.
    times : int64[m], channels : uint8[m], dtimes : uint16[m]
        Output, room for ``start + n`` tags; T2 dtimes are 0.
    start : int
        Tags already in the output.

    Returns
    -------
    end : int
        Tags in the output now.
    last : int
        ps time of the last record's sync (T3) or tag (T2); no later record holds anything
        earlier, apart from markers. -1 when the records hold no tags.
    """
    n = records.shape[0]
    offset = state[STATE_OFFSET]
    head = (records, family, wrap, counted, tick, dunit)
    out = (times, channels, dtimes)
    # constant layouts, so that the compiler specialises the loop for each family
    if family == 0:
        layout = (28, 0xF, 0, 0x0FFFFFFF, 0, 0)
        k, offset, unknown, bad = _decode_loop(head, out, start, offset, PH_LIMIT, layout)
    elif family == 1:
        layout = (28, 0xF, 0, 0xFFFF, 16, 0xFFF)
        k, offset, unknown, bad = _decode_loop(head, out, start, offset, PH_LIMIT, layout)
    elif family == 2:
        layout = (25, 0x3F, 1, 0x1FFFFFF, 0, 0)
        k, offset, unknown, bad = _decode_loop(head, out, start, offset, HH_LIMIT, layout)
    else:
        layout = (25, 0x3F, 1, 0x3FF, 10, 0x7FFF)
        k, offset, unknown, bad = _decode_loop(head, out, start, offset, HH_LIMIT, layout)
    unknown += state[STATE_UNKNOWN]
    moves_left = MOVES_PER_RECORD * n + 64 if state[STATE_UNORDERED] == 0 else -1
    if bad and moves_left >= 0:
        moves_left = _order(times, channels, dtimes, start, k, moves_left)
    state[STATE_OFFSET] = offset
    state[STATE_UNKNOWN] = unknown
    state[STATE_UNORDERED] = 0 if moves_left >= 0 else 1
    # the last event: walk back over the overflow and unknown records after it
    after = np.int64(0)
    for q in range(n - 1, -1, -1):
        what, t, _, _ = _parse(np.int64(records[q]), family, wrap, counted)
        if what == 0:
            return k, _ps(offset - after + t, tick[0], tick[1], tick[2])
        if what == 1:
            after += t
    return k, np.int64(-1)


@njit(nogil=True, cache=True, boundscheck=False, inline="always")
def _count(records, family, wrap, counted, state, tables, limit, csh, cmask, cadd, tmask):
    """The counting loop of :func:`count_records`: ``(offset, unknown, latest)``."""
    offset = state[STATE_OFFSET]
    unknown = state[STATE_UNKNOWN]
    latest = np.int64(-1)
    high = np.int64(-1)  # the largest time field since the offset last changed
    for q in range(records.shape[0]):
        r = np.int64(records[q])
        if r < limit:
            tables[q & 3, ((r >> csh) & cmask) + cadd] += 1
            high = max(high, r & tmask)
            continue
        what, t, ch, _ = _parse(r, family, wrap, counted)
        if what == 1:
            if high >= 0:
                latest = max(latest, offset + high)
                high = -1
            offset = min(offset + t, MAX_OFFSET)
        elif what == 2:
            unknown += 1
        else:
            tables[q & 3, ch] += 1
            latest = max(latest, offset + t)
    if high >= 0:
        latest = max(latest, offset + high)
    return offset, unknown, latest


@njit(nogil=True, cache=True, boundscheck=False)
def count_records(records, family, wrap, counted, state, counts):
    """Count events per output channel (``counts`` int64[256], added to) without keeping them;
    returns the time of the latest event in record units (-1 if none), which in a damaged
    file need not be the last. ``state`` as for :func:`decode_ps`; its overflow offset stops
    at :data:`MAX_OFFSET`.

    Plain event records are counted into four interleaved tables, so that a long run on one
    channel does not wait on one counter.
    """
    tables = np.zeros((4, N_CHANNELS), dtype=np.int64)
    if family <= 1:  # constant layouts, so the compiler specialises each loop
        offset, unknown, latest = _count(
            records, family, wrap, counted, state, tables, 0xF0000000, 28, 0xF, 0,
            0x0FFFFFFF if family == 0 else 0xFFFF,
        )  # fmt: skip
    else:
        offset, unknown, latest = _count(
            records, family, wrap, counted, state, tables, 0x80000000, 25, 0x3F, 1,
            0x1FFFFFF if family == 2 else 0x3FF,
        )  # fmt: skip
    for k in range(4):
        for c in range(N_CHANNELS):
            counts[c] += tables[k, c]
    state[STATE_OFFSET] = offset
    state[STATE_UNKNOWN] = unknown
    return latest
