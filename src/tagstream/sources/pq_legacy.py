"""PicoQuant's legacy TTTR containers (``.pt2``, ``.pt3``, ``.ht2``, ``.ht3``), read into a
:class:`~.pq_header.PtuHeader` so that :class:`~.pq_file.PtuRun` decodes their records.

Before the unified PTU format, each instrument wrote a fixed binary header followed by the same
32-bit TTTR records a PTU file holds. The header layouts, the facts they come from and what is
not supported are in :mod:`tagstream.formats.pq_legacy_spec`.

Units: the T3 sync period is ``1 / sync rate`` (the rate meter's reading, as every reader
named in :mod:`tagstream.formats.pq_legacy_spec` uses it); the T3 dtime unit is the board
``Resolution`` (ns, PicoHarp) or the binary header's ``Resolution`` (ps, HydraHarp); the T2 time
unit is 4 ps on the PicoHarp (the vendor's ``pt2demo.c``: the board ``Resolution`` of a T2 file
is the histogram bin, not the tag unit), 0.5 ps in HydraHarp format 1.0 T2 files and 1 ps in
2.0 (libpicoquant's decoders, matching the ``Resolution`` field of its sample files, 0.5 and
1.0). Format version 1.0 HydraHarp files hold HydraHarp V1 records (one overflow per overflow
record), 2.0 files V2 records (counted).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError, UnsupportedFormatError
from ..formats import pq_spec as spec
from ..formats.pq_legacy_spec import (
    EXTENSIONS,
    IDENT_BYTES,
    IDENTS,
    LAYOUTS,
    PTU_NAMES,
    RECORD_FORMATS,
    T2_RESOLUTION_S,
    Family,
    Layout,
    Section,
)
from .pq_header import PtuHeader, text_field

_SKIPPED = frozenset({"CRLF"})


# ---------------------------------------------------------------------- detection
def detect_legacy(first_bytes: bytes) -> Family | None:
    """The legacy container family whose identifier starts ``first_bytes``, else None."""
    ident = bytes(first_bytes[:IDENT_BYTES]).split(b"\x00", 1)[0].strip()
    return IDENTS.get(ident)


# ---------------------------------------------------------------------- reading
def read_legacy_header(path: str | os.PathLike) -> PtuHeader:
    """Read the fixed header of a ``.pt2``/``.pt3``/``.ht2``/``.ht3`` file as a PTU header.

    The result holds the PTU tags :class:`~.pq_file.PtuRun` needs (record type, number of
    records, resolutions in s, sync rate, acquisition time in ms, sync divider), the other
    header fields under their own names (arrays by index) and ``records_offset``, the byte
    offset of the first record.

    Raises
    ------
    UnsupportedFormatError
        Not a legacy container, a format version or measurement mode (histograms) whose
        layout is not supported, or records other than 32 bits.
    CorruptFileError
        A header cut short, an impossible count or size, or a unit the times need that is
        zero; the message names the byte offset.
    """
    src = Path(path)
    size = src.stat().st_size
    fields: dict[str, object] = {}
    with src.open("rb") as fh:
        family = detect_legacy(fh.read(IDENT_BYTES))
        if family is None:
            raise UnsupportedFormatError(
                src, "not a PicoQuant PT2/PT3/HT2/HT3 file (no known identifier at byte offset 0)"
            )
        layout = LAYOUTS[family]
        fh.seek(0)
        offset = 0
        for section in layout.sections:
            n = _count(src, section, fields, layout)
            nbytes = section.dtype.itemsize * n
            raw = fh.read(nbytes)
            if len(raw) < nbytes:
                raise CorruptFileError(
                    src,
                    f"header cut short at byte offset {offset + len(raw)} (the {section.name} "
                    f"section needs {nbytes} bytes from byte offset {offset}; the file has "
                    f"{size} bytes)",
                )
            values = np.frombuffer(raw, dtype=section.dtype, count=n)
            _collect(fields, section, values, offset)
            offset += nbytes
            if section.name == "text":
                _check_version(src, layout, fields)
            elif section.name == "binary":
                _check_mode(src, layout, fields)
    return _translate(src, layout, fields, offset)


def _count(src: Path, section: Section, fields: dict, layout: Layout) -> int:
    if isinstance(section.count, int):
        return section.count
    value, where = fields[section.count]
    lo, hi = section.limits
    if not lo <= value <= hi:
        expected = f"{lo}" if lo == hi else f"{lo} to {hi}"
        raise CorruptFileError(
            src,
            f"{section.count} = {value} at byte offset {where} is impossible for a "
            f"{layout.ident} file (expected {expected})",
        )
    return int(value)


def _collect(fields: dict, section: Section, values: np.ndarray, offset: int) -> None:
    """Field name -> (value, byte offset); several records become lists."""
    for name in section.dtype.names:
        sub, where = section.dtype.fields[name][:2]
        column = values[name]
        if sub.subdtype is not None and sub.subdtype[0].names:  # an array of small records
            inner = sub.subdtype[0]
            for part in inner.names:
                key = f"{name}_{part}"
                fields[key] = (_plain(column[part].reshape(-1), inner.fields[part][0]), offset)
            continue
        if section.limits == (1, 1):  # always exactly one record: scalars
            fields[name] = (_plain(column[0], sub), offset + where)
        else:
            fields[name] = (_plain(column, sub), offset + where)


def _plain(value, dtype: np.dtype):
    """Python values: text for byte strings, float32 as its shortest decimal."""
    if isinstance(value, np.ndarray):
        return [_plain(v, dtype) for v in value]
    if dtype.kind == "S":
        return text_field(bytes(value))
    if dtype == np.dtype("<f4"):
        return float(str(np.float32(value)))
    if dtype.kind == "f":
        return float(value)
    return int(value)


def _check_version(src: Path, layout: Layout, fields: dict) -> None:
    version, where = fields["FormatVersion"]
    if version not in layout.versions:
        known = " and ".join(layout.versions)
        raise UnsupportedFormatError(
            src,
            f"{layout.ident} file format version {version!r} at byte offset {where} is not "
            f"supported (only {known})",
        )


def _check_mode(src: Path, layout: Layout, fields: dict) -> None:
    mode, where = fields["MeasMode"]
    if mode not in (2, 3):
        raise UnsupportedFormatError(
            src,
            f"{layout.ident} measurement mode {mode} at byte offset {where}: only T2 (2) and "
            "T3 (3) files hold time tags (histogram files are not read)",
        )
    bits, where = fields["BitsPerRecord"]
    if bits != 32:
        raise UnsupportedFormatError(
            src, f"{bits} bits per record at byte offset {where} (only 32-bit records are read)"
        )


def _translate(src: Path, layout: Layout, fields: dict, records_offset: int) -> PtuHeader:
    family = layout.family
    version = fields["FormatVersion"][0]
    mode = fields["MeasMode"][0]
    kind = EXTENSIONS[(family, mode)]
    header = PtuHeader(version, container=kind, records_offset=records_offset)

    def put(name: str, value: object, type_name: str) -> None:
        header.tags[name] = value
        header.types[name] = type_name

    put("File_Container", f"{kind} ({layout.ident}, format version {version})", "AnsiString")
    for name, (value, _) in fields.items():
        if name in _SKIPPED:
            continue
        if name == "ImgHdr":
            if value:
                put(name, np.asarray(value, dtype="<i4").tobytes(), "BinaryBlob")
            continue
        ptu_name, type_name = PTU_NAMES.get(name, (name, None))
        if type_name == "Bool8":
            value = bool(value)
        put(ptu_name, value, type_name or _type_name(value))

    fmt = spec.FORMATS_BY_NAME[RECORD_FORMATS[(family, version, mode)]]
    put(spec.TAG_RECORD_TYPE, fmt.code, "Int8")
    if mode == 2:
        tick = T2_RESOLUTION_S[(family, version)]
        put(spec.TAG_GLOBAL_RESOLUTION, tick, "Float8")
        put(spec.TAG_RESOLUTION, tick, "Float8")
        return header
    rate_field = "CntRate0" if family is Family.PICOHARP else "SyncRate"
    rate, where = fields[rate_field]
    if rate <= 0:
        raise CorruptFileError(
            src, f"sync rate {rate} Hz at byte offset {where}: the T3 sync period is unknown"
        )
    res, where = fields["Resolution"]
    res_s = res * (1e-9 if family is Family.PICOHARP else 1e-12)
    if not np.isfinite(res_s) or res_s <= 0:
        raise CorruptFileError(
            src, f"time resolution {res} at byte offset {where} is not a positive number"
        )
    put(spec.TAG_GLOBAL_RESOLUTION, 1.0 / rate, "Float8")
    put(spec.TAG_RESOLUTION, res_s, "Float8")
    return header


def _type_name(value: object) -> str:
    first = value[0] if isinstance(value, list) and value else value
    if isinstance(first, str):
        return "AnsiString"
    if isinstance(first, float):
        return "Float8"
    return "Int8"
