"""Self-overlap of a piecewise-constant coverage, for the normalisation of correlations.

A coverage is a sorted list of non-overlapping runs ``[lo, hi)`` with a value per unit inside
each run (e.g. 1 for each covered picosecond, or the covered picoseconds of each cell of a
multi-tau level). The expected number of uncorrelated pairs at a lag is proportional to
``sum_ij val_i val_j |[lo_i, hi_i) ∩ [lo_j - shift, hi_j - shift)|``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def run_overlap(lo, hi, val, shift):
    """``sum_ij val_i * val_j * |[lo_i, hi_i) ∩ [lo_j - shift, hi_j - shift)|`` (float)."""
    n = lo.shape[0]
    total = 0.0
    j0 = 0
    for i in range(n):
        while j0 < n and hi[j0] - shift <= lo[i]:
            j0 += 1
        j = j0
        while j < n and lo[j] - shift < hi[i]:
            a = lo[i] if lo[i] > lo[j] - shift else lo[j] - shift
            b = hi[i] if hi[i] < hi[j] - shift else hi[j] - shift
            if b > a:
                total += float(val[i]) * float(val[j]) * float(b - a)
            j += 1
    return total


@njit(nogil=True, cache=True)
def run_overlaps(lo, hi, val, shifts):
    """:func:`run_overlap` for each of ``shifts`` (float64 array)."""
    out = np.empty(shifts.shape[0])
    for k in range(shifts.shape[0]):
        out[k] = run_overlap(lo, hi, val, shifts[k])
    return out
