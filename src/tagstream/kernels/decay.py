"""Decay (lifetime) histograms per detector: from T3 nanotimes, or in T2 from the delay since the
preceding sync tag.

Offsets are tested as unsigned integers, so that one comparison rejects both delays before the
range (negative offsets wrap to huge values) and after it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .divide import DIVIDEND_BITS, POWER_OF_TWO_MULT, divide

NO_SYNC = -(1 << 62)
_DIVIDEND_LIMIT = np.uint64(1 << DIVIDEND_BITS)


@njit(nogil=True, cache=True, boundscheck=False)
def decay_histogram_t3(channels, nanotimes, row_of_channel, start, mult, shift, hist):
    """Add T3 nanotimes to per-channel histograms.

    Parameters
    ----------
    channels : uint8[n]
    nanotimes : int[n]
        Micro-times in nanotime units.
    row_of_channel : int64[256]
        Histogram row of each channel, -1 for channels not histogrammed.
    start : int
        First nanotime of the histogram range.
    mult, shift : int
        ``magic_divisor(bin width in nanotime units)``.
    hist : int64[rows, bins]
        Bin ``k`` holds nanotimes in ``[start + k w, start + (k + 1) w)``; others are dropped.
    """
    n_bins = np.uint64(hist.shape[1])
    # offsets are compared as unsigned numbers: a negative one becomes huge and fails the test
    if mult == POWER_OF_TWO_MULT:  # a power-of-two bin: shift instead of multiply
        sh = np.uint64(shift - DIVIDEND_BITS)
        for i in range(channels.shape[0]):
            row = row_of_channel[channels[i]]
            k = np.uint64(nanotimes[i] - start) >> sh
            if row >= 0 and k < n_bins:
                hist[row, k] += 1
    else:
        for i in range(channels.shape[0]):
            row = row_of_channel[channels[i]]
            offset = nanotimes[i] - start
            if row >= 0 and np.uint64(offset) < _DIVIDEND_LIMIT:
                k = divide(offset, mult, shift)
                if k < n_bins:
                    hist[row, k] += 1


@njit(nogil=True, cache=True, boundscheck=False)
def decay_histogram_t2(
    timestamps, channels, sync_channel, row_of_channel, start, mult, shift, last_sync, hist
):
    """Add the delay of each photon since the preceding sync tag to per-channel histograms.

    Parameters
    ----------
    timestamps : int64[n]
    channels : uint8[n]
    sync_channel : int
    row_of_channel : int64[256]
        Histogram row of each channel, -1 for channels not histogrammed.
    start : int
        Smallest delay of the histogram range, ps.
    mult, shift : int
        ``magic_divisor(bin width in ps)``.
    last_sync : int64[1]
        Time of the latest sync so far (:data:`NO_SYNC` if none); updated in place.
    hist : int64[rows, bins]
    """
    n_bins = np.uint64(hist.shape[1])
    sync = last_sync[0]
    # without a sync so far the offset is about 2**62: too large, like any out-of-range delay
    pow2 = mult == POWER_OF_TWO_MULT
    sh = np.uint64(shift - DIVIDEND_BITS)
    for i in range(timestamps.shape[0]):
        ch = channels[i]
        if ch == sync_channel:
            sync = timestamps[i]
            continue
        row = row_of_channel[ch]
        offset = np.uint64(timestamps[i] - sync - start)
        if row >= 0 and offset < _DIVIDEND_LIMIT:
            k = offset >> sh if pow2 else np.uint64(divide(np.int64(offset), mult, shift))
            if k < n_bins:
                hist[row, k] += 1
    last_sync[0] = sync


@njit(nogil=True, cache=True)
def last_sync_before(timestamps, channels, sync_channel, start, end):
    """Time of the last sync tag among tags ``start .. end - 1`` (:data:`NO_SYNC` if none)."""
    for i in range(end - 1, start - 1, -1):
        if channels[i] == sync_channel:
            return timestamps[i]
    return NO_SYNC
