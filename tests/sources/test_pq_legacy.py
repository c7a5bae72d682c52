"""PicoQuant's legacy containers (.pt2, .pt3, .ht2, .ht3): the fixed headers written field by
field by an independent encoder (``tests/pq_legacy_encoder.py``) around records from
``tests/pq_encoder.py`` decode to what was encoded, across overflows and chunk boundaries;
damaged headers give one-line errors naming the byte offset; phconvert reads the same."""

from __future__ import annotations

import struct

import numpy as np
import pytest

import tagstream as ts
import tagstream.sources.ptu_pieces as ptu_pieces
from tagstream.cli import main
from tagstream.errors import CorruptFileError, UnsupportedFormatError
from tagstream.formats import pq_spec
from tagstream.formats.pq_legacy_spec import Family
from tagstream.sources.files import FileKind, detect_format, open_run
from tagstream.sources.pq_legacy import detect_legacy, read_legacy_header
from tagstream.tags.units import to_ps

from ..pq_encoder import FORMATS, RECORD_TYPES, encode
from ..pq_legacy_encoder import (
    RECORD_FORMAT,
    T2_UNIT_PS,
    hydraharp_header,
    legacy_file,
    picoharp_header,
)
from ..streams import read_in_batches

SYNC_HZ = 80_000_000
PT3_RES_NS = 0.004  # the PicoHarp's 4 ps
HT3_RES_PS = 8.0  # HydraHarp base 1 ps, binning 3
CONTAINERS = sorted(RECORD_FORMAT)  # (container, format version)


