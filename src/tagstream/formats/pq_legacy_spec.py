"""PicoQuant's legacy TTTR containers (``.pt2``, ``.pt3``, ``.ht2``, ``.ht3``) as data: the
fixed binary headers before the same 32-bit TTTR records a PTU file holds, read by
:mod:`tagstream.sources.pq_legacy`.

The layouts below are kept as little-endian numpy structured dtypes, packed (every field sits on
its natural alignment anyway). Facts from:

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

Not supported (no public layout confirmed): PicoHarp files of format version 1.0, histogram
files (``.phd``, ``.hhd``: measurement mode 0) and TimeHarp containers (``.t3r``, ``.thd``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from . import pq_spec as spec

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
#: T2 time unit, s, by (family, format version); where the values come from is said in
#: :mod:`tagstream.sources.pq_legacy`.
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
