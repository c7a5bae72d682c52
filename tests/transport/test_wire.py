"""The wire format: round trips, and every malformation a receiver must reject."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import zmq

from tagstream.tags import Channel, ChannelMap, Role, RunMetadata, TagBatch
from tagstream.transport.streams import MAX_MESSAGE_TAGS, BatchPublisher, BatchSubscriber
from tagstream.transport.wire import (
    HEADER_SIZE,
    MAGIC,
    VERSION,
    Kind,
    WireError,
    decode,
    encode_batch,
    encode_record,
)

METADATA = RunMetadata(
    "test",
    ChannelMap([Channel(0, "laser", Role.SYNC), Channel(1, "A"), Channel(2, "B")]),
    mode="T3",
    sync_period_ps=12_500.0,
    nanotime_unit_ps=4.0,
    hbt_pair=("A", "B"),
)


def _batch(rng, n=1000, t_begin=1_000, t_end=10_000_000, nanotime_dtype=np.uint16, gaps=None):
    ts = np.sort(rng.integers(t_begin, t_end, n)).astype(np.int64)
    if gaps is not None:
        inside = np.zeros(n, bool)
        for a, b in gaps:
            inside |= (ts >= a) & (ts < b)
        ts = ts[~inside]
    ch = rng.integers(1, 3, ts.size).astype(np.uint8)
    nt = None
    if nanotime_dtype is not None:
        nt = rng.integers(0, 3000, ts.size).astype(nanotime_dtype)
    return TagBatch(
        ts,
        ch,
        t_begin,
        t_end,
        nanotimes=nt,
        nanotime_unit_ps=4.0 if nt is not None else None,
        sync_period_ps=12_500.0,
        gaps=None if gaps is None else np.array(gaps, np.int64),
    )


def _bytes(frames):
    return [f if isinstance(f, bytes) else np.ascontiguousarray(f).tobytes() for f in frames]


def _header(frames):
    return list(struct.unpack("<4sHBBIQqqQIB3xdd", frames[0]))


def _with_header(frames, index, value):
    fields = _header(frames)
    fields[index] = value
    return [struct.pack("<4sHBBIQqqQIB3xdd", *fields), *frames[1:]]


# ---------------------------------------------------------------------- round trips
@pytest.mark.parametrize("nanotime_dtype", [None, np.uint8, np.uint16, np.uint32])
@pytest.mark.parametrize("n", [0, 1, 1000])
def test_batch_round_trip(rng, nanotime_dtype, n):
    batch = _batch(rng, n, nanotime_dtype=nanotime_dtype)
    message = decode(_bytes(encode_batch(batch, stream_id=7, sequence=42)))
    assert message.kind == Kind.BATCH
    assert (message.stream_id, message.sequence) == (7, 42)
    got = message.batch
    np.testing.assert_array_equal(got.timestamps, batch.timestamps)
    np.testing.assert_array_equal(got.channels, batch.channels)
    assert (got.t_begin, got.t_end) == (batch.t_begin, batch.t_end)
    assert got.sync_period_ps == 12_500.0
    if nanotime_dtype is None:
        assert got.nanotimes is None and got.nanotime_unit_ps is None
    else:
        np.testing.assert_array_equal(got.nanotimes, batch.nanotimes)
        assert got.nanotimes.dtype == np.dtype(nanotime_dtype)
        assert got.nanotime_unit_ps == 4.0


def test_batch_with_gaps_round_trips(rng):
    gaps = [[2_000_000, 3_000_000], [5_000_000, 5_000_100]]
    batch = _batch(rng, 5000, gaps=gaps)
    got = decode(_bytes(encode_batch(batch, 0, 0))).batch
    np.testing.assert_array_equal(got.gaps, np.array(gaps))
    np.testing.assert_array_equal(got.timestamps, batch.timestamps)


def test_a_batch_with_no_tags_still_advances_time():
    empty = TagBatch(np.zeros(0, np.int64), np.zeros(0, np.uint8), 500, 9_000)
    got = decode(_bytes(encode_batch(empty, 0, 3))).batch
    assert len(got) == 0 and (got.t_begin, got.t_end) == (500, 9_000)


def test_batch_arrays_are_sent_without_copying(rng):
    batch = _batch(rng)
    frames = encode_batch(batch, 0, 0)
    assert np.shares_memory(frames[1], batch.timestamps)
    assert np.shares_memory(frames[2], batch.channels)
    assert np.shares_memory(frames[3], batch.nanotimes)


def test_header_layout_is_little_endian_and_fixed(rng):
    frames = encode_batch(_batch(rng, 10), stream_id=3, sequence=5)
    head = frames[0]
    assert len(head) == HEADER_SIZE == 68
    assert head[:4] == MAGIC
    assert int.from_bytes(head[4:6], "little") == VERSION
    assert head[6] == Kind.BATCH
    assert head[7] == 1 | 2 | 4  # timestamps, channels, nanotimes
    assert int.from_bytes(head[8:12], "little") == 3
    assert int.from_bytes(head[12:20], "little") == 5


def test_record_round_trip_with_arrays():
    arrays = {
        "counts": np.arange(12, dtype=np.int64).reshape(3, 4),
        "rate": np.array([1.5, 2.5]),
        "empty": np.zeros((0, 2), np.int64),
    }
    record = {"op": "hello", "n": np.int64(3), "x": np.float64(0.5), "list": np.arange(3)}
    message = decode(_bytes(encode_record(Kind.CONTROL, 1, 9, record, arrays, 10, 20)))
    assert message.kind == Kind.CONTROL and (message.t_begin, message.t_end) == (10, 20)
    assert message.record == {"op": "hello", "n": 3, "x": 0.5, "list": [0, 1, 2]}
    for name, value in arrays.items():
        np.testing.assert_array_equal(message.arrays[name], value)
        assert message.arrays[name].shape == value.shape


def test_records_refuse_what_they_cannot_carry():
    with pytest.raises(WireError, match="cannot be sent"):
        encode_record(Kind.SNAPSHOT, 0, 0, {}, {"s": np.array(["text"])})
    with pytest.raises(WireError, match="cannot hold"):
        encode_record(Kind.SNAPSHOT, 0, 0, {"x": object()})
    with pytest.raises(WireError, match="not a record"):
        encode_record(Kind.BATCH, 0, 0, {})


# ---------------------------------------------------------------------- malformations
def _good(rng):
    return _bytes(encode_batch(_batch(rng, 100, gaps=[[4_000_000, 4_100_000]]), 0, 0))


@pytest.mark.parametrize(
    ("corrupt", "reason"),
    [
        (lambda f: [], "empty message"),
        (lambda f: [f[0][:-1], *f[1:]], "header frame of 67 bytes"),
        (lambda f: [b"XXXX" + f[0][4:], *f[1:]], "bad magic"),
        (lambda f: _with_header(f, 1, VERSION + 1), "version"),
        (lambda f: _with_header(f, 2, 99), "unknown message kind 99"),
        (lambda f: _with_header(f, 3, 0x13), "unknown array flags"),
        (lambda f: _with_header(f, 3, 0x01 | 0x04 | 0x08), "must carry timestamps and channels"),
        (lambda f: _with_header(f, 10, 3), "nanotime"),
        (lambda f: _with_header(f, 9, 0), "gaps do not match"),
        (lambda f: _with_header(f, 7, 0), "span ends before it begins"),
        (lambda f: f[:-1], "frames, expected"),
        (lambda f: [*f, b"extra"], "frames, expected"),
        (lambda f: [f[0], f[1][:-3], *f[2:]], "frame 1 \\(timestamps\\) holds"),
        (lambda f: [f[0], f[1], f[2][:-1], *f[3:]], "frame 2 \\(channels\\) holds"),
        (lambda f: [f[0], f[1], f[2], f[3][:-2], f[4]], "frame 3 \\(nanotimes\\) holds"),
        (lambda f: _with_header(f, 8, 101), "expected 808 for 101 values"),
    ],
)
def test_malformed_batches_are_rejected_with_a_reason(rng, corrupt, reason):
    with pytest.raises(WireError, match=reason):
        decode(corrupt(_good(rng)))


def test_timestamps_out_of_order_are_rejected(rng):
    frames = _good(rng)
    ts = np.frombuffer(frames[1], np.int64).copy()
    ts[10], ts[11] = ts[11] + 1, ts[10]
    with pytest.raises(WireError, match="go back in time at tag 11"):
        decode([frames[0], ts.tobytes(), *frames[2:]])


@pytest.mark.parametrize("where", ["before", "after"])
def test_timestamps_outside_the_span_are_rejected(rng, where):
    frames = _good(rng)
    ts = np.frombuffer(frames[1], np.int64).copy()
    if where == "before":
        ts[0] = 999
    else:
        ts[-1] = 10_000_000
    with pytest.raises(WireError, match="outside the span"):
        decode([frames[0], ts.tobytes(), *frames[2:]])


def test_bad_gaps_are_rejected(rng):
    frames = _good(rng)
    inside_tags = np.array([[1_000, 9_000_000]], np.int64)
    with pytest.raises(WireError, match="a tag lies inside a gap"):
        decode([*frames[:-1], inside_tags.tobytes()])
    outside_span = np.array([[0, 1_000]], np.int64)
    with pytest.raises(WireError, match="inside the span"):
        decode([*frames[:-1], outside_span.tobytes()])
    reversed_gap = np.array([[4_100_000, 4_000_000]], np.int64)
    with pytest.raises(WireError, match="sorted"):
        decode([*frames[:-1], reversed_gap.tobytes()])


def test_malformed_records_are_rejected():
    frames = _bytes(encode_record(Kind.SNAPSHOT, 0, 0, {"a": 1}, {"x": np.arange(3)}))
    with pytest.raises(WireError, match="needs its JSON frame"):
        decode(frames[:1])
    with pytest.raises(WireError, match="not JSON"):
        decode([frames[0], b"\xff{", frames[2]])
    with pytest.raises(WireError, match="JSON object"):
        decode([frames[0], b"[1, 2]"])
    with pytest.raises(WireError, match="listing 1 arrays"):
        decode(frames[:2])
    with pytest.raises(WireError, match="frame 2 \\(x\\) holds 23 bytes"):
        decode([*frames[:2], frames[2][:-1]])
    listed = json.dumps({"arrays": [["x", "<U4", [1]]]}).encode()
    with pytest.raises(WireError, match="not allowed"):
        decode([frames[0], listed, b"abcd"])
    listed = json.dumps({"arrays": [["x"]]}).encode()
    with pytest.raises(WireError, match="must be \\[name, dtype, shape\\]"):
        decode([frames[0], listed, b""])


def test_random_corruption_never_escapes_as_anything_but_a_wire_error(rng):
    """Flipped bytes anywhere: either the message still decodes to something consistent, or
    a WireError says why not."""
    good = _good(rng)
    for _ in range(300):
        frames = [bytearray(f) for f in good]
        k = int(rng.integers(0, len(frames)))
        if len(frames[k]):
            frames[k][int(rng.integers(0, len(frames[k])))] ^= 1 << int(rng.integers(0, 8))
        try:
            message = decode([bytes(f) for f in frames])
        except WireError:
            continue
        batch = message.batch
        assert np.all(np.diff(batch.timestamps) >= 0)
        assert batch.timestamps.size == 0 or (
            batch.timestamps[0] >= batch.t_begin and batch.timestamps[-1] < batch.t_end
        )


HOSTILE_RECORDS = [
    b"[" * 100_000 + b"]" * 100_000,  # nesting deeper than the parser's recursion
    json.dumps({"arrays": 5}).encode(),
    json.dumps({"arrays": [["x", ["<i8"], [1]]]}).encode(),  # a list as dtype
    json.dumps({"arrays": [["x", "<i8", [2**40, 2**40]]]}).encode(),  # a product past int64
    json.dumps({"arrays": [["x", "<i8", [2**70]]]}).encode(),  # a dimension past 2**63
    json.dumps({"arrays": [["x", "<i8", [1.5]]]}).encode(),
    json.dumps({"arrays": [["x", "<i8", [1] * 20]]}).encode(),
    json.dumps({"arrays": [[5, "<i8", [1]]]}).encode(),
    json.dumps({"arrays": {"x": 1}}).encode(),
    b'{"a": ' + b"9" * 5_000 + b"}",  # an integer of 5000 digits
    b'{"a": "\\ud800", "arrays": []}',  # valid JSON (a lone surrogate), one frame too many
]


@pytest.mark.parametrize("body", HOSTILE_RECORDS, ids=range(len(HOSTILE_RECORDS)))
def test_hostile_records_are_wire_errors(body):
    header = encode_record(Kind.SNAPSHOT, 0, 0, {})[0]
    with pytest.raises(WireError):
        decode([header, body, b"\0" * 8])


def test_ten_thousand_hostile_messages_end_as_wire_errors_or_messages(rng):
    """Random frames, mutated good messages and hostile JSON: decode returns a message or
    raises WireError, nothing else."""
    good = _bytes(encode_record(Kind.SNAPSHOT, 3, 7, {"a": [1, 2]}, {"x": np.arange(6.0)}))
    batch = _good(rng)
    seeds = [good, batch, *([good[0], body] for body in HOSTILE_RECORDS)]
    decoded = rejected = 0
    for _ in range(10_000):
        frames = [bytearray(f) for f in seeds[int(rng.integers(0, len(seeds)))]]
        for _mutation in range(int(rng.integers(0, 4))):
            k = int(rng.integers(0, len(frames)))
            what = rng.integers(0, 4)
            if what == 0 and len(frames[k]):
                frames[k][int(rng.integers(0, len(frames[k])))] = int(rng.integers(0, 256))
            elif what == 1:
                frames[k] = frames[k][: int(rng.integers(0, len(frames[k]) + 1))]
            elif what == 2:
                frames.insert(k, bytearray(rng.bytes(int(rng.integers(0, 80)))))
            elif len(frames) > 1:
                del frames[k]
        try:
            decode([bytes(f) for f in frames])
            decoded += 1
        except WireError:
            rejected += 1
    assert decoded + rejected == 10_000 and rejected > 5_000 and decoded > 100


# ---------------------------------------------------------------------- streams
@pytest.fixture
def pair():
    context = zmq.Context()
    publisher = BatchPublisher(context, "inproc://wire-test", hwm=1000)
    subscriber = BatchSubscriber(context, "inproc://wire-test", hwm=1000)
    assert publisher.wait_for_subscribers(1, 5.0)
    yield publisher, subscriber
    subscriber.close()
    publisher.close()
    context.term()


def _span(t0, t1):
    ts = np.arange(t0, t1, 1000, dtype=np.int64)
    return TagBatch(ts, np.ones(ts.size, np.uint8), t0, t1)


def test_subscriber_counts_malformed_messages_and_goes_on(pair):
    publisher, subscriber = pair
    publisher.send_header(METADATA)
    publisher.send_batch(_span(0, 100_000))
    publisher.socket.send_multipart([b"garbage"])
    frames = _bytes(encode_batch(_span(100_000, 200_000), 0, 1))
    publisher.socket.send_multipart([frames[0], frames[1][:-8], frames[2]])  # truncated
    publisher.sequence = 1  # the truncated message never counts as sent: sequence 1 again
    publisher.send_batch(_span(100_000, 200_000))
    publisher.send_end(200_000)
    kinds = []
    while True:
        message = subscriber.receive(timeout_s=5)
        kinds.append(message.kind)
        if message.kind == Kind.END:
            break
    assert kinds == [Kind.RUN_HEADER, Kind.BATCH, Kind.BATCH, Kind.END]
    counters = subscriber.counters
    assert counters.malformed == 2 and counters.missed == 0 and counters.gaps == []
    assert "frame 1 (timestamps)" in counters.last_error
    assert subscriber.metadata == METADATA


def test_a_hole_in_the_sequence_becomes_a_leading_gap(pair):
    publisher, subscriber = pair
    publisher.send_header(METADATA)
    publisher.send_batch(_span(0, 100_000))
    publisher.sequence += 2  # two messages lost on the way
    publisher.send_batch(_span(300_000, 400_000))
    received = [subscriber.receive(timeout_s=5) for _ in range(3)]
    batch = received[2].batch
    assert subscriber.counters.missed == 2
    assert subscriber.counters.gaps == [(100_000, 300_000)]
    assert (batch.t_begin, batch.t_end) == (100_000, 400_000)
    np.testing.assert_array_equal(batch.gaps, [[100_000, 300_000]])
    assert batch.metadata == METADATA


def test_a_pause_in_the_acquisition_is_not_a_loss(pair):
    """Consecutive sequence numbers with time between the spans: the source itself paused
    (for example a recorded gap); the subscriber passes it on but does not count a loss."""
    publisher, subscriber = pair
    publisher.send_batch(_span(0, 100_000))
    publisher.send_batch(_span(300_000, 400_000))
    subscriber.receive(timeout_s=5)
    batch = subscriber.receive(timeout_s=5).batch
    assert subscriber.counters.missed == 0 and subscriber.counters.gaps == []
    assert batch.t_begin == 100_000


def test_resume_at_marks_the_time_before_the_first_batch_as_lost(pair):
    publisher, subscriber = pair
    subscriber.resume_at(50_000)
    publisher.sequence = 17
    publisher.send_batch(_span(200_000, 300_000))
    batch = subscriber.receive(timeout_s=5).batch
    assert subscriber.counters.gaps == [(50_000, 200_000)]
    assert batch.t_begin == 50_000


def test_large_batches_are_split_into_messages(pair):
    publisher, subscriber = pair
    n = MAX_MESSAGE_TAGS + 10
    big = TagBatch(np.arange(n, dtype=np.int64), np.ones(n, np.uint8), 0, n)
    assert publisher.send_batch(big) == [0, 1]
    first = subscriber.receive(timeout_s=5).batch
    second = subscriber.receive(timeout_s=5).batch
    assert len(first) + len(second) == n and first.t_end == second.t_begin
    assert (first.t_begin, second.t_end) == (0, n)
