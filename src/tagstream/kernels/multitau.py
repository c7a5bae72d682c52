"""Log-binned (multi-tau) correlation of time tags, exact on its bins and in any chunking.

Bins
----
Level ``k`` sees time in cells of ``dt_k = dt0 * 2**k`` ps: tag ``t`` lies in cell
``c = floor(t / dt_k)``, so its level-``k`` cell is its level-0 cell shifted right by ``k``.
Level ``k`` counts, for the lags ``m`` it owns (``0 <= m < 2P`` at level 0, ``P <= m < 2P`` above),
the ordered pairs of tags (A, B) whose cells differ by ``m``:

* ``counts_ab[k, m]``: pairs with ``cell(B) - cell(A) = m`` (B after A);
* ``counts_ba[k, m]``: pairs with ``cell(A) - cell(B) = m`` (A after B).

Pairs in one cell (``m = 0``, level 0 only) count in both directions, so ``counts_ba[0, 0]`` is
kept equal to ``counts_ab[0, 0]``. An auto-correlation (A = B) counts ordered pairs of distinct
tags; there ``counts_ba`` equals ``counts_ab``.

Counting
--------
Counts are updated incrementally: a call adds every pair that involves at least one of its tags,
so they are complete after every call and a finished stream needs no flush. Pairs with an earlier
tag come from the *history*: per level and channel, the number of tags in each of the ``2P``
cells ``s_k - 2P + 1 .. s_k``, where ``s_k = s0 >> k`` and ``s0`` (``clock``) is the first
level-0 cell that may still receive tags, i.e. ``t_end // dt0`` of the last call. Those are all
the earlier cells a new tag (cell ``>= s_k``) can pair with.

Each call cuts its batch into blocks (at most ``B`` tags, sized for the processor's caches) and
splits the levels of each block at ``K``, chosen per block so that cells of level ``K`` are about
as wide as the typical gap between its tags (:func:`_pick_split`):

* levels ``k < K`` (few tags per window): *pair by pair*. Every tag looks back over the earlier
  tags of the other channel within ``P 2**K`` level-0 cells, and each such pair is added to the
  one or two levels where its cell difference is an owned lag (found from the bit length of the
  difference). Pairs with earlier blocks come from the history.
* levels ``k >= K`` (many tags per window): *cell arrays*. The block's tags are counted per cell
  of level ``K`` (then halved from level to level) and placed after the history; each owned lag
  ``d`` is then a dot product ``sum_c B[c] A[c - d]`` over the cells with new tags, minus the
  old-with-old term. A block also ends before it spans more than ``M`` cells of level ``K`` or
  a pause longer than ``M / 4`` of them, so that the arrays never sweep long dark stretches.

Both keep the same history, so ``K`` may change from block to block without affecting the counts.

Arrays
------
State (int64), for ``L`` levels, roles 0 = A and 1 = B, ``R = 2P``:

* ``hist[L, 2, R]``: tags per cell ``s_k - R + 1 + q`` of each role;
* ``clock[1]``: ``s0``, or :data:`UNSET` before the first tag;
* ``counts_ab[L, R]``, ``counts_ba[L, R]``: the result.

Work (contents irrelevant between calls), for blocks of ``B`` tags and dense spans of ``M`` cells:
``cells[B]`` and ``role_cells[2, B]`` (int64), ``roles[B]`` (uint8), ``rows[2, 2, M + 2R]`` and
``pair_acc[L + 2, 2, R + 1]`` (int64); see :func:`multitau_work`.

Modules
-------
Tags are placed in level-0 cells without integer division (:func:`~.multitau_cells.floor_cells`).
The pair-by-pair levels are in :mod:`~tagstream.kernels.multitau_pairs`, the cell-array levels in
:mod:`~tagstream.kernels.multitau_dense`, the cells and their history windows in
:mod:`~tagstream.kernels.multitau_cells`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .multitau_cells import bit_length, floor_cells, update_history
from .multitau_dense import dense_levels
from .multitau_pairs import add_pair_counts, pairs_in_block, pairs_with_history

UNSET = np.iinfo(np.int64).min
"""``clock`` of a correlation that has not seen a tag yet."""


def multitau_work(levels: int, half: int, block: int = 8192, span: int = 16384) -> tuple:
    """Work buffers for :func:`multitau_process`: blocks of ``block`` tags, dense spans of
    ``span`` cells, ``levels`` levels of ``2 * half`` lags."""
    size = 2 * half
    return (
        np.zeros(block, np.int64),
        np.zeros((2, block), np.int64),
        np.zeros(block, np.uint8),
        np.zeros((2, 2, span + 2 * size), np.int64),
        np.zeros((levels + 2, 2, size + 1), np.int64),
    )


@njit(nogil=True, cache=True)
def _pick_split(cells, channels, n, role_of_channel, n_levels):
    """Level ``K`` from which a block is counted on cell arrays.

    Pairs cost in proportion to the tags within ``P 2**K`` cells of each tag, cell arrays in
    proportion to the cells of level ``K`` the block spans; the sum is least when cells of level
    ``K`` are about as wide as the typical gap between tags. ``K`` is the bit length (in level-0
    cells) that three quarters of the gaps between A and B tags do not exceed, less 2: on Poisson
    streams of 0.1-10 M tags/s per channel that is the fastest choice, and up to a quarter of
    long pauses, or three quarters of coincident tags, do not move it.

    Returns ``K`` (``n_levels`` for fewer than two tags), the cell of the first A or B tag and
    the number of those tags.
    """
    bins = np.zeros(65, np.int64)
    first = np.int64(0)
    prev = np.int64(0)
    m = 0
    for i in range(n):
        if role_of_channel[channels[i]] & 3:
            c = cells[i]
            if m == 0:
                first = c
            else:
                bins[bit_length(c - prev)] += 1
            prev = c
            m += 1
    if m < 2:
        return n_levels, first, m
    below = 0
    k = 0
    while 4 * (below + bins[k]) < 3 * (m - 1):
        below += bins[k]
        k += 1
    return max(0, min(n_levels, k - 2)), first, m


@njit(nogil=True, cache=True)
def _block_end(cells, n, k, first, span):
    """Number of tags of a block counted on cell arrays from level ``k``: its cells of level
    ``k`` must fit ``span`` cells from the first, and it ends before a pause of more than
    ``span / 4`` of them (cheaper to skip as a new block than to sweep on the arrays)."""
    top = (first >> k) + span - 1
    pause = span // 4
    prev = cells[0] >> k
    for i in range(1, n):
        c = cells[i] >> k
        if c >= top or c - prev > pause:
            return i
        prev = c
    return n


@njit(nogil=True, cache=True)
def _split_roles(cells, channels, n, role_of_channel, auto, role_cells, roles):
    """Cells of the A and B tags in ``role_cells[0]``/``[1]``, and the role (0 = A, 1 = B) of
    each of them in time order in ``roles``; without branches on the channel. Returns
    ``(n_a, n_b)``."""
    use_b = 0 if auto else 1
    n_a = 0
    n_b = 0
    for i in range(n):
        r = role_of_channel[channels[i]]
        is_a = np.int64(r & 1)
        is_b = np.int64((r >> 1) & use_b)
        c = cells[i]
        role_cells[0, n_a] = c
        role_cells[1, n_b] = c
        roles[n_a + n_b] = is_b
        n_a += is_a
        n_b += is_b
    return n_a, n_b


@njit(nogil=True, cache=True)
def _process_block(
    cells,
    channels,
    n,
    role_of_channel,
    auto,
    n_direct,
    first,
    lim0,
    hist,
    clock,
    counts_ab,
    counts_ba,
    role_cells,
    roles,
    rows,
    acc,
):
    """Add the pairs of one block of tags (level-0 cells ``cells[:n]``, all ``<= lim0``)."""
    half = counts_ab.shape[1] // 2
    n_a, n_b = _split_roles(cells, channels, n, role_of_channel, auto, role_cells, roles)
    m = n_a + n_b
    s0 = clock[0]
    if s0 == UNSET:
        if m == 0:
            clock[0] = lim0
            return
        s0 = first
    last = first
    if n_a > 0:
        last = max(last, role_cells[0, n_a - 1])
    if n_b > 0:
        last = max(last, role_cells[1, n_b - 1])
    if n_direct > 0:
        if m > 0:
            pairs_in_block(role_cells, roles, m, auto, n_direct, half, acc)
            pairs_with_history(role_cells, n_a, n_b, auto, n_direct, half, s0, hist, acc)
            add_pair_counts(acc, n_direct, half, auto, counts_ab, counts_ba)
        update_history(role_cells, n_a, n_b, auto, n_direct, s0, lim0, hist)
    if n_direct < hist.shape[0]:
        dense_levels(
            role_cells,
            n_a,
            n_b,
            auto,
            n_direct,
            half,
            s0,
            lim0,
            first,
            last,
            hist,
            counts_ab,
            counts_ba,
            rows,
        )
    clock[0] = lim0


@njit(nogil=True, cache=True)
def multitau_process(
    timestamps,
    channels,
    role_of_channel,
    auto,
    dt0,
    limit0,
    split,
    hist,
    clock,
    counts_ab,
    counts_ba,
    cells,
    role_cells,
    roles,
    rows,
    pair_acc,
):
    """Add the pairs of one batch of tags to the counts.

    Parameters
    ----------
    timestamps, channels
        The batch (int64 ps, non-decreasing, at or after the previous batch's end; uint8).
    role_of_channel : uint8[256]
        Bit 1 = channel A, bit 2 = channel B; with ``auto`` only bit 1 is used.
    auto : bool
        Auto-correlation of one channel (pairs of distinct tags).
    dt0 : int
        Cell width of level 0, ps.
    limit0 : int
        First level-0 cell that later tags may fall in: ``t_end // dt0`` for a batch ending at
        ``t_end``.
    split : int
        Number of levels counted pair by pair, or -1 to choose it per block (the counts do not
        depend on it, only the speed).
    hist, clock, counts_ab, counts_ba
        State, updated (see the module docstring for the shapes).
    cells, role_cells, roles, rows, pair_acc
        Work buffers, from :func:`multitau_work`.
    """
    n = timestamps.shape[0]
    n_levels = counts_ab.shape[0]
    block = cells.shape[0]
    span = rows.shape[2] - 2 * counts_ab.shape[1]
    i0 = 0
    while True:
        n_block = min(n - i0, block)
        floor_cells(timestamps[i0 : i0 + n_block], dt0, cells)
        n_direct, first, m = _pick_split(cells, channels[i0:], n_block, role_of_channel, n_levels)
        if split >= 0:
            n_direct = min(split, n_levels)
        if n_direct < n_levels and m > 0:
            n_block = _block_end(cells, n_block, n_direct, first, span)
        i1 = i0 + n_block
        lim = limit0 if i1 == n else min(limit0, timestamps[i1] // dt0)
        _process_block(
            cells,
            channels[i0:i1],
            n_block,
            role_of_channel,
            auto,
            n_direct,
            first,
            lim,
            hist,
            clock,
            counts_ab,
            counts_ba,
            role_cells,
            roles,
            rows,
            pair_acc,
        )
        if i1 == n:
            break
        i0 = i1
    if auto:
        counts_ba[:, :] = counts_ab
    else:
        counts_ba[0, 0] = counts_ab[0, 0]
