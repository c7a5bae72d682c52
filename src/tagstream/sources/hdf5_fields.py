"""Fields of a Photon-HDF5 file read with their checks: strings and numbers, the per-tag arrays,
and the header fields of files from other software (units, laser rate, duration, identity).

Damaged or impossible values raise :class:`~tagstream.errors.CorruptFileError` (or
:class:`~tagstream.errors.NotPhotonHDF5Error`, :class:`~tagstream.errors.UnsupportedFormatError`)
naming the file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ..errors import CorruptFileError, NotPhotonHDF5Error, UnsupportedFormatError
from ..tags.units import PS_PER_S

_MULTISPOT = re.compile(r"^photon_data\d+$")


def require(f: h5py.File, path: Path, fields: tuple[str, ...]) -> None:
    """The single-spot ``/photon_data`` and every one of ``fields`` are in the file."""
    if "/photon_data" not in f and any(_MULTISPOT.match(name) for name in f):
        raise UnsupportedFormatError(path, "multi-spot Photon-HDF5 files are not supported")
    for field in fields:
        if field not in f:
            raise NotPhotonHDF5Error(path, field)


def tag_array(
    group: h5py.Group, name: str, path: Path, length: int | None = None, exact: bool = True
) -> h5py.Dataset | None:
    """The per-tag array ``name`` (1-D, integer, ``length`` values, or at least that many when
    not ``exact``); ``None`` when absent."""
    ds = group.get(name)
    if ds is None:
        return None
    if not isinstance(ds, h5py.Dataset) or ds.ndim != 1 or ds.dtype.kind not in "iu":
        raise CorruptFileError(path, f"{ds.name} must be a 1-D integer array")
    if length is not None:
        if exact and ds.shape[0] != length:
            raise CorruptFileError(path, f"{ds.name} holds {ds.shape[0]} values for {length} tags")
        check_length(ds, length, path)
    return ds


def check_length(ds: h5py.Dataset, length: int, path: Path) -> None:
    """``ds`` holds at least the ``length`` values of the tags committed."""
    if ds.shape[0] < length:
        raise CorruptFileError(
            path, f"{ds.name} holds {ds.shape[0]} values; {length} tags were committed"
        )


def text(value: object) -> str:
    """A string field as ``str`` (fixed- or variable-length, bytes or not)."""
    if isinstance(value, np.ndarray):
        value = value.item() if value.size == 1 else value.tolist()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def scalar(f: h5py.File, field: str) -> float | None:
    """A numeric field (a scalar or the first element of an array); ``None`` if absent."""
    node = f.get(field)
    if not isinstance(node, h5py.Dataset):
        return None
    values = np.asarray(node[()]).ravel()
    if values.size == 0 or values.dtype.kind not in "iuf":
        return None
    return float(values[0])


def string_field(f: h5py.File, field: str) -> str | None:
    """A string field as ``str``; ``None`` if absent."""
    node = f.get(field)
    return text(node[()]) if isinstance(node, h5py.Dataset) else None


# ---------------------------------------------------------------------- header fields
def timestamps_unit_ps(f: h5py.File, path: Path) -> float:
    """The unit of the stored timestamps, ps."""
    unit = scalar(f, "/photon_data/timestamps_specs/timestamps_unit")
    if unit is None or not math.isfinite(unit) or unit <= 0:
        raise CorruptFileError(path, f"timestamps_unit must be a positive number, got {unit}")
    return unit * PS_PER_S


@dataclass(frozen=True)
class Tcspc:
    """The TCSPC bin (ps) and number of bins of a file's nanotimes."""

    unit_ps: float
    num_bins: int | None

    @property
    def range_ps(self) -> float | None:
        """The TCSPC range, ps; ``None`` when the number of bins is not stated."""
        return None if self.num_bins is None else self.num_bins * self.unit_ps


def read_tcspc(f: h5py.File, path: Path) -> Tcspc:
    """The nanotimes' TCSPC bin and number of bins."""
    unit = scalar(f, "/photon_data/nanotimes_specs/tcspc_unit")
    if unit is None or not math.isfinite(unit) or unit <= 0:
        raise CorruptFileError(path, f"tcspc_unit must be a positive number, got {unit}")
    bins = scalar(f, "/photon_data/nanotimes_specs/tcspc_num_bins")
    return Tcspc(unit * PS_PER_S, None if not bins or bins <= 0 else int(bins))


def nanotime_reach_ps(f: h5py.File, nanotimes: h5py.Dataset, unit_ps: float) -> int:
    """The longest time a nanotime can add, ps: the TCSPC range, else the dtype's range."""
    bins = scalar(f, "/photon_data/nanotimes_specs/tcspc_num_bins")
    if not bins or bins <= 0:
        bins = float(np.iinfo(nanotimes.dtype).max) + 1
    return math.ceil(bins * unit_ps) + 1


def laser_period_ps(f: h5py.File) -> float | None:
    """The laser repetition period from measurement_specs or setup, ps; ``None`` for CW."""
    rate = scalar(f, "/photon_data/measurement_specs/laser_repetition_rate")
    if not rate or rate <= 0:
        node = f.get("/setup/laser_repetition_rates")
        rates = np.asarray(node[()]).ravel() if isinstance(node, h5py.Dataset) else np.zeros(0)
        rates = rates[rates > 0] if rates.dtype.kind in "iuf" else np.zeros(0)
        rate = float(rates[0]) if rates.size else None
    return None if not rate or not math.isfinite(rate) else PS_PER_S / rate


def acquisition_duration_ps(f: h5py.File) -> int:
    """``/acquisition_duration`` in ps; 0 when absent or not a positive number."""
    seconds = scalar(f, "/acquisition_duration")
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        return 0
    return round(seconds * PS_PER_S)


def foreign_settings(f: h5py.File, unit_ps: float) -> dict[str, object]:
    """The settings recorded for another program's file: the timestamps unit (ps), the
    software and its version, the description."""
    settings: dict[str, object] = {"timestamps_unit_ps": unit_ps}
    for key, field in (
        ("software", "/identity/software"),
        ("software_version", "/identity/software_version"),
        ("description", "/description"),
    ):
        value = string_field(f, field)
        if value:
            settings[key] = value
    return settings
