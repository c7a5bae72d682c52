"""The wire format: tag batches and records as versioned ZeroMQ multipart messages.

Every message starts with a fixed header frame of :data:`HEADER_SIZE` bytes, little-endian:

======  ====  ===========================================================================
offset  size  field
======  ====  ===========================================================================
0       4     magic ``b"TGSM"``
4       2     format version (:data:`VERSION`)
6       1     kind (:class:`Kind`)
7       1     arrays present in a batch: 1 timestamps, 2 channels, 4 nanotimes, 8 gaps
8       4     stream id
12      8     sequence number (each kind of each stream counts from 0)
20      8     span begin, ps (int64)
28      8     span end, ps (int64)
36      8     number of tags
44      4     number of gap intervals
48      1     bytes per nanotime (1, 2 or 4; 0 without nanotimes)
49      3     reserved, zero
52      8     nanotime unit, ps (float64; 0 without nanotimes)
60      8     sync period, ps (float64; 0 when unknown)
======  ====  ===========================================================================

A **batch** (kind 2) is followed by one frame per array present, in the order of the flags:
timestamps (int64 ps), channels (uint8), nanotimes (unsigned, the given width), gaps (int64
pairs). Arrays go out as they are, without copying. Every other kind is a **record**: one
UTF-8 JSON frame, then the arrays its ``"arrays"`` entry lists as ``[name, dtype, shape]``.
A stream starts with a run header (kind 1, the metadata) and ends with an end-of-stream record
(kind 3). Snapshots (4), progress reports (5) and control requests and replies (6) are records
too.

:func:`decode` checks everything a receiver relies on — magic, version, kind, frame count and
sizes, span, timestamp order, gaps — and raises :class:`WireError` naming the first problem;
receivers count such messages and go on.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np

from ..errors import TagstreamError
from ..kernels.ordering import first_out_of_order
from ..tags import TagBatch
from ..tags import intervals as iv

MAGIC = b"TGSM"
VERSION = 1
_HEADER = struct.Struct("<4sHBBIQqqQIB3xdd")
HEADER_SIZE = _HEADER.size  # 68 bytes

TIMESTAMPS, CHANNELS, NANOTIMES, GAPS = 1, 2, 4, 8
_BATCH_ARRAYS = ((TIMESTAMPS, "timestamps"), (CHANNELS, "channels"), (NANOTIMES, "nanotimes"))
#: dtypes a record's arrays may have.
RECORD_DTYPES = frozenset({"<i8", "<i4", "<u4", "<u2", "|u1", "<f8", "|b1"})
#: Limits of a record: bytes of its JSON frame, digits of a JSON integer, dimensions and values
#: of an array.
MAX_RECORD_JSON = 1 << 24
MAX_INT_DIGITS = 40
MAX_DIMS = 8
MAX_ARRAY_VALUES = 1 << 32


class Kind(IntEnum):
    """What a message carries."""

    RUN_HEADER = 1
    BATCH = 2
    END = 3
    SNAPSHOT = 4
    PROGRESS = 5
    CONTROL = 6


class WireError(TagstreamError):
    """A message that does not follow the wire format; the reason names the frame or field."""


@dataclass
class Message:
    """A decoded message.

    Attributes
    ----------
    kind, stream_id, sequence, t_begin, t_end
        From the header.
    batch
        The tags of a batch message (arrays are views of the received frames).
    record
        The JSON object of a record.
    arrays
        The arrays of a record, by name.
    """

    kind: Kind
    stream_id: int
    sequence: int
    t_begin: int = 0
    t_end: int = 0
    batch: TagBatch | None = None
    record: dict[str, Any] | None = None
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


# ---------------------------------------------------------------------- encoding
def encode_batch(batch: TagBatch, stream_id: int, sequence: int) -> list:
    """The frames of a batch: the header, then its arrays (not copied on little-endian hosts)."""
    flags = TIMESTAMPS | CHANNELS
    frames: list = [
        None,
        _little(batch.timestamps, "<i8"),
        _little(batch.channels, "|u1"),
    ]
    width, unit = 0, 0.0
    if batch.nanotimes is not None:
        width = max(1, batch.nanotimes.dtype.itemsize)
        if width not in (1, 2, 4):
            raise WireError(f"nanotimes of {width} bytes cannot be sent (1, 2 or 4)")
        frames.append(_little(batch.nanotimes, f"<u{width}" if width > 1 else "|u1"))
        flags |= NANOTIMES
        unit = float(batch.nanotime_unit_ps or 0.0)
    if len(batch.gaps):
        frames.append(_little(batch.gaps, "<i8"))
        flags |= GAPS
    frames[0] = _HEADER.pack(
        MAGIC,
        VERSION,
        Kind.BATCH,
        flags,
        stream_id,
        sequence,
        batch.t_begin,
        batch.t_end,
        len(batch),
        len(batch.gaps),
        width,
        unit,
        float(batch.sync_period_ps or 0.0),
    )
    return frames


def encode_record(
    kind: Kind,
    stream_id: int,
    sequence: int,
    record: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray] | None = None,
    t_begin: int = 0,
    t_end: int = 0,
) -> list:
    """The frames of a record: the header, the JSON object, then its arrays."""
    if kind == Kind.BATCH:
        raise WireError("a batch is not a record")
    body = dict(record)
    frames: list = []
    listed = []
    for name, value in (arrays or {}).items():
        arr = np.ascontiguousarray(value)
        dtype = arr.dtype.newbyteorder("<") if arr.dtype.byteorder == ">" else arr.dtype
        if dtype.str not in RECORD_DTYPES:
            raise WireError(f"array {name!r} of dtype {arr.dtype} cannot be sent")
        listed.append([name, dtype.str, list(arr.shape)])
        frames.append(arr.astype(dtype, copy=False).reshape(-1))  # shape is in the JSON
    body["arrays"] = listed
    header = _HEADER.pack(
        MAGIC, VERSION, kind, 0, stream_id, sequence, t_begin, t_end, 0, 0, 0, 0.0, 0.0
    )
    return [header, json.dumps(body, allow_nan=True, default=_json_value).encode(), *frames]


def _json_value(value: object) -> object:
    """Plain JSON values for the numpy scalars and arrays in a record."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise WireError(f"a record cannot hold {type(value).__name__}")


