"""Expected coincidences of uncorrelated light, the denominator of every normalised g2.

For two independent stationary streams with ``N_A`` and ``N_B`` tags spread over the covered
(live) time ``C``, the expected number of pairs at lag ``tau`` per unit lag is
``N_A N_B |C ∩ (C - tau)| / |C|**2``: for a gap-free run of length ``T`` and ``|tau| << T`` that is
the familiar ``N_A N_B / T``. For the auto-correlation of one channel ``N_A N_B`` becomes
``N (N - 1)`` (pairs of distinct tags). Multi-tau cells are handled exactly by summing the
covered time of pairs of cells ``m`` apart.
"""

from __future__ import annotations

import numpy as np

from ..kernels import run_overlaps


def pair_factor(n_a: int, n_b: int, auto: bool) -> float:
    """Number of tag pairs: ``n_a (n_a - 1)`` for an auto-correlation, else ``n_a n_b``."""
    return float(n_a) * float(n_a - 1) if auto else float(n_a) * float(n_b)


def linear_expected(
    edges_ps: np.ndarray, covered: np.ndarray, n_a: int, n_b: int, auto: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Expected uncorrelated coincidences per linear lag bin, and the self-overlap of the live time
    at each bin, ``|C ∩ (C - tau)|`` (ps).

    Parameters
    ----------
    edges_ps
        Lag bin edges, ps.
    covered
        Live-time interval set, ps.
    n_a, n_b
        Tags on the start and stop channel.
    auto
        Auto-correlation of one channel.
    """
    live = float(np.sum(covered[:, 1] - covered[:, 0])) if len(covered) else 0.0
    edges = np.asarray(edges_ps, dtype=np.int64)
    if live <= 0:
        return np.zeros(len(edges) - 1), np.zeros(len(edges) - 1)
    lo, hi = covered[:, 0].copy(), covered[:, 1].copy()
    ones = np.ones(len(lo))
    overlap = run_overlaps(lo, hi, ones, edges)
    # overlap is piecewise linear in tau: the trapezoid rule integrates a bin exactly between kinks
    mean_overlap = 0.5 * (overlap[:-1] + overlap[1:])
    per_bin = mean_overlap * np.diff(edges)
    return pair_factor(n_a, n_b, auto) * per_bin / live**2, mean_overlap


def cell_runs(covered: np.ndarray, cell: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Covered picoseconds of each cell of width ``cell``, as runs ``[lo, hi)`` of cell indices with
    a value per cell."""
    if len(covered) == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0)
    s, e = covered[:, 0], covered[:, 1]
    a, z = s // cell, (e - 1) // cell
    one = a == z
    many = ~one
    lo = [a[one], a[many], a[many] + 1, z[many]]
    hi = [a[one] + 1, a[many] + 1, z[many], z[many] + 1]
    val = [
        e[one] - s[one],
        (a[many] + 1) * cell - s[many],
        np.full(int(many.sum()), cell),
        e[many] - z[many] * cell,
    ]
    lo_a, hi_a, val_a = np.concatenate(lo), np.concatenate(hi), np.concatenate(val).astype(float)
    keep = hi_a > lo_a
    lo_a, hi_a, val_a = lo_a[keep], hi_a[keep], val_a[keep]
    order = np.lexsort((hi_a, lo_a))
    lo_a, hi_a, val_a = lo_a[order], hi_a[order], val_a[order]
    # partial cells shared by two intervals (a short gap inside one cell) add up
    first = np.ones(len(lo_a), dtype=bool)
    first[1:] = (lo_a[1:] != lo_a[:-1]) | (hi_a[1:] != hi_a[:-1])
    groups = np.cumsum(first) - 1
    summed = np.bincount(groups, weights=val_a)
    return lo_a[first], hi_a[first], summed


def multitau_expected(
    covered: np.ndarray, dt0: int, n_levels: int, half: int, n_a: int, n_b: int, auto: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Expected uncorrelated pairs per multi-tau bin and the matching live-time overlap (ps), each
    of shape ``(levels, 2 * half)``; bins a level does not own are zero."""
    expected = np.zeros((n_levels, 2 * half))
    overlap = np.zeros((n_levels, 2 * half))
    live = float(np.sum(covered[:, 1] - covered[:, 0])) if len(covered) else 0.0
    if live <= 0:
        return expected, overlap
    factor = pair_factor(n_a, n_b, auto) / live**2
    for level in range(n_levels):
        cell = dt0 << level
        lo, hi, val = cell_runs(covered, cell)
        first = 0 if level == 0 else half
        pair_sums = run_overlaps(lo, hi, val, np.arange(first, 2 * half, dtype=np.int64))
        expected[level, first:] = factor * pair_sums
        overlap[level, first:] = pair_sums / cell
    return expected, overlap


def g2_uncertainty(
    g2: np.ndarray, pairs: np.ndarray, n_a: int, n_b: int, live_ps: float, overlap_ps: np.ndarray
) -> np.ndarray:
    """One-sigma uncertainty of a normalised g2.

    Two parts add in quadrature: the Poisson noise of the ``pairs`` counted in the bin, and, since
    g2 is normalised by the measured totals, the share of the tags that cannot pair at this lag
    (those outside the overlap ``|C ∩ (C - tau)|``): relative variance
    ``1 / pairs + (1 / N_A + 1 / N_B) (|C| - overlap) / overlap``. The second part vanishes for
    lags much shorter than the run and dominates the longest multi-tau lags.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        outside = np.where(overlap_ps > 0, (live_ps - overlap_ps) / overlap_ps, np.inf)
        share = (1.0 / max(n_a, 1) + 1.0 / max(n_b, 1)) * np.clip(outside, 0, None)
        rel = np.sqrt(1.0 / np.maximum(pairs, 1) + share)
        return np.abs(np.where(np.isfinite(g2), g2, 1.0)) * rel
