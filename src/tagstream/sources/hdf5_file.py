"""Photon-HDF5 files, tagstream's own and other software's, read as a :class:`Run`.

Channels
    In tagstream's files the stored :class:`RunMetadata` is used as it is; in other files the
    channel map comes from the detectors' ids and labels (see :mod:`.hdf5_channels`).

Times
    Stored timestamps (with their nanotimes, where they count syncs) become int64 ps as
    :mod:`.hdf5_clock` says.

Span and growing files
    tagstream's files record the span, the number of tags and of gap rows that their writer's
    last commit made final (``/user/tagstream/committed``; older files: ``span``); a file still
    being written, or whose writer died, is read up to that commit (opened for SWMR reading),
    and ``status`` says which (``recording``, ``complete``, ``stopped: <reason>``). For other
    files it starts at 0 (timestamps count from the start of the
    acquisition) unless the first tag lies beyond ``acquisition_duration``, then at the first
    tag; it ends at the last tag or at the start plus ``acquisition_duration``, whichever is
    later.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401  (registers the Blosc filter our files use)
import numpy as np

from ..errors import CorruptFileError, MissingFileError, RunFileError, TagstreamError
from ..formats import photon_hdf5_spec as spec
from ..formats.hdf5_superblock import SWMR_WRITE_ACCESS, swmr_flags_set
from ..formats.photon_hdf5_spec import HDF5_SIGNATURE
from ..tags import RunMetadata, TagBatch
from ..tags import intervals as iv
from ..tags.units import format_time
from .chunk_reader import parallel_reader
from .hdf5_channels import foreign_channels, split_pair
from .hdf5_checksum import H5_DAMAGE, damage_report
from .hdf5_clock import Clock, tag_span
from .hdf5_fields import (
    acquisition_duration_ps,
    check_length,
    foreign_settings,
    laser_period_ps,
    read_tcspc,
    require,
    tag_array,
    text,
    timestamps_unit_ps,
)
from .hdf5_own import own_metadata, read_committed, read_gaps, read_truth
from .hdf5_tags import TagSlices
from .laser_period import checked_periods
from .run import SOURCE_WARNINGS, Run, batch_span_ps

#: What h5py and the tag model raise on damaged or inconsistent content.
_DAMAGE = (TagstreamError, *H5_DAMAGE)
#: What HDF5 says of a file whose writer has not closed it (SWMR writing, or died).
_OPEN_FOR_WRITE = "file is already open for write"


class HDF5Run(Run):
    """A recorded run in a Photon-HDF5 file.

    Parameters
    ----------
    path
        The file; it stays open until :meth:`close` (or the end of a ``with`` block).

    Attributes
    ----------
    path
        The file.
    t_begin, t_end
        The span the run covers, ps.
    gaps
        Lost-time intervals of the whole run (k, 2), ps.
    status
        tagstream's files: ``"recording"``, ``"complete"`` or ``"stopped: <reason>"``; other
        files: ``None``.
    num_tags
        Number of tags in the file.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.warnings: list[str] = []
        self._file = open_hdf5(self.path)
        try:
            self._load()
        except BaseException as exc:
            if isinstance(exc, _DAMAGE) and not isinstance(exc, RunFileError):
                report = damage_report(self._tag_datasets())
                self._file.close()
                reason = report or f"damaged or inconsistent file ({exc})"
                raise CorruptFileError(self.path, reason) from exc
            self._file.close()
            raise

    # ------------------------------------------------------------------ loading
    def _load(self) -> None:
        f = self._file
        require(f, self.path, spec.READ_REQUIRED)
        pd = f["/photon_data"]
        own = own_metadata(f, self.path)
        committed = read_committed(f, self.path) if own is not None else None
        self._timestamps = tag_array(pd, "timestamps", self.path)
        if committed is None:
            self.num_tags = int(self._timestamps.shape[0])
            exact = True
        else:
            self.num_tags = committed[0]
            exact = False
            check_length(self._timestamps, self.num_tags, self.path)
        self._detectors = tag_array(pd, "detectors", self.path, self.num_tags, exact)
        self._nanotimes = tag_array(pd, "nanotimes", self.path, self.num_tags, exact)
        if self._nanotimes is not None:
            require(f, self.path, spec.READ_REQUIRED_T3)
        # deflate-compressed arrays are inflated on every core (see .chunk_reader)
        self._timestamps = parallel_reader(self._timestamps)
        if self._detectors is not None:
            self._detectors = parallel_reader(self._detectors)
        if self._nanotimes is not None:
            self._nanotimes = parallel_reader(self._nanotimes)
        self.status: str | None = None
        if own is not None:
            self._load_own(own, committed)
        else:
            self._load_foreign()
        self.duration_ps = self.t_end - self.t_begin

    def _load_own(self, metadata: RunMetadata, committed: tuple[int, ...] | None) -> None:
        self.warnings += [str(w) for w in metadata.settings.get(SOURCE_WARNINGS, ())]
        if (metadata.mode == "T3") != (self._nanotimes is not None):
            raise CorruptFileError(
                self.path,
                f"metadata says {metadata.mode}, but the nanotimes array is "
                f"{'missing' if self._nanotimes is None else 'present'}",
            )
        self.metadata = metadata
        self._clock = Clock(timestamps_unit_ps(self._file, self.path))
        user = self._file[spec.TAGSTREAM_GROUP]
        status = user.get(spec.USER_STATUS)
        self.status = text(status[()]) if isinstance(status, h5py.Dataset) else None
        if committed is not None:
            _, n_gaps, self.t_begin, self.t_end = committed[:4]
            self.gaps = iv.clip(read_gaps(user, self.path, n_gaps), self.t_begin, self.t_end)
        else:
            span = user.get(spec.USER_SPAN)
            if span is None:
                self.t_begin, self.t_end = tag_span(
                    self._file, self._timestamps, self._nanotimes, self.num_tags, self._clock, 0
                )
            else:
                self.t_begin, self.t_end = (int(v) for v in span[()])
            self.gaps = read_gaps(user, self.path)
        self.truth = read_truth(user, self.path)
        if self.status == "recording":
            self.warnings.append(
                "the run file is not complete (status 'recording'): its writer is still "
                "writing it, or stopped without closing it (killed, power lost); it holds "
                f"what was committed, {format_time(self.t_end - self.t_begin)}"
            )

    def _load_foreign(self) -> None:
        f = self._file
        unit_ps = timestamps_unit_ps(f, self.path)
        period_ps = laser_period_ps(f)
        tcspc = read_tcspc(f, self.path) if self._nanotimes is not None else None
        clock = Clock(unit_ps)
        if tcspc is not None:
            reference = period_ps or tcspc.range_ps
            if reference and unit_ps >= 0.5 * reference:
                clock = Clock(unit_ps, tcspc.unit_ps)
        self._clock = clock
        channels, sync_period_ps = foreign_channels(
            f,
            self.path,
            self._timestamps,
            self._detectors,
            self.num_tags,
            clock,
            self._nanotimes is not None,
            period_ps,
        )
        if tcspc is not None:  # the macrotime counts syncs; else the photons' syncs tell
            sync_period_ps = unit_ps if clock.counts_syncs else None
        self.metadata = RunMetadata(
            source=str(self.path),
            channels=channels,
            mode="T3" if tcspc is not None else "T2",
            resolution_ps=tcspc.unit_ps if clock.counts_syncs else unit_ps,
            sync_period_ps=sync_period_ps,
            laser_period_ps=period_ps,
            nanotime_unit_ps=None if tcspc is None else tcspc.unit_ps,
            nanotime_range_ps=None if tcspc is None else tcspc.range_ps,
            hbt_pair=split_pair(f, channels),
            settings=foreign_settings(f, unit_ps),
        )
        self.t_begin, self.t_end = tag_span(
            f, self._timestamps, self._nanotimes, self.num_tags, clock, acquisition_duration_ps(f)
        )
        self.gaps = iv.EMPTY
        self.truth = None
        self.metadata, found = checked_periods(self.metadata, self.batches(), period_ps)
        self.warnings += found

    # ------------------------------------------------------------------ reading
    def batches(self, duration: str | int | None = None) -> Iterator[TagBatch]:
        """Yield consecutive batches of about ``duration`` (default 100 ms) covering the run.

        Each batch reads only its own slice of the file.
        """
        span = batch_span_ps(duration)
        if not self._file:
            raise TagstreamError(f"{self.path}: the file is closed")
        edges = [*range(self.t_begin, self.t_end, span), self.t_end]
        if len(edges) < 2:
            return
        tags = TagSlices(
            self._timestamps,
            self._detectors,
            self._nanotimes,
            self.num_tags,
            self._clock,
            self.path,
        )
        try:
            for a, b, t, ch, nt in tags.between(edges):
                yield self._batch(a, b, t, ch, nt)
        except RunFileError:
            raise
        except _DAMAGE as exc:
            report = damage_report(self._tag_datasets())
            raise CorruptFileError(self.path, report or f"cannot read the tags ({exc})") from exc

    def _tag_datasets(self) -> list[h5py.Dataset]:
        """The per-tag arrays found so far, and the record of what was committed."""
        names = ("_timestamps", "_detectors", "_nanotimes")
        found = [getattr(d, "dataset", d) for d in (getattr(self, n, None) for n in names)]
        found = [d for d in found if d is not None]
        try:
            committed = self._file.get(f"{spec.TAGSTREAM_GROUP}/{spec.USER_COMMITTED}")
        except _DAMAGE:
            committed = None
        return [*found, *([committed] if isinstance(committed, h5py.Dataset) else [])]

    def _batch(
        self, a: int, b: int, t: np.ndarray, ch: np.ndarray, nt: np.ndarray | None
    ) -> TagBatch:
        return TagBatch(
            t,
            ch,
            a,
            b,
            nanotimes=nt,
            nanotime_unit_ps=self.metadata.nanotime_unit_ps,
            sync_period_ps=self.metadata.sync_period_ps,
            gaps=iv.clip(self.gaps, a, b),
            metadata=self.metadata,
        )

    def file_warnings(self) -> list[str]:
        """A warning when the file is still marked open for writing (with how to clear the mark),
        else none."""
        if not swmr_flags_set(self.path):
            return []
        return [
            "the file is still marked open for writing (its writer is running, or ended without "
            "closing it): h5py, h5dump and other HDF5 tools refuse it; once no writer runs, "
            f"`tagstream repair {self.path}` checks it and clears the mark"
        ]

    def close(self) -> None:
        """Close the file."""
        if self._file:
            self._file.close()

    def __repr__(self) -> str:
        return (
            f"HDF5Run({str(self.path)!r}, {self.metadata.mode}, {self.num_tags} tags, "
            f"span [{self.t_begin}, {self.t_end}) ps)"
        )


