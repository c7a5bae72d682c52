"""Independent writer of PicoQuant's legacy TTTR containers (.pt2, .pt3, .ht2, .ht3), used only
by the tests. It writes every header field one by one with :mod:`struct`, in the order and with
the types of the published readers, and shares nothing with ``tagstream.sources.pq_legacy``.
The records come from :func:`tests.pq_encoder.encode`.

Sources of the layouts:

* PicoHarp 300, file format version 2.0 (.pt2 and .pt3 share the header): PicoQuant's demo
  readers ``legacy/PicoHarp filedemos/pt2/c/pt2demo.c``, ``pt3/c/pt3demo.c`` and
  ``pt3/matlab/read_pt3.m`` (github.com/PicoQuant/PicoQuant-Time-Tagged-File-Format-Demos):
  ``TxtHdr``, ``BinHdr``, one ``BoardHdr`` with 4 router channels, ``TTTRHdr``, then
  ``ImgHdrSize`` int32 words before the records. T2 time unit 4 ps (``#define RESOL 4E-12``).
* HydraHarp 400, file format versions 1.0 and 2.0 (.ht2 and .ht3 share the header): the
  HydraHarp ``ht3read.c`` "based on sample Borland C code by PicoQuant" and libpicoquant's
  ``hh_v10.h``/``hh_v20.h``: ``TxtHdr``, ``BinHdr`` (float64 ``Resolution`` in ps),
  ``MainHardwareHdr`` (10 module-info pairs), ``InpChansPresent`` channel settings of 4 int32,
  then ``InpChansPresent`` int32 input rates, ``TTTRHdr`` with a uint64 record count, the
  imaging header. T2 time unit: 0.5 ps in version 1.0, 1 ps in 2.0 (libpicoquant's decoders and
  sample headers).

Header sizes that follow: PicoHarp 328 + 208 + 156 + 36 = 728 bytes; HydraHarp 328 + 208 + 160
+ 20 per input channel + 24 bytes (880 with 8 channels), plus 4 bytes per imaging word.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np

#: (container, format version) -> record format name of tests/pq_encoder.py.
RECORD_FORMAT = {
    ("PT2", "2.0"): "PicoHarpT2",
    ("PT3", "2.0"): "PicoHarpT3",
    ("HT2", "1.0"): "HydraHarpT2",
    ("HT3", "1.0"): "HydraHarpT3",
    ("HT2", "2.0"): "HydraHarp2T2",
    ("HT3", "2.0"): "HydraHarp2T3",
}
#: T2 time unit in ps by (container, format version).
T2_UNIT_PS = {("PT2", "2.0"): 4.0, ("HT2", "1.0"): 0.5, ("HT2", "2.0"): 1.0}


def _text(value: str, size: int) -> bytes:
    raw = value.encode("ascii")
    if len(raw) > size:
        raise ValueError(f"{value!r} does not fit {size} bytes")
    return struct.pack(f"{size}s", raw)  # NUL-padded


def _int(value: int) -> bytes:
    return struct.pack("<i", value)


def _uint(value: int) -> bytes:
    return struct.pack("<I", value)


def _text_header(ident: str, version: str, comment: str) -> bytes:
    return b"".join(
        [
            _text(ident, 16),  # Ident
            _text(version, 6),  # FormatVersion
            _text("tagstream tests", 18),  # CreatorName
            _text("1.0.0", 12),  # CreatorVersion
            _text("06/09/11 13:51:36", 18),  # FileTime (as the instruments write it)
            b"\r\n",  # CRLF
            _text(comment, 256),  # CommentField
        ]
    )


def _display_and_repeat() -> bytes:
    """DispLinLog ... ScriptName: the tail of the binary header, the same in both families."""
    out = [_int(1), _int(0), _int(262), _int(0), _int(100_000)]  # DispLinLog .. DispCountsTo
    for i in range(8):
        out += [_int(i), _int(1)]  # DispCurves[i]: MapTo, Show
    for _ in range(3):
        out.append(struct.pack("<fff", 0.0, 0.0, 0.0))  # Params[i]: Start, Step, End
    out += [_int(0), _int(1), _int(0), _int(0)]  # RepeatMode, RepeatsPerCurve, Time, WaitTime
    out.append(_text("TTTR Mode", 20))  # ScriptName
    return b"".join(out)


def picoharp_header(
    mode: int,
    n_records: int,
    *,
    sync_rate: int = 80_000_000,
    resolution_ns: float = 0.004,
    acquisition_ms: int = 10_000,
    sync_divider: int = 1,
    boards: int = 1,
    imaging: Sequence[int] = (),
    version: str = "2.0",
    bits_per_record: int = 32,
) -> bytes:
    """Header of a PicoHarp 300 .pt2 (``mode`` 2) or .pt3 (3) file, format version 2.0.

    ``boards`` is only written into ``NumberOfBoards``; one board header follows regardless
    (the PicoHarp has one board; the vendor readers read one).
    """
    binary = b"".join(
        [
            _int(0),  # Curves
            _int(bits_per_record),  # BitsPerRecord
            _int(4),  # RoutingChannels
            _int(boards),  # NumberOfBoards
            _int(0),  # ActiveCurve
            _int(mode),  # MeasMode
            _int(0),  # SubMode
            _int(5),  # RangeNo
            _int(0),  # Offset
            _int(acquisition_ms),  # Tacq, ms
            _int(65535),  # StopAt
            _int(0),  # StopOnOvfl
            _int(0),  # Restart
            _display_and_repeat(),
        ]
    )
    board = [
        _text("PicoHarp 300", 16),  # HardwareIdent
        _text("2.0", 8),  # HardwareVersion
        _int(1006579),  # HardwareSerial
        _int(sync_divider),  # SyncDivider
        _int(0),  # CFDZeroCross0
        _int(10),  # CFDLevel0
        _int(10),  # CFDZeroCross1
        _int(100),  # CFDLevel1
        struct.pack("<f", resolution_ns),  # Resolution, ns
        _int(0),  # RouterModelCode
        _int(1),  # RouterEnabled
    ]
    for ch in range(4):  # RtChan1..4: InputType, InputLevel, InputEdge, CFDPresent, ...
        board += [_int(ch), _int(-100), _int(1), _int(0), _int(0), _int(0)]
    tttr = b"".join(
        [
            _int(0),  # ExtDevices
            _int(0),  # Reserved1
            _int(0),  # Reserved2
            _int(sync_rate),  # CntRate0 (sync)
            _int(12_345),  # CntRate1
            _int(acquisition_ms),  # StopAfter
            _int(0),  # StopReason
            _uint(n_records),  # Records
            _int(len(imaging)),  # ImgHdrSize, int32 words
        ]
    )
    image = b"".join(_int(w) for w in imaging)
    return (
        _text_header("PicoHarp 300", version, f"T{mode} Mode")
        + binary
        + b"".join(board)
        + (tttr + image)
    )


def hydraharp_header(
    mode: int,
    n_records: int,
    *,
    version: str = "2.0",
    sync_rate: int = 80_000_000,
    resolution_ps: float = 8.0,
    binning: int = 3,
    acquisition_ms: int = 10_000,
    sync_divider: int = 1,
    input_rates: Sequence[int] = (28_156, 29_200, 28_743, 29_399),
    channels: int | None = None,
    imaging: Sequence[int] = (),
) -> bytes:
    """Header of a HydraHarp 400 .ht2 (``mode`` 2) or .ht3 (3) file, format 1.0 or 2.0.

    One channel-settings block and one input rate per entry of ``input_rates``;
    ``channels`` (default: as many) is what ``InpChansPresent`` declares.
    """
    n_inputs = len(input_rates)
    declared = n_inputs if channels is None else channels
    binary = b"".join(
        [
            _int(0),  # Curves
            _int(32),  # BitsPerRecord
            _int(0),  # ActiveCurve
            _int(mode),  # MeasMode
            _int(0),  # SubMode
            _int(binning),  # Binning
            struct.pack("<d", resolution_ps),  # Resolution, ps
            _int(0),  # Offset
            _int(acquisition_ms),  # Tacq, ms
            _uint(0xFFFFFFFF),  # StopAt
            _int(0),  # StopOnOvfl
            _int(0),  # Restart
            _display_and_repeat(),
        ]
    )
    hardware = [
        _text("HydraHarp 400", 16),  # HardwareIdent
        _text("930021", 8),  # HardwarePartNo
        _int(1018786),  # HardwareSerial
        _int(4),  # nModulesPresent
    ]
    modules = [(1000, 50987009), (1010, 33620487), (1040, 18219527), (1040, 18219527)]
    modules += [(0, 0)] * (10 - len(modules))
    for model, code in modules:  # ModuleInfo[10]: ModelCode, VersionCode
        hardware += [_int(model), _int(code)]
    hardware += [
        struct.pack("<d", 1.0),  # BaseResolution, ps
        struct.pack("<Q", (1 << n_inputs) - 1),  # InputsEnabled
        _int(declared),  # InpChansPresent
        _int(0),  # RefClockSource
        _int(0),  # ExtDevices
        _int(0x0F0F),  # MarkerSettings
        _int(sync_divider),  # SyncDivider
        _int(50),  # SyncCFDLevel
        _int(10),  # SyncCFDZeroCross
        _int(-10_000),  # SyncOffset
    ]
    inputs = []
    for i in range(n_inputs):  # InputModuleIndex, InputCFDLevel, InputCFDZeroCross, Offset
        inputs += [_int(2 + i // 2), _int(50), _int(10), _int(100 * i)]
    rates = [_int(r) for r in input_rates]  # InputRate[i]
    tttr = b"".join(
        [
            _int(sync_rate),  # SyncRate
            _int(acquisition_ms),  # StopAfter
            _int(0),  # StopReason
            _int(len(imaging)),  # ImgHdrSize, int32 words
            struct.pack("<Q", n_records),  # nRecords
        ]
    )
    image = b"".join(_int(w) for w in imaging)
    return b"".join(
        [
            _text_header("HydraHarp", version, f"T{mode} Mode"),
            binary,
            b"".join(hardware),
            b"".join(inputs),
            b"".join(rates),
            tttr,
            image,
        ]
    )


def legacy_file(path: str | Path, header: bytes, records: np.ndarray) -> Path:
    """Write ``header`` and the 32-bit ``records`` (little-endian) to ``path``."""
    path = Path(path)
    path.write_bytes(header + np.asarray(records).astype("<u4").tobytes())
    return path
