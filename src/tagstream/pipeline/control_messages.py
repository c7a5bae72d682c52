"""What a live run's control socket is asked and answers, and what its workers report on the
results socket, as types: parsed and checked once, where a message comes in.

Requests (control socket): ``status`` (open to every client), ``stop`` and ``hello`` (a worker
joining; both need a key the run trusts). The reply to a hello tells the worker everything it
needs: the run's metadata, the analysis settings, the endpoints and the state to resume from.
Reports (results socket): a worker is ready (the run's header reached it), its progress (the
last batch message it finished) and its end, each with its message counters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import TagstreamError
from ..transport.wire import Kind, WireError

#: Counters every progress and end report carries.
COUNTERS = ("received", "malformed", "missed")


class Refused(TagstreamError):
    """A control request the sender's key does not allow."""


def printable(text: str, limit: int = 200) -> str:
    """Text a peer sent, safe to print: no control characters (terminal escapes), bounded."""
    return "".join(c if c.isprintable() else "?" for c in text[:limit])


# ---------------------------------------------------------------------- requests
@dataclass(frozen=True)
class StatusRequest:
    """How the run is doing (:meth:`LivePipeline.status`)."""


@dataclass(frozen=True)
class StopRequest:
    """End the run after the current batch."""

    reason: str


@dataclass(frozen=True)
class HelloRequest:
    """A worker joins (or rejoins after a crash)."""

    worker: str


@dataclass(frozen=True)
class SegmentRequest:
    """The analysis segment the run is in (a worker that lost the change in the stream)."""


Request = StatusRequest | StopRequest | HelloRequest | SegmentRequest


def parse_request(record: dict[str, Any], trusted: bool) -> Request:
    """The request a control message holds.

    Raises
    ------
    Refused
        ``stop`` or ``hello`` from a sender without a trusted key.
    TagstreamError
        An unknown request, or a worker name that is not 1 to 200 printable characters.
    """
    op = record.get("op")
    if op == "status":
        return StatusRequest()
    if op == "segment":
        return SegmentRequest()
    if op not in ("stop", "hello"):
        raise TagstreamError(f"unknown request {printable(str(op), 40)!r}")
    if not trusted:
        raise Refused(f"{op!r} needs a key the run trusts (status is open to all)")
    if op == "stop":
        return StopRequest(printable(str(record.get("reason", "stopped by request"))))
    worker = record.get("worker")
    if type(worker) is not str or not worker.isprintable() or not 0 < len(worker) <= 200:
        raise TagstreamError("hello: worker must be a name of 1 to 200 printable characters")
    return HelloRequest(worker)


@dataclass(frozen=True)
class HelloReply:
    """What a worker is told when it joins.

    Attributes
    ----------
    metadata
        The run's metadata (``RunMetadata.to_dict``).
    settings
        The ``[analysis]`` table of the run's config.
    every_ps
        Run time between result snapshots, ps.
    data, results
        Endpoints of the tag stream and of the results.
    hwm
        Messages queued for the worker before it loses some.
    resume
        The state to continue from (a rejoining worker), as a record; its arrays travel with
        the reply.
    counters
        The analysis counters so far (carried over a restart).
    segment
        The analysis segment the run is in (:meth:`~tagstream.pipeline.segments.Segment.
        to_record`); ``settings`` are its settings.
    """

    metadata: dict[str, Any]
    settings: dict[str, Any]
    every_ps: int
    data: str
    results: str
    hwm: int
    resume: dict[str, Any] | None = None
    counters: dict[str, int] = field(default_factory=dict)
    segment: dict[str, Any] | None = None

    def to_record(self) -> dict[str, Any]:
        """The reply as the JSON record of a control message."""
        return {
            "metadata": self.metadata,
            "settings": self.settings,
            "every_ps": self.every_ps,
            "data": self.data,
            "results": self.results,
            "hwm": self.hwm,
            "resume": self.resume,
            "counters": self.counters,
            "segment": self.segment,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> HelloReply:
        """The reply a worker received. Raises :class:`WireError` for a malformed one."""
        try:
            return cls(
                metadata=dict(record["metadata"]),
                settings=dict(record.get("settings") or {}),
                every_ps=int(record["every_ps"]),
                data=str(record["data"]),
                results=str(record["results"]),
                hwm=int(record["hwm"]),
                resume=record.get("resume"),
                counters=dict(record.get("counters") or {}),
                segment=record.get("segment"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise WireError(f"hello reply: {exc!r}") from None


# ---------------------------------------------------------------------- worker reports
@dataclass(frozen=True)
class WorkerReport:
    """A worker's report.

    Attributes
    ----------
    worker
        Its name.
    kind
        ``"ready"``, ``"progress"`` or ``"end"``.
    counters
        ``sequence`` and ``t_end`` (progress: the last batch message finished and the end of
        its data, ps) and the message counters :data:`COUNTERS` (progress and end).
    """

    worker: str
    kind: str
    counters: dict[str, int] = field(default_factory=dict)


def parse_report(kind: Kind, record: dict[str, Any]) -> WorkerReport:
    """The report a progress or end message holds, its counters checked to be whole numbers (a
    progress report must say how far it got). Raises :class:`WireError` otherwise."""
    worker = str(record.get("worker"))
    if kind == Kind.PROGRESS and record.get("ready") is True:
        return WorkerReport(worker, "ready")
    if kind not in (Kind.PROGRESS, Kind.END):
        raise WireError(f"a {kind.name} message on the results socket")
    needed = ("sequence", "t_end") if kind == Kind.PROGRESS else ()
    counters = {}
    for key in (*needed, *COUNTERS):
        value = record.get(key, None if key in needed else 0)
        if type(value) is not int:
            raise WireError(f"a progress report with {key} = {str(value)[:40]!r}")
        counters[key] = value
    return WorkerReport(worker, "progress" if kind == Kind.PROGRESS else "end", counters)
