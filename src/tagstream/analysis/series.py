"""What a result series holds, as data: its columns, a snapshot (one row), and a series read
back. Measurements describe their series with these; :mod:`tagstream.store.results` writes and
reads them in run files."""

from __future__ import annotations

import collections
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import TagstreamError

#: Names of the columns every series has.
COMMON_COLUMNS = {
    "covered_ps": "Data covered by each snapshot: [t_begin, t_end) in ps.",
    "live_ps": "Covered time less the lost time, ps.",
    "wall_time_s": "When each snapshot was taken (Unix time, s).",
    "rows": "Length of the growing arrays at each snapshot.",
}


@dataclass(frozen=True)
class Column:
    """One array of a series: its dtype, the shape of one row, what it holds."""

    dtype: np.dtype | type
    shape: tuple[int, ...]
    description: str


@dataclass(frozen=True)
class SeriesSpec:
    """What a series holds, known before the run starts.

    Attributes
    ----------
    name
        Group name under ``results``.
    description
        What the series is.
    fields
        One row per snapshot.
    axes
        Fixed arrays written once (bin edges), with their descriptions.
    row_arrays
        Arrays that grow by any number of rows per snapshot (a trace's new bins).
    attrs
        Settings stored as attributes of the group.
    """

    name: str
    description: str
    fields: Mapping[str, Column]
    axes: Mapping[str, tuple[np.ndarray, str]] = field(default_factory=dict)
    row_arrays: Mapping[str, Column] = field(default_factory=dict)
    attrs: Mapping[str, str | int | float] = field(default_factory=dict)

    @property
    def columns(self) -> dict[str, Column]:
        """Everything stored once per snapshot: the common columns, then the fields."""
        columns = {
            "covered_ps": Column(np.int64, (2,), COMMON_COLUMNS["covered_ps"]),
            "live_ps": Column(np.int64, (), COMMON_COLUMNS["live_ps"]),
            "wall_time_s": Column(np.float64, (), COMMON_COLUMNS["wall_time_s"]),
            **self.fields,
        }
        if self.row_arrays:
            columns["rows"] = Column(np.int64, (), COMMON_COLUMNS["rows"])
        return columns

    def checked(self, snapshot: Snapshot) -> Snapshot:
        """``snapshot`` with every value converted to its column's type, exactly.

        Raises
        ------
        TagstreamError
            A snapshot of another series, missing or extra values, values of the wrong shape,
            or values the stored types cannot hold (text, fractions for integers).
        """
        name = f"results/{self.name}"
        if snapshot.series != self.name:
            raise TagstreamError(f"{name}: a snapshot of series {snapshot.series!r}")
        common = {
            "covered_ps": snapshot.covered_ps,
            "live_ps": snapshot.live_ps,
            "wall_time_s": snapshot.wall_time_s,
        }
        values = {**common, **snapshot.values}
        expected = {k: c for k, c in self.columns.items() if k != "rows"}
        if set(values) != set(expected):
            raise TagstreamError(
                f"{name}: a snapshot holds {sorted(values)}, not {sorted(expected)}"
            )
        for key, column in expected.items():
            values[key] = _as_stored(values[key], np.dtype(column.dtype), f"{name}/{key}")
            if values[key].shape != tuple(column.shape):
                raise TagstreamError(f"{name}/{key}: shape {values[key].shape}, not {column.shape}")
        if set(snapshot.new_rows) != set(self.row_arrays):
            raise TagstreamError(
                f"{name}: new rows for {sorted(snapshot.new_rows)}, not {sorted(self.row_arrays)}"
            )
        rows, lengths = {}, set()
        for key, column in self.row_arrays.items():
            rows[key] = _as_stored(snapshot.new_rows[key], np.dtype(column.dtype), f"{name}/{key}")
            if rows[key].ndim == 0 or rows[key].shape[1:] != tuple(column.shape):
                raise TagstreamError(f"{name}/{key}: rows of shape {rows[key].shape[1:]}")
            lengths.add(rows[key].shape[0])
        if len(lengths) > 1:
            raise TagstreamError(f"{name}: row arrays grow by different numbers of rows")
        covered = values["covered_ps"]
        if not 0 <= int(values["live_ps"]) <= int(covered[1]) - int(covered[0]):
            raise TagstreamError(f"{name}: live time outside the covered span")
        return Snapshot(
            self.name,
            (int(covered[0]), int(covered[1])),
            int(values["live_ps"]),
            {k: v for k, v in values.items() if k not in common},
            rows,
            float(values["wall_time_s"]),
        )


@dataclass(frozen=True)
class Snapshot:
    """One row of a series.

    Attributes
    ----------
    series
        The series' name.
    covered_ps
        ``(t_begin, t_end)`` of the data it covers, ps.
    live_ps
        Covered time less the lost time, ps.
    values
        One value per field of the series.
    new_rows
        Rows to append to each row array (all of the same length).
    wall_time_s
        When it was taken (Unix time, s).
    """

    series: str
    covered_ps: tuple[int, int]
    live_ps: int
    values: Mapping[str, np.ndarray | float | int]
    new_rows: Mapping[str, np.ndarray] = field(default_factory=dict)
    wall_time_s: float = field(default_factory=time.time)