# ---------------------------------------------------------------------- file access
def open_hdf5(path: Path) -> h5py.File:
    """Open an HDF5 file for reading, also while another process writes it (SWMR) or after its
    writer died without closing it.

    The Blosc, LZ4 and Zstd filters come from hdf5plugin. An HDF5 file whose writer has not
    closed it is marked "open for writing"; only such a file is opened for SWMR reading, which
    sees everything the writer has flushed. (A damaged file is never opened that way: SWMR
    reading retries failed reads for a long time, as the writer might be in the middle of one.)
    """
    if path.is_dir():
        raise MissingFileError(path, "is a folder, not a run file")
    try:
        return h5py.File(path, "r")
    except FileNotFoundError as exc:
        raise MissingFileError(path, "no such file") from exc
    except OSError as exc:
        first = exc
    if _OPEN_FOR_WRITE in str(first) or _swmr_writer_flag(path):
        try:
            return h5py.File(path, "r", swmr=True)
        except OSError:
            pass
    cut = re.search(r"truncated file: eof = (\d+).*stored_eof = (\d+)", str(first))
    if cut:
        raise CorruptFileError(
            path,
            f"the HDF5 file is cut short: it ends at byte offset {cut.group(1)} but its "
            f"superblock says {cut.group(2)} bytes; HDF5 cannot read a cut file (copy it again)",
        ) from first
    inner = re.search(r"\((.*)\)", str(first))
    reason = inner.group(1) if inner else str(first)
    raise CorruptFileError(path, f"corrupt or truncated HDF5 file: {reason}") from first


def _swmr_writer_flag(path: Path) -> bool:
    """Whether the superblock at the start of the file says a SWMR writer has it open (it
    still does, or died). Such a file may be shorter than the end address its superblock
    records: space the writer had reserved but not yet filled."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except OSError:
        return False
    if len(head) < 12 or head[:8] != HDF5_SIGNATURE:
        return False
    return head[8] >= 3 and bool(head[11] & SWMR_WRITE_ACCESS)
