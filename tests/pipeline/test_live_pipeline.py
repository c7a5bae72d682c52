"""The live pipeline end to end: source → ZeroMQ → analysis workers → run file, and its faults.

Every test ends with the same check: the last live results in the run file equal an offline
analysis of the tags the file recorded, outside the time the analysis reports as lost.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import zmq

import tagstream as ts
from tagstream.cli import main
from tagstream.pipeline import live_analysis
from tagstream.pipeline.consistency import compare_with_offline
from tagstream.pipeline.live_run import LivePipeline
from tagstream.pipeline.run_config import OutputSettings, PipelineSettings
from tagstream.sources.run import Run
from tagstream.tags import TagBatch
from tagstream.transport.control import ControlTimeout, request
from tagstream.transport.security import ClientKeys
from tagstream.transport.wire import encode_batch
from tests.hostile import results_messages

PRESET = "cspbi3-10nm"
SECONDS = 6


class Hooked(Run):
    """``run`` with ``hook(k)`` called in the acquisition's thread after batch ``k`` went out."""

    def __init__(self, run: Run, hook: Callable[[int], None], paced: bool | None = None):
        self.run = run
        self.hook = hook
        self.metadata = run.metadata
        self.duration_ps = run.duration_ps
        self.truth = run.truth
        self.paced = run.paced if paced is None else paced

    def batches(self, duration=None) -> Iterator[TagBatch]:
        for k, batch in enumerate(self.run.batches(duration or "100 ms")):
            yield batch
            self.hook(k)

    def close(self) -> None:
        self.run.close()


def _settings(kind: str, hwm: int = 16, workers: int = 1) -> PipelineSettings:
    if kind == "inproc":
        name = uuid.uuid4().hex
        return PipelineSettings(
            data=f"inproc://{name}-data",
            results=f"inproc://{name}-results",
            control=f"inproc://{name}-control",
            workers=workers,
            hwm=hwm,
        )
    return PipelineSettings(workers=workers, hwm=hwm)  # tcp://127.0.0.1:*, worker processes


def _pipeline(source: Run, path: Path, kind: str = "tcp", **settings) -> LivePipeline:
    output = OutputSettings(path, "blosc", False, "1 s")
    return LivePipeline(source, output, _settings(kind, **settings))


def _simulation(seconds: float = SECONDS, seed: int = 3) -> Run:
    return ts.simulate(PRESET, duration=f"{seconds} s", seed=seed)


def _assert_recorded_everything(path: Path, seconds: float = SECONDS, seed: int = 3) -> None:
    expected = _simulation(seconds, seed).read()
    with ts.open(path) as run:
        assert run.status == "complete"
        got = run.read()
    np.testing.assert_array_equal(got.timestamps, expected.timestamps)
    np.testing.assert_array_equal(got.channels, expected.channels)
    np.testing.assert_array_equal(got.nanotimes, expected.nanotimes)


def _analysis_counters(path: Path) -> dict[str, int]:
    series = ts.results(path).series["analysis"]
    return {name: int(values[-1]) for name, values in series.fields.items()}


def test_end_to_end_over_tcp_loopback_equals_offline_analysis(tmp_path):
    """A worker process on tcp:// loopback: the run file's final g2, decay and trace histograms
    equal the offline analysis of the recorded tags, integer for integer."""
    path = tmp_path / "run.h5"
    pipeline = _pipeline(_simulation(), path)
    assert pipeline.settings.data.startswith("tcp://")
    pipeline.run()
    agreement = compare_with_offline(path)
    assert agreement.equal == {
        "g2": True, "lifetime": True, "trace": True, "flid": True, "levels": True,
    }  # fmt: skip
    assert len(agreement.analysis_gaps) == 0
    assert agreement.covered_ps == (0, SECONDS * 10**12)
    _assert_recorded_everything(path)
    results = ts.results(path)
    assert len(results.series["g2"]) == SECONDS  # a snapshot every second of run time
    assert _analysis_counters(path)["missed"] == 0
    status = pipeline.status()
    assert status["missed"] == status["malformed"] == status["restarts"] == 0
    assert pipeline.notes == []


