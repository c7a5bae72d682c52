"""Scan pixels from markers: the kernel and the image builder against the two-pass reference,
on random scans (missing stops, frame markers sharing a record with a line start or stop,
more lines than a frame holds, ties on a coarse grid), whole and cut anywhere."""

from __future__ import annotations

import numpy as np
import pytest

from tagstream.analysis.scan_imager import ScanImager
from tagstream.analysis.scan_settings import ScanSettings
from tagstream.kernels import scan as k
from tagstream.tags import Channel, ChannelMap, Role, RunMetadata, TagBatch
from tests.reference import scan_pixels as reference
from tests.streams import random_cuts

START, STOP, FRAME, START_FRAME, STOP_FRAME = 65, 66, 68, 69, 70
#: Marker records carry a mask of start (1), stop (2) and frame (4) bits: channel 64 + mask.
MARKERS = {name: tuple(64 + m for m in range(1, 8) if m & bit)
           for name, bit in (("line_start", 1), ("line_stop", 2), ("frame", 4))}  # fmt: skip
PERIOD, UNIT = 1000, 10


def _scan(rng, nx, ny, dwell, frames, grid, drop_stop=0.1, combined=True):
    """Markers of ``frames`` frames of ``ny`` lines (sometimes one more), photons on channels
    1, 2 (imaged) and 3 (not) everywhere, all on a ``grid``."""
    t = 1000
    times, chans = [], []
    for _ in range(frames):
        lines = ny + (1 if rng.random() < 0.3 else 0) - (1 if rng.random() < 0.2 else 0)
        for y in range(lines):
            length = dwell * nx if dwell else int(rng.integers(nx * 40, nx * 200))
            first = y == 0
            if first and combined and rng.random() < 0.5:
                times.append(t)
                chans.append(START_FRAME)
            else:
                if first and rng.random() < 0.8:
                    times.append(t)
                    chans.append(FRAME)
                times.append(t)
                chans.append(START)
            t += length
            if rng.random() >= drop_stop:
                last = y == lines - 1
                times.append(t)
                chans.append(STOP_FRAME if last and combined and rng.random() < 0.3 else STOP)
            t += 0 if rng.random() < 0.3 else int(rng.integers(0, 300))
    end = t + 500
    n = rng.poisson((end - 0) / 60)
    pt = np.sort(rng.integers(0, end, n))
    pc = rng.choice([1, 2, 3], n, p=[0.45, 0.45, 0.1])
    times, chans = _shared_records(rng, times, chans)
    all_t = np.concatenate([np.array(times, np.int64), pt])
    all_c = np.concatenate([np.array(chans, np.int64), pc])
    order = np.argsort(all_t, kind="stable")
    all_t, all_c = all_t[order] // grid * grid, all_c[order]
    return all_t, all_c.astype(np.uint8), end


def _shared_records(rng, times, chans):
    """Markers at the same time (a line's stop, the next frame's and line's start) joined
    into one record, mostly (their order in a record: stop, frame, start, as apart)."""
    out_t, out_c = [], []
    for t, c in zip(times, chans, strict=True):
        if out_t and out_t[-1] == t and rng.random() < 0.7:
            out_c[-1] = 64 + ((out_c[-1] - 64) | (c - 64))
        else:
            out_t.append(t)
            out_c.append(c)
    return out_t, out_c


def _flags():
    flags = np.zeros(256, np.int64)
    flags[[1, 2]] = k.COUNTED
    for c in MARKERS["line_start"]:
        flags[c] |= k.LINE_START
    for c in MARKERS["line_stop"]:
        flags[c] |= k.LINE_STOP
    for c in MARKERS["frame"]:
        flags[c] |= k.FRAME
    return flags


def _reference(t, c, nx, ny, dwell, bidirectional, frame=True):
    return reference(t, c, set(MARKERS["line_start"]), set(MARKERS["line_stop"]),
                     set(MARKERS["frame"]) if frame else set(), {1, 2}, nx, ny, dwell,
                     bidirectional)  # fmt: skip


