"""The live pipeline: a source streamed over ZeroMQ to analysis workers, everything recorded.

The acquisition side (this module, in the process that runs ``tagstream run`` or ``replay``):

- the **main thread** reads the source, hands every batch to the recorder (a
  :class:`~tagstream.store.background.BackgroundWriter`: lossless) and publishes it;
- a **service thread** receives the workers' snapshots (stored in the run file) and progress
  reports, and answers the control socket: ``hello`` (a worker joins, or rejoins after a crash
  and gets the state to resume from), ``status`` and ``stop``;
- **workers** (:mod:`.worker`) run as threads for ``inproc://`` endpoints, else as child
  processes, or anywhere else (``tagstream worker --control ENDPOINT``). A local worker that dies
  is restarted; it resumes from the last snapshots, and the time in between is recorded as lost
  to the analysis (``results/analysis/gaps``), never to the recording.

Every socket but an ``inproc://`` one is a CURVE server with keys made for the run (or taken
from ``[pipeline] keys``): only the run's own workers, and workers holding the folder's keys,
get through (:mod:`tagstream.transport.security`). Streaming starts when the workers say the run's
header reached them. A worker that dies or never finishes leaves the time its results do not
cover recorded as lost to the analysis, and reported.

Sources that can wait (a file, a simulation at full speed) are held back while a worker is more
than ``in_flight`` messages behind, so their analysis loses nothing. Sources that cannot (hardware,
real-time simulation, paced replay) never wait: a worker that falls ``hwm`` messages behind loses
messages, which it reports as a gap.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from ..analysis.series import Snapshot
from ..analysis.stream import Coverage
from ..analysis.summary_settings import SummarySettings
from ..errors import TagstreamError
from ..kernels.channel_counts import channel_counts
from ..sources.paced import RealTimeLag, real_time_pace
from ..sources.run import Run
from ..store.background import BackgroundWriter
from ..store.run_writer import RunWriter
from ..tags import RunMetadata, TagBatch, format_time, parse_time
from ..tags import intervals as iv
from ..transport.control import reply_frames
from ..transport.security import (
    CONTROL,
    RESULTS,
    WORKER_KEYS_ENV,
    Gatekeeper,
    RunKeys,
    check_exposure,
    trusted_sender,
)
from ..transport.streams import MAX_PART_BYTES, BatchPublisher, bind
from ..transport.wire import Kind, WireError, decode
from . import result_series as rs
from .live_analysis import LiveAnalysis
from .messages import decode_snapshots, resume_arrays
from .resume import ResumeBook
from .run_config import OutputSettings, PipelineSettings, RunConfig
from .worker import PARENT_ENV, AnalysisWorker

#: Messages a source that can wait lets the slowest worker fall behind.
IN_FLIGHT = 8
#: Distinct notes kept about rejected messages (all are counted).
MAX_NOTES = 50
#: Results messages read in a row before the control socket is served, and seconds the results
#: still arriving at the end of a run are read for.
DRAIN_MESSAGES = 1000
DRAIN_TIMEOUT_S = 5.0
#: Largest control request accepted, bytes.
MAX_CONTROL_BYTES = 1 << 20
#: Seconds to wait for workers to subscribe at the start and to finish at the end.
WORKER_TIMEOUT_S = 60.0
#: Seconds a waiting source waits for a worker that makes no progress before going on.
STALL_TIMEOUT_S = 10.0
MAX_RESTARTS = 10
#: Seconds between repeats of the end of the stream while workers have not finished, and of
#: the run's header while they have not said they are ready.
END_REPEAT_S = 0.5
HEADER_REPEAT_S = 0.1
#: Data time over which count rates are averaged, ps.
RATE_WINDOW_PS = 10**12


@dataclass
class WorkerInfo:
    """A worker as the acquisition sees it."""

    name: str
    sequence: int  # last batch message it finished
    t_end: int | None = None
    latency_s: float = 0.0  # from publishing a batch to its analysis
    counters: dict[str, Any] = field(default_factory=dict)
    active: bool = True
    done: bool = False
    ready: bool = False  # the run's header reached it


@dataclass
class _LocalWorker:
    index: int
    name: str
    handle: subprocess.Popen | _WorkerThread
    finished: bool = False


class LivePipeline:
    """A source through ZeroMQ to the analysis workers, recorded to a run file.

    Parameters
    ----------
    source
        Where the tags come from.
    output
        The run file and how to write it.
    pipeline
        Endpoints, number of local workers, queue length.
    analysis
        Settings of the live analyses.
    analysis_table
        The same as given in the config (sent to the workers).
    config_text
        Stored in the run file.
    metadata
        The run's metadata as published (default: the source's).
    """

    def __init__(
        self,
        source: Run,
        output: OutputSettings,
        pipeline: PipelineSettings | None = None,
        analysis: SummarySettings | None = None,
        analysis_table: dict[str, Any] | None = None,
        config_text: str | None = None,
        metadata: RunMetadata | None = None,
    ):
        if output.path is None:
            raise TagstreamError("the run needs an output file ([output] path or -o)")
        self.source = source
        self.output = output
        self.settings = pipeline or PipelineSettings()
        self.analysis = analysis or SummarySettings()
        self.analysis_table = dict(analysis_table or {})
        self.config_text = config_text
        self.metadata = metadata or source.metadata
        self.every_ps = parse_time(output.results_every, "results interval")
        endpoints = {k: getattr(self.settings, k) for k in ("data", "results", "control")}
        check_exposure(endpoints, keyed=self.settings.keys is not None)
        self.keys = RunKeys.for_run(self.settings.keys)
        self._gate: Gatekeeper | None = None
        self.stop_requested = threading.Event()
        #: A second stop: stop waiting for the analysis too.
        self.hurry = threading.Event()
        self.stop_reason: str | None = None
        self.notes: list[str] = []
        self._noted: set[str] = set()
        self._lock = threading.Condition()
        self._workers: dict[str, WorkerInfo] = {}
        self._local: list[_LocalWorker] = []
        self._restarts = 0
        self._book = ResumeBook()
        self._acquired = Coverage()
        self._counts = np.zeros(256, dtype=np.int64)
        self._rates: collections.deque = collections.deque()
        self._published_at: dict[int, float] = {}
        # (end of the data published, ps; when) for the lag of the results
        self._published_until: collections.deque = collections.deque(maxlen=1 << 16)
        self._results_lag: tuple[float, float] | None = None  # (latest, largest), s
        pace = real_time_pace(source)
        #: How far a paced source falls behind the wall clock (``None``: not paced).
        self.source_lag = None if pace is None else RealTimeLag(pace, self.metadata.source)
        self._taken_at: float | None = None  # when the last batch was handed on
        self._published = 0
        self._malformed_results = 0
        self._malformed_control = 0
        self._refused_requests = 0  # control requests a guest may not make
        self._service_error: str | None = None
        self._service_stop = threading.Event()
        self._started = time.monotonic()
        #: Wall-clock marks (``time.monotonic``) of the run: ``first_batch`` (the workers
        #: joined and streaming began), ``source_done``, ``analysis_done``, ``file_done``.
        self.timing: dict[str, float] = {}
        self._end_sent = 0.0
        self._background: BackgroundWriter | None = None
        self.specs = (
            *LiveAnalysis(self.metadata, self.analysis, self.every_ps).specs,
            rs.analysis_spec(),
        )
        self._series_specs = {spec.name: spec for spec in self.specs}

    @classmethod
    def from_config(cls, source: Run, config: RunConfig, output: OutputSettings) -> LivePipeline:
        """The pipeline a run config describes, fed by ``source`` and writing ``output``."""
        return cls(
            source,
            output,
            config.pipeline,
            config.analysis,
            config.analysis_table,
            config.text,
            metadata=config.apply_channels(source.metadata),
        )

    # ------------------------------------------------------------------ public
    def stop(self, reason: str = "stopped") -> None:
        """Ask the run to end after the current batch (thread- and signal-safe); asked again,
        or once the source has ended, it stops waiting for the analysis as well."""
        if self.stop_requested.is_set() or "source_done" in self.timing:
            self.hurry.set()
        self.stop_reason = self.stop_reason or reason
        self.stop_requested.set()

    def run(self, duration_ps: int | None = None) -> Path:
        """Stream the source until it ends, ``duration_ps`` of data have passed, or
        :meth:`stop`; complete the run file and return its path. The sockets are bound
        before the file is created: a bind that fails leaves no file behind."""
        self._context = zmq.Context()
        self._gate = Gatekeeper(self._context, self.keys)
        self._gate.start()
        try:
            self._open_sockets()
            try:
                writer = RunWriter(
                    self.output.path,
                    self.metadata,
                    force=self.output.force,
                    config_text=self.config_text,
                    compression=self.output.compression,
                    truth=self.source.truth,
                    series=self.specs,
                )
            except BaseException:
                self._close_sockets()
                raise
            with BackgroundWriter(writer) as background:
                self._background = background
                service = threading.Thread(target=self._serve, name="tagstream-service")
                service.start()
                try:
                    self._start_workers()
                    self._stream(duration_ps)
                    self.timing["source_done"] = time.monotonic()
                    if self.source_lag is not None and self.source_lag.behind:
                        self._note(self.source_lag.warning(final=True))
                    self._wait_for_workers()
                    self.timing["analysis_done"] = time.monotonic()
                finally:
                    self._service_stop.set()
                    service.join()
                    self._stop_workers()
                    self._close_sockets()
                self._account_unanalysed()
                out = background.finish(duration_ps=self._duration_ps())
                self.timing["file_done"] = time.monotonic()
                for note in background.notes:
                    self._note(note)
                return out
        finally:
            self._gate.stop()
            self._context.term()

    def status(self) -> dict[str, Any]:
        """Rates, lag, losses and the writer's queue, now (thread-safe)."""
        with self._lock:
            now = time.monotonic()
            workers = {}
            for w in self._workers.values():
                if not w.active and w.done is False:
                    continue
                waiting = self._published_at.get(w.sequence + 1)
                lag = max(w.latency_s, now - waiting) if waiting is not None else w.latency_s
                workers[w.name] = {
                    "t_end_s": None if w.t_end is None else w.t_end * 1e-12,
                    "lag_s": 0.0 if w.done else lag,
                    "done": w.done,
                    **{k: w.counters.get(k, 0) for k in ("received", "malformed", "missed")},
                }
            t_end = self._acquired.t_end
            return {
                "t_s": None if t_end is None else (t_end - (self._acquired.t_begin or 0)) * 1e-12,
                "tags": int(self._counts.sum()),
                "rates_cps": self._rates_cps(),
                "published": self._published,
                "workers": workers,
                "lag_s": max((w["lag_s"] for w in workers.values()), default=None),
                "results_lag_s": None if self._results_lag is None else self._results_lag[0],
                "results_lag_max_s": None if self._results_lag is None else self._results_lag[1],
                "source_lag_s": None if self.source_lag is None else self.source_lag.lag_s,
                "source_warning": None if self.source_lag is None else self.source_lag.warning(),
                "malformed": sum(w["malformed"] for w in workers.values()),
                "malformed_results": self._malformed_results,
                "malformed_control": self._malformed_control,
                "malformed_subscriptions": (
                    0 if self._publisher is None else self._publisher.malformed
                ),
                "refused_peers": 0 if self._gate is None else self._gate.refused,
                "refused_requests": self._refused_requests,
                "service_error": self._service_error,
                "dropped_snapshots": (
                    0 if self._background is None else self._background.dropped_snapshots
                ),
                "missed": sum(w["missed"] for w in workers.values()),
                "analysis_gaps": len(self._book.lost),
                "restarts": self._restarts,
                "writer_queue_mb": (
                    0.0 if self._background is None else self._background.pending_bytes / 1e6
                ),
                "wall_s": now - self._started,
                "stopping": self.stop_requested.is_set(),
            }

    def latest(self) -> dict[str, Any]:
        """The latest snapshot of each result series (thread-safe)."""
        with self._lock:
            return dict(self._book.latest)

    # ------------------------------------------------------------------ sockets
    _publisher: BatchPublisher | None = None

    def _open_sockets(self) -> None:
        """Bind the data, results and control sockets; on a failure close those opened (else
        the context would wait for them forever) and raise."""
        self._publisher = self._results = self._control = None
        try:
            self._bind_sockets()
        except BaseException:
            if self._publisher is not None:
                self._publisher.close()
            for socket in (self._results, self._control):
                if socket is not None:
                    socket.close(0)
            raise

    def _bind_sockets(self) -> None:
        ctx, s = self._context, self.settings
        self._publisher = BatchPublisher(ctx, s.data, hwm=s.hwm, keys=self.keys)
        self._results = ctx.socket(zmq.PULL)
        self._results.setsockopt(zmq.LINGER, 0)
        self._results.setsockopt(zmq.MAXMSGSIZE, MAX_PART_BYTES)
        self.keys.apply(self._results, s.results, RESULTS)
        self._results_endpoint = bind(self._results, s.results)
        self._control = ctx.socket(zmq.REP)
        self._control.setsockopt(zmq.LINGER, 0)
        self._control.setsockopt(zmq.MAXMSGSIZE, MAX_CONTROL_BYTES)
        self.keys.apply(self._control, s.control, CONTROL)
        self.control_endpoint = bind(self._control, s.control)

    def _close_sockets(self) -> None:
        self._publisher.poll_subscriptions()  # count what subscribers sent to the end
        self._publisher.close()
        self._results.close(0)
        self._control.close(0)

    # ------------------------------------------------------------------ main thread
    def _stream(self, duration_ps: int | None) -> None:
        self._wait_until_ready(max(self.settings.workers, 1))
        batches = self.source.batches()
        end = None
        try:
            for batch in batches:
                if end is None and duration_ps is not None:
                    end = batch.t_begin + duration_ps
                if end is not None and batch.t_begin >= end:
                    break
                if end is not None and batch.t_end > end:
                    batch = batch.slice_time(batch.t_begin, end)
                self._take(batch)
                if self.stop_requested.is_set():
                    break
        finally:
            batches.close()
        self._send_end()

    def _wait_until_ready(self, expected: int) -> None:
        """Send the run's header until ``expected`` workers said it reached them (their
        subscription is live), or :data:`WORKER_TIMEOUT_S` passed, or the run was stopped."""
        deadline = time.monotonic() + WORKER_TIMEOUT_S
        while True:
            self._publisher.poll_subscriptions()
            self._publisher.send_header(self.metadata)
            with self._lock:
                ready = sum(w.ready for w in self._workers.values())
                if ready >= expected:
                    return
                if time.monotonic() > deadline or self.stop_requested.is_set():
                    when = " before the run was stopped" if self.stop_requested.is_set() else ""
                    self._note_locked(f"{ready} of {expected} analysis workers joined{when}")
                    return
                self._lock.wait(HEADER_REPEAT_S)
            self._supervise()

    def _send_end(self) -> None:
        """The end of the stream (sent again while workers wait for it: a worker whose queue
        is full when it goes out loses it like any message)."""
        t_end = self._acquired.t_end
        self._publisher.send_end(0 if t_end is None else t_end)
        self._end_sent = time.monotonic()

    def _take(self, batch: TagBatch) -> None:
        """Record a batch, then publish it (after the slowest worker caught up, if the source
        can wait)."""
        arrived = time.monotonic()
        self.timing.setdefault("first_batch", arrived)
        self._background.append(batch)
        counts = channel_counts(batch.channels)
        with self._lock:
            if self.source_lag is not None:  # (the wait for this batch: the source's time)
                waited = 0.0 if self._taken_at is None else arrived - self._taken_at
                self.source_lag.observe(batch.t_end, arrived, waited)
            self._acquired.add(batch)
            self._counts += counts
            self._rates.append((batch.t_end, self._counts.copy()))
            while len(self._rates) > 2 and self._rates[1][0] <= batch.t_end - RATE_WINDOW_PS:
                self._rates.popleft()
        if not self.source.paced:
            self._wait_for_progress()
        sent_at = time.monotonic()
        used = self._publisher.send_batch(batch)
        with self._lock:
            for seq in used:
                self._published_at[seq] = sent_at
            self._published_until.append((batch.t_end, sent_at))
            self._published = self._publisher.sequence
        self._publisher.poll_subscriptions()
        self._supervise()
        self._taken_at = time.monotonic()

    def _wait_for_progress(self) -> None:
        deadline = time.monotonic() + STALL_TIMEOUT_S
        with self._lock:
            while True:
                active = [w for w in self._workers.values() if w.active and not w.done]
                joining = any(not w.finished and w.name not in self._workers for w in self._local)
                slowest = min((w.sequence for w in active), default=None)
                caught_up = slowest is None or self._publisher.sequence - 1 - slowest < IN_FLIGHT
                if caught_up and not joining:  # a started worker (a replacement) joins first
                    return
                if time.monotonic() > deadline:
                    self._note_locked(f"a worker made no progress for {STALL_TIMEOUT_S:g} s")
                    return
                if self.hurry.is_set() or self._service_error is not None:
                    return
                self._lock.wait(0.05)
                self._lock.release()
                try:
                    self._supervise()
                finally:
                    self._lock.acquire()

    def _wait_for_workers(self) -> None:
        """Wait until every active worker has sent its last snapshots."""
        deadline = time.monotonic() + WORKER_TIMEOUT_S
        with self._lock:
            while True:
                pending = [w for w in self._workers.values() if w.active and not w.done]
                # local workers started (a replacement, say) that have not joined yet
                pending += [
                    w for w in self._local if not w.finished and w.name not in self._workers
                ]
                if not pending:
                    return
                if time.monotonic() > deadline:
                    self._note_locked(f"{len(pending)} worker(s) did not finish")
                    return
                if self.hurry.is_set():
                    self._note_locked(f"stopped waiting for {len(pending)} worker(s)")
                    return
                if self._service_error is not None:
                    return
                self._lock.wait(0.1)
                self._lock.release()
                try:
                    self._supervise(restart=False)
                    if time.monotonic() - self._end_sent > END_REPEAT_S:
                        self._send_end()
                finally:
                    self._lock.acquire()

    def _account_unanalysed(self) -> None:
        """Record the time at the end of the run that no results cover (a worker died or did
        not finish) as lost to the analysis: in the run file and in the report."""
        t_begin, t_end = self._acquired.t_begin, self._acquired.t_end
        if t_begin is None or t_end <= t_begin:
            return
        with self._lock:
            # every bundle of results a worker sends carries the analysis series' snapshot
            # (a series may skip one: the blinking fits when they take too long)
            last = self._book.latest.get(rs.ANALYSIS)
            until = t_begin if last is None else max(t_begin, last.covered_ps[1])
            if until >= t_end:
                return
            lost = iv.subtract(np.array([[until, t_end]], np.int64), self._book.lost)
            if not len(lost):
                return
            counters = {**self._book.counters(), "restarts": self._restarts}
            live_ps = iv.total(iv.clip(self._acquired.intervals(), until, t_end))
            snapshot = rs.analysis_snapshot(counters, lost, (until, t_end), live_ps)
            self._book.add(snapshot)
            self._note_locked(
                f"the analysis results end at {format_time(until - t_begin)} of "
                f"{format_time(t_end - t_begin)}: the rest is recorded but not analysed live"
            )
        self._background.add_snapshot(snapshot)

    def _duration_ps(self) -> int | None:
        t0, t1 = self._acquired.t_begin, self._acquired.t_end
        return None if t0 is None else t1 - t0

    # ------------------------------------------------------------------ workers
    def _start_workers(self) -> None:
        for index in range(self.settings.workers):
            self._local.append(self._launch(index, f"local-{index}"))

    def _launch(self, index: int, name: str) -> _LocalWorker:
        if self.settings.data.startswith("inproc://"):
            worker = AnalysisWorker(self.control_endpoint, self._context, name, self.keys.local)
            handle = _WorkerThread(worker)
            handle.start()
        else:
            command = [sys.executable, "-m", "tagstream", "worker"]
            command += ["--control", self.control_endpoint, "--name", name]
            env = {
                **os.environ,
                WORKER_KEYS_ENV: self.keys.local.to_env(),  # never on a command line
                PARENT_ENV: str(os.getpid()),
            }
            # a session of its own: Ctrl-C at the terminal reaches only the acquisition, which
            # ends the stream in order
            handle = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, start_new_session=True, env=env
            )
        return _LocalWorker(index, name, handle)

    def _supervise(self, restart: bool = True) -> None:
        """Restart local workers that died (up to :data:`MAX_RESTARTS` in all)."""
        for k, local in enumerate(self._local):
            if local.finished or _alive(local.handle):
                continue
            local.finished = True
            if _exit_code(local.handle) == 0:  # its last records may still be on their way
                continue
            with self._lock:
                info = self._workers.get(local.name)
                ended = info is not None and info.done
                if info is not None:
                    info.active = False
                self._lock.notify_all()
            if ended:
                continue
            if not restart or self._restarts >= MAX_RESTARTS or self.stop_requested.is_set():
                self._note(f"analysis worker {local.name} died")
                continue
            with self._lock:
                self._restarts += 1
                restarts = self._restarts
            self._local[k] = self._launch(local.index, f"local-{local.index}.{restarts}")

    def _stop_workers(self) -> None:
        for local in self._local:
            handle = local.handle
            if isinstance(handle, subprocess.Popen):
                try:
                    handle.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    handle.kill()
                    handle.wait()

    # ------------------------------------------------------------------ service thread
    def _serve(self) -> None:
        """The service thread; should it fail, the run goes on recording and says so."""
        try:
            self._serve_forever()
        except Exception as exc:  # a bug, not a peer: every message is handled below
            self._service_error = f"{type(exc).__name__}: {exc}"[:300]
            self._note(f"live results and control stopped: {self._service_error}")
            with self._lock:
                self._lock.notify_all()

    def _serve_forever(self) -> None:
        poller = zmq.Poller()
        poller.register(self._results, zmq.POLLIN)
        poller.register(self._control, zmq.POLLIN)
        deadline = None  # once asked to stop: the results still queued are taken until then
        while True:
            events = dict(poller.poll(50))
            if self._results in events:
                for _ in range(DRAIN_MESSAGES):  # then the control socket gets its turn
                    if not self._results.poll(0):
                        break
                    self._on_result(self._results.recv_multipart(copy=False))
            if self._control in events:
                self._on_control(self._control.recv_multipart(copy=False))
            if self._service_stop.is_set():
                deadline = deadline or time.monotonic() + DRAIN_TIMEOUT_S
                if not self._results.poll(0):
                    return
                if time.monotonic() > deadline:
                    self._note("results still arriving when the run ended were not read")
                    return

    def _on_result(self, frames: list) -> None:
        """One message on the results socket; anything malformed is counted, never fatal."""
        try:
            self._take_result(frames)
        except Exception as exc:  # whatever a peer sends, the service goes on
            with self._lock:
                self._malformed_results += 1
                self._note_locked(f"results: {str(exc)[:300]}")

    def _take_result(self, frames: list) -> None:
        received = time.monotonic()
        message = decode(frames)
        if message.kind == Kind.SNAPSHOT:
            snapshots = [self._checked(s) for s in decode_snapshots(message.record, message.arrays)]
        elif message.kind == Kind.PROGRESS and message.record.get("ready") is True:
            progress = None
        elif message.kind in (Kind.PROGRESS, Kind.END):
            progress = _progress(message.record, message.kind)
        else:
            raise WireError(f"a {message.kind.name} message on the results socket")
        if message.kind == Kind.SNAPSHOT:
            for snapshot in snapshots:
                self._background.add_snapshot(snapshot)
            with self._lock:
                for snapshot in snapshots:
                    self._book.add(snapshot)
                if snapshots:
                    self._note_results_lag(snapshots[0].covered_ps[1], received)
            return
        record = message.record
        with self._lock:
            info = self._workers.get(str(record.get("worker")))
            if info is None:
                raise WireError(f"a report from worker {str(record.get('worker'))[:40]!r}, unknown")
            if progress is None:
                info.ready = True
            elif message.kind == Kind.END:
                info.done = True
                info.counters.update(progress)
            else:
                info.sequence = max(info.sequence, progress["sequence"])
                info.t_end = progress["t_end"]
                info.counters = progress
                sent = self._published_at.get(info.sequence)
                if sent is not None:
                    info.latency_s = received - sent
                self._prune_published()
            self._lock.notify_all()

    def _checked(self, snapshot: Snapshot) -> Snapshot:
        """A snapshot of one of the run's series, its values of the stored types."""
        spec = self._series_specs.get(snapshot.series)
        if spec is None:
            raise WireError(f"a snapshot of series {snapshot.series[:40]!r}, not one of the run's")
        return spec.checked(snapshot)

    def _note_results_lag(self, t_ps: int, received: float) -> None:
        """Results covering the data up to ``t_ps`` arrived at ``received``: how long after the
        acquisition published those data."""
        published = self._published_until
        while published and published[0][0] < t_ps:
            published.popleft()
        if not published:
            return
        lag = received - published[0][1]
        largest = max(lag, self._results_lag[1]) if self._results_lag else lag
        self._results_lag = (lag, largest)

    def _prune_published(self) -> None:
        active = [w.sequence for w in self._workers.values() if w.active and not w.done]
        floor = min(active, default=self._published) - 1
        for seq in [s for s in self._published_at if s < floor]:
            del self._published_at[seq]

    def _on_control(self, frames: list) -> None:
        """One control request; every one gets a reply (an error for a malformed one, which is
        counted, or for one the sender's key does not allow)."""
        trusted = bool(frames) and trusted_sender(frames[0], self.settings.control)
        try:
            message = decode(frames)
            if message.kind != Kind.CONTROL or message.record is None:
                raise WireError(f"a {message.kind.name} message on the control socket")
            record, arrays = self._answer(message.record, trusted)
        except _Refused as exc:
            record, arrays = {"error": str(exc)}, None
            with self._lock:
                self._refused_requests += 1
        except Exception as exc:  # whatever a peer sends, it gets an answer and the run goes on
            record, arrays = {"error": _printable(str(exc), 300)}, None
            with self._lock:
                self._malformed_control += 1
        self._control.send_multipart(reply_frames(record, arrays))

    def _answer(self, request: dict[str, Any], trusted: bool) -> tuple[dict[str, Any], dict | None]:
        op = request.get("op")
        if op == "status":
            return self.status(), None
        if op not in ("stop", "hello"):
            raise TagstreamError(f"unknown request {_printable(str(op), 40)!r}")
        if not trusted:
            raise _Refused(f"{op!r} needs a key the run trusts (status is open to all)")
        if op == "stop":
            self.stop(_printable(str(request.get("reason", "stopped by request"))))
            return {"ok": True}, None
        worker = request.get("worker")
        if type(worker) is not str or not worker.isprintable() or not 0 < len(worker) <= 200:
            raise TagstreamError("hello: worker must be a name of 1 to 200 printable characters")
        return self._hello(worker)

    def _hello(self, name: str) -> tuple[dict[str, Any], dict | None]:
        with self._lock:
            t_begin = self._acquired.t_begin
            resume, arrays = None, None
            if t_begin is not None:
                state = self._book.state(t_begin, self._acquired.intervals())
                resume, arrays = resume_arrays(state)
            counters = self._book.counters()
            counters["restarts"] = self._restarts
            self._workers[name] = WorkerInfo(name, sequence=self._published - 1)
            self._lock.notify_all()
        reply = {
            "metadata": self.metadata.to_dict(),
            "settings": self.analysis_table,
            "every_ps": self.every_ps,
            "data": self._publisher.endpoint,
            "results": self._results_endpoint,
            "hwm": self.settings.hwm,
            "resume": resume,
            "counters": counters,
        }
        return reply, arrays

    # ------------------------------------------------------------------ helpers
    def _rates_cps(self) -> dict[str, float]:
        if len(self._rates) < 2:
            return {}
        (t0, c0), (t1, c1) = self._rates[0], self._rates[-1]
        if t1 <= t0:
            return {}
        rate = (c1 - c0) * 1e12 / (t1 - t0)
        return {c.name: float(rate[c.number]) for c in self.metadata.channels}

    def _note(self, text: str) -> None:
        with self._lock:
            self._note_locked(text)

    def _note_locked(self, text: str) -> None:
        if len(self._noted) < MAX_NOTES and text not in self._noted:
            self._noted.add(text)
            self.notes.append(text)


