"""HDF5's Fletcher-32 checksum of a byte string, at memory speed (the numpy form in
:mod:`tagstream.sources.hdf5_checksum` is its reference)."""

from __future__ import annotations

import numpy as np
from numba import njit

_MOD = 65535
#: Words summed between reductions: the sums stay below 2**41, exact in uint64.
_BLOCK = 4096


@njit(nogil=True, cache=True)
def fletcher32_bytes(data: np.ndarray) -> np.uint64:
    """HDF5's Fletcher-32 checksum of the uint8 array ``data``: 16-bit big-endian words (an odd
    last byte is the high byte of a word), the plain sum and the sum of running sums folded
    modulo 65535, a nonzero sum kept nonzero (a multiple of 65535 gives 0xffff)."""
    n = data.size
    words = n // 2
    s1 = np.uint64(0)
    s2 = np.uint64(0)
    nonzero = False
    for start in range(0, words, _BLOCK):
        for w in range(start, min(start + _BLOCK, words)):
            s1 += (np.uint64(data[2 * w]) << np.uint64(8)) | np.uint64(data[2 * w + 1])
            s2 += s1
        nonzero = nonzero or s1 != 0  # the words are never negative
        s1 %= np.uint64(_MOD)
        s2 %= np.uint64(_MOD)
    if n % 2:
        word = np.uint64(data[n - 1]) << np.uint64(8)
        s1 += word
        s2 += s1
        nonzero = nonzero or word != 0
    if not nonzero:
        return np.uint64(0)
    sum1 = (s1 + np.uint64(_MOD - 1)) % np.uint64(_MOD) + np.uint64(1)
    sum2 = (s2 + np.uint64(_MOD - 1)) % np.uint64(_MOD) + np.uint64(1)
    return (sum2 << np.uint64(16)) | sum1
