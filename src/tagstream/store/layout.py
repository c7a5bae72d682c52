"""The Photon-HDF5 0.5 layout of a run file, with tagstream's own data under ``/user/tagstream``.

Layout (``nanotimes`` and ``nanotimes_specs`` only in T3; rates only with a pulsed laser)::

    /                         attrs format_name, format_version, format_url, TITLE
    /acquisition_duration     s, the span committed so far
    /description, /format_name, /format_version
    /photon_data/timestamps   int64, absolute ps (also in T3), chunked and resizable
    /photon_data/detectors    uint8 channel numbers (the sync channel included in T2)
    /photon_data/nanotimes    uint16 or uint32, micro-times in units of tcspc_unit
    /photon_data/timestamps_specs/timestamps_unit           1e-12 s
    /photon_data/nanotimes_specs/tcspc_unit, tcspc_num_bins, tcspc_range
    /photon_data/measurement_specs/measurement_type         "generic"
    /photon_data/measurement_specs/laser_repetition_rate    Hz
    /photon_data/measurement_specs/detectors_specs/split_ch1, split_ch2, non_photon_id1
    /setup/num_pixels, num_spots, num_spectral_ch, num_polarization_ch, num_split_ch,
          modulated_excitation, lifetime, excitation_alternated, excitation_cw,
          laser_repetition_rates
    /setup/detectors/id, label, counts (counts committed so far)
    /identity/filename, filename_full, creation_time, software, software_version, format_*
    /user/tagstream/metadata  JSON of RunMetadata.to_dict()
    /user/tagstream/config    the run's config text (when given)
    /user/tagstream/gaps      int64 (k, 2) ps, every lost-time interval of the run
    /user/tagstream/committed int64 [tags, gaps, t_begin, t_end, snapshots per series...]
    /user/tagstream/status    "recording", "complete" or "stopped: <reason>"
    /user/tagstream/truth/    names, starts, states, end (the simulator's state timeline)
    /user/tagstream/results/  one group per result series (see :mod:`.results`)

Everything is created before the first tag is written: a file open for single-writer /
multiple-reader access (SWMR) may grow its datasets and change their values, but gains no new
objects. The tag arrays may hold more rows than ``committed`` says (written after the last
flush); readers go by ``committed``.

``split_ch1``/``split_ch2`` name the HBT pair, ``non_photon_id1`` the sync and marker channels,
and the sync channel's label is ``"sync"``. Strings are fixed-length UTF-8 bytes, which every
HDF5 reader (PyTables, phconvert, MATLAB) understands.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterable, Sequence
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path

import h5py
import numpy as np

from ..errors import TagstreamError
from ..formats import photon_hdf5_spec as spec
from ..formats.timeline import StateTimeline
from ..tags import Channel, Role, RunMetadata
from ..tags.units import PS_PER_S
from .packing import CHUNK_TAGS, chunk_tags, filter_options

SOFTWARE = "tagstream"
#: Attribute of the metadata and config texts: the CRC-32 of their UTF-8 bytes.
CRC32 = "crc32"
#: Length of the status string, bytes.
STATUS_BYTES = 256

_USER_TITLES = {
    spec.USER_METADATA: "Run metadata (JSON): source, settings, channel map, periods.",
    spec.USER_CONFIG: "Configuration text of the run.",
    spec.USER_GAPS: "Intervals [start, stop) in ps where data were lost.",
    spec.USER_COMMITTED: (
        "What the last flush made final: tags, gap rows, span [t_begin, t_end) in ps and "
        "snapshots per result series (names in the attribute 'fields')."
    ),
    spec.USER_STATUS: "recording, complete, or stopped: <reason>.",
    spec.USER_TRUTH: "Ground-truth state timeline of the simulated emitter.",
    spec.USER_RESULTS: "Result series: analyzer snapshots appended while the run went on.",
}


# ---------------------------------------------------------------------- small writers
def text(value: str) -> np.bytes_:
    """A scalar fixed-length UTF-8 string."""
    return np.bytes_(value.encode("utf-8"))


def texts(values: Iterable[str]) -> np.ndarray:
    """A 1-D array of fixed-length UTF-8 strings."""
    encoded = [v.encode("utf-8") for v in values]
    width = max((len(e) for e in encoded), default=0)
    return np.array(encoded, dtype=f"S{max(width, 1)}")


def title(node: h5py.HLObject, value: str) -> None:
    """Set the HDF5 ``TITLE`` attribute (the description) of ``node``."""
    node.attrs["TITLE"] = text(value)


def dataset(parent: h5py.Group, name: str, data: object, description: str | None = None):
    """Create a dataset; scalars are marked so that PyTables reads them as Python values
    (as phconvert writes them)."""
    ds = parent.create_dataset(name, data=data)
    if description is not None:
        title(ds, description)
    if np.ndim(data) == 0:
        ds.attrs["FLAVOR"] = np.bytes_(b"python")
    return ds


#: Largest chunk of a growing dataset of large rows, bytes.
MAX_CHUNK_BYTES = 1 << 20


def growing(
    parent: h5py.Group,
    name: str,
    dtype: np.dtype,
    tail: tuple[int, ...] = (),
    chunk: int = CHUNK_TAGS,
    compression: str = "none",
    description: str | None = None,
) -> h5py.Dataset:
    """An empty dataset of rows of shape ``tail`` that grows along its first axis, ``chunk``
    rows a chunk (fewer for large rows: at most :data:`MAX_CHUNK_BYTES`, so that appending
    a row never rewrites a huge chunk), each chunk with HDF5's Fletcher-32 checksum (a damaged
    chunk is an error on reading, not data)."""
    row_bytes = int(np.prod(tail, dtype=np.int64)) * np.dtype(dtype).itemsize
    rows = max(1, min(chunk, MAX_CHUNK_BYTES // max(row_bytes, 1)))
    ds = parent.create_dataset(
        name,
        shape=(0, *tail),
        maxshape=(None, *tail),
        dtype=dtype,
        chunks=(rows, *tail),
        fletcher32=True,
        **filter_options(compression, dtype),
    )
    if description is not None:
        title(ds, description)
    return ds


def _group(f: h5py.File, path: str) -> h5py.Group:
    """The official group at ``path``, created with its description if missing."""
    if path in f:
        return f[path]
    group = f.create_group(path)
    title(group, spec.description(path))
    return group


def _official(f: h5py.File, path: str, data: object) -> h5py.Dataset:
    """Create the official field at ``path`` (and its parent groups) with its description."""
    parent = path.rsplit("/", 1)[0] or "/"
    if parent != "/":
        _group(f, parent)
    return dataset(f, path, data, spec.description(path))


def software_version() -> str:
    """The installed tagstream version, ``"unknown"`` when run from an uninstalled tree."""
    try:
        return package_version(SOFTWARE)
    except PackageNotFoundError:
        return "unknown"


# ---------------------------------------------------------------------- the official part
def default_description(metadata: RunMetadata) -> str:
    """The run's description when none is given: ``"tagstream T2 run from <source>"``."""
    return f"tagstream {metadata.mode} run from {metadata.source}"