def test_malformed_and_truncated_messages_are_counted_and_change_nothing(tmp_path):
    path = tmp_path / "run.h5"
    injected = []

    def inject(k: int) -> None:
        if k % 5 != 2:
            return
        socket = pipeline.sockets.publisher.socket  # the acquisition's thread: the socket's owner
        good = encode_batch(
            TagBatch(np.arange(10, dtype=np.int64), np.ones(10, np.uint8), 0, 10),
            0,
            pipeline.sockets.publisher.sequence,
        )
        good = [
            bytes(np.ascontiguousarray(f).data) if not isinstance(f, bytes) else f for f in good
        ]
        variants = [
            [b"not a message"],
            [good[0], good[1][:-8], good[2]],  # truncated timestamps
            [b"XXXX" + good[0][4:], *good[1:]],  # wrong magic
            [good[0][:4] + b"\x09\x00" + good[0][6:], *good[1:]],  # wrong version
            [good[0], np.arange(10, 0, -1, dtype=np.int64).tobytes(), good[2]],  # back in time
        ]
        message = variants[len(injected) % len(variants)]
        socket.send_multipart(message)
        injected.append(message)

    pipeline = _pipeline(Hooked(_simulation(), inject), path)
    pipeline.run()
    assert len(injected) >= 10
    counters = _analysis_counters(path)
    assert counters["malformed"] == len(injected)
    assert counters["missed"] == 0
    assert pipeline.status()["malformed"] == len(injected)
    agreement = compare_with_offline(path)
    assert agreement.all_equal and len(agreement.analysis_gaps) == 0
    _assert_recorded_everything(path)


def test_hostile_results_messages_never_stop_the_recording(tmp_path):
    """Forged and malformed messages on the results socket from a peer holding the run's
    worker key (a broken worker) are counted and dropped; peers without a trusted key get
    nothing through. The run records every tag, its results stay exact, and the report says
    what was rejected."""
    path = tmp_path / "run.h5"
    rng = np.random.default_rng(8)
    sent = []
    context = zmq.Context.instance()
    insider = context.socket(zmq.PUSH)
    plain = context.socket(zmq.PUSH)  # no CURVE at all
    unknown = context.socket(zmq.PUSH)  # CURVE with a key the run does not trust

    def attack(k: int) -> None:
        endpoint = pipeline.sockets.results_endpoint  # the port bound at start
        if k == 3:
            pipeline.keys.local.apply(insider, endpoint)
            ClientKeys.guest(pipeline.keys.public).apply(unknown, endpoint)
            for socket in (insider, plain, unknown):
                socket.connect(endpoint)
        if 3 <= k < 40:
            for frames in results_messages(rng, 30):
                insider.send_multipart(frames)
                sent.append(frames)
                for socket in (plain, unknown):  # never connected: nothing leaves them
                    with contextlib.suppress(zmq.Again):
                        socket.send_multipart(frames, zmq.NOBLOCK)

    pipeline = _pipeline(Hooked(_simulation(), attack), path, kind="tcp")
    try:
        pipeline.run()
    finally:
        for socket in (insider, plain, unknown):
            socket.close(linger=0)
    status = pipeline.status()
    assert status["malformed_results"] + status["dropped_snapshots"] == len(sent)
    assert status["refused_peers"] >= 1
    assert len(pipeline.notes) <= 60  # notes are bounded; every message is counted
    agreement = compare_with_offline(path)
    assert agreement.all_equal and len(agreement.analysis_gaps) == 0
    _assert_recorded_everything(path)


def test_a_killed_worker_is_restarted_and_its_gap_recorded(tmp_path):
    path = tmp_path / "run.h5"
    killed = []

    def kill(k: int) -> None:
        if k == 25 and not killed:
            handle = pipeline.workers.local[0].handle
            os.kill(handle.pid, signal.SIGKILL)
            handle.wait()
            killed.append(k)

    pipeline = _pipeline(Hooked(_simulation(), kill), path)
    pipeline.run()
    assert killed
    status = pipeline.status()
    assert status["restarts"] == 1
    agreement = compare_with_offline(path)
    lost = agreement.analysis_gaps
    assert len(lost) == 1
    # the results up to the last snapshot before the kill (at 2.6 s) survive, and the source
    # waited for the replacement to join before going on
    assert 10**12 <= lost[0, 0] < lost[0, 1] <= 4 * 10**12
    assert agreement.covered_ps == (0, SECONDS * 10**12)
    assert agreement.all_equal
    assert _analysis_counters(path)["restarts"] == 1
    _assert_recorded_everything(path)  # the recording never loses anything


