"""Writing runs as PicoQuant PTU files, so simulated runs open in vendor software.

Every record type of :data:`~tagstream.formats.pq_spec.RECORD_FORMATS` can be written; the
usual ones are ``GenericT2``/``GenericT3`` (MultiHarp, PicoHarp 330), ``HydraHarp2T2``/
``HydraHarp2T3`` and ``PicoHarpT3``.

Channels
    Detectors become inputs 1, 2, ... in the order of their channel numbers (PicoQuant files
    name inputs by number only; the names are listed in ``File_Comment``). The sync role is
    implicit in T3 and written as sync records in T2 (input 0 of a PicoHarp). Marker channels
    65-79 keep their marker bits; other marker channels get bits 1, 2, 4, 8 in order.

Times
    T2: times are counted in ticks of ``resolution`` (1 ps; the PicoHarp's 4 ps), rounded
    down. T3: the sync count is ``round((t - nanotime * unit) / period)``; nanotimes are
    binned by the smallest power of two that fits the period into the dtime field (as the
    instruments' binning factor).

The file is written as ``NAME.part`` and renamed when complete: an interrupted write leaves
the user's files as they were.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import struct
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import TagstreamError, WriteError
from ..formats import pq_spec as spec
from ..formats import scan_spec
from ..kernels.pq_encode import encode_records, overflow_records
from ..sources.run import Run
from ..tags import Role, RunMetadata, TagBatch
from ..tags.metadata import N_CHANNELS
from ..tags.units import PS_PER_S
from .layout import SOFTWARE, software_version
from .paths import check_target

#: The PicoHarp 300 counts T2 time in 4 ps ticks.
PICOHARP_T2_TICK_PS = 4
_TAG = struct.Struct(f"<{spec.IDENT_BYTES}siIq")


class PtuWriteError(TagstreamError, ValueError):
    """A run that the chosen PTU record type cannot hold."""

#: ``TTResult_StopReason`` of a measurement stopped by hand (0: its set time ran out).
STOP_REASON_MANUAL = 1


def write_ptu(
    run: Run | TagBatch,
    path: str | os.PathLike,
    record_type: str = "GenericT3",
    *,
    force: bool = False,
    resolution_ps: int | None = None,
    comment: str = "",
    progress: Callable[[int], object] | None = None,
    stop: Callable[[], object] | None = None,
) -> Path:
    """Write every batch of ``run`` to a PTU file.

    Parameters
    ----------
    run
        The tags and their metadata (T3 runs need nanotimes and a sync period); a run or one
        batch.
    path
        The file to create.
    record_type
        A name from :data:`~tagstream.formats.pq_spec.FORMATS_BY_NAME`, of the run's mode.
    force
        Replace an existing file.
    resolution_ps
        T2 tick (default 1 ps, PicoHarp 4 ps).
    comment
        ``File_Comment``, after the channel names.
    progress
        Called with the end of each batch's span (ps).
    stop
        Asked after each batch; once true, the file is completed with the records so far.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    PtuWriteError
        The run does not fit the record type (mode, channels, nanotimes).
    OutputExistsError, WriteError
        The file exists (without ``force``) or cannot be written.
    """
    fmt = spec.FORMATS_BY_NAME.get(record_type)
    if fmt is None:
        raise PtuWriteError(
            f"unknown PTU record type {record_type!r}; one of {', '.join(spec.FORMATS_BY_NAME)}"
        )
    out = check_target(path, force)
    parts = [run] if isinstance(run, TagBatch) else run.batches()
    metadata = run.metadata
    if metadata is None:
        raise PtuWriteError("the tags have no run metadata (channel map, mode)")
    encoder = _Encoder(fmt, metadata, resolution_ps)
    part = out.with_name(out.name + ".part")
    try:
        with part.open("wb") as fh:
            header = _Header(fmt, metadata, encoder, comment)
            fh.write(header.bytes())
            records = 0
            t_begin = t_end = None
            stopped = False
            for batch in parts:
                t_begin = batch.t_begin if t_begin is None else t_begin
                words = encoder.encode(batch)
                fh.write(words.tobytes())
                records += words.size
                t_end = batch.t_end
                if progress is not None:
                    progress(batch.t_end)
                stopped = stop is not None and bool(stop())
                if stopped:
                    break
            header.finish(fh, records, 0 if t_end is None else t_end - t_begin, stopped)
        os.replace(part, out)
    except OSError as exc:
        raise WriteError(out, f"cannot write the file ({exc.strerror or exc})") from exc
    finally:
        part.unlink(missing_ok=True)
    return out


class _Encoder:
    """Batches of tags to records: channel codes, units, overflows carried between batches."""

    def __init__(self, fmt: spec.RecordFormat, md: RunMetadata, resolution_ps: int | None):
        self.fmt = fmt
        self.t3 = fmt.mode == "T3"
        if md.mode != fmt.mode:
            raise PtuWriteError(f"a {md.mode} run cannot be written as {fmt.name} ({fmt.mode})")
        picoharp = fmt.layout == "picoharp"
        self.time_mask = (1 << fmt.time_bits) - 1
        self.dtime_shift = fmt.time_bits
        if picoharp:
            self.overflow_code = 0xF0000000
        else:
            self.overflow_code = 0xFE000000  # special bit, channel 63
        self.max_count = self.time_mask if fmt.counted else 1
        self.marker_bits = 0xF if fmt.family == 0 else 0
        self.state = np.zeros(1, dtype=np.int64)
        self.last = -1
        self.binning = 1
        if self.t3:
            if md.sync_period_ps is None or md.nanotime_unit_ps is None:
                raise PtuWriteError("a T3 PTU file needs the run's sync period and nanotime unit")
            self.period_ps = float(md.sync_period_ps)
            self.unit_ps = float(md.nanotime_unit_ps)
            bins = math.ceil(self.period_ps / self.unit_ps - 1e-9)
            while bins > (1 << fmt.dtime_bits) * self.binning:
                self.binning *= 2
            self.tick_ps = self.period_ps
        else:
            default = PICOHARP_T2_TICK_PS if picoharp else 1
            self.tick_ps = int(resolution_ps or default)
            if self.tick_ps < 1:
                raise PtuWriteError(f"the T2 resolution must be a whole number of ps >= 1, "
                                    f"got {resolution_ps}")  # fmt: skip
        self.codes, self.names = self._channel_codes(md)

    def _channel_codes(self, md: RunMetadata) -> tuple[np.ndarray, list[str]]:
        """Record bits of each tagstream channel number (-1: cannot be written), and names."""
        fmt = self.fmt
        picoharp = fmt.layout == "picoharp"
        codes = np.full(N_CHANNELS, -1, dtype=np.int64)
        names = []
        channels = sorted(md.channels, key=lambda c: c.number)
        detectors = [c for c in channels if c.role == Role.DETECTOR]
        self.inputs = len(detectors)
        first = 1
        limit = (14 if picoharp else 64) - (1 if picoharp and not self.t3 else 0)
        if len(detectors) > limit:
            raise PtuWriteError(f"{fmt.name} holds at most {limit} detector inputs, "
                                f"the run has {len(detectors)}")  # fmt: skip
        for i, c in enumerate(detectors):
            field = first + i if picoharp else first + i - 1
            codes[c.number] = field << (28 if picoharp else 25)
            names.append(f"{c.name}=ch{first + i}")
        for c in channels:
            if c.role == Role.SYNC and not self.t3:
                codes[c.number] = 0 if picoharp else 0x80000000
                names.append(f"{c.name}=sync")
        markers = [c for c in channels if c.role == Role.MARKER]
        spare = iter(b for b in (1, 2, 4, 8) if not any(m.number == 64 + b for m in markers))
        for c in markers:
            bits = c.number - 64 if 65 <= c.number <= 79 else next(spare, None)
            if bits is None:
                raise PtuWriteError(f"{fmt.name} has no marker bits left for {c.name!r}")
            if picoharp:
                codes[c.number] = 0xF0000000 | (bits << 16 if self.t3 else bits)
            else:
                codes[c.number] = 0x80000000 | bits << 25
            names.append(f"{c.name}=marker{bits}")
        return codes, names

    def encode(self, batch: TagBatch) -> np.ndarray:
        """The records of one batch (after those of the batches before it)."""
        if len(batch) == 0:
            return np.zeros(0, dtype=np.uint32)
        codes = self.codes[batch.channels]
        written = codes >= 0
        if self.t3:
            written &= ~_is_sync(batch)
        if not np.all(written | _is_sync(batch)):
            bad = int(batch.channels[~(written | _is_sync(batch))][0])
            raise PtuWriteError(f"channel {bad} is not in the run's channel map")
        t = batch.timestamps[written]
        codes = codes[written].astype(np.uint32)
        if self.t3:
            nt = batch.nanotimes[written].astype(np.int64)
            marker = (codes >> 31 == 1) if self.fmt.layout != "picoharp" else (codes >> 28 == 15)
            nt[marker] = 0
            times = np.rint((t - nt * self.unit_ps) / self.period_ps).astype(np.int64)
            dtimes = nt // self.binning
            if dtimes.size and (dtimes.min() < 0 or dtimes.max() >= 1 << self.fmt.dtime_bits):
                raise PtuWriteError(
                    f"nanotime {int(nt[np.argmax(dtimes)])} does not fit {self.fmt.name}'s "
                    f"{self.fmt.dtime_bits}-bit dtime field (binning {self.binning})"
                )
            if np.any(np.diff(times) < 0):  # arrival order to sync order
                order = np.argsort(times, kind="stable")
                times, codes, dtimes = times[order], codes[order], dtimes[order]
        else:
            times = t // self.tick_ps
            dtimes = np.zeros(times.size, dtype=np.int64)
        if times[0] < self.last:
            raise PtuWriteError(f"tags at {int(t[0])} ps come before the previous batch's last tag")
        self.last = int(times[-1])
        extra = overflow_records(times, self.fmt.wrap, self.fmt.counted, self.max_count,
                                 self.state.copy())  # fmt: skip
        words = np.empty(times.size + extra, dtype=np.uint32)
        k = encode_records(
            times, codes, dtimes, self.dtime_shift, self.time_mask, self.marker_bits,
            self.overflow_code, self.fmt.wrap, self.fmt.counted, self.max_count, self.state,
            words,
        )  # fmt: skip
        return words[:k]


def _is_sync(batch: TagBatch) -> np.ndarray:
    cmap = batch.channel_map
    syncs = [c.number for c in cmap if c.role == Role.SYNC] if cmap is not None else []
    return np.isin(batch.channels, syncs)


class _Header:
    """The tagged header; the record count and duration are filled in at the end."""

    def __init__(self, fmt: spec.RecordFormat, md: RunMetadata, enc: _Encoder, comment: str):
        t3 = fmt.mode == "T3"
        hardware = fmt.device.split(" (")[0].split("/")[0]  # e.g. "HydraHarp 400"
        names = ", ".join(enc.names)
        text = f"{names}. {comment}".strip() if comment else f"{names}."
        now = dt.datetime.now(dt.UTC)
        days = (now - dt.datetime(1899, 12, 30, tzinfo=dt.UTC)).total_seconds() / 86400
        # PicoQuant's rate meter reads the sync input, before the divider
        laser_ps = md.laser_period_ps or md.sync_period_ps
        sync_hz = PS_PER_S / laser_ps if laser_ps else 0
        divider = max(1, round(md.sync_period_ps / laser_ps)) if md.sync_period_ps else 1
        self.entries: list[tuple[str, int, int, object]] = [
            ("File_GUID", -1, spec.TY_ANSI_STRING, "{" + str(uuid.uuid4()).upper() + "}"),
            ("File_CreatingTime", -1, spec.TY_TDATETIME, days),
            ("File_Comment", -1, spec.TY_ANSI_STRING, text),
            ("CreatorSW_Name", -1, spec.TY_ANSI_STRING, SOFTWARE),
            ("CreatorSW_Version", -1, spec.TY_ANSI_STRING, software_version()),
            ("Measurement_Mode", -1, spec.TY_INT8, 3 if t3 else 2),
            ("Measurement_SubMode", -1, spec.TY_INT8, 0),
            ("MeasDesc_BinningFactor", -1, spec.TY_INT8, enc.binning),
            ("MeasDesc_Offset", -1, spec.TY_INT8, 0),
            ("MeasDesc_AcquisitionTime", -1, spec.TY_INT8, 0),
            ("MeasDesc_StopAt", -1, spec.TY_INT8, 0),
            ("MeasDesc_StopOnOvfl", -1, spec.TY_BOOL8, False),
            ("MeasDesc_Restart", -1, spec.TY_BOOL8, False),
            (spec.TAG_GLOBAL_RESOLUTION, -1, spec.TY_FLOAT8, enc.tick_ps / PS_PER_S),
            (
                spec.TAG_RESOLUTION,
                -1,
                spec.TY_FLOAT8,
                (enc.unit_ps * enc.binning if t3 else enc.tick_ps) / PS_PER_S,
            ),
            (spec.TAG_HARDWARE, -1, spec.TY_ANSI_STRING, hardware),
            ("HW_InpChannels", -1, spec.TY_INT8, enc.inputs),
            (spec.TAG_SYNC_DIVIDER, -1, spec.TY_INT8, divider),
            (spec.TAG_SYNC_RATE, -1, spec.TY_INT8, round(sync_hz)),
            (spec.TAG_STOP_REASON, -1, spec.TY_INT8, 0),
            (spec.TAG_NUM_RECORDS, -1, spec.TY_INT8, 0),
            (spec.TAG_RECORD_TYPE, -1, spec.TY_INT8, fmt.code),
            ("TTResultFormat_BitsPerRecord", -1, spec.TY_INT8, 32),
            *_image_tags(md),
            (spec.HEADER_END, -1, spec.TY_EMPTY8, None),
        ]

    def bytes(self) -> bytes:
        parts = [spec.MAGIC, b"1.0.00\x00\x00"]
        self.offsets: dict[str, int] = {}
        at = len(spec.MAGIC) + spec.VERSION_BYTES
        for ident, index, code, value in self.entries:
            entry = _tag_bytes(ident, index, code, value)
            self.offsets[ident] = at + spec.IDENT_BYTES + 8  # where the 8-byte value sits
            parts.append(entry)
            at += len(entry)
        return b"".join(parts)

    def finish(self, fh, records: int, span_ps: int, stopped: bool = False) -> None:
        """Fill in the record count, the acquisition time (ms) and, for a run ``stopped``
        before its end, the stop reason PicoQuant's software writes for a manual stop (1)."""
        fh.seek(self.offsets[spec.TAG_NUM_RECORDS])
        fh.write(struct.pack("<q", records))
        if stopped:
            fh.seek(self.offsets[spec.TAG_STOP_REASON])
            fh.write(struct.pack("<q", STOP_REASON_MANUAL))
        fh.seek(self.offsets["MeasDesc_AcquisitionTime"])
        fh.write(struct.pack("<q", math.ceil(span_ps / 1e9)))


