"""Reading deflate-compressed tag arrays with their chunks inflated on every core.

h5py inflates a dataset's chunks one after another in the reading thread. For a 1-D integer
array whose filters are HDF5's built-in ones — optionally shuffle, then deflate, optionally
Fletcher-32 (what phconvert/PyTables write, and tagstream's default) — :func:`parallel_reader`
returns an :class:`InflatingReader` that reads the stored chunks as they are
(``H5Dread_chunk``), verifies their checksum, and inflates and unshuffles them in the shared
thread pool, a few megabytes ahead of a reader going through the array in order.

Any chunk the fast path cannot take as it is — a checksum that fails, a filter skipped for that
chunk, bytes that do not inflate to a whole chunk, a chunk never written — is read through
h5py instead, so HDF5 itself decodes it or raises its own error (a damaged file reads exactly
as before). Anything else is read by h5py as it always was.
"""

from __future__ import annotations

from concurrent.futures import Future

import h5py
import numpy as np

from ..kernels.fletcher32 import fletcher32_bytes
from .chunk_pool import shared_pool
from .hdf5_filters import unpack

#: Raw bytes inflated per task: enough for the cost of a task (tens of µs) to vanish.
TASK_BYTES = 1 << 19
#: Raw bytes inflated ahead of a reader that goes through the array in order.
AHEAD_BYTES = 1 << 24


def parallel_reader(ds: h5py.Dataset) -> InflatingReader | h5py.Dataset:
    """An :class:`InflatingReader` of ``ds`` when its filters allow, else ``ds`` itself."""
    plan = _inflate_plan(ds)
    if plan is None:
        return ds
    shuffled, checked = plan
    return InflatingReader(ds, shuffled, checked)


def _inflate_plan(ds: h5py.Dataset) -> tuple[bool, bool] | None:
    """``(shuffled, checksummed)`` when ``ds`` is a chunked 1-D little-endian integer array
    whose filters are [shuffle,] deflate[, fletcher32]; else ``None``."""
    if ds.ndim != 1 or ds.chunks is None or ds.dtype.kind not in "iu":
        return None
    if ds.dtype.byteorder == ">" or not np.little_endian:
        return None
    plist = ds.id.get_create_plist()
    filters = [plist.get_filter(i) for i in range(plist.get_nfilters())]
    ids = [f[0] for f in filters]
    shuffled = bool(ids) and ids[0] == h5py.h5z.FILTER_SHUFFLE
    checked = bool(ids) and ids[-1] == h5py.h5z.FILTER_FLETCHER32
    core = ids[int(shuffled) : len(ids) - int(checked)]
    if core != [h5py.h5z.FILTER_DEFLATE]:
        return None
    if shuffled:
        values = filters[0][2]  # the element size the filter was set for
        if len(values) and int(values[0]) not in (ds.dtype.itemsize, 0):
            return None
    return shuffled, checked


class InflatingReader:
    """Slices of a 1-D deflate-compressed dataset, inflated in parallel (see the module
    docstring). Indexing with a slice of step 1 reads the values; anything else goes to
    h5py.

    Parameters
    ----------
    ds
        The dataset; its filters are as :func:`parallel_reader` requires.
    shuffled, checked
        Whether the shuffle and Fletcher-32 filters are in its pipeline.
    """

    def __init__(self, ds: h5py.Dataset, shuffled: bool, checked: bool):
        self.dataset = ds
        self.dtype = ds.dtype
        self.name = ds.name
        self.ndim = 1
        self.chunks = ds.chunks
        self._chunk = int(ds.chunks[0])
        self._shuffled, self._checked = shuffled, checked
        chunk_bytes = self._chunk * ds.dtype.itemsize
        self._per_task = max(1, TASK_BYTES // chunk_bytes)  # chunks per block
        self._block = self._chunk * self._per_task  # values per block
        self._ahead = max(2, AHEAD_BYTES // (self._block * ds.dtype.itemsize))  # blocks
        self._blocks: dict[int, Future[np.ndarray]] = {}
        self._next = 0  # where a reader going through the array in order reads next

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the dataset."""
        return self.dataset.shape

    def __len__(self) -> int:
        return self.dataset.shape[0]

    def __getitem__(self, key: object) -> np.ndarray:
        if not isinstance(key, slice) or key.step not in (None, 1):
            return self.dataset[key]
        n = self.dataset.shape[0]
        a, b, _ = key.indices(n)
        if b <= a:
            return np.zeros(0, dtype=self.dtype)
        first, last = a // self._block, (b - 1) // self._block
        in_order = a == self._next or first in self._blocks or last > first
        self._next = b
        for k in [k for k in self._blocks if k < first]:
            self._blocks.pop(k).cancel()
        blocks = self._blocks
        last_block = (n - 1) // self._block
        if in_order:  # going through the array: keep the pool busy ahead
            for k in range(first, min(last + self._ahead, last_block) + 1):
                if k not in blocks:
                    blocks[k] = shared_pool().submit(self._read_block, k, n)
        parts = []
        for k in range(first, last + 1):
            start = k * self._block
            need = min(b, start + self._block) - start
            future = blocks.get(k)
            values = future.result() if future is not None else None
            if values is None or values.size < need:  # not read, or grown since (SWMR)
                values = self._read_block(k, n)
                if in_order:
                    blocks[k] = _done(values)
            lo = max(a - start, 0)
            parts.append(values[lo:need])
        return parts[0].copy() if len(parts) == 1 else np.concatenate(parts)

    # ------------------------------------------------------------------ decoding
    def _read_block(self, k: int, n: int) -> np.ndarray:
        """The values of block ``k`` of an array of ``n`` values."""
        start = k * self._block
        out = np.empty(min(self._block, n - start), dtype=self.dtype)
        for j in range(0, out.size, self._chunk):
            count = min(self._chunk, out.size - j)
            if not self._inflate_chunk(start + j, out[j : j + count]):
                out[j : j + count] = self.dataset[start + j : start + j + count]
        return out

    def _inflate_chunk(self, offset: int, out: np.ndarray) -> bool:
        """Fill ``out`` from the chunk at row ``offset``; ``False`` when HDF5 must read it."""
        try:
            mask, stored = self.dataset.id.read_direct_chunk((offset,))
        except (OSError, RuntimeError, ValueError, KeyError):
            return False
        if mask != 0:
            return False
        body = memoryview(stored)
        if self._checked:
            if len(body) < 4 or not _checksum_ok(body):
                return False
            body = body[:-4]
        target = out if out.size == self._chunk else np.empty(self._chunk, dtype=self.dtype)
        try:
            unpack(body, target, self._shuffled)
        except ValueError:
            return False
        if target is not out:
            out[:] = target[: out.size]
        return True


def _checksum_ok(stored: memoryview) -> bool:
    """Whether the last 4 bytes are the Fletcher-32 checksum of the rest (stored either way
    round, as HDF5 accepts)."""
    expected = int(fletcher32_bytes(np.frombuffer(stored[:-4], dtype=np.uint8)))
    tail = bytes(stored[-4:])
    return expected in (int.from_bytes(tail, "little"), int.from_bytes(tail, "big"))


def _done(values: np.ndarray) -> Future[np.ndarray]:
    future: Future[np.ndarray] = Future()
    future.set_result(values)
    return future
