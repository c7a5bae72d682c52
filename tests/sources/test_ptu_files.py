"""PicoQuant PTU files: every record type decodes to what an independent encoder (written from
the published bit layouts, ``tests/pq_encoder.py``) put in, across overflows and chunk
boundaries; damaged files give one-line errors naming the byte offset."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import tagstream.sources.ptu_pieces as ptu_pieces
from tagstream.cli import main
from tagstream.errors import CorruptFileError, UnsupportedFormatError
from tagstream.sources.files import open_run
from tagstream.tags.units import to_ps

from ..pq_encoder import FORMATS, RECORD_TYPES, encode, ptu_file, ptu_header
from ..streams import read_in_batches

SYNC_HZ = 80e6
T2_RES_S = {"PicoHarpT2": 4e-12}  # the others: 1 ps
T3_RES_S = {"PicoHarpT3": 4e-12}  # the others: 5 ps


def _events(fmt: str, rng: np.random.Generator, n: int = 3000):
    """Random photons, markers and (HydraHarp-family T2) syncs, with long pauses that need
    many overflows, including one longer than a counted overflow record can hold."""
    spec = FORMATS[fmt]
    t2 = spec.mode == 2
    steps = rng.integers(0, 4000, n)
    jumps = rng.random(n) < 0.01
    steps[jumps] = rng.integers(1, 3, jumps.sum()) * (1 << 25 if t2 else 1 << 16) * 3
    # more overflows at once than one record can count (HydraHarp V1 writes one record per
    # overflow: a few thousand of them say as much as 2**26, in a file 4000 times smaller)
    wraps = (1 << 26) if spec.counted else (1 << 12)
    steps[n // 2] = wraps * (1 << 25 if t2 else 1 << 10)
    time = np.cumsum(steps)
    kind = np.zeros(n, dtype=np.int64)
    kind[rng.random(n) < 0.05] = 2
    if t2 and not spec.picoharp:
        kind[rng.random(n) < 0.2] = 1
    if spec.picoharp:
        photon = rng.integers(0, 4, n) if t2 else rng.integers(1, 5, n)
    else:
        photon = rng.integers(0, 8, n)
    channel = np.where(kind == 2, rng.integers(1, 16, n), photon)
    dtime = None if t2 else rng.integers(0, 1 << (12 if spec.picoharp else 15), n)
    return time, kind, channel, dtime


def _expected_tags(fmt: str, want: dict, res_ps: float):
    """Absolute ps, tagstream channel numbers and nanotimes, in time order (stable)."""
    spec = FORMATS[fmt]
    kind, channel = want["kind"], want["channel"]
    ours = np.where(kind == 1, 0, np.where(kind == 2, 64 + channel, channel))
    if not spec.picoharp:
        ours = np.where(kind == 0, channel + 1, ours)
    if spec.mode == 2:
        t = to_ps(want["time"], res_ps)
        nt = None
    else:
        nt = np.where(kind == 2, 0, want["dtime"])
        t = to_ps(want["time"], 1e12 / SYNC_HZ) + to_ps(nt, res_ps)
    order = np.argsort(t, kind="stable")
    return t[order], ours[order].astype(np.uint8), None if nt is None else nt[order]


@pytest.mark.parametrize("fmt", sorted(RECORD_TYPES))
def test_every_record_type_decodes_what_was_encoded(tmp_path, monkeypatch, fmt):
    monkeypatch.setattr(ptu_pieces, "PIECE_RECORDS", 257)  # many chunk boundaries
    rng = np.random.default_rng(sorted(RECORD_TYPES).index(fmt))
    records, want = encode(fmt, *_events(fmt, rng), rng=rng)
    t3 = FORMATS[fmt].mode == 3
    res_s = (T3_RES_S if t3 else T2_RES_S).get(fmt, 5e-12 if t3 else 1e-12)
    path = ptu_file(tmp_path / f"{fmt}.ptu", fmt, records, res_s, SYNC_HZ)
    t, ch, nt = _expected_tags(fmt, want, res_s * 1e12)
    with open_run(path) as run:
        assert run.record_format.code == RECORD_TYPES[fmt]
        assert run.metadata.mode == ("T3" if t3 else "T2")
        assert run.num_records == records.size and run.warnings == []
        assert run.t_end > t[-1]
        got = read_in_batches(run, int(t[-1] // 40 + 1))
        np.testing.assert_array_equal(got.timestamps, t)
        np.testing.assert_array_equal(got.channels, ch)
        if t3:
            np.testing.assert_array_equal(got.nanotimes, nt)
            assert got.nanotime_unit_ps == pytest.approx(res_s * 1e12)
        np.testing.assert_array_equal(run.counts[: ch.max() + 1], np.bincount(ch))
        names = {c.number: c.name for c in run.metadata.channels}
        assert all(names[c].startswith(("ch", "sync", "marker")) for c in np.unique(ch))


def _small_file(tmp_path, **extra) -> tuple:
    rng = np.random.default_rng(7)
    records, _ = encode("GenericT3", *_events("GenericT3", rng, 200))
    path = ptu_file(tmp_path / "small.ptu", "GenericT3", records, 5e-12, SYNC_HZ, **extra)
    return path, path.read_bytes(), records


def test_a_float_array_and_every_other_tag_type_are_read(tmp_path):
    """phconvert 0.10.2 crashes on a header holding a float-array tag."""
    extra = [
        ("UsrFloats", -1, "Float8Array", [1.5, -2.0, 3.25]),
        ("UsrBlob", -1, "BinaryBlob", b"\x01\x02\x03\x04\x05\x06\x07\x08"),
        ("UsrWide", -1, "WideString", "Grüße"),
        ("UsrColor", -1, "Color8", 0xFF00FF),
        ("UsrBits", -1, "BitSet64", 0b1011),
        ("UsrFlag", -1, "Bool8", True),
        ("UsrWhen", -1, "TDateTime", 45000.5),
        ("UsrNothing", -1, "Empty8", None),
        ("UsrList", 0, "Int8", 10),
        ("UsrList", 2, "Int8", 12),
    ]
    path, _, _ = _small_file(tmp_path, extra_tags=extra)
    with open_run(path) as run:
        tags = run.header.tags
        np.testing.assert_array_equal(tags["UsrFloats"], [1.5, -2.0, 3.25])
        assert tags["UsrBlob"] == b"\x01\x02\x03\x04\x05\x06\x07\x08"
        assert tags["UsrWide"] == "Grüße"
        assert (tags["UsrColor"], tags["UsrBits"], tags["UsrFlag"]) == (0xFF00FF, 11, True)
        assert tags["UsrWhen"] == "2023-03-15T12:00:00+00:00"
        assert tags["UsrNothing"] is None and tags["UsrList"] == [10, None, 12]
        assert run.header.types["UsrFloats"] == "Float8Array"


def test_a_file_cut_inside_a_record_reads_the_whole_records_before_it(tmp_path):
    path, raw, records = _small_file(tmp_path)
    path.write_bytes(raw[:-6])  # the last record loses 2 bytes, the one before it 4
    with open_run(path) as run:
        assert run.num_records == records.size - 2
        offset = len(raw) - 8
        assert run.warnings[0].startswith(f"the last record is cut short at byte offset {offset}")
        assert "declares" in run.warnings[1]
        assert len(run.read()) > 0


@pytest.mark.parametrize(
    ("damage", "error", "message"),
    [
        (lambda raw: b"PQTTTX" + raw[6:], UnsupportedFormatError, "unknown file format"),
        (lambda raw: raw[:124], CorruptFileError, "header cut short at byte offset 124"),
        (
            lambda raw: raw[:100],
            CorruptFileError,
            "tag File_GUID at byte offset 16 claims 40 bytes of data; the file holds 36 more",
        ),
        (
            lambda raw: raw[: 16 + 32 + 4] + b"\x33\x33\x33\x33" + raw[16 + 32 + 8 :],
            CorruptFileError,
            "unknown header tag type 0x33333333 .* at byte offset 16",
        ),
    ],
)
def test_damaged_headers_are_one_line_errors_naming_the_offset(tmp_path, damage, error, message):
    path, raw, _ = _small_file(tmp_path)
    path.write_bytes(damage(raw))
    with pytest.raises(error, match=message) as info:
        open_run(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_an_unknown_record_type_is_named_in_hex(tmp_path):
    path = tmp_path / "odd.ptu"
    path.write_bytes(
        ptu_header([("TTResultFormat_TTTRRecType", -1, "Int8", 0x00010309)]) + bytes(16)
    )
    with pytest.raises(UnsupportedFormatError, match="unknown TTTR record type 0x00010309"):
        open_run(path)


def test_info_and_analyze_accept_ptu(tmp_path, capsys):
    path, _, _ = _small_file(tmp_path)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "GenericT3 records (0x00010307" in out and "TTResult_SyncRate" in out
    assert main(["info", str(tmp_path / "missing.ptu")]) == 2


def test_overflow_records_that_carry_time_past_53_days_are_an_error(tmp_path):
    """5000 counted overflows of 2^25 - 1 each, at 1 ps: 65 days, not a real measurement."""
    records = np.full(5001, 0xFE000000 | ((1 << 25) - 1), dtype=np.uint32)
    records[-1] = 1 << 25  # a photon on input 2
    path = ptu_file(tmp_path / "far.ptu", "GenericT2", records, 1e-12, SYNC_HZ)
    with pytest.raises(CorruptFileError, match=r"byte offsets \d+ and \d+ carry the time past 53"):
        open_run(path)


@pytest.mark.parametrize("acquired", [-5, 10**15, float("nan")])
def test_an_acquisition_time_that_does_not_fit_the_tags_is_a_warning(tmp_path, acquired):
    """A damaged ``MeasDesc_AcquisitionTime`` (and ``TTResult_StopAfter``, which would come
    first) must not stretch the run to years of empty batches: the run ends after its last
    tag."""
    rng = np.random.default_rng(7)
    records, want = encode("GenericT2", np.arange(100) * 1000, np.zeros(100), np.ones(100), rng=rng)
    kind = "Int8" if isinstance(acquired, int) else "Float8"
    extra = [
        (name, -1, kind, acquired) for name in ("MeasDesc_AcquisitionTime", "TTResult_StopAfter")
    ]
    path = ptu_file(tmp_path / "t.ptu", "GenericT2", records, 1e-12, SYNC_HZ, extra_tags=extra)
    with open_run(path) as run:
        assert run.t_end == want["time"][-1] + 1
        assert any("MeasDesc_AcquisitionTime" in w for w in run.warnings)
        assert len(list(run.batches("1 s"))) == 1


def _long_generic_t3(path, rng, n_syncs: int, rate: float):
    """A GenericT3 file of photons on ``rate`` of ``n_syncs`` laser periods (80 MHz, 5 ps
    dtimes within the period), with a counted overflow record wherever the sync counter wraps;
    also the photons' ps times."""
    syncs = np.sort(rng.choice(n_syncs, int(n_syncs * rate), replace=False))
    dtime = rng.integers(0, 2500, syncs.size)
    photons = (rng.integers(0, 4, syncs.size) << 25) | (dtime << 10) | (syncs & 1023)
    wraps = np.diff(syncs >> 10, prepend=0)
    records = np.empty(syncs.size + np.count_nonzero(wraps), dtype=np.uint32)
    at = np.arange(syncs.size) + np.cumsum(wraps > 0)
    records[at] = photons
    records[at[wraps > 0] - 1] = 0xFE000000 | wraps[wraps > 0]
    return ptu_file(path, "GenericT3", records, 5e-12, SYNC_HZ), syncs * 12_500 + dtime * 5


