"""What the web view follows of a live run: its series as the workers' snapshots arrive
(:class:`FollowedSeries`), and, in the run's own process, its status and controls."""

from __future__ import annotations

import threading
from typing import Any

from ..analysis.series import LatestSeries, RecordedSeries, SeriesSpec, Snapshot
from ..analysis.summary_settings import SummarySettings, resolve_settings
from ..errors import TagstreamError
from ..pipeline.live_run import LivePipeline
from ..pipeline.segments import CHANGEABLE, RUN_SERIES
from ..tags import format_time
from .feeds import disk_status


class FollowedSeries:
    """A live run's series followed snapshot by snapshot (thread-safe): the current analysis
    segment's, by the measurements' names, and the run's own."""

    def __init__(self) -> None:
        self._specs: dict[str, SeriesSpec] = {}
        self._followed: dict[str, LatestSeries] = {}
        self._names: dict[str, str] = {}  # stored name: the measurements' name
        self._lock = threading.Lock()
        self.snapshots = 0

    def follow(self, specs: list[SeriesSpec], names: dict[str, str]) -> None:
        """Know these series, and follow the segment whose series are ``names``."""
        with self._lock:
            self._specs.update({s.name: s for s in specs})
            self._names = dict(names)
            for stale in set(self._followed) - set(names) - RUN_SERIES:
                del self._followed[stale]  # an earlier segment's

    def take(self, snapshots: list[Snapshot]) -> None:
        """A bundle of snapshots as the run received them."""
        with self._lock:
            for snapshot in snapshots:
                followed = self._followed.get(snapshot.series)
                if followed is None:
                    spec = self._specs.get(snapshot.series)
                    if spec is None:
                        continue
                    followed = self._followed[snapshot.series] = LatestSeries(spec)
                followed.add(snapshot)
            self.snapshots += 1

    def series(self, before_ps: int | None = None) -> dict[str, RecordedSeries]:
        """The current segment's series and the run's own, as recorded so far; or the segment's
        as they were at ``before_ps``."""
        with self._lock:
            names = dict(self._names)
            if before_ps is None:  # the run's own series only as they are now
                names.update({name: name for name in RUN_SERIES})
            out = {}
            for stored, base in names.items():
                followed = self._followed.get(stored)
                recorded = None if followed is None else followed.recorded(before_ps)
                if recorded is not None:
                    out[base] = recorded
        return out


def live_status(pipeline: LivePipeline) -> dict[str, Any]:
    """A live run's status for the page: time, rates (cps by channel), lag, losses, gaps, file
    size, free disk and the analysis segment."""
    s = pipeline.status()
    lag = [v for v in (s["lag_s"], s.get("source_lag_s")) if v is not None]
    state = "stopping" if s["stopping"] else "running"
    if "file_done" in pipeline.timing:
        reason = pipeline.stop_reason
        state = "complete" if reason is None else f"complete (run {reason})"
    return {
        "state": state,
        "t_s": s["t_s"],
        "tags": s["tags"],
        "rates_cps": s["rates_cps"],
        "lag_s": max(lag) if lag else None,
        "source_warning": s.get("source_warning"),
        "missed": s["missed"],
        "analysis_gaps": s["analysis_gaps"],
        "restarts": s["restarts"],
        "writer_queue_mb": s["writer_queue_mb"],
        "segment": segment_status(pipeline),
        **disk_status(pipeline.output.path),
    }


def segment_status(pipeline: LivePipeline) -> dict[str, Any]:
    """The analysis segment the run is in: number, reason, start (s into the run) and its
    changeable settings as resolved for the run (``"100 ns"``)."""
    segment = pipeline.segments.current
    t0 = pipeline.meters.acquired.t_begin
    start = segment.t_begin_ps
    resolved, _ = resolve_settings(SummarySettings.from_dict(segment.table), pipeline.metadata)
    return {
        "number": segment.number,
        "reason": segment.reason,
        "start_s": None if start is None or t0 is None else (start - t0) * 1e-12,
        "settings": {
            k: format_time(getattr(resolved, k))
            for k in CHANGEABLE
            if getattr(resolved, k, None) is not None
        },
    }


def live_control(pipeline: LivePipeline, op: str, args: dict[str, Any]) -> str:
    """Do what the controlling page asked: ``stop``, ``clear`` (the live analyses start
    afresh), ``settings`` (new g2 window and bin, trace bin: ``args``); what was done, in words.

    Raises
    ------
    TagstreamError
        An operation a live run does not offer, or settings the run cannot use.
    """
    if op == "stop":
        pipeline.stop("stopped from the web view")
        return "stopping: the run file is being completed"
    if op == "clear":
        return pipeline.restart_analysis()
    if op == "settings":
        changes = {k: args[k] for k in CHANGEABLE if isinstance(args.get(k), str) and args[k]}
        if not changes:
            raise TagstreamError("no setting given (g2 window, g2 bin or trace bin)")
        return pipeline.restart_analysis(changes)
    raise TagstreamError(f"the live view offers no {op!r}")
