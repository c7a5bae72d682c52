"""Tags counted in consecutive time bins: the intensity trace, and per-bin delay sums for FLID."""

from __future__ import annotations

from numba import njit

from .decay import NO_SYNC


@njit(nogil=True, cache=True)
def bin_counts(timestamps, channels, row_of_channel, t0, bin_width, first_bin, counts):
    """Count tags per channel row and time bin.

    Parameters
    ----------
    timestamps : int64[n]
        Non-decreasing, all inside the bins held by ``counts``.
    channels : uint8[n]
    row_of_channel : int16[256]
        Row of each channel, -1 to ignore it.
    t0 : int
        Start of bin 0, ps.
    bin_width : int
        Bin width, ps.
    first_bin : int
        Index of the bin held in ``counts[:, 0]``.
    counts : int64[rows, bins]
    """
    n = timestamps.shape[0]
    if n == 0:
        return
    n_rows = counts.shape[0]
    b = (timestamps[0] - t0) // bin_width
    edge = t0 + (b + 1) * bin_width
    col = b - first_bin
    for i in range(n):
        t = timestamps[i]
        if t >= edge:
            b = (t - t0) // bin_width
            edge = t0 + (b + 1) * bin_width
            col = b - first_bin
        row = row_of_channel[channels[i]]
        if row >= 0 and row < n_rows:
            counts[row, col] += 1


@njit(nogil=True, cache=True)
def bin_delays_t3(timestamps, channels, nanotimes, selected, t0, bin_width, first_bin,
                  start, stop, counts, timed, delay_sum):
    """Per time bin: photons of the selected channels, and count and sum of their nanotimes that
    fall in ``[start, stop)`` (nanotime units)."""
    n = timestamps.shape[0]
    if n == 0:
        return
    b = (timestamps[0] - t0) // bin_width
    edge = t0 + (b + 1) * bin_width
    col = b - first_bin
    for i in range(n):
        t = timestamps[i]
        if t >= edge:
            b = (t - t0) // bin_width
            edge = t0 + (b + 1) * bin_width
            col = b - first_bin
        if selected[channels[i]]:
            counts[col] += 1
            nt = nanotimes[i]
            if start <= nt < stop:
                timed[col] += 1
                delay_sum[col] += nt


@njit(nogil=True, cache=True)
def bin_delays_t2(timestamps, channels, sync_channel, selected, t0, bin_width, first_bin,
                  start, stop, last_sync, counts, timed, delay_sum):
    """As :func:`bin_delays_t3`, with the delay since the preceding sync tag (ps) in T2 data.

    ``last_sync`` (int64[1]) carries the latest sync time across batches.
    """
    n = timestamps.shape[0]
    sync = last_sync[0]
    if n == 0:
        return
    b = (timestamps[0] - t0) // bin_width
    edge = t0 + (b + 1) * bin_width
    col = b - first_bin
    for i in range(n):
        t = timestamps[i]
        ch = channels[i]
        if ch == sync_channel:
            sync = t
            continue
        if t >= edge:
            b = (t - t0) // bin_width
            edge = t0 + (b + 1) * bin_width
            col = b - first_bin
        if selected[ch]:
            counts[col] += 1
            if sync != NO_SYNC:
                d = t - sync
                if start <= d < stop:
                    timed[col] += 1
                    delay_sum[col] += d
    last_sync[0] = sync
