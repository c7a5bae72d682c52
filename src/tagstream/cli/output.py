"""Writing result files from the command line: never over a user's file without ``--force``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import OutputExistsError, RunFileError, TagstreamError, WriteError
from ..store.paths import check_target

#: Names a run file may end with (HDF5), and a PicoQuant file.
RUN_FILE_SUFFIXES = (".h5", ".hdf5", ".hdf")
PTU_SUFFIX = ".ptu"
#: Standard output, where a file name is asked for.
STDOUT = "-"


def check_writable(path: str | os.PathLike, force: bool) -> Path:
    """Refuse to overwrite an existing file unless ``force``; check the folder exists."""
    return check_target(path, force)


def check_run_file_target(
    path: str | os.PathLike, force: bool, option: str = "-o", ptu: bool = False
) -> Path:
    """A run file's name, checked before any work: an HDF5 name (``.h5``, ``.hdf5``,
    ``.hdf``; or ``.ptu`` where a PTU file can be written), not an existing file unless
    ``force``."""
    suffixes = (*RUN_FILE_SUFFIXES, *([PTU_SUFFIX] if ptu else []))
    if Path(path).suffix.lower() not in suffixes:
        raise TagstreamError(
            f"{option} {path}: a run file's name ends in {', '.join(suffixes)} (the suffix sets "
            "the format)"
        )
    return check_target(path, force)


def check_figure_target(path: str | os.PathLike, force: bool) -> Path:
    """A figure's name, checked before any work: a suffix matplotlib writes (it sets the
    format), not an existing file unless ``force``."""
    from matplotlib.figure import Figure

    formats = Figure().canvas.get_supported_filetypes()
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in formats:
        raise TagstreamError(
            f"--plot {path}: give a name ending in .png, .pdf or .svg (the suffix sets the "
            f"format; also {', '.join(sorted(set(formats) - {'png', 'pdf', 'svg'}))})"
        )
    return check_target(path, force)


def check_export_dir(directory: str | os.PathLike, run_name: str, force: bool) -> Path:
    """The ``--export`` folder, checked before any work: not a file, made where missing (its
    nearest existing parent must be a writable folder), and none of the tables the run could
    give (``<run>_g2.csv``, ...) already in it unless ``force``."""
    from ..analysis.export import export_names

    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise RunFileError(folder, "--export needs a folder, and this is a file")
    parent = folder
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise RunFileError(folder, f"cannot make the folder: {parent} is not a writable folder")
    try:  # made now, so that a folder that cannot be made is found before the analysis
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunFileError(folder, f"cannot make the folder ({exc.strerror or exc})") from None
    if not force:
        for name in export_names(run_name).values():
            if (folder / name).exists():
                raise OutputExistsError(folder / name)
    return folder


def check_json_target(path: str | os.PathLike, force: bool) -> Path | None:
    """A JSON file's name, checked before any work; ``None`` for ``-`` (standard output)."""
    return None if str(path) == STDOUT else check_target(path, force)


def write_json(path: str | os.PathLike, data: Any, force: bool) -> Path:
    """Write ``data`` as JSON through a temporary file: ``path`` is replaced only when the
    whole text was written (a full disk leaves no partial file and an error naming ``path``)."""
    out = check_target(path, force)
    tmp = out.with_name(f".{out.name}.partial")
    try:
        tmp.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WriteError(out, f"cannot write the JSON ({exc.strerror or exc})") from None
    return out


def check_distinct(inputs: dict[str, str | os.PathLike], outputs: dict[str, object]) -> None:
    """Refuse an output that is one of the inputs, or that another output also names (with
    ``--force`` it would destroy the data it is made from). ``inputs`` and ``outputs`` map how
    the command line names each path (``"FILE"``, ``"--json"``) to it; ``None`` and ``-``
    (standard output) are skipped."""
    seen: dict[Path, str] = {}
    for role, path in inputs.items():
        seen.setdefault(_identity(path), role)
    for option, path in outputs.items():
        if path is None or str(path) == STDOUT:
            continue
        key = _identity(path)
        if key in seen:
            other = seen[key]
            what = "the input file" if other in inputs else f"also the {other} output"
            raise TagstreamError(f"{option} {path}: that is {what}; give another name")
        seen[key] = option


def _identity(path: str | os.PathLike) -> Path:
    """One name per file: resolved, so that ``./a.h5``, ``a.h5`` and links agree."""
    return Path(path).expanduser().resolve()
