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

import h5py
import numpy as np

from ..analysis.series import COMMON_COLUMNS, RecordedSeries, SeriesSpec, Snapshot
from ..errors import CorruptFileError
from ..formats import photon_hdf5_spec as spec
from ..sources.hdf5_checksum import H5_DAMAGE, damage_report
from .layout import growing, text, title
from .packing import CHUNK_SNAPSHOTS

#: Rows per chunk of the arrays that grow by rows (trace bins).
CHUNK_ROWS = 4096
#: Dataset of a series created during the run: how many of its snapshots are committed.
OWN_COUNT = "committed_snapshots"
#: Attribute that marks the arrays growing by rows rather than by snapshots.
GROWS_BY = "grows_by"

class SeriesWriter:
    """The datasets of one series in a file being written."""

    def __init__(
        self, parent: h5py.Group, spec_: SeriesSpec, compression: str, late: bool = False
    ):
        self.spec = spec_
        #: Created while the run went on: it counts its committed snapshots itself.
        self.late = late
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
        self._own_count = None
        if late:
            self._own_count = group.create_dataset(OWN_COUNT, data=np.int64(0))
            title(self._own_count, "Snapshots committed (a series created during the run).")

    def commit(self) -> int | None:
        """Record the snapshots written as committed: a late series counts them itself
        (``None``); the others return their count for the file's ``committed`` record."""
        if self._own_count is None:
            return self.count
        self._own_count[()] = self.count
        return None

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
            n = committed.get(name)
            if n is None:  # created during the run: it counts itself
                own = node.get(OWN_COUNT)
                n = int(own[()]) if own is not None else 0
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
        if key == OWN_COUNT:
            continue
        if ds.maxshape and ds.maxshape[0] is None:
            per_snapshot[key] = ds
        else:
            axes[key] = ds[()]
    rows_total = int(per_snapshot["rows"][n - 1]) if n and "rows" in per_snapshot else 0
    for key, ds in per_snapshot.items():
        if ds.attrs.get(GROWS_BY) == b"row":
            row_arrays[key] = ds[:rows_total]
        elif key not in COMMON_COLUMNS or key == "rows":
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
