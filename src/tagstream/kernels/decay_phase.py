"""Decay histograms folded onto the laser period: the delay of each photon after the *laser
pulse* that excited it, when the sync comes once every few pulses (a sync divider) or a detector
has a cable delay.

The raw delay ``d`` is the time since the preceding sync (T2: ``t - t_sync`` in ps; T3:
``nanotime * unit`` in ps). Photons with ``d`` outside ``[0, reach)`` are skipped (``reach``:
the delays every laser phase is recorded at equally often). The channel's delay ``offset[ch]``
and the start of the histogram (ps) are subtracted and the result folded onto
``[0, period)``:

    x = d - offset - start
    p = x - period * floor(x / period)        (the phase is start + p)

then histogrammed in bins ``floor(p / width)`` (those of the histogram's bins that exist: a
histogram spans at most one period). All arithmetic is float64, one IEEE operation at a time,
so a numpy reference computing the same expression agrees exactly.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .binning import time_bin
from .decay import NO_SYNC


@njit(nogil=True, cache=True, inline="always")
def _phase(d, period):
    """``d`` folded onto ``[0, period)`` (float64)."""
    p = d - period * np.floor(d / period)
    if p >= period:
        p -= period
    if p < 0.0:
        p += period
    return p


@njit(nogil=True, cache=True, boundscheck=False)
def decay_phase_t3(
    channels, nanotimes, row_of_channel, unit_ps, offset_ps, reach_ps, period_ps, start_ps,
    width_ps, hist,
):  # fmt: skip
    """Add T3 photons to per-channel histograms of their phase after the laser pulse.

    Parameters
    ----------
    channels : uint8[n]
    nanotimes : int[n]
        Micro-times in units of ``unit_ps``.
    row_of_channel : int64[256]
        Histogram row of each channel, -1 for channels not histogrammed.
    unit_ps : float
        Nanotime unit, ps.
    offset_ps : float64[256]
        Delay of each channel, ps, subtracted before folding.
    reach_ps : float
        Raw delays ``nanotime * unit`` at or beyond this are skipped, ps.
    period_ps, start_ps, width_ps : float
        Laser period, start of bin 0 and bin width, ps (``bins * width_ps <= period_ps``).
    hist : int64[rows, bins]
    """
    n_bins = hist.shape[1]
    for i in range(channels.shape[0]):
        c = channels[i]
        row = row_of_channel[c]
        if row < 0:
            continue
        d = nanotimes[i] * unit_ps
        if d < 0.0 or d >= reach_ps:
            continue
        k = np.floor(_phase(d - offset_ps[c] - start_ps, period_ps) / width_ps)
        if k < n_bins:
            hist[row, int(k)] += 1


@njit(nogil=True, cache=True, boundscheck=False)
def decay_phase_t2(
    timestamps, channels, sync_channel, row_of_channel, offset_ps, reach_ps, period_ps,
    start_ps, width_ps, last_sync, hist,
):  # fmt: skip
    """As :func:`decay_phase_t3`, with the raw delay since the preceding sync tag (ps) of T2 data.

    ``last_sync`` (int64[1]) carries the latest sync time across calls (:data:`NO_SYNC` if
    none: photons are then skipped).
    """
    n_bins = hist.shape[1]
    sync = last_sync[0]
    for i in range(timestamps.shape[0]):
        c = channels[i]
        if c == sync_channel:
            sync = timestamps[i]
            continue
        row = row_of_channel[c]
        if row < 0 or sync == NO_SYNC:
            continue
        d = float(timestamps[i] - sync)
        if d >= reach_ps:
            continue
        k = np.floor(_phase(d - offset_ps[c] - start_ps, period_ps) / width_ps)
        if k < n_bins:
            hist[row, int(k)] += 1
    last_sync[0] = sync


@njit(nogil=True, cache=True)
def bin_phases_t3(
    timestamps, channels, nanotimes, selected, t0, bin_width, first_bin, unit_ps, offset_ps,
    reach_ps, period_ps, start_ps, stop_ps, counts, timed, phase_sum,
):  # fmt: skip
    """Per time bin (FLID): photons of the selected channels, and how many of them have a phase
    after the laser pulse (see the module docstring; ``start_ps + p``) below ``stop_ps``, with
    the sum of those phases rounded down to whole ps.

    Parameters
    ----------
    timestamps, channels, nanotimes
        T3 tags (ps, channel numbers, nanotimes in units of ``unit_ps``).
    selected : bool[256]
    t0, bin_width, first_bin : int
        Bin ``b`` covers ``[t0 + b w, t0 + (b + 1) w)`` and is column ``b - first_bin``.
    counts, timed, phase_sum : int64[columns]
    """
    n = timestamps.shape[0]
    if n == 0:
        return
    col, edge = time_bin(timestamps[0], t0, bin_width, first_bin)
    for i in range(n):
        t = timestamps[i]
        if t >= edge:
            col, edge = time_bin(t, t0, bin_width, first_bin)
        c = channels[i]
        if selected[c]:
            counts[col] += 1
            d = nanotimes[i] * unit_ps
            if 0.0 <= d < reach_ps:
                p = start_ps + _phase(d - offset_ps[c] - start_ps, period_ps)
                if p < stop_ps:
                    timed[col] += 1
                    phase_sum[col] += np.int64(np.floor(p))


@njit(nogil=True, cache=True)
def bin_phases_t2(
    timestamps, channels, sync_channel, selected, t0, bin_width, first_bin, offset_ps, reach_ps,
    period_ps, start_ps, stop_ps, last_sync, counts, timed, phase_sum,
):  # fmt: skip
    """As :func:`bin_phases_t3`, with the raw delay since the preceding sync tag of T2 data;
    ``last_sync`` (int64[1]) carries the latest sync time across calls."""
    n = timestamps.shape[0]
    sync = last_sync[0]
    if n == 0:
        return
    col, edge = time_bin(timestamps[0], t0, bin_width, first_bin)
    for i in range(n):
        t = timestamps[i]
        c = channels[i]
        if c == sync_channel:
            sync = t
            continue
        if t >= edge:
            col, edge = time_bin(t, t0, bin_width, first_bin)
        if selected[c]:
            counts[col] += 1
            if sync != NO_SYNC:
                d = float(t - sync)
                if d < reach_ps:
                    p = start_ps + _phase(d - offset_ps[c] - start_ps, period_ps)
                    if p < stop_ps:
                        timed[col] += 1
                        phase_sum[col] += np.int64(np.floor(p))
    last_sync[0] = sync
