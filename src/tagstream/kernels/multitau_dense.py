"""Levels of the multi-tau correlation counted on cell arrays (from the split level ``K`` of a
block up, where windows hold many tags; see :mod:`~tagstream.kernels.multitau`): the block's
tags per cell placed after the history, one vectorized dot product per owned lag, minus the
old-with-old term, then the cells halved into the next level."""

from __future__ import annotations

import numpy as np
from numba import njit

from .multitau_cells import shift_history


@njit(nogil=True, cache=True)
def _dot(x, x0, y, y0, n):
    """``sum(x[x0:x0 + n] * y[y0:y0 + n])`` (on slices, so that the loop is vectorized)."""
    xs = x[x0 : x0 + n]
    ys = y[y0 : y0 + n]
    s = np.int64(0)
    for i in range(n):
        s += xs[i] * ys[i]
    return s


@njit(nogil=True, cache=True)
def _dot4(x, x0, y, y0, n):
    """:func:`_dot` for ``y0, y0 - 1, y0 - 2, y0 - 3`` at once (each ``x`` loaded once)."""
    xs = x[x0 : x0 + n]
    y1 = y[y0 : y0 + n]
    y2 = y[y0 - 1 : y0 - 1 + n]
    y3 = y[y0 - 2 : y0 - 2 + n]
    y4 = y[y0 - 3 : y0 - 3 + n]
    s1 = np.int64(0)
    s2 = np.int64(0)
    s3 = np.int64(0)
    s4 = np.int64(0)
    for i in range(n):
        v = xs[i]
        s1 += v * y1[i]
        s2 += v * y2[i]
        s3 += v * y3[i]
        s4 += v * y4[i]
    return s1, s2, s3, s4


@njit(nogil=True, cache=True)
def _add_lags(counts, k, d_from, d_to, x, y, x0, n):
    """``counts[k, d] += sum_i x[x0 + i] y[x0 + i - d]`` for ``d_from <= d < d_to``."""
    d = d_from
    while d + 4 <= d_to:
        s1, s2, s3, s4 = _dot4(x, x0, y, x0 - d, n)
        counts[k, d] += s1
        counts[k, d + 1] += s2
        counts[k, d + 2] += s3
        counts[k, d + 3] += s4
        d += 4
    while d < d_to:
        counts[k, d] += _dot(x, x0, y, x0 - d, n)
        d += 1


@njit(nogil=True, cache=True)
def _lay_out(rows, n_roles, hist, k, s, f, e):
    """Zero ``rows[r]`` for the cells ``base .. e + 1`` of level ``k`` and put the history in front
    when it reaches the new cells ``f .. e``. Returns ``base``."""
    size = hist.shape[2]
    near = f < s + size
    base = (s if near else f) - size + 1
    for r in range(n_roles):
        rows[r, : e - base + 2] = 0
        if near:
            rows[r, :size] = hist[k, r]
    return base


@njit(nogil=True, cache=True)
def _count_dense(k, half, auto, s, f, e, base, rows, hist, counts_ab, counts_ba, n_new):
    """Add the pairs with a tag in the new cells ``f .. e`` of level ``k``: for each owned lag
    ``d`` one dot product over those cells, minus the pairs of old tags (in cell ``s``, the only
    new cell that can hold old tags, when ``f == s``)."""
    size = 2 * half
    lo = 0 if k == 0 else half
    x0 = f - base
    nx = e - f + 1
    a = rows[0]
    if auto:
        _add_lags(counts_ab, k, max(lo, 1), size, a, a, x0, nx)
        if lo == 0:
            counts_ab[k, 0] += _dot(a, x0, a, x0, nx) - n_new  # distinct tags only
        if f == s:
            old = hist[k, 0, size - 1]
            for d in range(lo, size):
                counts_ab[k, d] -= old * hist[k, 0, size - 1 - d]
        return
    b = rows[1]
    _add_lags(counts_ab, k, lo, size, b, a, x0, nx)
    _add_lags(counts_ba, k, max(lo, 1), size, a, b, x0, nx)
    if f == s:
        old_a = hist[k, 0, size - 1]
        old_b = hist[k, 1, size - 1]
        for d in range(lo, size):
            counts_ab[k, d] -= old_b * hist[k, 0, size - 1 - d]
        for d in range(max(lo, 1), size):
            counts_ba[k, d] -= old_a * hist[k, 1, size - 1 - d]


@njit(nogil=True, cache=True)
def _halve_into(rows, base, s, f, e, old_s, out, out_base, n_roles):
    """Add the new tags of cells ``f .. e`` to ``out`` in cells twice as wide.

    ``rows`` is consumed: the old tags of cell ``s`` are taken out and the cell before ``f`` is
    cleared, so that every cell pair can be added in one vectorized loop.
    """
    f2 = f >> 1
    n2 = (e >> 1) - f2 + 1
    for r in range(n_roles):
        row = rows[r]
        if f == s:
            row[s - base] -= old_s[r]
        if f & 1:
            row[f - 1 - base] = 0
        src = row[2 * f2 - base :]
        dst = out[r, f2 - out_base :]
        for j in range(n2):
            dst[j] += src[2 * j] + src[2 * j + 1]


@njit(nogil=True, cache=True)
def dense_levels(
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
):
    """Levels ``n_direct ..`` of a block on cell arrays (tags in level-0 cells ``first..last``).

    ``rows[i, r]`` (``i`` alternating from level to level) holds the tags per cell of role ``r``,
    old and new, for the cells ``base .. e`` of the level.
    """
    n_levels = hist.shape[0]
    size = 2 * half
    n_roles = 1 if auto else 2
    if n_a + n_b == 0:
        for k in range(n_direct, n_levels):
            for r in range(n_roles):
                shift_history(hist, k, r, (lim0 >> k) - (s0 >> k))
        return
    k = n_direct
    s = s0 >> k
    f = first >> k
    e = last >> k
    cur = rows[0]
    base = _lay_out(cur, n_roles, hist, k, s, f, e)
    for r in range(n_roles):
        row = cur[r]
        for i in range(n_a if r == 0 else n_b):
            row[(role_cells[r, i] >> k) - base] += 1
    old_s = np.zeros(2, np.int64)
    for k in range(n_direct, n_levels):
        _count_dense(k, half, auto, s, f, e, base, cur, hist, counts_ab, counts_ba, n_a + n_b)
        low = (lim0 >> k) - size + 1
        for r in range(n_roles):
            old_s[r] = hist[k, r, size - 1]
            for q in range(size):
                i = low + q - base
                hist[k, r, q] = cur[r, i] if i <= e - base else 0
        if k + 1 == n_levels:
            break
        nxt = rows[(k + 1 - n_direct) & 1]
        next_base = _lay_out(nxt, n_roles, hist, k + 1, s >> 1, f >> 1, e >> 1)
        _halve_into(cur, base, s, f, e, old_s, nxt, next_base, n_roles)
        cur = nxt
        base = next_base
        s >>= 1
        f >>= 1
        e >>= 1
