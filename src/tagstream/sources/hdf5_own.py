"""tagstream's own fields of a run file (under ``/user/tagstream``): the run metadata, the
record of what the writer's last commit made final, the gaps and the simulator's ground truth.

Damaged content raises :class:`~tagstream.errors.CorruptFileError` naming the file and field.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import h5py
import numpy as np

from ..errors import BatchError, CorruptFileError, TagstreamError
from ..formats import photon_hdf5_spec as spec
from ..formats.timeline import StateTimeline
from ..tags import RunMetadata
from ..tags import intervals as iv
from .hdf5_fields import text


def own_metadata(f: h5py.File, path: Path) -> RunMetadata | None:
    """The stored :class:`RunMetadata` (its checksum checked); ``None`` in other files."""
    node = f.get(f"{spec.TAGSTREAM_GROUP}/{spec.USER_METADATA}")
    if not isinstance(node, h5py.Dataset):
        return None
    raw = node[()]
    crc = node.attrs.get("crc32")  # tagstream's own files since checksums
    if crc is not None and zlib.crc32(bytes(raw)) != int(crc):
        raise CorruptFileError(path, f"{node.name} fails its checksum (the file is damaged)")
    try:
        return RunMetadata.from_dict(json.loads(text(raw)))
    except (ValueError, KeyError, TypeError, TagstreamError) as exc:
        raise CorruptFileError(path, f"{node.name} cannot be read ({exc})") from exc


def read_committed(f: h5py.File, path: Path) -> tuple[int, ...] | None:
    """The record tagstream keeps of what the writer's last commit made final (layout 2), if any:
    ``(tags, gap rows, t_begin, t_end, ...)``, times in ps."""
    node = f.get(f"{spec.TAGSTREAM_GROUP}/{spec.USER_COMMITTED}")
    if node is None:
        return None
    values = np.asarray(node[()])
    n = len(spec.COMMITTED_FIELDS)
    if values.ndim != 1 or values.size < n or values.dtype.kind not in "iu":
        raise CorruptFileError(path, f"{node.name} must hold at least {n} integers")
    record = tuple(int(v) for v in values)
    if min(record[:2]) < 0 or record[3] < record[2]:
        raise CorruptFileError(path, f"{node.name} is inconsistent: {list(record[:4])}")
    return record


def read_gaps(user: h5py.Group, path: Path, rows: int | None = None) -> np.ndarray:
    """The stored gaps (k, 2), ps (their first ``rows`` rows when given)."""
    node = user.get(spec.USER_GAPS)
    if node is None:
        return iv.EMPTY
    try:
        gaps = iv.as_intervals(node[()] if rows is None else node[:rows], node.name)
    except BatchError as exc:
        raise CorruptFileError(path, str(exc)) from exc
    if not iv.is_normalized(gaps):
        raise CorruptFileError(path, f"{node.name}: intervals must be sorted and apart")
    return gaps


def read_truth(user: h5py.Group, path: Path) -> StateTimeline | None:
    """The simulator's state timeline, if the file holds one."""
    group = user.get(spec.USER_TRUTH)
    if group is None:
        return None
    try:
        return StateTimeline(
            names=tuple(text(v) for v in group["names"][()]),
            starts=np.asarray(group["starts"][()], dtype=np.int64),
            states=np.asarray(group["states"][()]),
            end=int(group["end"][()]),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise CorruptFileError(path, f"{group.name} cannot be read ({exc})") from exc
