"""Repairing a run file whose writer died: check what it committed, clear "open for writing".

A writer killed with SIGKILL (or a power cut) leaves a run file whose HDF5 superblock still
says "open for writing": tagstream reads it (for SWMR), but h5py without ``swmr=True``, h5dump,
HDFView and MATLAB refuse it. :func:`repair_run`

1. refuses a file another process still has open or still changes (a live writer);
2. reads every committed tag (the writer's last commit, ``/user/tagstream/committed``), which
   verifies the Fletcher-32 checksum of every chunk it lies in — a damaged file is reported, as
   ``analyze`` reports it, and left untouched;
3. clears the superblock's flags (:mod:`.superblock`), extending a file that ends before the
   end its superblock records with zeros;
4. marks a run still ``recording`` as ``stopped: ...`` with what it kept.

Nothing is removed: rows written after the last commit stay in the arrays (readers go by the
committed count), so the repair loses no data.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import h5py

from ..errors import MissingFileError, RunFileError
from ..formats import photon_hdf5_spec as spec
from ..formats.hdf5_superblock import read_superblock
from ..sources.hdf5_file import HDF5Run
from ..tags import format_time
from . import layout
from .run_writer import FLUSH_EVERY_S
from .superblock import clear_write_flags

#: A file changed less than this long ago (s) is watched for a live writer before a repair.
RECENT_S = 10.0
#: How long it is watched, s: longer than a writer waits between commits.
WATCH_S = 1.5 * FLUSH_EVERY_S


class StillWrittenError(RunFileError):
    """The file is open in, or being changed by, another process."""


@dataclass(frozen=True)
class RepairReport:
    """What :func:`repair_run` found and did.

    Attributes
    ----------
    path
        The file.
    was_open
        Whether the superblock said "open for writing" (else nothing was read or changed).
    tags
        Tags the file holds (committed ones in tagstream's files), all read back.
    checksums
        Whether the tag arrays carry Fletcher-32 checksums (then every chunk was verified).
    span_ps
        The time they cover, ps.
    status_before, status_after
        tagstream's status of the run (``None`` for other files).
    extended_bytes
        Zeros appended to reach the end the superblock records.
    """

    path: Path
    was_open: bool
    tags: int
    checksums: bool
    span_ps: int
    status_before: str | None
    status_after: str | None
    extended_bytes: int

    def summary(self) -> str:
        """One line saying what the file keeps and what was done."""
        if not self.was_open:
            return f"{self.path}: not marked open for writing, nothing to repair"
        kept = f"{self.tags} tags over {format_time(self.span_ps)}, all read back"
        kept += ", every chunk's checksum verified" if self.checksums else " (no checksums)"
        done = f"{self.path}: cleared the open-for-writing mark; it keeps {kept}"
        if self.extended_bytes:
            done += f"; {self.extended_bytes} bytes the writer had reserved added as zeros"
        if self.status_after != self.status_before:
            done += f"; status now {self.status_after!r}"
        return done


def repair_run(path: str | os.PathLike) -> RepairReport:
    """Check the committed part of a run file left open by its writer and clear the mark (see
    the module docstring).

    Raises
    ------
    MissingFileError
        No such file.
    StillWrittenError
        Another process has it open or is changing it.
    CorruptFileError
        The committed part is damaged (the file is left as it was).
    RunFileError
        Not an HDF5 file of format 1.10 or later.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path, "no such file")
    try:
        block = read_superblock(path)
    except OSError as exc:
        raise RunFileError(path, f"cannot read it ({exc.strerror or exc})") from exc
    if block is None or not block.open_for_writing:
        with HDF5Run(path) as run:  # it is an HDF5 run file, which HDF5 opens as it is
            return RepairReport(path, False, 0, False, 0, run.status, run.status, 0)
    _refuse_live_writer(path)
    with HDF5Run(path) as run:  # every committed chunk read, so checked
        tags = sum(len(batch) for batch in run.batches())
        span_ps, status = run.t_end - run.t_begin, run.status
        checksums = all(h5py.h5z.FILTER_FLETCHER32 in _filter_ids(ds) for ds in run._tag_datasets())
    size = path.stat().st_size
    clear_write_flags(path)
    extended = path.stat().st_size - size
    after = status
    if status == spec.STATUS_RECORDING:
        after = (
            f"{spec.STATUS_STOPPED}: repaired by tagstream repair after its writer ended "
            f"without closing it; kept the last commit, {tags} tags over {format_time(span_ps)}"
        )
        _set_status(path, after)
    with h5py.File(path, "r"):  # plain HDF5 opens it now
        pass
    return RepairReport(path, True, tags, checksums, span_ps, status, after, extended)


def _filter_ids(ds: h5py.Dataset) -> list[int]:
    plist = ds.id.get_create_plist()
    return [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]


def _set_status(path: Path, status: str) -> None:
    with h5py.File(path, "r+") as f:
        node = f[f"{spec.TAGSTREAM_GROUP}/{spec.USER_STATUS}"]
        node[()] = layout.status_text(status)


def _refuse_live_writer(path: Path) -> None:
    """Raise :class:`StillWrittenError` when another process has ``path`` open (Linux) or
    changes it while watched."""
    holder = _process_holding(path)
    if holder is not None:
        raise StillWrittenError(
            path, f"process {holder} has it open (still being written?); repair it once it ends"
        )
    before = path.stat()
    if time.time() - before.st_mtime > RECENT_S:
        return
    time.sleep(WATCH_S)
    after = path.stat()
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise StillWrittenError(path, "it is still being written; repair it once its writer ends")


def _process_holding(path: Path) -> int | None:
    """The id of another process with ``path`` open, where ``/proc`` tells (Linux)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    target = path.resolve()
    me = os.getpid()
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if Path(os.readlink(fd)) == target:
                    return int(entry.name)
        except OSError:  # gone, or not ours to look at
            continue
    return None
