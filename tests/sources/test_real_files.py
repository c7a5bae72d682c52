"""Files as real setups leave them, checked against the independent generator ``tests.world``.

* Files cut short: PicoQuant PTU files cut inside their records are read up to the last whole
  record, with warnings naming the byte offset, a span that ends at the last record and rates
  over that span; a cut inside a PTU header, or anywhere in an HDF5 file, is a one-line error.
  A complete file spans the acquisition time of its header even when the dot went dark early.
* Divided syncs in PicoQuant files (T2 with sync records, T3): the lifetime is folded onto the
  laser period, every photon counts, and a header's sync rate after the divider does not
  mislead.
* Cable delays from the command line: ``analyze --delay`` and ``[analysis] delays``.

What is expected comes from the generator (its tags, counts and ``truth``) and from the bytes
of the files (which records a cut keeps), never from tagstream's own readers.

The command lines (``python -m tagstream ...``) start in the background when the module starts,
two at a time, and run while the in-process tests run; their tests come last and wait for them.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import tagstream as ts
from tagstream.cli import main
from tagstream.errors import RunFileError

from ..pq_encoder import FORMATS, encode, ptu_file
from ..run_output import error_lines
from ..world import (
    Detector,
    Setup,
    World,
    cut_file,
    cw,
    ptu_events,
    pulsed,
    write_photon_hdf5,
    write_ptu,
)

SEED = 20261207
PERIOD_PS = 12_500  # an 80 MHz laser
PS_PER_S = 1e12
CLI_TIMEOUT_S = 180
#: The acquisition of the worlds whose files are cut or left complete (20 ms).
ACQUISITION_PS = 2 * 10**10


def _rng(k: int = 0) -> np.random.Generator:
    return np.random.default_rng(SEED + k)


def _hbt(mode: str = "T2", divider: int = 1, unit_ps: float = 4.0, delay_b_ps: int = 0) -> Setup:
    """Two detectors with 30 ps jitter on inputs 1 and 2, the sync on input 0."""
    return Setup(
        detectors=(
            Detector("A", 1, jitter_ps=30.0),
            Detector("B", 2, jitter_ps=30.0, delay_ps=delay_b_ps),
        ),
        mode=mode,
        sync_divider=divider,
        nanotime_unit_ps=unit_ps,
    )


# ---------------------------------------------------------------------- PTU bytes
def _records_offset(data: bytes) -> int:
    """Where the records of a PTU file start: after the head of ``Header_End``, the last tag
    (48 bytes: identifier, index, type, value; type Empty8 has no payload)."""
    return data.index(b"Header_End\0") + 48


def _is_overflow(fmt: str, words: np.ndarray) -> np.ndarray:
    """Which records are overflows (the worlds have no markers, so every other record is a
    tag: a photon, or a sync in HydraHarp-family T2)."""
    w = words.astype(np.int64)
    if FORMATS[fmt].picoharp:
        return (w >> 28) == 15
    return (w >> 25) == 0x7F  # special bit and channel 63


def _kept_tags(fmt: str, data: bytes, at: int) -> tuple[int, int]:
    """``(tags, whole records)`` in the first ``at`` bytes of the PTU file ``data``: its
    records are the world's tags in order with overflows in between."""
    start = _records_offset(data)
    whole = (at - start) // 4
    words = np.frombuffer(data[start : start + 4 * whole], "<u4")
    return int((~_is_overflow(fmt, words)).sum()), whole


# ---------------------------------------------------------------------- command lines
def _warning_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "warning" in line]


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = error_lines(proc.stderr)
    assert len(errors) == 1, proc.stderr
    return errors[0]


