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
    order within a window (markers are recorded at a coarser resolution and may come slightly
    out of order; T3 photons arrive after their sync).

Damage
    A header that breaks the format raises :class:`~tagstream.errors.CorruptFileError` naming
    the byte offset. A last record cut short, or a record count that disagrees with the file
    size, is a warning in :attr:`PtuRun.warnings`: the whole records present are read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError, UnsupportedFormatError
from ..kernels.pq_records import count_records, decode_records
from ..tags import Channel, ChannelMap, Role, RunMetadata, TagBatch
from ..tags.units import to_ps
from . import pq_spec as spec
from .pq_header import PtuHeader, read_header
from .run import Run, batch_span_ps

PS_PER_S = 1e12
#: Records decoded at once.
CHUNK_RECORDS = 1 << 20
#: How far a T2 marker may precede the photons recorded before it, ps.
T2_MARKER_REACH_PS = 10**7


class PtuRun(Run):
    """A PicoQuant PTU file (every TTTR record type in :data:`~.pq_spec.RECORD_FORMATS`).

    Attributes
    ----------
    path, header
        The file and its :class:`~.pq_header.PtuHeader`.
    record_format
        The :class:`~.pq_spec.RecordFormat` of its records.
    num_records
        Whole records read.
    counts
        Tags per channel number over the whole file.
    warnings
        What was wrong with the file and how it was read anyway.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.header: PtuHeader = read_header(self.path)
        self.warnings = self.header.warnings()
        code = self.header.get(spec.TAG_RECORD_TYPE)
        if not isinstance(code, int):
            raise CorruptFileError(self.path, f"no {spec.TAG_RECORD_TYPE} tag in the header")
        fmt = spec.RECORD_FORMATS.get(code)
        if fmt is None:
            raise UnsupportedFormatError(
                self.path, f"unknown TTTR record type 0x{code & 0xFFFFFFFF:08X}"
            )
        self.record_format = fmt
        self._map_records()
        self._units()
        self._scan()
        self.metadata = self._metadata()
        self.t_begin = 0
        acquired = self.header.get(spec.TAG_ACQUISITION_TIME)
        acquired_ps = int(float(acquired) * 1e9) if isinstance(acquired, int | float) else 0
        self.t_end = max(self._last_ps + 1, acquired_ps, 1)
        self.duration_ps = self.t_end

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
        declared = self.header.get(spec.TAG_NUM_RECORDS)
        if isinstance(declared, int) and declared != whole:
            if declared > whole:
                self.warnings.append(
                    f"the header declares {declared} records but the file ends after {whole} "
                    f"(byte offset {offset + 4 * whole}); reading those"
                )
            elif declared >= 0:
                self.warnings.append(
                    f"{whole - declared} records follow the {declared} the header declares "
                    f"(from byte offset {offset + 4 * declared}); they are ignored"
                )
                n = declared
        self.num_records = n
        if n:
            self._records = np.memmap(self.path, dtype="<u4", mode="r", offset=offset, shape=(n,))
        else:
            self._records = np.zeros(0, dtype="<u4")

    def _units(self) -> None:
        glob = self.header.get(spec.TAG_GLOBAL_RESOLUTION)
        if not isinstance(glob, float) or not glob > 0:
            raise CorruptFileError(
                self.path, f"{spec.TAG_GLOBAL_RESOLUTION} is missing or not positive"
            )
        self._tick_ps = glob * PS_PER_S  # T2 time unit, or T3 sync period
        self._dtime_ps = None
        if self.record_format.mode == "T3":
            res = self.header.get(spec.TAG_RESOLUTION)
            if not isinstance(res, float) or not res > 0:
                raise CorruptFileError(
                    self.path, f"{spec.TAG_RESOLUTION} is missing or not positive"
                )
            self._dtime_ps = res * PS_PER_S

    def _scan(self) -> None:
        """Tags per channel and the time of the last tag, in one pass."""
        fmt = self.record_format
        counts = np.zeros(256, dtype=np.int64)
        state = np.zeros(2, dtype=np.int64)
        last = -1
        for i in range(0, self.num_records, CHUNK_RECORDS):
            chunk = self._records[i : i + CHUNK_RECORDS]
            got = count_records(chunk, fmt.family, fmt.wrap, fmt.counted, state, counts)
            last = max(last, int(got))
        self.counts = counts
        if state[1]:
            self.warnings.append(f"{int(state[1])} special records of unknown meaning were skipped")
        self._last_ps = -1 if last < 0 else int(to_ps(np.array([last]), self._tick_ps)[0])
        if fmt.mode == "T3" and last >= 0:
            self._last_ps += round(((1 << fmt.dtime_bits) - 1) * self._dtime_ps)

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
        rate = self.header.get(spec.TAG_SYNC_RATE)
        sync_period = None
        if fmt.mode == "T3":
            sync_period = self._tick_ps
        elif isinstance(rate, int | float) and rate > 0:
            sync_period = PS_PER_S / float(rate)
        settings = {
            "file": str(self.path),
            "record_type": fmt.name,
            "instrument": fmt.device,
            "sync_rate_hz": rate,
            "sync_divider": self.header.get(spec.TAG_SYNC_DIVIDER),
        }
        return RunMetadata(
            source=f"PicoQuant {fmt.device} (PTU)",
            channels=ChannelMap(channels),
            mode=fmt.mode,
            resolution_ps=self._dtime_ps if fmt.mode == "T3" else self._tick_ps,
            sync_period_ps=sync_period,
            nanotime_unit_ps=self._dtime_ps,
            hbt_pair=pair,
            settings={k: v for k, v in settings.items() if v is not None},
        )

    # ------------------------------------------------------------------ reading
    def batches(self, duration: str | int | None = None) -> Iterator[TagBatch]:
        """Consecutive batches of about ``duration`` (default 100 ms) from 0 to the end."""
        span = batch_span_ps(duration)
        fmt = self.record_format
        t3 = fmt.mode == "T3"
        state = np.zeros(2, dtype=np.int64)
        times = np.empty(CHUNK_RECORDS, dtype=np.int64)
        chans = np.empty(CHUNK_RECORDS, dtype=np.uint8)
        dtimes = np.zeros(CHUNK_RECORDS, dtype=np.uint16)
        carry_t = np.zeros(0, np.int64)
        carry_c = np.zeros(0, np.uint8)
        carry_n = np.zeros(0, np.uint16)
        a = self.t_begin
        for i in range(0, self.num_records, CHUNK_RECORDS):
            chunk = self._records[i : i + CHUNK_RECORDS]
            k = decode_records(
                chunk, fmt.family, fmt.wrap, fmt.counted, state, times, chans, dtimes
            )
            macro = to_ps(times[:k], self._tick_ps)
            t = macro + to_ps(dtimes[:k], self._dtime_ps) if t3 else macro
            # later records hold nothing earlier than this
            done = int(macro[-1]) if k else a
            done = done if t3 else done - T2_MARKER_REACH_PS
            carry_t = np.concatenate([carry_t, t])
            carry_c = np.concatenate([carry_c, chans[:k]])
            carry_n = np.concatenate([carry_n, dtimes[:k]]) if t3 else carry_n
            if carry_t.size > 1 and np.any(carry_t[1:] < carry_t[:-1]):
                order = np.argsort(carry_t, kind="stable")
                carry_t, carry_c = carry_t[order], carry_c[order]
                carry_n = carry_n[order] if t3 else carry_n
            while a + span <= done:
                b = a + span
                j = int(np.searchsorted(carry_t, b, side="left"))
                yield self._batch(a, b, carry_t[:j], carry_c[:j], carry_n[:j] if t3 else None)
                carry_t, carry_c = carry_t[j:], carry_c[j:]
                carry_n = carry_n[j:] if t3 else carry_n
                a = b
        while a < self.t_end:
            b = min(a + span, self.t_end)
            j = int(np.searchsorted(carry_t, b, side="left"))
            yield self._batch(a, b, carry_t[:j], carry_c[:j], carry_n[:j] if t3 else None)
            carry_t, carry_c = carry_t[j:], carry_c[j:]
            carry_n = carry_n[j:] if t3 else carry_n
            a = b

    def _batch(self, a: int, b: int, t, ch, nt) -> TagBatch:
        if nt is None:
            return TagBatch(t.copy(), ch.copy(), a, b, metadata=self.metadata, check=False)
        return TagBatch(
            t.copy(),
            ch.copy(),
            a,
            b,
            nanotimes=nt.copy(),
            nanotime_unit_ps=self._dtime_ps,
            sync_period_ps=self._tick_ps,
            metadata=self.metadata,
            check=False,
        )

    def close(self) -> None:
        self._records = np.zeros(0, dtype="<u4")
