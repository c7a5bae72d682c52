"""The phase of each photon after the laser pulse that excited it (per photon, not histogrammed):
the fold of :mod:`.decay_phase`, ``p = start + fold(d - offset - start)`` on ``[0, period)``
from ``start``, with the raw delay ``d`` after the preceding sync."""

from __future__ import annotations

import numpy as np
from numba import njit

from .decay import NO_SYNC
from .decay_phase import _phase


@njit(nogil=True, cache=True, boundscheck=False)
def photon_phases_t3(
    channels, nanotimes, unit_ps, offset_ps, reach_ps, period_ps, start_ps, out,
):  # fmt: skip
    """Phases of T3 photons.

    Parameters
    ----------
    channels : uint8[n]
    nanotimes : int[n]
        Micro-times in units of ``unit_ps``.
    unit_ps : float
    offset_ps : float64[256]
        Delay of each channel, ps.
    reach_ps, period_ps, start_ps : float
        Raw delays at or beyond ``reach_ps`` are not recorded; laser period and start of the
        fold, ps.
    out : float64[n]
        Set to each photon's phase, ps, or NaN where its raw delay is not recorded.
    """
    for i in range(channels.shape[0]):
        d = nanotimes[i] * unit_ps
        if d < 0.0 or d >= reach_ps:
            out[i] = np.nan
        else:
            out[i] = start_ps + _phase(d - offset_ps[channels[i]] - start_ps, period_ps)


@njit(nogil=True, cache=True, boundscheck=False)
def photon_phases_t2(
    timestamps, channels, sync_channel, offset_ps, reach_ps, period_ps, start_ps, last_sync, out,
):  # fmt: skip
    """As :func:`photon_phases_t3`, with the raw delay since the preceding sync tag of T2 data
    (ps; NaN before the first sync and for sync tags). ``last_sync`` (int64[1]) carries the
    latest sync time across calls (:data:`~.decay.NO_SYNC` if none)."""
    sync = last_sync[0]
    for i in range(timestamps.shape[0]):
        c = channels[i]
        out[i] = np.nan
        if c == sync_channel:
            sync = timestamps[i]
            continue
        if sync == NO_SYNC:
            continue
        d = float(timestamps[i] - sync)
        if d < reach_ps:
            out[i] = start_ps + _phase(d - offset_ps[c] - start_ps, period_ps)
    last_sync[0] = sync
