"""The records of a PicoQuant file as its header describes them: their format, the whole records
mapped into memory (a file cut short or miscounted is a warning), their time units, and where a
header tag is, for messages that name the byte offset."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError, UnsupportedFormatError
from ..formats import pq_spec as spec
from ..formats.pq_spec import RecordFormat
from ..tags.units import PS_PER_S, ps_factors
from .pq_header import PtuHeader

#: Resolutions a header may give (T2 tick, T3 sync period, T3 dtime unit), s.
RESOLUTION_RANGE_S = (1e-15, 1.0)


def where(header: PtuHeader, name: str) -> str:
    """Where tag ``name`` is (or would be): ``"at byte offset N"``."""
    offsets = header.offsets
    at = offsets.get(name, offsets.get(spec.HEADER_END))
    return "in the header" if at is None else f"at byte offset {at}"


def is_number(value: object) -> bool:
    """An int or float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_int(value: object) -> bool:
    """An int, not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def record_format(path: Path, header: PtuHeader) -> RecordFormat:
    """The format of the file's records, from its record type tag."""
    code = header.get(spec.TAG_RECORD_TYPE)
    if not is_int(code):
        raise CorruptFileError(
            path, f"no {spec.TAG_RECORD_TYPE} integer tag {where(header, spec.TAG_RECORD_TYPE)}"
        )
    fmt = spec.RECORD_FORMATS.get(code)
    if fmt is None:
        raise UnsupportedFormatError(
            path,
            f"unknown TTTR record type 0x{code & 0xFFFFFFFF:08X} "
            f"{where(header, spec.TAG_RECORD_TYPE)}",
        )
    return fmt


@dataclass(frozen=True)
class MappedRecords:
    """The records read: 32-bit words (memory-mapped), how many, and whether the file ends
    before its last record or before the records its header declares."""

    records: np.ndarray
    num_records: int
    cut_short: bool


def map_records(path: Path, header: PtuHeader, warnings: list[str]) -> MappedRecords:
    """Map the whole records of the file (those the header declares, when fewer are there);
    what does not fit is a warning appended to ``warnings``."""
    offset = header.records_offset
    available = max(os.path.getsize(path) - offset, 0)
    whole = available // 4
    if available % 4:
        warnings.append(
            f"the last record is cut short at byte offset {offset + 4 * whole}; "
            f"reading the {whole} whole records before it"
        )
    n = whole
    cut_short = bool(available % 4)
    declared = header.get(spec.TAG_NUM_RECORDS)
    if is_int(declared) and declared != whole:
        if declared < 0:
            warnings.append(
                f"the header declares {declared} records {where(header, spec.TAG_NUM_RECORDS)}; "
                f"reading the {whole} in the file"
            )
        elif declared > whole:
            cut_short = True
            warnings.append(
                f"the header declares {declared} records but the file ends after {whole} "
                f"(byte offset {offset + 4 * whole}); reading those"
            )
        else:
            warnings.append(
                f"{whole - declared} records follow the {declared} the header declares "
                f"(from byte offset {offset + 4 * declared}); they are ignored"
            )
            n = declared
    if n:
        records = np.memmap(path, dtype="<u4", mode="r", offset=offset, shape=(n,))
    else:
        records = np.zeros(0, dtype="<u4")
    return MappedRecords(records, n, cut_short)


@dataclass(frozen=True)
class Units:
    """The time units of the records, ps: the T2 tick or T3 sync period, the T3 dtime unit
    (``None`` in T2), and both as the decoding kernel takes them (``ps_factors``)."""

    tick_ps: float
    dtime_ps: float | None
    factors: tuple


def read_units(path: Path, header: PtuHeader, fmt: RecordFormat) -> Units:
    """The resolutions the header gives for records of format ``fmt``."""
    tick_ps = _seconds(path, header, spec.TAG_GLOBAL_RESOLUTION) * PS_PER_S
    dtime_ps = None
    if fmt.mode == "T3":
        dtime_ps = _seconds(path, header, spec.TAG_RESOLUTION) * PS_PER_S
    dunit = ps_factors(dtime_ps) if dtime_ps else (1, 1, 0.0)
    return Units(tick_ps, dtime_ps, (ps_factors(tick_ps), dunit))


def _seconds(path: Path, header: PtuHeader, name: str) -> float:
    """A resolution tag, s: a float in :data:`RESOLUTION_RANGE_S` (T2 tick, T3 sync period
    or dtime unit), else a corrupt-file error."""
    value = header.get(name)
    lo, hi = RESOLUTION_RANGE_S
    if not isinstance(value, float) or not lo <= value <= hi:
        shown = "missing" if value is None else f"{value!r}"
        raise CorruptFileError(
            path,
            f"{name} {where(header, name)} is {shown}, not a time from {lo:g} to {hi:g} s",
        )
    return value
