"""Triple coincidences of three tag channels as a 2-D histogram, with the two pair histograms
of the reference channel, exact in any chunking.

Roles: bit 1 = the reference channel A, bit 2 = B, bit 4 = C (three different channels). A
triple is one tag of each role with lags ``tau1 = t_B - t_A`` and ``tau2 = t_C - t_A`` both in
``[-W, W)``; it is added to ``hist[(tau1 + W) // b, (tau2 + W) // b]``. A pair (A, B) with
``t_B - t_A`` in ``[-W, W)`` is added to ``pair_ab``, likewise (A, C) to ``pair_ac``.

Every triple and every pair is counted once, when its last tag in stream order comes: the
tags before it are the *history* ``timestamps[:start]`` (carried from earlier batches) and the
batch's own earlier tags. A stream cut into batches anywhere therefore gives the same
histograms as the whole stream, as long as the history holds every tag within ``2 W`` of the
next batch's first tag (:func:`history_start`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

ROLE_A = 1
ROLE_B = 2
ROLE_C = 4


@njit(nogil=True, cache=True)
def triples(timestamps, roles, start, window, bin_width, hist, pair_ab, pair_ac):
    """Add the triples and pairs whose last tag is one of ``timestamps[start:]``.

    Parameters
    ----------
    timestamps : int64[n]
        Non-decreasing tag times, ps: the history, then the new tags.
    roles : uint8[n]
        Role of each tag (1, 2 or 4; 0 = ignored).
    start : int
        Index of the first new tag.
    window : int
        Half-width W of the lag range [-W, W), ps; a multiple of ``bin_width``.
    bin_width : int
        Lag bin width, ps.
    hist : int64[2 W / b, 2 W / b]
        Triples by (tau1, tau2) bin, added to.
    pair_ab, pair_ac : int64[2 W / b]
        Pairs (A, B) by ``t_B - t_A`` and (A, C) by ``t_C - t_A``, added to.
    """
    reach = 2 * window
    lo = 0
    for j in range(start, timestamps.shape[0]):
        role = roles[j]
        if role == 0:
            continue
        t = timestamps[j]
        while timestamps[lo] < t - reach:
            lo += 1
        if role == ROLE_A:
            _last_is_a(timestamps, roles, lo, j, t, window, bin_width, hist, pair_ab, pair_ac)
        elif role == ROLE_B:
            _last_is_other(timestamps, roles, lo, j, t, ROLE_C, window, bin_width, hist, pair_ab,
                           False)  # fmt: skip
        elif role == ROLE_C:
            _last_is_other(timestamps, roles, lo, j, t, ROLE_B, window, bin_width, hist, pair_ac,
                           True)  # fmt: skip


@njit(nogil=True, cache=True)
def _last_is_a(timestamps, roles, lo, j, t, window, bin_width, hist, pair_ab, pair_ac):
    """An A tag at ``t`` (index ``j``) closes pairs with earlier B and C tags within W, and
    triples with every earlier (B, C) couple of them."""
    for i in range(lo, j):
        if t - timestamps[i] > window:
            continue
        r = roles[i]
        row = (timestamps[i] - t + window) // bin_width
        if r == ROLE_B:
            pair_ab[row] += 1
            for k in range(lo, j):
                if roles[k] == ROLE_C and t - timestamps[k] <= window:
                    hist[row, (timestamps[k] - t + window) // bin_width] += 1
        elif r == ROLE_C:
            pair_ac[row] += 1


@njit(nogil=True, cache=True)
def _last_is_other(timestamps, roles, lo, j, t, other, window, bin_width, hist, pair, swap):
    """A B (or C, with ``swap``) tag at ``t`` closes pairs with earlier A tags at lags below W,
    and triples with each such A and every earlier tag of the ``other`` role within
    ``[-W, W)`` of that A."""
    for i in range(lo, j):
        if roles[i] != ROLE_A:
            continue
        t_a = timestamps[i]
        if t - t_a >= window:
            continue
        own = (t - t_a + window) // bin_width
        pair[own] += 1
        for k in range(lo, j):
            if roles[k] != other:
                continue
            lag = timestamps[k] - t_a
            if lag < -window or lag >= window:
                continue
            col = (lag + window) // bin_width
            if swap:
                hist[col, own] += 1
            else:
                hist[own, col] += 1


def history_start(timestamps: np.ndarray, t_next: int, window: int) -> int:
    """Index of the first tag later tags (from ``t_next`` on) can still form triples with: the
    tags within ``2 W`` before ``t_next``."""
    return int(np.searchsorted(timestamps, t_next - 2 * window, side="left"))
