"""Opening recorded runs: the file type is recognised by its content, not its name.

>>> with open_run("dot7.h5") as run:            # doctest: +SKIP
...     tags = run.read()
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path

from ..errors import (
    MissingFileError,
    RunFileError,
    UnsupportedFormatError,
)
from ..formats.photon_hdf5_spec import HDF5_SIGNATURE
from ..formats.pq_legacy_spec import IDENT_BYTES
from . import pq_legacy
from .run import SOURCE_WARNINGS, Run, with_source_warnings

__all__ = ["SOURCE_WARNINGS", "FileKind", "detect_format", "open_run", "with_source_warnings"]

#: Magic bytes at the start of a PicoQuant unified TTTR (.ptu) file.
PTU_MAGIC = b"PQTTTR"
_FIRST_USER_BLOCK = 512


class FileKind(StrEnum):
    """File types :func:`open_run` recognises."""

    HDF5 = "hdf5"
    PTU = "ptu"
    PQ_LEGACY = "pq-legacy"  # PicoQuant .pt2/.pt3/.ht2/.ht3 (fixed binary header)


def detect_format(path: str | os.PathLike) -> FileKind:
    """Recognise a run file by its first bytes.

    Raises
    ------
    MissingFileError
        No such file, or a folder.
    UnsupportedFormatError
        Neither HDF5 nor PicoQuant PTU/PT2/PT3/HT2/HT3 (an empty file included).
    RunFileError
        The file cannot be read (permissions, I/O error).
    """
    src = Path(path)
    if src.is_dir():
        raise MissingFileError(src, "is a folder, not a run file")
    if not src.exists():
        raise MissingFileError(src, "no such file")
    try:
        with src.open("rb") as fh:
            head = fh.read(max(len(HDF5_SIGNATURE), IDENT_BYTES))
            if head.startswith(PTU_MAGIC):
                return FileKind.PTU
            if pq_legacy.detect_legacy(head) is not None:
                return FileKind.PQ_LEGACY
            if head[: len(HDF5_SIGNATURE)] == HDF5_SIGNATURE or _has_hdf5_user_block(fh):
                return FileKind.HDF5
    except OSError as exc:
        raise RunFileError(src, f"cannot read the file ({exc.strerror or exc})") from exc
    if not head:
        raise UnsupportedFormatError(src, "the file is empty")
    raise UnsupportedFormatError(
        src, "unknown file format (expected Photon-HDF5 or PicoQuant PTU, PT2, PT3, HT2, HT3)"
    )


def _has_hdf5_user_block(fh) -> bool:
    """Look for the HDF5 signature at 512, 1024, 2048, ... bytes (after a user block)."""
    size = os.fstat(fh.fileno()).st_size
    offset = _FIRST_USER_BLOCK
    while offset + len(HDF5_SIGNATURE) <= size:
        fh.seek(offset)
        if fh.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE:
            return True
        offset *= 2
    return False


def open_run(path: str | os.PathLike) -> Run:
    """Open a recorded run (Photon-HDF5, including tagstream's own files, or PicoQuant PTU and
    the legacy PT2/PT3/HT2/HT3) as a :class:`Run`.

    Raises
    ------
    RunFileError
        One of its subclasses, with a one-line message naming the file: missing file or a
        folder, unknown format, a PicoQuant header that breaks the format (naming the byte offset),
        corrupt or truncated HDF5, or an HDF5 file that is not Photon-HDF5 (naming the missing
        field).
    """
    kind = detect_format(path)
    if kind is FileKind.PTU:
        from .pq_file import PtuRun

        return PtuRun(path)
    if kind is FileKind.PQ_LEGACY:
        from .pq_file import PtuRun

        return PtuRun(path, header=pq_legacy.read_legacy_header(path))
    from .hdf5_file import HDF5Run  # h5py is imported only when an HDF5 file is opened

    return HDF5Run(path)
