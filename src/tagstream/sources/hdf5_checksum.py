"""HDF5's Fletcher-32 chunk checksum, for chunks written past HDF5's filter pipeline.

Every growing dataset of a run file carries HDF5's ``fletcher32`` filter (a built-in one: every
HDF5 reader verifies it), so a damaged chunk is reported instead of read. Chunks compressed
outside HDF5 (:mod:`tagstream.store.chunk_codec`) must carry the checksum the filter would have
appended: the Fletcher-32 sum of the chunk's stored bytes, as HDF5 computes it (16-bit big-endian
words, an odd last byte as the high byte of a word, sums folded with end-around carry), stored
little-endian after the bytes.
"""

from __future__ import annotations

import h5py
import numpy as np

from ..kernels.fletcher32 import fletcher32_bytes

#: What reading a damaged HDF5 file makes h5py, or the parsing of what it returns, raise.
H5_DAMAGE = (OSError, RuntimeError, KeyError, ValueError, TypeError, AttributeError, IndexError)

_MOD = 65535
#: Words summed per numpy pass: with weights reduced modulo 65535, each product is below 2**32
#: and a pass's sum below 2**52, exact in uint64 for chunks of any size.
_BLOCK = 1 << 20


def fletcher32(data: bytes | memoryview) -> int:
    """HDF5's Fletcher-32 checksum of ``data``."""
    raw = np.frombuffer(data, dtype=np.uint8)
    if raw.size % 2:
        raw = np.concatenate([raw, np.zeros(1, np.uint8)])
    words = raw.view(">u2").astype(np.uint64)
    n = words.size
    if n == 0 or not words.any():
        return 0  # the sums of HDF5's loop never leave zero
    s1 = s2 = 0
    for start in range(0, n, _BLOCK):
        block = words[start : start + _BLOCK]
        weights = np.arange(n - start, n - start - block.size, -1, dtype=np.uint64) % _MOD
        s1 += int(block.sum())
        s2 += int(np.dot(block, weights))
    # HDF5's folds keep a nonzero sum nonzero: a multiple of 65535 ends as 0xffff, not 0
    sum1 = (s1 - 1) % _MOD + 1
    sum2 = (s2 - 1) % _MOD + 1
    return (sum2 << 16) | sum1


def with_checksum(frame: bytes) -> bytes:
    """``frame`` as HDF5's fletcher32 filter stores it: the bytes, then their checksum
    (computed by the numba kernel, which :func:`fletcher32` checks in the tests)."""
    checksum = fletcher32_bytes(np.frombuffer(frame, dtype=np.uint8))
    return frame + int(checksum).to_bytes(4, "little")


def first_damaged_chunk(ds: h5py.Dataset) -> int | None:
    """The byte offset in the file of the first chunk of ``ds`` whose stored bytes fail their
    Fletcher-32 checksum; ``None`` when all pass or ``ds`` carries no checksum."""
    plist = ds.id.get_create_plist()
    filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    if h5py.h5z.FILTER_FLETCHER32 not in filters:
        return None
    for k in range(ds.id.get_num_chunks()):
        info = ds.id.get_chunk_info(k)
        _, stored = ds.id.read_direct_chunk(info.chunk_offset)
        body, tail = stored[:-4], stored[-4:]
        expected = fletcher32(body)
        if int.from_bytes(tail, "little") != expected and int.from_bytes(tail, "big") != expected:
            return int(info.byte_offset)
    return None


def damage_report(datasets: list[h5py.Dataset]) -> str | None:
    """After a failed read: which chunk of which of ``datasets`` fails its checksum, at which
    byte offset (HDF5 reports only that a filter failed); ``None`` when every chunk passes or
    cannot be told."""
    for ds in datasets:
        try:
            offset = first_damaged_chunk(ds)
        except (OSError, RuntimeError, ValueError, KeyError):  # damage beyond the chunks
            return None
        if offset is not None:
            return (
                f"{ds.name}: the chunk at byte offset {offset} fails its checksum "
                "(the file is damaged)"
            )
    return None
