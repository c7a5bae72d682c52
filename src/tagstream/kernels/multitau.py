"""Log-binned (multi-tau) correlation of time tags, exact on its bins and in any chunking.

Level ``k`` sees time in cells of ``dt_k = dt0 * 2**k`` ps: tag ``t`` lies in cell
``c = floor(t / dt_k)``. Level ``k`` counts, for the lags ``m`` it owns (``0 <= m < 2P`` at level 0,
``P <= m < 2P`` above), the ordered pairs of tags (A, B) whose cells differ by ``m``:

* ``counts_ab[k, m]``: pairs with ``cell(B) - cell(A) = m`` (B after A);
* ``counts_ba[k, m]``: pairs with ``cell(A) - cell(B) = m`` (A after B).

Tags in one cell are merged into one weighted entry, and level ``k + 1`` is fed the entries of
level ``k`` with their cell halved, so each level handles at most one entry per cell per channel.
An entry is *final* once the stream has passed the end of its cell; the last, unfinished entry of
each level waits in ``pend_c``/``pend_w`` for the next batch. A finished stream is flushed by a
call with ``limit0`` beyond every cell.

State arrays (all int64), for ``L`` levels, 2 roles (0 = A, 1 = B) and ring size ``R = 2P``:
``pend_c[L, 2]``, ``pend_w[L, 2]``, ``ring_c[L, 2, R]``, ``ring_w[L, 2, R]``, ``ring_n[L, 2]``,
``ring_head[L, 2]``; results ``counts_ab[L, 2P]``, ``counts_ba[L, 2P]``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

FLUSH_LIMIT = np.int64(1) << np.int64(62)


@njit(nogil=True, cache=True)
def _merge_cells(cells, weights, n_in, level, role, pend_c, pend_w, limit, out_c, out_w):
    """Merge equal cells (and the pending entry) into final entries below ``limit``."""
    cur_c = pend_c[level, role]
    cur_w = pend_w[level, role]
    n_out = 0
    for i in range(n_in):
        c = cells[i]
        if cur_w > 0 and c == cur_c:
            cur_w += weights[i]
        else:
            if cur_w > 0:
                out_c[n_out] = cur_c
                out_w[n_out] = cur_w
                n_out += 1
            cur_c = c
            cur_w = weights[i]
    if cur_w > 0 and cur_c < limit:
        out_c[n_out] = cur_c
        out_w[n_out] = cur_w
        n_out += 1
        cur_w = 0
    pend_c[level, role] = cur_c
    pend_w[level, role] = cur_w
    return n_out


@njit(nogil=True, cache=True)
def _correlate_entry(c, w, role, other, auto, level, lo, hi, ring_c, ring_w, ring_n, ring_head,
                     counts_ab, counts_ba):
    mask = ring_c.shape[2] - 1
    head = ring_head[level, other]
    for q in range(ring_n[level, other]):
        idx = (head - 1 - q) & mask
        d = c - ring_c[level, other, idx]
        if d >= hi:
            break
        if d >= lo:
            ww = w * ring_w[level, other, idx]
            if auto or d == 0:
                counts_ab[level, d] += ww
                counts_ba[level, d] += ww
            elif role == 1:
                counts_ab[level, d] += ww
            else:
                counts_ba[level, d] += ww
    if auto and lo == 0:
        counts_ab[level, 0] += w * (w - 1)
        counts_ba[level, 0] += w * (w - 1)
    # remember the entry for later partners
    h = ring_head[level, role]
    ring_c[level, role, h] = c
    ring_w[level, role, h] = w
    ring_head[level, role] = (h + 1) & mask
    if ring_n[level, role] <= mask:
        ring_n[level, role] += 1


@njit(nogil=True, cache=True)
def multitau_process(
    timestamps, channels, role_of_channel, auto, dt0, limit0,
    pend_c, pend_w, ring_c, ring_w, ring_n, ring_head, counts_ab, counts_ba,
):
    """Feed one batch of tags through every level.

    Parameters
    ----------
    timestamps, channels
        The batch (int64 ps, uint8).
    role_of_channel : uint8[256]
        Bit 1 = channel A, bit 2 = channel B; with ``auto`` only bit 1 is used.
    auto : bool
        Auto-correlation of one channel (pairs of distinct tags).
    dt0 : int
        Cell width of level 0, ps.
    limit0 : int
        First level-0 cell not yet complete: ``t_end // dt0`` for a batch ending at ``t_end``,
        or :data:`FLUSH_LIMIT` to flush a finished stream.
    """
    n_levels = counts_ab.shape[0]
    half = counts_ab.shape[1] // 2
    n = timestamps.shape[0]
    n_a = 0
    n_b = 0
    for i in range(n):
        r = role_of_channel[channels[i]]
        if r & 1:
            n_a += 1
        if (r & 2) and not auto:
            n_b += 1
    cells_a = np.empty(n_a, np.int64)
    cells_b = np.empty(n_b, np.int64)
    w_a = np.ones(n_a, np.int64)
    w_b = np.ones(n_b, np.int64)
    ia = 0
    ib = 0
    for i in range(n):
        r = role_of_channel[channels[i]]
        if r & 1:
            cells_a[ia] = timestamps[i] // dt0
            ia += 1
        if (r & 2) and not auto:
            cells_b[ib] = timestamps[i] // dt0
            ib += 1
    fin_a = np.empty(n_a + 1, np.int64)
    fw_a = np.empty(n_a + 1, np.int64)
    fin_b = np.empty(n_b + 1, np.int64)
    fw_b = np.empty(n_b + 1, np.int64)
    other_b = 0 if auto else 1
    for level in range(n_levels):
        limit = limit0 >> level
        lo = 0 if level == 0 else half
        hi = 2 * half
        m_a = _merge_cells(cells_a, w_a, n_a, level, 0, pend_c, pend_w, limit, fin_a, fw_a)
        m_b = 0
        if not auto:
            m_b = _merge_cells(cells_b, w_b, n_b, level, 1, pend_c, pend_w, limit, fin_b, fw_b)
        ia = 0
        ib = 0
        while ia < m_a or ib < m_b:
            if ib >= m_b or (ia < m_a and fin_a[ia] <= fin_b[ib]):
                _correlate_entry(fin_a[ia], fw_a[ia], 0, other_b, auto, level, lo, hi,
                                 ring_c, ring_w, ring_n, ring_head, counts_ab, counts_ba)
                ia += 1
            else:
                _correlate_entry(fin_b[ib], fw_b[ib], 1, 0, auto, level, lo, hi,
                                 ring_c, ring_w, ring_n, ring_head, counts_ab, counts_ba)
                ib += 1
        # the final entries, in cells twice as wide, feed the next level
        for i in range(m_a):
            cells_a[i] = fin_a[i] >> 1
            w_a[i] = fw_a[i]
        for i in range(m_b):
            cells_b[i] = fin_b[i] >> 1
            w_b[i] = fw_b[i]
        n_a = m_a
        n_b = m_b
