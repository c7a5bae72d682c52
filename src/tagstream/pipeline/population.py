"""Many run files analysed on Dask (``distributed``), one row each: a local cluster on this
machine, or an existing scheduler (a lab server, an HPC allocation from dask-jobqueue)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..analysis.summary_settings import SummarySettings
from ..errors import TagstreamError
from .population_paths import run_files
from .population_rows import file_row, file_sha256, settings_sha256
from .population_table import check_table_target, merged, read_table, write_table

#: Seconds between rewrites of the table while a batch runs (what is done is kept if it stops).
SAVE_EVERY_S = 10.0
#: How often a file's task is tried again after an error in its worker (a worker that dies is
#: handled by Dask itself: its tasks go to another worker).
RETRIES = 1
#: Analysis threads per file: a batch runs one file per worker thread (a local cluster: one
#: per core), each analysed on one thread.
THREADS_PER_FILE = 1


@dataclass
class BatchProgress:
    """How far a batch is: files in all, rows made, rows that are errors, files already done."""

    total: int
    made: int = 0
    failed: int = 0
    skipped: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)


def population(
    paths: Sequence[str | os.PathLike],
    output: str | os.PathLike | None = None,
    settings: SummarySettings | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    force: bool = False,
    progress: Callable[[BatchProgress], None] | None = None,
) -> list[dict[str, Any]]:
    """Analyse many run files in parallel: one row per file, the summary of ``analyze --json``
    flattened (``g2.g2_zero``, ``lifetime.tau_ns.0``, ...) with an ``error`` column.

    Parameters
    ----------
    paths
        Run files, folders (searched for run files) and glob patterns.
    output
        The table to write, ``.parquet`` or ``.csv``. When it holds an earlier batch's rows,
        files already done (same content hash and settings) are not analysed again.
    settings
        The ``[analysis]`` settings (default: the defaults).
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``); ``None`` starts a local
        cluster of ``workers`` processes (default: one per core).
    force
        Analyse every given file again (the table's rows of other files stay), and overwrite
        ``output`` even if it is not a table of ours.
    progress
        Called with a :class:`BatchProgress` after each file.

    Returns
    -------
    list of dict
        The rows of the table: earlier rows of other files, then the given files' in the
        order given.

    Notes
    -----
    A local cluster starts worker processes: a script that calls this at its top level needs
    the ``if __name__ == "__main__":`` guard of Python's multiprocessing.
    """
    settings = settings or SummarySettings()
    out = None if output is None else Path(output).expanduser()
    if out is not None:
        check_table_target(out)
    files = [str(p) for p in run_files(paths)]
    earlier = [] if out is None else read_table(out, force)
    key = settings_sha256(settings)
    # a row is done for the same file, content and settings (a file that failed fails again
    # unless it changed; a task lost on the cluster has no content hash and is tried again)
    done = set() if force else {(r.get("file"), r.get("content_sha256"), r.get("settings_sha256"))
                                for r in earlier if r.get("content_sha256")}  # fmt: skip
    state = BatchProgress(total=len(files))
    with _client(scheduler, workers) as client:
        todo, digests = _not_done(client, files, key, done, state) if done else (files, None)
        if progress is not None:
            progress(state)
        task = {"settings": settings, "settings_key": key, "threads": THREADS_PER_FILE,
                "pure": False, "retries": RETRIES}  # fmt: skip
        futures = client.map(file_row, todo, digests or [None] * len(todo), **task)
        paths = {f.key: path for f, path in zip(futures, todo, strict=True)}
        saved = time.monotonic()
        try:
            from distributed import as_completed

            for future in as_completed(futures):
                row = _row(client, future, paths[future.key], task)
                state.rows.append(row)
                state.made += 1
                state.failed += row["error"] is not None
                if progress is not None:
                    progress(state)
                if out is not None and time.monotonic() - saved > SAVE_EVERY_S:
                    write_table(out, merged(earlier, state.rows))
                    saved = time.monotonic()
        finally:  # what is done is kept, also when the batch is stopped
            rows = merged(earlier, _in_order(state.rows, files))
            if out is not None and (state.rows or not out.exists()):
                write_table(out, rows)
    return rows


def _not_done(
    client: Any, files: list[str], key: str, done: dict, state: BatchProgress
) -> tuple[list[str], list[str]]:
    """The files whose content and settings have no row yet, and their content hashes (made on
    the workers)."""
    digests = client.gather(client.map(_digest, files, pure=False))
    todo = [(f, d) for f, d in zip(files, digests, strict=True) if (f, d, key) not in done]
    state.skipped = len(files) - len(todo)
    return [f for f, _ in todo], [d for _, d in todo]


def _digest(path: str) -> str | None:
    """The file's content hash; ``None`` when it cannot be read (its row will say why)."""
    try:
        return file_sha256(path)
    except OSError:
        return None


def _row(client: Any, future: Any, path: str, task: dict[str, Any]) -> dict[str, Any]:
    """The future's row. A task that failed on the cluster (its worker died more often than
    Dask allows, a result lost with its worker before it came back) is submitted once more,
    then it is an error row."""
    try:
        return future.result()
    except Exception:
        pass
    try:
        return client.submit(file_row, path, None, **task).result()
    except Exception as exc:  # the batch goes on, the row says what happened
        return {"file": path, "error": f"{path}: analysis failed on the cluster "
                f"({type(exc).__name__}: {exc})", "content_sha256": None,
                "settings_sha256": None}  # fmt: skip


def _in_order(rows: list[dict[str, Any]], files: list[str]) -> list[dict[str, Any]]:
    """``rows`` in the order of ``files``."""
    where = {f: i for i, f in enumerate(files)}
    return sorted(rows, key=lambda r: where.get(r["file"], len(where)))


@contextlib.contextmanager
def _client(scheduler: str | None, workers: int | None) -> Iterator[Any]:
    """A Dask client of the scheduler at ``scheduler``, or of a local cluster of ``workers``
    single-threaded processes on loopback."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise TagstreamError(
            "batch analysis needs Dask: pip install 'dask[distributed]'"
        ) from None
    if scheduler is not None:
        if workers is not None:
            raise TagstreamError("--workers is for the local cluster; a scheduler's workers "
                                 "are started with it (dask worker ADDRESS)")  # fmt: skip
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise TagstreamError(f"no Dask scheduler at {scheduler}: {exc}") from None
        with client:
            yield client
        return
    n = workers or _cores()
    if n < 1:
        raise TagstreamError(f"--workers must be at least 1, got {n}")
    loopback = {"host": "127.0.0.1", "dashboard_address": "127.0.0.1:0"}  # nothing on 0.0.0.0
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, **loopback) as cluster:
        with Client(cluster) as client:
            yield client


def _cores() -> int:
    """The cores this process may use (its affinity, as a container limits it)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
