"""One CSV table of ``analyze --export``: comment lines (program, file, settings, what each
column holds and its unit), a header row of column names with units, and the numbers. Each
measurement kind makes its own tables (see :meth:`Measurement.tables
<tagstream.analysis.measurement.Measurement.tables>`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Table:
    """One CSV file: comment lines, column names (with units) and the values, one row each."""

    kind: str
    comments: tuple[str, ...]
    columns: tuple[str, ...]
    data: np.ndarray
    integer: tuple[bool, ...]

    def text(self) -> str:
        """The file's text."""
        lines = [f"# {c}" for c in self.comments] + [",".join(self.columns)]
        formats = ["%d" if whole else "%.10g" for whole in self.integer]
        body = [",".join(f % v for f, v in zip(formats, row, strict=True)) for row in self.data]
        return "\n".join(lines + body) + "\n"


def table_head(summary: Any) -> str:
    """The first words of every table's first comment: program, version and file."""
    from .._version import __version__

    return f"tagstream {__version__}, file {summary.name}"


def make_table(
    kind: str, comments: Sequence[str], columns: dict[str, np.ndarray], integer: Sequence[str]
) -> Table:
    """A table of equal-length ``columns`` (name with unit: values); ``integer`` columns are
    written without decimals."""
    data = np.column_stack([np.asarray(v, dtype=float) for v in columns.values()])
    return Table(kind, tuple(comments), tuple(columns), data, tuple(c in integer for c in columns))


def table_or_reason(
    name: str, table: Table | None, summary: Any, part: str
) -> dict[str, Table | str]:
    """``{name: table}``, or in the table's place the first note on ``part`` of the summary
    (``"no data"`` without one): what a measurement kind gives ``analyze --export``."""
    if table is not None:
        return {name: table}
    reasons = summary.notes_for(part)
    return {name: reasons[0] if reasons else "no data"}
