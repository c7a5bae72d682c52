"""Splitting one large batch between threads.

The kernels release the GIL, and every histogram here is a sum over tags (or pairs of tags), so
a batch can be cut into consecutive pieces that are processed at the same time into separate
histograms and added up; what couples neighbouring pieces (pairs across a cut, the last sync
before it) is handled by the caller exactly as between streamed batches.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MIN_TAGS_PER_THREAD = 1 << 18

_pool: ThreadPoolExecutor | None = None


_chosen: int | None = None


def default_threads() -> int:
    """Threads an analyzer uses for large batches: the machine's cores, at most four, unless
    :func:`use_threads` chose otherwise for this process."""
    if _chosen is not None:
        return _chosen
    return max(1, min(os.cpu_count() or 1, 4))


def use_threads(threads: int | None) -> None:
    """Make ``threads`` the default of the analyzers made from now on in this process (``None``:
    the machine's); a batch worker that analyses one file per core takes 1."""
    global _chosen
    _chosen = None if threads is None else max(1, int(threads))


def pieces(n: int, threads: int) -> list[tuple[int, int]]:
    """Index ranges cutting ``n`` tags into at most ``threads`` pieces of at least
    :data:`MIN_TAGS_PER_THREAD` tags."""
    count = max(1, min(threads, n // MIN_TAGS_PER_THREAD))
    bounds = [n * k // count for k in range(count + 1)]
    return list(itertools.pairwise(bounds))


def run_all(calls: list[Callable[[], object]]) -> list[object]:
    """Run the calls at the same time (the last one in the calling thread); return their results
    in order."""
    global _pool
    if len(calls) == 1:
        return [calls[0]()]
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=default_threads(), thread_name_prefix="tagstream")
    futures = [_pool.submit(call) for call in calls[:-1]]
    last = calls[-1]()
    return [f.result() for f in futures] + [last]


def binned_in_pieces(
    timestamps: np.ndarray,
    t0: int,
    bin_ps: int,
    out: np.ndarray,
    fill: Callable[[int, int, int, np.ndarray], object],
    threads: int,
) -> None:
    """Add tags to time bins on several threads.

    ``out`` (rows × bins, bin ``b`` covering ``[t0 + b bin_ps, t0 + (b + 1) bin_ps)``) takes the
    first piece of the tags; every later piece is binned into a buffer of its own bins, added
    to ``out`` afterwards, so pieces that share a bin at their cut do not race.
    ``fill(i0, i1, first_bin, buffer)`` bins tags ``i0:i1`` into ``buffer``, whose column 0 is
    bin ``first_bin``.
    """
    parts = pieces(len(timestamps), threads)
    firsts = [0] + [int((timestamps[i0] - t0) // bin_ps) for i0, _ in parts[1:]]
    buffers = [out] + [
        np.zeros((out.shape[0], int((timestamps[i1 - 1] - t0) // bin_ps) - first + 1), out.dtype)
        for (_, i1), first in zip(parts[1:], firsts[1:], strict=True)
    ]
    run_all(
        [
            lambda i0=i0, i1=i1, buf=buf, first=first: fill(i0, i1, first, buf)
            for (i0, i1), buf, first in zip(parts, buffers, firsts, strict=True)
        ]
    )
    for buf, first in zip(buffers[1:], firsts[1:], strict=True):
        out[:, first : first + buf.shape[1]] += buf