def test_a_long_file_replays_in_constant_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(ptu_pieces, "PIECE_RECORDS", 4096)  # about 600 pieces
    path, want = _long_generic_t3(tmp_path / "long.ptu", np.random.default_rng(5), 10**8, 0.025)
    with open_run(path) as run:
        tracemalloc.start()
        peaks = []
        got = 0
        for k, batch in enumerate(run.batches("50 us")):
            assert np.all(batch.timestamps == want[got : got + len(batch)])
            got += len(batch)
            if k in (2_000, 24_000):
                peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert k + 1 == -(-run.t_end // 50_000_000) and got == want.size
    assert peaks[1] < 1.1 * peaks[0] + 1e5, peaks


@pytest.mark.parametrize("n", [0, 1, 256, 257, 258, 515, 1000, 4097, 100_003])
def test_pieces_cover_the_records_in_pairs_that_shorten_at_the_end(monkeypatch, n):
    monkeypatch.setattr(ptu_pieces, "PIECE_RECORDS", 257)
    bounds = ptu_pieces.piece_bounds(n)
    lengths = np.diff(bounds)
    assert bounds[0] == 0 and bounds[-1] == n
    assert np.all(lengths > 0) and np.all(lengths <= 257)
    if n > 2 * 257:  # pairs of equal pieces, the last quarter as long as the first
        pairs = lengths[: 2 * (lengths.size // 2)].reshape(-1, 2)
        assert np.all(np.abs(pairs[:, 0] - pairs[:, 1]) <= 1)
        assert lengths[-1] <= lengths[0] // 4 + 1
