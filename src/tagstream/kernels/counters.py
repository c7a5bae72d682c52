"""Counts between markers: photons per channel in each interval a start marker opens, closed by
a stop marker or by the next start, with state carried from batch to batch."""

from __future__ import annotations

from numba import njit


@njit(nogil=True, cache=True)
def counts_between_markers(times, channels, start, stop, has_stop, rows, state, partial,
                           out_begin, out_end, out_counts):  # fmt: skip
    """Close the intervals that end in this batch.

    An interval opens at a tag on a ``start`` channel and takes the counted tags after it in
    stream order; it closes at the next ``stop`` tag (with ``has_stop``) or at the next
    ``start`` tag, which opens the next one (a start also closes an open interval when there
    are stop markers). A tag on a channel that is both start and stop closes, then opens.

    Parameters
    ----------
    times : int64[n]
    channels : integer[n]
    start, stop : bool[256]
        The start and stop marker channels.
    has_stop : bool
    rows : int64[256]
        Row of each counted channel in ``partial`` and ``out_counts``, -1 for the others.
    state : int64[2]
        Whether an interval is open, and where it began (ps); updated in place.
    partial : int64[k]
        Counts of the open interval; updated in place.
    out_begin, out_end : int64[>= n]
    out_counts : int64[>= n, k]
        The intervals closed.

    Returns
    -------
    int
        Intervals closed.
    """
    n_out = 0
    k = partial.shape[0]
    for i in range(times.shape[0]):
        c = channels[i]
        r = rows[c]
        if r >= 0:
            if state[0] == 1:
                partial[r] += 1
            continue
        closes = (has_stop and stop[c]) or start[c]
        if closes and state[0] == 1:
            out_begin[n_out] = state[1]
            out_end[n_out] = times[i]
            for j in range(k):
                out_counts[n_out, j] = partial[j]
                partial[j] = 0
            n_out += 1
            state[0] = 0
        if start[c]:
            state[0] = 1
            state[1] = times[i]
    return n_out
