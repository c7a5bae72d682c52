"""The control channel: requests and replies between a pipeline's processes (REQ/REP).

A request is a record ``{"op": ..., ...}`` (with arrays if need be); the reply is a record
too. A client opens a fresh REQ socket per request, so that a lost reply never wedges it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import zmq

from ..errors import TagstreamError
from .security import ClientKeys
from .streams import MAX_PART_BYTES, connect
from .wire import Kind, WireError, decode, encode_record


class ControlTimeout(TagstreamError):
    """Nobody answered a control request in time."""


def request(
    context: zmq.Context,
    endpoint: str,
    record: dict[str, Any],
    timeout_s: float = 10.0,
    arrays: dict[str, np.ndarray] | None = None,
    keys: ClientKeys | None = None,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Send ``record`` to the control socket at ``endpoint``; the reply's record and arrays.

    ``keys`` are this side's CURVE keys and the run's public key (needed for every endpoint
    but ``inproc://``; without a key the run trusts, only ``status`` is answered).
    """
    socket = context.socket(zmq.REQ)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.MAXMSGSIZE, MAX_PART_BYTES)
    if keys is not None:
        keys.apply(socket, endpoint)
    connect(socket, endpoint)
    try:
        socket.send_multipart(encode_record(Kind.CONTROL, 0, 0, record, arrays))
        if not socket.poll(timeout_s * 1000):
            raise ControlTimeout(
                f"{endpoint}: no answer to {record.get('op')!r} in {timeout_s} s (is the run "
                "up, and are these its keys?)"
            )
        reply = decode(socket.recv_multipart(copy=False))
    finally:
        socket.close(0)
    if reply.kind != Kind.CONTROL or reply.record is None:
        raise WireError(f"{endpoint}: a control reply of kind {reply.kind!r}")
    if "error" in reply.record:
        raise TagstreamError(f"{endpoint}: {reply.record['error']}")
    return reply.record, {k: np.array(v) for k, v in reply.arrays.items()}


def reply_frames(record: dict[str, Any], arrays: dict[str, np.ndarray] | None = None) -> list:
    """The frames of a reply."""
    return encode_record(Kind.CONTROL, 0, 0, record, arrays)