def write_root(f: h5py.File, description: str) -> h5py.Dataset:
    """Root attributes and fields; returns ``/acquisition_duration`` (0 s until updated)."""
    title(f, spec.description("/"))
    for name, value in spec.ROOT_ATTRIBUTES.items():
        f.attrs[name] = text(value)
    duration = _official(f, "/acquisition_duration", np.float64(0.0))
    _official(f, "/description", text(description))
    _official(f, "/format_name", text(spec.FORMAT_NAME))
    _official(f, "/format_version", text(spec.FORMAT_VERSION))
    return duration


def write_identity(f: h5py.File, out: Path) -> None:
    """Write Photon-HDF5's ``/identity`` group: file name and path, creation time, software and
    format."""
    fields = {
        "filename": out.name,
        "filename_full": str(out.resolve()),
        "creation_time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "software": SOFTWARE,
        "software_version": software_version(),
        "format_name": spec.FORMAT_NAME,
        "format_version": spec.FORMAT_VERSION,
        "format_url": spec.FORMAT_URL,
    }
    for name, value in fields.items():
        _official(f, f"/identity/{name}", text(value))


def laser_rate_hz(metadata: RunMetadata) -> float | None:
    """The laser's repetition rate, Hz; ``None`` when the period is not known."""
    return None if not metadata.laser_period_ps else PS_PER_S / metadata.laser_period_ps


