"""Result series: analyzer snapshots appended to a run file while the run goes on.

Each series is a group under ``/user/tagstream/results``; snapshot ``k`` is row ``k`` of every
per-snapshot dataset in it::

    results/<name>/covered_ps   int64 (n, 2)   [t_begin, t_end) of the data the snapshot covers
    results/<name>/live_ps      int64 (n,)     covered time less the lost time, ps
    results/<name>/wall_time_s  float64 (n,)   when the snapshot was taken (Unix time, s)
    results/<name>/<field>      (n, *shape)    one row per snapshot (a histogram, a fit)
    results/<name>/<axis>       fixed arrays   bin edges and the like, written once
    results/<name>/<row array>  (m, *shape)    arrays that grow by some rows per snapshot
    results/<name>/rows         int64 (n,)     length of the row arrays at each snapshot

The attributes of the group hold the series' settings (channels, bin widths). Snapshots are
cumulative: row ``k`` holds everything from the start of the run to ``covered_ps[k, 1]``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import h5py
import numpy as np

from ..errors import CorruptFileError, TagstreamError
from ..sources import photon_hdf5_spec as spec
from ..sources.hdf5_checksum import H5_DAMAGE, damage_report
from .layout import growing, text, title
from .packing import CHUNK_SNAPSHOTS

#: Rows per chunk of the arrays that grow by rows (trace bins).
CHUNK_ROWS = 4096
#: Attribute that marks the arrays growing by rows rather than by snapshots.
GROWS_BY = "grows_by"

_COMMON = {
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
            "covered_ps": Column(np.int64, (2,), _COMMON["covered_ps"]),
            "live_ps": Column(np.int64, (), _COMMON["live_ps"]),
            "wall_time_s": Column(np.float64, (), _COMMON["wall_time_s"]),
            **self.fields,
        }
        if self.row_arrays:
            columns["rows"] = Column(np.int64, (), _COMMON["rows"])
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


class SeriesWriter:
    """The datasets of one series in a file being written."""

    def __init__(self, parent: h5py.Group, spec_: SeriesSpec, compression: str):
        self.spec = spec_
        group = parent.create_group(spec_.name)
        title(group, spec_.description)
        for key, value in spec_.attrs.items():
            group.attrs[key] = text(value) if isinstance(value, str) else value
        for key, (values, description) in spec_.axes.items():
            checked = np.size(values) > 0  # chunked, to carry a checksum
            ds = group.create_dataset(key, data=values, chunks=checked or None, fletcher32=checked)
            title(ds, description)
        columns = spec_.columns
        self._per_snapshot = {
            key: growing(
                group, key, np.dtype(c.dtype), c.shape, CHUNK_SNAPSHOTS, compression, c.description
            )
            for key, c in columns.items()
        }
        self._row_arrays = {
            key: growing(
                group, key, np.dtype(c.dtype), c.shape, CHUNK_ROWS, compression, c.description
            )
            for key, c in spec_.row_arrays.items()
        }
        for ds in self._row_arrays.values():
            ds.attrs[GROWS_BY] = text("row")
        self.count = 0
        self.rows = 0

    def append(self, snapshot: Snapshot) -> None:
        """Write one snapshot (final at the next commit).

        Raises
        ------
        TagstreamError
            The snapshot does not fit the series (:meth:`SeriesSpec.checked`; nothing is
            written then).
        """
        snapshot = self.spec.checked(snapshot)
        values = {
            "covered_ps": np.asarray(snapshot.covered_ps, dtype=np.int64),
            "live_ps": snapshot.live_ps,
            "wall_time_s": snapshot.wall_time_s,
            **snapshot.values,
        }
        added = next(iter(snapshot.new_rows.values())).shape[0] if snapshot.new_rows else 0
        if self._row_arrays:
            for key, ds in self._row_arrays.items():
                if added:
                    ds.resize(self.rows + added, axis=0)
                    ds[self.rows :] = snapshot.new_rows[key]
            values["rows"] = self.rows + added
        for key, ds in self._per_snapshot.items():
            ds.resize(self.count + 1, axis=0)
            ds[self.count] = values[key]
        self.rows += added
        self.count += 1


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


def read_series(f: h5py.File, path: str | os.PathLike) -> dict[str, RecordedSeries]:
    """Every result series of an open run file, cut to its committed snapshots."""
    where = f"{spec.TAGSTREAM_GROUP}/{spec.USER_RESULTS}"
    try:
        group = f.get(where)
    except H5_DAMAGE as exc:
        raise CorruptFileError(path, f"{where} cannot be read ({exc})") from exc
    if group is None:
        return {}
    out = {}
    try:
        committed = _committed_snapshots(f)
        for name, node in group.items():
            n = committed.get(name, 0)
            out[name] = _read_one(node, name, n)
    except H5_DAMAGE as exc:
        report = damage_report(_datasets(group))
        raise CorruptFileError(path, report or f"{group.name} cannot be read ({exc})") from exc
    return out


def _datasets(group: h5py.Group) -> list[h5py.Dataset]:
    """The datasets under ``group`` (as many as a damaged file lets one find)."""
    found: list[h5py.Dataset] = []
    try:
        group.visititems(lambda _, d: found.append(d) if isinstance(d, h5py.Dataset) else None)
    except H5_DAMAGE:
        pass
    return found


def _committed_snapshots(f: h5py.File) -> dict[str, int]:
    node = f.get(f"{spec.TAGSTREAM_GROUP}/{spec.USER_COMMITTED}")
    if node is None:
        return {}
    names = [v.decode() for v in node.attrs.get("fields", [])]
    values = node[()]
    prefix = f"{spec.USER_RESULTS}/"
    return {
        name[len(prefix) :]: int(v)
        for name, v in zip(names, values, strict=False)
        if name.startswith(prefix)
    }


def _read_one(group: h5py.Group, name: str, n: int) -> RecordedSeries:
    fields, axes, row_arrays = {}, {}, {}
    per_snapshot = {}
    for key, ds in group.items():
        if ds.maxshape and ds.maxshape[0] is None:
            per_snapshot[key] = ds
        else:
            axes[key] = ds[()]
    rows_total = int(per_snapshot["rows"][n - 1]) if n and "rows" in per_snapshot else 0
    for key, ds in per_snapshot.items():
        if ds.attrs.get(GROWS_BY) == b"row":
            row_arrays[key] = ds[:rows_total]
        elif key not in _COMMON or key == "rows":
            fields[key] = ds[:n]
    attrs = {
        k: (v.decode() if isinstance(v, bytes) else v)
        for k, v in group.attrs.items()
        if k != "TITLE"
    }
    description = group.attrs.get("TITLE", b"")
    return RecordedSeries(
        name=name,
        description=description.decode() if isinstance(description, bytes) else str(description),
        covered_ps=per_snapshot["covered_ps"][:n],
        live_ps=per_snapshot["live_ps"][:n],
        wall_time_s=per_snapshot["wall_time_s"][:n],
        fields=fields,
        axes=axes,
        row_arrays=row_arrays,
        attrs=attrs,
    )
