"""Which run files a batch takes: files as given, folders searched for run files, glob patterns."""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path

from ..errors import TagstreamError

#: What a folder is searched for: tagstream and Photon-HDF5 files, PicoQuant's unified and
#: legacy formats.
RUN_SUFFIXES = (".h5", ".hdf5", ".ptu", ".pt2", ".pt3", ".ht2", ".ht3")


def run_files(paths: Sequence[str | Path]) -> list[Path]:
    """The run files named by ``paths``, in order, each once: a file as given (whatever its
    name), a folder's run files (:data:`RUN_SUFFIXES`, in its subfolders too, sorted), and the
    files a glob pattern (``*``, ``?``, ``[...]``, ``**``) matches; absolute paths (a Dask
    worker may run in another folder). Hidden files (``._x.h5`` of macOS) are not taken from
    folders and patterns.

    Raises
    ------
    TagstreamError
        A path that does not exist, a folder without run files or a pattern that matches none.
    """
    found: dict[Path, None] = {}
    for given in paths:
        path = Path(given).expanduser().absolute()  # workers may run in other folders
        if path.is_file():
            found[path] = None
        elif path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file() and _is_run(p))
            if not inside:
                raise TagstreamError(f"{path}: no run files in this folder ({_suffixes()})")
            found.update(dict.fromkeys(inside))
        elif glob.has_magic(str(given)):  # the pattern as given (the folder's name is no pattern)
            pattern = str(Path(given).expanduser())
            matched = sorted(Path(p).absolute() for p in glob.glob(pattern, recursive=True))
            matched = [p for p in matched if p.is_file() and not p.name.startswith(".")]
            if not matched:
                raise TagstreamError(f"{given}: the pattern matches no file")
            found.update(dict.fromkeys(matched))
        else:
            raise TagstreamError(f"{given}: no such file or folder")
    return list(found)


def _is_run(path: Path) -> bool:
    return path.suffix.lower() in RUN_SUFFIXES and not path.name.startswith(".")


def _suffixes() -> str:
    return ", ".join(RUN_SUFFIXES)
