"""The run-file writer's parts: chunk-aligned columns, commits and gaps, the writer thread."""

from __future__ import annotations

import errno
import os
import threading
import time
from dataclasses import replace

import h5py
import numpy as np
import pytest

import tagstream as ts
from tagstream.errors import BatchError, TagstreamError, WriteError
from tagstream.store.background import BackgroundWriter
from tagstream.store.chunk_codec import CHUNKS_PER_TASK
from tagstream.store.columns import STAGE_CHUNKS, ChunkedColumns
from tagstream.store.packing import chunk_codec, filter_options
from tagstream.store.run_writer import RunWriter
from tagstream.tags import Channel, ChannelMap, Role, RunMetadata, TagBatch

CHANNELS = ChannelMap([Channel(0, "sync", Role.SYNC), Channel(1, "A"), Channel(2, "B")])
T2 = RunMetadata("test", CHANNELS, mode="T2", sync_period_ps=12_500, hbt_pair=("A", "B"))


# ---------------------------------------------------------------------- chunked columns
def _columns(f: h5py.File, chunk: int, compression: str = "none") -> ChunkedColumns:
    datasets = {
        name: f.create_dataset(
            name,
            shape=(0,),
            maxshape=(None,),
            dtype=dtype,
            chunks=(chunk,),
            **filter_options(compression, dtype),
        )
        for name, dtype in (("t", np.int64), ("c", np.uint8))
    }
    return ChunkedColumns(datasets, chunk_codec(compression))


@pytest.mark.parametrize("compression", ["none", "blosc"])
@pytest.mark.parametrize("seed", range(6))
def test_columns_hold_what_was_appended_in_any_pieces(tmp_path, seed, compression):
    rng = np.random.default_rng(seed)
    chunk = int(rng.choice([1, 3, 4, 7]))
    capacity = chunk * STAGE_CHUNKS
    # empty pieces, single rows, pieces up to a few stages long, and flushes in between
    sizes = rng.choice([0, 1, chunk - 1, chunk, capacity - 1, capacity, 3 * capacity + 2], 40)
    flushes = rng.random(40) < 0.3
    t = np.arange(int(sizes.sum()), dtype=np.int64) * 7
    c = (t % 251).astype(np.uint8)
    with h5py.File(tmp_path / "c.h5", "w") as f:
        cols = _columns(f, chunk, compression)
        at = 0
        for n, flush in zip(sizes, flushes, strict=True):
            cols.append({"t": t[at : at + n], "c": c[at : at + n]})
            at += n
            assert cols.rows == at
            if flush:
                cols.flush()
                np.testing.assert_array_equal(f["t"][:at], t[:at])  # all of it in the file
        cols.flush()
        np.testing.assert_array_equal(f["t"][()], t)
        np.testing.assert_array_equal(f["c"][()], c)


def test_blosc_columns_compress_long_appends_in_many_tasks(tmp_path):
    """An append of many compression tasks, ending in a partial chunk, then more rows that
    complete that chunk: the partial chunk written at a flush is replaced."""
    chunk = 5
    n = chunk * CHUNKS_PER_TASK * 3 + 2
    t = np.cumsum(np.random.default_rng(1).integers(0, 1000, n + 40))
    with h5py.File(tmp_path / "c.h5", "w") as f:
        cols = _columns(f, chunk, "blosc")
        cols.append({"t": t[:n], "c": (t[:n] % 7).astype(np.uint8)})
        cols.flush()
        np.testing.assert_array_equal(f["t"][()], t[:n])
        cols.append({"t": t[n:], "c": (t[n:] % 7).astype(np.uint8)})
        cols.flush()
        np.testing.assert_array_equal(f["t"][()], t)
        np.testing.assert_array_equal(f["c"][()], t % 7)


@pytest.mark.parametrize("compression", ["none", "blosc"])
def test_columns_write_whole_chunks_until_flushed(tmp_path, compression):
    with h5py.File(tmp_path / "c.h5", "w") as f:
        cols = _columns(f, 4, compression)
        cols.append({"t": np.arange(10), "c": np.zeros(10, np.uint8)})
        assert f["t"].shape == (0,)  # still staged
        cols.append({"t": np.arange(10, 100), "c": np.zeros(90, np.uint8)})
        assert f["t"].shape == (96,)  # three whole stages of 32, the rest staged
        cols.flush()
        assert f["t"].shape == (100,)
        np.testing.assert_array_equal(f["t"][()], np.arange(100))


