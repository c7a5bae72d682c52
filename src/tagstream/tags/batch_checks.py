"""The checks a :class:`~tagstream.tags.batch.TagBatch` makes of what it is given: the dtypes of
its arrays, time order, the span, the T3 nanotimes and the gaps.

Each raises :class:`~tagstream.errors.BatchError` with a one-line reason; times are int64 ps.
"""

from __future__ import annotations

import numpy as np

from ..errors import BatchError
from . import intervals as iv

#: Timestamps are int64 picoseconds.
TIMESTAMP_DTYPE = np.dtype(np.int64)
#: Channel numbers are 0..255.
CHANNEL_DTYPE = np.dtype(np.uint8)


def checked_arrays(ts: np.ndarray, ch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps (int64 ps, non-decreasing) and channels (uint8) of equal length, converted to
    :data:`TIMESTAMP_DTYPE` and :data:`CHANNEL_DTYPE` where needed."""
    if ts.ndim != 1 or ch.ndim != 1:
        raise BatchError("timestamps and channels must be one-dimensional")
    if ts.shape != ch.shape:
        raise BatchError(f"{ts.size} timestamps but {ch.size} channels")
    if ts.size == 0:
        ts, ch = ts.astype(TIMESTAMP_DTYPE), ch.astype(CHANNEL_DTYPE)
    if ts.dtype != TIMESTAMP_DTYPE:
        if not np.issubdtype(ts.dtype, np.signedinteger):
            raise BatchError(f"timestamps must be int64 picoseconds, got {ts.dtype}")
        ts = ts.astype(TIMESTAMP_DTYPE)
    if ch.dtype != CHANNEL_DTYPE:
        if not np.issubdtype(ch.dtype, np.integer):
            raise BatchError(f"channels must be small integers, got {ch.dtype}")
        if ch.size and (ch.min() < 0 or ch.max() > 255):
            raise BatchError("channel numbers must lie in 0..255")
        ch = ch.astype(CHANNEL_DTYPE)
    if ts.size > 1:
        back = np.flatnonzero(ts[1:] < ts[:-1])
        if back.size:
            k = int(back[0]) + 1
            raise BatchError(f"timestamps go back in time at tag {k} ({ts[k - 1]} -> {ts[k]} ps)")
    return ts, ch


def check_span(t_begin: int, t_end: int, ts: np.ndarray) -> None:
    """The span ``[t_begin, t_end)`` (ps) is not reversed and holds every tag ``ts`` (ps)."""
    if t_end < t_begin:
        raise BatchError(f"batch span ends before it begins: [{t_begin}, {t_end})")
    if ts.size:
        if ts[0] < t_begin or ts[-1] >= t_end:
            raise BatchError(
                f"tags at {ts[0]}..{ts[-1]} ps fall outside the span [{t_begin}, {t_end})"
            )


def checked_nanotimes(nt: np.ndarray, ts: np.ndarray, nanotime_unit_ps: float | None) -> np.ndarray:
    """The nanotimes ``nt`` of the tags ``ts``: integers of at most 32 bits (wider ones are
    converted to int32 when their values fit), in units of a positive ``nanotime_unit_ps``."""
    if nt.shape != ts.shape:
        raise BatchError(f"nanotimes: {nt.size} values for {ts.size} tags")
    if not np.issubdtype(nt.dtype, np.integer):
        raise BatchError(f"nanotimes: need integers, got {nt.dtype}")
    if nt.dtype.itemsize > 4:
        if nt.size and (nt.min() < 0 or nt.max() > np.iinfo(np.int32).max):
            raise BatchError("nanotimes: values must lie in 0..2**31-1")
        nt = nt.astype(np.int32)
    if nanotime_unit_ps is None or nanotime_unit_ps <= 0:
        raise BatchError("nanotimes given without a positive nanotime_unit_ps")
    return nt


def check_gaps(gaps: np.ndarray, t_begin: int, t_end: int, ts: np.ndarray) -> None:
    """The gaps (k, 2), ps, are normalised, inside the span and hold none of the tags ``ts``."""
    if len(gaps):
        if not iv.is_normalized(gaps):
            raise BatchError("gaps: intervals must be sorted, non-empty and not touching")
        if gaps[0, 0] < t_begin or gaps[-1, 1] > t_end:
            raise BatchError(f"gaps reach outside the span [{t_begin}, {t_end})")
        inside = iv.contains(gaps, ts)
        if inside.any():
            k = int(np.flatnonzero(inside)[0])
            raise BatchError(f"tag {k} at {ts[k]} ps lies inside a gap, where data were lost")
