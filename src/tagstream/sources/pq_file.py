"""PicoQuant PTU files read as a :class:`Run`, memory-mapped and decoded in chunks.

Channels
    The sync is channel 0 (in T2 files of the HydraHarp family, and PicoHarp T2 input 0),
    detector inputs keep their front-panel numbers (``ch1``, ``ch2``, ...), marker records with
    bits ``m`` become channel ``64 + m`` (``marker1`` ... ``marker15``). The two busiest detectors
    form the HBT pair (see :mod:`.ptu_metadata`).

Times
    T2: ``time * MeasDesc_GlobalResolution``. T3: ``nsync * MeasDesc_GlobalResolution +
    dtime * MeasDesc_Resolution``, each term rounded to ps as in
    :func:`~tagstream.tags.units.to_ps`; nanotimes keep the dtime values. Tags are put in time
    order as they are decoded (markers are recorded at a coarser resolution and may come
    slightly out of order; T3 photons are recorded in sync order, not arrival order). Batches
    are handed out once no later record can reach back into them: a tag more than
    :data:`~.ptu_batches.MARKER_REACH_PS` earlier than tags recorded before it (only in damaged
    files) is left out of the batches with a warning; :meth:`PtuRun.read` sorts everything.

Damage
    A header that breaks the format raises :class:`~tagstream.errors.CorruptFileError` naming
    the byte offset. A last record cut short, or a record count that disagrees with the file
    size, is a warning in :attr:`PtuRun.warnings`: the whole records present are read. A file
    that ends early (fewer records than the header declares, or a record cut short) covers time
    only up to its last record, whatever acquisition time the header states.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..formats import pq_spec as spec
from ..tags import TagBatch
from ..tags.units import PS_PER_S
from .laser_period import checked_periods
from .pq_header import PtuHeader, read_header
from .ptu_batches import MARKER_REACH_PS, Spare, cut_batches, decode_all
from .ptu_metadata import acquired_ps, header_lines, ptu_metadata
from .ptu_pieces import scan_pieces
from .ptu_records import map_records, read_units, record_format
from .run import Run, batch_span_ps


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
        self.record_format = record_format(self.path, self.header)
        self._spare = Spare()  # batch buffers, kept for the next pass over the file
        mapped = map_records(self.path, self.header, self.warnings)
        self.num_records, self._records = mapped.num_records, mapped.records
        self._units = read_units(self.path, self.header, self.record_format)
        self._pieces = scan_pieces(
            self.path, self.header, self._records, self.record_format, self._units, self.warnings
        )
        self.counts = self._pieces.counts
        last_ps = self._pieces.last_ps
        self.metadata, rate_known = ptu_metadata(
            self.path, self.header, self.record_format, self.counts, self._units, self.warnings
        )
        self.t_begin = 0
        self.t_end = max(last_ps + 1, 1)
        acquired = acquired_ps(self.header, last_ps, self.warnings)
        if mapped.cut_short and acquired > self.t_end:
            self.warnings.append(
                f"the file ends early: the run covers the {self.t_end / PS_PER_S:.6g} s up to its "
                f"last record, not the {acquired / PS_PER_S:.6g} s of "
                f"{spec.TAG_ACQUISITION_TIME}"
            )
        elif not mapped.cut_short:
            self.t_end = max(self.t_end, acquired)
        self.duration_ps = self.t_end
        stated = self.metadata.laser_period_ps if rate_known else None
        self.metadata, found = checked_periods(self.metadata, self.batches(), stated)
        self.warnings += found

    def batches(self, duration: str | int | None = None) -> Iterator[TagBatch]:
        """Consecutive batches of about ``duration`` (default 100 ms) from 0 to the end.

        The file is decoded two pieces at a time on two worker threads, straight into the
        arrays the batches are views of (see :mod:`.ptu_batches`). Memory stays bounded by the
        batch duration and :data:`~.ptu_pieces.PIECE_RECORDS`, whatever the file size.
        """
        span = batch_span_ps(duration)
        late = yield from cut_batches(
            self._pieces, self._spare, span, self.t_begin, self.t_end, self._batch
        )
        if late:
            self.warnings.append(
                f"{late} tags came more than {MARKER_REACH_PS / 1e6:g} us out of time order "
                "(damaged records?) and were left out of the batches"
            )

    def read(self) -> TagBatch:
        """The whole file as one batch, its pieces decoded on two threads straight into the
        batch's arrays."""
        times, chans, dtimes = decode_all(self._pieces)
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
            nanotime_unit_ps=self._units.dtime_ps,
            sync_period_ps=self._units.tick_ps,
            metadata=self.metadata,
            check=False,
        )

    def header_lines(self) -> list[str]:
        """The header for ``tagstream info``: container, record type, record count and every header
        field."""
        return header_lines(self.header, self.record_format, self.num_records)

    def close(self) -> None:
        """Release the mapped records and the decoding buffers."""
        self._records = np.zeros(0, dtype="<u4")
        self._pieces.records = self._records
        self._spare = Spare()