def _events(fmt: str, rng: np.random.Generator, n: int = 3000, markers: bool = True):
    """Random photons, markers and (HydraHarp T2) syncs, with pauses that need many overflows,
    in counted formats one longer than an overflow record can hold."""
    spec = FORMATS[fmt]
    t2 = spec.mode == 2
    steps = rng.integers(0, 4000, n)
    jumps = rng.random(n) < 0.01
    steps[jumps] = rng.integers(1, 3, jumps.sum()) * spec.period * 3
    steps[n // 2] = ((spec.max_count + 5) if spec.counted else 5000) * spec.period
    time = np.cumsum(steps)
    kind = np.zeros(n, dtype=np.int64)
    if markers:
        kind[rng.random(n) < 0.05] = 2
    if t2 and not spec.picoharp:
        kind[rng.random(n) < 0.2] = 1
    if spec.picoharp:
        photon = rng.integers(0, 4, n) if t2 else rng.integers(1, 5, n)
    else:
        photon = rng.integers(0, 4, n)
    channel = np.where(kind == 2, rng.integers(1, 16, n), photon)
    dtime = None if t2 else rng.integers(0, 1 << spec.dtime_bits, n)
    return time, kind, channel, dtime


def _header(container: str, version: str, n_records: int, **kw) -> bytes:
    mode = 2 if container.endswith("2") else 3
    if container.startswith("PT"):
        return picoharp_header(mode, n_records, **kw)
    return hydraharp_header(mode, n_records, version=version, **kw)


def _expected(fmt: str, want: dict, unit_ps: float):
    """Absolute ps, tagstream channel numbers and nanotimes, in time order (stable)."""
    spec = FORMATS[fmt]
    kind, channel = want["kind"], want["channel"]
    ours = np.where(kind == 1, 0, np.where(kind == 2, 64 + channel, channel))
    if not spec.picoharp:
        ours = np.where(kind == 0, channel + 1, ours)
    if spec.mode == 2:
        t, nt = to_ps(want["time"], unit_ps), None
    else:
        nt = np.where(kind == 2, 0, want["dtime"])
        t = to_ps(want["time"], 1e12 / SYNC_HZ) + to_ps(nt, unit_ps)
    order = np.argsort(t, kind="stable")
    return t[order], ours[order].astype(np.uint8), None if nt is None else nt[order]


def _unit_ps(container: str, version: str) -> float:
    if container.endswith("2"):
        return T2_UNIT_PS[(container, version)]
    return PT3_RES_NS * 1e3 if container == "PT3" else HT3_RES_PS


def _write(tmp_path, container, version, rng, n=3000, markers=True, **kw):
    fmt = RECORD_FORMAT[(container, version)]
    records, want = encode(fmt, *_events(fmt, rng, n, markers), rng=rng)
    header = _header(container, version, records.size, **kw)
    path = legacy_file(tmp_path / f"run_v{version}.{container.lower()}", header, records)
    return path, header, records, want


@pytest.mark.parametrize(("container", "version"), CONTAINERS)
def test_every_container_decodes_what_was_encoded(tmp_path, monkeypatch, container, version):
    monkeypatch.setattr(ptu_pieces, "PIECE_RECORDS", 257)  # many chunk boundaries
    rng = np.random.default_rng(CONTAINERS.index((container, version)))
    path, header, records, want = _write(tmp_path, container, version, rng, imaging=[7, -1, 3])
    fmt = RECORD_FORMAT[(container, version)]
    unit = _unit_ps(container, version)
    t, ch, nt = _expected(fmt, want, unit)
    t3 = container.endswith("3")
    assert detect_format(path) is FileKind.PQ_LEGACY
    with open_run(path) as run:
        assert run.record_format.code == RECORD_TYPES[fmt]
        assert run.header.records_offset == len(header)
        assert run.metadata.mode == ("T3" if t3 else "T2")
        assert run.num_records == records.size and run.warnings == []
        assert run.t_end > t[-1]
        got = read_in_batches(run, int(t[-1] // 40 + 1))
        np.testing.assert_array_equal(got.timestamps, t)
        np.testing.assert_array_equal(got.channels, ch)
        if t3:
            np.testing.assert_array_equal(got.nanotimes, nt)
            assert got.nanotime_unit_ps == pytest.approx(unit)
            assert run.metadata.sync_period_ps == pytest.approx(1e12 / SYNC_HZ)
        else:
            assert run.metadata.resolution_ps == pytest.approx(unit)
        np.testing.assert_array_equal(run.counts[: ch.max() + 1], np.bincount(ch))
        tags = run.header.tags
        assert tags["TTResult_SyncRate"] == SYNC_HZ and tags[pq_spec.TAG_SYNC_DIVIDER] == 1
        assert tags["MeasDesc_AcquisitionTime"] == 10_000
        assert tags["TTResult_NumberOfRecords"] == records.size
        assert tags["File_Comment"] == f"T{container[-1]} Mode"
        assert tags["ImgHdr"] == struct.pack("<3i", 7, -1, 3)
        assert (run.header.container, run.header.version) == (container, version)


def test_record_offsets_follow_the_published_layouts(tmp_path):
    """PicoHarp: 728 header bytes; HydraHarp: 696 + 20 per input channel + 24 (880 with 8
    channels, tttrlib's figure); plus 4 per imaging word."""
    cases = [
        (picoharp_header(3, 0), 728),
        (picoharp_header(2, 0, imaging=[1, 2]), 736),
        (hydraharp_header(3, 0, input_rates=[1] * 8), 880),
        (hydraharp_header(2, 0, version="1.0", input_rates=[5]), 740),
        (hydraharp_header(3, 0, input_rates=[], imaging=[9]), 724),
    ]
    for i, (header, offset) in enumerate(cases):
        path = legacy_file(tmp_path / f"f{i}.bin", header, np.zeros(0, np.uint32))
        assert read_legacy_header(path).records_offset == offset == len(header)


def test_header_fields_keep_their_values_and_units(tmp_path):
    path = legacy_file(
        tmp_path / "a.ht3",
        hydraharp_header(
            3,
            0,
            version="1.0",
            sync_rate=40_000_000,
            resolution_ps=16.0,
            sync_divider=2,
            input_rates=[11, 22, 33],
        ),
        np.zeros(0, np.uint32),
    )
    h = read_legacy_header(path)
    assert h.tags["TTResultFormat_TTTRRecType"] == RECORD_TYPES["HydraHarpT3"]
    assert h.tags["MeasDesc_GlobalResolution"] == pytest.approx(25e-9)
    assert h.tags["MeasDesc_Resolution"] == pytest.approx(16e-12)
    assert h.tags[pq_spec.TAG_SYNC_DIVIDER] == 2 and h.tags["HW_Type"] == "HydraHarp 400"
    assert h.tags["InputRate"] == [11, 22, 33] and h.types["InputRate"] == "Int8"
    assert h.tags["InputOffset"] == [0, 100, 200]
    assert h.tags["ModuleInfo_ModelCode"][:4] == [1000, 1010, 1040, 1040]
    assert h.tags["BaseResolution"] == 1.0 and h.tags["Binning"] == 3
    assert h.tags["CreatorSW_Name"] == "tagstream tests"
    assert h.tags["File_CreatingTime"] == "06/09/11 13:51:36"
    assert h.tags["MeasDesc_StopOnOvfl"] is False and h.types["MeasDesc_StopOnOvfl"] == "Bool8"
    assert "CRLF" not in h.tags and "ImgHdr" not in h.tags
    pt = legacy_file(
        tmp_path / "b.pt3", picoharp_header(3, 0, resolution_ns=0.016), np.zeros(0, np.uint32)
    )
    h = read_legacy_header(pt)
    assert h.tags["Resolution"] == 0.016  # the board's float32, in ns, as written
    assert h.tags["MeasDesc_Resolution"] == pytest.approx(16e-12)
    assert h.tags["RtChan_InputType"] == [0, 1, 2, 3] and h.tags["RouterEnabled"] == 1
    assert h.tags["HW_SerialNo"] == 1006579 and h.tags["TTResult_SyncRate"] == SYNC_HZ


def test_identifiers_are_recognised_by_content():
    assert detect_legacy(b"PicoHarp 300\0\0\0\0") is Family.PICOHARP
    assert detect_legacy(b"HydraHarp\0\0\0\0\0\0\0" + b"2.0") is Family.HYDRAHARP
    assert detect_legacy(b"TimeHarp 260\0\0\0\0") is None
    assert detect_legacy(b"PQTTTR\0\0") is None and detect_legacy(b"") is None


def test_info_and_ts_open_accept_legacy_files(tmp_path, capsys, rng):
    path, _, _, want = _write(tmp_path, "HT3", "2.0", rng, n=300)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "HydraHarp2T3 records (0x01010304" in out and "TTResult_SyncRate" in out
    assert "File_Container (AnsiString) = HT3 (HydraHarp, format version 2.0)" in out
    with ts.open(path) as run:
        tags = run.read()
    assert len(tags) == want["kind"].size


def test_a_file_cut_inside_a_record_reads_the_whole_records_before_it(tmp_path, rng):
    path, header, records, _ = _write(tmp_path, "PT3", "2.0", rng, n=200)
    raw = path.read_bytes()
    path.write_bytes(raw[:-6])  # the last record loses 2 bytes, the one before it 4
    with open_run(path) as run:
        assert run.num_records == records.size - 2
        offset = len(header) + 4 * (records.size - 2)
        assert run.warnings[0].startswith(f"the last record is cut short at byte offset {offset}")
        assert "declares" in run.warnings[1]
        assert len(run.read()) > 0


def _patched(raw: bytes, offset: int, fmt: str, value) -> bytes:
    size = struct.calcsize(fmt)
    return raw[:offset] + struct.pack(fmt, value) + raw[offset + size :]


PT = lambda: picoharp_header(3, 10)  # noqa: E731
HT = lambda: hydraharp_header(3, 10)  # noqa: E731


@pytest.mark.parametrize(
    ("make", "damage", "error", "message"),
    [
        (
            PT,
            lambda r: r[:100],
            CorruptFileError,
            r"header cut short at byte offset 100 \(the text section needs 328 bytes",
        ),
        (
            PT,
            lambda r: r[:400],
            CorruptFileError,
            "header cut short at byte offset 400 .*binary section .* from byte offset 328",
        ),
        (
            PT,
            lambda r: r[:700],
            CorruptFileError,
            "header cut short at byte offset 700 .*TTTR section",
        ),
        (
            HT,
            lambda r: r[:700],
            CorruptFileError,
            "header cut short at byte offset 700 .*channel section",
        ),
        (
            HT,
            lambda r: r[:790],
            CorruptFileError,
            "header cut short at byte offset 790 .*TTTR section",
        ),
        (
            lambda: hydraharp_header(3, 0, imaging=[1, 2, 3]),
            lambda r: r[:-2],
            CorruptFileError,
            "header cut short at byte offset 810 .*imaging section",
        ),
        (
            PT,
            lambda r: _patched(r, 340, "<i", 0),
            CorruptFileError,
            r"NumberOfBoards = 0 at byte offset 340 is impossible .*\(expected 1\)",
        ),
        (
            PT,
            lambda r: _patched(r, 340, "<i", 3),
            CorruptFileError,
            "NumberOfBoards = 3 at byte offset 340",
        ),
        (
            HT,
            lambda r: _patched(r, 664, "<i", -1),
            CorruptFileError,
            "InpChansPresent = -1 at byte offset 664 is impossible .* 0 to 64",
        ),
        (
            HT,
            lambda r: _patched(r, 664, "<i", 10**6),
            CorruptFileError,
            "InpChansPresent = 1000000 at byte offset 664",
        ),
        (
            HT,
            lambda r: _patched(r, 696 + 80 + 12, "<i", -3),
            CorruptFileError,
            "ImgHdrSize = -3 at byte offset 788",
        ),
        (
            PT,
            lambda r: _patched(r, 692 + 32, "<i", 2**31 - 1),
            CorruptFileError,
            "ImgHdrSize = 2147483647 at byte offset 724",
        ),
        (
            PT,
            lambda r: _patched(r, 692 + 32, "<i", 1000),
            CorruptFileError,
            "header cut short at byte offset 728 .*imaging section needs 4000 bytes",
        ),
        (
            lambda: picoharp_header(3, 0, version="1.0"),
            lambda r: r,
            UnsupportedFormatError,
            "PicoHarp 300 file format version '1.0' at byte offset 16 is not supported",
        ),
        (
            lambda: hydraharp_header(2, 0, version="3.0"),
            lambda r: r,
            UnsupportedFormatError,
            r"HydraHarp file format version '3.0' at byte offset 16 .*only 1.0 and 2.0",
        ),
        (
            lambda: hydraharp_header(0, 0),
            lambda r: r,
            UnsupportedFormatError,
            "measurement mode 0 at byte offset 340: only T2",
        ),
        (
            lambda: picoharp_header(3, 0, bits_per_record=48),
            lambda r: r,
            UnsupportedFormatError,
            "48 bits per record at byte offset 332",
        ),
        (
            lambda: picoharp_header(3, 0, sync_rate=0),
            lambda r: r,
            CorruptFileError,
            "sync rate 0 Hz at byte offset 704",
        ),
        (
            lambda: hydraharp_header(3, 0, resolution_ps=0.0),
            lambda r: r,
            CorruptFileError,
            "time resolution 0.0 at byte offset 352",
        ),
    ],
)
def test_damaged_headers_are_one_line_errors_naming_the_offset(
    tmp_path, make, damage, error, message
):
    path = tmp_path / "damaged.ht3"
    path.write_bytes(damage(make()))
    with pytest.raises(error, match=message) as info:
        open_run(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_the_command_line_reports_a_damaged_header_with_exit_code_2(tmp_path, capsys):
    path = tmp_path / "cut.pt2"
    path.write_bytes(picoharp_header(2, 0)[:500])
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert "header cut short at byte offset 500" in err and str(path) in err


def test_a_huge_declared_record_count_is_a_warning_not_a_hang(tmp_path, rng):
    path, header, records, _ = _write(tmp_path, "HT2", "2.0", rng, n=100)
    raw = bytearray(path.read_bytes())
    raw[len(header) - 8 : len(header)] = struct.pack("<Q", 2**63 - 1)
    path.write_bytes(bytes(raw))
    with open_run(path) as run:
        assert run.num_records == records.size
        assert any("declares 9223372036854775807 records" in w for w in run.warnings)


# ---------------------------------------------------------------------- phconvert
def _phconvert_tags(load, path, sync_hz, res_ps, hydraharp):
    timestamps, detectors, nanotimes, meta, _ = load(str(path))
    detectors = detectors.astype(np.int64)
    keep = detectors != (127 if hydraharp else 15)  # overflow records
    ts_, det, nt = timestamps[keep], detectors[keep], nanotimes[keep].astype(np.int64)
    special = det >= 64
    ours = np.where(special, det, det + 1 if hydraharp else det)  # markers 64 + m
    nt = np.where(special, 0, nt)
    t = to_ps(ts_, 1e12 / sync_hz) + to_ps(nt, res_ps)
    order = np.argsort(t, kind="stable")
    return t[order], ours[order].astype(np.uint8), nt[order], meta


@pytest.mark.parametrize(("container", "version"), [("PT3", "2.0"), ("HT3", "1.0")])
def test_phconvert_decodes_the_same(tmp_path, container, version):
    """phconvert reads .pt3 and .ht3 (format 1.0 only); it has no .pt2/.ht2 reader. Its PT3
    decoder takes every channel-15 record for an overflow, so that file holds no markers."""
    pq = pytest.importorskip("phconvert.pqreader")
    rng = np.random.default_rng(11)
    markers = container == "HT3"
    path, _, _, _ = _write(tmp_path, container, version, rng, n=2000, markers=markers)
    unit = _unit_ps(container, version)
    load = pq.load_pt3 if container == "PT3" else pq.load_ht3
    t, ch, nt, meta = _phconvert_tags(load, path, SYNC_HZ, unit, container == "HT3")
    with open_run(path) as run:
        got = run.read()
    np.testing.assert_array_equal(got.timestamps, t)
    np.testing.assert_array_equal(got.channels, ch)
    np.testing.assert_array_equal(got.nanotimes, nt)
    assert meta["nanotimes_unit"] == pytest.approx(unit * 1e-12)
    assert meta["timestamps_unit"] == pytest.approx(1 / SYNC_HZ)
    assert meta["acquisition_duration"] == pytest.approx(10.0)


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_tttrlib_finds_the_same_ht3_records(tmp_path, version):
    """tttrlib reads .ht3 with its own header structures: the same records at the same offset.
    The installed tttrlib decodes format 1.0 only ("Only HT3 files in version 1.0 supported"),
    so its sync counts are compared for 1.0; channels and dtimes for both."""
    tttrlib = pytest.importorskip("tttrlib")
    rng = np.random.default_rng(5)
    path, _, _, want = _write(tmp_path, "HT3", version, rng, n=1000, markers=False)
    data = tttrlib.TTTR(str(path), "HT3")
    np.testing.assert_array_equal(np.asarray(data.routing_channels), want["channel"])
    np.testing.assert_array_equal(np.asarray(data.micro_times), want["dtime"])
    if version == "1.0":
        np.testing.assert_array_equal(np.asarray(data.macro_times), want["time"])
    assert data.header.micro_time_resolution == pytest.approx(HT3_RES_PS * 1e-12)