def _label(channel: Channel) -> str:
    return spec.SYNC_LABEL if channel.role == Role.SYNC else channel.name


def write_setup(f: h5py.File, metadata: RunMetadata) -> h5py.Dataset:
    """``/setup``; returns ``/setup/detectors/counts`` (zeros until updated)."""
    channels = metadata.channels
    rate = laser_rate_hz(metadata)
    scalars = {
        "num_pixels": len(channels.detectors),
        "num_spots": 1,
        "num_spectral_ch": 1,
        "num_polarization_ch": 1,
        "num_split_ch": 2 if metadata.hbt_pair else 1,
        "modulated_excitation": 0,
        "lifetime": int(metadata.mode == "T3"),
    }
    for name, value in scalars.items():
        _official(f, f"/setup/{name}", np.int64(value))
    _official(f, "/setup/excitation_alternated", np.zeros(1, dtype=np.uint8))
    _official(f, "/setup/excitation_cw", np.array([rate is None], dtype=np.uint8))
    if rate is not None:
        _official(f, "/setup/laser_repetition_rates", np.array([rate]))
    ids = np.array([c.number for c in channels], dtype=np.uint8)
    _official(f, "/setup/detectors/id", ids)
    _official(f, "/setup/detectors/label", texts(_label(c) for c in channels))
    return _official(f, "/setup/detectors/counts", np.zeros(ids.size, dtype=np.int64))


def tcspc_num_bins(metadata: RunMetadata) -> int:
    """Number of TCSPC bins: the sync period in nanotime units, rounded up."""
    period = metadata.sync_period_ps or metadata.laser_period_ps
    return max(1, int(np.ceil(period / metadata.nanotime_unit_ps - 1e-9)))


def nanotime_dtype(metadata: RunMetadata) -> np.dtype:
    """The dtype of the stored nanotimes: uint16, or uint32 for T3 units of more than 2**16 bins."""
    if metadata.mode != "T3":
        return np.dtype(np.uint16)
    return np.dtype(np.uint16 if tcspc_num_bins(metadata) <= 1 << 16 else np.uint32)


def create_photon_data(
    f: h5py.File, metadata: RunMetadata, compression: str
) -> dict[str, h5py.Dataset]:
    """``/photon_data`` with empty tag arrays; returns them by name."""
    pd = _group(f, "/photon_data")
    columns = {"timestamps": np.dtype(np.int64), "detectors": np.dtype(np.uint8)}
    if metadata.mode == "T3":
        columns["nanotimes"] = nanotime_dtype(metadata)
    data = {
        name: growing(
            pd,
            name,
            dtype,
            chunk=chunk_tags(compression),
            compression=compression,
            description=spec.description(f"/photon_data/{name}"),
        )
        for name, dtype in columns.items()
    }
    _official(f, "/photon_data/timestamps_specs/timestamps_unit", np.float64(1 / PS_PER_S))
    if metadata.mode == "T3":
        bins = tcspc_num_bins(metadata)
        unit_s = metadata.nanotime_unit_ps / PS_PER_S
        _official(f, "/photon_data/nanotimes_specs/tcspc_unit", np.float64(unit_s))
        _official(f, "/photon_data/nanotimes_specs/tcspc_num_bins", np.int64(bins))
        _official(f, "/photon_data/nanotimes_specs/tcspc_range", np.float64(bins * unit_s))
    _write_measurement_specs(f, metadata)
    return data


