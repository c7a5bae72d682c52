"""HDF5's built-in shuffle and deflate filters, done outside HDF5 on whole chunks.

A chunk stored with HDF5's filter pipeline ``shuffle → deflate (→ fletcher32)`` holds:

* the shuffle filter's layout: the first byte of every value, then every second byte, ... (the
  value's bytes in memory order, little-endian here); 1-byte values are left as they are;
* compressed by the deflate filter as a zlib stream (2-byte header, deflate data, Adler-32);
* followed, with fletcher32, by the checksum of those bytes (:mod:`.hdf5_checksum`).

These functions make and undo the first two steps with ISA-L's deflate (``isal``), several
times faster than zlib at its fastest level, and without the GIL, so that a thread pool packs
and unpacks chunks on every core. HDF5 decodes what :func:`pack` makes with its own filters,
and :func:`unpack` decodes what HDF5 (or PyTables, or any zlib) stored.
"""

from __future__ import annotations

import numpy as np
from isal import isal_zlib

from ..kernels.byte_shuffle import shuffle_words, unshuffle_words

#: ISA-L compression level of the chunks we write (0-3; 1 packs shuffled timestamps about as
#: well as zlib's level 1, at about ten times the speed).
ISAL_LEVEL = 1


def shuffle(values: np.ndarray) -> np.ndarray:
    """The bytes of a 1-D array in the shuffle filter's layout, as a uint8 array."""
    values = np.ascontiguousarray(values)
    if values.itemsize == 1:
        return values.view(np.uint8)
    out = np.empty(values.nbytes, dtype=np.uint8)
    shuffle_words(values.view(f"u{values.itemsize}"), out)
    return out


def unshuffle_into(raw: bytes | memoryview | np.ndarray, out: np.ndarray) -> None:
    """Undo :func:`shuffle`: fill the contiguous 1-D array ``out`` from ``raw``, which holds
    exactly its bytes in the shuffle filter's layout."""
    planes = np.frombuffer(raw, dtype=np.uint8)
    size = out.itemsize
    if planes.size != out.size * size:
        raise ValueError(f"a chunk of {planes.size} bytes for {out.size} values of {size} bytes")
    if size == 1:
        out.view(np.uint8)[:] = planes
    else:
        unshuffle_words(planes, out.view(f"u{size}"))


def pack(values: np.ndarray, shuffled: bool = True, level: int = ISAL_LEVEL) -> bytes:
    """A whole chunk as HDF5's (shuffle and) deflate filters store it: a zlib stream."""
    data = shuffle(values) if shuffled else np.ascontiguousarray(values).view(np.uint8)
    return isal_zlib.compress(data, level)


def unpack(stored: bytes | memoryview, out: np.ndarray, shuffled: bool) -> None:
    """Decode a chunk stored by the (shuffle and) deflate filters into ``out`` (contiguous,
    1-D, exactly the chunk's values). Raises ``ValueError`` when the bytes do not decode to
    that many values."""
    try:
        raw = isal_zlib.decompress(stored, wbits=15, bufsize=max(out.nbytes, 1))
    except isal_zlib.error as exc:
        raise ValueError(f"the chunk does not inflate ({exc})") from exc
    if shuffled:
        unshuffle_into(raw, out)
        return
    data = np.frombuffer(raw, dtype=np.uint8)
    if data.size != out.nbytes:
        raise ValueError(f"a chunk of {data.size} bytes for {out.nbytes} bytes of values")
    out.view(np.uint8)[:] = data
