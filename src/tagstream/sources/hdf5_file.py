"""Photon-HDF5 files, tagstream's own and other software's, read as a :class:`Run`.

Channels
    Channel numbers are the ids in ``/photon_data/detectors``; names come from
    ``/setup/detectors/label`` (else ``ch<id>``). A detector labelled ``sync`` has the sync role;
    in a T2 file where no label says so, a channel whose first tags are strictly periodic (at a
    whole multiple of the laser period, when the file states the laser rate) has it. Other ids
    listed in ``detectors_specs/non_photon_id*`` are markers. ``split_ch1``/``split_ch2`` name
    the HBT pair. In tagstream's files the stored :class:`RunMetadata` is used as it is.

Times
    Timestamps become int64 ps: ``t_ps = round(t * u)`` with ``u`` the timestamps unit in ps,
    rounded to the nearest picosecond (ties to even) and computed as
    ``t * floor(u) + round(t * (u - floor(u)))`` so that long runs lose no precision. Units that
    are whole picoseconds (within 1e-9) convert exactly. In T3 files from other software whose
    timestamps count syncs (a unit of at least half the sync period), the absolute time is
    ``macrotime * u + nanotime * tcspc_unit``, each term rounded to ps as above; tags within
    one sync period are put in order of that time (stably). Nanotimes keep their stored values,
    in units of ``tcspc_unit``.

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

import itertools
import json
import math
import os
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401  (registers the Blosc filter our files use)
import numpy as np

from ..errors import (
    BatchError,
    CorruptFileError,
    MissingFileError,
    NotPhotonHDF5Error,
    RunFileError,
    TagstreamError,
    UnsupportedFormatError,
)
from ..formats import photon_hdf5_spec as spec
from ..formats.photon_hdf5_spec import HDF5_SIGNATURE
from ..formats.timeline import StateTimeline
from ..kernels.clock_counts import counts_to_ps, sync_counted_ps
from ..tags import Channel, ChannelMap, Role, RunMetadata, TagBatch
from ..tags import intervals as iv
from ..tags.units import PS_PER_S, format_time, ps_factors
from .chunk_reader import parallel_reader
from .hdf5_checksum import H5_DAMAGE, damage_report
from .laser_period import checked_periods
from .run import SOURCE_WARNINGS, Run, batch_span_ps

SEARCH_BLOCK = 1 << 14  # tags read at once when the binary search narrows down
SCAN_BLOCK = 1 << 20  # tags read at once when scanning a whole array
SYNC_SAMPLE = 1 << 18  # tags looked at to find a periodic (sync) channel
SYNC_MIN_TAGS = 16  # a channel with fewer tags in the sample is not judged periodic
SYNC_MAX_TAGS = 1000
SYNC_TOLERANCE = 1e-3  # allowed jitter of the sync interval, relative to the laser period

#: What h5py and the tag model raise on damaged or inconsistent content.
_DAMAGE = (TagstreamError, *H5_DAMAGE)
#: What HDF5 says of a file whose writer has not closed it (SWMR writing, or died).
_OPEN_FOR_WRITE = "file is already open for write"
#: Superblock status flag (versions 3 and later): open for SWMR writing.
SWMR_WRITE_ACCESS = 0x04
_MULTISPOT = re.compile(r"^photon_data\d+$")
_NON_PHOTON = re.compile(r"^non_photon_id\d+$")


@dataclass(frozen=True)
class _Clock:
    """Turns stored timestamps (and, for sync-counting T3, nanotimes) into absolute ps."""

    unit_ps: float
    nanotime_unit_ps: float | None = None  # set when the timestamps count syncs

    @property
    def counts_syncs(self) -> bool:
        return self.nanotime_unit_ps is not None

    def macro_ps(self, raw: np.ndarray) -> np.ndarray:
        return _converted(raw, self.unit_ps)

    def absolute_ps(self, raw: np.ndarray, nanotimes: np.ndarray | None) -> np.ndarray:
        """Absolute times of stored values (with their nanotimes when the clock counts syncs)."""
        macro = self.macro_ps(raw)
        if self.nanotime_unit_ps is None or nanotimes is None:
            return macro
        return self.after_syncs(macro, nanotimes, np.zeros(0, np.int64))[0]

    def after_syncs(
        self, macro_ps: np.ndarray, nanotimes: np.ndarray, carry_ps: np.ndarray
    ) -> tuple[np.ndarray, bool]:
        """``carry_ps`` (absolute times, ps), then the sync times ``macro_ps`` plus their
        ``nanotimes``; and whether the whole is in order. In one pass."""
        _, floor, fraction = ps_factors(self.nanotime_unit_ps)
        t = np.empty(carry_ps.size + macro_ps.size, np.int64)
        in_order = sync_counted_ps(carry_ps, macro_ps, nanotimes, np.int64(floor), fraction, t)
        return t, bool(in_order)


def _converted(raw: np.ndarray, unit_ps: float) -> np.ndarray:
    """Stored counts of ``unit_ps`` as int64 ps (``tags.units.to_ps`` in one pass)."""
    whole, floor, fraction = ps_factors(unit_ps)
    if whole == 1 and raw.dtype == np.int64:
        return raw
    out = np.empty(raw.size, np.int64)
    counts_to_ps(raw, np.int64(floor), fraction, out)
    return out


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
        _require(f, self.path, spec.READ_REQUIRED)
        pd = f["/photon_data"]
        own = _own_metadata(f, self.path)
        committed = _committed(f, self.path) if own is not None else None
        self._timestamps = _tag_array(pd, "timestamps", self.path)
        if committed is None:
            self.num_tags = int(self._timestamps.shape[0])
            exact = True
        else:
            self.num_tags = committed[0]
            exact = False
            _check_length(self._timestamps, self.num_tags, self.path)
        self._detectors = _tag_array(pd, "detectors", self.path, self.num_tags, exact)
        self._nanotimes = _tag_array(pd, "nanotimes", self.path, self.num_tags, exact)
        if self._nanotimes is not None:
            _require(f, self.path, spec.READ_REQUIRED_T3)
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
        self._clock = _Clock(_timestamps_unit_ps(self._file, self.path))
        user = self._file[spec.TAGSTREAM_GROUP]
        status = user.get(spec.USER_STATUS)
        self.status = _text(status[()]) if isinstance(status, h5py.Dataset) else None
        if committed is not None:
            _, n_gaps, self.t_begin, self.t_end = committed[:4]
            self.gaps = iv.clip(_read_gaps(user, self.path, n_gaps), self.t_begin, self.t_end)
        else:
            span = user.get(spec.USER_SPAN)
            if span is None:
                self.t_begin, self.t_end = self._tag_span(0)
            else:
                self.t_begin, self.t_end = (int(v) for v in span[()])
            self.gaps = _read_gaps(user, self.path)
        self.truth = _read_truth(user, self.path)
        if self.status == "recording":
            self.warnings.append(
                "the run file is not complete (status 'recording'): its writer is still "
                "writing it, or stopped without closing it (killed, power lost); it holds "
                f"what was committed, {format_time(self.t_end - self.t_begin)}"
            )

    def _load_foreign(self) -> None:
        f = self._file
        unit_ps = _timestamps_unit_ps(f, self.path)
        period_ps = _laser_period_ps(f)
        tcspc = _tcspc(f, self.path) if self._nanotimes is not None else None
        clock = _Clock(unit_ps)
        if tcspc is not None:
            reference = period_ps or tcspc.range_ps
            if reference and unit_ps >= 0.5 * reference:
                clock = _Clock(unit_ps, tcspc.unit_ps)
        self._clock = clock
        channels, sync_period_ps = self._foreign_channels(period_ps)
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
            hbt_pair=_split_pair(f, channels),
            settings=_foreign_settings(f, unit_ps),
        )
        self.t_begin, self.t_end = self._tag_span(_acquisition_duration_ps(f))
        self.gaps = iv.EMPTY
        self.truth = None
        self.metadata, found = checked_periods(self.metadata, self.batches(), period_ps)
        self.warnings += found

    def _foreign_channels(self, period_ps: float | None) -> tuple[ChannelMap, float | None]:
        """The channel map of another program's file, and the sync period seen in the tags."""
        f = self._file
        ids, labels = _detector_table(f, self._detectors, self.path)
        non_photon = _non_photon_ids(f)
        roles = [Role.MARKER if i in non_photon else Role.DETECTOR for i in ids]
        sync_period_ps = None
        if labels is not None:
            for k, label in enumerate(labels):
                if label.strip().lower() == spec.SYNC_LABEL:
                    roles[k] = Role.SYNC
        unlabelled = Role.SYNC not in roles and self._nanotimes is None
        if unlabelled and self._detectors is not None and not self._clock.counts_syncs:
            found = self._periodic_channel(ids, period_ps)
            if found is not None:
                roles[ids.index(found[0])] = Role.SYNC
                sync_period_ps = found[1]
        names = _channel_names(ids, labels, roles)
        channels = ChannelMap(Channel(i, n, r) for i, n, r in zip(ids, names, roles, strict=True))
        return channels, sync_period_ps

    def _periodic_channel(
        self, ids: list[int], period_ps: float | None
    ) -> tuple[int, float] | None:
        """The first channel whose first tags are strictly periodic (at a whole multiple of the
        laser period, when it is known); with the period it shows, ps."""
        n = min(self.num_tags, SYNC_SAMPLE)
        t = self._clock.macro_ps(self._timestamps[:n])
        ch = self._detectors[:n]
        for number in ids:
            times = t[ch == number][:SYNC_MAX_TAGS]
            if times.size < SYNC_MIN_TAGS:
                continue
            steps = np.diff(times)
            typical = float(np.median(steps))
            reference = period_ps or typical
            tolerance = max(SYNC_TOLERANCE * reference, 2 * self._clock.unit_ps)
            multiple = 1 if period_ps is None else round(typical / period_ps)
            if (
                typical > 0
                and multiple >= 1
                and abs(typical - multiple * reference) <= tolerance
                and np.all(np.abs(steps - typical) <= tolerance)
            ):
                return number, float(np.mean(steps))
        return None

    def _tag_span(self, acquisition_ps: int) -> tuple[int, int]:
        """The span of a file that does not store it (see the module docstring)."""
        if self.num_tags == 0:
            return 0, acquisition_ps
        first, last = self._first_last_ps()
        begin = first if acquisition_ps and first >= acquisition_ps else min(0, first)
        return begin, max(last + 1, begin + acquisition_ps)

    def _first_last_ps(self) -> tuple[int, int]:
        ts, clock = self._timestamps, self._clock
        first = int(clock.macro_ps(ts[:1])[0])
        if not clock.counts_syncs:
            return first, int(clock.macro_ps(ts[-1:])[0])
        reach = _nanotime_reach_ps(self._file, self._nanotimes, clock.nanotime_unit_ps)
        last_macro = int(clock.macro_ps(ts[-1:])[0])
        i = _first_index_at(ts, last_macro - reach, 0, self.num_tags, clock.macro_ps)
        tail = clock.absolute_ps(ts[i:], self._nanotimes[i:])
        return first, int(tail.max())

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
        try:
            if self._clock.counts_syncs:
                yield from self._sync_counting_batches(edges)
            else:
                yield from self._absolute_batches(edges)
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

    def _absolute_batches(self, edges: list[int]) -> Iterator[TagBatch]:
        ahead = _ReadAhead(self._timestamps, self.num_tags, self._clock.macro_ps)
        for a, b in itertools.pairwise(edges):
            i0, raw, t = ahead.before(b if b < self.t_end else None)
            i1 = i0 + raw.size
            yield self._batch(a, b, t, self._channels(i0, i1), self._nanotimes_slice(i0, i1))

    def _sync_counting_batches(self, edges: list[int]) -> Iterator[TagBatch]:
        """T3 tags whose absolute order may differ from the stored order within a sync period:
        each batch reads every tag whose sync comes before its end, keeps those that arrive
        before it and carries the rest to the next batch."""
        clock = self._clock
        ahead = _ReadAhead(self._timestamps, self.num_tags, clock.macro_ps)
        t_carry = np.zeros(0, np.int64)
        ch_carry = np.zeros(0, np.uint8)
        nt_carry = np.zeros(0, self._nanotimes.dtype)
        for a, b in itertools.pairwise(edges):
            i0, raw, macro = ahead.before(b)
            i1 = i0 + raw.size
            nt_new = self._nanotimes[i0:i1]
            t, in_order = clock.after_syncs(macro, nt_new, t_carry)
            ch = np.concatenate([ch_carry, self._channels(i0, i1)])
            nt = np.concatenate([nt_carry, nt_new])
            if not in_order:  # often in order already
                order = np.argsort(t, kind="stable")
                t, ch, nt = t[order], ch[order], nt[order]
            k = int(np.searchsorted(t, b, side="left"))
            yield self._batch(a, b, t[:k], ch[:k], nt[:k])
            t_carry, ch_carry, nt_carry = t[k:], ch[k:], nt[k:]
        if t_carry.size:
            raise CorruptFileError(self.path, "nanotimes reach beyond the TCSPC range")

    def _channels(self, i0: int, i1: int) -> np.ndarray:
        if self._detectors is None:
            return np.zeros(i1 - i0, dtype=np.uint8)
        return self._detectors[i0:i1]

    def _nanotimes_slice(self, i0: int, i1: int) -> np.ndarray | None:
        return None if self._nanotimes is None else self._nanotimes[i0:i1]

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


