"""Checks over timestamp arrays, at memory speed."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def first_out_of_order(ts: np.ndarray, t_begin: np.int64, t_end: np.int64) -> np.int64:
    """Index of the first timestamp that lies before its predecessor or outside
    ``[t_begin, t_end)``; -1 when there is none.

    Parameters
    ----------
    ts
        int64 timestamps, ps.
    t_begin, t_end
        The span they must lie in, ps.
    """
    previous = t_begin
    for i in range(ts.size):
        t = ts[i]
        if t < previous or t >= t_end:
            return i
        previous = t
    return -1
