"""The service thread of a live run: it takes the workers' results and reports from the results
socket and answers the control socket. Messages are decoded and checked here and handed on as
types (:mod:`.control_messages`) to the run: results to its :class:`ResultsHandler`, control
requests to its answering function; whatever a peer sends is
counted and noted when malformed, never fatal, and every control request gets a reply. Should
the thread itself fail (a bug), the run goes on recording and says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import zmq

from ..analysis.series import Snapshot
from ..transport.control import reply_frames
from ..transport.security import trusted_sender
from ..transport.wire import Kind, WireError, decode
from .control_messages import Refused, Request, WorkerReport, parse_report, parse_request, printable
from .messages import decode_snapshots

#: Results messages read in a row before the control socket is served, and seconds the results
#: still arriving at the end of a run are read for.
DRAIN_MESSAGES = 1000
DRAIN_TIMEOUT_S = 5.0


class ResultsHandler(Protocol):
    """What the run does with the results and reports the service thread receives."""

    def take_snapshots(self, snapshots: list[Snapshot], received: float) -> None:
        """Snapshots a worker took (raise :class:`WireError` for one the run does not hold)."""

    def take_report(self, report: WorkerReport, received: float) -> None:
        """A worker's report (raise :class:`WireError` for an unknown worker)."""

    def note(self, text: str) -> None:
        """Say something in the run's report."""


class RunService:
    """The thread serving a run's results and control sockets.

    Parameters
    ----------
    results, control
        The bound sockets (PULL and REP).
    control_endpoint
        Where the control socket is bound (``inproc://`` senders are always trusted).
    handler
        Takes the results and reports.
    answer
        The reply to a control request: a record and arrays.
    """

    def __init__(
        self,
        results: zmq.Socket,
        control: zmq.Socket,
        control_endpoint: str,
        handler: ResultsHandler,
        answer: Callable[[Request], tuple[dict[str, Any], dict | None]],
    ):
        self._results, self._control = results, control
        self._endpoint = control_endpoint
        self._handler = handler
        self._answer = answer
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="tagstream-service")
        #: What went wrong with the thread itself (``None`` while it works).
        self.error: str | None = None
        self.malformed_results = 0
        self.malformed_control = 0
        self.refused_requests = 0  # control requests a guest may not make
        #: Called once the thread ends on an error (to wake whoever waits for results).
        self.on_error = lambda: None

    def start(self) -> None:
        """Start serving the results and control sockets in the thread."""
        self._thread.start()

    def stop(self) -> None:
        """Take the results still queued (for up to :data:`DRAIN_TIMEOUT_S`), then end."""
        self._stop.set()
        self._thread.join()

    def _serve(self) -> None:
        try:
            self._serve_forever()
        except Exception as exc:  # a bug, not a peer: every message is handled below
            self.error = f"{type(exc).__name__}: {exc}"[:300]
            self._handler.note(f"live results and control stopped: {self.error}")
            self.on_error()

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
            if self._stop.is_set():
                deadline = deadline or time.monotonic() + DRAIN_TIMEOUT_S
                if not self._results.poll(0):
                    return
                if time.monotonic() > deadline:
                    self._handler.note("results still arriving when the run ended were not read")
                    return

    def _on_result(self, frames: list) -> None:
        """One message on the results socket; anything malformed is counted, never fatal."""
        try:
            received = time.monotonic()
            message = decode(frames)
            if message.kind == Kind.SNAPSHOT:
                snapshots = decode_snapshots(message.record, message.arrays)
                self._handler.take_snapshots(snapshots, received)
            else:
                self._handler.take_report(parse_report(message.kind, message.record), received)
        except Exception as exc:  # whatever a peer sends, the service goes on
            self.malformed_results += 1
            self._handler.note(f"results: {str(exc)[:300]}")

    def _on_control(self, frames: list) -> None:
        """One control request; every one gets a reply (an error for a malformed one, which is
        counted, or for one the sender's key does not allow)."""
        trusted = bool(frames) and trusted_sender(frames[0], self._endpoint)
        try:
            message = decode(frames)
            if message.kind != Kind.CONTROL or message.record is None:
                raise WireError(f"a {message.kind.name} message on the control socket")
            record, arrays = self._answer(parse_request(message.record, trusted))
        except Refused as exc:
            record, arrays = {"error": str(exc)}, None
            self.refused_requests += 1
        except Exception as exc:  # whatever a peer sends, it gets an answer and the run goes on
            record, arrays = {"error": printable(str(exc), 300)}, None
            self.malformed_control += 1
        self._control.send_multipart(reply_frames(record, arrays))
