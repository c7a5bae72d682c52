"""Files of a :class:`~tests.world.emitter.World`: Photon-HDF5 0.5 written with h5py directly,
PicoQuant PTU through the independent encoder ``tests/pq_encoder.py``, and truncated copies.

Nothing here uses tagstream's own store or readers.

Photon-HDF5 (https://photon-hdf5.readthedocs.io, version 0.5)
-------------------------------------------------------------
* Every official field carries its official description in a ``TITLE`` attribute (phconvert's
  validator checks them); strings are fixed-length byte strings, as PyTables writes them.
* T2: ``/photon_data/timestamps`` are the batch timestamps (int64, unit 1e-12 s) and
  ``detectors`` the tag channels (uint8); the sync tags are rows with the sync's id.
* T3, two conventions are found in files, chosen with ``t3_timestamps``:
  ``"photon"`` (default): ``timestamps`` are the photon times in ps (unit 1e-12 s), exactly the
  batch timestamps, and ``nanotimes`` the micro-times besides (as tagstream's own files);
  ``"sync"``: ``timestamps`` are macrotimes counting sync periods, ``floor(s / sync_period)``
  for the photon's sync at ``s``, with unit the sync period, as converters of PicoQuant T3
  files write them; then ``timestamps * unit + nanotimes * tcspc_unit`` is the batch time
  minus ``sync_delay_ps mod sync_period``. ``tcspc_range`` is ``tcspc_range_ps`` or the sync
  period, ``tcspc_num_bins = ceil(range / unit)``.
* ``/setup/detectors``: ``id`` (the tag channels; the sync only in T2, where it is a row of the
  data), ``label`` (the detector names; the sync ``"sync"`` when ``label_sync`` else
  ``"ch<N>"``, by default as the world's setup; ``labels=False`` leaves the array out),
  ``counts``.
* ``split_pair``: ``detectors_specs/split_ch1 = [A]``, ``split_ch2 = [B]`` and
  ``num_split_ch = 2``; otherwise ``spectral_ch1 = [A, B]`` and ``num_split_ch = 1``.
  With ``label_sync`` in T2, ``detectors_specs/non_photon_id1 = [sync id]``.
* ``laser_rate``: ``measurement_specs/laser_repetition_rate`` and
  ``/setup/laser_repetition_rates`` hold the laser rate (before the divider). A pulsed world
  written with ``laser_rate=False`` lacks them, which the specification requires for pulsed
  excitation (``excitation_cw = [False]``): such a file is deliberately incomplete.

PicoQuant PTU (vendor conventions of PicoQuant's demo readers)
-------------------------------------------------------------
* HydraHarp family (HydraHarp, TimeHarp 260, MultiHarp / PicoHarp 330 = "Generic"): a photon
  record's channel field is the front-panel input minus one, and the demo readers report
  ``field + 1``; the world's detector channel numbers are taken as the input numbers (so they
  must be >= 1). In T2 the sync is a special record (reported as channel 0), whatever
  ``sync_channel`` and ``label_sync`` the world used: a PTU file always marks its sync.
* PicoHarp 300: the channel field is reported as it is. T2 has no sync record: the sync input
  is channel 0, so sync tags become channel-0 records (``sync_channel`` must be 0). T3 photon
  channels must be 1..14.
* T2: times in units of ``MeasDesc_GlobalResolution = resolution_ps * 1e-12`` s.
* T3: ``nsync = floor(s / sync_period)`` (``s`` the photon's sync time) and ``dtime`` the
  nanotime; ``MeasDesc_GlobalResolution`` is the divided sync period in s,
  ``MeasDesc_Resolution`` the nanotime unit in s. A decoder reports
  ``nsync * sync_period + dtime * unit``, i.e. the batch time minus
  ``sync_delay_ps mod sync_period``.
* ``TTResult_SyncRate`` is the laser rate, before the divider (PicoQuant's rate meter reads the
  sync input); ``HWSync_Divider`` the divider; ``MeasDesc_AcquisitionTime`` (and
  ``TTResult_StopAfter``) the duration in ms, rounded up to a whole ms;
  ``TTResult_NumberOfRecords`` the records written (overflows included).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..pq_encoder import FORMATS, MARKER, PHOTON, SYNC, encode, ptu_file
from .emitter import World

del MARKER  # markers are not simulated

# ---------------------------------------------------------------------- Photon-HDF5
FORMAT_URL = "http://photon-hdf5.org/"

#: Official descriptions (the TITLE attribute) of the fields written here, from the
#: Photon-HDF5 0.5 specification.
TITLES: dict[str, str] = {
    "/": "A file format for photon-counting detector based single-molecule spectroscopy "
    "experiments.",
    "/acquisition_duration": "Measurement duration in seconds.",
    "/description": "A user-defined comment describing the data file.",
    "/format_name": "Name of the file format.",
    "/format_version": "Version for the Photon-HDF5 format.",
    "/photon_data": "Group containing arrays of photon-data.",
    "/photon_data/timestamps": "Array of photon timestamps. Units specified in timestamps_units "
    "(defined in timestamps_specs/).",
    "/photon_data/detectors": "Array of pixel IDs for each timestamp.",
    "/photon_data/nanotimes": "TCSPC photon arrival time (nanotimes). Units and other "
    "specifications are in nanotimes_specs group.",
    "/photon_data/timestamps_specs": "Specifications for timestamps.",
    "/photon_data/timestamps_specs/timestamps_unit": "Value of 1-unit timestamp-increment in "
    "seconds.",
    "/photon_data/nanotimes_specs": "Group for nanotime-specific data.",
    "/photon_data/nanotimes_specs/tcspc_unit": "Value of 1-unit nanotime-increment in seconds "
    "(TCSPC bin size).",
    "/photon_data/nanotimes_specs/tcspc_num_bins": "Number of TCSPC bins.",
    "/photon_data/nanotimes_specs/tcspc_range": "TCSPC full-scale range in seconds.",
    "/photon_data/measurement_specs": "Metadata necessary for interpretation of the particular "
    "type of measurement.",
    "/photon_data/measurement_specs/measurement_type": "Name of the measurement the data "
    "represents.",
    "/photon_data/measurement_specs/laser_repetition_rate": "Repetition rate of the pulsed "
    "excitation laser (in Hertz).",
    "/photon_data/measurement_specs/detectors_specs": "Mapping between the pixel IDs and the "
    "detection channels.",
    "/photon_data/measurement_specs/detectors_specs/spectral_ch1": "Pixel IDs for the first "
    "spectral channel (i.e. donor in a 2-color smFRET measurement).",
    "/photon_data/measurement_specs/detectors_specs/split_ch1": "Pixel IDs for the first "
    "channel split through a non-polarizing beam splitter.",
    "/photon_data/measurement_specs/detectors_specs/split_ch2": "Pixel IDs for the second "
    "channel split through a non-polarizing beam splitter.",
    "/photon_data/measurement_specs/detectors_specs/non_photon_id1": "Detector ids of non "
    "photon events as they apppear in /photon_data/detectors",
    "/setup": "Information about the experimental setup.",
    "/setup/num_pixels": "Total number of detector pixels.",
    "/setup/num_spots": 'Number of excitation (or detection) "spots" in the sample.',
    "/setup/num_spectral_ch": "Number of distinct spectral bands which are acquired.",
    "/setup/num_polarization_ch": "Number of distinct polarization states which are acquired.",
    "/setup/num_split_ch": "Number of distinct detection channels detecting the same spectral "
    "band and polarization. This value is > 1 when using a non-polarizing beam splitter.",
    "/setup/modulated_excitation": "True (i.e. 1) if there is any form of excitation "
    "modulation of excitation wavelength (as in us-ALEX or PAX) or polarization. This field "
    "is also True for pulse-interleaved excitation (PIE) or ns-ALEX measurements.",
    "/setup/excitation_alternated": "New in version 0.5. Indicates whether each excitation "
    "source is alternated (True, or 1) or not alternated (False, or 0).",
    "/setup/lifetime": "True (i.e. 1) if the measurement includes a nanotimes array of photon "
    "arrival times with respect to a laser pulse (as in TCSPC measurements).",
    "/setup/excitation_wavelengths": "List of excitation wavelengths (center wavelength if "
    "broad-band) in increasing order (unit: meter).",
    "/setup/excitation_cw": "For each excitation source, this field indicates whether "
    "excitation is continuous wave (CW), True (i.e. 1), or pulsed, False (i.e. 0).",
    "/setup/laser_repetition_rates": "Repetition rates in Hz for each laser. CW lasers have a "
    "value of 0.",
    "/setup/detection_wavelengths": "Reference wavelengths (units: meter) for each detected "
    "spectral band.",
    "/setup/detection_split_ch_ratios": 'Power fraction detected by each "beam-split" channel '
    "(i.e. independent detection channels obtained through a non-polarizing beam splitter).",
    "/setup/detectors": "Metadata relative to each detector's pixel. Each field is an array "
    "with size equal to the number of the detectors.",
    "/setup/detectors/id": "Detector IDs as they appear on /photon_data/detectors.",
    "/setup/detectors/label": "Labels (strings) describing each detector.",
    "/setup/detectors/counts": "Total number of counts detected by each detector.",
    "/identity": "Information about the Photon-HDF5 data file.",
    "/identity/author": "Author of the current data file.",
    "/identity/author_affiliation": "Company or institution the author is affiliated with.",
    "/identity/filename": "Original file name of the current Photon-HDF5 file (i.e. file name "
    "at creation time).",
    "/identity/filename_full": "Original file name (with full path) of the current Photon-HDF5 "
    "file (i.e. full file name at creation time).",
    "/identity/creation_time": "Creation time of the current Photon-HDF5 file.",
    "/identity/software": "Name of the software used to create the current Photon-HDF5 file.",
    "/identity/software_version": "Version of the software used to create current the "
    "Photon-HDF5 file.",
    "/identity/format_name": "Name of the file format.",
    "/identity/format_version": "Version for the Photon-HDF5 format.",
    "/identity/format_url": "Official URL for the Photon-HDF5 format.",
}


def _titled(node: h5py.HLObject, path: str) -> None:
    node.attrs["TITLE"] = np.bytes_(TITLES[path])


def _put(f: h5py.File, path: str, value: Any) -> None:
    """Create the dataset at ``path``: str -> fixed-length byte string, bool -> uint8 0/1
    ("True (i.e. 1)"), others as numpy makes them; groups on the way get their TITLE."""
    parent = path.rsplit("/", 1)[0] or "/"
    if parent not in f:
        grp = f.require_group(parent)
        _titled(grp, parent)
    if isinstance(value, str):
        data: Any = np.bytes_(value)
    elif isinstance(value, bool | np.bool_):
        data = np.uint8(value)
    else:
        data = np.asarray(value)
        if data.dtype == bool:
            data = data.astype(np.uint8)
    ds = f.create_dataset(path, data=data)
    _titled(ds, path)
    if ds.ndim == 0:
        # PyTables (phconvert's reader) returns a Python scalar, e.g. bytes for a string, only
        # for datasets flagged with this flavor, as PyTables itself writes them
        ds.attrs["FLAVOR"] = np.bytes_("python")


def write_photon_hdf5(
    path: str | os.PathLike,
    world: World,
    label_sync: bool | None = None,
    laser_rate: bool = True,
    split_pair: bool = True,
    *,
    labels: bool = True,
    t3_timestamps: str = "photon",
    excitation_wavelength_m: float = 405e-9,
    detection_wavelength_m: float = 520e-9,
    description: str = "tests.world: a simulated single emitter on an HBT setup",
) -> Path:
    """Write ``world`` as a Photon-HDF5 0.5 file (overwriting ``path``); see the module
    docstring for the layout and the meaning of the options. ``label_sync=None`` labels the
    sync as the world's ``Setup.label_sync`` does. Returns the path."""
    if label_sync is None:
        label_sync = world.setup.label_sync
    if t3_timestamps not in ("photon", "sync"):
        raise ValueError("t3_timestamps must be 'photon' or 'sync'")
    path = Path(path)
    b, setup = world.batch, world.setup
    pulsed, t3 = world.pulsed, b.nanotimes is not None
    det_a, det_b = setup.detectors[:2]  # the HBT pair
    sync_period = world.sync_period_ps
    ids = [d.channel for d in setup.detectors]
    names = [d.name for d in setup.detectors]
    if pulsed and not t3:
        ids.append(setup.sync_channel)
        names.append("sync" if label_sync else f"ch{setup.sync_channel}")
    order = np.argsort(ids)
    ids_arr = np.asarray(ids, np.uint8)[order]
    labels_arr = np.array([names[i].encode() for i in order])
    counts = b.counts()[ids_arr.astype(np.int64)].astype(np.int64)

    if t3:
        if t3_timestamps == "photon":
            timestamps, unit_s = b.timestamps, 1e-12
        else:
            timestamps = world.photon_sync_times() // sync_period
            unit_s = sync_period * 1e-12
        nt = b.nanotimes
        nt = nt.astype(np.uint16 if nt.size == 0 or nt.max() < 1 << 16 else np.uint32)
    else:
        timestamps, unit_s = b.timestamps, 1e-12

    with h5py.File(path, "w") as f:
        root = f["/"]
        _titled(root, "/")
        root.attrs["format_name"] = np.bytes_("Photon-HDF5")
        root.attrs["format_version"] = np.bytes_("0.5")
        root.attrs["format_url"] = np.bytes_(FORMAT_URL)
        _put(f, "/format_name", "Photon-HDF5")
        _put(f, "/format_version", "0.5")
        _put(f, "/acquisition_duration", np.float64(b.t_end - b.t_begin) * 1e-12)
        _put(f, "/description", description)

        _put(f, "/photon_data/timestamps", np.asarray(timestamps, np.int64))
        _put(f, "/photon_data/detectors", np.asarray(b.channels, np.uint8))
        _put(f, "/photon_data/timestamps_specs/timestamps_unit", np.float64(unit_s))
        if t3:
            rng_ps = setup.tcspc_range_ps if setup.tcspc_range_ps is not None else sync_period
            unit_ps = setup.nanotime_unit_ps
            _put(f, "/photon_data/nanotimes", nt)
            _put(f, "/photon_data/nanotimes_specs/tcspc_unit", np.float64(unit_ps * 1e-12))
            _put(
                f,
                "/photon_data/nanotimes_specs/tcspc_num_bins",
                np.int64(math.ceil(rng_ps / unit_ps - 1e-9)),
            )
            _put(f, "/photon_data/nanotimes_specs/tcspc_range", np.float64(rng_ps * 1e-12))
        ms = "/photon_data/measurement_specs"
        _put(f, f"{ms}/measurement_type", "generic")
        rate_hz = world.truth["laser_rate_hz"] if pulsed else None
        if pulsed and laser_rate:
            _put(f, f"{ms}/laser_repetition_rate", np.float64(rate_hz))
        ds = f"{ms}/detectors_specs"
        f.require_group(ds)
        _titled(f[ds], ds)
        if split_pair:
            _put(f, f"{ds}/split_ch1", np.array([det_a.channel], np.uint8))
            _put(f, f"{ds}/split_ch2", np.array([det_b.channel], np.uint8))
        else:
            _put(f, f"{ds}/spectral_ch1", np.array([det_a.channel, det_b.channel], np.uint8))
        if pulsed and not t3 and label_sync:
            _put(f, f"{ds}/non_photon_id1", np.array([setup.sync_channel], np.uint8))

        _put(f, "/setup/num_pixels", np.int64(len(setup.detectors)))
        _put(f, "/setup/num_spots", np.int64(1))
        _put(f, "/setup/num_spectral_ch", np.int64(1))
        _put(f, "/setup/num_polarization_ch", np.int64(1))
        _put(f, "/setup/num_split_ch", np.int64(2 if split_pair else 1))
        _put(f, "/setup/modulated_excitation", False)
        _put(f, "/setup/lifetime", bool(t3))
        _put(f, "/setup/excitation_alternated", np.array([False]))
        _put(f, "/setup/excitation_wavelengths", np.array([excitation_wavelength_m]))
        _put(f, "/setup/excitation_cw", np.array([not pulsed]))
        if pulsed and laser_rate:
            _put(f, "/setup/laser_repetition_rates", np.array([rate_hz]))
        _put(f, "/setup/detection_wavelengths", np.array([detection_wavelength_m]))
        if split_pair:
            ratios = np.array([setup.splitter, 1.0 - setup.splitter])
            _put(f, "/setup/detection_split_ch_ratios", ratios)
        _put(f, "/setup/detectors/id", ids_arr)
        if labels:
            _put(f, "/setup/detectors/label", labels_arr)
        _put(f, "/setup/detectors/counts", counts)

        _put(f, "/identity/author", "tests.world")
        _put(f, "/identity/author_affiliation", "tagstream test suite")
        _put(f, "/identity/filename", path.name)
        _put(f, "/identity/filename_full", str(path.resolve()))
        _put(f, "/identity/creation_time", "2024-01-01 12:00:00")
        _put(f, "/identity/software", "tests.world")
        _put(f, "/identity/software_version", "1.0")
        _put(f, "/identity/format_name", "Photon-HDF5")
        _put(f, "/identity/format_version", "0.5")
        _put(f, "/identity/format_url", FORMAT_URL)
    return path


