"""The HDF5 superblock's "open for writing" flags, read without HDF5 (the file format as data;
:mod:`tagstream.store.superblock` clears them).

A file opened for writing (and for SWMR writing) carries flags in its superblock's *file
consistency flags* byte; HDF5 clears them when it closes the file. A writer that is killed
leaves them set, and HDF5 then refuses to open the file except for SWMR reading (``h5clear -s``
is HDF5's own tool to clear them). Superblock versions 2 and 3 (HDF5 file format
specification, section II.A) are laid out as::

    signature (8) | version (1) | size of offsets (1) | size of lengths (1) | flags (1)
    base address | extension address | end-of-file address | root group address
    checksum (4): Jenkins' lookup3 hash of everything before it

Older superblocks (versions 0 and 1) have no such flags.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .photon_hdf5_spec import HDF5_SIGNATURE

#: Where HDF5 looks for the superblock: byte 0, then 512, 1024, 2048 ... (after a user block).
_FIRST_USER_BLOCK = 512
#: Flags of superblock version 3: open for writing, open for SWMR writing.
WRITE_ACCESS = 0x01
SWMR_WRITE_ACCESS = 0x04

_MASK = 0xFFFFFFFF


@dataclass(frozen=True)
class Superblock:
    """Where a version 2 or 3 superblock sits and what it says.

    Attributes
    ----------
    offset
        Byte offset of its signature in the file.
    version
        Superblock version (2 or 3).
    flags
        File consistency flags.
    eof_address
        The end-of-file address it records, relative to ``base_address``.
    base_address
        Absolute address all addresses are relative to.
    size
        Its length in bytes, checksum included.
    """

    offset: int
    version: int
    flags: int
    eof_address: int
    base_address: int
    size: int

    @property
    def open_for_writing(self) -> bool:
        """Whether the file is marked open for writing (plain or SWMR write access)."""
        return bool(self.flags & (WRITE_ACCESS | SWMR_WRITE_ACCESS))


def read_superblock(path: str | os.PathLike) -> Superblock | None:
    """The version 2 or 3 superblock of the HDF5 file at ``path``; ``None`` when there is none
    (not HDF5, an older version, or a checksum that fails)."""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        length = fh.tell()
        offset = 0
        while offset + 12 <= length:
            fh.seek(offset)
            head = fh.read(12)
            if head[:8] == HDF5_SIGNATURE:
                return _parse(fh, offset, head)
            offset = _FIRST_USER_BLOCK if offset == 0 else offset * 2
    return None


def _parse(fh, offset: int, head: bytes) -> Superblock | None:
    version, size_of_offsets = head[8], head[9]
    if version not in (2, 3) or size_of_offsets not in (2, 4, 8):
        return None
    size = 12 + 4 * size_of_offsets + 4
    fh.seek(offset)
    raw = fh.read(size)
    if len(raw) < size or lookup3(raw[:-4]) != int.from_bytes(raw[-4:], "little"):
        return None
    addresses = [
        int.from_bytes(raw[12 + k * size_of_offsets : 12 + (k + 1) * size_of_offsets], "little")
        for k in range(4)
    ]
    return Superblock(offset, version, raw[11], addresses[2], addresses[0], size)


def swmr_flags_set(path: Path) -> bool:
    """Whether ``path`` is an HDF5 file whose superblock says it is open for writing."""
    try:
        block = read_superblock(path)
    except OSError:
        return False
    return block is not None and block.open_for_writing


# ---------------------------------------------------------------------- lookup3
def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _MASK


def _mix(a: int, b: int, c: int) -> tuple[int, int, int]:
    a = (a - c) & _MASK
    a ^= _rot(c, 4)
    c = (c + b) & _MASK
    b = (b - a) & _MASK
    b ^= _rot(a, 6)
    a = (a + c) & _MASK
    c = (c - b) & _MASK
    c ^= _rot(b, 8)
    b = (b + a) & _MASK
    a = (a - c) & _MASK
    a ^= _rot(c, 16)
    c = (c + b) & _MASK
    b = (b - a) & _MASK
    b ^= _rot(a, 19)
    a = (a + c) & _MASK
    c = (c - b) & _MASK
    c ^= _rot(b, 4)
    b = (b + a) & _MASK
    return a, b, c


def _final(a: int, b: int, c: int) -> int:
    c ^= b
    c = (c - _rot(b, 14)) & _MASK
    a ^= c
    a = (a - _rot(c, 11)) & _MASK
    b ^= a
    b = (b - _rot(a, 25)) & _MASK
    c ^= b
    c = (c - _rot(b, 16)) & _MASK
    a ^= c
    a = (a - _rot(c, 4)) & _MASK
    b ^= a
    b = (b - _rot(a, 14)) & _MASK
    c ^= b
    c = (c - _rot(b, 24)) & _MASK
    return c


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 ``hashlittle`` of ``data``, the checksum HDF5 puts on its
    metadata (``H5_checksum_lookup3``)."""
    n = len(data)
    a = b = c = (0xDEADBEEF + n + initval) & _MASK
    pos = 0
    while n - pos > 12:
        a = (a + int.from_bytes(data[pos : pos + 4], "little")) & _MASK
        b = (b + int.from_bytes(data[pos + 4 : pos + 8], "little")) & _MASK
        c = (c + int.from_bytes(data[pos + 8 : pos + 12], "little")) & _MASK
        a, b, c = _mix(a, b, c)
        pos += 12
    tail = data[pos:]
    if not tail:
        return c
    tail = tail + bytes(12 - len(tail))  # the missing bytes add nothing
    a = (a + int.from_bytes(tail[0:4], "little")) & _MASK
    b = (b + int.from_bytes(tail[4:8], "little")) & _MASK
    c = (c + int.from_bytes(tail[8:12], "little")) & _MASK
    return _final(a, b, c)