def _require(f: h5py.File, path: Path, fields: tuple[str, ...]) -> None:
    if "/photon_data" not in f and any(_MULTISPOT.match(name) for name in f):
        raise UnsupportedFormatError(path, "multi-spot Photon-HDF5 files are not supported")
    for field in fields:
        if field not in f:
            raise NotPhotonHDF5Error(path, field)


def _tag_array(
    group: h5py.Group, name: str, path: Path, length: int | None = None, exact: bool = True
) -> h5py.Dataset | None:
    """The per-tag array ``name`` (1-D, integer, ``length`` values, or at least that many when
    not ``exact``); ``None`` when absent."""
    ds = group.get(name)
    if ds is None:
        return None
    if not isinstance(ds, h5py.Dataset) or ds.ndim != 1 or ds.dtype.kind not in "iu":
        raise CorruptFileError(path, f"{ds.name} must be a 1-D integer array")
    if length is not None:
        if exact and ds.shape[0] != length:
            raise CorruptFileError(path, f"{ds.name} holds {ds.shape[0]} values for {length} tags")
        _check_length(ds, length, path)
    return ds


def _check_length(ds: h5py.Dataset, length: int, path: Path) -> None:
    if ds.shape[0] < length:
        raise CorruptFileError(
            path, f"{ds.name} holds {ds.shape[0]} values; {length} tags were committed"
        )


