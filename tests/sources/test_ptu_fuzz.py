"""Fuzzing the PicoQuant PTU reader: a damaged file is either read into well-formed batches or
refused with a one-line :class:`~tagstream.errors.TagstreamError` (naming the byte offset when
the file is corrupt); never another exception, never a hang.

Every example starts from a valid file written by the independent encoder (``pq_encoder``):
any of the 12 record types, a small random event stream (overflows included), random extra
header tags of every type. It is then damaged: cut at any byte, bytes overwritten in the
header, a tag's identifier, index, type code or value replaced (huge or negative payload
lengths, unknown type codes, absurd array indices), the values of the tags the reader relies
on replaced (record type, record count, resolutions: 0, negative, NaN, inf, absurd), junk
inserted or bytes deleted anywhere, records replaced by arbitrary 32-bit words (special records
of unknown meaning included). The damage is aimed through an independent walk of the header
(:func:`_walk`), not through the reader under test.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import math
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import tagstream as ts
import tagstream.sources.ptu_pieces as ptu_pieces
from tagstream.cli import main
from tagstream.errors import CorruptFileError, RunFileError, TagstreamError

from ..pq_encoder import FORMATS, MARKER, PHOTON, SYNC, TAG_TYPES, encode, ptu_file

#: TAGSTREAM_FUZZ_SCALE=20 runs 20 times the examples (a longer fuzzing session).
SCALE = float(os.environ.get("TAGSTREAM_FUZZ_SCALE", "1"))

#: Per example: hypothesis fails an example slower than this (ms; generous: a CI machine
#: running other jobs once took 33 s for an ``analyze`` example that takes 0.2 s alone) ...
DEADLINE_MS = 15000
#: ... and a watchdog interrupts one that runs this long (s): a hang, not a slow example.
HANG_S = 60
#: Batches consumed per example at most (the batch duration grows with the span).
MAX_BATCHES = 1000
#: Records per piece the reader is patched to in one test, so damage crosses piece boundaries.
SMALL_PIECE = 5


def _examples(n: int) -> int:
    return max(1, round(n * SCALE))


FUZZ = settings(max_examples=_examples(60), deadline=DEADLINE_MS)

OFFSET = re.compile(r"byte offsets? \d+")
_TAG = struct.Struct("<32siIq")
_PREAMBLE = 16  # magic and version
_PAYLOAD_CODES = {TAG_TYPES[n] for n in ("Float8Array", "AnsiString", "WideString", "BinaryBlob")}
_SCALAR_CODES = sorted(set(TAG_TYPES.values()) - _PAYLOAD_CODES)
FORMAT_NAMES = sorted(FORMATS)


# ------------------------------------------------------------------------ independent header walk
@dataclass(frozen=True)
class TagAt:
    """Where one header tag sits in the file."""

    offset: int
    name: str
    index: int
    code: int
    payload: int  # payload bytes after the 48-byte head

    @property
    def code_offset(self) -> int:
        return self.offset + 36

    @property
    def value_offset(self) -> int:
        return self.offset + 40


def _walk(raw: bytes) -> tuple[list[TagAt], int]:
    """The tags of a valid file (as the encoder writes it) and the offset of its records."""
    pos = _PREAMBLE
    tags = []
    while True:
        ident, index, code, value = _TAG.unpack_from(raw, pos)
        payload = value if code in _PAYLOAD_CODES else 0
        name = ident.split(b"\0", 1)[0].decode("ascii")
        tags.append(TagAt(pos, name, index, code, payload))
        pos += _TAG.size + payload
        if name == "Header_End":
            return tags, pos


def _tag(tags: list[TagAt], name: str) -> TagAt:
    return next(t for t in tags if t.name == name)


# ------------------------------------------------------------------------ valid files
@dataclass(frozen=True)
class Base:
    """What a valid file is written from."""

    fmt: str
    time: list[int]
    kind: list[int]
    channel: list[int]
    dtime: list[int] | None
    resolution_s: float
    sync_rate_hz: float
    seed: int
    extra: list[tuple]


_WARNING_NAMES = ["HW_Overflow", "TTResult_Dropped", "Usr_Warning", "HWInpChan_Lost"]
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
_idents = st.one_of(
    st.text(_ALNUM, min_size=1, max_size=28).map(lambda s: "Usr" + s),
    st.sampled_from(_WARNING_NAMES),
)
_any_float = st.floats(allow_nan=True, allow_infinity=True)
_tag_values = {
    "Empty8": st.none(),
    "Bool8": st.booleans(),
    "Int8": st.integers(-(2**63), 2**63 - 1),
    "BitSet64": st.integers(0, 2**64 - 1),
    "Color8": st.integers(0, 2**64 - 1),
    "Float8": _any_float,
    "TDateTime": _any_float,
    "Float8Array": st.lists(_any_float, max_size=6),
    "AnsiString": st.text(max_size=40),
    "WideString": st.text(st.characters(codec="utf-16", exclude_categories=["Cs"]), max_size=40),
    "BinaryBlob": st.binary(max_size=40),
}
#: Extra header tags of every type, scalars and array elements.
extra_tags = st.lists(
    st.sampled_from(sorted(_tag_values)).flatmap(
        lambda kind: st.tuples(
            _idents, st.sampled_from([-1, -1, 0, 1, 3]), st.just(kind), _tag_values[kind]
        )
    ),
    max_size=4,
)


@st.composite
def bases(draw, formats=FORMAT_NAMES) -> Base:
    """A small valid event stream of a random record type, and its header settings."""
    fmt = draw(st.sampled_from(formats))
    spec = FORMATS[fmt]
    n = draw(st.integers(0, 30))
    # Pauses that need overflow records: a counted record holds up to max_count wraps, an
    # uncounted one a single wrap (so only a few of those).
    jumps = [spec.period - 1, spec.period, 3 * spec.period + 7]
    if spec.counted:
        jumps.append((2 * spec.max_count + 5) * spec.period)
    steps = draw(
        st.lists(st.one_of(st.integers(0, 5000), st.sampled_from(jumps)), min_size=n, max_size=n)
    )
    time = list(itertools.accumulate(steps))
    kinds = [PHOTON, MARKER] + ([SYNC] if spec.has_sync_records else [])
    kind = draw(st.lists(st.sampled_from(kinds), min_size=n, max_size=n))
    if spec.picoharp:
        lo, hi = (0, 14) if spec.mode == 2 else (1, 14)
    else:
        lo, hi = 0, 63
    channel = [
        0 if k == SYNC else draw(st.integers(1, 15) if k == MARKER else st.integers(lo, hi))
        for k in kind
    ]
    dtime = None
    if spec.mode == 3:
        top = (1 << spec.dtime_bits) - 1
        dtime = draw(st.lists(st.integers(0, top), min_size=n, max_size=n))
    if spec.mode == 2:
        res = draw(st.sampled_from([1e-12, 4e-12, 2.5e-13, 8e-12, 1e-11]))
    else:
        res = draw(st.sampled_from([1e-12, 4e-12, 5e-12, 2.5e-11, 3.3e-12]))
    rate = draw(st.sampled_from([1e6, 2e7, 4e7, 8e7, 79_999_999.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    extra = draw(extra_tags)
    acquisition_ms = draw(st.sampled_from([None, 0, 1, 10_000]))  # None: the default, 10 s
    if acquisition_ms is not None:
        extra = [*extra, ("MeasDesc_AcquisitionTime", -1, "Int8", acquisition_ms)]
    return Base(fmt, time, kind, channel, dtime, res, rate, seed, extra)


def _write(folder: Path, base: Base) -> tuple[Path, bytes]:
    rng = np.random.default_rng(base.seed)  # fills the bits a decoder must ignore
    records, _ = encode(base.fmt, base.time, base.kind, base.channel, base.dtime, rng=rng)
    path = ptu_file(
        folder / "fuzz.ptu",
        base.fmt,
        records,
        base.resolution_s,
        base.sync_rate_hz,
        extra_tags=base.extra,
    )
    return path, path.read_bytes()


# ------------------------------------------------------------------------ damage
# Each strategy draws a function raw -> damaged raw, given the walk of the valid file.

_SPECIAL_WORDS = [
    0x00000000,
    0xFFFFFFFF,  # HydraHarp family: overflow with the largest count; PicoHarp: overflow
    0xFE000000,  # HydraHarp family: overflow, count 0 (one)
    0xFE000001,
    0x80000000,  # HydraHarp T2: sync at 0; T3: special channel 0 (unknown meaning)
    0xA0000000,  # HydraHarp family: special channel 16 (unknown meaning)
    0xF0000000,  # PicoHarp: overflow
    0xF000000F,  # PicoHarp T2: marker
    0xF00F0000,  # PicoHarp T3: marker
    0x7FFFFFFF,
    0x0FFFFFFF,
]
_words = st.one_of(st.integers(0, 2**32 - 1), st.sampled_from(_SPECIAL_WORDS))
_int64 = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, 1, -1, -8, 7, 8, 2**31, 2**32, 1 << 28, 2**62, 2**63 - 1, -(2**63)]),
)
#: Resolutions (s) the reader must refuse or cope with: zero, negative, NaN, denormal, tiny.
_BAD_FLOATS = [0.0, -0.0, -1e-12, math.nan, -math.nan, 5e-324, 1e-300, 1e-6]
#: Resolutions that put times beyond int64 ps, or are infinite: they crash pq_file.py.
_HUGE_FLOATS = [math.inf, -math.inf, 1e300, 1e10, 1e6, 1.0, 1e-3]


def _put(raw: bytes, pos: int, data: bytes) -> bytes:
    """``data`` written over ``raw`` at ``pos`` (as far as ``raw`` reaches: it may be cut)."""
    data = data[: max(len(raw) - pos, 0)]
    return raw[:pos] + data + raw[pos + len(data) :]


def _i64(value: int) -> bytes:
    return struct.pack("<q", min(max(value, -(2**63)), 2**63 - 1))


def _f64(value: float) -> bytes:
    return struct.pack("<d", value)


def _u32(value: int) -> bytes:
    return struct.pack("<I", value)


def _positions(tags: list[TagAt], end: int):
    """Byte positions below ``end``: anywhere, or inside a tag's head (hypothesis favours
    small numbers, which would put most damage into the magic)."""
    heads = [t.offset + k for t in tags for k in range(_TAG.size)]
    inside = st.sampled_from([p for p in heads if p < end])
    return st.one_of(st.integers(0, end - 1), inside)


def truncations(raw: bytes, tags: list[TagAt], records: int):
    """Cut at any byte, often at or next to a tag boundary or the start of the records."""
    near = {p + d for t in tags for p in (t.offset, t.value_offset) for d in (0, 1, 47)}
    near |= {records - 1, records, records + 1, records + 2, records + 3}
    cut = st.one_of(st.integers(0, len(raw)), st.sampled_from(sorted(near)))
    return cut.map(lambda k: lambda r: r[:k])


def overwrites(raw: bytes, tags: list[TagAt], records: int):
    """Random bytes of the header replaced."""
    where = _positions(tags, records)
    spots = st.lists(st.tuples(where, st.integers(0, 255)), min_size=1, max_size=6)

    def damage(pairs):
        def apply(r):
            b = bytearray(r)
            for pos, byte in pairs:
                if pos < len(b):
                    b[pos] = byte
            return bytes(b)

        return apply

    return spots.map(damage)


def tag_fields(raw: bytes, tags: list[TagAt], records: int):
    """One field of one tag replaced: identifier, index, type code or value (a payload
    length for the types with a payload)."""
    names = sorted({t.name for t in tags})
    ident = st.one_of(
        st.binary(min_size=32, max_size=32),
        st.sampled_from([*names, "", "Header_End", "\xff\xfe", "a\nb", "Usr_Warning\nX"]).map(
            lambda s: s.encode("utf-8", "surrogateescape")[:31].ljust(32, b"\0")
        ),
    )
    index = st.one_of(
        st.integers(-(2**31), 2**31 - 1), st.sampled_from([-2, 0, 1, 1000, 65535, 2**31 - 1])
    )
    codes = st.one_of(st.sampled_from(sorted(TAG_TYPES.values())), st.integers(0, 2**32 - 1))
    size = len(raw)
    value = st.one_of(
        _int64,
        st.sampled_from([size, size - 16, size + 1, 1 << 28, (1 << 28) + 8]),
        st.integers(-16, 16),
    )

    def fields(t: TagAt):
        out = [
            ident.map(lambda v: lambda r: _put(r, t.offset, v)),
            index.map(lambda v: lambda r: _put(r, t.offset + 32, struct.pack("<i", v))),
            codes.map(lambda v: lambda r: _put(r, t.code_offset, _u32(v))),
        ]
        shift = t.payload  # payload lengths: often near the true one
        out.append(value.map(lambda v: lambda r: _put(r, t.value_offset, _i64(shift + v))))
        return st.one_of(out)

    return st.sampled_from(tags).flatmap(fields)


def key_tags(raw: bytes, tags: list[TagAt], records: int):
    """The value (and sometimes the type) of a tag the reader relies on replaced."""
    floats = _BAD_FLOATS + _HUGE_FLOATS
    anything = st.floats()
    resolution = st.one_of(st.sampled_from(floats), anything).map(_f64)
    codes = [f.code for f in FORMATS.values()]
    count = (len(raw) - records) // 4
    record_type = st.one_of(
        st.sampled_from([*codes, 0, -1, 0x00010309, 0x00010208, 2**32 + codes[0]]), _int64
    )
    declared = st.one_of(
        st.integers(-3, 3).map(lambda d: count + d),
        st.sampled_from([0, -1, -(2**63), 2**63 - 1, 2**32 + count]),
        _int64,
    )
    choices = {
        "TTResultFormat_TTTRRecType": (record_type.map(_i64), _SCALAR_CODES),
        "TTResult_NumberOfRecords": (
            declared.map(_i64),
            _SCALAR_CODES,
        ),
        "MeasDesc_GlobalResolution": (resolution, _SCALAR_CODES),
        "MeasDesc_Resolution": (resolution, _SCALAR_CODES),
        "TTResult_SyncRate": (
            st.one_of(_int64.map(_i64), resolution),
            _SCALAR_CODES,
        ),
        "MeasDesc_AcquisitionTime": (
            st.one_of(_int64.map(_i64), st.sampled_from(_BAD_FLOATS + _HUGE_FLOATS).map(_f64)),
            _SCALAR_CODES,
        ),
    }

    def change(t: TagAt):
        value, types = choices[t.name]
        same = value.map(lambda v: lambda r: _put(r, t.value_offset, v))
        retyped = st.tuples(value, st.sampled_from(types)).map(
            lambda vc: lambda r: _put(_put(r, t.value_offset, vc[0]), t.code_offset, _u32(vc[1]))
        )
        return st.one_of(same, retyped)

    return st.sampled_from([t for t in tags if t.name in choices]).flatmap(change)


def insertions(raw: bytes, tags: list[TagAt], records: int):
    """Junk inserted anywhere, often at a tag boundary or the start of the records."""
    where = st.one_of(
        _positions(tags, len(raw) + 1), st.sampled_from([t.offset for t in tags] + [records])
    )
    junk = st.one_of(st.binary(min_size=1, max_size=64), st.sampled_from([b"\0" * 48, b"\0" * 4]))
    return st.tuples(where, junk).map(lambda wj: lambda r: r[: wj[0]] + wj[1] + r[wj[0] :])


def deletions(raw: bytes, tags: list[TagAt], records: int):
    """A run of bytes deleted anywhere."""
    cut = st.tuples(_positions(tags, len(raw)), st.integers(1, 64))
    return cut.map(lambda sn: lambda r: r[: sn[0]] + r[sn[0] + sn[1] :])


def record_streams(raw: bytes, tags: list[TagAt], records: int):
    """The records replaced by arbitrary words; the declared count kept or made to match;
    sometimes a partial record at the end."""
    count_at = _tag(tags, "TTResult_NumberOfRecords").value_offset

    def replace(args):
        words, fix_count, tail = args

        def apply(r):
            r = r[:records] + np.asarray(words, dtype="<u4").tobytes() + tail
            return _put(r, count_at, _i64(len(words))) if fix_count else r

        return apply

    tails = st.sampled_from([b"", b"\x01", b"\x01\x02\x03"])
    return st.tuples(st.lists(_words, max_size=60), st.booleans(), tails).map(replace)


def record_flips(raw: bytes, tags: list[TagAt], records: int):
    """Some records of the valid stream replaced by arbitrary words."""
    n = (len(raw) - records) // 4
    if n == 0:
        return record_streams(raw, tags, records)
    spots = st.lists(st.tuples(st.integers(0, n - 1), _words), min_size=1, max_size=8)

    def damage(pairs):
        def apply(r):
            for i, word in pairs:
                r = _put(r, records + 4 * i, _u32(word))
            return r

        return apply

    return spots.map(damage)


DAMAGES = {
    "truncate": truncations,
    "overwrite": overwrites,
    "tag_field": tag_fields,
    "key_tag": key_tags,
    "insert": insertions,
    "delete": deletions,
    "records": record_streams,
    "record_flips": record_flips,
}
HEADER_DAMAGES = ["truncate", "overwrite", "tag_field", "key_tag", "insert", "delete"]
RECORD_DAMAGES = ["records", "record_flips", "truncate"]


def _damaged(data, base: Base, folder: Path, kinds: list[str], most: int = 3) -> Path:
    """Write ``base`` and apply 1 to ``most`` damages of the given kinds, each aimed at the
    layout of the valid file."""
    path, valid = _write(folder, base)
    tags, records = _walk(valid)
    raw = valid
    for _ in range(data.draw(st.integers(1, most), label="damages")):
        kind = data.draw(st.sampled_from(kinds), label="kind")
        damage = data.draw(DAMAGES[kind](valid, tags, records), label=kind)
        raw = damage(raw)
    path.write_bytes(raw)
    return path


# ------------------------------------------------------------------------ the property
class Hang(AssertionError):
    """An example ran for HANG_S seconds."""


@contextlib.contextmanager
def watchdog(seconds: float = HANG_S):
    """Interrupt the block after ``seconds`` (a hang: hypothesis' deadline only measures)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def fire(signum, frame):
        raise Hang(f"no result after {seconds} s: the reader hangs")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def assert_clean_error(exc: TagstreamError, path: Path) -> None:
    """One line naming the file; for a corrupt file, the byte offset too."""
    text = str(exc)
    assert text.strip(), f"{type(exc).__name__} without a message"
    assert len(text.splitlines()) == 1, f"{type(exc).__name__} message is not one line: {text!r}"
    assert isinstance(exc, RunFileError), f"{type(exc).__name__} does not name the file: {text}"
    assert str(path) in text, text
    if isinstance(exc, CorruptFileError):
        assert OFFSET.search(text), f"corrupt-file error without a byte offset: {text}"


def assert_well_formed(run) -> None:
    """Everything read from an opened file: int64 ps in time order inside contiguous spans
    from ``t_begin`` to ``t_end``, per-channel counts as in ``run.counts``; tags left out of
    ``batches()`` only with a warning saying so."""
    assert isinstance(run.t_begin, int) and isinstance(run.t_end, int)
    assert 0 <= run.t_begin < run.t_end < 2**63, (run.t_begin, run.t_end)
    md = run.metadata
    assert md.mode in ("T2", "T3")
    for name in ("resolution_ps", "sync_period_ps", "nanotime_unit_ps"):
        value = getattr(md, name)
        assert value is None or (math.isfinite(value) and value > 0), f"metadata.{name} = {value}"
    counts = np.asarray(run.counts)

    whole = run.read()
    t = whole.timestamps
    assert t.dtype == np.int64 and whole.channels.dtype == np.uint8
    assert t.shape == whole.channels.shape
    assert (whole.t_begin, whole.t_end) == (run.t_begin, run.t_end)
    assert np.all(t[1:] >= t[:-1]), "read(): timestamps go back in time"
    np.testing.assert_array_equal(
        np.bincount(whole.channels, minlength=counts.size), counts, "read() vs run.counts"
    )
    inside = t < run.t_end
    assert inside.all(), f"read(): tags up to {t[-1]} ps, past t_end = {run.t_end} ps"
    assert t.size == 0 or t[0] >= run.t_begin, f"read(): a tag at {t[0]} ps, before t_begin"
    if md.mode == "T3":
        assert whole.nanotimes is not None and whole.nanotimes.shape == t.shape
        assert np.issubdtype(whole.nanotimes.dtype, np.integer)
    else:
        assert whole.nanotimes is None
    expected = np.bincount(whole.channels[inside], minlength=counts.size)
    expected_t = t[inside]

    span = max(10**12, -(-(run.t_end - run.t_begin) // MAX_BATCHES))
    warned = len(run.warnings)
    parts = list(itertools.islice(run.batches(span), MAX_BATCHES + 2))
    assert len(parts) <= MAX_BATCHES + 1, "batches() does not stop at t_end"
    assert parts and parts[0].t_begin == run.t_begin and parts[-1].t_end == run.t_end
    for prev, nxt in itertools.pairwise(parts):
        assert prev.t_end == nxt.t_begin, "batches are not contiguous"
    got = np.zeros(counts.size, dtype=np.int64)
    for b in parts:
        bt = b.timestamps
        assert bt.dtype == np.int64 and b.t_begin < b.t_end
        assert np.all(bt[1:] >= bt[:-1]), "a batch goes back in time"
        if bt.size:
            assert b.t_begin <= bt[0] and bt[-1] < b.t_end, "tags outside their batch's span"
        if md.mode == "T3":
            assert b.nanotimes is not None and b.nanotimes.shape == bt.shape
        got += np.bincount(b.channels, minlength=counts.size)
    if np.array_equal(got, expected):
        joined = np.concatenate([b.timestamps for b in parts])
        np.testing.assert_array_equal(joined, expected_t, "batches() vs read()")
    else:
        assert np.all(got <= expected), "batches() hold tags read() does not"
        assert len(run.warnings) > warned, "tags left out of the batches without a warning"
    for text in run.warnings:
        assert isinstance(text, str) and len(text.splitlines()) == 1, text


def check_file(path: Path) -> str:
    """The property: read in full, or refused with a clean error. Returns which."""
    with watchdog():
        try:
            with ts.open(path) as run:
                assert_well_formed(run)
        except TagstreamError as exc:
            assert_clean_error(exc, path)
            return type(exc).__name__
    return "read"


@contextlib.contextmanager
def _patched(module, name: str, value):
    old = getattr(module, name)  # an AttributeError here: the reader was reorganised
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, old)


@pytest.fixture(scope="module", autouse=True)
def _compiled():
    """Load (or compile) the numba kernels of every record family before the deadlines."""
    with tempfile.TemporaryDirectory() as folder:
        for fmt in ("PicoHarpT2", "PicoHarpT3", "GenericT2", "GenericT3"):
            dtime = [3, 0] if FORMATS[fmt].mode == 3 else None
            base = Base(fmt, [1, 2], [PHOTON, MARKER], [1, 1], dtime, 1e-12, 8e7, 0, [])
            path = _write(Path(folder), base)[0]
            check_file(path)
        assert _cli(["info", str(path)])[0] == 0
    yield


# ------------------------------------------------------------------------ tests
@FUZZ
@given(base=bases())
def test_the_valid_starting_files_read_back_whole(base):
    """Every example starts from such a file (else the damage would test nothing)."""
    with tempfile.TemporaryDirectory() as folder:
        path, _ = _write(Path(folder), base)
        with ts.open(path) as run:
            # only the instrument's warnings (random extra tags are named like them)
            assert all(" = " in w for w in run.warnings), run.warnings
            assert_well_formed(run)
            assert int(run.counts.sum()) == len(base.time)


@pytest.mark.parametrize("kind", sorted(DAMAGES))
@FUZZ
@given(base=bases(), data=st.data())
def test_one_kind_of_damage(kind, base, data):
    with tempfile.TemporaryDirectory() as folder:
        event(check_file(_damaged(data, base, Path(folder), [kind], most=1)))


@settings(FUZZ, max_examples=_examples(150))
@given(base=bases(), data=st.data())
def test_several_damages_at_once(base, data):
    with tempfile.TemporaryDirectory() as folder:
        event(check_file(_damaged(data, base, Path(folder), sorted(DAMAGES))))


@settings(FUZZ, max_examples=_examples(80))
@given(base=bases(), data=st.data())
def test_damage_across_piece_boundaries(base, data):
    """The reader decodes the records in pieces (on two threads): with tiny pieces, damaged
    records (out of time order, overflows, unknown specials) straddle many boundaries."""
    with tempfile.TemporaryDirectory() as folder:
        path = _damaged(data, base, Path(folder), [*RECORD_DAMAGES, "key_tag"], most=2)
        with _patched(ptu_pieces, "PIECE_RECORDS", SMALL_PIECE):
            event(check_file(path))


@FUZZ
@given(base=bases(), declared=st.one_of(_int64, st.integers(-3, 40)), cut=st.integers(0, 3))
def test_a_record_count_or_a_last_record_at_odds_with_the_file_is_a_warning(base, declared, cut):
    """The header intact, the declared record count anything, the last record perhaps cut:
    the file opens, each disagreement is a warning naming the byte offset, and no more
    records are read than the file holds."""
    with tempfile.TemporaryDirectory() as folder:
        path, raw = _write(Path(folder), base)
        tags, records = _walk(raw)
        raw = _put(raw, _tag(tags, "TTResult_NumberOfRecords").value_offset, _i64(declared))
        whole = (len(raw) - records) // 4
        if cut and whole:
            raw, whole = raw[:-cut], whole - 1
        path.write_bytes(raw)
        with ts.open(path) as run:
            said = [w for w in run.warnings if OFFSET.search(w)]
            if cut and raw[records:]:
                at = records + 4 * whole
                assert any(f"cut short at byte offset {at}" in w for w in said), run.warnings
            if declared != whole:
                assert any(str(declared) in w for w in said), run.warnings
            assert run.num_records <= whole
            assert_well_formed(run)


# ------------------------------------------------------------------------ command line
def _cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with watchdog(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@settings(FUZZ, max_examples=_examples(25))
@given(base=bases(), data=st.data())
def test_info_and_analyze_refuse_a_broken_header_in_one_line_with_exit_code_2(base, data):
    with tempfile.TemporaryDirectory() as folder:
        path = _damaged(data, base, Path(folder), HEADER_DAMAGES, most=2)
        try:
            with ts.open(path):
                return  # still readable: the library properties above cover it
        except TagstreamError as exc:
            expect_offset = isinstance(exc, CorruptFileError)
        for verb in ("info", "analyze"):
            code, _, err = _cli([verb, str(path)])
            assert code == 2, (verb, code, err)
            lines = err.splitlines()
            assert len(lines) == 1 and "Traceback" not in err, err
            assert lines[0].startswith(f"tagstream {verb}: error: ") and str(path) in lines[0]
            assert OFFSET.search(lines[0]) or not expect_offset, lines[0]


#: ``info`` walks a file in 100 ms batches: a counted T2 overflow record adds up to 2**50 ps
#: (19 minutes, 11000 batches), too slow for a fuzz example; the other formats add < 1.1 s.
_SHORT_SPAN_FORMATS = [f for f in FORMAT_NAMES if FORMATS[f].mode == 3 or not FORMATS[f].counted]


@settings(FUZZ, max_examples=_examples(20))
@given(base=bases(_SHORT_SPAN_FORMATS), data=st.data())
def test_info_lists_damaged_records_or_refuses_them_in_one_line(base, data):
    """Damaged records (not the header) are read with warnings: ``info`` shows them and exits
    0, or refuses the file with exit code 2 and one line; never a traceback."""
    with tempfile.TemporaryDirectory() as folder:
        path = _damaged(data, base, Path(folder), RECORD_DAMAGES, most=2)
        code, _, err = _cli(["info", str(path)])
        assert code in (0, 2), (code, err)
        if code == 2:
            assert len(err.splitlines()) == 1 and str(path) in err, err


def test_python_m_tagstream_info_on_a_cut_header(tmp_path):
    base = Base("GenericT3", [1, 2], [PHOTON, PHOTON], [1, 2], [3, 4], 5e-12, 8e7, 0, [])
    path, raw = _write(tmp_path, base)
    path.write_bytes(raw[:300])
    proc = subprocess.run(
        [sys.executable, "-m", "tagstream", "info", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and OFFSET.search(lines[0]), proc.stderr


def test_info_warns_about_a_cut_last_record_and_exits_0(tmp_path):
    base = Base("HydraHarp2T2", [1, 2, 3], [PHOTON] * 3, [0, 1, 0], None, 1e-12, 8e7, 0, [])
    path, raw = _write(tmp_path, base)
    path.write_bytes(raw[:-1])
    code, out, err = _cli(["info", str(path)])
    assert code == 0, err
    warnings = [line for line in out.splitlines() if line.startswith("warning")]
    assert any("cut short at byte offset" in w for w in warnings), out


# ------------------------------------------------------------------------ pq_header.py fixes
def test_an_absurd_array_index_is_a_one_line_error_not_a_memory_blow_up(tmp_path):
    base = Base("GenericT2", [5], [PHOTON], [1], None, 1e-12, 8e7, 0, [])
    path, raw = _write(tmp_path, base)
    tags, _ = _walk(raw)
    at = _tag(tags, "CreatorSW_Name").offset
    path.write_bytes(_put(raw, at + 32, struct.pack("<i", 2**31 - 1)))
    with pytest.raises(CorruptFileError, match=f"CreatorSW_Name at byte offset {at} has array"):
        ts.open(path)


def test_header_warnings_are_one_line_whatever_the_tag_names(tmp_path):
    extra = [("Usr_Warning", -1, "Int8", 3)]
    base = Base("GenericT2", [5], [PHOTON], [1], None, 1e-12, 8e7, 0, extra)
    path, raw = _write(tmp_path, base)
    at = _tag(_walk(raw)[0], "Usr_Warning").offset
    path.write_bytes(_put(raw, at, b"Usr_Warning\nX\r\n"))
    with ts.open(path) as run:
        assert run.warnings == ["Usr_Warning X = 3"]


# ------------------------------------------------------------------------ found by fuzzing
def test_the_smallest_files_that_broke_the_reader(tmp_path):
    """Each of these once crashed the reader, or read wrongly without a word."""
    folder = tmp_path

    def tagged(name: str, fmt: str, records: list[int], *extra) -> Path:
        res = 5e-12 if FORMATS[fmt].mode == 3 else 1e-12
        recs = np.array(records, dtype=np.uint32)
        return ptu_file(folder / f"{name}.ptu", fmt, recs, res, 8e7, extra_tags=list(extra))

    cases = {
        # 1. t_end from the last record in file order: tags past t_end, dropped by batches()
        "past_t_end": tagged("a", "GenericT2", [1, 0], ("MeasDesc_AcquisitionTime", -1, "Int8", 0)),
        # 2. offset-less CorruptFileErrors about header values
        "no_offset": tagged(
            "b", "GenericT2", [1], ("MeasDesc_GlobalResolution", -1, "Float8", 0.0)
        ),
        # 3. infinite or huge resolutions: OverflowError
        "glob_inf": tagged(
            "f", "GenericT2", [1], ("MeasDesc_GlobalResolution", -1, "Float8", math.inf)
        ),
        "glob_1e10": tagged(
            "g", "GenericT2", [1], ("MeasDesc_GlobalResolution", -1, "Float8", 1e10)
        ),
        "res_inf": tagged("h", "GenericT3", [1], ("MeasDesc_Resolution", -1, "Float8", math.inf)),
        "res_1e7": tagged("m", "GenericT3", [1], ("MeasDesc_Resolution", -1, "Float8", 1e7)),
        # 4. a resolution of 1 s: times past int64 ps, silently wrapped
        "glob_1s": tagged(
            "i", "GenericT2", [0x01FFFFFF], ("MeasDesc_GlobalResolution", -1, "Float8", 1.0)
        ),
        # 5. a Bool8 record count: TypeError from np.memmap
        "bool_count": tagged(
            "j", "GenericT2", [1, 2], ("TTResult_NumberOfRecords", -1, "Bool8", True)
        ),
        # 6. a Float8 sync rate of inf or 1e-300: sync period 0 or inf in the metadata
        "rate_inf": tagged("k", "GenericT2", [1], ("TTResult_SyncRate", -1, "Float8", math.inf)),
        "rate_tiny": tagged("l", "GenericT2", [1], ("TTResult_SyncRate", -1, "Float8", 1e-300)),
    }
    failures = []
    for name, path in cases.items():
        try:
            check_file(path)
        except Exception as exc:  # collecting every failure
            first = (str(exc).splitlines() or [""])[0][:200]
            failures.append(f"{name}: {type(exc).__name__}: {first}")
    # 7. a negative record count is at odds with the file: a warning
    path = tagged("n", "GenericT2", [1, 2], ("TTResult_NumberOfRecords", -1, "Int8", -1))
    with ts.open(path) as run:
        if not any("-1" in w for w in run.warnings):
            failures.append("negative_count: a record count of -1 is read without a warning")
    assert failures == []
