"""A live run never reports "nothing lost" when it lost something, and outsiders cannot make
it lose anything: dead and stuck workers, a second Ctrl-C, a killed run, early subscriptions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import zmq

import tagstream as ts
from tagstream.cli.live import run_live
from tagstream.pipeline import waits, worker_pool
from tagstream.pipeline.consistency import compare_with_offline
from tagstream.pipeline.live_run import LivePipeline
from tagstream.pipeline.service import RunService
from tests.pipeline.test_live_pipeline import (
    PRESET,
    Hooked,
    _assert_recorded_everything,
    _pipeline,
    _simulation,
)


def test_a_worker_that_dies_for_good_is_a_reported_loss(tmp_path, monkeypatch, capsys):
    """No restart left: the results end where the worker died, the rest of the run is an
    analysis gap in the file, and the report says so instead of "nothing lost"."""
    monkeypatch.setattr(worker_pool, "MAX_RESTARTS", 0)
    path = tmp_path / "run.h5"

    def kill(k: int) -> None:
        if k == 20:
            handle = pipeline.workers.local[0].handle
            os.kill(handle.pid, signal.SIGKILL)
            handle.wait()

    pipeline = _pipeline(Hooked(_simulation(), kill), path)
    run_live(pipeline, None)
    out = capsys.readouterr().out
    assert "nothing lost" not in out and "1 analysis gaps" in out
    assert "analysis worker local-0 died" in out
    assert "the rest is recorded but not analysed live" in out
    agreement = compare_with_offline(path)
    assert agreement.all_equal and not agreement.complete
    (lost,) = agreement.analysis_gaps
    assert lost[1] == agreement.span_ps[1] and 1 * 10**12 <= lost[0] <= 3 * 10**12
    _assert_recorded_everything(path)


def test_a_second_stop_ends_the_wait_for_a_stuck_worker(tmp_path):
    """A worker that stops making progress (SIGSTOP): the first stop ends the stream, the
    second ends the wait for the analysis at once; the time it did not cover is a loss."""
    path = tmp_path / "run.h5"

    def freeze(k: int) -> None:
        if k == 10:
            os.kill(pipeline.workers.local[0].handle.pid, signal.SIGSTOP)
            pipeline.stop("stopped by Ctrl-C")
            pipeline.stop("stopped by Ctrl-C")

    pipeline = _pipeline(Hooked(_simulation(), freeze), path)
    started = time.monotonic()
    pipeline.run()
    assert time.monotonic() - started < waits.WORKER_TIMEOUT_S / 2
    assert any("stopped waiting for 1 worker(s)" in note for note in pipeline.notes)
    assert pipeline.status()["analysis_gaps"] >= 1
    with ts.open(path) as run:
        assert run.status == "complete"
    assert not compare_with_offline(path).complete


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_worker_does_not_outlive_a_killed_run(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(f'[source]\nsimulator = "{PRESET}"\nrealtime = true\n')
    path = tmp_path / "live.h5"
    command = [sys.executable, "-m", "tagstream", "run", str(config), "-o", str(path)]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        workers: list[int] = []
        while not workers and time.monotonic() < deadline:
            time.sleep(0.2)
            workers = [p for p in _children(run.pid) if b"worker" in _cmdline(p)]
        assert workers, "the run started no worker process"
        time.sleep(2)
        run.kill()
        run.wait()
        killed = time.monotonic()
        while _running(workers[0]) and time.monotonic() - killed < 20:
            time.sleep(0.1)
        assert not _running(workers[0])
        assert time.monotonic() - killed < 5
    finally:
        if run.poll() is None:
            run.kill()


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@pytest.mark.parametrize("holder", ["outsider", "insider"])
def test_an_early_subscription_cannot_make_the_analysis_miss_data(tmp_path, monkeypatch, holder):
    """A peer that subscribes to the data socket before the workers (one byte, the probe's
    defect): an outsider is not let in; even a peer with the run's key cannot make the stream
    start before the workers are ready, so the results cover the whole run exactly."""
    path = tmp_path / "run.h5"
    context = zmq.Context()
    early = context.socket(zmq.XSUB)
    original = LivePipeline._start_workers

    def subscribe_first(self: LivePipeline) -> None:
        endpoint = self.sockets.publisher.endpoint
        if holder == "insider":
            self.keys.local.apply(early, endpoint)
        early.connect(endpoint)
        early.send(b"\x01")
        time.sleep(0.5)
        original(self)

    monkeypatch.setattr(LivePipeline, "_start_workers", subscribe_first)
    pipeline = _pipeline(_simulation(3), path)
    try:
        pipeline.run()
    finally:
        early.close(0)
        context.term()
    assert compare_with_offline(path).complete
    _assert_recorded_everything(path, seconds=3)


def test_a_stop_while_waiting_for_the_workers_ends_the_wait(tmp_path):
    """The source ended on its own and a worker is stuck: one Ctrl-C ends the wait."""
    path = tmp_path / "run.h5"

    def freeze(k: int) -> None:
        if k == 29:  # the last batch
            os.kill(pipeline.workers.local[0].handle.pid, signal.SIGSTOP)
            threading.Timer(1.0, pipeline.stop, ("stopped by Ctrl-C",)).start()

    pipeline = _pipeline(Hooked(_simulation(3), freeze), path)
    started = time.monotonic()
    pipeline.run()
    assert time.monotonic() - started < waits.WORKER_TIMEOUT_S / 2
    assert any("stopped waiting for 1 worker(s)" in note for note in pipeline.notes)


def test_a_service_thread_that_fails_is_a_reported_loss_not_a_wait(tmp_path, monkeypatch, capsys):
    """Should the thread that takes results and answers control requests fail (a bug), the
    recording goes on, the run does not wait a minute for results that cannot come, and the
    report says what was lost."""
    original = RunService._on_result
    calls = []

    def failing(self, frames):
        calls.append(1)
        if len(calls) > 8:
            raise RuntimeError("a bug")
        original(self, frames)

    monkeypatch.setattr(RunService, "_on_result", failing)
    path = tmp_path / "run.h5"
    pipeline = _pipeline(Hooked(_simulation(), lambda k: None), path)
    started = time.monotonic()
    run_live(pipeline, None)
    assert time.monotonic() - started < waits.WORKER_TIMEOUT_S / 2
    out = capsys.readouterr().out
    assert "live results and control stopped: RuntimeError: a bug" in out
    assert "nothing lost" not in out
    assert not compare_with_offline(path).complete
    _assert_recorded_everything(path)