def test_overload_drops_analysis_with_explicit_gaps_never_the_recording(tmp_path, monkeypatch):
    """A source that cannot wait (hardware-like) and an analysis too slow for it: the worker's
    queue overflows, the lost messages become gaps, and the results are exact outside them."""
    path = tmp_path / "run.h5"
    original = live_analysis.LiveAnalysis.process

    def slow(self, batch, emit=None):
        time.sleep(0.03)
        return original(self, batch, emit)

    monkeypatch.setattr(live_analysis.LiveAnalysis, "process", slow)
    source = Hooked(_simulation(), lambda k: time.sleep(0.002), paced=True)
    pipeline = _pipeline(source, path, "inproc", hwm=2)
    pipeline.run()
    counters = _analysis_counters(path)
    assert counters["missed"] > 0
    agreement = compare_with_offline(path)
    assert len(agreement.analysis_gaps) > 0
    assert agreement.all_equal
    _assert_recorded_everything(path)
    assert pipeline.status()["missed"] == counters["missed"]


def test_control_socket_answers_status_and_stop_and_rejects_garbage(tmp_path):
    path = tmp_path / "run.h5"
    source = ts.simulate(PRESET, duration=None, seed=4, realtime=True)
    pipeline = _pipeline(source, path, "tcp")
    thread = threading.Thread(target=pipeline.run)
    thread.start()
    context = zmq.Context()
    try:
        deadline = time.monotonic() + 60
        while (pipeline.status()["t_s"] or 0) < 1.5 and time.monotonic() < deadline:
            time.sleep(0.1)
        endpoint = pipeline.control_endpoint
        guest = ClientKeys.guest(pipeline.keys.public)  # a key the run does not trust
        trusted = pipeline.keys.local
        status, _ = request(context, endpoint, {"op": "status"}, keys=guest)
        for key in (
            "rates_cps",
            "lag_s",
            "results_lag_s",
            "missed",
            "malformed",
            "analysis_gaps",
            "restarts",
            "writer_queue_mb",
            "workers",
        ):
            assert key in status
        assert status["rates_cps"]["A"] > 0 and status["writer_queue_mb"] >= 0
        assert status["lag_s"] is not None and status["lag_s"] < 5
        with pytest.raises(ts.TagstreamError, match="unknown request"):
            request(context, endpoint, {"op": "dance"}, keys=trusted)
        for op in ({"op": "stop"}, {"op": "hello", "worker": "phantom"}):
            with pytest.raises(ts.TagstreamError, match="needs a key the run trusts"):
                request(context, endpoint, op, keys=guest)
        with pytest.raises(ControlTimeout):  # no CURVE: the handshake never completes
            request(context, endpoint, {"op": "stop"}, timeout_s=2)
        assert "phantom" not in pipeline.status()["workers"]
        raw = context.socket(zmq.REQ)
        trusted.apply(raw, endpoint)
        raw.connect(endpoint)
        raw.send(b"garbage")
        assert raw.poll(10_000)
        reply = raw.recv_multipart()
        raw.close(0)
        assert b"error" in reply[1]
        # a request over the size limit: the socket drops the peer, the service goes on
        huge = context.socket(zmq.REQ)
        trusted.apply(huge, endpoint)
        huge.connect(endpoint)
        huge.send(b"x" * (2 << 20))
        assert not huge.poll(1_000)
        huge.close(0)
        status, _ = request(context, endpoint, {"op": "status"}, keys=trusted)
        assert status["tags"] > 0
        assert status["refused_requests"] == 2 and status["malformed_control"] == 2
        reason = "test over\x1b[2J\x07"  # terminal escapes are not printed as sent
        answer, _ = request(context, endpoint, {"op": "stop", "reason": reason}, keys=trusted)
        assert answer == {"ok": True}
        thread.join(60)
        assert not thread.is_alive()
    finally:
        pipeline.stop()
        thread.join(60)
        context.term()
    assert pipeline.stop_reason == "test over?[2J?"
    with ts.open(path) as run:
        assert run.status == "complete"
    assert compare_with_offline(path).all_equal


