"""PTU files written by tagstream: the records equal those of the independent test encoder
(``tests/pq_encoder.py``) for the same events, and decode back to what was written, for every
record type, across batches, overflows and chunk boundaries."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tagstream as ts
import tagstream.sources.ptu_pieces as ptu_pieces
from tagstream.cli import main
from tagstream.errors import OutputExistsError
from tagstream.sources.pq_header import read_header
from tagstream.sources.run import Run
from tagstream.store.ptu_writer import PtuWriteError, write_ptu
from tagstream.tags import Channel, ChannelMap, Role, RunMetadata, TagBatch

from ..pq_encoder import FORMATS, RECORD_TYPES, encode
from ..streams import read_in_batches

PERIOD_PS = 12_500
UNIT_PS = 5


class ListRun(Run):
    """Given batches as a run."""

    def __init__(self, parts: list[TagBatch], metadata: RunMetadata):
        self.parts, self.metadata = parts, metadata

    def batches(self, duration=None):
        yield from self.parts


def _metadata(t3: bool, sync: bool, unit: float = UNIT_PS) -> RunMetadata:
    chans = [Channel(1, "A"), Channel(2, "B"), Channel(5, "C")]
    chans += [Channel(66, "frame", Role.MARKER), Channel(90, "line", Role.MARKER)]
    if sync:
        chans.append(Channel(0, "laser", Role.SYNC))
    return RunMetadata(
        source="test",
        channels=ChannelMap(chans),
        mode="T3" if t3 else "T2",
        resolution_ps=unit if t3 else 1.0,
        sync_period_ps=PERIOD_PS if t3 else None,
        nanotime_unit_ps=unit if t3 else None,
    )


def _run(fmt: str, rng: np.random.Generator, n: int = 4000, unit: float = UNIT_PS):
    """Random tags of every role with pauses that need many overflows (one longer than a
    counted overflow record holds), cut into several batches."""
    spec = FORMATS[fmt]
    t3 = spec.mode == 3
    sync = not t3
    md = _metadata(t3, sync, unit)
    numbers = np.array([1, 2, 5, 66, 90] + ([0] if sync else []))
    ch = rng.choice(numbers, n, p=None).astype(np.uint8)
    tick = PERIOD_PS if t3 else (4 if spec.picoharp else 1)
    steps = rng.integers(0, 300, n) * tick
    jumps = rng.random(n) < 0.01
    steps[jumps] = rng.integers(1, 4, jumps.sum()) * spec.period * tick
    steps[n // 2] = (spec.max_count + 5 if spec.counted else 40) * spec.period * tick
    t = np.sort(np.cumsum(steps) + rng.integers(0, tick, n))
    nt = None
    if t3:
        nt = rng.integers(0, int(PERIOD_PS / unit), n)
        t = t - t % PERIOD_PS + (nt * unit).astype(np.int64) + rng.integers(0, int(unit), n)
        order = np.argsort(t, kind="stable")
        t, ch, nt = t[order], ch[order], nt[order]
    cuts = np.sort(rng.choice(np.arange(1, n), 5, replace=False))
    edges = [0, *(int(t[c]) for c in cuts), int(t[-1]) + 1]
    parts = []
    for a, b in itertools.pairwise(edges):
        sel = (t >= a) & (t < b)
        parts.append(
            TagBatch(
                t[sel],
                ch[sel],
                a,
                b,
                metadata=md,
                nanotimes=None if nt is None else nt[sel].astype(np.uint16),
                nanotime_unit_ps=md.nanotime_unit_ps,
                sync_period_ps=md.sync_period_ps,
            )
        )
    return ListRun(parts, md), t, ch, nt


def _as_events(fmt: str, t, ch, nt, unit: float = UNIT_PS, binning: int = 1):
    """What the writer should put in the file, as the test encoder's arguments, in record
    order: detectors A, B, C are inputs 1, 2, 3; marker 66 keeps bits 2, marker 90 gets bit 1."""
    spec = FORMATS[fmt]
    marker = (ch == 66) | (ch == 90)
    kind = np.where(marker, 2, np.where((ch == 0) & spec.has_sync_records, 1, 0))
    inputs = np.select([ch == 1, ch == 2, ch == 5], [1, 2, 3], 0)
    field = inputs if spec.picoharp else inputs - 1
    channel = np.where(ch == 66, 2, np.where(ch == 90, 1, np.where(ch == 0, 0, field)))
    if spec.mode == 2:
        return t // (4 if spec.picoharp else 1), kind, channel, None
    nt = np.where(marker, 0, nt.astype(np.int64))
    nsync = np.rint((t - nt * unit) / PERIOD_PS).astype(np.int64)
    order = np.argsort(nsync, kind="stable")
    return nsync[order], kind[order], channel[order], (nt // binning)[order]


def _decoded(fmt: str, want: dict, unit: float = UNIT_PS, binning: int = 1):
    """The tags a reader must report for the encoder's expectations, in time order."""
    spec = FORMATS[fmt]
    kind, channel = want["kind"], want["channel"]
    ours = np.where(kind == 2, 64 + channel, np.where(kind == 1, 0, channel))  # PicoHarp: as is
    if not spec.picoharp:
        ours = np.where(kind == 0, channel + 1, ours)
    if spec.mode == 2:
        t = want["time"] * (4 if spec.picoharp else 1)
        nt = None
    else:
        nt = want["dtime"]
        t = want["time"] * PERIOD_PS + np.rint(nt * unit * binning).astype(np.int64)
    order = np.argsort(t, kind="stable")
    return t[order], ours[order], None if nt is None else nt[order]