# ---------------------------------------------------------------------- commits and gaps
def _batch(a: int, b: int, gaps=None, rate: int = 20) -> TagBatch:
    t = np.linspace(a, b - 1, rate).astype(np.int64)
    keep = np.ones(t.size, bool)
    for g0, g1 in gaps or []:
        keep &= (t < g0) | (t >= g1)
    t = t[keep]
    return TagBatch(t, (t % 3).astype(np.uint8), a, b, gaps=gaps)


def _committed(path) -> np.ndarray:
    with h5py.File(path, "r", swmr=True) as f:
        return f["/user/tagstream/committed"][()], f["/user/tagstream/gaps"][()]


def test_commit_records_tags_span_and_the_gap_still_growing(tmp_path):
    path = tmp_path / "run.h5"
    writer = RunWriter(path, T2, flush_every_s=3600)
    writer.append(_batch(0, 1000))
    writer.append(_batch(1000, 2000, gaps=[[1500, 2000]]))  # a gap at the end of the batch
    writer.commit()
    record, gaps = _committed(path)
    np.testing.assert_array_equal(record, [40 - 10, 1, 0, 2000])
    np.testing.assert_array_equal(gaps, [[1500, 2000]])
    writer.append(_batch(2500, 3000))  # the gap grows to the next batch
    writer.append(_batch(3000, 4000, gaps=[[3100, 3200]]))
    writer.commit()
    record, gaps = _committed(path)
    np.testing.assert_array_equal(record[1:], [2, 0, 4000])
    np.testing.assert_array_equal(gaps, [[1500, 2500], [3100, 3200]])
    writer.finish()
    with ts.open(path) as run:
        np.testing.assert_array_equal(run.gaps, [[1500, 2500], [3100, 3200]])
        assert run.status == "complete" and run.num_tags == record[0] == 68


def test_the_writer_commits_on_its_own_schedule(tmp_path):
    path = tmp_path / "run.h5"
    with RunWriter(path, T2, flush_every_s=0.05) as writer:
        writer.append(_batch(0, 1000))
        assert _committed(path)[0][0] == 0  # not due yet
        time.sleep(0.06)
        writer.append(_batch(1000, 2000))
        assert _committed(path)[0][0] == 40


def test_a_failed_write_is_reported_once_and_the_writer_refuses_more(tmp_path):
    path = tmp_path / "run.h5"
    writer = RunWriter(path, T2)
    writer.append(_batch(0, 1000))
    writer.commit()

    def disk_full(columns, at):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    writer._columns._write = disk_full
    message = r"run\.h5: cannot write: No space left on device; it keeps the first 1e-09 s of"
    with pytest.raises(WriteError, match=message):
        writer.append(_batch(1000, 2000, rate=10**6))  # too many to stage: written at once
    with pytest.raises(WriteError, match=message):
        writer.append(_batch(2000, 3000))
    assert not writer.open
    with ts.open(path) as run:
        assert run.num_tags == 20 and run.t_end == 1000 and run.status == "recording"


def test_a_snapshot_that_does_not_fit_is_refused_before_anything_is_written(tmp_path):
    from tagstream.pipeline.live_analysis import LiveAnalysis

    path = tmp_path / "run.h5"
    live = LiveAnalysis(T2, every=500)
    writer = BackgroundWriter(RunWriter(path, T2, series=live.specs))
    snapshots = []
    for k in range(4):
        batch = _batch(k * 1000, (k + 1) * 1000)
        writer.append(batch)
        snapshots += live.process(batch)
    g2 = next(s for s in snapshots if s.series == "g2")
    wrong = replace(g2, values={**g2.values, "counts": g2.values["counts"][:3]})
    writer.add_snapshot(wrong)
    for snapshot in snapshots:
        writer.add_snapshot(snapshot)
    writer.finish()
    assert len(writer.notes) == 1
    assert "results/g2/counts: shape (3,)" in writer.notes[0]
    with ts.open(path) as run:
        assert run.num_tags == 80 and run.status == "complete"
    assert len(ts.results(path).series["g2"]) == 8


def test_flushes_rewrite_only_the_chunk_still_filling(tmp_path):
    with h5py.File(tmp_path / "c.h5", "w") as f:
        cols = _columns(f, 4)
        writes = []
        original = cols._write
        cols._write = lambda columns, at: (
            writes.append((at, len(columns["t"]))),
            original(columns, at),
        )
        cols.append({"t": np.arange(10), "c": np.zeros(10, np.uint8)})
        cols.flush()
        cols.append({"t": np.arange(10, 13), "c": np.zeros(3, np.uint8)})
        cols.flush()
        cols.flush()  # nothing new
        cols.append({"t": np.arange(13, 40), "c": np.zeros(27, np.uint8)})  # the stage fills
        assert writes == [(0, 10), (8, 5), (12, 20)]
        np.testing.assert_array_equal(f["t"][()], np.arange(32))


