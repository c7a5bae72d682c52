"""Fuzzing a live run: hostile messages on every socket while it records.

Peers holding the run's worker key (a broken worker) send malformed results, control requests
and subscription messages; peers without a trusted key send the same and get nothing through.
The run must not crash, must count every message that reached it, and must record exactly
what a run without the attack records. ``--fuzz-messages`` sets the count per socket (1000 by
default; the full run is ``python -m pytest -m slow tests/test_live_fuzz.py
--fuzz-messages 10000``).
"""

from __future__ import annotations

import contextlib
import threading
import time

import h5py
import numpy as np
import pytest
import zmq

import tagstream as ts
from tagstream.pipeline.consistency import compare_with_offline
from tagstream.pipeline.live_run import LivePipeline
from tagstream.transport.security import ClientKeys
from tagstream.transport.streams import MAX_PART_BYTES, MAX_SUBSCRIPTION_BYTES
from tagstream.transport.wire import decode
from tests.hostile import control_requests, results_messages, subscription_messages
from tests.pipeline.test_live_pipeline import Hooked, _pipeline, _simulation

SECONDS = 4


class Attack:
    """Sends the hostile messages from a thread of its own once the run has bound its
    sockets; records what it sent and what the control socket answered."""

    def __init__(self, pipeline: LivePipeline, n: int, seed: int = 11):
        self.pipeline = pipeline
        rng = np.random.default_rng(seed)
        self.results = results_messages(rng, n)
        self.control = control_requests(rng, n)
        self.subscriptions = subscription_messages(rng, n)
        self.errors = 0  # control replies that were errors
        self.statuses = 0  # ... that were status records (none are asked for)
        self.context = zmq.Context()
        self.thread = threading.Thread(target=self._run)
        self.failure: BaseException | None = None

    def start(self) -> None:
        self.thread.start()

    def join(self) -> None:
        self.thread.join(300)
        self.context.term()
        assert not self.thread.is_alive()
        if self.failure is not None:
            raise self.failure

    def _socket(
        self, kind: int, endpoint: str, keys: ClientKeys | None, wait: bool = False
    ) -> zmq.Socket:
        """A socket connected to ``endpoint``; with ``wait``, once its handshake succeeded
        (so that nothing it sends is dropped for want of a peer)."""
        socket = self.context.socket(kind)
        socket.setsockopt(zmq.LINGER, 2000)
        if keys is not None:
            keys.apply(socket, endpoint)
        monitor = socket.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED) if wait else None
        socket.connect(endpoint)
        if monitor is not None:
            assert monitor.poll(30_000), f"no handshake with {endpoint}"
            socket.disable_monitor()
            monitor.close(0)
        return socket

    def _run(self) -> None:
        try:
            self._attack()
        except BaseException as exc:  # reported by join()
            self.failure = exc

    def _attack(self) -> None:
        p = self.pipeline
        trusted = p.keys.local
        stranger = ClientKeys.guest(p.keys.public)
        endpoints = (p.sockets.publisher.endpoint, p.sockets.results_endpoint, p.control_endpoint)
        # outsiders: no CURVE at all, or a key nobody trusts (a guest, on the control socket)
        sockets = [self._socket(zmq.DEALER, endpoints[2], None)]
        for endpoint, kind in zip(endpoints[:2], (zmq.XSUB, zmq.PUSH), strict=True):
            sockets += [self._socket(kind, endpoint, keys) for keys in (None, stranger)]
        guest = self._socket(zmq.REQ, endpoints[2], stranger)
        data = self._socket(zmq.XSUB, endpoints[0], trusted, wait=True)
        results = self._socket(zmq.PUSH, endpoints[1], trusted, wait=True)
        control = self._socket(zmq.REQ, endpoints[2], trusted, wait=True)
        try:
            for k in range(len(self.results)):
                for socket in sockets:
                    with contextlib.suppress(zmq.Again):
                        socket.send_multipart([b"", *self.results[k]], zmq.NOBLOCK)
                data.send(self.subscriptions[k])
                results.send_multipart(self.results[k])
                for requester in (control, guest):
                    requester.send_multipart(self.control[k])
                    assert requester.poll(30_000), "the control socket stopped answering"
                    reply = decode(requester.recv_multipart(copy=False)).record
                    if "error" in reply:
                        self.errors += 1
                    else:
                        self.statuses += 1
        finally:
            for socket in (*sockets, guest, data, results, control):
                socket.close()


#: Series whose number of snapshots depends on the machine's load: the blinking fits run under
#: a budget of wall-clock time (a snapshot skipped is taken at the end), and the analysis
#: series has one snapshot per bundle of results. Their last snapshots do not depend on it.
LOAD_DEPENDENT = ("blinking", "analysis")


