"""Independent writer of PicoQuant PTU files, used only by the round-trip tests.

Written from PicoQuant's published documentation of the unified tag file format
(``doc/apx_tagtypes.html``, ``doc/apx_tagdictionary.html`` and ``doc/apx_tttrrecords.html`` of
https://github.com/PicoQuant/PicoQuant-Time-Tagged-File-Format-Demos) and the facts stated by
PicoQuant's demo readers in the same repository (``PTU/C/ptudemo.cc``, ``PTU/Python/Read_PTU.py``).
It shares no code with ``tagstream``'s own PTU reader, so a round trip through both catches a
misreading of the format in either.

The file layout, all little-endian:

* preamble: the 8-byte magic ``b"PQTTTR\\0\\0"`` and the 8-byte format version ``b"1.0.00\\0\\0"``;
* tags, each a 48-byte head (32-byte NUL-terminated identifier, int32 index or -1, uint32 type
  code, 8-byte value), followed for the array/string/blob types by a payload whose gross size in
  bytes (a multiple of 8) is the value; the last tag is ``Header_End`` (type ``Empty8``);
* the TTTR records, 32 bits each, up to the end of the file.

Record layouts, from the most significant bit down:

* PicoHarp T2 (overflow period 210698240): ``channel:4 | timetag:28``. Channel 15 is special:
  low 4 bits of ``timetag`` zero -> one overflow; otherwise those 4 bits are the marker mask.
* PicoHarp T3 (overflow period 65536): ``channel:4 | dtime:12 | nsync:16``. Channel 15 is
  special: ``dtime`` zero -> one overflow; otherwise ``dtime`` is the marker mask.
* HydraHarp / TimeHarp 260 / MultiHarp / PicoHarp 330 T2: ``special:1 | channel:6 | timetag:25``;
  special with channel 63 -> overflow, channel 0 -> sync event, channels 1..15 -> marker mask.
  HydraHarp V1 (period 33552000): every overflow record is one overflow. All others (period
  2**25): ``timetag`` holds the number of overflows, 0 meaning the old-style single overflow.
* The same family in T3 (period 1024): ``special:1 | channel:6 | dtime:15 | nsync:10``; special
  with channel 63 -> overflow (HydraHarp V1: always one; others: ``nsync`` holds the count, 0
  meaning one), channels 1..15 -> marker mask. There is no sync record in T3.

A decoder's absolute time is ``overflows * period + timetag`` (T2, in units of
``MeasDesc_GlobalResolution``) or ``overflows * period + nsync`` (T3, in sync periods).

Where the published documents disagree or are silent:

* ``apx_tttrrecords.html`` lists TimeHarp 260 N/P T2 as ``$00010205``/``$00010206`` (an older
  revision: ``$01010205``/``$01010206``), and its T2 table names ``$01010205``, ``$01010206``,
  ``$01010207``; the demo readers and phconvert use ``0x00010205``, ``0x00010206``,
  ``0x00010207`` with counted overflows of 2**25, as does the T3 table (``$000103xx``). Those
  are used here.
* A zero count in a counted overflow record means one overflow (demo readers: "old style single
  overflow"); the documents only say the count "can be read from" the field.
* PicoHarp T2 markers: the demo readers keep the marker bits in the reported time ("one could
  zero them out ... we can just ignore the few picoseconds"); phconvert's loop decoder zeroes
  them. ``expected["time"]`` follows the vendor: the timetag as stored.
* The demo readers report HydraHarp-family T2 photon channels as ``channel + 1`` (0 = sync);
  ``expected["channel"]`` is the raw 6-bit field, as the tests specify.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

PHOTON, SYNC, MARKER = 0, 1, 2
"""Values of the ``kind`` argument of :func:`encode` and of ``expected["kind"]``."""

MAGIC = b"PQTTTR\0\0"
VERSION = b"1.0.00\0\0"

TAG_TYPES: dict[str, int] = {
    "Empty8": 0xFFFF0008,
    "Bool8": 0x00000008,
    "Int8": 0x10000008,
    "BitSet64": 0x11000008,
    "Color8": 0x12000008,
    "Float8": 0x20000008,
    "TDateTime": 0x21000008,
    "Float8Array": 0x2001FFFF,
    "AnsiString": 0x4001FFFF,
    "WideString": 0x4002FFFF,
    "BinaryBlob": 0xFFFFFFFF,
}
"""Tag type name -> the uint32 type code stored in the tag head."""


@dataclass(frozen=True)
class RecordFormat:
    """What :func:`encode` needs to know about one TTTR record type.

    Attributes
    ----------
    name, code
        Name used in this module and the ``TTResultFormat_TTTRRecType`` value.
    mode
        2 (T2) or 3 (T3).
    picoharp
        True for the PicoHarp 300 layout (4-bit channel, special channel 15), False for the
        HydraHarp-family layout (special bit + 6-bit channel).
    period
        Overflow period: what one overflow adds to the time (T2) or nsync (T3).
    time_bits, dtime_bits
        Widths of the timetag/nsync field and of the dtime field (0 for T2).
    counted
        Whether an overflow record carries a count of overflows (else it is always one).
    hardware
        A typical ``HW_Type`` string.
    """

    name: str
    code: int
    mode: int
    picoharp: bool
    period: int
    time_bits: int
    dtime_bits: int
    counted: bool
    hardware: str

    @property
    def max_count(self) -> int:
        """Largest overflow count one record can carry (1 if not counted)."""
        return (1 << self.time_bits) - 1 if self.counted else 1

    @property
    def has_sync_records(self) -> bool:
        """Only the HydraHarp-family T2 formats store sync events as records."""
        return self.mode == 2 and not self.picoharp


def _hh(name: str, code: int, mode: int, hardware: str, v1: bool = False) -> RecordFormat:
    """A HydraHarp-family format; ``v1``: HydraHarp V1 (single, uncounted overflows)."""
    if mode == 2:
        return RecordFormat(
            name, code, 2, False, 33552000 if v1 else 1 << 25, 25, 0, not v1, hardware
        )
    return RecordFormat(name, code, 3, False, 1024, 10, 15, not v1, hardware)


FORMATS: dict[str, RecordFormat] = {
    f.name: f
    for f in (
        RecordFormat("PicoHarpT2", 0x00010203, 2, True, 210698240, 28, 0, False, "PicoHarp 300"),
        RecordFormat("PicoHarpT3", 0x00010303, 3, True, 65536, 16, 12, False, "PicoHarp 300"),
        _hh("HydraHarpT2", 0x00010204, 2, "HydraHarp", v1=True),
        _hh("HydraHarpT3", 0x00010304, 3, "HydraHarp", v1=True),
        _hh("HydraHarp2T2", 0x01010204, 2, "HydraHarp"),
        _hh("HydraHarp2T3", 0x01010304, 3, "HydraHarp"),
        _hh("TimeHarp260NT2", 0x00010205, 2, "TimeHarp 260 N"),
        _hh("TimeHarp260NT3", 0x00010305, 3, "TimeHarp 260 N"),
        _hh("TimeHarp260PT2", 0x00010206, 2, "TimeHarp 260 P"),
        _hh("TimeHarp260PT3", 0x00010306, 3, "TimeHarp 260 P"),
        _hh("GenericT2", 0x00010207, 2, "MultiHarp 150"),  # MultiHarp and PicoHarp 330
        _hh("GenericT3", 0x00010307, 3, "MultiHarp 150"),
    )
}
"""Format name -> layout. Codes as in PicoQuant's demo readers (see the module docstring)."""

