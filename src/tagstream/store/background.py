"""A run writer in a thread of its own, so that the disk never holds up acquisition or analysis.

Batches and snapshots go into a queue bounded in bytes; the writer thread appends them and
commits at least every ``flush_every_s`` — also when no data come. The producer waits only when
the queue is full (the disk is slower than the data), which keeps the recording lossless. HDF5
work releases the GIL, so the producer's numba kernels run meanwhile.

An error in the writer thread (a full disk, a bad batch) stops it: the thread commits what it
can and closes the file, then the producer's next call raises that error. A snapshot that does
not fit its series is dropped with a note in :attr:`BackgroundWriter.notes`; the tags go on.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import numpy as np

from ..analysis.series import SeriesSpec, Snapshot
from ..errors import TagstreamError
from ..tags import TagBatch
from .run_writer import RunWriter
from .writer_failure import stop_reason

#: Bytes of tags queued for the writer before the producer waits.
MAX_PENDING_BYTES = 512 * 2**20
#: Notes kept about dropped snapshots (all are counted).
MAX_NOTES = 20


class BackgroundWriter:
    """Runs a :class:`RunWriter` in its own thread.

    Parameters
    ----------
    writer
        The open run writer; from now on only this object's thread touches it.
    max_pending_bytes
        Queue bound, bytes of tag arrays.

    The arrays of a batch handed to :meth:`append` must not be changed afterwards.
    """

    def __init__(self, writer: RunWriter, max_pending_bytes: int = MAX_PENDING_BYTES):
        self.writer = writer
        self.path = writer.path
        self._max_bytes = int(max_pending_bytes)
        self._queue: collections.deque = collections.deque()
        self._pending_bytes = 0
        self._cond = threading.Condition()
        self._error: BaseException | None = None
        self._result: Path | None = None
        self.notes: list[str] = []
        self.dropped_snapshots = 0
        self._thread = threading.Thread(target=self._work, name="tagstream-writer", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ producer side
    def append(self, batch: TagBatch, counts: np.ndarray | None = None) -> None:
        """Queue a batch (with its tags per channel number, when counted already); waits while
        the queue is full. Raises the writer's error, if any."""
        self._put(("batch", (batch, counts)), _nbytes(batch))

    def add_snapshot(self, snapshot: Snapshot) -> None:
        """Queue a result-series snapshot."""
        self._put(("snapshot", snapshot), 0)

    def add_series(self, specs: Sequence[SeriesSpec]) -> None:
        """Queue the creation of result series (before their snapshots are queued)."""
        self._put(("series", tuple(specs)), 0)

    def finish(self, duration_ps: int | None = None) -> Path:
        """Write everything queued, complete the file and wait for the thread; the file's
        path. Raises the writer's error, if any."""
        self._put(("finish", duration_ps), 0, check=False)
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._result is None:
            raise TagstreamError(f"{self.path}: the writer was stopped, not finished")
        return self._result

    def stop(self, reason: str) -> None:
        """Write everything queued, mark the file stopped with ``reason`` and wait for the
        thread. Raises the writer's error, if any."""
        if self._thread.is_alive():
            self._put(("stop", reason), 0, check=False)
            self._thread.join()
        if self._error is not None:
            raise self._error

    @property
    def pending_bytes(self) -> int:
        """Bytes of tags waiting to be written."""
        return self._pending_bytes

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._thread.is_alive():
            return
        if exc_type is None:
            self.finish()
            return
        try:
            self.stop(stop_reason(exc))
        except Exception:  # the exception in flight says more
            pass

    def _put(self, item: tuple, nbytes: int, check: bool = True) -> None:
        with self._cond:
            while (
                self._error is None
                and self._thread.is_alive()
                and self._queue
                and self._pending_bytes + nbytes > self._max_bytes
            ):
                self._cond.wait(0.5)
            if self._error is not None and check:
                raise self._error
            if not self._thread.is_alive():
                if check:
                    raise TagstreamError(f"{self.path}: the writer has already stopped")
                return
            self._queue.append((item, nbytes))
            self._pending_bytes += nbytes
            self._cond.notify_all()

    # ------------------------------------------------------------------ writer thread
    def _work(self) -> None:
        writer = self.writer
        try:
            while True:
                item = self._next(writer)
                if item is None:
                    writer.commit_if_due()
                    continue
                kind, value = item
                if kind == "batch":
                    writer.append(*value)
                elif kind == "snapshot":
                    try:
                        writer.add_snapshot(value)
                    except TagstreamError as exc:  # checked before anything is written
                        self.dropped_snapshots += 1
                        if len(self.notes) < MAX_NOTES:
                            self.notes.append(f"snapshot dropped: {exc}")
                    writer.commit_if_due()
                elif kind == "series":
                    writer.add_series(value)
                elif kind == "finish":
                    self._result = writer.finish(duration_ps=value)
                    return
                else:
                    writer.stop(value)
                    return
        except BaseException as exc:  # handed to the producer
            with self._cond:
                self._error = exc
                self._queue.clear()
                self._pending_bytes = 0
                self._cond.notify_all()
            if writer.open:
                try:
                    writer.stop(stop_reason(exc))
                except Exception:  # the first error is the one to report
                    pass

    def _next(self, writer: RunWriter) -> tuple | None:
        """The next item, or ``None`` when a commit falls due first."""
        with self._cond:
            while not self._queue:
                wait = writer.flush_every_s - (time.monotonic() - writer.last_commit)
                if wait <= 0:
                    return None
                self._cond.wait(wait)
            item, nbytes = self._queue.popleft()
            self._pending_bytes -= nbytes
            self._cond.notify_all()
            return item


def _nbytes(batch: TagBatch) -> int:
    n = batch.timestamps.nbytes + batch.channels.nbytes
    return n + (batch.nanotimes.nbytes if batch.nanotimes is not None else 0)