def _little(values: np.ndarray, dtype: str) -> np.ndarray:
    return np.ascontiguousarray(values).astype(dtype, copy=False)


# ---------------------------------------------------------------------- decoding
def decode(frames: Sequence) -> Message:
    """Check and decode a received multipart message (``bytes``, ``memoryview`` or
    ``zmq.Frame`` parts). Whatever the frames hold, the only exception is :class:`WireError`.

    Raises
    ------
    WireError
        The message breaks the format; the reason names the frame and what is wrong.
    """
    try:
        return _decode(frames)
    except WireError:
        raise
    except Exception as exc:  # any input must end as a counted rejection
        raise WireError(f"malformed message ({type(exc).__name__}: {str(exc)[:200]})") from None


def _decode(frames: Sequence) -> Message:
    views = [_view(f) for f in frames]
    if not views:
        raise WireError("empty message")
    head = views[0]
    if head.nbytes != HEADER_SIZE:
        raise WireError(f"header frame of {head.nbytes} bytes, expected {HEADER_SIZE}")
    (
        magic,
        version,
        kind,
        flags,
        stream_id,
        sequence,
        t_begin,
        t_end,
        n_tags,
        n_gaps,
        width,
        unit,
        period,
    ) = _HEADER.unpack(head)
    if magic != MAGIC:
        raise WireError(f"bad magic {magic!r} at byte 0 (expected {MAGIC!r})")
    if version != VERSION:
        raise WireError(f"wire format version {version} (this receiver reads {VERSION})")
    try:
        kind = Kind(kind)
    except ValueError:
        raise WireError(f"unknown message kind {kind} at byte 6") from None
    if t_end < t_begin:
        raise WireError(f"span ends before it begins: [{t_begin}, {t_end})")
    message = Message(kind, stream_id, sequence, t_begin, t_end)
    if kind == Kind.BATCH:
        message.batch = _decode_batch(views, flags, t_begin, t_end, n_tags, n_gaps, width)
        message.batch.nanotime_unit_ps = unit if width else None
        message.batch.sync_period_ps = period or None
    else:
        message.record, message.arrays = _decode_record(views)
    return message


def _view(frame: object) -> memoryview:
    buffer = getattr(frame, "buffer", frame)  # zmq.Frame
    return memoryview(buffer).cast("B")


def _decode_batch(views, flags, t_begin, t_end, n_tags, n_gaps, width) -> TagBatch:
    expected = _batch_frames(flags, n_tags, n_gaps, width)
    arrays = _batch_arrays(views, expected)
    ts = arrays["timestamps"]
    _check_order(ts, t_begin, t_end)
    gaps = iv.EMPTY
    if flags & GAPS:
        gaps = _checked_gaps(arrays["gaps"].reshape(-1, 2), ts, t_begin, t_end)
    return TagBatch(
        ts,
        arrays["channels"],
        t_begin,
        t_end,
        nanotimes=arrays.get("nanotimes"),
        gaps=gaps,
        check=False,
    )


def _batch_frames(flags, n_tags, n_gaps, width) -> list[tuple[str, str, int]]:
    """The array frames a batch header announces: name, dtype and number of values each."""
    if flags & ~(TIMESTAMPS | CHANNELS | NANOTIMES | GAPS):
        raise WireError(f"unknown array flags {flags:#x} at byte 7")
    if not flags & TIMESTAMPS or not flags & CHANNELS:
        raise WireError("a batch must carry timestamps and channels")
    if bool(flags & NANOTIMES) != bool(width):
        raise WireError(f"nanotime width {width} does not match the array flags {flags:#x}")
    if width not in (0, 1, 2, 4):
        raise WireError(f"nanotimes of {width} bytes (1, 2 or 4)")
    if bool(flags & GAPS) != bool(n_gaps):
        raise WireError(f"{n_gaps} gaps do not match the array flags {flags:#x}")
    expected = [("timestamps", "<i8", n_tags), ("channels", "|u1", n_tags)]
    if flags & NANOTIMES:
        expected.append(("nanotimes", f"<u{width}" if width > 1 else "|u1", n_tags))
    if flags & GAPS:
        expected.append(("gaps", "<i8", 2 * n_gaps))
    return expected