def test_series_must_be_named_once(tmp_path):
    from tagstream.pipeline.live_analysis import LiveAnalysis

    specs = LiveAnalysis(T2).specs
    with pytest.raises(TagstreamError, match="named twice"):
        RunWriter(tmp_path / "x.h5", T2, series=[*specs, specs[0]])
    assert not (tmp_path / "x.h5").exists()


# ---------------------------------------------------------------------- the writer thread
def test_background_writer_writes_everything_in_order(tmp_path):
    batches = [_batch(k * 1000, (k + 1) * 1000) for k in range(50)]
    path = tmp_path / "run.h5"
    with BackgroundWriter(RunWriter(path, T2), max_pending_bytes=2000) as writer:
        for b in batches:
            writer.append(b)
            assert writer.pending_bytes <= 2000 + 20 * 9
        assert writer.finish() == path
    with ts.open(path) as run:
        got = run.read()
    want = TagBatch.concat(batches)
    np.testing.assert_array_equal(got.timestamps, want.timestamps)
    np.testing.assert_array_equal(got.channels, want.channels)


def test_background_writer_commits_while_no_data_come(tmp_path):
    path = tmp_path / "run.h5"
    writer = BackgroundWriter(RunWriter(path, T2, flush_every_s=0.05))
    writer.append(_batch(0, 1000))
    deadline = time.monotonic() + 10
    while _committed(path)[0][0] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _committed(path)[0][0] == 20
    writer.finish()


def test_background_writer_hands_errors_to_the_producer(tmp_path):
    path = tmp_path / "run.h5"
    writer = BackgroundWriter(RunWriter(path, T2))
    writer.append(_batch(0, 1000))
    writer.append(_batch(500, 1500))  # overlaps: the writer thread refuses it
    with pytest.raises(BatchError, match="before the previous one ended"):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            writer.append(_batch(5000, 6000))
            time.sleep(0.01)
    with pytest.raises(BatchError):
        writer.finish()
    with ts.open(path) as run:
        assert run.num_tags == 20
        assert run.status.startswith("stopped: BatchError")


def test_background_writer_stops_with_the_producers_exception(tmp_path):
    path = tmp_path / "run.h5"
    with pytest.raises(KeyboardInterrupt):
        with BackgroundWriter(RunWriter(path, T2)) as writer:
            writer.append(_batch(0, 1000))
            raise KeyboardInterrupt
    with ts.open(path) as run:
        assert run.status == "stopped: interrupted" and run.num_tags == 20
    assert not [t for t in threading.enumerate() if t.name == "tagstream-writer"]


def test_an_append_interrupted_midway_leaves_a_consistent_file(tmp_path):
    path = tmp_path / "run.h5"
    writer = RunWriter(path, T2)
    writer.append(_batch(0, 1000))
    original = writer._columns.append

    def interrupted(columns):
        original(columns)  # the tags are staged, then Ctrl-C arrives
        raise KeyboardInterrupt

    writer._columns.append = interrupted
    with pytest.raises(KeyboardInterrupt), writer:
        writer.append(_batch(1000, 2000))
    with ts.open(path) as run:  # the commit goes by the batches that were wholly appended
        assert run.status == "stopped: interrupted"
        assert (run.num_tags, run.t_end) == (20, 1000)
        assert len(run.read()) == 20


def test_g2_snapshots_over_short_covered_pieces_are_stored(tmp_path):
    """A covered piece shorter than the g2 window (after a worker restart) makes the live time
    per lag bin a fraction of a picosecond: the snapshot is valid and is kept."""
    from tagstream.analysis.summary_settings import SummarySettings
    from tagstream.pipeline.live_analysis import LiveAnalysis

    settings = SummarySettings(g2_window="1 ns", g2_bin="100 ps")
    live = LiveAnalysis(T2, settings, every=10**6)
    spec = {s.name: s for s in live.specs}["g2"]
    snapshots = live.process(_batch(0, 2 * 10**6, gaps=[[10**5, 10**6 - 281]], rate=2000))
    g2 = next(s for s in snapshots if s.series == "g2")
    overlap = np.asarray(g2.values["overlap_ps"])
    assert np.any(overlap != np.round(overlap))  # half picoseconds, as the geometry gives
    assert spec.checked(g2).values["overlap_ps"].dtype == np.float64
