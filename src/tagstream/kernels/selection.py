"""The tags of chosen channels, picked in one pass without branches; sums over photon phases."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def select_tags(timestamps, channels, selected, out_t, out_index):
    """Copy the times and indices of the tags whose channel is selected.

    Parameters
    ----------
    timestamps : int64[n]
    channels : uint8[n]
    selected : bool[256]
        True for the channels to keep.
    out_t, out_index : int64[>= n]
        Receive the kept tags' times (ps) and their indices, in order.

    Returns
    -------
    int
        Tags kept (the first entries of ``out_t`` and ``out_index``).
    """
    k = 0
    for i in range(timestamps.shape[0]):
        out_t[k] = timestamps[i]
        out_index[k] = i
        k += selected[channels[i]]
    return k


@njit(nogil=True, cache=True)
def phase_sums(phases, period_ps, decay):
    """Photons with a phase, the sum of their whole picoseconds, and their decay histogram.

    Parameters
    ----------
    phases : float64[n]
        Photon phases after the laser pulse, ps, in ``[0, period_ps)``; NaN for none.
    period_ps : float
        Laser period, ps.
    decay : int64[bins] or int64[0]
        Photons per ``period_ps / bins`` (the last bin takes any rounding up), added to; an
        empty array for none.

    Returns
    -------
    timed : int
        Photons with a phase.
    floor_sum : int
        Sum of ``floor(phase)``.
    """
    bins = decay.shape[0]
    timed = 0
    total = 0
    for i in range(phases.shape[0]):
        p = phases[i]
        if p == p:  # not NaN
            timed += 1
            total += np.int64(np.floor(p))
            if bins:
                decay[min(np.int64(p / period_ps * bins), bins - 1)] += 1
    return timed, total