# ---------------------------------------------------------------------- PTU
_ALIASES = {
    "MultiHarpT2": "GenericT2",
    "MultiHarpT3": "GenericT3",
    "PicoHarp330T2": "GenericT2",
    "PicoHarp330T3": "GenericT3",
    "TimeHarp260T2": "TimeHarp260NT2",
    "TimeHarp260T3": "TimeHarp260NT3",
}


def _record_format(record_type: str | None, mode: str) -> str:
    if record_type is None:
        return f"HydraHarp2{mode}"
    name = record_type.replace(" ", "").replace("_", "")
    name = _ALIASES.get(name, name)
    if name not in FORMATS:
        raise ValueError(f"unknown PTU record type {record_type!r}; known: {sorted(FORMATS)}")
    if FORMATS[name].mode != int(mode[1]):
        raise ValueError(f"record type {record_type!r} does not hold {mode} data")
    return name


def ptu_events(
    world: World, record_type: str | None = None
) -> tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """The events of ``world`` as :func:`tests.pq_encoder.encode` takes them: ``(format name,
    time, kind, channel field, dtime or None)`` (see the module docstring for the rules)."""
    b, setup = world.batch, world.setup
    fmt = _record_format(record_type, b.mode)
    spec = FORMATS[fmt]
    is_sync = np.zeros(len(b), bool)
    if world.pulsed and b.mode == "T2":
        is_sync = b.channels == setup.sync_channel
    ch = b.channels.astype(np.int64)
    kind = np.where(is_sync, SYNC, PHOTON).astype(np.int64)
    if spec.picoharp:
        if spec.mode == 2 and world.pulsed and setup.sync_channel != 0:
            raise ValueError("PicoHarp T2 records the sync as channel 0: use sync_channel=0")
        kind[:] = PHOTON
        field = ch
    else:
        field = np.where(is_sync, 0, ch - 1)
        if np.any(field[~is_sync] < 0):
            raise ValueError("HydraHarp-family inputs are numbered from 1: detector channel 0")
    if b.mode == "T2":
        res = int(setup.resolution_ps)
        return fmt, b.timestamps // res, kind, field, None
    nsync = world.photon_sync_times() // world.sync_period_ps
    dtime = b.nanotimes.astype(np.int64)
    if dtime.size and dtime.max() >= 1 << spec.dtime_bits:
        raise ValueError(
            f"{fmt} records hold nanotimes below {1 << spec.dtime_bits}, this world has "
            f"{dtime.max()}: make it with Setup(tcspc_range_ps=...) as the unit's range"
        )
    return fmt, nsync, kind, field, dtime


