"""Batch analysis of many run files (``tagstream batch``): files/s and tags/s of the Dask local
cluster against the same files analysed one after another in this process.

The files are simulated CsPbI3 dots at saturation (about 1.2 M tags each, T3), written as our
run files; the row's tags/s counts every tag of every file, from the call to the last row (the
cluster's start included, said in the note with the rate without it).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tagstream.pipeline.offline import summary
from tagstream.pipeline.population import population
from tagstream.pipeline.population_rows import flat_row
from tagstream.sources.factory import simulate
from tagstream.store.run_writer import RunWriter

FILES = 12
SECONDS_PER_FILE = "4 s"
POWER_W = 2e-6  # <N> = 1 for the cspbi3-10nm preset


def make_files(folder: Path, n: int = FILES) -> tuple[list[Path], int]:
    """``n`` run files of simulated dots; their paths and the number of tags in all."""
    paths, tags = [], 0
    for k in range(n):
        run = simulate("cspbi3-10nm", duration=SECONDS_PER_FILE, seed=100 + k, power_w=POWER_W)
        batch = run.read()
        path = folder / f"dot-{k:02d}.h5"
        with RunWriter(path, batch.metadata) as writer:
            writer.append(batch)
        paths.append(path)
        tags += len(batch)
    return paths, tags


def measure_batch(
    add_row: Callable[..., object], sum_rate: float, say: Callable[[str], None] = lambda _m: None
) -> None:
    """Two rows: the files analysed in one process, and by ``population`` on a local cluster
    of one worker per core; ``agrees`` when every row equals the one-process summary."""
    with tempfile.TemporaryDirectory(prefix="tagstream-bench-batch-") as tmp:
        say(f"batch: making {FILES} run files")
        files, tags = make_files(Path(tmp))
        say("batch: one process")
        t0 = time.perf_counter()
        alone = {str(f): flat_row(summary(f)) for f in files}
        one_s = time.perf_counter() - t0
        label = f"batch analysis, {FILES} files"
        add_row(label, "one process, one file after another", tags, tags / one_s,
                tags / one_s / sum_rate, budget=None, meets=None, agrees=None,
                note=f"{FILES / one_s:.2f} files/s")  # fmt: skip
        workers = os.cpu_count() or 1
        say(f"batch: Dask local cluster of {workers} workers")
        marks: list[float] = []
        t0 = time.perf_counter()
        rows = population(files, workers=workers,
                          progress=lambda s: marks.append(time.perf_counter()))  # fmt: skip
        dask_s = time.perf_counter() - t0
        started = marks[0] - t0 if marks else 0.0
        same = all(
            {k: v for k, v in r.items() if k not in ("error", "content_sha256",
                                                      "settings_sha256")} == alone[r["file"]]
            for r in rows
        )  # fmt: skip
        add_row(label, f"Dask local cluster, {workers} workers", tags, tags / dask_s,
                tags / dask_s / sum_rate, budget=None, meets=None, agrees=same,
                note=f"{FILES / dask_s:.2f} files/s, {one_s / dask_s:.2f}x one process; "
                f"{started:.1f} s of it starting the cluster "
                f"({tags / max(dask_s - started, 1e-9) / 1e6:.1f} Mtags/s without)")  # fmt: skip