def _write_measurement_specs(f: h5py.File, metadata: RunMetadata) -> None:
    base = "/photon_data/measurement_specs"
    _official(f, f"{base}/measurement_type", text(spec.MEASUREMENT_TYPE))
    rate = laser_rate_hz(metadata)
    if rate is not None:
        _official(f, f"{base}/laser_repetition_rate", np.float64(rate))
    specs = _group(f, f"{base}/detectors_specs")
    channels = metadata.channels
    if metadata.hbt_pair:
        for k, name in enumerate(metadata.hbt_pair, start=1):
            number = channels.lookup(name).number
            _official(f, f"{specs.name}/split_ch{k}", np.array([number], dtype=np.uint8))
    others = [c.number for c in channels if c.role != Role.DETECTOR]
    if others:
        _official(f, f"{specs.name}/non_photon_id1", np.array(others, dtype=np.uint8))


# ---------------------------------------------------------------------- tagstream's part
def write_user(
    f: h5py.File,
    metadata: RunMetadata,
    config_text: str | None,
    truth: StateTimeline | None,
    series: Sequence[str],
) -> dict[str, h5py.Dataset]:
    """``/user/tagstream``: metadata, config and truth, and the datasets updated while the run
    goes on — ``gaps``, ``committed`` (one entry per name in ``series``) and ``status``."""
    user = f.require_group(spec.TAGSTREAM_GROUP)
    user.attrs["layout_version"] = np.int64(spec.TAGSTREAM_LAYOUT_VERSION)
    metadata_json = json.dumps(metadata.to_dict(), default=_json_value)
    for name, value in ((spec.USER_METADATA, metadata_json), (spec.USER_CONFIG, config_text)):
        if value is not None:  # texts carry a CRC-32 (HDF5 checksums headers, not data)
            node = dataset(user, name, text(value), _USER_TITLES[name])
            node.attrs[CRC32] = np.int64(zlib.crc32(value.encode("utf-8")))
    if truth is not None:
        _write_truth(user, truth)
    fields = [*spec.COMMITTED_FIELDS, *(f"{spec.USER_RESULTS}/{name}" for name in series)]
    committed = user.create_dataset(  # chunked, to carry a checksum: it says what to read
        spec.USER_COMMITTED, data=np.zeros(len(fields), np.int64), chunks=True, fletcher32=True
    )
    title(committed, _USER_TITLES[spec.USER_COMMITTED])
    committed.attrs["fields"] = texts(fields)
    status = dataset(
        user,
        spec.USER_STATUS,
        np.array(spec.STATUS_RECORDING.encode(), dtype=f"S{STATUS_BYTES}"),
        _USER_TITLES[spec.USER_STATUS],
    )
    gaps = growing(
        user, spec.USER_GAPS, np.dtype(np.int64), (2,), 1024, description=_USER_TITLES["gaps"]
    )
    return {"committed": committed, "status": status, "gaps": gaps}


def results_group(f: h5py.File) -> h5py.Group:
    """The group of tagstream's result series (created, with its title, when missing)."""
    group = f.require_group(f"{spec.TAGSTREAM_GROUP}/{spec.USER_RESULTS}")
    title(group, _USER_TITLES[spec.USER_RESULTS])
    return group


def status_text(value: str) -> np.bytes_:
    """``value`` as the fixed-length status string (cut to fit, on a character boundary)."""
    raw = value.encode("utf-8")[:STATUS_BYTES]
    return np.bytes_(raw.decode("utf-8", errors="ignore").encode("utf-8"))


def _json_value(value: object) -> object:
    """Plain JSON values for the numpy scalars and arrays in the settings."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"settings: {type(value).__name__} cannot be stored as JSON")


def _write_truth(user: h5py.Group, truth: StateTimeline) -> None:
    group = user.create_group(spec.USER_TRUTH)
    title(group, _USER_TITLES[spec.USER_TRUTH])
    states = np.asarray(truth.states)
    if not np.issubdtype(states.dtype, np.integer):
        raise TagstreamError(f"truth: states must be integer codes, got {states.dtype}")
    dataset(group, "names", texts(truth.names), "State names.")
    dataset(group, "starts", np.asarray(truth.starts, dtype=np.int64), "Segment starts, ps.")
    dataset(group, "states", states, "State of each segment (index into names).")
    dataset(group, "end", np.int64(truth.end), "End of the last segment, ps.")
