"""What a live run answers on its control socket: ``status``, ``stop``, ``segment`` (the
analysis segment it is in) and a worker's ``hello``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .control_messages import (
    HelloReply,
    HelloRequest,
    Request,
    SegmentRequest,
    StatusRequest,
    StopRequest,
)
from .worker_pool import WorkerInfo

if TYPE_CHECKING:
    from .live_run import LivePipeline


def answer(p: LivePipeline, request: Request) -> tuple[dict[str, Any], dict | None]:
    """The reply to a control request of run ``p``: a record and its arrays (a hello's resume
    state)."""
    if isinstance(request, StatusRequest):
        return p.status(), None
    if isinstance(request, StopRequest):
        p.stop(request.reason)
        return {"ok": True}, None
    if isinstance(request, SegmentRequest):
        return p.segments.current.to_record(), None
    assert isinstance(request, HelloRequest)
    with p.lock:
        resume, arrays, counters = p.results.resume()
        segment = p.results.segment
        joined = WorkerInfo(request.worker, sequence=p.results.published - 1)
        p.workers.joined[request.worker] = joined
        p.lock.notify_all()
    s = p.sockets
    reply = HelloReply(
        p.metadata.to_dict(), segment.table, p.every_ps, s.publisher.endpoint,
        s.results_endpoint, p.settings.hwm, resume, counters, segment.to_record(),
    )  # fmt: skip
    return reply.to_record(), arrays
