"""Tags counted in consecutive time bins: the intensity trace, and per-bin delay sums for FLID.

Count arrays carry one scratch row (the last): tags of channels nobody asked for land there, and
a few channels are counted with one compare each (unused compares repeat the first channel into
the scratch row), so the hot loops need no branches; callers discard it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .decay import NO_SYNC

DENSE_TAGS_PER_BIN = 32  # from here on, bins are counted as ranges of the sorted tags
_STEP_LIMIT = 8  # pauses longer than this many bins are crossed by one division


@njit(nogil=True, cache=True, inline="always")
def time_bin(t, t0, bin_width, first_bin):
    """The column of the time bin holding ``t`` (bin ``b`` covers ``[t0 + b w, t0 + (b + 1) w)``
    and is column ``b - first_bin``) and the end of that bin."""
    b = (t - t0) // bin_width
    return b - first_bin, t0 + (b + 1) * bin_width


@njit(nogil=True, cache=True, boundscheck=False)
def _end_of_bin(timestamps, i, edge):
    """First index ``>= i`` whose time is ``>= edge`` (galloping, then bisection)."""
    n = timestamps.shape[0]
    if timestamps[i] >= edge:
        return i
    lo = i
    step = 1
    hi = i + 1
    while hi < n and timestamps[hi] < edge:
        lo = hi
        step <<= 1
        hi = lo + step
    if hi > n:
        hi = n
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if timestamps[mid] < edge:
            lo = mid
        else:
            hi = mid
    return hi


@njit(nogil=True, cache=True, boundscheck=False)
def _bin_counts_dense(timestamps, channels, channel_of_row, t0, bin_width, first_bin, counts):
    """Bins holding many tags: find each bin's range of tags, then count up to four channels in
    one pass over it. Missing channels repeat the first one into the scratch row ``rows``."""
    n = timestamps.shape[0]
    n_rows = channel_of_row.shape[0]
    c0 = channel_of_row[0]
    c1 = channel_of_row[1] if n_rows > 1 else c0
    c2 = channel_of_row[2] if n_rows > 2 else c0
    c3 = channel_of_row[3] if n_rows > 3 else c0
    i = 0
    while i < n:
        b = (timestamps[i] - t0) // bin_width
        j = _end_of_bin(timestamps, i, t0 + (b + 1) * bin_width)
        col = b - first_bin
        if n_rows <= 2:
            s0 = 0
            s1 = 0
            for q in range(i, j):
                c = channels[q]
                s0 += c == c0
                s1 += c == c1
            counts[0, col] += s0
            counts[1, col] += s1
        else:
            s0 = 0
            s1 = 0
            s2 = 0
            s3 = 0
            for q in range(i, j):
                c = channels[q]
                s0 += c == c0
                s1 += c == c1
                s2 += c == c2
                s3 += c == c3
            counts[0, col] += s0
            counts[1, col] += s1
            counts[2, col] += s2
            counts[3, col] += s3
        i = j


@njit(nogil=True, cache=True, boundscheck=False)
def _bin_counts_sparse(timestamps, channels, channel_of_row, t0, bin_width, first_bin, counts):
    """Bins holding few tags, one or two channels: follow the bin edge tag by tag, counting in
    registers; the edge steps forward by one bin width (a division only after long pauses)."""
    n = timestamps.shape[0]
    c0 = channel_of_row[0]
    c1 = channel_of_row[1] if channel_of_row.shape[0] > 1 else c0
    col, edge = time_bin(timestamps[0], t0, bin_width, first_bin)
    s0 = 0
    s1 = 0
    for i in range(n):
        t = timestamps[i]
        if t >= edge:
            counts[0, col] += s0
            counts[1, col] += s1
            s0 = 0
            s1 = 0
            if t - edge < _STEP_LIMIT * bin_width:
                while t >= edge:
                    edge += bin_width
                    col += 1
            else:
                col = (t - t0) // bin_width - first_bin
                edge = t0 + (col + first_bin + 1) * bin_width
        c = channels[i]
        s0 += c == c0
        s1 += c == c1
    counts[0, col] += s0
    counts[1, col] += s1


@njit(nogil=True, cache=True, boundscheck=False)
def _bin_counts_lut(timestamps, channels, row_of_channel, t0, bin_width, first_bin, counts):
    """Any number of channels: a row per tag from the table, counted in memory."""
    n = timestamps.shape[0]
    col, edge = time_bin(timestamps[0], t0, bin_width, first_bin)
    for i in range(n):
        t = timestamps[i]
        if t >= edge:
            col, edge = time_bin(t, t0, bin_width, first_bin)
        counts[row_of_channel[channels[i]], col] += 1


@njit(nogil=True, cache=True)
def bin_counts(
    timestamps, channels, row_of_channel, channel_of_row, t0, bin_width, first_bin, counts
):
    """Count tags per channel row and time bin.

    Parameters
    ----------
    timestamps : int64[n]
        Non-decreasing, all inside the bins held by ``counts``.
    channels : uint8[n]
    row_of_channel : int16[256]
        Row of each counted channel; every other channel maps to the scratch row ``rows``.
    channel_of_row : uint8[rows]
        The counted channels, in row order.
    t0 : int
        Start of bin 0, ps.
    bin_width : int
        Bin width, ps.
    first_bin : int
        Index of the bin held in ``counts[:, 0]``.
    counts : int64[rows + 1, bins]
        Counts; the last row is scratch.
    """
    n = timestamps.shape[0]
    if n == 0:
        return
    n_bins = (timestamps[n - 1] - timestamps[0]) // bin_width + 1
    n_rows = channel_of_row.shape[0]
    if n_rows <= 4 and n >= DENSE_TAGS_PER_BIN * n_bins:
        _bin_counts_dense(timestamps, channels, channel_of_row, t0, bin_width, first_bin, counts)
    elif n_rows <= 2:
        _bin_counts_sparse(timestamps, channels, channel_of_row, t0, bin_width, first_bin, counts)
    else:
        _bin_counts_lut(timestamps, channels, row_of_channel, t0, bin_width, first_bin, counts)


@njit(nogil=True, cache=True, boundscheck=False)
def _bin_delays_t3_dense(
    timestamps, channels, nanotimes, selected, t0, bin_width, first_bin, start, stop, counts,
    timed, delay_sum,
):  # fmt: skip
    """:func:`bin_delays_t3` for bins holding many tags: each bin's range of tags, then one
    pass over it without branches."""
    n = timestamps.shape[0]
    i = 0
    while i < n:
        b = (timestamps[i] - t0) // bin_width
        j = _end_of_bin(timestamps, i, t0 + (b + 1) * bin_width)
        col = b - first_bin
        photons = 0
        in_range = 0
        total = 0
        for q in range(i, j):
            s = np.int64(selected[channels[q]])
            nt = np.int64(nanotimes[q])
            ok = s & np.int64(nt >= start) & np.int64(nt < stop)
            photons += s
            in_range += ok
            total += ok * nt
        counts[col] += photons
        timed[col] += in_range
        delay_sum[col] += total
        i = j


@njit(nogil=True, cache=True)
def bin_delays_t3(
    timestamps,
    channels,
    nanotimes,
    selected,
    t0,
    bin_width,
    first_bin,
    start,
    stop,
    counts,
    timed,
    delay_sum,
):
    """Per time bin: photons of the selected channels, and count and sum of their nanotimes that
    fall in ``[start, stop)`` (nanotime units). Bins holding many tags are summed as ranges of
    the sorted tags, without branches."""
    n = timestamps.shape[0]
    if n == 0:
        return
    if n >= DENSE_TAGS_PER_BIN * ((timestamps[n - 1] - timestamps[0]) // bin_width + 1):
        _bin_delays_t3_dense(
            timestamps, channels, nanotimes, selected, t0, bin_width, first_bin, start, stop,
            counts, timed, delay_sum,
        )  # fmt: skip
        return
    col, edge = time_bin(timestamps[0], t0, bin_width, first_bin)
    for i in range(n):
        t = timestamps[i]
        if t >= edge:
            col, edge = time_bin(t, t0, bin_width, first_bin)
        if selected[channels[i]]:
            counts[col] += 1
            nt = nanotimes[i]
            if start <= nt < stop:
                timed[col] += 1
                delay_sum[col] += nt


@njit(nogil=True, cache=True)
def bin_delays_t2(
    timestamps,
    channels,
    sync_channel,
    selected,
    t0,
    bin_width,
    first_bin,
    start,
    stop,
    last_sync,
    counts,
    timed,
    delay_sum,
):
    """As :func:`bin_delays_t3`, with the delay since the preceding sync tag (ps) in T2 data.

    ``last_sync`` (int64[1]) carries the latest sync time across batches.
    """
    n = timestamps.shape[0]
    sync = last_sync[0]
    if n == 0:
        return
    col, edge = time_bin(timestamps[0], t0, bin_width, first_bin)
    for i in range(n):
        t = timestamps[i]
        ch = channels[i]
        if ch == sync_channel:
            sync = t
            continue
        if t >= edge:
            col, edge = time_bin(t, t0, bin_width, first_bin)
        if selected[ch]:
            counts[col] += 1
            if sync != NO_SYNC:
                d = t - sync
                if start <= d < stop:
                    timed[col] += 1
                    delay_sum[col] += d
    last_sync[0] = sync