def _image_tags(md: RunMetadata) -> list[tuple[str, int, int, object]]:
    """The run's scan-image header (``ImgHdr_*``), so a scan opens as an image anywhere."""
    header = md.settings.get(scan_spec.SETTINGS_KEY) or {}
    entries: list[tuple[str, int, int, object]] = []
    for name, value in header.items():
        if isinstance(value, bool):
            entries.append((name, -1, spec.TY_BOOL8, value))
        elif isinstance(value, int):
            entries.append((name, -1, spec.TY_INT8, value))
        elif isinstance(value, float):
            entries.append((name, -1, spec.TY_FLOAT8, value))
    return entries


def _tag_bytes(ident: str, index: int, code: int, value: object) -> bytes:
    """One header tag: identifier, index, type and value (with its payload, padded to 8)."""
    name = ident.encode("ascii")
    if code in (spec.TY_FLOAT8, spec.TY_TDATETIME):
        return _TAG.pack(name, index, code, 0)[:-8] + struct.pack("<d", float(value))
    if code == spec.TY_ANSI_STRING:
        payload = str(value).encode("latin-1", "replace") + b"\x00"
        payload += b"\x00" * (-len(payload) % 8)
        return _TAG.pack(name, index, code, len(payload)) + payload
    if code == spec.TY_BOOL8:
        return _TAG.pack(name, index, code, 1 if value else 0)
    if code == spec.TY_EMPTY8:
        return _TAG.pack(name, index, code, 0)
    return _TAG.pack(name, index, code, int(value))
