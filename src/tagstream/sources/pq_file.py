"""PicoQuant PTU files read as a :class:`Run`, memory-mapped and decoded in chunks.

Channels
    The sync is channel 0 (in T2 files of the HydraHarp family, and PicoHarp T2 input 0),
    detector inputs keep their front-panel numbers (``ch1``, ``ch2``, ...), marker records with
    bits ``m`` become channel ``64 + m`` (``marker1`` ... ``marker15``). The two busiest detectors
    form the HBT pair.

Times
    T2: ``time * MeasDesc_GlobalResolution``. T3: ``nsync * MeasDesc_GlobalResolution +
    dtime * MeasDesc_Resolution``, each term rounded to ps as in
    :func:`~tagstream.tags.units.to_ps`; nanotimes keep the dtime values. Tags are put in time
    order as they are decoded (markers are recorded at a coarser resolution and may come
    slightly out of order; T3 photons are recorded in sync order, not arrival order). Batches
    are handed out once no later record can reach back into them: a tag more than
    :data:`MARKER_REACH_PS` earlier than tags recorded before it (only in damaged files) is
    left out of the batches with a warning; :meth:`PtuRun.read` sorts everything.

Damage
    A header that breaks the format raises :class:`~tagstream.errors.CorruptFileError` naming
    the byte offset. A last record cut short, or a record count that disagrees with the file
    size, is a warning in :attr:`PtuRun.warnings`: the whole records present are read. A file
    that ends early (fewer records than the header declares, or a record cut short) covers time
    only up to its last record, whatever acquisition time the header states.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError, UnsupportedFormatError
from ..formats import pq_spec as spec
from ..kernels.pq_records import STATE_UNORDERED, count_records, decode_ps, settle
from ..tags import Channel, ChannelMap, Role, RunMetadata, TagBatch
from ..tags.metadata import N_CHANNELS
from ..tags.units import PS_PER_S, ps_factors, to_ps
from .laser_period import checked_periods
from .pq_header import PtuHeader, read_header
from .run import Run, batch_span_ps

#: Records decoded at once by one thread (two pieces at a time), at most.
PIECE_RECORDS = 1 << 20
#: The arrays :meth:`PtuRun.batches` decodes into hold this many rounds of two pieces, so
#: that the tags held back between rounds are moved to other arrays only now and then.
ROUNDS_PER_BUFFER = 2
#: Resolutions a header may give (T2 tick, T3 sync period, T3 dtime unit), s.
RESOLUTION_RANGE_S = (1e-15, 1.0)
#: Sync rates a header may give, Hz.
SYNC_RANGE_HZ = (1e-3, 1e11)
#: Times beyond this (ps, about 53 days) mean damaged overflow records.
MAX_TIME_PS = float(1 << 62)
#: How far a marker may precede the photons recorded before it, ps.
MARKER_REACH_PS = 10**7


class PtuRun(Run):
    """A PicoQuant PTU file (every TTTR record type in
    :data:`~tagstream.formats.pq_spec.RECORD_FORMATS`).

    Attributes
    ----------
    path, header
        The file and its :class:`~.pq_header.PtuHeader` (read from the file unless given: a
        legacy container's header translated into PTU tag names).
    record_format
        The :class:`~tagstream.formats.pq_spec.RecordFormat` of its records.
    num_records
        Whole records read.
    counts
        Tags per channel number over the whole file.
    warnings
        What was wrong with the file and how it was read anyway.
    """

    def __init__(self, path: str | os.PathLike, header: PtuHeader | None = None):
        self.path = Path(path)
        self.header: PtuHeader = read_header(self.path) if header is None else header
        self.warnings = self.header.warnings()
        code = self.header.get(spec.TAG_RECORD_TYPE)
        if not _is_int(code):
            raise CorruptFileError(
                self.path,
                f"no {spec.TAG_RECORD_TYPE} integer tag {self._where(spec.TAG_RECORD_TYPE)}",
            )
        fmt = spec.RECORD_FORMATS.get(code)
        if fmt is None:
            raise UnsupportedFormatError(
                self.path,
                f"unknown TTTR record type 0x{code & 0xFFFFFFFF:08X} "
                f"{self._where(spec.TAG_RECORD_TYPE)}",
            )
        self.record_format = fmt
        self._spare = _Spare()  # batch buffers, kept for the next pass over the file
        self._map_records()
        self._units()
        self._scan()
        self.metadata = self._metadata()
        self.t_begin = 0
        self.t_end = max(self._last_ps + 1, 1)
        acquired = self._acquired_ps()
        if self._cut_short and acquired > self.t_end:
            self.warnings.append(
                f"the file ends early: the run covers the {self.t_end / PS_PER_S:.6g} s up to its "
                f"last record, not the {acquired / PS_PER_S:.6g} s of "
                f"{spec.TAG_ACQUISITION_TIME}"
            )
        elif not self._cut_short:
            self.t_end = max(self.t_end, acquired)
        self.duration_ps = self.t_end
        stated = self.metadata.laser_period_ps if self._rate_known else None
        self.metadata, found = checked_periods(self.metadata, self.batches(), stated)
        self.warnings += found

    # ------------------------------------------------------------------ set-up
    def _map_records(self) -> None:
        offset = self.header.records_offset
        available = max(os.path.getsize(self.path) - offset, 0)
        whole = available // 4
        if available % 4:
            self.warnings.append(
                f"the last record is cut short at byte offset {offset + 4 * whole}; "
                f"reading the {whole} whole records before it"
            )
        n = whole
        self._cut_short = bool(available % 4)
        declared = self.header.get(spec.TAG_NUM_RECORDS)
        if _is_int(declared) and declared != whole:
            if declared < 0:
                self.warnings.append(
                    f"the header declares {declared} records {self._where(spec.TAG_NUM_RECORDS)}; "
                    f"reading the {whole} in the file"
                )
            elif declared > whole:
                self._cut_short = True
                self.warnings.append(
                    f"the header declares {declared} records but the file ends after {whole} "
                    f"(byte offset {offset + 4 * whole}); reading those"
                )
            else:
                self.warnings.append(
                    f"{whole - declared} records follow the {declared} the header declares "
                    f"(from byte offset {offset + 4 * declared}); they are ignored"
                )
                n = declared
        self.num_records = n
        self._bounds = _piece_bounds(n)  # where each piece starts, and the end
        self._piece = int(np.diff(self._bounds).max(initial=1))  # the longest
        if n:
            self._records = np.memmap(self.path, dtype="<u4", mode="r", offset=offset, shape=(n,))
        else:
            self._records = np.zeros(0, dtype="<u4")

    def _units(self) -> None:
        self._tick_ps = self._seconds(spec.TAG_GLOBAL_RESOLUTION) * PS_PER_S
        self._dtime_ps = None
        if self.record_format.mode == "T3":
            self._dtime_ps = self._seconds(spec.TAG_RESOLUTION) * PS_PER_S
        dunit = ps_factors(self._dtime_ps) if self._dtime_ps else (1, 1, 0.0)
        self._factors = ps_factors(self._tick_ps), dunit  # as the decoding kernel takes them

    def _seconds(self, name: str) -> float:
        """A resolution tag, s: a float in :data:`RESOLUTION_RANGE_S` (T2 tick, T3 sync period
        or dtime unit), else a corrupt-file error."""
        value = self.header.get(name)
        lo, hi = RESOLUTION_RANGE_S
        if not isinstance(value, float) or not lo <= value <= hi:
            shown = "missing" if value is None else f"{value!r}"
            raise CorruptFileError(
                self.path,
                f"{name} {self._where(name)} is {shown}, not a time from {lo:g} to {hi:g} s",
            )
        return value

    def _where(self, name: str) -> str:
        """Where tag ``name`` is (or would be): ``"at byte offset N"``."""
        offsets = self.header.offsets
        at = offsets.get(name, offsets.get(spec.HEADER_END))
        return "in the header" if at is None else f"at byte offset {at}"

    def _scan(self) -> None:
        """Tags per channel, the time of the last tag, and the state at the start of each
        piece (overflow offset, tags before it): pieces are counted independently on two
        threads and joined."""
        fmt = self.record_format

        def count(p: int) -> tuple[np.ndarray, np.ndarray, int]:
            counts = np.zeros(N_CHANNELS, dtype=np.int64)
            state = np.zeros(2, dtype=np.int64)
            chunk = self._records[self._bounds[p] : self._bounds[p + 1]]
            last = count_records(chunk, fmt.family, fmt.wrap, fmt.counted, state, counts)
            return counts, state, int(last)

        parts = list(_pool().map(count, range(len(self._bounds) - 1)))
        per_piece = np.array([c.sum() for c, _, _ in parts], dtype=np.int64)
        added = np.array([st[0] for _, st, _ in parts], dtype=np.int64)
        reach = np.cumsum(added.astype(float)) * self._tick_ps  # ps, after each piece
        if (
            reach.size
            and (reach[-1] + 2.0**fmt.time_bits * self._tick_ps) >= MAX_TIME_PS > reach[-1]
        ):
            raise CorruptFileError(
                self.path,
                f"{spec.TAG_GLOBAL_RESOLUTION} {self._where(spec.TAG_GLOBAL_RESOLUTION)} = "
                f"{self._tick_ps / PS_PER_S:g} s makes the times reach past "
                f"{MAX_TIME_PS / 86400e12:.0f} days",
            )
        if reach.size and reach[-1] >= MAX_TIME_PS:
            p = int(np.argmax(reach >= MAX_TIME_PS))
            raise CorruptFileError(
                self.path,
                f"overflow records between byte offsets {self._byte(self._bounds[p])} and "
                f"{self._byte(self._bounds[p + 1])} carry the time past "
                f"{MAX_TIME_PS / 86400e12:.0f} days",
            )
        self._piece_offset = np.concatenate([[0], np.cumsum(added)])[: len(parts)]
        self._pieces = len(parts)
        self._piece_first = np.concatenate([[0], np.cumsum(per_piece)])  # and the total
        self.counts = sum((c for c, _, _ in parts), np.zeros(N_CHANNELS, dtype=np.int64))
        unknown = sum(int(st[1]) for _, st, _ in parts)
        if unknown:
            self.warnings.append(f"{unknown} special records of unknown meaning were skipped")
        lasts = [int(o) + got for o, (_, _, got) in zip(self._piece_offset, parts, strict=True)
                 if got >= 0]  # fmt: skip
        last = max(lasts, default=-1)
        self._last_ps = -1 if last < 0 else int(to_ps(np.array([last]), self._tick_ps)[0])
        if fmt.mode == "T3" and last >= 0:
            self._last_ps += round(((1 << fmt.dtime_bits) - 1) * self._dtime_ps)

    def _acquired_ps(self) -> int:
        """How long the measurement ran, ps, where the header says so believably (0
        otherwise): ``TTResult_StopAfter`` (the time it actually ran: a measurement stopped by
        hand or by an overflow ends early), else ``MeasDesc_AcquisitionTime`` (the time it was
        set to run). A value that does not fit the tags (more than ten times the time of the
        last tag plus one second) is a warning."""
        found = [self._header_ms(name) for name in (spec.TAG_STOP_AFTER, spec.TAG_ACQUISITION_TIME)]
        return next((ps for ps in found if ps), 0)

    def _header_ms(self, name: str) -> int:
        """Header time ``name`` (ms) in ps; 0 when absent, zero or unbelievable (a warning)."""
        value = self.header.get(name)
        if not _is_number(value) or value == 0:
            return 0
        ps = float(value) * 1e9
        if 0 < ps <= min(10 * (self._last_ps + 1e12), MAX_TIME_PS):
            return int(ps)
        self.warnings.append(
            f"{name} = {value} ms does not fit the tags (the last at "
            f"{self._last_ps / 1e12:g} s); the run ends after the last tag"
        )
        return 0

    def _byte(self, record: int) -> int:
        """Byte offset of record number ``record`` (or the end of the records)."""
        return self.header.records_offset + 4 * min(record, self.num_records)

    def _metadata(self) -> RunMetadata:
        fmt = self.record_format
        present = np.flatnonzero(self.counts)
        channels = []
        detectors = []
        for number in present:
            number = int(number)
            if number == spec.SYNC_CHANNEL:
                channels.append(Channel(number, "sync", Role.SYNC))
            elif number > spec.MARKER_BASE:
                channels.append(Channel(number, f"marker{number - spec.MARKER_BASE}", Role.MARKER))
            else:
                channels.append(Channel(number, f"ch{number}"))
                detectors.append(number)
        busiest = sorted(detectors, key=lambda c: -self.counts[c])[:2]
        pair = tuple(f"ch{c}" for c in sorted(busiest)) if len(busiest) == 2 else None
        names = names_from_comment(self.header.get("File_Comment"))
        if names:
            channels = [dataclasses.replace(c, name=names.get(c.name, c.name)) for c in channels]
            pair = None if pair is None else tuple(names.get(n, n) for n in pair)
        rate = self.header.get(spec.TAG_SYNC_RATE)
        divider = self.header.get(spec.TAG_SYNC_DIVIDER)
        divider = divider if _is_int(divider) and divider >= 1 else 1
        laser = None  # the rate meter reads the sync input, before the divider
        self._rate_known = False
        if isinstance(rate, int | float) and not isinstance(rate, bool):
            if SYNC_RANGE_HZ[0] <= rate <= SYNC_RANGE_HZ[1]:
                laser = PS_PER_S / float(rate)
                self._rate_known = True
            elif rate:
                self.warnings.append(
                    f"{spec.TAG_SYNC_RATE} {self._where(spec.TAG_SYNC_RATE)} = {rate} Hz is not a "
                    "sync rate; the sync period is unknown"
                )
        sync_period = self._tick_ps if fmt.mode == "T3" else laser and divider * laser
        settings = {
            "file": str(self.path),
            "record_type": fmt.name,
            "instrument": fmt.device,
            "sync_rate_hz": rate,
            "sync_divider": self.header.get(spec.TAG_SYNC_DIVIDER),
        }
        return RunMetadata(
            source=f"PicoQuant {fmt.device} ({self.header.container})",
            channels=ChannelMap(channels),
            mode=fmt.mode,
            resolution_ps=self._dtime_ps if fmt.mode == "T3" else self._tick_ps,
            sync_period_ps=sync_period,
            laser_period_ps=laser,
            nanotime_unit_ps=self._dtime_ps,
            nanotime_range_ps=self._dtime_ps * (1 << fmt.dtime_bits) if self._dtime_ps else None,
            hbt_pair=pair,
            settings={k: v for k, v in settings.items() if v is not None},
        )

    # ------------------------------------------------------------------ reading
    def _decode(self, chunk, state, times, channels, dtimes, start) -> tuple[int, int]:
        """:func:`~tagstream.kernels.pq_records.decode_ps` with this file's format and units."""
        fmt = self.record_format
        tick, dunit = self._factors
        return decode_ps(
            chunk, fmt.family, fmt.wrap, fmt.counted, tick, dunit, state,
            times, channels, dtimes, start,
        )  # fmt: skip

    def _decode_piece(self, p: int, times, chans, dtimes, start: int) -> tuple[int, int, bool]:
        """Decode piece ``p`` into the outputs after ``start`` tags; ``(end, last, ordered)``."""
        state = np.array([self._piece_offset[p], 0, 0], dtype=np.int64)
        chunk = self._records[self._bounds[p] : self._bounds[p + 1]]
        end, last = self._decode(chunk, state, times, chans, dtimes, start)
        return end, last, not state[STATE_UNORDERED]

    def batches(self, duration: str | int | None = None) -> Iterator[TagBatch]:
        """Consecutive batches of about ``duration`` (default 100 ms) from 0 to the end.

        The file is decoded two pieces at a time on two worker threads, straight into the
        arrays the batches are views of (a batch's tags are written once). Each round of two
        pieces is queued before the round ahead of it is finished, so the workers do not wait
        for the batches to be cut: it goes after the tags held back (not yet handed out) when
        the arrays have room, else into other arrays behind room for them, where they are
        copied meanwhile. Memory stays bounded by the batch duration and
        :data:`PIECE_RECORDS`, whatever the file size.
        """
        span = batch_span_ps(duration)
        spare = self._spare
        pieces = self._pieces
        late = 0
        room = 0  # the largest batch so far, tags
        a = self.t_begin
        held = 0  # decoded tags not yet handed out, at the front of the buffers
        arrays = spare.take((ROUNDS_PER_BUFFER + 1) * 2 * self._piece, None)
        bufs = arrays  # views of the arrays from the first held tag on
        pending = self._start_round(0, bufs, held)
        for p in range(0, pieces, 2):
            # queue the next round: at most this many tags are held back after this one
            reach = held + self._round_tags(p)
            nxt = self._round_tags(p + 2)
            ahead = new = None
            if p + 2 < pieces:
                if reach + nxt <= bufs[0].size:  # after the held tags
                    ahead = self._start_round(p + 2, bufs, reach)
                else:  # other arrays, behind room for the held tags
                    size = max(reach, room) + ROUNDS_PER_BUFFER * 2 * self._piece
                    new = spare.take(size, arrays)
                    ahead = self._start_round(p + 2, new, reach)
            end, last = self._finish_round(pending, bufs, held)
            times, chans, dtimes = bufs
            # later records hold nothing earlier than this
            done = last - MARKER_REACH_PS if end > held else a
            j = int(np.searchsorted(times[:end], a, side="left"))
            late += j  # earlier than what was handed out already: left out
            first = j
            cuts = []
            while a + span <= done:
                b = a + span
                k = j + int(np.searchsorted(times[j:end], b, side="left"))
                cuts.append((a, b, j, k))
                j, a = k, b
            held = end - j
            room = max(room, j - first)
            if new is None:
                new_bufs = tuple(arr[j:] for arr in bufs)
            else:  # the held tags move to the front of the next round
                new_bufs = tuple(arr[reach - held :] for arr in new)
                for i in range(3):
                    new_bufs[i][:held] = bufs[i][j:end]
                spare.keep(arrays)
                arrays = new
            pending = ahead
            for a0, b0, j0, k0 in cuts:  # while the next pieces are decoded
                yield self._batch(a0, b0, times[j0:k0], chans[j0:k0], dtimes[j0:k0])
            bufs = new_bufs
        times, chans, dtimes = bufs
        j = 0
        while a < self.t_end:
            b = min(a + span, self.t_end)
            k = j + int(np.searchsorted(times[j:held], b, side="left"))
            yield self._batch(a, b, times[j:k], chans[j:k], dtimes[j:k])
            j, a = k, b
        if late:
            self.warnings.append(
                f"{late} tags came more than {MARKER_REACH_PS / 1e6:g} us out of time order "
                "(damaged records?) and were left out of the batches"
            )

    def _round_tags(self, p: int) -> int:
        """Tags in pieces ``p`` and ``p + 1``."""
        return self._piece_tags(p) + self._piece_tags(p + 1)

    def _start_round(self, p: int, bufs: tuple, at: int) -> tuple:
        """Queue pieces ``p`` and ``p + 1`` for the worker threads, to be decoded into
        ``bufs`` from index ``at`` on; the workers leave what is before alone (it may still be
        being copied in). ``(jobs, tags of piece p)``."""
        mid = at + self._piece_tags(p)
        jobs = []
        for q, to in ((p, at), (p + 1, mid)):
            if q < self._pieces:
                views = tuple(arr[to:] for arr in bufs)
                jobs.append(_pool().submit(self._decode_piece, q, *views, 0))
        return jobs, mid - at

    def _finish_round(self, pending: tuple, bufs: tuple, held: int) -> tuple[int, int]:
        """Wait for a round decoded into ``bufs`` after ``held`` tags; the held tags and its
        pieces joined in time order. ``(end, last)``."""
        jobs, first = pending
        end, last, ordered = held, -1, True
        for job, at in zip(jobs, (held, held + first), strict=False):
            got, last_p, ordered_p = job.result()
            if got:
                end = at + got
                last = max(last, last_p)
                ordered = ordered and ordered_p and settle(*bufs, at, end)
        if not ordered:  # damaged or unusual: sort what is held
            _sort_stably(*bufs, end)
        return end, last

    def _piece_tags(self, p: int) -> int:
        """Tags in piece ``p`` (0 past the end)."""
        if p >= self._pieces:
            return 0
        return int(self._piece_first[p + 1] - self._piece_first[p])

    def read(self) -> TagBatch:
        """The whole file as one batch, its pieces decoded on two threads straight into the
        batch's arrays."""
        n = int(self.counts.sum())
        times = np.empty(n, dtype=np.int64)
        chans = np.empty(n, dtype=np.uint8)
        dtimes = np.zeros(n, dtype=np.uint16)

        def piece(p: int) -> bool:
            at = int(self._piece_first[p])
            views = times[at:], chans[at:], dtimes[at:]
            return self._decode_piece(p, *views, 0)[2]

        ordered = all(list(_pool().map(piece, range(self._pieces))))
        for at in self._piece_first[1:-1]:
            ordered = ordered and settle(times, chans, dtimes, int(at), n)
        if not ordered:
            _sort_stably(times, chans, dtimes, n)
        return self._batch(self.t_begin, self.t_end, times, chans, dtimes)

    def _batch(self, a: int, b: int, t, ch, nt) -> TagBatch:
        if self.record_format.mode == "T2":
            return TagBatch(t, ch, a, b, metadata=self.metadata, check=False)
        return TagBatch(
            t,
            ch,
            a,
            b,
            nanotimes=nt,
            nanotime_unit_ps=self._dtime_ps,
            sync_period_ps=self._tick_ps,
            metadata=self.metadata,
            check=False,
        )

    def close(self) -> None:
        self._records = np.zeros(0, dtype="<u4")
        self._spare = _Spare()


def _piece_bounds(n: int) -> np.ndarray:
    """Where the pieces of a file of ``n`` records start, and ``n``: at most
    :data:`PIECE_RECORDS` each, in pairs of equal length so that the two threads decoding a
    pair finish together, and the last pair's records cut into three shorter pairs (1/2, 1/4,
    1/4), so that whichever thread is ahead at the end waits less for the other."""
    if n <= PIECE_RECORDS:
        return np.array([0, n] if n else [0], dtype=np.int64)
    pairs = -(-n // (2 * PIECE_RECORDS))
    length = -(-n // (2 * pairs))
    bounds = list(range(0, 2 * (pairs - 1) * length, length))
    tail = bounds[-1] + length if bounds else 0  # the last pair's records
    bounds += [tail + (n - tail) * eighths // 8 for eighths in (0, 2, 4, 5, 6, 7)]
    return np.unique(np.array([*bounds, n], dtype=np.int64))  # no empty pieces


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """Two threads decoding pieces of PicoQuant files (the kernels release the GIL)."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(2, thread_name_prefix="tagstream-ptu")
    return _POOL


def _buffers(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times, channels and dtimes for ``size`` tags."""
    return (
        np.empty(size, dtype=np.int64),
        np.empty(size, dtype=np.uint8),
        np.empty(size, dtype=np.uint16),
    )


class _Spare:
    """Buffers for :meth:`PtuRun.batches`, reused once no batch is a view of them any more
    (fresh memory costs more than decoding on some machines)."""

    KEEP = 3

    def __init__(self):
        self.pool: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def take(self, size: int, busy: tuple | None) -> tuple:
        """Buffers for at least ``size`` tags that no batch is a view of, other than
        ``busy``."""
        for bufs in self.pool:
            # referenced by this list, the loop and getrefcount's argument: no batch views
            if bufs is not busy and bufs[0].size >= size and not _viewed(bufs):
                return bufs
        return _buffers(size + size // 4)  # room for the next request, a little larger

    def keep(self, bufs: tuple) -> None:
        """Keep ``bufs`` for reuse once their batches are gone."""
        if not any(kept is bufs for kept in self.pool):
            self.pool.append(bufs)
            del self.pool[: -self.KEEP]


def _viewed(bufs: tuple) -> bool:
    """Whether anything but the caller's references holds one of the arrays."""
    return any(sys.getrefcount(arr) > 3 for arr in bufs)


def _sort_stably(times: np.ndarray, chans: np.ndarray, dtimes: np.ndarray, n: int) -> None:
    """Put the first ``n`` tags in time order in place, ties in their present order."""
    order = np.argsort(times[:n], kind="stable")
    times[:n] = times[:n][order]
    chans[:n] = chans[:n][order]
    dtimes[:n] = dtimes[:n][order]


#: One ``NAME=INPUT`` item of the channel list that tagstream's PTU writer puts at the start of
#: ``File_Comment`` (``"A=ch1, B=ch2, laser=sync."``).
_NAMED_INPUT = re.compile(r"([^=,]+)=(ch\d+|sync|marker\d+)")


def names_from_comment(comment: object) -> dict[str, str]:
    """``{reader's name: name}`` from a ``File_Comment`` that starts with tagstream's channel
    list (``"A=ch1, B=ch2, laser=sync."``); empty for any other comment, or names that repeat."""
    if not isinstance(comment, str):
        return {}
    listed, dot, _ = comment.partition(".")
    if not dot:
        return {}
    names = {}
    for item in listed.split(", "):
        match = _NAMED_INPUT.fullmatch(item.strip())
        if match is None:
            return {}
        names[match.group(2)] = match.group(1).strip()
    if len(set(names.values())) != len(names):
        return {}
    return names
