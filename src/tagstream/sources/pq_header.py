"""The tagged header of a PicoQuant PTU file (layout in :mod:`tagstream.formats.pq_spec`).

Every tag type is read, arrays by index; reading stops at ``Header_End``. A header that breaks
the format (wrong magic, a tag cut short, an unknown type code, a payload longer than the file,
an absurd array index) raises :class:`~tagstream.errors.CorruptFileError` naming the byte offset.
"""

from __future__ import annotations

import datetime as dt
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError, UnsupportedFormatError
from ..formats import pq_spec as spec

_TAG = struct.Struct(f"<{spec.IDENT_BYTES}siIq")
#: Payloads larger than this are refused (a corrupt length, not a real header), bytes.
MAX_PAYLOAD = 1 << 28
#: Array indices from this on are refused (a corrupt index: real arrays run over channels).
MAX_INDEX = 1 << 16
#: Array elements (missing ones included) a header may hold in all, so that corrupt indices
#: cannot make a small file fill the memory.
MAX_ELEMENTS = 1 << 20


@dataclass
class PtuHeader:
    """A PTU header.

    Attributes
    ----------
    version
        The file's format version string.
    tags
        Values by identifier: a scalar tag's value, or a list of an array tag's values by index
        (``None`` where an index is missing).
    types
        Type name of each identifier (``"Int8"``, ``"AnsiString"``, ...).
    records_offset
        Byte offset of the first record.
    offsets
        Byte offset of the tag :meth:`get` reads for each identifier (element 0 of an array), so
        that a bad value can be reported where it is; empty for a translated legacy header.
    container
        ``"PTU"``, or the legacy container the header was translated from (``"PT3"``, ...).
    """

    version: str
    tags: dict[str, object] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    records_offset: int = 0
    container: str = "PTU"
    offsets: dict[str, int] = field(default_factory=dict)

    def get(self, name: str, default: object = None) -> object:
        """The value of tag ``name`` (element 0 of an array tag), or ``default``."""
        value = self.tags.get(name, default)
        if isinstance(value, list):
            return value[0] if value and value[0] is not None else default
        return value

    def warnings(self) -> list[str]:
        """``name = value`` of every tag under which the instrument reports trouble."""
        out = []
        for name, value in self.tags.items():
            if not any(word in name for word in spec.WARNING_WORDS):
                continue
            values = value if isinstance(value, list) else [value]
            if any(isinstance(v, bool | int | float) and v for v in values):
                out.append(" ".join(f"{name} = {value}".split()))  # one line
        return out


def read_header(path: str | os.PathLike) -> PtuHeader:
    """Read the header of the PTU file at ``path``.

    Raises
    ------
    UnsupportedFormatError
        Not a PTU file (wrong magic).
    CorruptFileError
        The header breaks the format; the message names the byte offset.
    """
    src = Path(path)
    size = src.stat().st_size
    with src.open("rb") as fh:
        head = fh.read(len(spec.MAGIC) + spec.VERSION_BYTES)
        if not head.startswith(spec.MAGIC[:6]):
            raise UnsupportedFormatError(src, "not a PicoQuant PTU file (no PQTTTR magic)")
        if len(head) < len(spec.MAGIC) + spec.VERSION_BYTES:
            raise CorruptFileError(src, f"header cut short at byte offset {len(head)}")
        header = PtuHeader(text_field(head[len(spec.MAGIC) :]))
        offset = len(head)
        elements = 0
        while True:
            raw = fh.read(_TAG.size)
            if len(raw) < _TAG.size:
                raise CorruptFileError(
                    src, f"header cut short at byte offset {offset + len(raw)} (no Header_End)"
                )
            ident, index, code, value = _TAG.unpack(raw)
            name = text_field(ident)
            if not name:
                raise CorruptFileError(src, f"header tag without a name at byte offset {offset}")
            type_name = spec.TAG_TYPE_NAMES.get(code)
            if type_name is None:
                raise CorruptFileError(
                    src, f"unknown header tag type 0x{code:08X} ({name}) at byte offset {offset}"
                )
            if index >= MAX_INDEX or (index >= 0 and elements + index >= MAX_ELEMENTS):
                raise CorruptFileError(
                    src, f"header tag {name} at byte offset {offset} has array index {index}"
                )
            at = offset
            offset += _TAG.size
            if code in spec.PAYLOAD_TYPES:
                if value < 0 or value > MAX_PAYLOAD or offset + value > size:
                    raise CorruptFileError(
                        src,
                        f"header tag {name} at byte offset {offset - _TAG.size} claims "
                        f"{value} bytes of data; the file holds {max(size - offset, 0)} more",
                    )
                payload = fh.read(value)
                parsed = _payload(code, payload)
                offset += value
            else:
                parsed = _scalar(code, value)
            elements += _store(header, name, index, type_name, parsed)
            if index <= 0 or name not in header.offsets:  # where get(name) reads from
                header.offsets[name] = at
            if name == spec.HEADER_END:
                header.records_offset = offset
                return header


def _store(header: PtuHeader, name: str, index: int, type_name: str, value: object) -> int:
    """Keep one tag; returns how many array elements it added."""
    header.types[name] = type_name
    if index < 0:
        header.tags[name] = value
        return 0
    values = header.tags.get(name)
    if not isinstance(values, list):
        values = []
        header.tags[name] = values
    added = max(index + 1 - len(values), 0)
    values.extend([None] * added)
    values[index] = value
    return added


def _scalar(code: int, value: int) -> object:
    if code == spec.TY_EMPTY8:
        return None
    if code == spec.TY_BOOL8:
        return value != 0
    if code in (spec.TY_INT8, spec.TY_BITSET64, spec.TY_COLOR8):
        return int(value)
    as_float = struct.unpack("<d", struct.pack("<q", value))[0]
    if code == spec.TY_TDATETIME:
        return _from_tdatetime(as_float)
    return as_float


def _payload(code: int, payload: bytes) -> object:
    if code == spec.TY_FLOAT8_ARRAY:
        usable = len(payload) // 8 * 8
        return np.frombuffer(payload[:usable], dtype="<f8").copy()
    if code == spec.TY_ANSI_STRING:
        return text_field(payload)
    if code == spec.TY_WIDE_STRING:
        usable = len(payload) // 2 * 2
        return payload[:usable].decode("utf-16-le", errors="replace").split("\x00", 1)[0]
    return bytes(payload)


def text_field(raw: bytes) -> str:
    """A NUL-terminated text field: UTF-8, else latin-1, stripped."""
    head = raw.split(b"\x00", 1)[0]
    try:
        return head.decode("utf-8").strip()
    except UnicodeDecodeError:
        return head.decode("latin-1").strip()


def _from_tdatetime(days: float) -> str | float:
    """A TDateTime (days since 1899-12-30) as an ISO 8601 UTC string (the number if absurd)."""
    try:
        moment = dt.datetime.fromtimestamp((days - spec.TDATETIME_UNIX_DAYS) * 86400.0, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return days
    return moment.isoformat(timespec="seconds")
