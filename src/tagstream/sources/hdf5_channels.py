"""The channel map of a Photon-HDF5 file written by other software.

Channels
    Channel numbers are the ids in ``/photon_data/detectors``; names come from
    ``/setup/detectors/label`` (else ``ch<id>``). A detector labelled ``sync`` has the sync role;
    in a T2 file where no label says so, a channel whose first tags are strictly periodic (at a
    whole multiple of the laser period, when the file states the laser rate) has it. Other ids
    listed in ``detectors_specs/non_photon_id*`` are markers. ``split_ch1``/``split_ch2`` name
    the HBT pair. (In tagstream's files the stored :class:`RunMetadata` is used as it is.)
"""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np

from ..errors import UnsupportedFormatError
from ..formats import photon_hdf5_spec as spec
from ..tags import Channel, ChannelMap, Role
from .hdf5_clock import Clock
from .hdf5_fields import scalar, text

SCAN_BLOCK = 1 << 20  # tags read at once when scanning a whole array
SYNC_SAMPLE = 1 << 18  # tags looked at to find a periodic (sync) channel
SYNC_MIN_TAGS = 16  # a channel with fewer tags in the sample is not judged periodic
SYNC_MAX_TAGS = 1000
SYNC_TOLERANCE = 1e-3  # allowed jitter of the sync interval, relative to the laser period

_NON_PHOTON = re.compile(r"^non_photon_id\d+$")


def foreign_channels(
    f: h5py.File,
    path: Path,
    timestamps: h5py.Dataset,
    detectors: h5py.Dataset | None,
    num_tags: int,
    clock: Clock,
    has_nanotimes: bool,
    period_ps: float | None,
) -> tuple[ChannelMap, float | None]:
    """The channel map of another program's file, and the sync period seen in the tags, ps."""
    ids, labels = _detector_table(f, detectors, path)
    non_photon = _non_photon_ids(f)
    roles = [Role.MARKER if i in non_photon else Role.DETECTOR for i in ids]
    sync_period_ps = None
    if labels is not None:
        for k, label in enumerate(labels):
            if label.strip().lower() == spec.SYNC_LABEL:
                roles[k] = Role.SYNC
    unlabelled = Role.SYNC not in roles and not has_nanotimes
    if unlabelled and detectors is not None and not clock.counts_syncs:
        found = periodic_channel(timestamps, detectors, num_tags, clock, ids, period_ps)
        if found is not None:
            roles[ids.index(found[0])] = Role.SYNC
            sync_period_ps = found[1]
    names = _channel_names(ids, labels, roles)
    channels = ChannelMap(Channel(i, n, r) for i, n, r in zip(ids, names, roles, strict=True))
    return channels, sync_period_ps


def periodic_channel(
    timestamps: h5py.Dataset,
    detectors: h5py.Dataset,
    num_tags: int,
    clock: Clock,
    ids: list[int],
    period_ps: float | None,
) -> tuple[int, float] | None:
    """The first channel whose first tags are strictly periodic (at a whole multiple of the
    laser period ``period_ps``, when it is known); with the period it shows, ps."""
    n = min(num_tags, SYNC_SAMPLE)
    t = clock.macro_ps(timestamps[:n])
    ch = detectors[:n]
    for number in ids:
        times = t[ch == number][:SYNC_MAX_TAGS]
        if times.size < SYNC_MIN_TAGS:
            continue
        steps = np.diff(times)
        typical = float(np.median(steps))
        reference = period_ps or typical
        tolerance = max(SYNC_TOLERANCE * reference, 2 * clock.unit_ps)
        multiple = 1 if period_ps is None else round(typical / period_ps)
        if (
            typical > 0
            and multiple >= 1
            and abs(typical - multiple * reference) <= tolerance
            and np.all(np.abs(steps - typical) <= tolerance)
        ):
            return number, float(np.mean(steps))
    return None


def _detector_table(
    f: h5py.File, detectors: h5py.Dataset | None, path: Path
) -> tuple[list[int], list[str] | None]:
    """Detector ids and labels from /setup/detectors, or ids found in the tags."""
    ids_node = f.get("/setup/detectors/id")
    if isinstance(ids_node, h5py.Dataset):
        ids = np.asarray(ids_node[()]).ravel()
    elif detectors is not None:
        ids = _unique_values(detectors)
    else:
        ids = np.zeros(1, dtype=np.uint8)
    if ids.dtype.kind not in "iu" or (ids.size and (ids.min() < 0 or ids.max() > 255)):
        raise UnsupportedFormatError(path, "detector ids outside 0..255 are not supported")
    labels = None
    label_node = f.get("/setup/detectors/label")
    if isinstance(label_node, h5py.Dataset) and label_node.shape == ids.shape:
        labels = [text(v) for v in np.asarray(label_node[()]).ravel()]
    return [int(i) for i in ids], labels


def _unique_values(ds: h5py.Dataset) -> np.ndarray:
    """The distinct values of a large integer array, read block by block."""
    found = np.zeros(0, dtype=ds.dtype)
    for start in range(0, ds.shape[0], SCAN_BLOCK):
        found = np.union1d(found, np.unique(ds[start : start + SCAN_BLOCK]))
    return found


def _non_photon_ids(f: h5py.File) -> set[int]:
    specs = f.get("/photon_data/measurement_specs/detectors_specs")
    if not isinstance(specs, h5py.Group):
        return set()
    ids: set[int] = set()
    for name, node in specs.items():
        if _NON_PHOTON.match(name) and isinstance(node, h5py.Dataset):
            ids.update(int(v) for v in np.asarray(node[()]).ravel())
    return ids


def _channel_names(ids: list[int], labels: list[str] | None, roles: list[Role]) -> list[str]:
    """Labels as names; ``sync`` or ``ch<id>`` without one; the id appended to duplicates."""
    names = []
    for k, number in enumerate(ids):
        label = labels[k].strip() if labels is not None else ""
        names.append(label or (spec.SYNC_LABEL if roles[k] == Role.SYNC else f"ch{number}"))
    seen = {name: names.count(name) for name in names}
    return [name if seen[name] == 1 else f"{name}_{ids[k]}" for k, name in enumerate(names)]


def split_pair(f: h5py.File, channels: ChannelMap) -> tuple[str, str] | None:
    """The HBT pair named by detectors_specs/split_ch1 and split_ch2, if both are detectors."""
    base = "/photon_data/measurement_specs/detectors_specs"
    first, second = scalar(f, f"{base}/split_ch1"), scalar(f, f"{base}/split_ch2")
    if first is None or second is None or first == second:
        return None
    if int(first) not in channels or int(second) not in channels:
        return None
    return channels[int(first)].name, channels[int(second)].name
