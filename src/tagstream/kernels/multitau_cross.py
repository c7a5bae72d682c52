"""Joining two pieces of a stream correlated apart (on two threads) by the multi-tau kernel
(:mod:`~tagstream.kernels.multitau`).

The first piece is counted as usual and ends with its history at the cut (``clock`` ``s0``,
the cut's level-0 cell). The second is counted from an empty history with its clock at ``s0``:
that gives every pair inside it. What is missing are the pairs of a tag of the second piece
with an earlier tag, and those earlier tags are exactly the first piece's history (a tag in
cell ``c >= s_k`` of level ``k`` pairs over owned lags ``d < 2P`` only with cells from
``c - 2P + 1``). So they follow from the second piece's tags per cell in its first ``2P`` cells
of each level, one small product per level and lag; and the joined history is the second
piece's plus the first's moved forward to the second's clock.
"""

from __future__ import annotations

from numba import njit

from .multitau_cells import shift_history


@njit(nogil=True, cache=True)
def cross_with_history(hist, new, auto, counts_ab, counts_ba):
    """Add the pairs of later tags with the history ``hist`` (int64[L, 2, 2P], windows ending at
    cell ``s_k`` of each level).

    ``new[k, r, q]`` (int64[L, 2, 2P]) holds the later tags of role ``r`` in cell ``s_k + q`` of
    level ``k``. A pair at lag ``d`` joins a later tag in cell ``s_k + q`` with a history cell
    ``s_k + q - d``, i.e. slot ``2P - 1 + q - d``. Pairs in one cell of level 0 count in
    ``counts_ab[0, 0]`` (twice in an auto-correlation, once per order); ``counts_ba[0, 0]`` is
    left for the caller to set equal to it.
    """
    levels, _, size = hist.shape
    half = size // 2
    for k in range(levels):
        lo = 0 if k == 0 else half
        for d in range(max(lo, 1), size):
            ab = 0
            ba = 0
            for q in range(d + 1):
                slot = size - 1 + q - d
                if auto:
                    ab += new[k, 0, q] * hist[k, 0, slot]
                else:
                    ab += new[k, 1, q] * hist[k, 0, slot]
                    ba += new[k, 0, q] * hist[k, 1, slot]
            counts_ab[k, d] += ab
            counts_ba[k, d] += ba
    if auto:
        counts_ab[0, 0] += 2 * new[0, 0, 0] * hist[0, 0, size - 1]
    else:
        counts_ab[0, 0] += new[0, 0, 0] * hist[0, 1, size - 1] + new[0, 1, 0] * hist[0, 0, size - 1]


@njit(nogil=True, cache=True)
def join_history(first, s0, second, s1):
    """The history of the joined stream, into ``second`` (int64[L, 2, 2P], clock ``s1``): the
    first piece's (clock ``s0 <= s1``) moved forward to ``s1`` and added."""
    levels, roles, size = first.shape
    for k in range(levels):
        for r in range(roles):
            shift_history(first, k, r, (s1 >> k) - (s0 >> k))
            for q in range(size):
                second[k, r, q] += first[k, r, q]


@njit(nogil=True, cache=True)
def role_counts_below(timestamps, channels, role_of_channel, auto, edges, out):
    """``out[r, e]``: tags of role ``r`` (0 = A, 1 = B; B counts nothing in an auto-correlation)
    with a time before ``edges[e]`` (ps, non-decreasing), in one pass over the tags."""
    n = timestamps.shape[0]
    n_edges = edges.shape[0]
    use_b = 0 if auto else 1
    a = 0
    b = 0
    e = 0
    for i in range(n):
        t = timestamps[i]
        while e < n_edges and t >= edges[e]:
            out[0, e] = a
            out[1, e] = b
            e += 1
        if e == n_edges:
            return
        r = role_of_channel[channels[i]]
        a += r & 1
        b += (r >> 1) & use_b
    while e < n_edges:
        out[0, e] = a
        out[1, e] = b
        e += 1
