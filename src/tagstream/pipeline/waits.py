"""The waits of a live run's acquisition: for its workers to join before the stream starts,
for the slowest to catch up while a source that can wait is held back, and for all of them to
finish at the end. Each wait ends on its own after a time limit, on a second stop, or when the
service thread fails, and says so in the run's report; while waiting, dead local workers are
restarted."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .live_run import LivePipeline

#: Messages a source that can wait lets the slowest worker fall behind.
IN_FLIGHT = 8
#: Seconds to wait for workers to subscribe at the start and to finish at the end.
WORKER_TIMEOUT_S = 60.0
#: Seconds a waiting source waits for a worker that makes no progress before going on.
STALL_TIMEOUT_S = 10.0
#: Seconds between repeats of the end of the stream while workers have not finished, and of
#: the run's header while they have not said they are ready.
END_REPEAT_S = 0.5
HEADER_REPEAT_S = 0.1


def until_ready(p: LivePipeline, expected: int) -> None:
    """Send the run's header until ``expected`` workers said it reached them (their
    subscription is live), or :data:`WORKER_TIMEOUT_S` passed, or the run was stopped."""
    deadline = time.monotonic() + WORKER_TIMEOUT_S
    while True:
        p.sockets.publisher.poll_subscriptions()
        p.sockets.publisher.send_header(p.metadata)
        with p.lock:
            ready = p.workers.ready()
            if ready >= expected:
                return
            if time.monotonic() > deadline or p.stop_requested.is_set():
                when = " before the run was stopped" if p.stop_requested.is_set() else ""
                p.notes.add_locked(f"{ready} of {expected} analysis workers joined{when}")
                return
            p.lock.wait(HEADER_REPEAT_S)
        p.supervise()


def for_progress(p: LivePipeline) -> None:
    """Hold a source that can wait until the slowest worker is fewer than :data:`IN_FLIGHT`
    messages behind and a replacement worker has joined (or :data:`STALL_TIMEOUT_S` passed)."""
    deadline = time.monotonic() + STALL_TIMEOUT_S
    with p.lock:
        while True:
            slowest = min((w.sequence for w in p.workers.active()), default=None)
            caught_up = slowest is None or p.sockets.publisher.sequence - 1 - slowest < IN_FLIGHT
            if caught_up and not p.workers.joining():  # a replacement joins first
                return
            if time.monotonic() > deadline:
                p.notes.add_locked(f"a worker made no progress for {STALL_TIMEOUT_S:g} s")
                return
            if p.hurry.is_set() or p.service.error is not None:
                return
            p.lock.wait(0.05)
            p.lock.release()
            try:
                p.supervise()
            finally:
                p.lock.acquire()


def for_workers(p: LivePipeline) -> None:
    """Wait until every active worker has sent its last snapshots."""
    deadline = time.monotonic() + WORKER_TIMEOUT_S
    with p.lock:
        while True:
            pending = [*p.workers.active(), *p.workers.joining()]
            if not pending:
                return
            if time.monotonic() > deadline:
                p.notes.add_locked(f"{len(pending)} worker(s) did not finish")
                return
            if p.hurry.is_set():
                p.notes.add_locked(f"stopped waiting for {len(pending)} worker(s)")
                return
            if p.service.error is not None:
                return
            p.lock.wait(0.1)
            p.lock.release()
            try:
                p.supervise(restart=False)
                if time.monotonic() - p.end_sent_at > END_REPEAT_S:
                    p.send_end()
            finally:
                p.lock.acquire()