def _recording(path) -> dict[str, np.ndarray]:
    """Everything a run file records that does not depend on the wall clock: every tag array,
    and the committed result series (only the last snapshot of :data:`LOAD_DEPENDENT`)."""
    out = {}
    with h5py.File(path, "r") as f:
        for name, ds in f["photon_data"].items():
            if isinstance(ds, h5py.Dataset):
                out[f"photon_data/{name}"] = ds[()]
    for name, series in ts.results(path).series.items():
        last = slice(-1, None) if name in LOAD_DEPENDENT else slice(None)
        out[f"{name}/covered_ps"] = series.covered_ps[last]
        out[f"{name}/live_ps"] = series.live_ps[last]
        for key, values in series.fields.items():
            if key != "rows":
                out[f"{name}/{key}"] = values[last]
        for key, values in {**series.axes, **series.row_arrays}.items():
            out[f"{name}/{key}"] = values
    return out


@pytest.mark.slow
def test_a_live_run_under_attack_on_every_socket_records_exactly_what_it_would_have(
    tmp_path, request
):
    n = request.config.getoption("--fuzz-messages")
    quiet = tmp_path / "quiet.h5"
    _pipeline(Hooked(_simulation(SECONDS), lambda k: None), quiet).run()

    path = tmp_path / "attacked.h5"
    attack: list[Attack] = []

    def hook(k: int) -> None:
        if k == 0:
            attack.append(Attack(pipeline, n))
            attack[0].start()
        if k == SECONDS * 10 - 1:  # the last batch: the source waits for the attack to end
            while attack[0].thread.is_alive():  # reading the data socket, as between batches
                pipeline.sockets.publisher.poll_subscriptions()
                attack[0].thread.join(0.01)
            pipeline.sockets.publisher.poll_subscriptions()
            deadline = time.monotonic() + 60  # and for the run to have read every message
            while time.monotonic() < deadline:
                status = pipeline.status()
                if status["malformed_results"] + status["dropped_snapshots"] >= n:
                    break
                time.sleep(0.05)

    pipeline = _pipeline(Hooked(_simulation(SECONDS), hook), path)
    pipeline.run()
    attack[0].join()
    status = pipeline.status()

    # every message that reached the run was counted, none crashed anything
    assert status["malformed_results"] + status["dropped_snapshots"] == n
    assert status["malformed_control"] + status["refused_requests"] == attack[0].errors == 2 * n
    assert status["malformed_subscriptions"] == n
    assert status["refused_peers"] >= 2  # the stranger's key, once per socket at least
    assert status["malformed"] == 0 and status["missed"] == 0

    # and the run recorded exactly what it records without the attack
    quiet_record, attacked_record = _recording(quiet), _recording(path)
    assert quiet_record.keys() == attacked_record.keys()
    # the worker's count of messages includes the end of the stream when its last bundle of
    # results went out after it (a blinking fit left for the end: load-dependent)
    received = [int(r.pop("analysis/received")[0]) for r in (quiet_record, attacked_record)]
    assert abs(received[0] - received[1]) <= 1
    for name, values in quiet_record.items():
        np.testing.assert_array_equal(attacked_record[name], values, err_msg=name)
    assert compare_with_offline(path).complete


def test_messages_over_the_size_limits_are_dropped_before_they_cost_memory(tmp_path):
    """A peer with the run's key sends a results message one byte over 64 MiB and a
    subscription message over 1 kB: ZeroMQ drops the peer before taking the memory, and the
    run goes on exactly."""
    path = tmp_path / "run.h5"
    context = zmq.Context()
    sockets = []

    def send_big(k: int) -> None:
        if k != 3:
            return
        for kind, endpoint, message in (
            (zmq.PUSH, pipeline.sockets.results_endpoint, b"\0" * (MAX_PART_BYTES + 1)),
            (zmq.XSUB, pipeline.sockets.publisher.endpoint, b"\x02" * (MAX_SUBSCRIPTION_BYTES + 1)),
        ):
            socket = context.socket(kind)
            pipeline.keys.local.apply(socket, endpoint)
            socket.connect(endpoint)
            socket.send(message)
            sockets.append(socket)

    pipeline = _pipeline(Hooked(_simulation(SECONDS), send_big), path)
    try:
        pipeline.run()
    finally:
        for socket in sockets:
            socket.close(0)
        context.term()
    status = pipeline.status()
    assert len(sockets) == 2
    assert status["malformed_results"] == status["malformed_subscriptions"] == 0
    assert compare_with_offline(path).complete
