"""Stored clock counts to picoseconds in one pass (what ``tags.units.to_ps`` computes with
several numpy passes and temporaries; that function is the reference in the tests).

A count of a unit ``u`` ps is ``raw * floor(u) + rint(raw * (u - floor(u)))`` ps (ties to
even); ``fraction`` is 0 for units that are whole picoseconds, which then convert exactly.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True, inline="always")
def _ps(raw, floor_ps, fraction):
    value = np.int64(raw) * floor_ps
    if fraction != 0.0:
        value += np.int64(np.rint(np.float64(raw) * fraction))
    return value


@njit(nogil=True, cache=True)
def counts_to_ps(raw, floor_ps, fraction, out):
    """Write ``raw`` (integer counts of a unit) into the int64 array ``out`` as ps.

    Parameters
    ----------
    raw : int[n]
    floor_ps : int64
        The unit's whole picoseconds.
    fraction : float
        The rest of the unit, ps (0 for a whole number of ps).
    out : int64[n]
    """
    for i in range(raw.size):
        out[i] = _ps(raw[i], floor_ps, fraction)


@njit(nogil=True, cache=True)
def sync_counted_ps(carry_ps, macro_ps, nanotimes, floor_ps, fraction, out):
    """Absolute times of T3 tags after those carried over from the last batch.

    ``out[:m]`` gets ``carry_ps`` (m values), ``out[m + i]`` the sync time ``macro_ps[i]``
    plus the nanotime ``nanotimes[i]`` converted as in :func:`counts_to_ps`.

    Returns
    -------
    bool
        Whether ``out`` is non-decreasing (then it needs no sort).
    """
    m = carry_ps.size
    in_order = True
    previous = np.int64(-(2**62))
    for i in range(m):
        t = carry_ps[i]
        if t < previous:
            in_order = False
        out[i] = t
        previous = t
    for i in range(macro_ps.size):
        t = macro_ps[i] + _ps(nanotimes[i], floor_ps, fraction)
        if t < previous:
            in_order = False
        out[m + i] = t
        previous = t
    return in_order