class _Jobs:
    """``python -m tagstream ...`` command lines run in the background, two at a time."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="cli-job")
        self._futures: dict[str, Future] = {}
        self._procs: list[subprocess.Popen] = []
        self._closed = False
        self._lock = threading.Lock()
        self.context: dict[str, dict] = {}

    def start(self, key: str, *args: object, **context) -> None:
        self.context[key] = context
        self._futures[key] = self._pool.submit(self._run, [str(a) for a in args])

    def _run(self, args: list[str]) -> subprocess.CompletedProcess | None:
        cmd = [sys.executable, "-m", "tagstream", *args]
        with self._lock:
            if self._closed:
                return None
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self._procs.append(proc)
        try:
            out, err = proc.communicate(timeout=CLI_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            err += f"\n[test: killed after {CLI_TIMEOUT_S} s]"
        return subprocess.CompletedProcess(cmd, proc.returncode, out, err)

    def result(self, key: str) -> tuple[subprocess.CompletedProcess, dict]:
        return self._futures[key].result(), self.context[key]

    def close(self) -> None:
        """Stop what a test did not wait for (only the processes started here)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            self._closed = True
            for proc in self._procs:
                if proc.poll() is None:
                    proc.kill()
        self._pool.shutdown(wait=True)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("real_files")


@pytest.fixture(scope="module")
def mono_config(files) -> Path:
    """Summaries of the cut and complete files fit one exponential only (fast; the lifetime
    is not what those tests are about)."""
    path = files / "mono.toml"
    path.write_text('[analysis]\nlifetime_model = "mono"\n')
    return path


# ---------------------------------------------------------------------- the worlds
CUT_FORMATS = ["PicoHarp T3", "HydraHarp2 T2", "HydraHarp T2", "MultiHarp T3", "PicoHarp T2"]


@pytest.fixture(scope="module")
def cut_worlds() -> dict[str, World]:
    """20 ms of a pulsed dot, about 80 000 photons: T2 with a sync every 16 pulses (200 ns),
    T3 with every pulse's sync."""
    kw = dict(period_ps=PERIOD_PS, mean_photons=0.05, tau_ps=1000.0)
    return {
        "T2": pulsed(_rng(1), ACQUISITION_PS, _hbt("T2", divider=16), **kw),
        "T3": pulsed(_rng(2), ACQUISITION_PS, _hbt("T3"), **kw),
    }


@pytest.fixture(scope="module")
def ptu_of(files, cut_worlds):
    """``ptu_of(record_type) -> (path, world, format name)``, each written once."""
    written: dict[str, tuple[Path, World, str]] = {}

    def get(record_type: str) -> tuple[Path, World, str]:
        if record_type not in written:
            name = record_type.replace(" ", "")
            world = cut_worlds["T3" if record_type.endswith("T3") else "T2"]
            path = write_ptu(files / f"{name}.ptu", world, record_type, rng=_rng(3))
            written[record_type] = (path, world, ptu_events(world, record_type)[0])
        return written[record_type]

    return get


def _cut_offsets(data: bytes, k: int) -> list[int]:
    """Three cuts inside the records (fixed random places between 20 % and 90 % of them): one
    between two records, two in the middle of a record."""
    start = _records_offset(data)
    n = (len(data) - start) // 4
    rng = _rng(100 + k)
    rec = rng.integers(int(0.2 * n), int(0.9 * n), 3)
    inside = rng.integers(1, 4, 2)
    offsets = [start + 4 * int(rec[0])]
    offsets += [start + 4 * int(r) + int(i) for r, i in zip(rec[1:], inside, strict=True)]
    return offsets


def _cuts(ptu_of, files, record_type: str) -> list[tuple[Path, World, int, int]]:
    """``(cut file, world, tags kept, byte offset after the last whole record)`` per cut."""
    src, world, fmt = ptu_of(record_type)
    data = src.read_bytes()
    out = []
    for j, at in enumerate(_cut_offsets(data, CUT_FORMATS.index(record_type))):
        kept, whole = _kept_tags(fmt, data, at)
        path = cut_file(src, files / f"{fmt}-cut{j}.ptu", at)
        out.append((path, world, kept, _records_offset(data) + 4 * whole))
    return out