@pytest.mark.parametrize("fmt", sorted(RECORD_TYPES))
def test_written_records_equal_the_independent_encoder_and_decode_back(tmp_path, monkeypatch, fmt):
    monkeypatch.setattr(ptu_pieces, "PIECE_RECORDS", 509)
    rng = np.random.default_rng(sorted(RECORD_TYPES).index(fmt) + 100)
    run, t, ch, nt = _run(fmt, rng)
    path = write_ptu(run, tmp_path / "w.ptu", fmt)
    records, want = encode(fmt, *_as_events(fmt, t, ch, nt))
    header = read_header(path)
    written = np.fromfile(path, dtype="<u4", offset=header.records_offset)
    np.testing.assert_array_equal(written, records)
    assert header.get("TTResult_NumberOfRecords") == records.size
    assert header.get("TTResultFormat_TTTRRecType") == RECORD_TYPES[fmt]
    assert header.get("MeasDesc_AcquisitionTime") == -(-int(t[-1] + 1) // 10**9)
    want_t, want_ch, want_nt = _decoded(fmt, want)
    with ts.open(path) as back:
        assert back.warnings == []
        got = read_in_batches(back, int(want_t[-1] // 7 + 1))
    np.testing.assert_array_equal(got.timestamps, want_t)
    np.testing.assert_array_equal(got.channels, want_ch)
    if want_nt is not None:
        np.testing.assert_array_equal(got.nanotimes, want_nt)
        assert got.sync_period_ps == PERIOD_PS and got.nanotime_unit_ps == UNIT_PS


def test_nanotimes_are_binned_to_fit_a_picoharp(tmp_path):
    """1 ps nanotimes over a 12.5 ns period need 12 500 bins; the PicoHarp has 4096, so they
    are binned by 4 (``MeasDesc_BinningFactor``), and the dtime unit becomes 4 ps."""
    rng = np.random.default_rng(5)
    run, t, ch, nt = _run("PicoHarpT3", rng, unit=1.0)
    path = write_ptu(run, tmp_path / "ph.ptu", "PicoHarpT3")
    assert read_header(path).get("MeasDesc_BinningFactor") == 4
    _, want = encode("PicoHarpT3", *_as_events("PicoHarpT3", t, ch, nt, unit=1.0, binning=4))
    want_t, _, want_nt = _decoded("PicoHarpT3", want, unit=1.0, binning=4)
    got = ts.open(path).read()
    assert got.nanotime_unit_ps == 4.0
    np.testing.assert_array_equal(got.timestamps, want_t)
    np.testing.assert_array_equal(got.nanotimes, want_nt)
    photons = np.sort(got.timestamps[got.channels < 64]) - np.sort(t[ch < 64])
    assert photons.min() > -4 and photons.max() <= 0  # within one 4 ps bin, rounded down


def test_a_simulated_dot_gives_the_same_analysis_from_ptu(tmp_path):
    """A simulated CsPbI3 dot written as GenericT3: its g2(0) and lifetime from the PTU file
    equal those from the run itself (the times differ by less than the 4 ps nanotime unit)."""
    run = ts.simulate("cspbi3-10nm", duration="2 s", seed=4)
    path = write_ptu(run, tmp_path / "dot.ptu")
    direct = ts.simulate("cspbi3-10nm", duration="2 s", seed=4).read()
    back = ts.open(path).read()
    assert len(back) == len(direct)
    assert np.abs(back.timestamps - direct.timestamps).max() < 4
    metadata = ts.open(path).metadata
    names = {c.number: c.name for c in metadata.channels}
    assert names == {1: "A", 2: "B"}  # the names come back from File_Comment
    assert metadata.hbt_pair == ("A", "B")
    a = ts.g2(direct, "A", "B", window="300 ns", bin="1 ns").g2_zero()
    b = ts.g2(back, "A", "B", window="300 ns", bin="1 ns").g2_zero()
    assert b.value == pytest.approx(a.value, abs=0.01)
    tau_a = ts.lifetime(direct, "A", bin="16 ps").fit(model="mono").tau_ps[0]
    tau_b = ts.lifetime(back, "A", bin="16 ps").fit(model="mono").tau_ps[0]
    assert tau_b == pytest.approx(tau_a, rel=0.01)


def test_writing_refuses_what_the_format_cannot_hold(tmp_path):
    rng = np.random.default_rng(1)
    t2run, *_ = _run("GenericT2", rng, n=50)
    with pytest.raises(PtuWriteError, match="T2 run cannot be written as GenericT3"):
        write_ptu(t2run, tmp_path / "x.ptu", "GenericT3")
    with pytest.raises(PtuWriteError, match="unknown PTU record type 'Foo'"):
        write_ptu(t2run, tmp_path / "x.ptu", "Foo")
    md = _metadata(True, False)
    big = TagBatch(
        np.array([10]),
        np.array([1], np.uint8),
        0,
        100,
        metadata=md,
        nanotimes=np.array([5000], np.uint16),
        nanotime_unit_ps=UNIT_PS,
        sync_period_ps=PERIOD_PS,
    )
    with pytest.raises(PtuWriteError, match="nanotime 5000 does not fit"):
        write_ptu(big, tmp_path / "x.ptu", "PicoHarpT3")
    assert not list(tmp_path.iterdir())  # nothing left behind


def test_an_existing_file_is_kept_without_force(tmp_path):
    rng = np.random.default_rng(2)
    run, *_ = _run("GenericT2", rng, n=50)
    target = tmp_path / "keep.ptu"
    target.write_bytes(b"precious")
    with pytest.raises(OutputExistsError):
        write_ptu(run, target, "GenericT2")
    assert target.read_bytes() == b"precious"
    write_ptu(run, target, "GenericT2", force=True)
    assert ts.open(target).num_records > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.ptu"]


def test_simulate_writes_ptu_when_asked(tmp_path, capsys):
    out = tmp_path / "dot.ptu"
    assert main(["simulate", "cspbi3-10nm", "--duration", "1 s", "-o", str(out)]) == 0
    with ts.open(out) as run:
        assert run.record_format.name == "GenericT3"
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "GenericT3" in text and "A=ch1, B=ch2" in text
    out2 = tmp_path / "dot-ph.ptu"
    args = ["simulate", "cspbi3-10nm", "--duration", "0.2 s", "-o", str(out2)]
    assert main([*args, "--ptu-type", "PicoHarpT3"]) == 0
    assert ts.open(out2).record_format.name == "PicoHarpT3"


def test_info_piped_into_a_reader_that_stops_early_ends_quietly(tmp_path):
    """``tagstream info X.ptu | head``: the closed pipe ends the command without a traceback."""
    import subprocess
    import sys

    rng = np.random.default_rng(3)
    run, *_ = _run("GenericT2", rng, n=50)
    path = write_ptu(run, tmp_path / "x.ptu", "GenericT2")
    cmd = f'"{sys.executable}" -m tagstream info "{path}" | head -n 1'
    done = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=120)
    assert done.stdout.startswith("file")
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


@pytest.mark.parametrize(
    ("comment", "names"),
    [
        ("A=ch1, B=ch2.", {"ch1": "A", "ch2": "B"}),
        ("APD 1=ch1, APD 2=ch3, laser=sync, scan=marker1. dot 7", {
            "ch1": "APD 1", "ch3": "APD 2", "sync": "laser", "marker1": "scan"}),
        ("Sample 12, 4 K. Power 5 uW", {}),  # another program's free text
        ("A=ch1, A=ch2.", {}),  # names that repeat are not used
        ("A=ch1, B=ch2", {}),  # no full stop: not the list
        (None, {}),
    ],
)
def test_channel_names_from_file_comment(comment, names):
    from tagstream.sources.ptu_metadata import names_from_comment

    assert names_from_comment(comment) == names