def write_ptu(
    path: str | os.PathLike,
    world: World,
    record_type: str | None = None,
    *,
    rng: np.random.Generator | None = None,
) -> Path:
    """Write ``world`` as a PicoQuant PTU file through ``tests/pq_encoder.py``.

    ``record_type``: a name of :data:`tests.pq_encoder.FORMATS`, spaces allowed
    (``"HydraHarp2 T2"``, ``"PicoHarp T3"``, ``"MultiHarp T2"`` = Generic); default HydraHarp 2
    in the world's mode. ``rng`` is passed to the encoder (overflows written in random valid
    ways). Conventions in the module docstring. Returns the path.
    """
    fmt, time, kind, field, dtime = ptu_events(world, record_type)
    records, _ = encode(fmt, time, kind, field, dtime, rng=rng)
    setup = world.setup
    t3 = world.batch.mode == "T3"
    laser_hz = world.truth["laser_rate_hz"] if world.pulsed else 0.0
    ms = math.ceil(world.duration_ps / 1e9 - 1e-9)
    tags: list[tuple[str, int, str, Any]] = [
        ("MeasDesc_AcquisitionTime", -1, "Int8", ms),
        ("TTResult_StopAfter", -1, "Int8", ms),
        ("HWSync_Divider", -1, "Int8", int(setup.sync_divider)),
    ]
    if t3:
        glob = world.sync_period_ps * 1e-12
        tags.append(("MeasDesc_GlobalResolution", -1, "Float8", glob))
        resolution_s = setup.nanotime_unit_ps * 1e-12
    else:
        resolution_s = setup.resolution_ps * 1e-12
    return ptu_file(path, fmt, records, resolution_s, laser_hz, extra_tags=tags)


# ---------------------------------------------------------------------- damaged files
def cut_file(src: str | os.PathLike, dst: str | os.PathLike, at_byte: int) -> Path:
    """Copy the first ``at_byte`` bytes of ``src`` to ``dst`` (a file that ends early).
    ``at_byte`` must lie in ``0..size``. Returns ``dst``."""
    data = Path(src).read_bytes()
    at_byte = int(at_byte)
    if not 0 <= at_byte <= len(data):
        raise ValueError(f"cut at byte {at_byte} outside 0..{len(data)}")
    dst = Path(dst)
    dst.write_bytes(data[:at_byte])
    return dst
