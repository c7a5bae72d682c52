"""Clearing the HDF5 superblock's "open for writing" flags without HDF5 (what ``h5clear -s``
does): the flags byte and the checksum are rewritten. The superblock's layout and reading are
in :mod:`tagstream.formats.hdf5_superblock`."""

from __future__ import annotations

import os

from ..formats.hdf5_superblock import Superblock, lookup3, read_superblock


def clear_write_flags(path: str | os.PathLike) -> Superblock:
    """Clear the superblock's open-for-writing flags (and rewrite its checksum); extend a file
    that ends before the end-of-file address its superblock records with zeros (space a writer
    had reserved). Returns the superblock as it was.

    Raises
    ------
    ValueError
        The file has no version 2 or 3 superblock.
    """
    block = read_superblock(path)
    if block is None:
        raise ValueError("no HDF5 superblock of version 2 or 3 (with a valid checksum)")
    with open(path, "r+b") as fh:
        fh.seek(block.offset)
        raw = bytearray(fh.read(block.size))
        raw[11] = 0
        raw[-4:] = lookup3(bytes(raw[:-4])).to_bytes(4, "little")
        fh.seek(0, os.SEEK_END)
        end = block.base_address + block.eof_address
        if fh.tell() < end:
            fh.truncate(end)
        fh.seek(block.offset)
        fh.write(raw)
        fh.flush()
        os.fsync(fh.fileno())
    return block