class _Refused(TagstreamError):
    """A control request the sender's key does not allow."""


def _printable(text: str, limit: int = 200) -> str:
    """Text a peer sent, safe to print: no control characters (terminal escapes), bounded."""
    return "".join(c if c.isprintable() else "?" for c in text[:limit])


def _progress(record: dict[str, Any], kind: Kind) -> dict[str, int]:
    """The counters of a worker's progress or end report, checked: whole numbers (a progress
    report must say how far it got)."""
    needed = ("sequence", "t_end") if kind == Kind.PROGRESS else ()
    out = {}
    for key in (*needed, "received", "malformed", "missed"):
        value = record.get(key, None if key in needed else 0)
        if type(value) is not int:
            raise WireError(f"a progress report with {key} = {str(value)[:40]!r}")
        out[key] = value
    return out


class _WorkerThread(threading.Thread):
    """A local worker in a thread; :attr:`exit_code` is set when it returns (not when it
    fails)."""

    def __init__(self, worker: AnalysisWorker):
        super().__init__(name=f"tagstream-{worker.name}", daemon=True)
        self.worker = worker
        self.exit_code: int | None = None

    def run(self) -> None:
        try:
            self.exit_code = self.worker.run()
        except zmq.ContextTerminated:  # the run ended without waiting for it (a second stop)
            self.exit_code = 1


def _alive(handle: subprocess.Popen | _WorkerThread) -> bool:
    if isinstance(handle, subprocess.Popen):
        return handle.poll() is None
    return handle.is_alive()


def _exit_code(handle: subprocess.Popen | _WorkerThread) -> int | None:
    return handle.poll() if isinstance(handle, subprocess.Popen) else handle.exit_code
