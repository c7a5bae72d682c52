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

Cell index
----------
``t // dt0`` on int64 costs 20-40 cycles. :func:`floor_cells` shifts when ``dt0`` is a power of two;
otherwise it subtracts the first tag's cell start and multiplies by a float reciprocal, which is
within one of the quotient while the offsets stay below ``2**50``, and corrects the estimate with
exact integer checks. Longer spans fall back to exact division.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

UNSET = np.iinfo(np.int64).min
"""``clock`` of a correlation that has not seen a tag yet."""

FLOAT_SPAN = np.int64(1) << np.int64(50)
"""Offsets below this divide exactly by float reciprocal with a one-step correction."""


@intrinsic
def _bit_length(typingctx, x):
    """Number of bits of ``x >= 0`` (``floor(log2 x) + 1``, 0 for 0), by one instruction."""
    sig = types.int64(types.int64)

    def codegen(context, builder, signature, args):
        zeros = builder.ctlz(args[0], ir.Constant(ir.IntType(1), 0))
        return builder.sub(ir.Constant(ir.IntType(64), 64), zeros)

    return sig, codegen


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
def floor_cells(timestamps, dt0, out):
    """Level-0 cells ``out[i] = timestamps[i] // dt0`` (floor), exactly, without integer division.

    Parameters
    ----------
    timestamps : int64[n]
        Non-decreasing times, ps (any sign).
    dt0 : int
        Cell width, ps (positive).
    out : int64[>= n]
        Receives the cells.
    """
    n = timestamps.shape[0]
    if n == 0:
        return
    if dt0 & (dt0 - 1) == 0:
        shift = _bit_length(dt0) - 1
        for i in range(n):
            out[i] = timestamps[i] >> shift
        return
    base_c = timestamps[0] // dt0
    base = base_c * dt0
    if timestamps[n - 1] - base >= FLOAT_SPAN:
        for i in range(n):
            out[i] = timestamps[i] // dt0
        return
    inv = 1.0 / dt0
    for i in range(n):
        x = timestamps[i] - base
        q = np.int64(np.floor(x * inv))  # x // dt0 or one less (one more needs x >= 2**52)
        r = x - q * dt0
        q += np.int64(r >= dt0) - np.int64(r < 0)
        out[i] = base_c + q


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
                bins[_bit_length(c - prev)] += 1
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
def _pairs_in_block(role_cells, roles, m, auto, n_direct, half, acc):
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
    log_half = _bit_length(half) - 1
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
            k = max(1, _bit_length(dist) - 1 - log_half)
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
def _pairs_with_history(role_cells, n_a, n_b, auto, n_direct, half, s0, hist, acc):
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
def _shift_history(hist, k, r, shift):
    """Move the history window of level ``k``, role ``r`` forward by ``shift >= 0`` cells."""
    size = hist.shape[2]
    for q in range(size):
        src = q + shift if shift < size else size
        hist[k, r, q] = hist[k, r, src] if src < size else 0


@njit(nogil=True, cache=True)
def _update_history(role_cells, n_a, n_b, auto, n_direct, s0, lim0, hist):
    """Move the histories of levels ``< n_direct`` to ``lim0`` and add the block's tags."""
    size = hist.shape[2]
    for k in range(n_direct):
        low = (lim0 >> k) - size + 1
        for r in range(1 if auto else 2):
            _shift_history(hist, k, r, (lim0 >> k) - (s0 >> k))
            i = (n_a if r == 0 else n_b) - 1
            while i >= 0:
                c = role_cells[r, i] >> k
                if c < low:
                    break
                hist[k, r, c - low] += 1
                i -= 1


@njit(nogil=True, cache=True)
def _add_pair_counts(acc, n_direct, half, auto, counts_ab, counts_ba):
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
def _dense_levels(
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
                _shift_history(hist, k, r, (lim0 >> k) - (s0 >> k))
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
            _pairs_in_block(role_cells, roles, m, auto, n_direct, half, acc)
            _pairs_with_history(role_cells, n_a, n_b, auto, n_direct, half, s0, hist, acc)
            _add_pair_counts(acc, n_direct, half, auto, counts_ab, counts_ba)
        _update_history(role_cells, n_a, n_b, auto, n_direct, s0, lim0, hist)
    if n_direct < hist.shape[0]:
        _dense_levels(
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
