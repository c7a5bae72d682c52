"""What a live run reports: its status, as the terminal view, the control socket's ``status``
and the benchmarks read it (time, rates, lags, losses, what was turned away, the writer's
queue), and its notes."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from .control_messages import COUNTERS

if TYPE_CHECKING:
    from .live_run import LivePipeline

#: Counters of a worker's messages shown per worker.
WORKER_COUNTERS = COUNTERS
#: Distinct notes kept (whatever is noted more often is counted elsewhere).
MAX_NOTES = 50


class RunNotes(list):
    """The notes of a run's report: distinct, at most :data:`MAX_NOTES`, in order.

    Parameters
    ----------
    lock
        The run's lock, taken by :meth:`add` (:meth:`add_locked` when it is held already).
    """

    def __init__(self, lock: threading.Condition):
        super().__init__()
        self._lock = lock

    def add(self, text: str) -> None:
        """Add a note, taking the run's lock (see :meth:`add_locked`)."""
        with self._lock:
            self.add_locked(text)

    def add_locked(self, text: str) -> None:
        """Add a note unless it is there already or the list is full (the run's lock is held)."""
        if len(self) < MAX_NOTES and text not in self:
            self.append(text)


def run_status(pipeline: LivePipeline) -> dict[str, Any]:
    """The status of ``pipeline`` now (takes its lock)."""
    p = pipeline
    service, background, meters, sockets = p.service, p.results.background, p.meters, p.sockets
    publisher = None if sockets is None else sockets.publisher
    with p.lock:
        now = time.monotonic()
        workers = {}
        for w in p.workers.joined.values():
            if not w.active and w.done is False:
                continue
            waiting = meters.published_at.get(w.sequence + 1)
            lag = max(w.latency_s, now - waiting) if waiting is not None else w.latency_s
            workers[w.name] = {
                "t_end_s": None if w.t_end is None else w.t_end * 1e-12,
                "lag_s": 0.0 if w.done else lag,
                "done": w.done,
                **{k: w.counters.get(k, 0) for k in WORKER_COUNTERS},
            }
        acquired = meters.acquired
        t_end = acquired.t_end
        results_lag, results_lag_max = meters.results_lag_s
        lag = p.source_lag
        return {
            "t_s": None if t_end is None else (t_end - (acquired.t_begin or 0)) * 1e-12,
            "tags": int(meters.counts.sum()),
            "rates_cps": meters.rates_cps(p.metadata.channels),
            "published": p.results.published,
            "workers": workers,
            "lag_s": max((w["lag_s"] for w in workers.values()), default=None),
            "results_lag_s": results_lag,
            "results_lag_max_s": results_lag_max,
            "source_lag_s": None if lag is None else lag.lag_s,
            "source_warning": None if lag is None else lag.warning(),
            "malformed": sum(w["malformed"] for w in workers.values()),
            "malformed_results": 0 if service is None else service.malformed_results,
            "malformed_control": 0 if service is None else service.malformed_control,
            "malformed_subscriptions": 0 if publisher is None else publisher.malformed,
            "refused_peers": 0 if p.gate is None else p.gate.refused,
            "refused_requests": 0 if service is None else service.refused_requests,
            "service_error": None if service is None else service.error,
            "dropped_snapshots": 0 if background is None else background.dropped_snapshots,
            "missed": sum(w["missed"] for w in workers.values()),
            "analysis_gaps": len(p.results.book.lost),
            "restarts": p.workers.restarts,
            "writer_queue_mb": 0.0 if background is None else background.pending_bytes / 1e6,
            "wall_s": now - p.started,
            "stopping": p.stop_requested.is_set(),
        }