def _committed(f: h5py.File, path: Path) -> tuple[int, ...] | None:
    """tagstream's record of what the writer's last commit made final (layout 2), if any:
    ``(tags, gap rows, t_begin, t_end, ...)``."""
    node = f.get(f"{spec.TAGSTREAM_GROUP}/{spec.USER_COMMITTED}")
    if node is None:
        return None
    values = np.asarray(node[()])
    n = len(spec.COMMITTED_FIELDS)
    if values.ndim != 1 or values.size < n or values.dtype.kind not in "iu":
        raise CorruptFileError(path, f"{node.name} must hold at least {n} integers")
    record = tuple(int(v) for v in values)
    if min(record[:2]) < 0 or record[3] < record[2]:
        raise CorruptFileError(path, f"{node.name} is inconsistent: {list(record[:4])}")
    return record


def _first_index_at(
    ds: h5py.Dataset, t_ps: int, lo: int, hi: int, to_ps: Callable[[np.ndarray], np.ndarray]
) -> int:
    """The first index in ``[lo, hi]`` whose time is at least ``t_ps``, by bisection on single
    values until at most :data:`SEARCH_BLOCK` values remain; those are read at once."""
    while hi - lo > SEARCH_BLOCK:
        mid = (lo + hi) // 2
        if to_ps(ds[mid : mid + 1])[0] < t_ps:
            lo = mid + 1
        else:
            hi = mid
    return lo + int(np.searchsorted(to_ps(ds[lo:hi]), t_ps, side="left"))


