"""Levels of the multi-tau correlation counted pair by pair (those below the split level ``K``
of a block, where windows hold few tags; see :mod:`~tagstream.kernels.multitau`): the pairs
within a block, the pairs with earlier tags from the history, and their move into the counts."""

from __future__ import annotations

import numpy as np
from numba import njit

from .multitau_cells import bit_length


@njit(nogil=True, cache=True)
def pairs_in_block(role_cells, roles, m, auto, n_direct, half, acc):
    """Pairs of the block's tags on levels ``< n_direct``, pair by pair.

    Each tag ``x`` looks back over the earlier tags ``y`` of the other role (of its own, in an
    auto-correlation) while their level-0 cells differ by ``D < P 2**n_direct``, and adds the pair
    to ``acc[k, role(x), d_k]`` on the levels ``k`` that own ``d_k = (c_x >> k) - (c_y >> k)``.
    As ``d_k`` is ``D / 2**k`` rounded down or up, with ``b = bit_length(D) - 1`` only level 0
    (``D < 2P``), level ``max(1, b - log2 P)`` (``d`` in ``[P, 2P]``) and the one above
    (``d = P`` at most) can own it; with ``P = 1``, ``d_k = 1`` may go on for more levels.
    Slot ``acc[k, r, 2P]`` takes ``d = 2P``; row ``n_direct`` (and the one after) take levels
    that are not counted pair by pair, with a zero increment.
    """
    size = 2 * half
    log_half = bit_length(half) - 1
    reach = np.int64(half) << n_direct
    seen_a = 0
    seen_b = 0
    for s in range(m):
        r = np.int64(roles[s])
        o = 0 if auto else 1 - r
        cx = role_cells[r, seen_b if r else seen_a]
        j = (seen_b if o else seen_a) - 1
        seen_a += 1 - r
        seen_b += r
        while j >= 0:
            cy = role_cells[o, j]
            dist = cx - cy
            if dist >= reach:
                break
            if dist < size:
                acc[0, r, dist] += 1
            k = max(1, bit_length(dist) - 1 - log_half)
            d = (cx >> k) - (cy >> k)
            acc[k, r, d] += np.int64(d >= half) & np.int64(d < size) & np.int64(k < n_direct)
            k += 1
            d = (cx >> k) - (cy >> k)
            acc[k, r, d] += np.int64(d == half) & np.int64(k < n_direct)
            if half == 1:
                k += 1
                while k < n_direct and (cx >> k) - (cy >> k) == 1:
                    acc[k, r, 1] += 1
                    k += 1
            j -= 1


@njit(nogil=True, cache=True)
def pairs_with_history(role_cells, n_a, n_b, auto, n_direct, half, s0, hist, acc):
    """Pairs of the block's tags with earlier tags on levels ``< n_direct``, from the history."""
    size = 2 * half
    top = n_direct - 1
    for r in range(1 if auto else 2):
        o = 0 if auto else 1 - r
        n_r = n_a if r == 0 else n_b
        for i in range(n_r):
            cx = role_cells[r, i]
            if (cx >> top) - (s0 >> top) >= size:
                break  # this and all later tags are beyond every history window
            for k in range(n_direct):
                gap = (cx >> k) - (s0 >> k)
                if gap >= size:
                    continue
                lo = 0 if k == 0 else half
                for d in range(max(lo, gap), size):
                    acc[k, r, d] += hist[k, o, size - 1 + gap - d]


@njit(nogil=True, cache=True)
def add_pair_counts(acc, n_direct, half, auto, counts_ab, counts_ba):
    """Move the pair-by-pair counts of a block into the result and clear them."""
    size = 2 * half
    for k in range(n_direct):
        for d in range(1 if k == 0 else half, size):
            if auto:
                counts_ab[k, d] += acc[k, 0, d]
            else:
                counts_ab[k, d] += acc[k, 1, d]
                counts_ba[k, d] += acc[k, 0, d]
    if n_direct > 0:
        same = acc[0, 0, 0] + acc[0, 1, 0]  # found once per pair, by its later tag
        counts_ab[0, 0] += 2 * same if auto else same
    acc[: n_direct + 1] = 0
