"""Chunks compressed outside HDF5, on every core, for direct chunk writes.

HDF5 runs a dataset's filters chunk after chunk in the thread that writes, so a writer thread
compressing becomes the slowest stage of a fast run. Here runs of whole chunks are compressed
in a small thread pool (the compressors release the GIL) and handed to HDF5 already compressed
(``H5Dwrite_chunk``). The bytes are exactly what the dataset's filter pipeline would store,
followed by the checksum its Fletcher-32 filter appends, so every reader decodes and checks
them with those filters. Two codecs share the pool and the chunking:

:class:`DeflateChunks`
    HDF5's built-in shuffle and deflate filters (a zlib stream of the byte-shuffled chunk,
    made with ISA-L): every HDF5 reader decodes it without plug-ins.
:class:`BloscChunks`
    A Blosc frame of one chunk (HDF5 filter 32001, a plug-in).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future

import blosc
import numpy as np

from ..sources.chunk_pool import shared_pool
from ..sources.hdf5_checksum import with_checksum
from ..sources.hdf5_filters import ISAL_LEVEL, pack

#: Chunks compressed per task, enough for the cost of handing out a task (tens of µs) to vanish.
CHUNKS_PER_TASK = 32


class ChunkCodec:
    """Compresses 1-D arrays chunk by chunk, in parallel, into what a dataset's filters store.

    Subclasses say how one whole chunk is encoded (:meth:`encode`); the Fletcher-32 checksum
    is appended here.
    """

    def encode(self, values: np.ndarray) -> bytes:
        """The bytes the dataset's filters before Fletcher-32 store for one whole chunk."""
        raise NotImplementedError

    def submit(self, values: np.ndarray, chunk: int) -> list[Future[list[bytes]]]:
        """Start compressing ``values`` in chunks of ``chunk`` elements; futures of the frames,
        in order. A last, partial chunk is padded with zeros to a whole chunk (rows beyond a
        dataset's extent are never read). ``values`` must not change until they are done."""
        values = np.ascontiguousarray(values)
        step = chunk * CHUNKS_PER_TASK
        pool = shared_pool()
        return [
            pool.submit(self._compress, values[i : i + step], chunk)
            for i in range(0, len(values), step)
        ]

    def _compress(self, values: np.ndarray, chunk: int) -> list[bytes]:
        n = len(values)
        whole = n // chunk * chunk
        frames = [self._frame(values[i : i + chunk]) for i in range(0, whole, chunk)]
        if whole < n:
            padded = np.zeros(chunk, dtype=values.dtype)
            padded[: n - whole] = values[whole:]
            frames.append(self._frame(padded))
        return frames

    def _frame(self, values: np.ndarray) -> bytes:
        return with_checksum(self.encode(values))


class DeflateChunks(ChunkCodec):
    """HDF5's shuffle and deflate filters (ISA-L deflate at ``level``, 0-3)."""

    def __init__(self, level: int = ISAL_LEVEL):
        self.level = int(level)

    def encode(self, values: np.ndarray) -> bytes:
        """One chunk's values shuffled and deflated, as HDF5's filters would store them."""
        return pack(values, shuffled=True, level=self.level)


class BloscChunks(ChunkCodec):
    """Blosc frames of one chunk each.

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

    def encode(self, values: np.ndarray) -> bytes:
        """One chunk's values as a Blosc frame, with the shuffle mode of their dtype."""
        return blosc.compress_ptr(
            values.ctypes.data,
            values.size,
            values.itemsize,
            clevel=self.clevel,
            shuffle=int(self.shuffle(values.dtype)),
            cname=self.cname,
        )
