"""Tag streams over ZeroMQ: the publisher on the acquisition side, the subscriber on the
analysis side.

The publisher binds an XPUB socket, so it sees subscribers arrive (a run waits for its workers
before the first batch). Each subscriber has a queue of at most ``hwm`` messages of at most
:data:`MAX_MESSAGE_TAGS` tags on each side: memory stays bounded at any input rate, and a
subscriber that falls further behind loses messages — ZeroMQ drops them for it alone. The
subscriber sees the hole in the sequence numbers and reports the time it covered as a gap.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import zmq

from ..errors import TagstreamError
from ..tags import RunMetadata, TagBatch
from ..tags import intervals as iv
from .security import DATA, ClientKeys, RunKeys
from .wire import Kind, Message, WireError, decode, encode_batch, encode_record

#: Largest batch sent as one message; larger ones are split.
MAX_MESSAGE_TAGS = 1 << 20
#: Largest message part a socket of the pipeline accepts, bytes (ZMQ_MAXMSGSIZE): a peer that
#: sends or announces more is disconnected before the memory is taken. Batches carry at most
#: 13 bytes per tag of MAX_MESSAGE_TAGS; results and control messages are far smaller.
MAX_PART_BYTES = 64 << 20
#: ... of a subscription message (the data socket receives nothing else but the CURVE
#: handshake, whose commands take up to about 300 bytes).
MAX_SUBSCRIPTION_BYTES = 1024
#: Messages queued per subscriber on each side by default.
DEFAULT_HWM = 16


def bind(socket: zmq.Socket, endpoint: str) -> str:
    """Bind ``socket`` and return the endpoint actually bound (``tcp://host:*`` picks a port).

    Raises
    ------
    TagstreamError
        The endpoint cannot be bound (in use, not an address of this host, malformed); the
        socket is closed.
    """
    try:
        socket.bind(endpoint)
    except zmq.ZMQError as exc:
        socket.close(0)
        raise TagstreamError(f"cannot bind {endpoint}: {_reason(exc)}") from None
    return socket.getsockopt_string(zmq.LAST_ENDPOINT)


def connect(socket: zmq.Socket, endpoint: str) -> None:
    """Connect ``socket`` to ``endpoint``.

    Raises
    ------
    TagstreamError
        The endpoint is malformed (the socket is closed).
    """
    try:
        socket.connect(endpoint)
    except zmq.ZMQError as exc:
        socket.close(0)
        raise TagstreamError(
            f"cannot connect to {endpoint!r}: {_reason(exc)} (expected tcp://HOST:PORT, "
            "ipc://PATH or inproc://NAME)"
        ) from None


def check_endpoint(endpoint: str) -> str:
    """``endpoint`` if a socket can connect to it (nothing need listen there yet).

    Raises
    ------
    TagstreamError
        The endpoint is malformed.
    """
    probe = zmq.Context.instance().socket(zmq.DEALER)
    connect(probe, endpoint)
    probe.close(0)
    return endpoint


def _reason(exc: zmq.ZMQError) -> str:
    """ZeroMQ's reason without the address it appends."""
    return str(exc.strerror).split(" (addr=")[0]


class BatchPublisher:
    """Publishes a run: its header, its batches, its end.

    Parameters
    ----------
    context
        The ZeroMQ context.
    endpoint
        Where to bind (``tcp://127.0.0.1:*``, ``ipc:///tmp/tags``, ``inproc://tags``).
    stream_id
        Identifies the stream in every message header.
    hwm
        Messages queued per subscriber before ZeroMQ drops for it.
    keys
        The run's keys: subscribers must hold a key it trusts (none for ``inproc://``).
    """

    def __init__(
        self,
        context: zmq.Context,
        endpoint: str,
        stream_id: int = 0,
        hwm: int = DEFAULT_HWM,
        keys: RunKeys | None = None,
    ):
        self.socket = context.socket(zmq.XPUB)
        self.socket.setsockopt(zmq.MAXMSGSIZE, MAX_SUBSCRIPTION_BYTES)
        self.socket.setsockopt(zmq.SNDHWM, hwm)
        self.socket.setsockopt(zmq.XPUB_VERBOSE, 1)
        self.socket.setsockopt(zmq.LINGER, 0)
        if keys is not None:
            keys.apply(self.socket, endpoint, DATA)
        self.endpoint = bind(self.socket, endpoint)
        self.stream_id = stream_id
        self.sequence = 0  # of the next batch
        self.subscriptions = 0  # subscribe-to-everything messages seen
        self.unsubscriptions = 0
        self.malformed = 0  # anything else a subscriber sent

    def poll_subscriptions(self, most: int = 1000) -> int:
        """Read what subscribers sent (at most ``most`` messages: a flood from a peer never
        holds up the caller, the acquisition); the count of subscriptions so far. Only a
        subscription to everything (what workers send) counts; anything else is counted as
        malformed."""
        for _ in range(most):
            if not self.socket.poll(0):
                break
            message = self.socket.recv()
            if message == b"\x01":
                self.subscriptions += 1
            elif message == b"\x00":
                self.unsubscriptions += 1
            else:
                self.malformed += 1
        return self.subscriptions

    def wait_for_subscribers(self, n: int, timeout_s: float) -> bool:
        """Wait until ``n`` subscriptions arrived; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while self.poll_subscriptions() < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.socket.poll(min(remaining, 0.1) * 1000)
        return True

    def send_header(self, metadata: RunMetadata, extra: dict | None = None) -> None:
        """Send the run header: the metadata and ``extra`` fields."""
        record = {"metadata": metadata.to_dict(), **(extra or {})}
        self.socket.send_multipart(encode_record(Kind.RUN_HEADER, self.stream_id, 0, record))

    def send_batch(self, batch: TagBatch) -> list[int]:
        """Publish a batch (in pieces of at most :data:`MAX_MESSAGE_TAGS` tags); the sequence
        numbers used. Its arrays must not change afterwards."""
        pieces = [batch]
        if len(batch) > MAX_MESSAGE_TAGS:
            cuts = batch.timestamps[MAX_MESSAGE_TAGS::MAX_MESSAGE_TAGS]
            pieces = [p for p in batch.split_at(cuts) if p.t_end > p.t_begin] or [batch]
        used = []
        for piece in pieces:
            frames = encode_batch(piece, self.stream_id, self.sequence)
            self.socket.send_multipart(frames, copy=False)
            used.append(self.sequence)
            self.sequence += 1
        return used

    def send_control(self, record: dict, t_ps: int) -> int:
        """Publish a control record at run time ``t_ps`` in order with the batches (a change of
        the analyses from that moment); its sequence number. It takes a sequence number like a
        batch, so a subscriber that loses it sees a hole."""
        frames = encode_record(Kind.CONTROL, self.stream_id, self.sequence, record,
                               t_begin=t_ps, t_end=t_ps)  # fmt: skip
        self.socket.send_multipart(frames)
        self.sequence += 1
        return self.sequence - 1

    def send_end(self, t_end: int, extra: dict | None = None) -> None:
        """Send the end of the stream at ``t_end`` (ps) with the number of batches sent and
        ``extra`` fields."""
        record = {"batches": self.sequence, **(extra or {})}
        frames = encode_record(Kind.END, self.stream_id, self.sequence, record, t_end=t_end)
        self.socket.send_multipart(frames)

    def close(self) -> None:
        """Close the socket without lingering."""
        self.socket.close(0)


@dataclass
class StreamCounters:
    """What a subscriber has seen."""

    received: int = 0  # valid messages
    batches: int = 0
    malformed: int = 0
    missed: int = 0  # batch messages lost (holes in the sequence numbers)
    last_error: str | None = None
    gaps: list[tuple[int, int]] = field(default_factory=list)  # time lost with them, ps

    def to_dict(self) -> dict:
        """The counters (messages received, batches, malformed, missed, last error) as a dict."""
        return {
            "received": self.received,
            "batches": self.batches,
            "malformed": self.malformed,
            "missed": self.missed,
            "last_error": self.last_error,
        }


class BatchSubscriber:
    """Receives a run's messages, checks each, and turns holes in the sequence into gaps.

    Parameters
    ----------
    context, endpoint
        Where the publisher is bound.
    hwm
        Messages queued on this side before ZeroMQ drops.
    keys
        This side's keys and the run's public key (none for ``inproc://``).

    A malformed message is counted (:attr:`counters`) and skipped. A batch that follows a hole
    in the sequence numbers comes out with the hole's time as a leading gap: its span starts
    where the last batch received ended.
    """

    def __init__(
        self,
        context: zmq.Context,
        endpoint: str,
        hwm: int = DEFAULT_HWM,
        keys: ClientKeys | None = None,
    ):
        self.socket = context.socket(zmq.SUB)
        self.socket.setsockopt(zmq.MAXMSGSIZE, MAX_PART_BYTES)
        self.socket.setsockopt(zmq.RCVHWM, hwm)
        self.socket.setsockopt(zmq.LINGER, 0)
        if keys is not None:
            keys.apply(self.socket, endpoint)
        self.socket.setsockopt(zmq.SUBSCRIBE, b"")
        connect(self.socket, endpoint)
        self.counters = StreamCounters()
        self.metadata: RunMetadata | None = None
        self.header: dict | None = None
        self._next_sequence: int | None = None
        self._t_end: int | None = None  # end of the last batch received
        self._resumed = False

    def receive(self, timeout_s: float | None = None) -> Message | None:
        """The next valid message (``None`` after ``timeout_s`` without one). Batches come
        with the run's metadata attached."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self.socket.poll(None if wait is None else wait * 1000):
                return None
            frames = self.socket.recv_multipart(copy=False)
            try:
                message = decode(frames)
            except WireError as exc:
                self.counters.malformed += 1
                self.counters.last_error = str(exc)
                continue
            if message.kind != Kind.RUN_HEADER or self.header is None:
                self.counters.received += 1  # the header is repeated until workers are ready
            if message.kind == Kind.RUN_HEADER:
                self._take_header(message)
            elif message.kind == Kind.BATCH:
                self._take_batch(message)
            elif message.kind == Kind.END:
                self._take_end(message)
            elif message.kind == Kind.CONTROL:
                self._take_control(message)
            return message

    def resume_at(self, t_ps: int) -> None:
        """Treat ``t_ps`` as the end of the data already analysed (after a restart): the first
        batch received starts its span there, the time in between a gap."""
        self._t_end = int(t_ps)
        self._resumed = True

    def _take_header(self, message: Message) -> None:
        try:
            self.metadata = RunMetadata.from_dict(message.record["metadata"])
        except (KeyError, TypeError, ValueError) as exc:
            self.counters.malformed += 1
            self.counters.last_error = f"run header: {exc}"
            return
        self.header = message.record

    def _take_batch(self, message: Message) -> None:
        batch = message.batch
        batch.metadata = self.metadata
        if batch.nanotime_unit_ps is None and self.metadata is not None:
            batch.nanotime_unit_ps = self.metadata.nanotime_unit_ps
        self.counters.batches += 1
        lost = self._resumed
        if self._next_sequence is not None and message.sequence > self._next_sequence:
            self.counters.missed += message.sequence - self._next_sequence
            lost = True
        self._next_sequence = message.sequence + 1
        self._resumed = False
        if self._t_end is not None and batch.t_begin > self._t_end:
            if lost:  # time the analysis lost, not a hole in the acquisition
                self.counters.gaps.append((self._t_end, batch.t_begin))
            message.batch = _with_leading_gap(batch, self._t_end)
        self._t_end = message.batch.t_end

    def _take_control(self, message: Message) -> None:
        """A control record in the stream: its sequence number counts like a batch's."""
        if self._next_sequence is not None and message.sequence > self._next_sequence:
            self.counters.missed += message.sequence - self._next_sequence
            self._resumed = True  # the time up to the next batch is lost to the analysis
        self._next_sequence = message.sequence + 1

    def _take_end(self, message: Message) -> None:
        """An end of stream after lost batches (its sequence number counts the batches sent),
        or right after a resume, comes with an empty batch covering the lost tail as a gap."""
        lost = self._resumed  # resumed, and the stream ended before another batch came
        if self._next_sequence is not None and message.sequence > self._next_sequence:
            self.counters.missed += message.sequence - self._next_sequence
            self._next_sequence = message.sequence
            lost = True
        self._resumed = False
        if lost and self._t_end is not None and message.t_end > self._t_end:
            tail = (self._t_end, message.t_end)
            self.counters.gaps.append(tail)
            t3 = self.metadata is not None and self.metadata.mode == "T3"
            message.batch = TagBatch.empty(
                *tail, t3=t3, metadata=self.metadata, gaps=np.array([tail], np.int64)
            )
            self._t_end = message.t_end

    def close(self) -> None:
        """Close the socket without lingering."""
        self.socket.close(0)


def _with_leading_gap(batch: TagBatch, start: int) -> TagBatch:
    """The batch with its span extended back to ``start``, the added time a gap."""
    gaps = np.concatenate([np.array([[start, batch.t_begin]], np.int64), batch.gaps])
    return TagBatch(
        batch.timestamps,
        batch.channels,
        start,
        batch.t_end,
        nanotimes=batch.nanotimes,
        nanotime_unit_ps=batch.nanotime_unit_ps,
        sync_period_ps=batch.sync_period_ps,
        gaps=iv.normalize(gaps),
        metadata=batch.metadata,
        check=False,
    )
