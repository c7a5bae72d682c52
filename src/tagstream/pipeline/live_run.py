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

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from ..analysis.measurement import build_measurements
from ..analysis.series import SeriesSpec, Snapshot
from ..analysis.summary_settings import SummarySettings, resolve_settings
from ..errors import TagstreamError
from ..kernels.channel_counts import channel_counts
from ..sources.paced import RealTimeLag, real_time_pace
from ..sources.run import Run
from ..store.background import BackgroundWriter
from ..store.run_writer import RunWriter
from ..tags import RunMetadata, TagBatch, format_time, parse_time
from ..tags import intervals as iv
from ..transport.security import CONTROL, RESULTS, Gatekeeper, RunKeys, check_exposure
from ..transport.streams import MAX_PART_BYTES, BatchPublisher, bind
from ..transport.wire import WireError
from . import result_series as rs
from .control_messages import (
    HelloReply,
    HelloRequest,
    Request,
    StatusRequest,
    StopRequest,
    WorkerReport,
)
from .messages import resume_arrays
from .meters import RunMeters
from .resume import ResumeBook
from .run_config import OutputSettings, PipelineSettings, RunConfig
from .service import RunService
from .worker_pool import Launcher, WorkerInfo, WorkerPool

#: Messages a source that can wait lets the slowest worker fall behind.
IN_FLIGHT = 8
#: Distinct notes kept about rejected messages (all are counted).
MAX_NOTES = 50
#: Largest control request accepted, bytes.
MAX_CONTROL_BYTES = 1 << 20
#: Seconds to wait for workers to subscribe at the start and to finish at the end.
WORKER_TIMEOUT_S = 60.0
#: Seconds a waiting source waits for a worker that makes no progress before going on.
STALL_TIMEOUT_S = 10.0
#: Seconds between repeats of the end of the stream while workers have not finished, and of
#: the run's header while they have not said they are ready.
END_REPEAT_S = 0.5
HEADER_REPEAT_S = 0.1


