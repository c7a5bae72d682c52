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
        Filled with the events (T2 dtimes stay untouched).

    Returns
    -------
    int
        Number of events written.
    """
    offset = state[0]
    unknown = state[1]
    k = 0
    for i in range(records.shape[0]):
        r = np.int64(records[i])
        if family == 0:
            ch = r >> 28
            t = r & 0x0FFFFFFF
            if ch == 15:
                bits = t & 0xF
                if bits == 0:
                    offset += wrap
                    continue
                ch = MARKER_BASE + bits
            times[k] = offset + t
            channels[k] = ch
            k += 1
        elif family == 1:
            ch = r >> 28
            dt = (r >> 16) & 0xFFF
            t = r & 0xFFFF
            if ch == 15:
                bits = dt & 0xF
                if bits == 0:
                    offset += wrap
                    continue
                ch = MARKER_BASE + bits
                dt = 0
            times[k] = offset + t
            channels[k] = ch
            dtimes[k] = dt
            k += 1
        elif family == 2:
            ch = (r >> 25) & 0x3F
            t = r & 0x1FFFFFF
            if r >> 31:
                if ch == 63:
                    offset += wrap * t if counted and t > 0 else wrap
                    continue
                if ch > 15:
                    unknown += 1
                    continue
                ch = MARKER_BASE + ch if ch > 0 else 0
            else:
                ch += 1
            times[k] = offset + t
            channels[k] = ch
            k += 1
        else:
            ch = (r >> 25) & 0x3F
            dt = (r >> 10) & 0x7FFF
            t = r & 0x3FF
            if r >> 31:
                if ch == 63:
                    offset += wrap * t if counted and t > 0 else wrap
                    continue
                if ch == 0 or ch > 15:
                    unknown += 1
                    continue
                ch = MARKER_BASE + ch
                dt = 0
            else:
                ch += 1
            times[k] = offset + t
            channels[k] = ch
            dtimes[k] = dt
            k += 1
    state[0] = offset
    state[1] = unknown
    return k


@njit(nogil=True, cache=True, boundscheck=False)
def count_records(records, family, wrap, counted, state, counts):
    """Count events per output channel (``counts`` int64[256], added to) without keeping them;
    returns the time of the last event (-1 if none). ``state`` as for :func:`decode_records`."""
    offset = state[0]
    unknown = state[1]
    last = np.int64(-1)
    for i in range(records.shape[0]):
        r = np.int64(records[i])
        if family <= 1:
            ch = r >> 28
            t = r & (0x0FFFFFFF if family == 0 else 0xFFFF)
            if ch == 15:
                bits = (t if family == 0 else (r >> 16)) & 0xF
                if bits == 0:
                    offset += wrap
                    continue
                ch = MARKER_BASE + bits
        else:
            ch = (r >> 25) & 0x3F
            t = r & (0x1FFFFFF if family == 2 else 0x3FF)
            if r >> 31:
                if ch == 63:
                    offset += wrap * t if counted and t > 0 else wrap
                    continue
                if ch > 15 or (ch == 0 and family == 3):
                    unknown += 1
                    continue
                ch = MARKER_BASE + ch if ch > 0 else 0
            else:
                ch += 1
        counts[ch] += 1
        last = offset + t
    state[0] = offset
    state[1] = unknown
    return last
