"""The population table on disk: Parquet or CSV (by the file's suffix), rewritten whole through
a temporary file so that an interrupted batch leaves the last complete table."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import OutputExistsError, RunFileError
from .population_rows import KEY_COLUMNS

FORMATS = (".parquet", ".csv")
#: Marks a Parquet file as a tagstream population table (schema metadata).
MARK = b"tagstream-population"


def check_table_target(path: Path) -> None:
    """Refuse an output that is neither ``.parquet`` nor ``.csv``, or whose folder is missing."""
    if path.suffix.lower() not in FORMATS:
        raise RunFileError(path, "the population table must end in .parquet or .csv")
    if not path.parent.is_dir():
        raise RunFileError(path, f"no folder {path.parent}")
    if path.is_dir():
        raise RunFileError(path, "is a folder, not a table file")


def read_table(path: Path, force: bool) -> list[dict[str, Any]]:
    """The rows of an earlier batch's table at ``path`` (none when there is no file, or when
    it is not a population table and ``force`` lets it be replaced).

    Raises
    ------
    OutputExistsError
        The file exists but is not a population table: it is not overwritten without ``force``.
    """
    if not path.exists():
        return []
    try:
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path)
            ours = (table.schema.metadata or {}).get(b"made_by") == MARK
        else:
            from pyarrow import csv

            table = csv.read_csv(path, convert_options=csv.ConvertOptions(strings_can_be_null=True))
            ours = all(c in table.column_names for c in KEY_COLUMNS)
    except Exception:  # unreadable: not ours
        ours = False
    if not ours:  # another file of the user's
        if force:
            return []
        raise OutputExistsError(path)
    return table.to_pylist()


def merged(earlier: Iterable[Mapping[str, Any]], new: Iterable[Mapping[str, Any]]) -> list[dict]:
    """The earlier rows, each replaced by a new row of the same file, then the new files' rows."""
    rows = {str(r["file"]): dict(r) for r in earlier}
    for row in new:
        rows[str(row["file"])] = dict(row)
    return list(rows.values())


def write_table(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` (columns: :data:`KEY_COLUMNS`, then the others sorted) to ``path``."""
    import pyarrow as pa

    names = {key for row in rows for key in row}
    columns = list(KEY_COLUMNS) + sorted(names - set(KEY_COLUMNS))
    data = {name: _column(name, [row.get(name) for row in rows]) for name in columns}
    table = pa.table(data).replace_schema_metadata({b"made_by": MARK})
    partial = path.with_name(f".{path.name}.partial")
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, partial)
    else:
        from pyarrow import csv

        csv.write_csv(table, partial)
    os.replace(partial, path)


def _column(name: str, values: list[Any]):
    """One column: strings where any value is one (text, JSON), otherwise floats or booleans."""
    import pyarrow as pa

    if any(isinstance(v, str) for v in values) or name in KEY_COLUMNS:
        return pa.array([None if v is None else str(v) for v in values], pa.string())
    if values and all(v is None or isinstance(v, bool) for v in values) and any(
        isinstance(v, bool) for v in values
    ):
        return pa.array(values, pa.bool_())
    return pa.array([None if v is None else float(v) for v in values], pa.float64())
