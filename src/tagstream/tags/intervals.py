"""Half-open time intervals ``[start, stop)`` in integer picoseconds, as ``int64`` arrays of
shape (k, 2).

A *normalised* interval set is sorted, has no empty intervals, and no two intervals touch or
overlap. Gap intervals, covered spans and blinking-state periods are all interval sets.
"""

from __future__ import annotations

import numpy as np

from ..errors import BatchError

EMPTY = np.zeros((0, 2), dtype=np.int64)
EMPTY.setflags(write=False)


def as_intervals(value: object, field: str = "intervals") -> np.ndarray:
    """Return ``value`` as an int64 (k, 2) array, checking that each interval has start <= stop."""
    if value is None:
        return EMPTY
    arr = np.asarray(value)
    if arr.size == 0:
        return EMPTY
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise BatchError(f"{field}: expected pairs [start, stop], got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise BatchError(f"{field}: interval ends must be integer picoseconds, got {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    bad = np.flatnonzero(arr[:, 1] < arr[:, 0])
    if bad.size:
        a, b = arr[bad[0]]
        raise BatchError(f"{field}: interval {bad[0]} ends before it starts ([{a}, {b}))")
    return arr


def normalize(intervals: np.ndarray) -> np.ndarray:
    """Sort, drop empty intervals and merge overlapping or touching ones."""
    iv = as_intervals(intervals)
    iv = iv[iv[:, 1] > iv[:, 0]]
    if len(iv) <= 1:
        return iv.copy() if len(iv) else EMPTY
    iv = iv[np.argsort(iv[:, 0], kind="stable")]
    reach = np.maximum.accumulate(iv[:, 1])
    # a new group starts where an interval begins after everything before it has ended
    starts_group = np.empty(len(iv), dtype=bool)
    starts_group[0] = True
    starts_group[1:] = iv[1:, 0] > reach[:-1]
    first = np.flatnonzero(starts_group)
    last = np.append(first[1:], len(iv)) - 1
    return np.column_stack([iv[first, 0], reach[last]])


def is_normalized(intervals: np.ndarray) -> bool:
    """Whether the ``[start, end)`` rows are non-empty, sorted and apart (no overlap or
    touching)."""
    iv = as_intervals(intervals)
    if len(iv) == 0:
        return True
    return bool(np.all(iv[:, 1] > iv[:, 0]) and np.all(iv[1:, 0] > iv[:-1, 1]))


def total(intervals: np.ndarray) -> int:
    """Summed length of a normalised interval set, ps."""
    iv = as_intervals(intervals)
    return int(np.sum(iv[:, 1] - iv[:, 0])) if len(iv) else 0


def clip(intervals: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Intersect a normalised set with ``[start, stop)``."""
    iv = as_intervals(intervals)
    if len(iv) == 0 or stop <= start:
        return EMPTY
    out = np.column_stack([np.maximum(iv[:, 0], start), np.minimum(iv[:, 1], stop)])
    return out[out[:, 1] > out[:, 0]]


def union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The union of two interval sets, normalized."""
    return normalize(np.concatenate([as_intervals(a), as_intervals(b)]))


def complement(intervals: np.ndarray, start: int, stop: int) -> np.ndarray:
    """The parts of ``[start, stop)`` not covered by a normalised set."""
    iv = clip(intervals, start, stop)
    edges = np.concatenate([[start], iv.ravel(), [stop]]).reshape(-1, 2)
    return edges[edges[:, 1] > edges[:, 0]]


def subtract(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a`` minus ``b`` for normalised sets."""
    a = as_intervals(a)
    if len(a) == 0:
        return EMPTY
    parts = [complement(b, s, e) for s, e in a]
    return normalize(np.concatenate(parts)) if parts else EMPTY


def intersect(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The intersection of two interval sets, normalized."""
    a = as_intervals(a)
    if len(a) == 0:
        return EMPTY
    parts = [clip(b, s, e) for s, e in a]
    return normalize(np.concatenate(parts))


def contains(intervals: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Boolean mask: which ``times`` fall inside a normalised set."""
    iv = as_intervals(intervals)
    times = np.asarray(times, dtype=np.int64)
    if len(iv) == 0:
        return np.zeros(times.shape, dtype=bool)
    k = np.searchsorted(iv[:, 0], times, side="right") - 1
    inside = k >= 0
    inside[inside] = times[inside] < iv[k[inside], 1]
    return inside
