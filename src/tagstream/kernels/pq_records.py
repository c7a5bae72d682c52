"""Decoding PicoQuant TTTR records (32-bit words; layouts in :mod:`tagstream.sources.pq_spec`).

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

#: Output channel of marker bits ``m`` is ``MARKER_BASE + m``; must match ``pq_spec``.
MARKER_BASE = 64
#: ``state`` entries: the overflow offset so far, records that are neither events nor overflows.
STATE_OFFSET = 0
STATE_UNKNOWN = 1


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


@njit(nogil=True, cache=True, boundscheck=False)
def decode_records(records, family, wrap, counted, state, times, channels, dtimes):
    """Decode records into events, carrying the overflow offset across calls.

    Parameters
    ----------
    records : uint32[n]
    family : int
        0-3, see the module docstring.
    wrap : int
        What one overflow adds to the time.
    counted : bool
        Overflow records hold their count (HydraHarp V2 and later).
    state : int64[2]
        ``[overflow offset, unknown special records]``, updated.
    times : int64[n], channels : uint8[n], dtimes : uint16[n]
        Filled with the events (T2 dtimes are 0).

    Returns
    -------
    int
        Number of events written.
    """
    k = 0
    for i in range(records.shape[0]):
        what, t, ch, dt = _parse(np.int64(records[i]), family, wrap, counted)
        if what == 1:
            state[STATE_OFFSET] += t
        elif what == 2:
            state[STATE_UNKNOWN] += 1
        else:
            times[k] = state[STATE_OFFSET] + t
            channels[k] = ch
            dtimes[k] = dt
            k += 1
    return k


@njit(nogil=True, cache=True, boundscheck=False)
def count_records(records, family, wrap, counted, state, counts):
    """Count events per output channel (``counts`` int64[256], added to) without keeping them;
    returns the time of the last event (-1 if none). ``state`` as for :func:`decode_records`."""
    last = np.int64(-1)
    for i in range(records.shape[0]):
        what, t, ch, _ = _parse(np.int64(records[i]), family, wrap, counted)
        if what == 1:
            state[STATE_OFFSET] += t
        elif what == 2:
            state[STATE_UNKNOWN] += 1
        else:
            counts[ch] += 1
            last = state[STATE_OFFSET] + t
    return last