@pytest.fixture(scope="module")
def hdf5_sources(files, cut_worlds) -> dict[str, Path]:
    """A Photon-HDF5 file of the T2 world, and one of tagstream's own run files from
    ``tagstream simulate``."""
    own = files / "own.h5"
    assert main(["simulate", "cspbi3-10nm", "--duration", "0.2s", "-o", str(own)]) == 0
    return {
        "photon-hdf5": write_photon_hdf5(files / "world.h5", cut_worlds["T2"]),
        "own": own,
    }


HDF5_FRACTIONS = [round(float(f), 4) for f in _rng(11).uniform(0.002, 0.999, 4)]
#: ``analyze`` of cut HDF5 files: (source, fraction of the file kept, or bytes kept).
HDF5_CLI_CASES = [("photon-hdf5", HDF5_FRACTIONS[0]), ("own", HDF5_FRACTIONS[1]), ("own", 8)]


@pytest.fixture(scope="module")
def delayed_world(files) -> tuple[World, Path]:
    """An antibunched dot (g2(0) = 0.05, 8 ns period, 1 ns lifetime, 30 ps jitter) with a 5 ns
    cable delay on B, as Photon-HDF5 (T3, photon timestamps); about 375 000 photons."""
    setup = _hbt("T3", delay_b_ps=5000)
    world = pulsed(_rng(40), 5 * 10**10, setup, 8000, mean_photons=0.06, g2_zero=0.05, tau_ps=1000)
    return world, write_photon_hdf5(files / "delayed.h5", world)


# ---------------------------------------------------------------------- background jobs
def _start_cut_ptu_jobs(request, jobs: _Jobs, files: Path) -> None:
    """A PicoHarp T3 file cut in the middle of a record, through ``analyze`` (JSON and figure)
    and ``replay``."""
    path, *_ = _cuts(request.getfixturevalue("ptu_of"), files, "PicoHarp T3")[1]
    with ts.open(path) as run:
        reader = dict(warnings=list(run.warnings), tags=len(run.read()), t_end=run.t_end)
    out = {"json": files / "cut.json", "png": files / "cut.png"}
    args = ["analyze", path, "--json", out["json"], "--plot", out["png"]]
    jobs.start("analyze-cut-ptu", *args, **reader, **out)
    h5 = files / "cut-replay.h5"
    jobs.start("replay-cut-ptu", "replay", path, "-o", h5, h5=h5, **reader)


def _start_cut_hdf5_jobs(request, jobs: _Jobs, files: Path) -> None:
    sources = request.getfixturevalue("hdf5_sources")
    for source, where in HDF5_CLI_CASES:
        src = sources[source]
        at = where if isinstance(where, int) else int(where * src.stat().st_size)
        path = cut_file(src, files / f"{source}-cli{at}.h5", at)
        jobs.start(f"analyze-cut-{source}-{where}", "analyze", path, path=path)


def _start_delay_jobs(request, jobs: _Jobs, files: Path) -> None:
    """``analyze`` without the delay, with ``--delay B=5ns``, with ``[analysis] delays`` in a
    config, and with a bad ``--delay``."""
    _, path = request.getfixturevalue("delayed_world")
    jobs.start("delay-bad", "analyze", path, "--delay", "B")
    config = files / "delays.toml"
    config.write_text('[analysis]\ndelays = { B = "5 ns" }\n')
    ways = {"plain": [], "option": ["--delay", "B=5ns"], "config": ["--config", config]}
    for how, extra in ways.items():
        out = files / f"delayed-{how}.json"
        jobs.start(f"delay-{how}", "analyze", path, "--json", out, *extra, json=out)


