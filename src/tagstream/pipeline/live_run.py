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

import zmq

from ..analysis.measurement import build_measurements
from ..analysis.series import SeriesSpec
from ..analysis.summary_settings import SummarySettings, resolve_settings
from ..errors import TagstreamError
from ..kernels.channel_counts import channel_counts
from ..sources.paced import RealTimeLag, real_time_pace
from ..sources.run import Run
from ..sources.virtual_run import with_virtual_channels
from ..store.background import BackgroundWriter
from ..store.run_writer import RunWriter
from ..tags import RunMetadata, TagBatch, parse_time
from ..transport.security import Gatekeeper, RunKeys, check_exposure
from . import result_series as rs
from . import waits
from .control_messages import Request
from .meters import RunMeters
from .run_config import OutputSettings, PipelineSettings, RunConfig
from .run_control import answer
from .run_results import RunResults
from .run_sockets import RunSockets
from .run_status import RunNotes, run_status
from .segment_start import start_segment
from .segments import RUN_SERIES, Segments, events_spec, segment_specs
from .service import RunService
from .worker_pool import Launcher, WorkerPool


def live_series(metadata: RunMetadata, settings: SummarySettings) -> tuple[SeriesSpec, ...]:
    """The result series a live run of ``settings`` keeps: each live measurement's, then the
    pipeline's own ``analysis`` and ``events`` series."""
    resolved, notes = resolve_settings(settings, metadata)
    built = build_measurements(resolved, metadata, notes, live=True)
    own = (rs.analysis_spec(), events_spec())
    return (*(spec for m in built for spec in m.series()), *own)


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
        self.gate: Gatekeeper | None = None
        self.sockets: RunSockets | None = None
        self.stop_requested = threading.Event()
        #: A second stop: stop waiting for the analysis too.
        self.hurry = threading.Event()
        self.stop_reason: str | None = None
        self.lock = threading.Condition()
        self.notes = RunNotes(self.lock)
        self.workers = WorkerPool(self.lock, self.notes.add)
        pace = real_time_pace(source)
        #: How far a paced source falls behind the wall clock (``None``: not paced).
        self.source_lag = None if pace is None else RealTimeLag(pace, self.metadata.source)
        self.meters = RunMeters(self.source_lag)
        #: The analysis segments (the web view's clear and new binning start one).
        self.segments = Segments(self.analysis_table, self.metadata, live_series)
        specs = live_series(self.metadata, self.analysis)
        own = tuple(s for s in specs if s.name in RUN_SERIES)  # the segment's settings on the rest
        self.specs = (*segment_specs(specs, self.segments.current), *own)
        self.results = RunResults(self.lock, self.specs, self.meters, self.workers, self.notes)
        self.results.segment = self.segments.current
        self.service: RunService | None = None
        self.started = time.monotonic()
        #: Wall-clock marks (``time.monotonic``) of the run: ``first_batch`` (the workers
        #: joined and streaming began), ``source_done``, ``analysis_done``, ``file_done``.
        self.timing: dict[str, float] = {}
        #: When the end of the stream was last sent (``time.monotonic``).
        self.end_sent_at = 0.0

    @classmethod
    def from_config(cls, source: Run, config: RunConfig, output: OutputSettings) -> LivePipeline:
        """The pipeline a run config describes, fed by ``source`` (with the config's virtual
        channels, made from the channels as the config names them) and writing ``output``."""
        metadata = config.apply_channels(source.metadata)
        if config.virtual:
            source.metadata = metadata
            source = with_virtual_channels(source, config.virtual)
            metadata = source.metadata
        return cls(
            source,
            output,
            config.pipeline,
            config.analysis,
            config.analysis_table,
            config.text,
            metadata=metadata,
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
        self.gate = Gatekeeper(self._context, self.keys)
        self.gate.start()
        try:
            self.sockets = RunSockets(self._context, self.settings, self.keys)
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
                self.sockets.close()
                raise
            with BackgroundWriter(writer) as background:
                self.results.background = background
                return self._record(background, duration_ps)
        finally:
            self.gate.stop()
            self._context.term()

    def _record(self, background: BackgroundWriter, duration_ps: int | None) -> Path:
        sockets = self.sockets
        self.service = RunService(
            sockets.results, sockets.control, self.control_endpoint, self.results, self.answer
        )
        self.service.on_error = self._wake
        self.service.start()
        try:
            self._start_workers()
            self._stream(duration_ps)
            self.timing["source_done"] = time.monotonic()
            if self.source_lag is not None and self.source_lag.behind:
                self.notes.add(self.source_lag.warning(final=True))
            waits.for_workers(self)
            self.timing["analysis_done"] = time.monotonic()
        finally:
            self.service.stop()
            self.workers.stop()
            sockets.close()
        self.results.account_unanalysed()
        out = background.finish(duration_ps=self.meters.duration_ps())
        self.timing["file_done"] = time.monotonic()
        for note in background.notes:
            self.notes.add(note)
        return out

    @property
    def control_endpoint(self) -> str:
        """Where the control socket is bound (while the run goes on)."""
        return self.sockets.control_endpoint

    def status(self) -> dict[str, Any]:
        """Rates, lag, losses and the writer's queue, now (thread-safe; see
        :func:`~tagstream.pipeline.run_status.run_status`)."""
        return run_status(self)

    def current(self) -> tuple[dict[str, SeriesSpec], dict[str, Any]]:
        """The current analysis segment's series and the latest snapshot of each, by the
        measurements' names (thread-safe)."""
        with self.lock:
            return self.results.current()

    def restart_analysis(self, changes: dict[str, Any] | None = None) -> str:
        """Start the live analyses afresh from the next batch (thread-safe), with ``changes`` to
        the g2 window and bin and the trace bin; what will happen, in words (see
        :meth:`.segments.Segments.ask`)."""
        return self.segments.ask(dict(changes or {}))

    # ------------------------------------------------------------------ main thread
    def _start_workers(self) -> None:
        inproc = self.settings.data.startswith("inproc://")
        launch = Launcher(self.control_endpoint, inproc, self._context, self.keys.local)
        self.workers.start(self.settings.workers, launch)

    def supervise(self, restart: bool = True) -> None:
        """Restart local workers that died, unless ``restart`` is false or a stop was requested."""
        self.workers.supervise(restart, self.stop_requested.is_set())

    def _stream(self, duration_ps: int | None) -> None:
        waits.until_ready(self, max(self.settings.workers, 1))
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
        self.send_end()

    def send_end(self) -> None:
        """The end of the stream (sent again while workers wait for it: a worker whose queue
        is full when it goes out loses it like any message)."""
        t_end = self.meters.acquired.t_end
        self.sockets.publisher.send_end(0 if t_end is None else t_end)
        self.end_sent_at = time.monotonic()

    def _take(self, batch: TagBatch) -> None:
        """Record a batch, then publish it (after the slowest worker caught up, if the source
        can wait). Its tags per channel are counted once, for the rates and the run file."""
        arrived = time.monotonic()
        self.timing.setdefault("first_batch", arrived)
        counts = channel_counts(batch.channels)
        self.results.background.append(batch, counts)
        with self.lock:
            self.meters.took(batch, counts, arrived)
        if not self.source.paced:
            waits.for_progress(self)
        change = self.segments.take(batch.t_begin)
        if change is not None:
            start_segment(self, *change)
        sent_at = time.monotonic()
        used = self.sockets.publisher.send_batch(batch)
        with self.lock:
            self.meters.published(used, batch.t_end, sent_at)
            self.results.published = self.sockets.publisher.sequence
        self.sockets.publisher.poll_subscriptions()
        self.supervise()
        self.meters.handed_on(time.monotonic())

    # ------------------------------------------------------------------ the service thread's
    def answer(self, request: Request) -> tuple[dict[str, Any], dict | None]:
        """The reply to a control request (see :func:`.run_control.answer`)."""
        return answer(self, request)

    # ------------------------------------------------------------------ helpers
    def _wake(self) -> None:
        with self.lock:
            self.lock.notify_all()
