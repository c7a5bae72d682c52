"""Where the web view's results come from: a live run (:class:`~.remote.RemoteFeed`, fed by
the run's process) or a run file that another process writes or wrote (:class:`FileFeed`).

Each gives the run's result series as recorded so far (the last snapshot of each series is the
one a panel shows), its status, and a way to wait for new results.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..analysis.series import RecordedSeries
from ..analysis.summary_settings import SummarySettings
from ..errors import TagstreamError
from ..formats import photon_hdf5_spec as spec
from ..pipeline.result_series import read_results
from ..pipeline.segments import RUN_SERIES
from ..sources.hdf5_file import open_hdf5

#: How often a followed run file is read again, s.
POLL_S = 0.25


def disk_status(path: Path | None) -> dict[str, float | None]:
    """The run file's size (MB) and the free space beside it (GB)."""
    size = free = None
    if path is not None:
        try:
            size = os.path.getsize(path) / 1e6
        except OSError:
            pass
        try:
            free = shutil.disk_usage(Path(path).resolve().parent).free / 1e9
        except OSError:
            pass
    return {"file_mb": size, "free_gb": free}


class FileFeed:
    """The result series of a run file: followed while another process writes it, or browsed
    snapshot by snapshot once it is complete.

    Parameters
    ----------
    path
        The run file (ours: it holds result series).

    Raises
    ------
    TagstreamError
        Not a run file with result series (checked once, at the start).
    """

    mode = "file"

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.title = str(self.path)
        self.settings = SummarySettings()
        self._read: dict[str, RecordedSeries] = {}
        self._segments: dict[int, dict[str, RecordedSeries]] = {}
        self._frames: list[tuple[int, int]] = []  # (segment, end of its snapshot), ps
        self._own: dict[str, RecordedSeries] = {}
        self._has_series = False
        self._stamp: tuple[float, int] | None = None
        self._state = "unknown"
        self._next_poll = 0.0
        self._lock = threading.Lock()
        self._poll(force=True)
        if not self._has_series:
            raise TagstreamError(f"{self.path}: no result series (a run file of `tagstream run`, "
                                 "`replay` or `simulate` holds them)")  # fmt: skip

    @property
    def snapshots(self) -> int:
        """Snapshots of the run so far, every analysis segment's one after another."""
        return len(self._frames)

    def _poll(self, force: bool = False) -> bool:
        """Read the file again if it changed; whether it did."""
        try:
            st = self.path.stat()
        except OSError as exc:
            raise TagstreamError(f"{self.path}: {exc.strerror or exc}") from None
        stamp = (st.st_mtime, st.st_size)
        if stamp == self._stamp and not force:
            return False
        before = self.snapshots
        try:
            read = read_results(self.path)
            state = _file_state(self.path)
        except (OSError, TagstreamError):
            if force:
                raise
            return False  # caught mid-write: read it at the next poll
        segments, frames = {}, []
        for number in read.segment_numbers():
            series = {n: s for n, s in read.segment_series(number).items() if n not in RUN_SERIES}
            ends = [s.covered_ps[:, 1] for s in series.values() if len(s)]
            if ends:  # a frame per time snapshotted (a kind's last one may repeat the time)
                segments[number] = series
                frames += [(number, int(end)) for end in np.unique(np.concatenate(ends))]
        own = {n: read.series[n] for n in RUN_SERIES if n in read.series}
        with self._lock:
            self._stamp, self._state = stamp, state
            self._segments, self._frames, self._own = segments, frames, own
            self._read = {n: s for n, s in read.series.items() if len(s)}
            self._has_series = bool(read.series)
        return self.snapshots != before

    def wait(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for new snapshots in the file; whether there are some."""
        end = time.monotonic() + timeout_s
        while True:
            if self._poll():
                return True
            left = end - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(POLL_S, left))

    def series(
        self, k: int | None = None, before_ps: int | None = None
    ) -> dict[str, RecordedSeries]:
        """The series of the analysis segment that snapshot ``k`` of the run belongs to (by the
        measurements' names; default: the last snapshot) and the run's own, as they were then;
        or the segment's as they were at ``before_ps`` before that."""
        with self._lock:
            frames, segments, own = self._frames, self._segments, self._own
        if not frames:
            return {}
        k = len(frames) - 1 if k is None else min(max(int(k), 0), len(frames) - 1)
        number, t_end = frames[k]
        chosen = dict(segments[number])
        if before_ps is None:
            chosen.update(own)
        else:
            t_end = min(t_end, int(before_ps))
        out = {}
        for name, s in chosen.items():
            upto = np.flatnonzero(s.covered_ps[:, 1] <= t_end)
            if len(upto):
                out[name] = s.until(int(upto[-1]))
        return out

    def status(self) -> dict[str, Any]:
        """The file's state (``recording``, ``complete``, ``stopped: ...``), the time its
        results cover, the count rates of its last second of trace, size and free disk."""
        with self._lock:
            read = dict(self._read)
        t_s = None
        if read:
            start = min(int(s.covered_ps[0, 0]) for s in read.values())
            t_s = (max(int(s.covered_ps[-1, 1]) for s in read.values()) - start) * 1e-12
        trace = self.series().get("trace")
        bins = 1 if trace is None else max(1, round(1e12 / int(trace.attrs["bin_ps"])))
        return {
            "state": self._state,
            "t_s": t_s,
            "rates_cps": trace_rates(trace, bins),
            "snapshots": self.snapshots,
            **disk_status(self.path),
        }

    def control(self, op: str, args: dict[str, Any]) -> str:
        """A file view has no controls.

        Raises
        ------
        TagstreamError
            Always.
        """
        raise TagstreamError("a run file's view is read-only")


def trace_rates(trace: RecordedSeries | None, bins: int = 1) -> dict[str, float]:
    """Count rate per trace channel over its last full ``bins`` bins, cps."""
    if trace is None or not len(trace):
        return {}
    counts, exposure = trace.row_arrays["counts"], trace.row_arrays["exposure_ps"]
    if not len(exposure):
        return {}
    live_s = float(exposure[-bins:].sum()) * 1e-12
    names = str(trace.attrs["channels"]).split(",")
    sums = counts[-bins:].sum(axis=0)
    rates = sums / live_s if live_s > 0 else 0.0 * sums
    return {name: float(r) for name, r in zip(names, rates, strict=False)}


def _file_state(path: Path) -> str:
    """The run file's status (``recording`` while it is written, ``complete``, ``stopped: ...``)."""
    with open_hdf5(path) as f:
        node = f.get(f"{spec.TAGSTREAM_GROUP}/{spec.USER_STATUS}")
        value = node[()] if isinstance(node, h5py.Dataset) else None
    if isinstance(value, bytes):
        value = value.decode()
    return "unknown" if value is None else str(value)