class _ReadAhead:
    """Reads a sorted timestamp dataset in order, a block at a time, and hands it out cut at
    given times, so each value is read and converted once. A block is as long as the last piece
    handed out (at least :data:`SEARCH_BLOCK`) and doubles while a piece is not complete."""

    def __init__(self, ds: h5py.Dataset, n: int, to_ps: Callable[[np.ndarray], np.ndarray]):
        self._ds, self._n, self._to_ps = ds, n, to_ps
        self._start = 0  # file index of the first value held
        self._raw = np.zeros(0, ds.dtype)
        self._t = np.zeros(0, np.int64)  # their times, ps
        self._block = SEARCH_BLOCK

    def before(self, t_ps: int | None) -> tuple[int, np.ndarray, np.ndarray]:
        """The next values whose time is before ``t_ps`` (all the rest for ``None``): their
        first file index, raw values and times (ps)."""
        raws, times = [self._raw], [self._t]
        end, block = self._start + self._raw.size, self._block
        while end < self._n and (t_ps is None or times[-1].size == 0 or times[-1][-1] < t_ps):
            raws.append(self._ds[end : min(end + block, self._n)])
            times.append(self._to_ps(raws[-1]))
            end += raws[-1].size
            block *= 2
        raw, t = (raws[0], times[0]) if len(raws) == 1 else map(np.concatenate, (raws, times))
        k = raw.size if t_ps is None else int(np.searchsorted(t, t_ps, side="left"))
        start = self._start
        self._raw, self._t, self._start = raw[k:], t[k:], start + k
        self._block = max(SEARCH_BLOCK, k)
        return start, raw[:k], t[:k]


