"""The histograms of a run summary as CSV tables, for Origin, Excel and MATLAB.

One file per table of a measurement kind, named ``<run>_<name>.csv``: ``g2``, ``decay``,
``trace``, ``flid`` and ``g2_log`` (runs without decays), and those of kinds registered since.
Each starts with ``#`` comment lines (program and version, file, settings, what each column
holds and its unit), then one header row of column names that carry their units (``tau_ns``),
then comma-separated numbers (``nan`` where a value does not exist). Read back with
``numpy.loadtxt(path, delimiter=",", skiprows=...)`` or ``numpy.genfromtxt(path,
delimiter=",", names=True)``; MATLAB ``readtable`` and Origin's and Excel's CSV import skip or
show the comment lines.

The tables hold the arrays the summary computed (the analysis bins, not the figure's display
bins); nothing is recomputed but the deviance residuals of the decay fit.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import OutputExistsError, WriteError
from .measurement import registered
from .run_summary import RunSummary
from .tables import Table

__all__ = ["Table", "export_names", "export_tables", "write_tables"]


def export_names(run_name: str | os.PathLike) -> dict[str, str]:
    """The file name of each table a run may export: ``<stem>_<name>.csv``."""
    stem = Path(run_name).stem or "run"
    return {name: f"{stem}_{name}.csv" for cls in registered() for name in cls.exports}


def export_tables(summary: RunSummary) -> tuple[dict[str, Table], dict[str, str]]:
    """The tables the summary holds data for, and for the others why they are missing."""
    tables, missing = {}, {}
    for cls in registered():
        for name, table in cls.tables(summary).items():
            if isinstance(table, Table):
                tables[name] = table
            else:
                missing[name] = str(table)
    return tables, missing


def write_tables(
    tables: dict[str, Table], directory: str | os.PathLike, run_name: str, force: bool
) -> list[Path]:
    """Write each table to ``directory/<stem>_<kind>.csv`` (the folder is made if missing),
    each through a temporary file; an existing file is replaced only with ``force``.

    Raises
    ------
    OutputExistsError
        A file exists (without ``force``).
    WriteError
        A file cannot be written.
    """
    folder = Path(directory)
    names = export_names(run_name)
    targets = {kind: folder / names[kind] for kind in tables}
    for path in targets.values():
        if path.exists() and not force:
            raise OutputExistsError(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(folder, f"cannot make the folder ({exc.strerror or exc})") from None
    written = []
    for kind, path in targets.items():
        tmp = path.with_name(f".{path.name}.partial")
        try:
            tmp.write_text(tables[kind].text())
            tmp.replace(path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise WriteError(path, f"cannot write the table ({exc.strerror or exc})") from None
        written.append(path)
    return written
