"""Writing a run file while the run goes on: crash-safe, readable by others meanwhile.

The file is created under its final name and opened for single-writer / multiple-reader access
(SWMR, HDF5 ≥ 1.10 file format): another process can open it with ``h5py.File(path, "r",
swmr=True)`` (``ts.open`` does so by itself) and read everything committed so far.

A *commit* writes every appended tag, the gaps and the snapshots to the file, flushes, and then
records in ``/user/tagstream/committed`` how many of each are final and the span they cover
(with ``/setup/detectors/counts`` and ``/acquisition_duration``), and flushes again. It happens
at least every ``flush_every_s`` while batches come, and when the run ends. A writer killed at
any moment, even with SIGKILL, leaves a file that opens (with SWMR read access, as the HDF5
superblock still says "open for writing") and holds every tag up to its last commit.

A write error (disk full, quota, I/O error) stops the writer: the file keeps what the last
commit made final and :class:`~tagstream.errors.WriteError` says what went wrong, where. HDF5
cannot close a file after a failed write (it retries, fails again, and crashes at exit), so the
writer first points HDF5's file descriptor at ``/dev/null``: the file on disk then holds exactly
what was written before the error — the state of a writer killed at that moment, which the SWMR
write order keeps readable — and HDF5 closes cleanly.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import h5py
import numpy as np

from ..analysis.series import SeriesSpec, Snapshot
from ..errors import OutputExistsError, TagstreamError, WriteError
from ..formats import photon_hdf5_spec as spec
from ..formats.timeline import StateTimeline
from ..tags import RunMetadata, TagBatch
from ..tags.metadata import N_CHANNELS
from ..tags.units import PS_PER_S
from . import layout
from .columns import ChunkedColumns
from .packing import DEFAULT_COMPRESSION, check_compression, chunk_codec
from .paths import check_target
from .results import SeriesWriter
from .writer_checks import check_batch, check_metadata
from .writer_failure import abandon, stop_reason, write_error
from .writer_gaps import GapRows

FLUSH_EVERY_S = 1.0
#: HDF5 file format bounds: the 1.10 format is the oldest that allows SWMR, and what HDF5 1.10
#: and later (PyTables, phconvert, MATLAB) read.
LIBVER = ("v110", "v110")


def write_run(
    path: str | os.PathLike,
    batches: Iterable[TagBatch],
    metadata: RunMetadata,
    *,
    force: bool = False,
    duration_ps: int | None = None,
    truth: StateTimeline | None = None,
    config_text: str | None = None,
    progress: Callable[[int], object] | None = None,
    description: str | None = None,
    compression: str = DEFAULT_COMPRESSION,
) -> Path:
    """Write consecutive batches to a new run file, as they come (in this thread).

    Parameters
    ----------
    path
        The file to create.
    batches
        Consecutive tag batches (a run's ``batches()``); time between two spans becomes a gap.
    metadata
        The run's metadata, stored as JSON and used for ``/setup``.
    force
        Replace an existing file.
    duration_ps
        Acquisition duration to record, ps; defaults to the span the batches cover.
    truth
        The simulator's state timeline, stored under ``/user/tagstream/truth``.
    config_text
        The run's configuration, stored verbatim.
    progress
        Called with the end of each batch's span (ps) once the batch is written.
    description
        The file's ``/description``; a default names the source and mode.
    compression
        One of :data:`~tagstream.store.packing.COMPRESSIONS`.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    RunFileError
        The file exists (without ``force``) or the folder is missing.
    WriteError
        The file cannot be written; it keeps what was committed.
    BatchError
        A batch overlaps the previous one, has the wrong mode or an unmapped channel; the file
        keeps the batches before it.
    """
    with RunWriter(
        path,
        metadata,
        force=force,
        config_text=config_text,
        description=description,
        compression=compression,
        truth=truth,
    ) as writer:
        for batch in batches:
            writer.append(batch)
            if progress is not None:
                progress(batch.t_end)
        return writer.finish(duration_ps=duration_ps)


class RunWriter:
    """A run file being written batch by batch (see the module docstring).

    Use as a context manager: leaving the block normally completes the file; an exception
    stops it with the exception as the reason, keeping what was written.

    Parameters
    ----------
    path, metadata, force, config_text, description, compression, truth
        As for :func:`write_run`.
    series
        The result series the run will append snapshots to.
    flush_every_s
        Commit after an append when this much time (s) has passed since the last commit.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        metadata: RunMetadata,
        *,
        force: bool = False,
        config_text: str | None = None,
        description: str | None = None,
        compression: str = DEFAULT_COMPRESSION,
        truth: StateTimeline | None = None,
        series: Sequence[SeriesSpec] = (),
        flush_every_s: float = FLUSH_EVERY_S,
    ):
        self.path = check_target(path, force)
        self.metadata = metadata
        self.flush_every_s = float(flush_every_s)
        check_compression(compression)
        check_metadata(metadata)
        self._nanotime_dtype = layout.nanotime_dtype(metadata)
        self._ids = np.array([c.number for c in metadata.channels], dtype=np.uint8)
        self._known = np.zeros(N_CHANNELS, dtype=bool)
        self._known[self._ids] = True
        # what commits record: rows appended, span [t_begin, t_end), tags per channel; replaced
        # as a whole once a batch is in, so that an interrupted append leaves it consistent
        self._done = _Done(0, None, None, np.zeros(N_CHANNELS, dtype=np.int64))
        self._final_duration_ps: int | None = None
        self._committed_span: tuple[int, int] | None = None
        self._failed: BaseException | None = None
        names = [s.name for s in series]
        if len(set(names)) != len(names):
            raise TagstreamError(f"result series named twice: {names}")
        self._file = _create(self.path, force)
        try:
            self._layout(metadata, description, compression, config_text, truth, series)
            self._file.swmr_mode = True
        except BaseException as exc:
            self._abandon()
            self.path.unlink(missing_ok=True)  # it holds nothing yet
            raise write_error(self.path, exc, "cannot create it", None) from exc
        self._last_commit = time.monotonic()

    def _layout(self, metadata, description, compression, config_text, truth, series) -> None:
        f = self._file
        self._duration = layout.write_root(f, description or layout.default_description(metadata))
        layout.write_identity(f, self.path)
        self._detector_counts = layout.write_setup(f, metadata)
        data = layout.create_photon_data(f, metadata, compression)
        self._columns = ChunkedColumns(data, chunk_codec(compression))
        self._compression = compression
        names = [s.name for s in series]
        user = layout.write_user(f, metadata, config_text, truth, names)
        self._committed, self._status = user["committed"], user["status"]
        self._gaps = GapRows(user["gaps"])
        self._series = {}
        if series:
            results = layout.results_group(f)
            self._series = {s.name: SeriesWriter(results, s, compression) for s in series}

    # ------------------------------------------------------------------ writing
    @property
    def open(self) -> bool:
        """Whether the run file is still open for writing."""
        return self._file is not None

    @property
    def last_commit(self) -> float:
        """``time.monotonic()`` of the last commit."""
        return self._last_commit

    @property
    def tags(self) -> int:
        """Tags appended so far."""
        return self._done.rows

    def append(self, batch: TagBatch, counts: np.ndarray | None = None) -> None:
        """Append one batch; it must begin where (or after) the previous one ended.

        ``counts`` are its tags per channel number when the caller counted them already (the
        live pipeline does, for its rates). The writer keeps references to the batch's arrays
        only until it returns.
        """
        self._writable()
        done = self._done
        per_channel = check_batch(
            batch, self.metadata, self._nanotime_dtype, self._known, done.t_end, counts
        )
        t_begin = batch.t_begin if done.t_begin is None else done.t_begin
        try:
            if done.t_end is not None and batch.t_begin > done.t_end:
                self._gaps.add(np.array([[done.t_end, batch.t_begin]], dtype=np.int64))
            self._gaps.add(batch.gaps)
            if len(batch):
                columns = {"timestamps": batch.timestamps, "detectors": batch.channels}
                if batch.nanotimes is not None:
                    nt = batch.nanotimes
                    columns["nanotimes"] = nt.astype(self._nanotime_dtype, copy=False)
                self._columns.append(columns)
        except (OSError, RuntimeError) as exc:
            raise self._fail(exc) from exc
        self._done = _Done(self._columns.rows, t_begin, batch.t_end, done.counts + per_channel)
        self.commit_if_due()

    def add_snapshot(self, snapshot: Snapshot) -> None:
        """Append one snapshot to its result series (final at the next commit)."""
        self._writable()
        writer = self._series.get(snapshot.series)
        if writer is None:
            raise TagstreamError(f"no result series {snapshot.series!r} in {self.path}")
        try:
            writer.append(snapshot)
        except (OSError, RuntimeError) as exc:
            raise self._fail(exc) from exc

    def add_series(self, specs: Sequence[SeriesSpec]) -> None:
        """Create result series while the run goes on (each counts its own commits: the file's
        ``committed`` record was laid out at the start); names must be new (TagstreamError)."""
        self._writable()
        names = [s.name for s in specs]
        if len(set(names)) != len(names) or set(names) & set(self._series):
            raise TagstreamError(f"{self.path}: result series {names} exist already")
        try:
            group, compression = layout.results_group(self._file), self._compression
            self._series |= {s.name: SeriesWriter(group, s, compression, True) for s in specs}
        except (OSError, RuntimeError) as exc:
            raise self._fail(exc) from exc

    def commit_if_due(self) -> None:
        """Commit when :attr:`flush_every_s` has passed since the last commit."""
        if self.open and time.monotonic() - self._last_commit >= self.flush_every_s:
            self.commit()

    def commit(self, status: str | None = None) -> None:
        """Write everything appended and record it as final (see the module docstring).

        Parameters
        ----------
        status
            New status of the file, recorded with the rest.
        """
        self._writable()
        f = self._file
        done = self._done
        span = (0, 0) if done.t_begin is None else (done.t_begin, done.t_end)
        duration_ps = span[1] - span[0]
        if self._final_duration_ps is not None:
            duration_ps = self._final_duration_ps
        try:
            self._columns.flush()
            gaps = self._gaps.write_pending()
            f.flush()
            counts = [n for n in (s.commit() for s in self._series.values()) if n is not None]
            self._committed[...] = np.asarray([done.rows, gaps, *span, *counts], dtype=np.int64)
            self._detector_counts[...] = done.counts[self._ids]
            self._duration[()] = duration_ps / float(PS_PER_S)
            if status is not None:
                self._status[()] = layout.status_text(status)
            f.flush()
        except (OSError, RuntimeError) as exc:
            raise self._fail(exc) from exc
        self._committed_span = span
        self._last_commit = time.monotonic()

    def finish(self, *, duration_ps: int | None = None) -> Path:
        """Commit, mark the file complete and close it.

        Parameters
        ----------
        duration_ps
            Acquisition duration to record, ps; defaults to the span covered.
        """
        self._writable()
        if duration_ps is not None:
            self._final_duration_ps = int(duration_ps)
        self.commit(status=spec.STATUS_COMPLETE)
        self._close_file()
        return self.path

    def stop(self, reason: str) -> None:
        """Commit what was appended, mark the file stopped with ``reason`` and close it.

        Raises :class:`WriteError` if the file could not be written (it is closed anyway).
        """
        if not self.open:
            return
        self.commit(status=f"{spec.STATUS_STOPPED}: {reason}")
        self._close_file()

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            if self.open:
                self.finish()
            return
        if self.open:
            try:
                self.stop(stop_reason(exc))
            except WriteError:
                pass  # the exception in flight says more

    # ------------------------------------------------------------------ helpers
    def _writable(self) -> None:
        if self._failed is not None:
            raise self._failed
        if self._file is None:
            raise TagstreamError(f"{self.path}: the file is already closed")

    def _fail(self, exc: BaseException) -> BaseException:
        """Stop writing after ``exc``: close the file, keeping what is on disk, and return the
        error to raise."""
        if self._failed is None:
            self._failed = write_error(self.path, exc, "cannot write", self._committed_span)
            self._abandon()
        return self._failed

    def _abandon(self) -> None:
        """Close the file after a failure without writing anything more to it."""
        f, self._file = self._file, None
        if f is not None:
            abandon(f)

    def _close_file(self) -> None:
        try:
            self._file.close()
        except (OSError, RuntimeError) as exc:
            raise self._fail(exc) from exc
        self._file = None


@dataclass(frozen=True)
class _Done:
    """What the appended batches amount to."""

    rows: int
    t_begin: int | None
    t_end: int | None
    counts: np.ndarray  # tags per channel number


def _create(path: Path, force: bool) -> h5py.File:
    try:
        return h5py.File(path, "w" if force else "w-", libver=LIBVER)
    except FileExistsError:
        raise OutputExistsError(path) from None
    except OSError as exc:
        if path.exists() and not force:
            raise OutputExistsError(path) from None
        raise WriteError(path, f"cannot create it: {exc.strerror or exc}") from exc