def live_series(metadata: RunMetadata, settings: SummarySettings) -> tuple[SeriesSpec, ...]:
    """The result series a live run of ``settings`` keeps: each live measurement's, then the
    pipeline's own ``analysis`` series."""
    resolved, notes = resolve_settings(settings, metadata)
    built = build_measurements(resolved, metadata, notes, live=True)
    return (*(spec for m in built for spec in m.series()), rs.analysis_spec())


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
        self.workers = WorkerPool(self._lock, self.note)
        self._book = ResumeBook()
        pace = real_time_pace(source)
        #: How far a paced source falls behind the wall clock (``None``: not paced).
        self.source_lag = None if pace is None else RealTimeLag(pace, self.metadata.source)
        self.meters = RunMeters(self.source_lag)
        self._published = 0
        self._service: RunService | None = None
        self._started = time.monotonic()
        #: Wall-clock marks (``time.monotonic``) of the run: ``first_batch`` (the workers
        #: joined and streaming began), ``source_done``, ``analysis_done``, ``file_done``.
        self.timing: dict[str, float] = {}
        self._end_sent = 0.0
        self._background: BackgroundWriter | None = None
        self.specs = live_series(self.metadata, self.analysis)
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
                self._service = RunService(
                    self._results, self._control, self.control_endpoint, self
                )
                self._service.on_error = self._wake
                self._service.start()
                try:
                    self._start_workers()
                    self._stream(duration_ps)
                    self.timing["source_done"] = time.monotonic()
                    if self.source_lag is not None and self.source_lag.behind:
                        self.note(self.source_lag.warning(final=True))
                    self._wait_for_workers()
                    self.timing["analysis_done"] = time.monotonic()
                finally:
                    self._service.stop()
                    self.workers.stop()
                    self._close_sockets()
                self._account_unanalysed()
                out = background.finish(duration_ps=self.meters.duration_ps())
                self.timing["file_done"] = time.monotonic()
                for note in background.notes:
                    self.note(note)
                return out
        finally:
            self._gate.stop()
            self._context.term()

    def status(self) -> dict[str, Any]:
        """Rates, lag, losses and the writer's queue, now (thread-safe)."""
        service, background, meters = self._service, self._background, self.meters
        with self._lock:
            now = time.monotonic()
            workers = {}
            for w in self.workers.joined.values():
                if not w.active and w.done is False:
                    continue
                waiting = meters.published_at.get(w.sequence + 1)
                lag = max(w.latency_s, now - waiting) if waiting is not None else w.latency_s
                workers[w.name] = {
                    "t_end_s": None if w.t_end is None else w.t_end * 1e-12,
                    "lag_s": 0.0 if w.done else lag,
                    "done": w.done,
                    **{k: w.counters.get(k, 0) for k in ("received", "malformed", "missed")},
                }
            acquired = meters.acquired
            t_end = acquired.t_end
            results_lag, results_lag_max = meters.results_lag_s
            return {
                "t_s": None if t_end is None else (t_end - (acquired.t_begin or 0)) * 1e-12,
                "tags": int(meters.counts.sum()),
                "rates_cps": meters.rates_cps(self.metadata.channels),
                "published": self._published,
                "workers": workers,
                "lag_s": max((w["lag_s"] for w in workers.values()), default=None),
                "results_lag_s": results_lag,
                "results_lag_max_s": results_lag_max,
                "source_lag_s": None if self.source_lag is None else self.source_lag.lag_s,
                "source_warning": None if self.source_lag is None else self.source_lag.warning(),
                "malformed": sum(w["malformed"] for w in workers.values()),
                "malformed_results": 0 if service is None else service.malformed_results,
                "malformed_control": 0 if service is None else service.malformed_control,
                "malformed_subscriptions": (
                    0 if self._publisher is None else self._publisher.malformed
                ),
                "refused_peers": 0 if self._gate is None else self._gate.refused,
                "refused_requests": 0 if service is None else service.refused_requests,
                "service_error": None if service is None else service.error,
                "dropped_snapshots": 0 if background is None else background.dropped_snapshots,
                "missed": sum(w["missed"] for w in workers.values()),
                "analysis_gaps": len(self._book.lost),
                "restarts": self.workers.restarts,
                "writer_queue_mb": 0.0 if background is None else background.pending_bytes / 1e6,
                "wall_s": now - self._started,
                "stopping": self.stop_requested.is_set(),
            }

    def latest(self) -> dict[str, Any]:
        """The latest snapshot of each result series (thread-safe)."""
        with self._lock:
            return dict(self._book.latest)

    def note(self, text: str) -> None:
        """Say something in the run's report (at most :data:`MAX_NOTES` distinct notes)."""
        with self._lock:
            self._note_locked(text)

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
    def _start_workers(self) -> None:
        inproc = self.settings.data.startswith("inproc://")
        launch = Launcher(self.control_endpoint, inproc, self._context, self.keys.local)
        self.workers.start(self.settings.workers, launch)

    def _supervise(self, restart: bool = True) -> None:
        self.workers.supervise(restart, self.stop_requested.is_set())

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
                ready = self.workers.ready()
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
        t_end = self.meters.acquired.t_end
        self._publisher.send_end(0 if t_end is None else t_end)
        self._end_sent = time.monotonic()

    def _take(self, batch: TagBatch) -> None:
        """Record a batch, then publish it (after the slowest worker caught up, if the source
        can wait). Its tags per channel are counted once, for the rates and the run file."""
        arrived = time.monotonic()
        self.timing.setdefault("first_batch", arrived)
        counts = channel_counts(batch.channels)
        self._background.append(batch, counts)
        with self._lock:
            self.meters.took(batch, counts, arrived)
        if not self.source.paced:
            self._wait_for_progress()
        sent_at = time.monotonic()
        used = self._publisher.send_batch(batch)
        with self._lock:
            self.meters.published(used, batch.t_end, sent_at)
            self._published = self._publisher.sequence
        self._publisher.poll_subscriptions()
        self._supervise()
        self.meters.handed_on(time.monotonic())

    def _wait_for_progress(self) -> None:
        deadline = time.monotonic() + STALL_TIMEOUT_S
        with self._lock:
            while True:
                slowest = min((w.sequence for w in self.workers.active()), default=None)
                caught_up = slowest is None or self._publisher.sequence - 1 - slowest < IN_FLIGHT
                if caught_up and not self.workers.joining():  # a replacement joins first
                    return
                if time.monotonic() > deadline:
                    self._note_locked(f"a worker made no progress for {STALL_TIMEOUT_S:g} s")
                    return
                if self.hurry.is_set() or self._service.error is not None:
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
                pending = [*self.workers.active(), *self.workers.joining()]
                if not pending:
                    return
                if time.monotonic() > deadline:
                    self._note_locked(f"{len(pending)} worker(s) did not finish")
                    return
                if self.hurry.is_set():
                    self._note_locked(f"stopped waiting for {len(pending)} worker(s)")
                    return
                if self._service.error is not None:
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
        acquired = self.meters.acquired
        t_begin, t_end = acquired.t_begin, acquired.t_end
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
            counters = {**self._book.counters(), "restarts": self.workers.restarts}
            live_ps = iv.total(iv.clip(acquired.intervals(), until, t_end))
            snapshot = rs.analysis_snapshot(counters, lost, (until, t_end), live_ps)
            self._book.add(snapshot)
            self._note_locked(
                f"the analysis results end at {format_time(until - t_begin)} of "
                f"{format_time(t_end - t_begin)}: the rest is recorded but not analysed live"
            )
        self._background.add_snapshot(snapshot)

    # ------------------------------------------------------------------ the service thread's
    def take_snapshots(self, snapshots: list[Snapshot], received: float) -> None:
        """Store a worker's snapshots (each checked against its series first)."""
        checked = [self._checked(s) for s in snapshots]
        for snapshot in checked:
            self._background.add_snapshot(snapshot)
        with self._lock:
            for snapshot in checked:
                self._book.add(snapshot)
            if checked:
                self.meters.results_arrived(checked[0].covered_ps[1], received)

    def take_report(self, report: WorkerReport, received: float) -> None:
        """A worker is ready, reports progress, or is done."""
        with self._lock:
            info = self.workers.joined.get(report.worker)
            if info is None:
                raise WireError(f"a report from worker {report.worker[:40]!r}, unknown")
            if report.kind == "ready":
                info.ready = True
            elif report.kind == "end":
                info.done = True
                info.counters.update(report.counters)
            else:
                progress = report.counters
                info.sequence = max(info.sequence, progress["sequence"])
                info.t_end = progress["t_end"]
                info.counters = progress
                sent = self.meters.published_at.get(info.sequence)
                if sent is not None:
                    info.latency_s = received - sent
                floor = min((w.sequence for w in self.workers.active()), default=self._published)
                self.meters.forget_before(floor - 1)
            self._lock.notify_all()

    def answer(self, request: Request) -> tuple[dict[str, Any], dict | None]:
        """The reply to a control request."""
        if isinstance(request, StatusRequest):
            return self.status(), None
        if isinstance(request, StopRequest):
            self.stop(request.reason)
            return {"ok": True}, None
        assert isinstance(request, HelloRequest)
        return self._hello(request.worker)

    def _checked(self, snapshot: Snapshot) -> Snapshot:
        """A snapshot of one of the run's series, its values of the stored types."""
        spec = self._series_specs.get(snapshot.series)
        if spec is None:
            raise WireError(f"a snapshot of series {snapshot.series[:40]!r}, not one of the run's")
        return spec.checked(snapshot)

    def _hello(self, name: str) -> tuple[dict[str, Any], dict | None]:
        with self._lock:
            t_begin = self.meters.acquired.t_begin
            resume, arrays = None, None
            if t_begin is not None:
                state = self._book.state(t_begin, self.meters.acquired.intervals())
                resume, arrays = resume_arrays(state)
            counters = self._book.counters()
            counters["restarts"] = self.workers.restarts
            self.workers.joined[name] = WorkerInfo(name, sequence=self._published - 1)
            self._lock.notify_all()
        reply = HelloReply(
            metadata=self.metadata.to_dict(),
            settings=self.analysis_table,
            every_ps=self.every_ps,
            data=self._publisher.endpoint,
            results=self._results_endpoint,
            hwm=self.settings.hwm,
            resume=resume,
            counters=counters,
        )
        return reply.to_record(), arrays

    # ------------------------------------------------------------------ helpers
    def _wake(self) -> None:
        with self._lock:
            self._lock.notify_all()

    def _note_locked(self, text: str) -> None:
        if len(self._noted) < MAX_NOTES and text not in self._noted:
            self._noted.add(text)
            self.notes.append(text)
