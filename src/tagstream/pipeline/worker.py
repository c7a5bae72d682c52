"""An analysis worker: subscribes to a run's tag stream, runs the live analyzers, and sends
their snapshots to the recorder.

A worker knows only the acquisition's control endpoint and its keys (see
:mod:`tagstream.transport.security`). Its hello there returns the run's metadata, the analysis
settings, the data and results endpoints, and — for a worker that replaces one that died — the
state to resume from. It says it is ready when the run's header reaches it (the run starts when
its workers are ready), then reports its progress after every batch and a bundle of snapshots
every interval of run time, and ends with the stream. A worker the run started itself ends when
that process is gone.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import replace
from typing import Any

import numpy as np
import zmq

from ..analysis.summary_settings import SummarySettings
from ..errors import TagstreamError
from ..tags import RunMetadata, TagBatch
from ..transport.control import ControlTimeout, request
from ..transport.security import ClientKeys
from ..transport.streams import BatchSubscriber, connect
from ..transport.wire import Kind, encode_record
from . import result_series as rs
from .control_messages import HelloReply
from .live_analysis import LiveAnalysis
from .messages import encode_snapshots, resume_state
from .resume import COUNTERS
from .segments import Segment

#: Seconds without a message after which a worker asks whether the run still exists.
IDLE_CHECK_S = 30.0
#: Progress reports are sent at most this often, s, and whenever the worker has caught up.
PROGRESS_EVERY_S = 0.02
#: Set by a run for the worker processes it starts: its process id (they end with it).
PARENT_ENV = "TAGSTREAM_PARENT_PID"


def worker_name() -> str:
    """A default worker name, unique on this host: ``host:pid:tick``."""
    return f"{socket.gethostname()}:{os.getpid()}:{time.monotonic_ns() % 10**6}"


class AnalysisWorker:
    """One analysis worker.

    Parameters
    ----------
    control
        The acquisition's control endpoint.
    context
        ZeroMQ context (needed for ``inproc://`` endpoints: the acquisition's own).
    name
        How the worker calls itself in its reports.
    keys
        Its CURVE keys and the run's public key (not needed for ``inproc://``).
    parent
        The process id of the run that started this worker: the worker ends when it is gone.
    """

    def __init__(
        self,
        control: str,
        context: zmq.Context | None = None,
        name: str | None = None,
        keys: ClientKeys | None = None,
        parent: int | None = None,
    ):
        self.control = control
        self.context = context or zmq.Context.instance()
        self.name = name or worker_name()
        self.keys = keys
        self.parent = parent

    def run(self) -> int:
        """Work until the stream ends; the exit code (0, or 1 when the run vanished)."""
        record, arrays = request(
            self.context, self.control, {"op": "hello", "worker": self.name}, keys=self.keys
        )
        hello = HelloReply.from_record(record)
        metadata = RunMetadata.from_dict(hello.metadata)
        self.metadata, self.every_ps = metadata, hello.every_ps
        self.segment = Segment() if hello.segment is None else Segment.from_record(hello.segment)
        live = self._analysis(hello.settings)
        data = _reachable(hello.data, self.control)
        subscriber = BatchSubscriber(self.context, data, hello.hwm, keys=self.keys)
        subscriber.metadata = metadata
        results = self.context.socket(zmq.PUSH)
        results.setsockopt(zmq.LINGER, 5000)
        results.setsockopt(zmq.SNDHWM, 10_000)
        results_endpoint = _reachable(hello.results, self.control)
        if self.keys is not None:
            self.keys.apply(results, results_endpoint)
        connect(results, results_endpoint)
        offset = {k: 0 for k in COUNTERS}
        offset.update(hello.counters)
        if hello.resume is not None:
            state = resume_state(hello.resume, arrays)
            live.restore(state)
            subscriber.resume_at(state.t_resume)
        self._reported_gaps = 0
        self._missed = 0
        self._analysed_until: int | None = None  # the analysis series' last snapshot time
        self.live = live
        try:
            return self._loop(subscriber, results, offset)
        finally:
            subscriber.close()
            results.close()

    def _analysis(self, table: dict[str, Any]) -> LiveAnalysis:
        """Fresh live analyses of the ``[analysis]`` table ``table``."""
        return LiveAnalysis(self.metadata, SummarySettings.from_dict(table), every=self.every_ps)

    def _switch(self, segment: Segment, results, subscriber, offset) -> None:
        """End the current segment's analyses (their last snapshots) and begin ``segment``'s."""
        self._send(results, subscriber, offset, self.live.final())
        self.live = self._analysis(segment.table)
        self.segment = segment

    def _missed_switch(self, missed: int) -> Segment | None:
        """After a hole in the stream (``missed``: messages lost so far): a newer segment the
        run began meanwhile (the change in the stream may have been in the hole), else
        ``None``."""
        if missed == self._missed:
            return None
        self._missed = missed
        try:
            record, _ = request(self.context, self.control, {"op": "segment"}, 5, keys=self.keys)
            segment = Segment.from_record(record)
        except (ControlTimeout, TagstreamError):
            return None
        return segment if segment.number > self.segment.number else None

    def _loop(self, subscriber, results, offset) -> int:
        self.sequence = 0  # of the next bundle of snapshots
        last_progress, idle_since = 0.0, time.monotonic()
        unreported = None  # (sequence, t_end) of the last batch, when its progress is not sent
        ready = False
        while True:
            message = subscriber.receive(timeout_s=PROGRESS_EVERY_S if unreported else 1.0)
            if message is None:
                if unreported:  # caught up: the acquisition may be waiting for this
                    self._progress(results, subscriber, *unreported)
                    unreported, last_progress = None, time.monotonic()
                elif not self._run_alive(idle_since):
                    return 1
                elif time.monotonic() - idle_since > IDLE_CHECK_S:
                    idle_since = time.monotonic()
                continue
            idle_since = time.monotonic()
            if message.kind == Kind.RUN_HEADER and not ready:
                ready = True  # the data reach this worker: the run may start
                record = {"worker": self.name, "ready": True}
                results.send_multipart(encode_record(Kind.PROGRESS, 0, 0, record))
            elif message.kind == Kind.CONTROL:  # a new analysis segment
                self._take_control(message.record, results, subscriber, offset)
                unreported = (message.sequence, message.t_end)
            elif message.kind == Kind.BATCH:
                sent = self._take_batch(message.batch, results, subscriber, offset)
                unreported = (message.sequence, message.batch.t_end)
                if time.monotonic() - last_progress >= PROGRESS_EVERY_S or sent:
                    self._progress(results, subscriber, *unreported)
                    unreported, last_progress = None, time.monotonic()
            elif message.kind == Kind.END:
                if message.batch is not None:  # the stream's tail, lost on the way
                    self._take_batch(message.batch, results, subscriber, offset)
                self._send(results, subscriber, offset, self.live.final())
                done = {"worker": self.name, "op": "done", **self._counters(subscriber, offset)}
                results.send_multipart(encode_record(Kind.END, 0, self.sequence, done))
                return 0

    def _take_control(self, record: dict[str, Any], results, subscriber, offset) -> None:
        """A control record in the stream: a restart begins a newer segment here."""
        if record.get("op") == "restart":
            segment = Segment.from_record(record)
            if segment.number > self.segment.number:
                self._switch(segment, results, subscriber, offset)

    def _run_alive(self, idle_since: float) -> bool:
        """Whether the run this worker serves still exists (its process, when it started this
        worker; after a long silence, whether its control socket answers)."""
        if self.parent is not None and os.getppid() != self.parent:
            return False  # the run that started this worker is gone
        if time.monotonic() - idle_since > IDLE_CHECK_S:
            try:
                request(self.context, self.control, {"op": "status"}, 5, keys=self.keys)
            except ControlTimeout:
                return False
        return True

    def _take_batch(self, batch: TagBatch, results, subscriber, offset) -> bool:
        """Analyse a batch (after a hole, in the segment the run is in now) and send the
        snapshots due; whether there were some."""
        newer = self._missed_switch(subscriber.counters.missed)
        if newer is not None:
            self._switch(newer, results, subscriber, offset)
        batch = _after(batch, self.live)
        if batch is None:
            return False
        send = lambda taken: self._send(results, subscriber, offset, taken)  # noqa: E731
        return bool(self.live.process(batch, emit=send))

    def _send(self, results, subscriber, offset, snapshots: list) -> None:
        """Send the snapshots, one bundle per time they were taken at, named as stored in the
        current segment; the analysis series' own snapshot goes with the first bundle of each
        time (the fits of that time may follow in another)."""
        stored = self.segment.stored
        for t in sorted({s.covered_ps[1] for s in snapshots}):
            bundle = [replace(s, series=stored(s.series)) for s in snapshots
                      if s.covered_ps[1] == t]  # fmt: skip
            if t != self._analysed_until:
                self._analysed_until = t
                bundle.append(self._analysis_snapshot(subscriber, offset, bundle[0]))
            results.send_multipart(encode_snapshots(0, self.sequence, bundle))
            self.sequence += 1

    def _counters(self, subscriber: BatchSubscriber, offset: dict[str, int]) -> dict[str, int]:
        counters = subscriber.counters.to_dict()
        out = {k: int(counters.get(k, 0)) + int(offset.get(k, 0)) for k in COUNTERS}
        out["restarts"] = int(offset.get("restarts", 0))
        return out

    def _analysis_snapshot(self, subscriber, offset, like) -> Any:
        gaps = subscriber.counters.gaps
        new = np.asarray(gaps[self._reported_gaps :], dtype=np.int64).reshape(-1, 2)
        self._reported_gaps = len(gaps)
        return rs.analysis_snapshot(
            self._counters(subscriber, offset), new, like.covered_ps, like.live_ps
        )

    def _progress(self, results, subscriber, sequence: int, t_end: int) -> None:
        record = {
            "worker": self.name,
            "sequence": int(sequence),
            "t_end": int(t_end),
            "wall_time_s": time.time(),
            **subscriber.counters.to_dict(),
        }
        results.send_multipart(encode_record(Kind.PROGRESS, 0, int(sequence), record))


def _after(batch: TagBatch, live: LiveAnalysis) -> TagBatch | None:
    """The part of ``batch`` after the data the analysis already holds (a worker that resumed
    may first see batches it was restored past)."""
    t_end = live.covered_until
    if t_end is None or batch.t_begin >= t_end:
        return batch
    if batch.t_end <= t_end:
        return None
    return batch.slice_time(t_end, batch.t_end)


def _reachable(endpoint: str, control: str) -> str:
    """``endpoint`` as announced by the run, with a wildcard host (``*``, ``0.0.0.0``, ``::``)
    replaced by the host the control endpoint reached."""
    if not endpoint.startswith("tcp://") or not control.startswith("tcp://"):
        return endpoint
    host, port = endpoint[len("tcp://") :].rsplit(":", 1)
    if host.strip("[]") not in ("*", "0.0.0.0", "::"):
        return endpoint
    return f"{control.rsplit(':', 1)[0]}:{port}"
