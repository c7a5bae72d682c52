"""Self-checks of the PTU test encoder against hand-computed words and header bytes.

The expected words are written out from the bit layouts in PicoQuant's ``apx_tttrrecords.html``
(MSB first): PicoHarp T2 ``channel:4 timetag:28``, PicoHarp T3 ``channel:4 dtime:12 nsync:16``,
HydraHarp family T2 ``special:1 channel:6 timetag:25`` and T3
``special:1 channel:6 dtime:15 nsync:10``.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from ..pq_encoder import FORMATS, RECORD_TYPES, encode, ptu_file, ptu_header


def _decode(fmt: str, records: np.ndarray) -> dict[str, list[int]]:
    """Literal decoder following the published description, one record at a time."""
    spec = FORMATS[fmt]
    out: dict[str, list[int]] = {"time": [], "kind": [], "channel": [], "dtime": []}
    ofl = 0

    def emit(t: int, kind: int, ch: int, dt: int = 0) -> None:
        for key, v in zip(out, (ofl + t, kind, ch, dt), strict=True):
            out[key].append(v)

    for w in (int(x) for x in records):
        if spec.picoharp and spec.mode == 2:
            ch, tt = w >> 28, w & 0x0FFFFFFF
            if ch != 15:
                emit(tt, 0, ch)
            elif tt & 0xF == 0:
                ofl += 210698240
            else:
                emit(tt, 2, tt & 0xF)
        elif spec.picoharp:
            ch, dt, ns = w >> 28, (w >> 16) & 0xFFF, w & 0xFFFF
            if ch != 15:
                emit(ns, 0, ch, dt)
            elif dt == 0:
                ofl += 65536
            else:
                emit(ns, 2, dt)
        else:
            t2 = spec.mode == 2
            special, ch = w >> 31, (w >> 25) & 0x3F
            tt = w & (0x1FFFFFF if t2 else 0x3FF)
            dt = 0 if t2 else (w >> 10) & 0x7FFF
            v1 = fmt in ("HydraHarpT2", "HydraHarpT3")
            period = (33552000 if v1 else 1 << 25) if t2 else 1024
            if not special:
                emit(tt, 0, ch, dt)
            elif ch == 63:
                ofl += period * (1 if v1 or tt == 0 else tt)
            elif ch == 0:
                assert t2, "no sync records in T3"
                emit(tt, 1, 0)
            else:
                assert ch <= 15
                emit(tt, 2, ch)
    return out


def test_record_type_codes() -> None:
    assert RECORD_TYPES == {
        "PicoHarpT2": 0x00010203,
        "PicoHarpT3": 0x00010303,
        "HydraHarpT2": 0x00010204,
        "HydraHarpT3": 0x00010304,
        "HydraHarp2T2": 0x01010204,
        "HydraHarp2T3": 0x01010304,
        "TimeHarp260NT2": 0x00010205,
        "TimeHarp260NT3": 0x00010305,
        "TimeHarp260PT2": 0x00010206,
        "TimeHarp260PT3": 0x00010306,
        "GenericT2": 0x00010207,
        "GenericT3": 0x00010307,
    }


@pytest.mark.parametrize(
    ("fmt", "time", "kind", "channel", "dtime", "words", "exp_time"),
    [
        # PicoHarp T2: photon ch 3 at 1000; one overflow, then ch 1 at 5 after the wrap.
        ("PicoHarpT2", [1000, 210698245], [0, 0], [3, 1], None,
         [0x300003E8, 0xF0000000, 0x10000005], [1000, 210698245]),
        # PicoHarp T2 marker 2 at 0x123: the mask replaces the low 4 timetag bits -> 0x122.
        ("PicoHarpT2", [0x123], [2], [2], None, [0xF0000122], [0x122]),
        # PicoHarp T3: ch 1, dtime 0xAB, nsync 0x1234; marker 4 at 65536 + 7 after one overflow.
        ("PicoHarpT3", [0x1234, 65543], [0, 2], [1, 4], [0xAB, 99],
         [0x10AB1234, 0xF0000000, 0xF0040007], [0x1234, 65543]),
        # HydraHarp V1 T2: one uncounted overflow of 33552000.
        ("HydraHarpT2", [33552002], [0], [0], None, [0xFE000000, 0x00000002], [33552002]),
        # HydraHarp V1 T3: two single overflows of 1024 each, then a photon.
        ("HydraHarpT3", [2048 + 5], [0], [2], [100],
         [0xFE000000, 0xFE000000, 0x04019005], [2053]),
        # HydraHarp V2 T2: photon ch 5 at 7, sync at 9, marker 3 at 10, then 3 counted wraps.
        ("HydraHarp2T2", [7, 9, 10, 3 * 2**25 + 1], [0, 1, 2, 0], [5, 0, 3, 0], None,
         [0x0A000007, 0x80000009, 0x8600000A, 0xFE000003, 0x00000001],
         [7, 9, 10, 3 * 2**25 + 1]),
        # Generic T3: 2000 wraps need two counted records (the nsync field holds at most 1023).
        ("GenericT3", [2000 * 1024 + 5], [0], [2], [100],
         [0xFE0003FF, 0xFE0003D1, 0x04019005], [2000 * 1024 + 5]),
        # TimeHarp 260 P T3 marker 15 at nsync 1: special, channel 15, dtime 0.
        ("TimeHarp260PT3", [1], [2], [15], [7], [0x9E000001], [1]),
    ],
)  # fmt: skip
def test_hand_computed_words(fmt, time, kind, channel, dtime, words, exp_time) -> None:
    records, expected = encode(fmt, time, kind, channel, dtime)
    assert records.dtype == np.uint32
    assert [hex(w) for w in records] == [hex(w) for w in words]
    assert expected["time"].tolist() == exp_time
    assert expected["kind"].tolist() == kind
    if FORMATS[fmt].mode == 3:
        want = [d if k == 0 else 0 for d, k in zip(dtime, kind, strict=True)]
        assert expected["dtime"].tolist() == want
    else:
        assert "dtime" not in expected


@pytest.mark.parametrize("fmt", sorted(RECORD_TYPES))
def test_random_encodings_decode_to_expected(fmt: str) -> None:
    spec = FORMATS[fmt]
    rng = np.random.default_rng(RECORD_TYPES[fmt])
    n = 300
    time = np.cumsum(rng.integers(0, 3 * spec.period, size=n))
    time[50:] += 5000 * spec.period  # long gaps: many (or heavily counted) overflows
    time[60:] += 5000 * spec.period
    kinds = [0, 2] + ([1] if spec.has_sync_records else [])
    kind = rng.choice(kinds, size=n)
    lo, hi = (1, 14) if spec.picoharp and spec.mode == 3 else (0, 14 if spec.picoharp else 63)
    channel = np.where(kind == 2, rng.integers(1, 16, size=n), rng.integers(lo, hi + 1, size=n))
    dtime = rng.integers(0, 1 << spec.dtime_bits, size=n) if spec.mode == 3 else None
    plain, exp_plain = encode(fmt, time, kind, channel, dtime)
    noisy, exp_noisy = encode(fmt, time, kind, channel, dtime, rng=rng)
    for key in exp_plain:
        np.testing.assert_array_equal(exp_plain[key], exp_noisy[key])
    if spec.counted:
        assert noisy.size > plain.size  # the random split added overflow records
    for records in (plain, noisy):
        got = _decode(fmt, records)
        for key, values in exp_plain.items():
            np.testing.assert_array_equal(got[key], values, err_msg=key)


@pytest.mark.parametrize(
    ("fmt", "time", "kind", "channel", "dtime", "match"),
    [
        ("PicoHarpT2", [0], [0], [15], None, "channel"),
        ("PicoHarpT3", [0], [0], [0], [0], "channel"),
        ("GenericT2", [0], [0], [64], None, "channel"),
        ("HydraHarp2T3", [0], [2], [16], [0], "marker"),
        ("PicoHarpT3", [0], [0], [1], [4096], "dtime"),
        ("GenericT3", [0], [0], [1], [1 << 15], "dtime"),
        ("PicoHarpT2", [0], [1], [0], None, "sync"),
        ("HydraHarp2T3", [0], [1], [0], [0], "sync"),
        ("GenericT2", [5, 4], [0, 0], [0, 0], None, "decreasing"),
    ],
)
def test_encode_rejects(fmt, time, kind, channel, dtime, match) -> None:
    with pytest.raises(ValueError, match=match):
        encode(fmt, time, kind, channel, dtime)


def _head(ident: bytes, type_le_hex: str, value: bytes, index: int = -1) -> bytes:
    return (
        ident.ljust(32, b"\0")
        + index.to_bytes(4, "little", signed=True)
        + (bytes.fromhex(type_le_hex) + value)
    )


def test_header_bytes_for_every_tag_type() -> None:
    tags = [
        ("Grp", -1, "Empty8", None),
        ("Flag", 2, "Bool8", True),
        ("Num", -1, "Int8", -2),
        ("Bits", -1, "BitSet64", 0x8000000000000001),
        ("Col", -1, "Color8", 0x0000FF),
        ("F", -1, "Float8", 1.0),
        ("When", -1, "TDateTime", 45000.5),
        ("Arr", -1, "Float8Array", [2.5, -0.5]),
        ("Txt", -1, "AnsiString", "abcdefgh"),
        ("Wide", -1, "WideString", "abcd"),
        ("Blob", -1, "BinaryBlob", b"\x01\x02\x03"),
    ]
    want = b"PQTTTR\0\0" + b"1.0.00\0\0"
    want += _head(b"Grp", "0800ffff", bytes(8))
    want += _head(b"Flag", "08000000", b"\x01" + bytes(7), index=2)
    want += _head(b"Num", "08000010", b"\xfe" + b"\xff" * 7)
    want += _head(b"Bits", "08000011", b"\x01" + bytes(6) + b"\x80")
    want += _head(b"Col", "08000012", b"\xff" + bytes(7))
    want += _head(b"F", "08000020", bytes.fromhex("000000000000f03f"))
    want += _head(b"When", "08000021", bytes.fromhex("0000000010f9e540"))
    want += _head(b"Arr", "ffff0120", b"\x10" + bytes(7))
    want += bytes.fromhex("0000000000000440000000000000e0bf")
    # 8 characters + NUL terminator -> padded to 16 bytes
    want += _head(b"Txt", "ffff0140", b"\x10" + bytes(7)) + b"abcdefgh" + bytes(8)
    # 4 UTF-16 characters + 2-byte terminator -> padded to 16 bytes
    want += _head(b"Wide", "ffff0240", b"\x10" + bytes(7)) + b"a\0b\0c\0d\0" + bytes(8)
    want += _head(b"Blob", "ffffffff", b"\x08" + bytes(7)) + b"\x01\x02\x03" + bytes(5)
    want += _head(b"Header_End", "0800ffff", bytes(8))
    got = ptu_header(tags)
    assert got == want
    assert len(got) % 8 == 0
    with pytest.raises(ValueError, match="Header_End"):
        ptu_header([("Header_End", -1, "Empty8", None)])


def test_ptu_file_layout(tmp_path) -> None:
    records, _ = encode("HydraHarp2T3", [1, 2000], [0, 2], [3, 1], [7, 0])
    path = ptu_file(tmp_path / "x.ptu", "HydraHarp2T3", records, 25e-12, 40e6)
    data = path.read_bytes()
    assert data[:16] == b"PQTTTR\0\0" + b"1.0.00\0\0"
    tags: dict[str, object] = {}
    pos = 16
    while True:  # walk the tag heads
        ident, _, typ, raw = struct.unpack_from("<32siI8s", data, pos)
        name = ident.rstrip(b"\0").decode()
        pos += 48
        if typ in (0x2001FFFF, 0x4001FFFF, 0x4002FFFF, 0xFFFFFFFF):
            pos += struct.unpack("<q", raw)[0]
        value = struct.unpack("<d" if typ in (0x20000008, 0x21000008) else "<q", raw)[0]
        tags[name] = value
        if name == "Header_End":
            break
    assert tags["TTResultFormat_TTTRRecType"] == 0x01010304
    assert tags["TTResult_NumberOfRecords"] == records.size == 3
    assert tags["Measurement_Mode"] == 3
    assert tags["MeasDesc_GlobalResolution"] == pytest.approx(25e-9)
    assert tags["MeasDesc_Resolution"] == pytest.approx(25e-12)
    assert tags["TTResult_SyncRate"] == 40_000_000
    assert np.array_equal(np.frombuffer(data[pos:], "<u4"), records)