def _text(value: object) -> str:
    """A string field as ``str`` (fixed- or variable-length, bytes or not)."""
    if isinstance(value, np.ndarray):
        value = value.item() if value.size == 1 else value.tolist()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _scalar(f: h5py.File, field: str) -> float | None:
    """A numeric field (a scalar or the first element of an array); ``None`` if absent."""
    node = f.get(field)
    if not isinstance(node, h5py.Dataset):
        return None
    values = np.asarray(node[()]).ravel()
    if values.size == 0 or values.dtype.kind not in "iuf":
        return None
    return float(values[0])


def _string_field(f: h5py.File, field: str) -> str | None:
    """A string field as ``str``; ``None`` if absent."""
    node = f.get(field)
    return _text(node[()]) if isinstance(node, h5py.Dataset) else None


# ---------------------------------------------------------------------- header fields
def _timestamps_unit_ps(f: h5py.File, path: Path) -> float:
    unit = _scalar(f, "/photon_data/timestamps_specs/timestamps_unit")
    if unit is None or not math.isfinite(unit) or unit <= 0:
        raise CorruptFileError(path, f"timestamps_unit must be a positive number, got {unit}")
    return unit * PS_PER_S


@dataclass(frozen=True)
class _Tcspc:
    """The TCSPC bin (ps) and number of bins of a file's nanotimes."""

    unit_ps: float
    num_bins: int | None

    @property
    def range_ps(self) -> float | None:
        return None if self.num_bins is None else self.num_bins * self.unit_ps


def _tcspc(f: h5py.File, path: Path) -> _Tcspc:
    unit = _scalar(f, "/photon_data/nanotimes_specs/tcspc_unit")
    if unit is None or not math.isfinite(unit) or unit <= 0:
        raise CorruptFileError(path, f"tcspc_unit must be a positive number, got {unit}")
    bins = _scalar(f, "/photon_data/nanotimes_specs/tcspc_num_bins")
    return _Tcspc(unit * PS_PER_S, None if not bins or bins <= 0 else int(bins))


def _nanotime_reach_ps(f: h5py.File, nanotimes: h5py.Dataset, unit_ps: float) -> int:
    """The longest time a nanotime can add, ps: the TCSPC range, else the dtype's range."""
    bins = _scalar(f, "/photon_data/nanotimes_specs/tcspc_num_bins")
    if not bins or bins <= 0:
        bins = float(np.iinfo(nanotimes.dtype).max) + 1
    return math.ceil(bins * unit_ps) + 1


def _laser_period_ps(f: h5py.File) -> float | None:
    """The laser repetition period from measurement_specs or setup, ps; ``None`` for CW."""
    rate = _scalar(f, "/photon_data/measurement_specs/laser_repetition_rate")
    if not rate or rate <= 0:
        node = f.get("/setup/laser_repetition_rates")
        rates = np.asarray(node[()]).ravel() if isinstance(node, h5py.Dataset) else np.zeros(0)
        rates = rates[rates > 0] if rates.dtype.kind in "iuf" else np.zeros(0)
        rate = float(rates[0]) if rates.size else None
    return None if not rate or not math.isfinite(rate) else PS_PER_S / rate


def _acquisition_duration_ps(f: h5py.File) -> int:
    seconds = _scalar(f, "/acquisition_duration")
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        return 0
    return round(seconds * PS_PER_S)


def _detector_table(
    f: h5py.File, detectors: h5py.Dataset | None, path: Path
) -> tuple[list[int], list[str] | None]:
    """Detector ids and labels from /setup/detectors, or ids found in the tags."""
    ids_node = f.get("/setup/detectors/id")
    if isinstance(ids_node, h5py.Dataset):
        ids = np.asarray(ids_node[()]).ravel()
    elif detectors is not None:
        ids = _unique_values(detectors)
    else:
        ids = np.zeros(1, dtype=np.uint8)
    if ids.dtype.kind not in "iu" or (ids.size and (ids.min() < 0 or ids.max() > 255)):
        raise UnsupportedFormatError(path, "detector ids outside 0..255 are not supported")
    labels = None
    label_node = f.get("/setup/detectors/label")
    if isinstance(label_node, h5py.Dataset) and label_node.shape == ids.shape:
        labels = [_text(v) for v in np.asarray(label_node[()]).ravel()]
    return [int(i) for i in ids], labels