def _kernel_whole(t, c, nx, ny, dwell, bidirectional, frame=True):
    flags = _flags()
    if not frame:
        for ch in MARKERS["frame"]:
            flags[ch] &= ~k.FRAME
        flags[FRAME] = 0
    state = np.zeros(k.STATE_SIZE, np.int64)
    rows, xs, lines = (np.empty(t.size, np.int64) for _ in range(3))
    line_rows, line_ps = np.empty(t.size + 1, np.int64), np.empty(t.size + 1, np.int64)
    keep = k.scan_pixels(t, c.astype(np.int64), flags, nx, ny, dwell, bidirectional, frame,
                         state, rows, xs, lines, line_rows, line_ps)  # fmt: skip
    rows[keep:] = -1
    xs[keep:] = -1
    lines[keep:] = -1
    placed = rows >= 0
    assert np.array_equal(placed, lines >= 0)
    # lines count up in stream order of their photons; a line's photons share one row
    assert np.all(np.diff(lines[placed]) >= 0)
    for line in np.unique(lines[placed]):
        assert np.unique(rows[lines == line]).size == 1
        assert rows[lines == line][0] == line_rows[line]
    assert state[k.S_LINE_PS] == line_ps[: state[k.S_LINES]].sum()
    return rows, xs, line_rows[: state[k.S_LINES]].tolist(), line_ps[: state[k.S_LINES]].tolist()


CASES = [(seed, dwell, bidirectional) for seed in range(6) for dwell in (0, 50)
         for bidirectional in (False, True)]  # fmt: skip


@pytest.mark.parametrize(("seed", "dwell", "bidirectional"), CASES)
def test_the_kernel_places_every_tag_as_the_reference(seed, dwell, bidirectional):
    rng = np.random.default_rng(seed)
    nx, ny = int(rng.integers(3, 12)), int(rng.integers(2, 6))
    t, c, _ = _scan(rng, nx, ny, dwell, frames=3, grid=int(rng.choice([1, 10, 50])))
    rows, xs, line_rows, line_ps = _kernel_whole(t, c, nx, ny, dwell, bidirectional)
    ref_rows, ref_xs, ref_line_rows, _, ref_ps = _reference(t, c, nx, ny, dwell, bidirectional)
    np.testing.assert_array_equal(rows, ref_rows)
    np.testing.assert_array_equal(xs, ref_xs)
    assert line_rows == ref_line_rows and line_ps == ref_ps
    assert (rows >= 0).sum() > 20  # the scan places photons at all


@pytest.mark.parametrize("dwell", [0, 50])
def test_without_frame_markers_a_frame_is_pixels_y_lines(dwell):
    rng = np.random.default_rng(11)
    t, c, _ = _scan(rng, 6, 4, dwell, frames=3, grid=1, combined=False)
    keep = c != FRAME
    c = np.where(c > 64, 64 + ((c.astype(np.int64) - 64) & 3), c).astype(np.uint8)
    t, c = t[keep], c[keep]
    rows, xs, line_rows, _ = _kernel_whole(t, c, 6, 4, dwell, False, frame=False)
    ref_rows, ref_xs, ref_line_rows, _, _ = _reference(t, c, 6, 4, dwell, False, frame=False)
    assert line_rows == ref_line_rows
    np.testing.assert_array_equal(rows, ref_rows)
    np.testing.assert_array_equal(xs, ref_xs)
    assert set(rows[rows >= 0].tolist()) == {0, 1, 2, 3}


def _metadata():
    channels = [Channel(1, "A"), Channel(2, "B"), Channel(3, "C")]
    channels += [Channel(n, f"m{n}", Role.MARKER) for n in range(65, 72)]
    return RunMetadata(source="test", channels=ChannelMap(channels), mode="T3",
                       resolution_ps=UNIT, sync_period_ps=PERIOD, laser_period_ps=PERIOD,
                       nanotime_unit_ps=UNIT)  # fmt: skip


