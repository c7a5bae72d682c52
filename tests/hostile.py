"""Hostile messages for a live run's sockets, seeded: what a broken or malicious peer might send.

Every message made here is invalid for at least one reason that a byte mutation cannot all
repair at once, so a run that counts it must reject it: a forged result never enters the run
file, a control request never stops the run.
"""

from __future__ import annotations

import json

import numpy as np

from tagstream.transport.wire import Kind, encode_record

_SNAPSHOT = {
    "series": "g2",
    "covered_ps": [0, 10**12],
    "live_ps": "x",
    "wall_time_s": 0.0,
    "scalars": {},
    "arrays": [],
    "rows": [],
}

#: Bodies no decoder may choke on (deep nesting, huge integers, arrays described wrongly).
HOSTILE_JSON = [
    b"[" * 5_000 + b"]" * 5_000,
    json.dumps({"arrays": 5}).encode(),
    json.dumps({"arrays": [["x", ["<i8"], [1]]]}).encode(),
    json.dumps({"arrays": [["x", "<i8", [2**40, 2**40]]]}).encode(),
    json.dumps({"arrays": [["x", "<i8", [2**70]]]}).encode(),
    b'{"a": ' + b"9" * 5_000 + b"}",
]


def _frames(kind: Kind, record: object) -> list[bytes]:
    return [bytes(f) for f in encode_record(kind, 0, 0, record)]


def _results_templates() -> list[list[bytes]]:
    return [
        _frames(Kind.SNAPSHOT, {"snapshots": [_SNAPSHOT]}),
        _frames(Kind.SNAPSHOT, {"snapshots": [{**_SNAPSHOT, "live_ps": 5}]}),
        _frames(Kind.SNAPSHOT, {"snapshots": [{**_SNAPSHOT, "series": "nothing", "live_ps": 5}]}),
        _frames(Kind.SNAPSHOT, {"snapshots": "x"}),
        _frames(Kind.PROGRESS, {"worker": "stranger", "sequence": 1, "t_end": 5}),
        _frames(Kind.PROGRESS, {"worker": "stranger", "ready": True}),
        _frames(Kind.PROGRESS, {"worker": "local-0", "t_end": 5}),
        _frames(Kind.PROGRESS, {"worker": "local-0", "sequence": "x", "t_end": 1}),
        _frames(Kind.END, {"worker": "nobody"}),
        _frames(Kind.CONTROL, {"op": "stop"}),  # a request on the wrong socket
        *([_frames(Kind.SNAPSHOT, {})[0], body] for body in HOSTILE_JSON),
    ]


def _mutate(rng: np.random.Generator, frames: list[bytes]) -> list[bytes]:
    """Flip, cut or insert bytes, keeping the first frame's kind (so the message stays
    invalid for its template's reason)."""
    out = [bytearray(f) for f in frames]
    for _ in range(int(rng.integers(0, 3))):
        k = int(rng.integers(1, len(out))) if len(out) > 1 else 0
        what = int(rng.integers(0, 3))
        if what == 0 and len(out[k]) and k > 0:
            out[k][int(rng.integers(0, len(out[k])))] = int(rng.integers(0, 256))
        elif what == 1 and k > 0:
            out[k] = out[k][: int(rng.integers(0, len(out[k]) + 1))]
        else:
            out.append(bytearray(rng.bytes(int(rng.integers(0, 64)))))
    return [bytes(f) for f in out]


def results_messages(rng: np.random.Generator, n: int) -> list[list[bytes]]:
    """Messages for the results socket: forged snapshots of wrong types or unknown series,
    reports from unknown workers or without a sequence, hostile JSON, noise."""
    templates = _results_templates()
    out = []
    for k in range(n):
        if k % 7 == 6:
            out.append([rng.bytes(int(rng.integers(0, 300)))])
        else:
            out.append(_mutate(rng, templates[k % len(templates)]))
    return out


def control_requests(rng: np.random.Generator, n: int) -> list[list[bytes]]:
    """Requests a peer with a trusted key might send that must not change the run: unknown
    operations, malformed hellos, hostile JSON, noise (never a well-formed ``stop``)."""
    templates = [
        _frames(Kind.CONTROL, {"op": "dance"}),
        _frames(Kind.CONTROL, {"op": ["stop"]}),
        _frames(Kind.CONTROL, {"op": "hello", "worker": 5}),
        _frames(Kind.CONTROL, {"op": "hello", "worker": "\x1b[2J" * 100}),
        [_frames(Kind.CONTROL, {})[0], b'["op", "stop"]'],  # a list, not an object
        _frames(Kind.SNAPSHOT, {"op": "stop"}),  # not a control message
        *([_frames(Kind.CONTROL, {})[0], body] for body in HOSTILE_JSON),
    ]
    out = []
    for k in range(n):
        if k % 5 == 4:
            out.append([rng.bytes(int(rng.integers(1, 300)))])
        else:
            out.append(_mutate(rng, templates[k % len(templates)]))
    return out


def subscription_messages(rng: np.random.Generator, n: int) -> list[bytes]:
    """What a subscriber might send to the data socket that is not a subscription: other
    first bytes, empty messages, noise (at most 901 bytes: under the socket's limit, which
    counts CURVE's framing too)."""
    out = []
    for k in range(n):
        body = rng.bytes(int(rng.integers(0, 900)))
        first = [b"\x02", b"", b"\xff", b"\x7f"][k % 4]
        message = first + body
        if message[:1] in (b"\x00", b"\x01"):  # (un)subscriptions, which ZeroMQ handles
            message = b"\x02" + message
        out.append(message)
    return out
