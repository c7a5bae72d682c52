"""Where the web view's results come from: a live pipeline in this process
(:class:`LiveFeed`), or a run file that another process writes or wrote (:class:`FileFeed`).

Both give the run's result series as recorded so far (the last snapshot of each series is the
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

from ..analysis.series import LatestSeries, RecordedSeries, Snapshot
from ..analysis.summary_settings import SummarySettings
from ..errors import TagstreamError
from ..formats import photon_hdf5_spec as spec
from ..pipeline.live_run import LivePipeline
from ..pipeline.result_series import read_results
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


class LiveFeed:
    """The results of a live run in this process, as its workers send them.

    Parameters
    ----------
    pipeline
        The run (before or while it runs).
    """

    mode = "live"

    def __init__(self, pipeline: LivePipeline):
        self.pipeline = pipeline
        self.settings: SummarySettings = pipeline.analysis
        self.title = str(pipeline.output.path)
        self._series = {s.name: LatestSeries(s) for s in pipeline.specs}
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self.snapshots = 0
        pipeline.results.listeners.append(self._take)

    def _take(self, snapshots: list[Snapshot]) -> None:
        with self._lock:
            for snapshot in snapshots:
                followed = self._series.get(snapshot.series)
                if followed is not None:
                    followed.add(snapshot)
            self.snapshots += 1
        self._changed.set()

    def wait(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for new results; whether there are some."""
        changed = self._changed.wait(timeout_s)
        self._changed.clear()
        return changed

    def series(self, k: int | None = None) -> dict[str, RecordedSeries]:
        """Every series as recorded so far (``k`` is for files; a live view shows the latest)."""
        with self._lock:
            recorded = {name: s.recorded() for name, s in self._series.items()}
        return {name: r for name, r in recorded.items() if r is not None}

    def status(self) -> dict[str, Any]:
        """Time, rates (cps by channel), lag, losses, gaps, file size and free disk, now."""
        s = self.pipeline.status()
        lag = [v for v in (s["lag_s"], s.get("source_lag_s")) if v is not None]
        return {
            "state": "stopping" if s["stopping"] else "running",
            "t_s": s["t_s"],
            "tags": s["tags"],
            "rates_cps": s["rates_cps"],
            "lag_s": max(lag) if lag else None,
            "source_warning": s.get("source_warning"),
            "missed": s["missed"],
            "analysis_gaps": s["analysis_gaps"],
            "restarts": s["restarts"],
            "writer_queue_mb": s["writer_queue_mb"],
            **disk_status(self.pipeline.output.path),
        }

    def control(self, op: str) -> str:
        """Do what the controlling page asked (``stop``); what was done, in words.

        Raises
        ------
        TagstreamError
            An operation this feed does not offer.
        """
        if op == "stop":
            self.pipeline.stop("stopped from the web view")
            return "stopping: the run file is being completed"
        raise TagstreamError(f"the live view offers no {op!r}")


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
        self._stamp: tuple[float, int] | None = None
        self._state = "unknown"
        self._next_poll = 0.0
        self._lock = threading.Lock()
        self._poll(force=True)
        if not self._read:
            raise TagstreamError(f"{self.path}: no result series (a run file of `tagstream run`, "
                                 "`replay` or `simulate` holds them)")  # fmt: skip

    @property
    def snapshots(self) -> int:
        """Snapshots of the longest series so far."""
        return max((len(s) for s in self._read.values()), default=0)

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
        with self._lock:
            self._stamp, self._read, self._state = stamp, read, state
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

    def series(self, k: int | None = None) -> dict[str, RecordedSeries]:
        """Every series as it was at snapshot ``k`` of the longest one (default: the last)."""
        with self._lock:
            read = dict(self._read)
        if k is None:
            return {name: s for name, s in read.items() if len(s)}
        longest = max(read.values(), key=len)
        k = min(max(int(k), 0), len(longest) - 1)
        t_end = int(longest.covered_ps[k, 1])
        out = {}
        for name, s in read.items():
            upto = [i for i in range(len(s)) if s.covered_ps[i, 1] <= t_end]
            if upto:
                out[name] = s.until(upto[-1])
        return out

    def status(self) -> dict[str, Any]:
        """The file's state (``recording``, ``complete``, ``stopped: ...``), time covered and
        rates of the last trace bins, size and free disk."""
        series = self.series()
        t_s = None
        covered = [s.covered_ps[-1] for s in series.values() if len(s)]
        if covered:
            t_s = max(int(c[1]) - int(c[0]) for c in covered) * 1e-12
        return {
            "state": self._state,
            "t_s": t_s,
            "rates_cps": trace_rates(series.get("trace")),
            "snapshots": self.snapshots,
            **disk_status(self.path),
        }

    def control(self, op: str) -> str:
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
