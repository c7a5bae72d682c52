"""Nanotime gates: which photons arrived within a window of delays after the laser pulse.

A photon of a gated channel is kept when its phase after the laser pulse (the fold of
:mod:`.decay_phase`: raw delay ``d`` after the sync, less the channel's delay, folded onto the
laser period from ``start``)

    p = start + fold(d - offset - start)

lies below ``stop``; photons whose raw delay is not recorded (outside ``[0, reach)``, or T2
photons before the first sync) are dropped. Tags of channels that are not gated (the sync,
markers) are always kept.
"""

from __future__ import annotations

from numba import njit

from .decay import NO_SYNC
from .decay_phase import _phase


@njit(nogil=True, cache=True, boundscheck=False)
def gate_t3(
    channels, nanotimes, gated, unit_ps, offset_ps, reach_ps, period_ps, start_ps, stop_ps, keep,
):  # fmt: skip
    """Mark the T3 tags inside the gate.

    Parameters
    ----------
    channels : uint8[n]
    nanotimes : int[n]
        Micro-times in units of ``unit_ps``.
    gated : bool[256]
        Channels the gate applies to.
    unit_ps : float
        Nanotime unit, ps.
    offset_ps : float64[256]
        Delay of each channel, ps.
    reach_ps, period_ps, start_ps, stop_ps : float
        Longest recorded raw delay, laser period, and the gate ``[start, stop)``, ps.
    keep : bool[n]
        Set to whether each tag is kept.
    """
    for i in range(channels.shape[0]):
        c = channels[i]
        if not gated[c]:
            keep[i] = True
            continue
        d = nanotimes[i] * unit_ps
        if d < 0.0 or d >= reach_ps:
            keep[i] = False
            continue
        keep[i] = start_ps + _phase(d - offset_ps[c] - start_ps, period_ps) < stop_ps


@njit(nogil=True, cache=True, boundscheck=False)
def gate_t2(
    timestamps, channels, sync_channel, gated, offset_ps, reach_ps, period_ps, start_ps, stop_ps,
    last_sync, keep,
):  # fmt: skip
    """As :func:`gate_t3`, with the raw delay since the preceding sync tag (ps) of T2 data;
    ``last_sync`` (int64[1]) carries the latest sync time across calls (:data:`NO_SYNC` if
    none)."""
    sync = last_sync[0]
    for i in range(timestamps.shape[0]):
        c = channels[i]
        if c == sync_channel:
            sync = timestamps[i]
        if not gated[c]:
            keep[i] = True
            continue
        if sync == NO_SYNC:
            keep[i] = False
            continue
        d = float(timestamps[i] - sync)
        if d >= reach_ps:
            keep[i] = False
            continue
        keep[i] = start_ps + _phase(d - offset_ps[c] - start_ps, period_ps) < stop_ps
    last_sync[0] = sync