#: The command-line tests (at the end of this module) and the jobs they wait for.
CLI_TESTS = {
    "test_cli_analyze_of_a_cut_ptu": _start_cut_ptu_jobs,
    "test_cli_replay_of_a_cut_ptu_keeps_the_warnings": _start_cut_ptu_jobs,
    "test_cli_analyze_of_a_cut_hdf5_exits_2": _start_cut_hdf5_jobs,
    "test_cli_displaced_zero_delay_peak_is_found_with_a_warning": _start_delay_jobs,
    "test_cli_delay_from_the_option_or_a_config": _start_delay_jobs,
    "test_cli_bad_delay_option_is_a_one_line_error": _start_delay_jobs,
}


@pytest.fixture(scope="module", autouse=True)
def cli_jobs(request, files):
    """Start the jobs of the selected command-line tests as the module starts."""
    selected = {i.originalname for i in request.session.items if i.module is request.module}
    jobs = _Jobs()
    try:
        for starter in dict.fromkeys(CLI_TESTS[name] for name in CLI_TESTS if name in selected):
            starter(request, jobs, files)
        yield jobs
    finally:
        jobs.close()


# ====================================================================== PTU files cut short
@pytest.mark.parametrize("record_type", CUT_FORMATS)
def test_ptu_cut_in_the_records_is_read_up_to_the_cut(ptu_of, files, mono_config, record_type):
    """Every whole record before the cut is read, exactly the world's tags; a warning says the
    file ends early and names the byte offset; the summary's rates are the kept tags over the
    kept span, and its warnings hold the reader's."""
    for path, world, kept, boundary in _cuts(ptu_of, files, record_type):
        times, channels = world.batch.timestamps[:kept], world.batch.channels[:kept]
        with ts.open(path) as run:
            warnings = list(run.warnings)
            tags = run.read()
            t_end = run.t_end
        np.testing.assert_array_equal(tags.timestamps, times)
        np.testing.assert_array_equal(tags.channels, channels)
        assert any(re.search(r"ends early|cut short", w) for w in warnings), warnings
        assert any(f"byte offset {boundary}" in w for w in warnings), (boundary, warnings)

        summary = ts.summary(path, mono_config)
        span_s = times[-1] / PS_PER_S  # the world ran from 0 to its last tag
        assert summary["duration_s"] == pytest.approx(t_end / PS_PER_S, rel=1e-9)
        for det in world.setup.detectors:
            block = summary["channels"][f"ch{det.channel}"]
            counts = int((channels == det.channel).sum())
            assert block["counts"] == counts
            assert block["rate_cps"] == pytest.approx(counts / span_s, rel=0.02), det.name
        for w in warnings:
            assert f"file: {w}" in summary["warnings"], (w, summary["warnings"])


@pytest.mark.parametrize("record_type", CUT_FORMATS)
def test_ptu_cut_span_ends_at_its_last_record(ptu_of, files, record_type):
    """The run ends after its last tag, at most one sync period later in T2 (the syncs come
    that often) and, in T3, at most the record format's dtime range after the last sync (only
    the sync count of the last record is scanned; the range bounds any photon of it), not at the
    acquisition time of the header."""
    for path, world, kept, _ in _cuts(ptu_of, files, record_type):
        last = int(world.batch.timestamps[kept - 1])
        with ts.open(path) as run:
            t_end = run.t_end
            fmt = run.record_format
            reach = world.sync_period_ps
            if fmt.mode == "T3":
                reach = max(reach, (1 << fmt.dtime_bits) * run.metadata.nanotime_unit_ps)
        assert last < t_end <= last + reach, (record_type, last, t_end - last)
        assert t_end < ACQUISITION_PS


@pytest.mark.parametrize("record_type", ["HydraHarp2 T2", "PicoHarp T3"])
def test_ptu_cut_in_the_header_names_the_byte_offset(ptu_of, files, record_type):
    src, _, fmt = ptu_of(record_type)
    data = src.read_bytes()
    start = _records_offset(data)
    offsets = [8, 16, start - 48, start - 1, *_rng(7).integers(17, start - 48, 4).tolist()]
    for at in offsets:
        path = cut_file(src, files / f"{fmt}-head{at}.ptu", at)
        with pytest.raises(RunFileError) as info:
            ts.open(path)
        message = str(info.value)
        assert str(path) in message and "\n" not in message
        named = re.search(r"byte offset (\d+)", message)
        assert named and int(named.group(1)) <= at, (at, message)