@pytest.mark.parametrize("which", ["data", "results", "control"])
def test_a_port_in_use_is_a_one_line_error_not_a_hang(tmp_path, which):
    """A bind that fails ends the run at once with the endpoint named; nothing is left open
    (the context would otherwise wait for it forever)."""
    context = zmq.Context()
    squatter = context.socket(zmq.PULL)
    port = squatter.bind_to_random_port("tcp://127.0.0.1")
    endpoints = {k: "tcp://127.0.0.1:*" for k in ("data", "results", "control")}
    endpoints[which] = f"tcp://127.0.0.1:{port}"
    settings = PipelineSettings(workers=1, hwm=16, **endpoints)
    output = OutputSettings(tmp_path / "run.h5", "blosc", False, "1 s")
    pipeline = LivePipeline(_simulation(1), output, settings)
    started = time.monotonic()
    try:
        with pytest.raises(ts.TagstreamError, match=f"cannot bind tcp://127.0.0.1:{port}"):
            pipeline.run()
    finally:
        squatter.close(0)
        context.term()
    assert time.monotonic() - started < 30
    assert not (tmp_path / "run.h5").exists()  # bound before the file is made: retry at once


def test_external_worker_joins_through_the_control_endpoint(tmp_path):
    """``[pipeline] workers = 0`` and a key folder: the run waits for ``tagstream worker
    --control ENDPOINT --keys DIR``, which holds only the acquisition's public key and its own
    pair; a worker without the keys is told what to give."""
    path = tmp_path / "run.h5"
    keys = tmp_path / "keys"
    assert main(["keys", str(keys)]) == 0
    worker_side = tmp_path / "worker-host"
    worker_side.mkdir()
    for name in ("acquisition.key", "worker.key_secret"):
        (worker_side / name).write_bytes((keys / name).read_bytes())
    with zmq.Context() as context:  # a free port for the control socket
        probe = context.socket(zmq.REP)
        port = probe.bind_to_random_port("tcp://127.0.0.1")
        probe.close(0)
    control = f"tcp://127.0.0.1:{port}"
    command = [sys.executable, "-m", "tagstream", "worker", "--control", control]
    keyless = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert keyless.returncode == 2 and "give --keys DIR" in keyless.stderr
    settings = PipelineSettings(control=control, workers=0, keys=keys)
    output = OutputSettings(path, "blosc", False, "1 s")
    pipeline = LivePipeline(_simulation(3), output, settings)
    worker = subprocess.Popen([*command, "--keys", str(worker_side)])
    try:
        pipeline.run()
        assert worker.wait(60) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    assert compare_with_offline(path).all_equal
    assert len(ts.results(path).series["g2"]) == 3


def _write_config(tmp_path: Path, text: str) -> Path:
    config = tmp_path / "run.toml"
    config.write_text(text)
    return config


def test_sigint_mid_run_leaves_a_complete_valid_file(tmp_path):
    config = _write_config(
        tmp_path,
        f"""
[source]
simulator = "{PRESET}"
seed = 5
realtime = true

[output]
path = "live.h5"
""",
    )
    path = tmp_path / "live.h5"
    process = subprocess.Popen(
        [sys.executable, "-m", "tagstream", "run", str(config)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if path.exists():
                try:
                    if len(ts.results(path).series["g2"]) >= 2:
                        break
                except ts.TagstreamError:
                    pass
            time.sleep(0.2)
        else:
            pytest.fail("the run did not get going")
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "stopped by Ctrl-C" in out
    assert "Traceback" not in err
    with ts.open(path) as run:
        assert run.status == "complete"
        duration_s = (run.t_end - run.t_begin) * 1e-12
    assert duration_s >= 2
    agreement = compare_with_offline(path)
    assert agreement.all_equal and len(agreement.analysis_gaps) == 0
    # the recording is the simulation's prefix
    expected = ts.simulate(PRESET, duration=f"{duration_s + 1} s", seed=5).read()
    with ts.open(path) as run:
        got = run.read()
    np.testing.assert_array_equal(got.timestamps, expected.timestamps[: len(got)])