def _settings(nx, ny, dwell, bidirectional):
    return ScanSettings(pixels_x=nx, pixels_y=ny, counted=(1, 2), bidirectional=bidirectional,
                        pixel_time_ps=dwell, **MARKERS)  # fmt: skip


@pytest.mark.parametrize(("seed", "dwell", "bidirectional"), CASES[::2])
def test_the_image_is_the_same_in_any_chunking(seed, dwell, bidirectional):
    rng = np.random.default_rng(100 + seed)
    nx, ny = int(rng.integers(3, 10)), int(rng.integers(2, 5))
    t, c, end = _scan(rng, nx, ny, dwell, frames=3, grid=10)
    nano = rng.integers(0, PERIOD // UNIT, t.size).astype(np.uint16)
    whole = TagBatch(t, c, 0, end, nanotimes=nano, nanotime_unit_ps=UNIT, sync_period_ps=PERIOD,
                     metadata=_metadata())  # fmt: skip
    ref_rows, ref_xs, ref_line_rows, line_of, ref_ps = _reference(t, c, nx, ny, dwell,
                                                                    bidirectional)  # fmt: skip
    placed = ref_rows >= 0
    per_line = np.zeros((len(ref_line_rows), nx), np.int64)
    np.add.at(per_line, (line_of[placed], ref_xs[placed]), 1)
    pix = ref_rows[placed] * nx + ref_xs[placed]
    expected = np.bincount(pix, minlength=nx * ny).reshape(ny, nx)
    expected_delay = np.bincount(pix, weights=nano[placed] * UNIT, minlength=nx * ny)
    for cuts in ([], random_cuts(rng, whole, 25), whole.timestamps[c >= START]):
        imager = ScanImager(_settings(nx, ny, dwell, bidirectional), _metadata())
        taken_rows, taken = [], []
        for part in whole.split_at(np.unique(np.clip(cuts, 0, end))):
            imager.process(part)
            rows, sums = imager.take_lines()
            taken_rows += rows
            taken.append(sums.counts)
        rows, sums = imager.take_lines(final=True)
        assert taken_rows + rows == ref_line_rows
        row_time = np.zeros(ny, np.int64)
        np.add.at(row_time, ref_line_rows, ref_ps)
        np.testing.assert_array_equal(np.concatenate([*taken, sums.counts]), per_line)
        image = imager.result()
        np.testing.assert_array_equal(image.row_time_ps, row_time)
        np.testing.assert_array_equal(image.counts, expected)
        np.testing.assert_allclose(image.delay_sum_ps.ravel(), expected_delay)
        assert image.cube is not None
        np.testing.assert_array_equal(image.cube.sum(axis=-1), expected)
        assert image.photons == int(np.isin(c, [1, 2]).sum())


def test_edges_a_single_tag_empty_batches_and_a_line_cut_short():
    md = _metadata()
    settings = _settings(4, 2, 0, False)
    imager = ScanImager(settings, md)
    empty = TagBatch.empty(0, 100, t3=True, nanotime_unit_ps=UNIT, metadata=md)
    imager.process(empty)
    one = TagBatch(np.array([150]), np.array([1], np.uint8), 100, 200,
                   nanotimes=np.array([3], np.uint16), nanotime_unit_ps=UNIT,
                   sync_period_ps=PERIOD, metadata=md)  # fmt: skip
    imager.process(one)
    # a line starts at 300; a photon at 340; the run ends before the stop
    cut = TagBatch(np.array([300, 340]), np.array([START, 1], np.uint8), 200, 400,
                   nanotimes=np.array([0, 5], np.uint16), nanotime_unit_ps=UNIT,
                   sync_period_ps=PERIOD, metadata=md)  # fmt: skip
    imager.process(cut)
    image = imager.result()
    assert image.counts.sum() == 0 and image.lines == 0 and image.photons == 2
    assert any("last line has no stop marker" in n for n in image.notes)
    assert any("no complete scan line" in n for n in image.notes)
    # the stop comes in the next batch: the photon is placed at x = (340-300)*4 // 100 = 1
    imager.process(TagBatch(np.array([400]), np.array([STOP], np.uint8), 400, 500,
                            nanotimes=np.array([0], np.uint16), nanotime_unit_ps=UNIT,
                            sync_period_ps=PERIOD, metadata=md))  # fmt: skip
    image = imager.result()
    assert image.counts[0].tolist() == [0, 1, 0, 0] and image.lines == 1
    assert image.line_time_ps == 100 and image.pixel_time_s == pytest.approx(25e-12)


def test_a_line_whose_stop_never_comes_is_given_up(monkeypatch):
    import tagstream.analysis.scan_imager as module

    monkeypatch.setattr(module, "MAX_OPEN_LINE_TAGS", 5)
    t = np.array([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120])
    c = np.array([START_FRAME, 1, 1, 1, 1, 1, 1, 1, 1, START, 1, STOP, 1], np.uint8)
    md = _metadata()
    imager = ScanImager(_settings(2, 3, 0, False), md)
    for i in range(t.size):
        imager.process(TagBatch(t[i:i + 1], c[i:i + 1], int(t[i]), int(t[i]) + 10,
                                nanotimes=np.zeros(1, np.uint16), nanotime_unit_ps=UNIT,
                                sync_period_ps=PERIOD, metadata=md))  # fmt: skip
    image = imager.result()
    # the first line is dropped, the second (row 1) holds the photon at 100: x = 10*2 // 20
    assert image.counts.tolist() == [[0, 0], [0, 1], [0, 0]]
    assert image.frames == 1 and image.lines == 1
    assert any("1 line(s) without a stop marker" in n for n in image.notes)


def test_a_line_opened_by_the_record_that_stops_the_last_one_and_cut_short():
    """One record stops a line and starts the next; the run ends inside that next line: the
    first line is counted (photons, time, row), the second is left out and said so, and an
    analysis resumed here would start on the row after it."""
    md = _metadata()
    t = np.array([0, 5, 10, 15])
    c = np.array([START, 1, 64 + 3, 1], np.uint8)
    imager = ScanImager(_settings(2, 4, 0, False), md)
    imager.process(TagBatch(t, c, 0, 20, nanotimes=np.zeros(4, np.uint16),
                            nanotime_unit_ps=UNIT, sync_period_ps=PERIOD, metadata=md))  # fmt: skip
    image = imager.result()
    assert image.counts[0].tolist() == [0, 1] and image.counts[1:].sum() == 0  # x = 5 * 2 // 10
    assert image.lines == 1 and image.line_time_ps == 10 and image.row_time_ps[0] == 10
    assert any("1 line(s) without a stop marker" in n for n in image.notes)
    resumed = imager.resume_state()
    assert resumed[k.S_LINES] == 1 and resumed[k.S_NEXT_ROW] == 2 and resumed[k.S_OPEN] == 0
    rows, lines = imager.take_lines(final=True)
    assert rows == [0] and lines.counts.tolist() == [[0, 1]] and lines.time_ps.tolist() == [10]


def test_a_restart_inside_a_fixed_dwell_line_without_photons_loses_that_line():
    md = _metadata()
    imager = ScanImager(_settings(2, 4, 100, False), md)
    t = np.array([0, 50, 250, 300])  # line 0 with a photon; line 1 opens at 250, no photon yet
    c = np.array([START, 1, START, 3], np.uint8)
    imager.process(TagBatch(t, c, 0, 310, nanotimes=np.zeros(4, np.uint16),
                            nanotime_unit_ps=UNIT, sync_period_ps=PERIOD, metadata=md))  # fmt: skip
    imager.restart(310)
    assert imager.state[k.S_LINES] == 1 and imager.state[k.S_NEXT_ROW] == 2
    rows, lines = imager.take_lines(final=True)
    assert rows == [0] and lines.counts.tolist() == [[1, 0]] and lines.time_ps.tolist() == [200]
    image = imager.result()
    assert image.row_time_ps.tolist() == [200, 0, 0, 0] and image.lines == 1
