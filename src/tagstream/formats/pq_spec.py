r"""PicoQuant's unified TTTR file format (PTU), kept as data: header tag types, record types and
the bit layouts of their 32-bit records.

Facts from PicoQuant's published format description and demo readers. A PTU file is the magic
``PQTTTR\0\0``, an 8-byte version string, a tagged header and the records. A header tag is a
32-byte NUL-padded identifier, an int32 index (-1 for a scalar, 0, 1, ... for the elements of an
array), a uint32 type code and an 8-byte value; types of variable length keep the length of
their payload (bytes) in the value and the payload right after the tag. The tag
``Header_End`` closes the header.
"""

from __future__ import annotations

from dataclasses import dataclass

MAGIC = b"PQTTTR\x00\x00"
VERSION_BYTES = 8
IDENT_BYTES = 32
#: Bytes of one tag entry: identifier, index, type, value.
TAG_BYTES = IDENT_BYTES + 4 + 4 + 8
HEADER_END = "Header_End"

# ---------------------------------------------------------------------- tag types
TY_EMPTY8 = 0xFFFF0008
TY_BOOL8 = 0x00000008
TY_INT8 = 0x10000008
TY_BITSET64 = 0x11000008
TY_COLOR8 = 0x12000008
TY_FLOAT8 = 0x20000008
TY_TDATETIME = 0x21000008
TY_FLOAT8_ARRAY = 0x2001FFFF
TY_ANSI_STRING = 0x4001FFFF
TY_WIDE_STRING = 0x4002FFFF
TY_BINARY_BLOB = 0xFFFFFFFF

TAG_TYPE_NAMES = {
    TY_EMPTY8: "Empty8",
    TY_BOOL8: "Bool8",
    TY_INT8: "Int8",
    TY_BITSET64: "BitSet64",
    TY_COLOR8: "Color8",
    TY_FLOAT8: "Float8",
    TY_TDATETIME: "TDateTime",
    TY_FLOAT8_ARRAY: "Float8Array",
    TY_ANSI_STRING: "AnsiString",
    TY_WIDE_STRING: "WideString",
    TY_BINARY_BLOB: "BinaryBlob",
}
#: Types whose payload follows the tag (the value holds its length in bytes).
PAYLOAD_TYPES = frozenset({TY_FLOAT8_ARRAY, TY_ANSI_STRING, TY_WIDE_STRING, TY_BINARY_BLOB})
#: Days from TDateTime's epoch (1899-12-30) to the Unix epoch.
TDATETIME_UNIX_DAYS = 25569.0

# ---------------------------------------------------------------------- header tags used
TAG_RECORD_TYPE = "TTResultFormat_TTTRRecType"
TAG_NUM_RECORDS = "TTResult_NumberOfRecords"
TAG_GLOBAL_RESOLUTION = "MeasDesc_GlobalResolution"  # s: T2 tick, T3 sync period
TAG_RESOLUTION = "MeasDesc_Resolution"  # s: the T3 dtime unit
TAG_SYNC_RATE = "TTResult_SyncRate"  # Hz
TAG_ACQUISITION_TIME = "MeasDesc_AcquisitionTime"  # ms
TAG_MEASUREMENT_MODE = "Measurement_Mode"  # 2 = T2, 3 = T3
TAG_SYNC_DIVIDER = "HWSync_Divider"
TAG_STOP_REASON = "TTResult_StopReason"  # 0: the set time ran out; else stopped early
TAG_STOP_AFTER = "TTResult_StopAfter"  # ms: how long the measurement actually ran
TAG_HARDWARE = "HW_Type"
TAG_SERIAL = "HW_SerialNo"
TAG_COMMENT = "File_Comment"
#: Words in header tag names under which instruments report trouble (a non-zero value is a
#: warning: dropped events, FIFO overruns, sync losses).
WARNING_WORDS = ("Warning", "Overflow", "Dropped", "Lost")


# ---------------------------------------------------------------------- record layouts
@dataclass(frozen=True)
class RecordFormat:
    """How one TTTR record type packs its events into 32 bits.

    Attributes
    ----------
    code
        ``TTResultFormat_TTTRRecType``.
    name, device
        Short name, and the instruments that write it.
    mode
        ``"T2"`` or ``"T3"``.
    layout
        ``"picoharp"`` (channel in the top 4 bits, 15 special) or ``"hydraharp"`` (special bit,
        6-bit channel).
    time_bits
        Width of the time field: T2 time tag or T3 sync counter.
    dtime_bits
        Width of the T3 dtime field (0 in T2).
    wrap
        What one overflow adds to the time (T2 ticks or T3 syncs).
    counted
        Overflow records carry how many overflows they stand for in the time field (0 means 1).
    """

    code: int
    name: str
    device: str
    mode: str
    layout: str
    time_bits: int
    dtime_bits: int
    wrap: int
    counted: bool

    @property
    def family(self) -> int:
        """Kernel switch: 0 PicoHarp T2, 1 PicoHarp T3, 2 HydraHarp-family T2, 3 ... T3."""
        return (0 if self.layout == "picoharp" else 2) + (1 if self.mode == "T3" else 0)


_HH_T2 = 1 << 25
_HH_T3 = 1 << 10
_GENERIC = "MultiHarp 150/160, PicoHarp 330"
# code, name, instruments, mode, layout, time bits, dtime bits, wrap, counted overflows
_TABLE = (
    (0x00010203, "PicoHarpT2", "PicoHarp 300", "T2", "picoharp", 28, 0, 210_698_240, False),
    (0x00010303, "PicoHarpT3", "PicoHarp 300", "T3", "picoharp", 16, 12, 1 << 16, False),
    (0x00010204, "HydraHarpT2", "HydraHarp 400 (V1)", "T2", "hydraharp", 25, 0, 33_552_000, False),
    (0x00010304, "HydraHarpT3", "HydraHarp 400 (V1)", "T3", "hydraharp", 10, 15, _HH_T3, False),
    (0x01010204, "HydraHarp2T2", "HydraHarp 400 (V2)", "T2", "hydraharp", 25, 0, _HH_T2, True),
    (0x01010304, "HydraHarp2T3", "HydraHarp 400 (V2)", "T3", "hydraharp", 10, 15, _HH_T3, True),
    (0x00010205, "TimeHarp260NT2", "TimeHarp 260 N", "T2", "hydraharp", 25, 0, _HH_T2, True),
    (0x00010305, "TimeHarp260NT3", "TimeHarp 260 N", "T3", "hydraharp", 10, 15, _HH_T3, True),
    (0x00010206, "TimeHarp260PT2", "TimeHarp 260 P", "T2", "hydraharp", 25, 0, _HH_T2, True),
    (0x00010306, "TimeHarp260PT3", "TimeHarp 260 P", "T3", "hydraharp", 10, 15, _HH_T3, True),
    (0x00010207, "GenericT2", _GENERIC, "T2", "hydraharp", 25, 0, _HH_T2, True),
    (0x00010307, "GenericT3", _GENERIC, "T3", "hydraharp", 10, 15, _HH_T3, True),
)
RECORD_FORMATS = {row[0]: RecordFormat(*row) for row in _TABLE}
FORMATS_BY_NAME = {f.name: f for f in RECORD_FORMATS.values()}

# ---------------------------------------------------------------------- channel numbers
#: tagstream channel of the sync (T2 sync records; PicoHarp T2 input 0).
SYNC_CHANNEL = 0
#: Marker records with bit mask ``m`` (1..15) become tags on channel ``MARKER_BASE + m``.
MARKER_BASE = 64