def _unique_values(ds: h5py.Dataset) -> np.ndarray:
    """The distinct values of a large integer array, read block by block."""
    found = np.zeros(0, dtype=ds.dtype)
    for start in range(0, ds.shape[0], SCAN_BLOCK):
        found = np.union1d(found, np.unique(ds[start : start + SCAN_BLOCK]))
    return found


def _non_photon_ids(f: h5py.File) -> set[int]:
    specs = f.get("/photon_data/measurement_specs/detectors_specs")
    if not isinstance(specs, h5py.Group):
        return set()
    ids: set[int] = set()
    for name, node in specs.items():
        if _NON_PHOTON.match(name) and isinstance(node, h5py.Dataset):
            ids.update(int(v) for v in np.asarray(node[()]).ravel())
    return ids


def _channel_names(ids: list[int], labels: list[str] | None, roles: list[Role]) -> list[str]:
    """Labels as names; ``sync`` or ``ch<id>`` without one; the id appended to duplicates."""
    names = []
    for k, number in enumerate(ids):
        label = labels[k].strip() if labels is not None else ""
        names.append(label or (spec.SYNC_LABEL if roles[k] == Role.SYNC else f"ch{number}"))
    seen = {name: names.count(name) for name in names}
    return [name if seen[name] == 1 else f"{name}_{ids[k]}" for k, name in enumerate(names)]


def _split_pair(f: h5py.File, channels: ChannelMap) -> tuple[str, str] | None:
    """The HBT pair named by detectors_specs/split_ch1 and split_ch2, if both are detectors."""
    base = "/photon_data/measurement_specs/detectors_specs"
    first, second = _scalar(f, f"{base}/split_ch1"), _scalar(f, f"{base}/split_ch2")
    if first is None or second is None or first == second:
        return None
    if int(first) not in channels or int(second) not in channels:
        return None
    return channels[int(first)].name, channels[int(second)].name


def _foreign_settings(f: h5py.File, unit_ps: float) -> dict[str, object]:
    settings: dict[str, object] = {"timestamps_unit_ps": unit_ps}
    for key, field in (
        ("software", "/identity/software"),
        ("software_version", "/identity/software_version"),
        ("description", "/description"),
    ):
        value = _string_field(f, field)
        if value:
            settings[key] = value
    return settings


# ---------------------------------------------------------------------- tagstream's fields
def _own_metadata(f: h5py.File, path: Path) -> RunMetadata | None:
    node = f.get(f"{spec.TAGSTREAM_GROUP}/{spec.USER_METADATA}")
    if not isinstance(node, h5py.Dataset):
        return None
    raw = node[()]
    crc = node.attrs.get("crc32")  # tagstream's own files since checksums
    if crc is not None and zlib.crc32(bytes(raw)) != int(crc):
        raise CorruptFileError(path, f"{node.name} fails its checksum (the file is damaged)")
    try:
        return RunMetadata.from_dict(json.loads(_text(raw)))
    except (ValueError, KeyError, TypeError, TagstreamError) as exc:
        raise CorruptFileError(path, f"{node.name} cannot be read ({exc})") from exc


def _read_gaps(user: h5py.Group, path: Path, rows: int | None = None) -> np.ndarray:
    """The stored gaps (their first ``rows`` rows when given)."""
    node = user.get(spec.USER_GAPS)
    if node is None:
        return iv.EMPTY
    try:
        gaps = iv.as_intervals(node[()] if rows is None else node[:rows], node.name)
    except BatchError as exc:
        raise CorruptFileError(path, str(exc)) from exc
    if not iv.is_normalized(gaps):
        raise CorruptFileError(path, f"{node.name}: intervals must be sorted and apart")
    return gaps


def _read_truth(user: h5py.Group, path: Path) -> StateTimeline | None:
    group = user.get(spec.USER_TRUTH)
    if group is None:
        return None
    try:
        return StateTimeline(
            names=tuple(_text(v) for v in group["names"][()]),
            starts=np.asarray(group["starts"][()], dtype=np.int64),
            states=np.asarray(group["states"][()]),
            end=int(group["end"][()]),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise CorruptFileError(path, f"{group.name} cannot be read ({exc})") from exc
