"""PicoQuant's legacy TTTR containers (``.pt2``, ``.pt3``, ``.ht2``, ``.ht3``), read into a
:class:`~.pq_header.PtuHeader` so that :class:`~.pq_file.PtuRun` decodes their records.

Before the unified PTU format, each instrument wrote a fixed binary header followed by the same
32-bit TTTR records a PTU file holds. The layouts below are kept as data (little-endian numpy
structured dtypes, packed: every field sits on its natural alignment anyway). Facts from:

* PicoQuant's own demo readers for PicoHarp 300 files, format version 2.0
  (``legacy/PicoHarp filedemos/pt2/c/pt2demo.c``, ``pt3/c/pt3demo.c`` and
  ``pt3/matlab/read_pt3.m`` in github.com/PicoQuant/PicoQuant-Time-Tagged-File-Format-Demos);
* phconvert's ``pqreader.py`` (``pt3_reader``, ``ht3_reader``), tttrlib's ``TTTRHeader.cpp``
  (``read_ht3_header``), libpicoquant (``src/picoharp/ph_v20*``, ``src/hydraharp/hh_v10*``,
  ``hh_v20*`` and its sample header dumps) and a HydraHarp ``ht3read.c`` "based on sample
  Borland C code by PicoQuant" that reads format versions 1.0 and 2.0 with one layout.

Layouts (byte offsets from the start of the file):

* Text header, 328 bytes, both families: ``Ident[16]`` ("PicoHarp 300" or "HydraHarp"),
  ``FormatVersion[6]``, ``CreatorName[18]``, ``CreatorVersion[12]``, ``FileTime[18]``,
  ``CRLF[2]``, ``Comment[256]``.
* PicoHarp 300, version 2.0: binary header (208 bytes: 18 int32 from ``Curves`` to
  ``DispCountsTo``, 8 display-curve pairs, 3 float32 parameter triples, 4 repeat int32,
  ``ScriptName[20]``); ``NumberOfBoards`` board headers (156 bytes each: identity, CFD settings,
  float32 ``Resolution`` in ns, router model and 4 router channels of 6 int32; the vendor
  readers read one board, the PicoHarp has one); the TTTR header (9 int32: ``ExtDevices``, two
  reserved, ``CntRate0`` (the sync rate), ``CntRate1``, ``StopAfter``, ``StopReason``,
  ``Records``, ``ImgHdrSize``); ``ImgHdrSize`` int32 of imaging header; the records.
* HydraHarp 400, versions 1.0 and 2.0: binary header (208 bytes; float64 ``Resolution`` in ps
  after ``Binning``); hardware header (160 bytes: identity, 10 module-info pairs, float64
  ``BaseResolution``, uint64 ``InputsEnabled``, ``InpChansPresent`` and 7 more int32);
  ``InpChansPresent`` channel settings (4 int32 each), then ``InpChansPresent`` int32 input
  rates; the TTTR header (``SyncRate``, ``StopAfter``, ``StopReason``, ``ImgHdrSize``, uint64
  ``nRecords``); the imaging header; the records. With 8 channels the records start at byte
  880 (tttrlib's remark "880, guessed by inspecting several ht3 files").

Units: the T3 sync period is ``1 / sync rate`` (the rate meter's reading, as every reader above
uses it); the T3 dtime unit is the board ``Resolution`` (ns, PicoHarp) or the binary header's
``Resolution`` (ps, HydraHarp); the T2 time unit is 4 ps on the PicoHarp (the vendor's
``pt2demo.c``: the board ``Resolution`` of a T2 file is the histogram bin, not the tag unit),
0.5 ps in HydraHarp format 1.0 T2 files and 1 ps in 2.0 (libpicoquant's decoders, matching the
``Resolution`` field of its sample files, 0.5 and 1.0). Format version 1.0 HydraHarp files hold
HydraHarp V1 records (one overflow per overflow record), 2.0 files V2 records (counted).

Not supported (no public layout confirmed): PicoHarp files of format version 1.0, histogram
files (``.phd``, ``.hhd``: measurement mode 0) and TimeHarp containers (``.t3r``, ``.thd``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError, UnsupportedFormatError
from ..formats import pq_spec as spec
from .pq_header import PtuHeader, text_field

#: Bytes of the identifier at offset 0.
IDENT_BYTES = 16
#: Largest imaging header accepted, int32 words (real ones hold a few tens).
MAX_IMAGING_WORDS = 1 << 20


class Family(StrEnum):
    """Legacy container families, recognised by the identifier at offset 0."""

    PICOHARP = "picoharp"  # .pt2 / .pt3
    HYDRAHARP = "hydraharp"  # .ht2 / .ht3


IDENTS = {b"PicoHarp 300": Family.PICOHARP, b"HydraHarp": Family.HYDRAHARP}

# ---------------------------------------------------------------------- layouts
_I4, _U4, _F4, _F8, _U8 = "<i4", "<u4", "<f4", "<f8", "<u8"

TEXT_HEADER = np.dtype(
    [
        ("Ident", "S16"),
        ("FormatVersion", "S6"),
        ("CreatorName", "S18"),
        ("CreatorVersion", "S12"),
        ("FileTime", "S18"),
        ("CRLF", "S2"),
        ("Comment", "S256"),
    ]
)
_DISPLAY = [
    ("DispLinLog", _I4),
    ("DispTimeFrom", _I4),
    ("DispTimeTo", _I4),
    ("DispCountsFrom", _I4),
    ("DispCountsTo", _I4),
    ("DispCurves", [("MapTo", _I4), ("Show", _I4)], (8,)),
    ("Params", [("Start", _F4), ("Step", _F4), ("End", _F4)], (3,)),
    ("RepeatMode", _I4),
    ("RepeatsPerCurve", _I4),
    ("RepeatTime", _I4),
    ("RepeatWaitTime", _I4),
    ("ScriptName", "S20"),
]
PH_BINARY_HEADER = np.dtype(
    [
        ("Curves", _I4),
        ("BitsPerRecord", _I4),
        ("RoutingChannels", _I4),
        ("NumberOfBoards", _I4),
        ("ActiveCurve", _I4),
        ("MeasMode", _I4),
        ("SubMode", _I4),
        ("RangeNo", _I4),
        ("Offset", _I4),
        ("Tacq", _I4),  # ms
        ("StopAt", _I4),
        ("StopOnOvfl", _I4),
        ("Restart", _I4),
        *_DISPLAY,
    ]
)
PH_BOARD = np.dtype(
    [
        ("HardwareIdent", "S16"),
        ("HardwareVersion", "S8"),
        ("HardwareSerial", _I4),
        ("SyncDivider", _I4),
        ("CFDZeroCross0", _I4),
        ("CFDLevel0", _I4),
        ("CFDZeroCross1", _I4),
        ("CFDLevel1", _I4),
        ("Resolution", _F4),  # ns
        ("RouterModelCode", _I4),
        ("RouterEnabled", _I4),
        (
            "RtChan",
            [
                ("InputType", _I4),
                ("InputLevel", _I4),
                ("InputEdge", _I4),
                ("CFDPresent", _I4),
                ("CFDLevel", _I4),
                ("CFDZeroCross", _I4),
            ],
            (4,),
        ),
    ]
)
PH_TTTR_HEADER = np.dtype(
    [
        ("ExtDevices", _I4),
        ("Reserved1", _I4),
        ("Reserved2", _I4),
        ("CntRate0", _I4),  # the sync rate, Hz
        ("CntRate1", _I4),
        ("StopAfter", _I4),
        ("StopReason", _I4),
        ("Records", _U4),  # int in the C demos, uint32 in the Matlab one
        ("ImgHdrSize", _I4),  # int32 words
    ]
)
HH_BINARY_HEADER = np.dtype(
    [
        ("Curves", _I4),
        ("BitsPerRecord", _I4),
        ("ActiveCurve", _I4),
        ("MeasMode", _I4),
        ("SubMode", _I4),
        ("Binning", _I4),
        ("Resolution", _F8),  # ps
        ("Offset", _I4),
        ("Tacq", _I4),  # ms
        ("StopAt", _U4),
        ("StopOnOvfl", _I4),
        ("Restart", _I4),
        *_DISPLAY,
    ]
)
HH_HARDWARE_HEADER = np.dtype(
    [
        ("HardwareIdent", "S16"),
        ("HardwarePartNo", "S8"),
        ("HardwareSerial", _I4),
        ("nModulesPresent", _I4),
        ("ModuleInfo", [("ModelCode", _I4), ("VersionCode", _I4)], (10,)),
        ("BaseResolution", _F8),  # ps
        ("InputsEnabled", _U8),  # bit field
        ("InpChansPresent", _I4),
        ("RefClockSource", _I4),
        ("ExtDevices", _I4),
        ("MarkerSettings", _I4),
        ("SyncDivider", _I4),
        ("SyncCFDLevel", _I4),
        ("SyncCFDZeroCross", _I4),
        ("SyncOffset", _I4),
    ]
)
HH_CHANNEL = np.dtype(
    [
        ("InputModuleIndex", _I4),
        ("InputCFDLevel", _I4),
        ("InputCFDZeroCross", _I4),
        ("InputOffset", _I4),
    ]
)
HH_INPUT_RATE = np.dtype([("InputRate", _I4)])
HH_TTTR_HEADER = np.dtype(
    [
        ("SyncRate", _I4),  # Hz
        ("StopAfter", _I4),
        ("StopReason", _I4),
        ("ImgHdrSize", _I4),  # int32 words
        ("nRecords", _U8),
    ]
)
IMAGING_WORD = np.dtype([("ImgHdr", _I4)])


@dataclass(frozen=True)
class Section:
    """One header section: ``count`` records of ``dtype``; ``count`` is 1 or the name of an
    earlier field holding the count, which must lie in ``limits``."""

    name: str
    dtype: np.dtype
    count: int | str = 1
    limits: tuple[int, int] = (1, 1)


@dataclass(frozen=True)
class Layout:
    """A container family: its identifier, accepted format versions and header sections."""

    family: Family
    ident: str
    versions: tuple[str, ...]
    sections: tuple[Section, ...]


LAYOUTS = {
    Family.PICOHARP: Layout(
        Family.PICOHARP,
        "PicoHarp 300",
        ("2.0",),
        (
            Section("text", TEXT_HEADER),
            Section("binary", PH_BINARY_HEADER),
            Section("board", PH_BOARD, "NumberOfBoards", (1, 1)),
            Section("TTTR", PH_TTTR_HEADER),
            Section("imaging", IMAGING_WORD, "ImgHdrSize", (0, MAX_IMAGING_WORDS)),
        ),
    ),
    Family.HYDRAHARP: Layout(
        Family.HYDRAHARP,
        "HydraHarp",
        ("1.0", "2.0"),
        (
            Section("text", TEXT_HEADER),
            Section("binary", HH_BINARY_HEADER),
            Section("hardware", HH_HARDWARE_HEADER),
            Section("channel", HH_CHANNEL, "InpChansPresent", (0, 64)),
            Section("input rate", HH_INPUT_RATE, "InpChansPresent", (0, 64)),
            Section("TTTR", HH_TTTR_HEADER),
            Section("imaging", IMAGING_WORD, "ImgHdrSize", (0, MAX_IMAGING_WORDS)),
        ),
    ),
}

#: (family, format version, measurement mode) -> record format name in
#: :mod:`tagstream.formats.pq_spec`.
RECORD_FORMATS = {
    (Family.PICOHARP, "2.0", 2): "PicoHarpT2",
    (Family.PICOHARP, "2.0", 3): "PicoHarpT3",
    (Family.HYDRAHARP, "1.0", 2): "HydraHarpT2",
    (Family.HYDRAHARP, "1.0", 3): "HydraHarpT3",
    (Family.HYDRAHARP, "2.0", 2): "HydraHarp2T2",
    (Family.HYDRAHARP, "2.0", 3): "HydraHarp2T3",
}
#: File extension by (family, mode), for messages and ``info``.
EXTENSIONS = {
    (Family.PICOHARP, 2): "PT2",
    (Family.PICOHARP, 3): "PT3",
    (Family.HYDRAHARP, 2): "HT2",
    (Family.HYDRAHARP, 3): "HT3",
}
#: T2 time unit, s, by (family, format version).
T2_RESOLUTION_S = {
    (Family.PICOHARP, "2.0"): 4e-12,
    (Family.HYDRAHARP, "1.0"): 0.5e-12,
    (Family.HYDRAHARP, "2.0"): 1e-12,
}
#: Legacy field -> PTU tag name (and type when it differs from the field's).
PTU_NAMES: dict[str, tuple[str, str | None]] = {
    "CreatorName": ("CreatorSW_Name", None),
    "CreatorVersion": ("CreatorSW_Version", None),
    "FileTime": ("File_CreatingTime", None),
    "Comment": ("File_Comment", None),
    "BitsPerRecord": ("TTResultFormat_BitsPerRecord", None),
    "MeasMode": (spec.TAG_MEASUREMENT_MODE, None),
    "SubMode": ("Measurement_SubMode", None),
    "Offset": ("MeasDesc_Offset", None),
    "Tacq": (spec.TAG_ACQUISITION_TIME, None),
    "StopAt": ("MeasDesc_StopAt", None),
    "StopOnOvfl": ("MeasDesc_StopOnOvfl", "Bool8"),
    "Restart": ("MeasDesc_Restart", "Bool8"),
    "HardwareIdent": (spec.TAG_HARDWARE, None),
    "HardwarePartNo": ("HW_PartNo", None),
    "HardwareVersion": ("HW_Version", None),
    "HardwareSerial": (spec.TAG_SERIAL, None),
    "SyncDivider": (spec.TAG_SYNC_DIVIDER, None),
    "CntRate0": (spec.TAG_SYNC_RATE, None),
    "SyncRate": (spec.TAG_SYNC_RATE, None),
    "StopAfter": ("TTResult_StopAfter", None),
    "StopReason": (spec.TAG_STOP_REASON, None),
    "Records": (spec.TAG_NUM_RECORDS, None),
    "nRecords": (spec.TAG_NUM_RECORDS, None),
}
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
    if dtype == np.dtype(_F4):
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