RECORD_TYPES: dict[str, int] = {name: f.code for name, f in FORMATS.items()}
"""Format name -> ``TTResultFormat_TTTRRecType`` code."""

_PH_SPECIAL = 0xF << 28  # PicoHarp: channel field all ones
_HH_SPECIAL = 1 << 31  # HydraHarp family: the special bit
_HH_OVERFLOW = _HH_SPECIAL | (0x3F << 25)  # special bit + channel 63


def _format(fmt: str) -> RecordFormat:
    try:
        return FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown record format {fmt!r}; known: {sorted(FORMATS)}") from None


def _int_array(name: str, values: Any, n: int | None = None) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.isfinite(arr)) or not np.array_equal(arr, np.round(arr)):
            raise ValueError(f"{name} must hold integers")
    arr = arr.astype(np.int64)
    if n is not None and arr.size != n:
        raise ValueError(f"{name} has {arr.size} entries, expected {n}")
    return arr


def _overflow_words(
    spec: RecordFormat, wraps: int, rng: np.random.Generator | None, fill_ignored: bool
) -> np.ndarray:
    """Overflow records that together add ``wraps`` periods (``wraps >= 1``)."""
    if not spec.counted:
        # One record per overflow. The bits a decoder must ignore may hold anything.
        if spec.picoharp and spec.mode == 2:
            # Only the low 4 timetag bits must be zero; the 24 bits above them are ignored.
            base, junk_bits, junk_shift = _PH_SPECIAL, 24, 4
        elif spec.picoharp:
            base, junk_bits, junk_shift = _PH_SPECIAL, 16, 0  # dtime 0; nsync ignored
        else:
            # HydraHarp V1: the timetag (T2) or dtime + nsync (T3) are ignored.
            base, junk_bits, junk_shift = _HH_OVERFLOW, 25, 0
        words = np.full(wraps, base, dtype=np.uint64)
        if fill_ignored and rng is not None:
            words |= rng.integers(0, 1 << junk_bits, size=wraps, dtype=np.uint64) << np.uint64(
                junk_shift
            )
        return words

    cap = spec.max_count
    if rng is None:
        counts = [cap] * (wraps // cap) + ([wraps % cap] if wraps % cap else [])
    else:
        # Any split into positive parts that sum to `wraps` is valid; a part of 1 may also be
        # written as the old-style single overflow with a zero count field.
        counts = []
        left = wraps
        while left:
            part = int(rng.integers(1, min(left, cap) + 1))
            counts.append(0 if part == 1 and rng.random() < 0.5 else part)
            left -= part
    words = _HH_OVERFLOW | np.asarray(counts, dtype=np.uint64)
    if spec.mode == 3 and fill_ignored and rng is not None:
        # The dtime field of a T3 overflow record is ignored.
        words |= rng.integers(0, 1 << 15, size=len(counts), dtype=np.uint64) << np.uint64(10)
    return words


def encode(
    fmt: str,
    time: Sequence[int] | np.ndarray,
    kind: Sequence[int] | np.ndarray,
    channel: Sequence[int] | np.ndarray,
    dtime: Sequence[int] | np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    *,
    fill_ignored: bool | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Encode events as the 32-bit TTTR records of one PicoQuant record format.

    Parameters
    ----------
    fmt
        A key of :data:`RECORD_TYPES`.
    time
        Absolute event times, non-decreasing and >= 0: in units of the time resolution for T2
        formats, the sync counter (nsync) for T3 formats.
    kind
        0 photon, 1 sync event (HydraHarp-family T2 formats only), 2 marker.
    channel
        Photons: the channel field as stored (PicoHarp T2 0..14, PicoHarp T3 1..14,
        HydraHarp family 0..63). Markers: the marker bit mask 1..15. Ignored for sync events.
    dtime
        T3 only: the dtime field of photons (ignored for markers). None means all zero.
        Ignored by the T2 formats.
    rng
        If given, overflows are written in a randomly chosen valid way: counted overflows split
        into several records (single ones sometimes in the old style with a zero count), a few
        overflow records appended after the last event, and (see ``fill_ignored``) random
        content in fields a decoder must ignore.
    fill_ignored
        Put random bits in fields the format defines as ignored (the unused bits of
        non-counted overflow records, dtime of HydraHarp-family T3 overflow and marker
        records). Defaults to ``rng is not None``; needs ``rng``.

    Returns
    -------
    records : numpy.ndarray
        uint32 records, overflow records inserted where the time field wraps.
    expected : dict of numpy.ndarray
        One int64 entry per non-overflow record, in record order: ``"time"`` (absolute, what a
        correct decoder reports), ``"kind"``, ``"channel"`` (photon channel field, marker mask,
        0 for sync) and, for T3 formats, ``"dtime"`` (0 for markers).

    Raises
    ------
    ValueError
        For an unknown format or an event the format cannot hold: channel, marker mask or dtime
        out of range, a sync event in a format without sync records, negative or decreasing
        times.
    """
    spec = _format(fmt)
    t = _int_array("time", time)
    n = t.size
    k = _int_array("kind", kind, n)
    ch = _int_array("channel", channel, n)
    if spec.mode == 3 and dtime is not None:
        dt = _int_array("dtime", dtime, n)
    else:
        dt = np.zeros(n, dtype=np.int64)
    if fill_ignored is None:
        fill_ignored = rng is not None
    if fill_ignored and rng is None:
        raise ValueError("fill_ignored needs an rng")

    # -- validation ---------------------------------------------------------------------------
    if n and t[0] < 0:
        raise ValueError("times must be >= 0")
    if np.any(np.diff(t) < 0):
        raise ValueError("times must be non-decreasing")
    if np.any((k < PHOTON) | (k > MARKER)):
        raise ValueError("kind must be 0 (photon), 1 (sync) or 2 (marker)")
    photon, sync, marker = k == PHOTON, k == SYNC, k == MARKER
    if np.any(sync) and not spec.has_sync_records:
        raise ValueError(f"{fmt} has no sync event records")
    if spec.picoharp:
        lo, hi = (0, 14) if spec.mode == 2 else (1, 14)
    else:
        lo, hi = 0, 63
    bad = photon & ((ch < lo) | (ch > hi))
    if np.any(bad):
        raise ValueError(f"{fmt} photon channel must be in {lo}..{hi}, got {ch[bad][0]}")
    bad = marker & ((ch < 1) | (ch > 15))
    if np.any(bad):
        raise ValueError(f"marker mask must be in 1..15, got {ch[bad][0]}")
    if spec.mode == 3:
        bad = photon & ((dt < 0) | (dt >= 1 << spec.dtime_bits))
        if np.any(bad):
            raise ValueError(f"{fmt} dtime must fit {spec.dtime_bits} bits, got {dt[bad][0]}")

    # -- event records ------------------------------------------------------------------------
    wraps = t // spec.period  # overflows before each event
    field = t % spec.period  # the timetag / nsync field
    exp_time = t.copy()
    u = np.uint64
    words = np.zeros(n, dtype=np.uint64)
    ch_u, f_u, dt_u = ch.astype(u), field.astype(u), dt.astype(u)
    if spec.picoharp and spec.mode == 2:
        words[photon] = (ch_u[photon] << u(28)) | f_u[photon]
        # A marker's mask takes the low 4 bits of the timetag. A correct decoder (PicoQuant's
        # demos: "truetime = oflcorrection + timetag") reports the timetag as stored, marker
        # bits included, so expected["time"] differs from the requested time in its low 4 bits.
        f_m = (field[marker] & ~0xF) | ch[marker]
        words[marker] = u(_PH_SPECIAL) | f_m.astype(u)
        exp_time[marker] = wraps[marker] * spec.period + f_m
    elif spec.picoharp:
        words[photon] = (ch_u[photon] << u(28)) | (dt_u[photon] << u(16)) | f_u[photon]
        words[marker] = u(_PH_SPECIAL) | (ch_u[marker] << u(16)) | f_u[marker]
    elif spec.mode == 2:
        words[photon] = (ch_u[photon] << u(25)) | f_u[photon]
        words[sync] = u(_HH_SPECIAL) | f_u[sync]  # special, channel 0
        words[marker] = u(_HH_SPECIAL) | (ch_u[marker] << u(25)) | f_u[marker]
    else:
        words[photon] = (ch_u[photon] << u(25)) | (dt_u[photon] << u(10)) | f_u[photon]
        words[marker] = u(_HH_SPECIAL) | (ch_u[marker] << u(25)) | f_u[marker]
        if fill_ignored and rng is not None:  # a marker's dtime field is ignored
            junk = rng.integers(0, 1 << 15, size=int(marker.sum()), dtype=np.uint64)
            words[marker] |= junk << u(10)

    # -- overflow records ---------------------------------------------------------------------
    step = np.diff(wraps, prepend=0)
    positions: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for i in np.flatnonzero(step):
        ovf = _overflow_words(spec, int(step[i]), rng, fill_ignored)
        positions.append(np.full(ovf.size, i, dtype=np.int64))
        values.append(ovf)
    if rng is not None:
        # Instruments keep sending overflows when no event comes: trailing ones are valid.
        extra = int(rng.integers(0, 3))
        if extra:
            ovf = _overflow_words(spec, extra, rng, fill_ignored)
            positions.append(np.full(ovf.size, n, dtype=np.int64))
            values.append(ovf)
    if positions:
        # np.insert sorts the positions stably, so records for one gap keep their order.
        words = np.insert(words, np.concatenate(positions), np.concatenate(values))
    records = words.astype(np.uint32)

    exp_channel = np.where(sync, 0, ch)
    expected = {"time": exp_time, "kind": k.copy(), "channel": exp_channel}
    if spec.mode == 3:
        expected["dtime"] = np.where(photon, dt, 0)
    return records, expected


# -- header ---------------------------------------------------------------------------------------


def _padded(payload: bytes) -> bytes:
    return payload + b"\0" * (-len(payload) % 8)


def _tag_bytes(ident: str, index: int, type_name: str, value: Any) -> bytes:
    try:
        code = TAG_TYPES[type_name]
    except KeyError:
        raise ValueError(f"unknown tag type {type_name!r}; known: {sorted(TAG_TYPES)}") from None
    name = ident.encode("ascii")
    if len(name) > 31:  # at least one terminating NUL within the 32 bytes
        raise ValueError(f"tag identifier too long: {ident!r}")
    head = struct.pack("<32siI", name, index, code)
    payload = b""
    if type_name == "Empty8":
        raw = struct.pack("<q", 0)
    elif type_name == "Bool8":
        raw = struct.pack("<q", 1 if value else 0)
    elif type_name == "Int8":
        raw = struct.pack("<q", int(value))
    elif type_name in ("BitSet64", "Color8"):
        raw = struct.pack("<Q", int(value) & 0xFFFFFFFFFFFFFFFF)
    elif type_name in ("Float8", "TDateTime"):
        raw = struct.pack("<d", float(value))
    elif type_name == "Float8Array":
        payload = np.asarray(value, dtype="<f8").reshape(-1).tobytes()
        raw = struct.pack("<q", len(payload))
    elif type_name == "AnsiString":
        payload = _padded(str(value).encode("utf-8") + b"\0")
        raw = struct.pack("<q", len(payload))
    elif type_name == "WideString":
        payload = _padded(str(value).encode("utf-16-le") + b"\0\0")
        raw = struct.pack("<q", len(payload))
    else:  # BinaryBlob: gross size must be a multiple of 8, so the blob is NUL-padded
        payload = _padded(bytes(value))
        raw = struct.pack("<q", len(payload))
    return head + raw + payload


def ptu_header(tags: Iterable[tuple[str, int, str, Any]]) -> bytes:
    """Preamble and tagged header of a PTU file, ending with ``Header_End``.

    Parameters
    ----------
    tags
        ``(identifier, index, type_name, value)`` tuples in file order; ``index`` is -1 for a
        tag that is not an array element. ``type_name`` is a key of :data:`TAG_TYPES`; values:
        Empty8 None (ignored), Bool8 bool, Int8/BitSet64/Color8 int, Float8 float, TDateTime
        float days since 1899-12-30, Float8Array a sequence of floats, AnsiString/WideString
        str, BinaryBlob bytes.

    Returns
    -------
    bytes
        Magic, version, the tags and ``Header_End``. String payloads are NUL-terminated and
        padded with NULs to a multiple of 8 bytes (AnsiString encoded as UTF-8, WideString as
        UTF-16LE with a 2-byte terminator); a blob is NUL-padded to a multiple of 8. The tag
        value of those types is the padded payload length.

    Raises
    ------
    ValueError
        Unknown type name, identifier longer than 31 bytes, or an explicit ``Header_End``.
    """
    out = [MAGIC, VERSION]
    for ident, index, type_name, value in tags:
        if ident == "Header_End":
            raise ValueError("Header_End is appended by ptu_header itself")
        out.append(_tag_bytes(ident, index, type_name, value))
    out.append(_tag_bytes("Header_End", -1, "Empty8", None))
    return b"".join(out)


def ptu_file(
    path: str | Path,
    fmt: str,
    records: np.ndarray,
    resolution_s: float,
    sync_rate_hz: float,
    extra_tags: Iterable[tuple[str, int, str, Any]] = (),
) -> Path:
    """Write a complete PTU file: a typical header followed by ``records``.

    Parameters
    ----------
    path
        File to write (overwritten).
    fmt
        A key of :data:`RECORD_TYPES`.
    records
        The 32-bit records, e.g. from :func:`encode`.
    resolution_s
        T2: the time resolution (both ``MeasDesc_GlobalResolution`` and
        ``MeasDesc_Resolution``). T3: the dtime resolution (``MeasDesc_Resolution``); the
        global resolution is then the sync period ``1 / sync_rate_hz``.
    sync_rate_hz
        ``TTResult_SyncRate`` (rounded to an integer, as instruments store it).
    extra_tags
        More ``(identifier, index, type_name, value)`` tags. One with the identifier and index
        of a default tag replaces it in place; the others go just before ``Header_End``.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    spec = _format(fmt)
    path = Path(path)
    recs = np.asarray(records)
    if recs.ndim != 1:
        raise ValueError("records must be one-dimensional")
    if recs.size and (recs.min() < 0 or recs.max() > 0xFFFFFFFF):
        raise ValueError("records must be 32-bit unsigned values")
    glob_res = resolution_s if spec.mode == 2 else 1.0 / sync_rate_hz
    guid = uuid.uuid5(uuid.NAMESPACE_URL, f"tagstream-tests/{path.name}")
    tags: list[tuple[str, int, str, Any]] = [
        ("File_GUID", -1, "AnsiString", "{" + str(guid).upper() + "}"),
        ("File_AssuredContent", -1, "AnsiString", f"{spec.hardware}: HWSETG SWSETG"),
        ("CreatorSW_ContentVersion", -1, "AnsiString", "1.0"),
        ("CreatorSW_Name", -1, "AnsiString", "tagstream tests"),
        ("CreatorSW_Version", -1, "AnsiString", "1.0.0"),
        ("File_CreatingTime", -1, "TDateTime", 45292.5),  # 2024-01-01 12:00
        ("File_Comment", -1, "AnsiString", "synthetic records for round-trip tests"),
        ("Measurement_Mode", -1, "Int8", spec.mode),
        ("Measurement_SubMode", -1, "Int8", 0),
        ("TTResult_StopReason", -1, "Int8", 0),
        ("Fast_Load_End", -1, "Empty8", None),
        ("TTResultFormat_TTTRRecType", -1, "Int8", spec.code),
        ("TTResultFormat_BitsPerRecord", -1, "Int8", 32),
        ("MeasDesc_BinningFactor", -1, "Int8", 1),
        ("MeasDesc_Offset", -1, "Int8", 0),
        ("MeasDesc_AcquisitionTime", -1, "Int8", 10_000),
        ("MeasDesc_StopAt", -1, "Int8", 0),
        ("MeasDesc_StopOnOvfl", -1, "Bool8", False),
        ("MeasDesc_Restart", -1, "Bool8", False),
        ("HW_Type", -1, "AnsiString", spec.hardware),
        ("HW_PartNo", -1, "AnsiString", "000000"),
        ("HW_SerialNo", -1, "AnsiString", "1000000"),
        ("HW_Markers", -1, "Int8", 4),
        ("MeasDesc_GlobalResolution", -1, "Float8", glob_res),
        ("MeasDesc_Resolution", -1, "Float8", resolution_s),
        ("TTResult_SyncRate", -1, "Int8", round(sync_rate_hz)),
        ("TTResult_StopAfter", -1, "Int8", 10_000),
        ("TTResult_NumberOfRecords", -1, "Int8", int(recs.size)),
    ]
    where = {(ident, index): i for i, (ident, index, _, _) in enumerate(tags)}
    for tag in extra_tags:
        i = where.get((tag[0], tag[1]))
        if i is None:
            tags.append(tuple(tag))
        else:
            tags[i] = tuple(tag)
    path.write_bytes(ptu_header(tags) + recs.astype("<u4").tobytes())
    return path
