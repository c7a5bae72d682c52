"""Run-file writing speed: tags appended per second for each compression, and file sizes."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tagstream.store.background import BackgroundWriter
from tagstream.store.packing import COMPRESSIONS, DEFAULT_COMPRESSION
from tagstream.store.run_writer import RunWriter
from tagstream.tags import TagBatch

#: Tags per appended batch: what a time tagger hands over every few milliseconds at full rate.
WRITE_BATCH_TAGS = 1 << 17
#: Budgets of the issues: the USB3 ceiling of the fastest taggers, and the compressed default
#: (shuffle + deflate, which every HDF5 reader decodes).
UNCOMPRESSED_BUDGET = 80e6
DEFAULT_BUDGET = 40e6


def write_batches(
    folder: Path, batches: list[TagBatch], compression: str, threaded: bool = False
) -> int:
    """Write the batches to a new run file in ``folder``; its size, bytes."""
    path = folder / f"bench-{compression}-{threaded}.h5"
    path.unlink(missing_ok=True)
    writer = RunWriter(path, batches[0].metadata, compression=compression)
    if threaded:
        with BackgroundWriter(writer) as background:
            for b in batches:
                background.append(b)
            background.finish()
    else:
        with writer:
            for b in batches:
                writer.append(b)
    return path.stat().st_size


def disk_write_rate(folder: Path, nbytes: int = 256 * 2**20) -> float:
    """Bytes/s the file system under ``folder`` sustains, fsync included (one pass)."""
    path = folder / "bench-disk.bin"
    block = np.ones(16 * 2**20, dtype=np.uint8)
    start = time.perf_counter()
    with open(path, "wb") as fh:
        for _ in range(nbytes // block.size):
            fh.write(block)
        fh.flush()
        os.fsync(fh.fileno())
    rate = nbytes / (time.perf_counter() - start)
    path.unlink()
    return rate


def measure_writer(measure: Callable[..., tuple], data, folder: str | None = None) -> float:
    """Rows for each compression through ``measure`` (the suite's), plus the writer thread for
    the default; returns the sustained write rate of the disk under ``folder``, bytes/s.

    The append rate is what the writer hands to the operating system (a commit flushes HDF5's
    buffers, not the disk's cache): what a run sustains for as long as the page cache absorbs
    it, after which the disk's own rate bounds it.
    """
    batch = data.batch
    batches = batch.split_at(batch.timestamps[WRITE_BATCH_TAGS::WRITE_BATCH_TAGS])
    raw = sum(a.nbytes for a in (batch.timestamps, batch.channels, batch.nanotimes))
    with tempfile.TemporaryDirectory(dir=folder) as where:
        where = Path(where)
        for compression in COMPRESSIONS:
            label = (
                f"{compression} (default)" if compression == DEFAULT_COMPRESSION else compression
            )
            row, size = measure(
                "run file: append T3 batches of 131072 tags",
                label,
                data,
                lambda c=compression: write_batches(where, batches, c),
            )
            row.note = f"file = raw arrays / {raw / size:.2f}"
            budget = {"none": UNCOMPRESSED_BUDGET, DEFAULT_COMPRESSION: DEFAULT_BUDGET}
            if compression in budget:
                row.budget = f">= {budget[compression] / 1e6:g} Mtags/s"
                row.meets_budget = bool(row.tags_per_s >= budget[compression])
        measure(
            "run file: append T3 batches of 131072 tags",
            f"{DEFAULT_COMPRESSION}, writer thread",
            data,
            lambda: write_batches(where, batches, DEFAULT_COMPRESSION, threaded=True),
        )
        return disk_write_rate(where)
