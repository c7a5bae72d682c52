"""Run files under stress, with real processes: a writer killed with SIGKILL, a write error
(file-size limit, full file system), and readers in other processes while the writer writes.

Each writer is ``tagstream simulate --realtime`` in a child process, so the file grows at the
pace of the wall clock; the expected tags are the same simulation, generated here at full speed.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

import tagstream as ts
from tagstream.pipeline import read_results
from tagstream.tags import TagBatch

PRESET, SEED = "cspbi3-10nm", 5
WAIT_S = 60  # give up on a child that does not get going


def _simulate_cmd(out: Path, duration: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tagstream",
        "simulate",
        PRESET,
        "--duration",
        duration,
        "--seed",
        str(SEED),
        "-o",
        str(out),
        *extra,
    ]


def _expected(duration: str) -> TagBatch:
    return ts.simulate(PRESET, duration=duration, seed=SEED).read()


def _committed_end_ps(path: Path) -> int:
    """The span end committed so far (0 while the file cannot be opened yet)."""
    try:
        with ts.open(path) as run:
            return run.t_end
    except ts.TagstreamError:
        return 0


def _wait_for(predicate, what: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the writer ended ({proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _assert_prefix(path: Path, expected: TagBatch) -> TagBatch:
    """The file opens and holds exactly the expected tags of its committed span."""
    with ts.open(path) as run:
        got = run.read()
        assert run.t_begin == 0 and run.t_end > 0
    want = expected.slice_time(got.t_begin, got.t_end)
    np.testing.assert_array_equal(got.timestamps, want.timestamps)
    np.testing.assert_array_equal(got.channels, want.channels)
    np.testing.assert_array_equal(got.nanotimes, want.nanotimes)
    return got


def killed_writer(out: Path) -> subprocess.Popen:
    """A ``simulate --realtime`` to ``out``, killed with SIGKILL after it committed 2 s."""
    proc = subprocess.Popen(
        _simulate_cmd(out, "60 s", "--realtime"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(lambda: _committed_end_ps(out) >= 2 * 10**12, "2 s were committed", proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return proc


def test_sigkill_leaves_every_committed_tag(tmp_path):
    out = tmp_path / "killed.h5"
    proc = killed_writer(out)
    assert proc.returncode == -signal.SIGKILL
    got = _assert_prefix(out, _expected("60 s"))
    assert 2 <= got.t_end * 1e-12 < 60
    with ts.open(out) as run:
        assert run.status == "recording"  # it never got to say more
        assert run.truth is not None
    results = read_results(out)
    g2 = results.series["g2"]
    assert len(g2) >= 1 and g2.covered_ps[-1, 1] <= got.t_end
    last = results.g2()  # the last committed snapshot equals the analysis of its span
    span = got.slice_time(0, int(g2.covered_ps[-1, 1]))
    window, bin_ = int(last.edges_ps[-1]), last.bin_ps
    np.testing.assert_array_equal(
        last.counts, ts.g2(span, *last.channels, window=window, bin=bin_).counts
    )


def _limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def _assert_write_error(proc: subprocess.CompletedProcess, out: Path, reason: str) -> None:
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    message = lines[0]
    assert message.startswith(f"tagstream simulate: error: {out}: cannot write: {reason}")
    assert " at byte offset " in message and "it keeps the first" in message


def test_a_write_error_stops_the_run_and_keeps_the_file_readable(tmp_path):
    out = tmp_path / "limited.h5"
    proc = subprocess.run(
        _simulate_cmd(out, "40 s", "--compression", "none", "--realtime"),
        capture_output=True,
        text=True,
        preexec_fn=_limit_file_size(2_000_000),
        timeout=300,
    )
    _assert_write_error(proc, out, "File too large")
    kept = float(proc.stderr.split("it keeps the first ")[1].split(" s")[0])
    got = _assert_prefix(out, _expected("40 s"))
    assert got.t_end * 1e-12 == pytest.approx(kept)
    assert out.stat().st_size <= 2_000_000


@pytest.fixture
def small_filesystem(tmp_path):
    """A 3 MB tmpfs (needs the right to mount, as root on a CI machine)."""
    where = tmp_path / "small"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def test_a_full_file_system_stops_the_run_and_keeps_the_file_readable(small_filesystem):
    out = small_filesystem / "full.h5"
    proc = subprocess.run(
        _simulate_cmd(out, "40 s", "--compression", "none", "--realtime"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    _assert_write_error(proc, out, "No space left on device")
    _assert_prefix(out, _expected("40 s"))


def test_other_processes_read_the_file_while_it_is_written(tmp_path):
    out = tmp_path / "live.h5"
    log = tmp_path / "writer.log"
    with open(log, "w") as sink:
        proc = subprocess.Popen(
            _simulate_cmd(out, "6 s", "--realtime"), stdout=subprocess.DEVNULL, stderr=sink
        )
    expected = _expected("6 s")
    seen: list[int] = []
    try:
        _wait_for(lambda: _committed_end_ps(out) > 0, "the first commit", proc)
        while proc.poll() is None:
            got = _assert_prefix(out, expected)  # ts.open in this process
            seen.append(got.t_end)
            time.sleep(0.3)
        analyze = subprocess.run(  # and `tagstream analyze` in a third one, at the end
            [sys.executable, "-m", "tagstream", "analyze", str(out)],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, log.read_text()
    assert len(set(seen)) >= 3, seen  # the reader saw the run grow
    assert seen == sorted(seen)
    assert analyze.returncode == 0 and "g2(0)" in analyze.stdout
    with ts.open(out) as run:
        assert run.status == "complete" and run.t_end == 6 * 10**12


def test_h5py_reader_follows_the_file_with_swmr(tmp_path):
    out = tmp_path / "follow.h5"
    proc = subprocess.Popen(
        _simulate_cmd(out, "4 s", "--realtime"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(lambda: _committed_end_ps(out) > 0, "the first commit", proc)
        import hdf5plugin  # noqa: F401  (the Blosc filter of the tag arrays)

        with h5py.File(out, "r", swmr=True) as f:
            committed = f["/user/tagstream/committed"]
            sizes = []
            while proc.poll() is None:
                committed.refresh()
                sizes.append(int(committed[0]))
                time.sleep(0.2)
            committed.refresh()
            timestamps = f["/photon_data/timestamps"]
            timestamps.refresh()
            n = int(committed[0])
            assert np.all(np.diff(timestamps[:n]) >= 0)
    finally:
        proc.kill()
        proc.wait()
    assert len(set(sizes)) >= 2 and sizes == sorted(sizes)
    assert n == len(_expected("4 s"))


def test_existing_file_is_never_overwritten_without_force(tmp_path):
    out = tmp_path / "precious.h5"
    out.write_bytes(b"a run from yesterday")
    cmd = _simulate_cmd(out, "1 s")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "file exists; use --force to overwrite it" in proc.stderr
    assert out.read_bytes() == b"a run from yesterday"
    proc = subprocess.run([*cmd, "--force"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with ts.open(out) as run:
        assert run.status == "complete"
    assert os.listdir(tmp_path) == ["precious.h5"]
