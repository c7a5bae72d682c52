"""Slow, obviously-correct counterparts of the numba kernels, used only by the tests.

Each follows the definition literally (loops over tags and pairs); none shares code with
``tagstream.kernels``.
"""

from __future__ import annotations

import numpy as np


def g2_histogram(t, ch, a, b, window, bin_width):
    """Ordered pairs (tag on a, tag on b, distinct tags) with lag tau = t_b - t_a in [-W, W)."""
    t = np.asarray(t, dtype=np.int64)
    ta, tb = t[ch == a], t[ch == b]
    hist = np.zeros(2 * window // bin_width, dtype=np.int64)
    for i, x in enumerate(ta):
        taus = tb - x
        if a == b:
            taus = np.delete(taus, i)  # a tag does not pair with itself
        taus = taus[(taus >= -window) & (taus < window)]
        for tau in taus:
            hist[(tau + window) // bin_width] += 1
    return hist


def multitau_counts(t, ch, a, b, dt0, levels, half):
    """counts_ab[k, m]: pairs with cell(B) - cell(A) = m at level k; counts_ba: the reverse."""
    t = np.asarray(t, dtype=np.int64)
    ta, tb = t[ch == a], t[ch == b]
    ab = np.zeros((levels, 2 * half), dtype=np.int64)
    ba = np.zeros((levels, 2 * half), dtype=np.int64)
    for k in range(levels):
        cell = dt0 * 2**k
        ca, cb = ta // cell, tb // cell
        diff = np.subtract.outer(cb, ca)  # diff[j, i] = cell(b_j) - cell(a_i)
        if a == b:
            np.fill_diagonal(diff, np.iinfo(np.int64).min)  # no self pairs
        first = 0 if k == 0 else half
        for m in range(first, 2 * half):
            ab[k, m] = np.count_nonzero(diff == m)
            ba[k, m] = np.count_nonzero(diff == -m)
    return ab, ba


def decay_t3(ch, nanotimes, detectors, start, step, n_bins):
    hist = np.zeros((len(detectors), n_bins), dtype=np.int64)
    for c, nt in zip(ch, nanotimes, strict=True):
        if c in detectors:
            k = (int(nt) - start) // step
            if int(nt) >= start and k < n_bins:
                hist[detectors.index(c), k] += 1
    return hist


def decay_t2(t, ch, sync, detectors, start, step, n_bins, resets=()):
    """Delay since the preceding sync; ``resets`` are times (gap ends) that forget the sync."""
    hist = np.zeros((len(detectors), n_bins), dtype=np.int64)
    last = None
    resets = sorted(resets)
    r = 0
    for x, c in zip(t, ch, strict=True):
        while r < len(resets) and x >= resets[r]:
            last = None
            r += 1
        if c == sync:
            last = x
        elif c in detectors and last is not None:
            d = int(x) - int(last) - start
            if d >= 0 and d // step < n_bins:
                hist[detectors.index(c), d // step] += 1
    return hist


def trace_counts(t, ch, detectors, t0, width, n_bins):
    counts = np.zeros((len(detectors), n_bins), dtype=np.int64)
    for x, c in zip(t, ch, strict=True):
        if c in detectors:
            counts[detectors.index(c), (int(x) - t0) // width] += 1
    return counts


def exposure(covered, t0, width, n_bins):
    out = np.zeros(n_bins, dtype=np.int64)
    for k in range(n_bins):
        lo, hi = t0 + k * width, t0 + (k + 1) * width
        for s, e in covered:
            out[k] += max(0, min(hi, e) - max(lo, s))
    return out


def overlap_bruteforce(covered, shift):
    """|C ∩ (C - shift)| by listing every covered picosecond (small domains only)."""
    points = set()
    for s, e in covered:
        points.update(range(int(s), int(e)))
    return sum(1 for p in points if p + shift in points)


def cell_pair_sum(covered, cell, m):
    """sum_a x_a x_{a+m}, x_a = covered ps of cell a, by listing cells (small domains only)."""
    x = {}
    for s, e in covered:
        for p in range(int(s), int(e)):
            x[p // cell] = x.get(p // cell, 0) + 1
    return sum(v * x.get(a + m, 0) for a, v in x.items())


def first_out_of_order(ts, t_begin, t_end):
    """First index whose timestamp is below its predecessor (or t_begin) or not below t_end."""
    previous = t_begin
    for i, t in enumerate(ts):
        if t < previous or t >= t_end:
            return i
        previous = t
    return -1


def channel_counts(channels):
    """Tags on each channel number 0..255, by counting."""
    counts = [0] * 256
    for c in channels:
        counts[int(c)] += 1
    return np.array(counts, dtype=np.int64)
