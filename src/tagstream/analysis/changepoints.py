"""Change points of a photon stream's intensity by recursive likelihood-ratio tests (Watkins &
Yang, J. Phys. Chem. B 109, 617 (2005)).

A segment is split at its most likely change point (:func:`~tagstream.kernels.changepoint.
best_split`) when the statistic exceeds the critical value for its photon number
(:mod:`.changepoint_null`), and both parts are tested again, until no part splits (binary
segmentation). A segment that does not split is tested for an excursion, two change points
around a short dark or bright period (:func:`~tagstream.kernels.changepoint.best_pair`; a
single split cannot see a period whose surroundings on both sides have the same intensity, as a
circular binary segmentation can), and split in three when that is significant. Then every
change point is tested again on the photons between its neighbours only, moved to the most likely
point there or dropped when it is no longer significant, until nothing changes: a change point
found early, against a long stretch holding other changes, may sit a few photons off.
"""

from __future__ import annotations

import functools

import numpy as np

from ..kernels.changepoint import best_pair, best_split
from .changepoint_null import SPANS, critical_value

#: Most passes of the re-test of every change point between its neighbours.
MAX_PASSES = 20


@functools.lru_cache(maxsize=4096)
def critical(n: int, alpha: float, pair: bool = False) -> float:
    """:func:`~.changepoint_null.critical_value` of one segment, remembered (the windows of a
    stream have the same photon number)."""
    return float(critical_value(n, alpha, pair=pair))


def find_changes(t: np.ndarray, lo: int, hi: int, a_ps: int, b_ps: int, alpha: float) -> list[int]:
    """The change points of the photons ``t[lo:hi]`` on the segment ``(a_ps, b_ps)``.

    Parameters
    ----------
    t
        Photon times, int64 ps, non-decreasing.
    lo, hi
        The photons of the segment.
    a_ps, b_ps
        The segment's boundaries, ps.
    alpha
        Probability of a spurious split of a segment without a change (one of
        :data:`~.changepoint_null.ALPHAS`).

    Returns
    -------
    The photons at the change points (indices into ``t``), increasing: each change point is at
    its photon's time, and the photon belongs to neither level it separates.
    """
    found: list[int] = []
    stack = [(lo, hi, int(a_ps), int(b_ps))]
    while stack:
        i0, i1, a, b = stack.pop()
        floor = critical(i1 - i0, alpha)
        stat, j = best_split(t, i0, i1, a, b, floor)
        if stat > floor:
            found.append(int(j))
            stack.append((i0, int(j), a, int(t[j])))
            stack.append((int(j) + 1, i1, int(t[j]), b))
            continue
        floor = critical(i1 - i0, alpha, pair=True)
        stat, j1, j2 = best_pair(t, i0, i1, a, b, SPANS, floor)
        if stat > floor:
            found += [int(j1), int(j2)]
            stack.append((i0, int(j1), a, int(t[j1])))
            stack.append((int(j1) + 1, int(j2), int(t[j1]), int(t[j2])))
            stack.append((int(j2) + 1, i1, int(t[j2]), b))
    found.sort()
    return recheck(t, lo, hi, int(a_ps), int(b_ps), found, alpha)


def recheck(
    t: np.ndarray, lo: int, hi: int, a_ps: int, b_ps: int, changes: list[int], alpha: float
) -> list[int]:
    """Test every change point again between its neighbours (see the module docstring)."""
    changes = list(changes)
    for _ in range(MAX_PASSES):
        moved = False
        k = 0
        while k < len(changes):
            i0, a = (lo, a_ps) if k == 0 else (changes[k - 1] + 1, int(t[changes[k - 1]]))
            i1, b = (
                (hi, b_ps) if k == len(changes) - 1 else (changes[k + 1], int(t[changes[k + 1]]))
            )
            floor = critical(i1 - i0, alpha)
            stat, j = best_split(t, i0, i1, a, b, floor)
            if stat <= floor:
                del changes[k]
                moved = True
                continue
            if int(j) != changes[k]:
                changes[k] = int(j)
                moved = True
            k += 1
        if not moved:
            break
    return changes