def _as_stored(value: object, dtype: np.dtype, name: str) -> np.ndarray:
    """``value`` as an array of the dataset's dtype, exactly (no text, no wrap-around, no
    integer from a fraction), else :class:`TagstreamError`."""
    try:
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{arr.dtype} values")
        stored = arr.astype(dtype)
        if not np.array_equal(stored, arr, equal_nan=arr.dtype.kind == "f"):
            raise ValueError("values that the stored type cannot hold")
    except (TypeError, ValueError, OverflowError) as exc:
        raise TagstreamError(f"{name}: {exc}") from None
    return stored


@dataclass(frozen=True)
class RecordedSeries:
    """A series read back from a run file, as far as it was committed.

    Attributes
    ----------
    name, description
        The series' name and what it is.
    covered_ps, live_ps, wall_time_s
        Per snapshot: covered span (n, 2), live time and wall-clock time.
    fields
        Per-snapshot arrays by name (first axis: snapshot).
    axes
        Fixed arrays (bin edges).
    row_arrays
        Growing arrays; snapshot ``k`` holds their first ``rows[k]`` rows.
    attrs
        The series' settings.
    """

    name: str
    description: str
    covered_ps: np.ndarray
    live_ps: np.ndarray
    wall_time_s: np.ndarray
    fields: dict[str, np.ndarray]
    axes: dict[str, np.ndarray]
    row_arrays: dict[str, np.ndarray]
    attrs: dict[str, object]

    def __len__(self) -> int:
        return len(self.live_ps)

    def rows(self, k: int) -> int:
        """Length of the row arrays at snapshot ``k``."""
        return int(self.fields["rows"][k]) if "rows" in self.fields else 0

    def until(self, k: int) -> RecordedSeries:
        """The series as it was at snapshot ``k`` (its first ``k + 1`` snapshots; ``k`` may count
        from the end)."""
        n = len(self)
        k = k % n if n else 0
        rows = self.rows(k) if n else 0
        return RecordedSeries(
            self.name, self.description, self.covered_ps[: k + 1], self.live_ps[: k + 1],
            self.wall_time_s[: k + 1], {key: v[: k + 1] for key, v in self.fields.items()},
            self.axes, {key: v[:rows] for key, v in self.row_arrays.items()}, self.attrs,
        )  # fmt: skip


class LatestSeries:
    """A series followed from its live snapshots: the last ones, and every row of its row
    arrays, read as a :class:`RecordedSeries` of one snapshot (what a live view needs).

    Parameters
    ----------
    spec
        The series' spec.
    keep
        Snapshots kept (to show the series as it was some time ago).
    """

    def __init__(self, spec: SeriesSpec, keep: int = 600):
        self.spec = spec
        self._kept: collections.deque[tuple[Snapshot, int]] = collections.deque(maxlen=keep)
        self._rows: dict[str, list[np.ndarray]] = {key: [] for key in spec.row_arrays}
        self._n_rows = 0

    @property
    def last(self) -> Snapshot | None:
        """The last snapshot (``None`` before the first)."""
        return self._kept[-1][0] if self._kept else None

    def add(self, snapshot: Snapshot) -> None:
        """Follow one more snapshot of the series (in the order they were taken)."""
        for key, new in snapshot.new_rows.items():
            self._rows[key].append(np.asarray(new))
        if snapshot.new_rows:
            self._n_rows += len(next(iter(snapshot.new_rows.values())))
        self._kept.append((snapshot, self._n_rows))

    def recorded(self, before_ps: int | None = None) -> RecordedSeries | None:
        """The last snapshot as a recorded series, or the last one that ends at or before
        ``before_ps`` (``None`` when there is none)."""
        chosen = None
        for snapshot, n_rows in reversed(self._kept):
            if before_ps is None or snapshot.covered_ps[1] <= before_ps:
                chosen = (snapshot, n_rows)
                break
        if chosen is None:
            return None
        s, n_rows = chosen
        spec = self.spec
        fields = {key: np.asarray(s.values[key])[None] for key in spec.fields}
        rows = {}
        for key, column in spec.row_arrays.items():
            parts = self._rows[key]
            if len(parts) > 1:  # joined once, kept joined
                self._rows[key] = parts = [np.concatenate(parts)]
            whole = parts[0] if parts else np.zeros((0, *column.shape), column.dtype)
            rows[key] = whole[:n_rows]
        if spec.row_arrays:
            fields["rows"] = np.array([n_rows], dtype=np.int64)
        return RecordedSeries(
            spec.name, spec.description, np.array([s.covered_ps], dtype=np.int64),
            np.array([s.live_ps], dtype=np.int64), np.array([s.wall_time_s]), fields,
            {key: values for key, (values, _) in spec.axes.items()}, rows, dict(spec.attrs),
        )  # fmt: skip
