"""Decay (lifetime) histograms per detector: from T3 nanotimes, or in T2 from the delay since the
preceding sync tag."""

from __future__ import annotations

from numba import njit

from .divide import divide

NO_SYNC = -(1 << 62)


@njit(nogil=True, cache=True)
def decay_histogram_t3(channels, nanotimes, row_of_channel, start, mult, shift, hist):
    """Add T3 nanotimes to per-channel histograms.

    Parameters
    ----------
    channels : uint8[n]
    nanotimes : int[n]
        Micro-times in nanotime units.
    row_of_channel : int16[256]
        Histogram row of each channel, -1 to ignore it.
    start : int
        First nanotime of the histogram range.
    mult, shift : int
        ``magic_divisor(bin width in nanotime units)``.
    hist : int64[rows, bins]
        Bin ``k`` holds nanotimes in ``[start + k w, start + (k + 1) w)``; others are dropped.
    """
    n_bins = hist.shape[1]
    for i in range(channels.shape[0]):
        row = row_of_channel[channels[i]]
        offset = nanotimes[i] - start
        if row >= 0 and 0 <= offset < (1 << 31):
            k = divide(offset, mult, shift)
            if k < n_bins:
                hist[row, k] += 1


@njit(nogil=True, cache=True)
def decay_histogram_t2(
    timestamps, channels, sync_channel, row_of_channel, start, mult, shift, last_sync, hist
):
    """Add the delay of each photon since the preceding sync tag to per-channel histograms.

    Parameters
    ----------
    timestamps : int64[n]
    channels : uint8[n]
    sync_channel : int
    row_of_channel : int16[256]
        Histogram row of each channel, -1 to ignore it.
    start : int
        Smallest delay of the histogram range, ps.
    mult, shift : int
        ``magic_divisor(bin width in ps)``; the range must be shorter than ``2**31`` ps.
    last_sync : int64[1]
        Time of the latest sync so far (:data:`NO_SYNC` if none); updated in place.
    hist : int64[rows, bins]
    """
    n_bins = hist.shape[1]
    limit = n_bins  # bins beyond the range are dropped
    sync = last_sync[0]
    for i in range(timestamps.shape[0]):
        ch = channels[i]
        if ch == sync_channel:
            sync = timestamps[i]
            continue
        row = row_of_channel[ch]
        if row >= 0 and sync != NO_SYNC:
            offset = timestamps[i] - sync - start
            if 0 <= offset < (1 << 31):
                k = divide(offset, mult, shift)
                if k < limit:
                    hist[row, k] += 1
    last_sync[0] = sync