# ====================================================================== HDF5 files cut short
def _check_cut_hdf5_error(path: Path) -> None:
    with pytest.raises(RunFileError) as info:
        ts.open(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    assert re.search(r"cut short|corrupt|truncated", message), message


@pytest.mark.parametrize("fraction", HDF5_FRACTIONS)
@pytest.mark.parametrize("source", ["photon-hdf5", "own"])
def test_hdf5_cut_is_a_one_line_error(hdf5_sources, files, source, fraction):
    src = hdf5_sources[source]
    at = max(12, int(fraction * src.stat().st_size))
    _check_cut_hdf5_error(cut_file(src, files / f"{source}-cut{at}.h5", at))


@pytest.mark.parametrize("at", [8, 10])
@pytest.mark.parametrize("source", ["photon-hdf5", "own"])
def test_hdf5_cut_right_after_its_signature_is_a_one_line_error(hdf5_sources, files, source, at):
    """Only the 8-byte signature (and a few bytes of the superblock) left."""
    _check_cut_hdf5_error(cut_file(hdf5_sources[source], files / f"{source}-head{at}.h5", at))


# ====================================================================== complete files
def _dark_after_half(world: World) -> World:
    """The dot goes dark halfway: its photons stop, the laser's syncs go on."""
    b = world.batch
    keep = b.timestamps < world.duration_ps // 2
    if world.pulsed:
        keep |= b.channels == world.setup.sync_channel
    return World(b.select(keep), world.truth, world.setup)


@pytest.mark.parametrize("kind", ["PicoHarp T3", "HydraHarp2 T2 cw", "Photon-HDF5 T2 cw"])
def test_complete_file_spans_its_acquisition_time(files, mono_config, kind):
    """A complete file whose dot went dark halfway: no warning, and the run spans the whole
    acquisition (20 ms) that the file states, so rates count the dark half."""
    if kind == "PicoHarp T3":
        world = pulsed(_rng(20), ACQUISITION_PS, _hbt("T3"), PERIOD_PS, mean_photons=0.05)
    else:
        world = cw(_rng(21), ACQUISITION_PS, _hbt(), 1e-3, 1e-3, collection=0.01)
    world = _dark_after_half(world)
    if kind.startswith("Photon-HDF5"):
        path = write_photon_hdf5(files / "dark.h5", world)
        names = {d.channel: d.name for d in world.setup.detectors}
    else:
        record_type = kind.removesuffix(" cw")
        path = write_ptu(files / f"dark-{record_type}.ptu", world, record_type, rng=_rng(22))
        names = {d.channel: f"ch{d.channel}" for d in world.setup.detectors}
    assert world.batch.timestamps[-1] < ACQUISITION_PS // 2
    with ts.open(path) as run:
        assert list(run.warnings) == []
        assert (run.t_begin, run.t_end) == (0, ACQUISITION_PS)
    summary = ts.summary(path, mono_config)
    assert summary["duration_s"] == pytest.approx(ACQUISITION_PS / PS_PER_S, rel=1e-9)
    assert not [w for w in summary["warnings"] if w.startswith("file:")]
    counts = world.batch.counts()
    for number, name in names.items():
        block = summary["channels"][name]
        assert block["counts"] == counts[number]
        assert block["rate_cps"] == pytest.approx(counts[number] / 0.02, rel=1e-6)


# ====================================================================== sync dividers
TAU_PS = 500.0
#: (record type, divider, nanotime unit): T2 with the sync as a special record, and T3 with
#: units that let the dtime field hold a divided sync period.
DIVIDER_CASES = [
    ("HydraHarp2 T2", 1, 4.0),
    ("HydraHarp2 T2", 4, 4.0),
    ("HydraHarp2 T2", 16, 4.0),
    ("HydraHarp2 T2", 64, 4.0),
    ("HydraHarp2 T3", 4, 4.0),  # 15-bit dtime: 131 ns range for a 50 ns sync period
    ("HydraHarp2 T3", 64, 25.0),  # 819 ns range for 800 ns
    ("PicoHarp T3", 1, 4.0),  # 12-bit dtime: 16.4 ns range for 12.5 ns
    ("PicoHarp T3", 4, 16.0),  # 65.5 ns range for 50 ns
]


def _divider_world(mode: str, divider: int, unit_ps: float) -> World:
    """10 ms of a mono-exponential antibunched dot (g2(0) = 0, 500 ps), about 100 000 photons
    per detector."""
    setup = _hbt(mode, divider, unit_ps)
    return pulsed(_rng(30 + divider), 10**10, setup, PERIOD_PS, mean_photons=0.25, tau_ps=TAU_PS)


def _check_lifetime(summary: dict, world: World, divider: int) -> None:
    life = summary["lifetime"]
    assert life["tau_ns"][0] == pytest.approx(world.truth["tau_ps"] / 1e3, rel=0.02)
    assert life["divider"] == divider
    assert life["period_ns"] == pytest.approx(PERIOD_PS / 1e3, rel=1e-6)
    number = int(life["channel"].removeprefix("ch"))
    name = {d.channel: d.name for d in world.setup.detectors}[number]
    detected = world.truth["counts"][name]
    assert life["photons"] >= 0.99 * detected, (life["photons"], detected)


@pytest.mark.parametrize(
    ("record_type", "divider", "unit_ps"),
    DIVIDER_CASES,
    ids=[f"{t.replace(' ', '')}-div{d}" for t, d, _ in DIVIDER_CASES],
)
def test_sync_divider_lifetime(files, record_type, divider, unit_ps):
    """Every photon is folded onto the laser period: the lifetime within 2 %, the divider and
    the laser period found, at least 99 % of the detector's photons in the histogram, and
    nothing to warn about the period."""
    world = _divider_world(record_type[-2:], divider, unit_ps)
    path = write_ptu(files / f"div{divider}-{record_type.replace(' ', '')}.ptu", world, record_type)
    summary = ts.summary(path)
    _check_lifetime(summary, world, divider)
    about_period = [w for w in summary["warnings"] if re.search(r"period|sync|divid", w)]
    assert not about_period, about_period


def test_ptu_header_with_the_divided_sync_rate(files):
    """Some software writes the rate after the divider into ``TTResult_SyncRate`` (20 MHz for
    an 80 MHz laser divided by 4; ``write_ptu`` always writes the laser rate, so the file is
    put together from the encoder here): the syncs and photons show the truth, and the file is
    reported as saying otherwise."""
    divider = 4
    world = _divider_world("T2", divider, 4.0)
    fmt, time, kind, field, _ = ptu_events(world, "HydraHarp2 T2")
    records, _ = encode(fmt, time, kind, field)
    ms = math.ceil(world.duration_ps / 1e9)
    tags = [
        ("MeasDesc_AcquisitionTime", -1, "Int8", ms),
        ("TTResult_StopAfter", -1, "Int8", ms),
        ("HWSync_Divider", -1, "Int8", divider),
    ]
    divided_hz = world.truth["laser_rate_hz"] / divider
    path = ptu_file(files / "divided-rate.ptu", fmt, records, 1e-12, divided_hz, extra_tags=tags)
    summary = ts.summary(path)
    _check_lifetime(summary, world, divider)
    assert any(w.startswith("file:") and "period" in w for w in summary["warnings"])


# ====================================================================== command lines
def test_cli_analyze_of_a_cut_ptu(cli_jobs):
    """``analyze CUT.ptu --json --plot``: exit 0, the reader's warnings on stderr and in the
    JSON, the figure written."""
    proc, c = cli_jobs.result("analyze-cut-ptu")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert c["warnings"] and any("byte offset" in w for w in c["warnings"])
    printed = _warning_lines(proc.stderr)
    for w in c["warnings"]:
        assert any(w in line for line in printed), (w, printed)
    summary = json.loads(c["json"].read_text())
    for w in c["warnings"]:
        assert f"file: {w}" in summary["warnings"]
    assert summary["duration_s"] == pytest.approx(c["t_end"] / PS_PER_S, rel=1e-9)
    png = c["png"].read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


def test_cli_replay_of_a_cut_ptu_keeps_the_warnings(cli_jobs, mono_config):
    """``replay CUT.ptu -o OUT.h5``: the run file keeps the reader's warnings (its own reader
    and its summary show them), the span and every tag."""
    proc, c = cli_jobs.result("replay-cut-ptu")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    printed = _warning_lines(proc.stderr)
    for w in c["warnings"]:
        assert any(w in line for line in printed), (w, printed)
    with ts.open(c["h5"]) as run:
        kept = list(run.warnings)
        assert run.t_end == c["t_end"]
        assert len(run.read()) == c["tags"]
    for w in c["warnings"]:
        assert w in kept, (w, kept)
    summary = ts.summary(c["h5"], mono_config)
    for w in c["warnings"]:
        assert f"file: {w}" in summary["warnings"], (w, summary["warnings"])


@pytest.mark.parametrize("case", HDF5_CLI_CASES, ids=lambda c: f"{c[0]}-{c[1]}")
def test_cli_analyze_of_a_cut_hdf5_exits_2(cli_jobs, case):
    proc, c = cli_jobs.result(f"analyze-cut-{case[0]}-{case[1]}")
    line = _one_line_error(proc)
    assert proc.returncode == 2, proc.stderr
    assert str(c["path"]) in line and re.search(r"cut short|corrupt|truncated", line), line


def _displaced(summary: dict) -> list[str]:
    return [w for w in summary["warnings"] if "zero-delay peak" in w]


def _within_3_sigma(g2: dict, expected: float) -> None:
    assert abs(g2["g2_zero"] - expected) < 3 * g2["g2_zero_err"], (g2, expected)


def _delay_summary(cli_jobs, how: str) -> dict:
    proc, c = cli_jobs.result(f"delay-{how}")
    assert proc.returncode == 0, proc.stderr
    return json.loads(c["json"].read_text())


def test_cli_displaced_zero_delay_peak_is_found_with_a_warning(cli_jobs, delayed_world):
    world, _ = delayed_world
    summary = _delay_summary(cli_jobs, "plain")
    assert world.truth["zero_delay_ps"] == 5000
    g2 = summary["g2"]
    assert g2["excitation"] == "pulsed" and g2["period_ns"] == pytest.approx(8.0)
    _within_3_sigma(g2, world.truth["g2_zero_detected"])
    assert g2["zero_delay_ns"] == pytest.approx(5.0, abs=0.1)
    assert _displaced(summary), summary["warnings"]


@pytest.mark.parametrize("how", ["option", "config"])
def test_cli_delay_from_the_option_or_a_config(cli_jobs, delayed_world, how):
    world, _ = delayed_world
    summary = _delay_summary(cli_jobs, how)
    plain = _delay_summary(cli_jobs, "plain")["g2"]
    g2 = summary["g2"]
    _within_3_sigma(g2, world.truth["g2_zero_detected"])
    _within_3_sigma(g2, plain["g2_zero"])
    assert abs(g2["zero_delay_ns"]) < 0.1
    assert not _displaced(summary), summary["warnings"]


def test_cli_bad_delay_option_is_a_one_line_error(cli_jobs):
    proc, _ = cli_jobs.result("delay-bad")
    line = _one_line_error(proc)
    assert proc.returncode == 2
    assert "--delay" in line and "B" in line
