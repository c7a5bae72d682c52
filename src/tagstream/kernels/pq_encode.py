"""Encoding time tags as PicoQuant TTTR records (the inverse of :mod:`.pq_records`).

Tags arrive as times in the record's own unit (T2 ticks or T3 sync counts, non-decreasing),
the 32-bit record each would be without its time fields (``codes``: channel bits, the special
bit, marker bits) and T3 dtimes. Overflow records go in front of a tag whose time no longer
fits the time field: one record per overflow for the PicoHarp and HydraHarp V1 formats, or
records holding how many overflows they stand for (at most ``max_count`` each) for the
formats with counted overflows.
"""

from __future__ import annotations

from numba import njit

#: ``state`` entry: the time the overflow records written so far account for.
STATE_OFFSET = 0


@njit(nogil=True, cache=True)
def overflow_records(times, wrap, counted, max_count, state):
    """How many overflow records :func:`encode_records` will put among ``times``.

    Returns -1 - i when ``times[i]`` is earlier than the time before it (or the offset).
    """
    offset = state[STATE_OFFSET]
    floor = offset
    total = 0
    for i in range(times.shape[0]):
        t = times[i]
        if t < floor:
            return -1 - i
        floor = t
        n = (t - offset) // wrap
        if n > 0:
            total += (n + max_count - 1) // max_count if counted else n
            offset += n * wrap
    return total


@njit(nogil=True, cache=True, boundscheck=False)
def encode_records(times, codes, dtimes, dtime_shift, time_mask, marker_bits, overflow_code,
                   wrap, counted, max_count, state, out):  # fmt: skip
    """Write the records of ``times`` (with overflow records where needed) into ``out``.

    Parameters
    ----------
    times : int64[n]
        Non-decreasing times in the record unit (T2 ticks, T3 sync counts), at or after the
        offset in ``state``.
    codes : uint32[n]
        Each record's bits apart from the time field (and, in T3, the dtime field).
    dtimes : int64[n]
        T3 dtimes, placed at ``dtime_shift``; zeros in T2.
    dtime_shift, time_mask : int
        Where the dtime field starts; the mask of the time field (bit 0 up).
    marker_bits : int
        PicoHarp T2: 0xF, the low time bits that marker records (channel 15) give to their
        marker bits (held in ``codes``); 0 otherwise.
    overflow_code : int
        The overflow record without its count.
    wrap : int
        What one overflow adds to the time.
    counted : bool
        Overflow records carry their count (at most ``max_count``) in the time field.
    state : int64[1]
        The time accounted for by overflows so far, updated.
    out : uint32[m]
        Room for ``n`` records plus :func:`overflow_records`.

    Returns
    -------
    int
        Records written.
    """
    k = 0
    offset = state[STATE_OFFSET]
    for i in range(times.shape[0]):
        n = (times[i] - offset) // wrap
        if n > 0:
            offset += n * wrap
            if counted:
                while n > 0:
                    c = min(n, max_count)
                    out[k] = overflow_code | c
                    k += 1
                    n -= c
            else:
                for _ in range(n):
                    out[k] = overflow_code
                    k += 1
        field = (times[i] - offset) & time_mask
        if marker_bits and codes[i] >> 28 == 15:
            field &= ~marker_bits
        out[k] = codes[i] | field | (dtimes[i] << dtime_shift)
        k += 1
    state[STATE_OFFSET] = offset
    return k