def _batch_arrays(views, expected: list[tuple[str, str, int]]) -> dict[str, np.ndarray]:
    """The batch's arrays over the frames after the header, each checked for its size."""
    if len(views) != 1 + len(expected):
        raise WireError(f"{len(views)} frames, expected {1 + len(expected)}")
    arrays = {}
    for k, ((name, dtype, count), view) in enumerate(zip(expected, views[1:], strict=True), 1):
        size = np.dtype(dtype).itemsize * count
        if view.nbytes != size:
            raise WireError(
                f"frame {k} ({name}) holds {view.nbytes} bytes, expected {size} for {count} values"
            )
        arrays[name] = np.frombuffer(view, dtype=dtype)
    return arrays


def _check_order(ts: np.ndarray, t_begin: int, t_end: int) -> None:
    """The timestamps (ps) are in order and inside the span ``[t_begin, t_end)``."""
    bad = first_out_of_order(ts, np.int64(t_begin), np.int64(t_end))
    if bad >= 0:
        if ts[bad] < t_begin or ts[bad] >= t_end:
            raise WireError(f"tag {bad} at {ts[bad]} ps lies outside the span [{t_begin}, {t_end})")
        raise WireError(f"timestamps go back in time at tag {bad}")


def _checked_gaps(gaps: np.ndarray, ts: np.ndarray, t_begin: int, t_end: int) -> np.ndarray:
    """The gaps (``[start, end)`` rows, ps), checked to be sorted, apart, inside the span and
    free of tags."""
    ordered = np.all(gaps[:, 1] > gaps[:, 0]) and np.all(gaps[1:, 0] > gaps[:-1, 1])
    if not ordered or gaps[0, 0] < t_begin or gaps[-1, 1] > t_end:
        raise WireError("gaps must be sorted, apart, and inside the span")
    if iv.contains(gaps, ts).any():
        raise WireError("a tag lies inside a gap")
    return gaps


def _decode_record(views) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    if len(views) < 2:
        raise WireError("a record needs its JSON frame")
    if views[1].nbytes > MAX_RECORD_JSON:
        raise WireError(
            f"frame 1 holds {views[1].nbytes} bytes of JSON (at most {MAX_RECORD_JSON})"
        )
    try:
        record = json.loads(bytes(views[1]).decode("utf-8"), parse_int=_bounded_int)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WireError(f"frame 1 is not JSON: {str(exc)[:200]}") from None
    if not isinstance(record, dict):
        raise WireError("frame 1 must hold a JSON object")
    listed = record.pop("arrays", [])
    if not isinstance(listed, list):
        raise WireError("the record's 'arrays' must be a list")
    if len(views) != 2 + len(listed):
        raise WireError(f"{len(views)} frames for a record listing {len(listed)} arrays")
    arrays = {}
    for k, (entry, view) in enumerate(zip(listed, views[2:], strict=True), 2):
        name, dtype, shape = _array_entry(entry, k - 2)
        size = np.dtype(dtype).itemsize * math.prod(shape)
        if view.nbytes != size:
            raise WireError(f"frame {k} ({name}) holds {view.nbytes} bytes, expected {size}")
        arrays[name] = np.frombuffer(view, dtype=dtype).reshape(shape)
    return record, arrays


def _bounded_int(text: str) -> int:
    if len(text) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(text)} digits")
    return int(text)


def _array_entry(entry: object, k: int) -> tuple[str, str, tuple[int, ...]]:
    """``[name, dtype, shape]`` of a record's array, checked: a known dtype, at most
    :data:`MAX_DIMS` non-negative whole dimensions of at most :data:`MAX_ARRAY_VALUES` values."""
    if not isinstance(entry, list) or len(entry) != 3:
        raise WireError(f"array entry {k} must be [name, dtype, shape]")
    name, dtype, shape = entry
    ok = isinstance(name, str) and isinstance(dtype, str) and dtype in RECORD_DTYPES
    if not ok or not isinstance(shape, list) or len(shape) > MAX_DIMS:
        raise WireError(f"array entry {k}: name, dtype or shape not allowed")
    if not all(type(s) is int and 0 <= s <= MAX_ARRAY_VALUES for s in shape):
        raise WireError(f"array {name!r}: shape {shape} not allowed")
    if math.prod(shape) > MAX_ARRAY_VALUES:
        raise WireError(f"array {name!r}: shape {shape} holds too many values")
    return name, dtype, tuple(shape)
