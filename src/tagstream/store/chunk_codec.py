"""Blosc chunks compressed outside HDF5, on every core, for direct chunk writes.

HDF5 runs a dataset's filters chunk after chunk in the thread that writes, so a writer thread
compressing with Blosc becomes the slowest stage of a fast run. Here runs of whole chunks are
compressed in a small thread pool (Blosc releases the GIL) and handed to HDF5 already compressed
(``H5Dwrite_chunk``). The bytes are exactly what HDF5's Blosc filter (32001) followed by its
Fletcher-32 filter stores — a Blosc frame of one chunk, then its checksum — so every reader
decodes and checks them with those filters, as before.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import blosc
import numpy as np

from ..sources.hdf5_checksum import with_checksum

#: Chunks compressed per task, enough for the cost of handing out a task (tens of µs) to vanish.
CHUNKS_PER_TASK = 32

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            workers = max(1, min(4, os.cpu_count() or 1))
            _pool = ThreadPoolExecutor(workers, thread_name_prefix="tagstream-blosc")
        return _pool


class BloscChunks:
    """Compresses 1-D arrays chunk by chunk into Blosc frames, in parallel.

    Parameters
    ----------
    cname, clevel
        Blosc compressor name and level (0-9), as given to the datasets' filter.
    shuffle
        The Blosc shuffle mode (``blosc.SHUFFLE`` ...) for arrays of a dtype, as given to the
        datasets' filter.
    """

    def __init__(self, cname: str, clevel: int, shuffle: Callable[[np.dtype], int]):
        self.cname, self.clevel, self.shuffle = cname, int(clevel), shuffle
        # one Blosc thread per call, without the GIL: the parallelism is the pool's
        blosc.set_releasegil(True)
        blosc.set_nthreads(1)

    def submit(self, values: np.ndarray, chunk: int) -> list[Future[list[bytes]]]:
        """Start compressing ``values`` in chunks of ``chunk`` elements; futures of the frames,
        in order. A last, partial chunk is padded with zeros to a whole chunk (rows beyond a
        dataset's extent are never read). ``values`` must not change until they are done."""
        values = np.ascontiguousarray(values)
        step = chunk * CHUNKS_PER_TASK
        shuffle = int(self.shuffle(values.dtype))
        pool = _shared_pool()
        return [
            pool.submit(self._compress, values[i : i + step], chunk, shuffle)
            for i in range(0, len(values), step)
        ]

    def _compress(self, values: np.ndarray, chunk: int, shuffle: int) -> list[bytes]:
        n = len(values)
        whole = n // chunk * chunk
        frames = [self._frame(values[i : i + chunk], shuffle) for i in range(0, whole, chunk)]
        if whole < n:
            padded = np.zeros(chunk, dtype=values.dtype)
            padded[: n - whole] = values[whole:]
            frames.append(self._frame(padded, shuffle))
        return frames

    def _frame(self, values: np.ndarray, shuffle: int) -> bytes:
        frame = blosc.compress_ptr(
            values.ctypes.data,
            values.size,
            values.itemsize,
            clevel=self.clevel,
            shuffle=shuffle,
            cname=self.cname,
        )
        return with_checksum(frame)
