"""Intensity trace and FLID binning against the references, in every chunking."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagstream.analysis.flid import FlidAnalyzer
from tagstream.analysis.trace import TraceAnalyzer
from tagstream.errors import AnalysisError
from tagstream.tags import TagBatch
from tagstream.tags import intervals as iv

from .. import reference
from ..streams import batch_of, hbt_stream, random_cuts


def trace_of(parts, detectors=(1, 2), bin_width=1000):
    tr = TraceAnalyzer(list(detectors), bin=bin_width)
    for p in parts:
        tr.process(p)
    return tr.result()


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    width=st.sampled_from([1, 10, 333, 1000, 50_000]),
    t_begin=st.integers(-5_000, 5_000),
    n_cuts=st.integers(0, 30),
)
def test_trace_matches_reference(seed, width, t_begin, n_cuts):
    rng = np.random.default_rng(seed)
    t_end = t_begin + int(rng.integers(1, 200_000))
    t, ch = hbt_stream(
        rng, t_begin, t_end, {1: 1e-3, 2: 3e-4, 4: 1e-3}, grid=int(rng.integers(1, 40))
    )
    g = np.sort(rng.integers(t_begin, t_end, 2))
    gaps = np.array([g]) if g[1] > g[0] else None
    if gaps is not None:
        keep = ~iv.contains(gaps, t)
        t, ch = t[keep], ch[keep]
    batch = batch_of(t, ch, t_begin, t_end, gaps=gaps)
    res = trace_of(batch.split_at(random_cuts(rng, batch, n_cuts)), bin_width=width)
    n_bins = -(-(t_end - t_begin) // width)
    np.testing.assert_array_equal(
        res.counts_by_channel, reference.trace_counts(t, ch, [1, 2], t_begin, width, n_bins)
    )
    np.testing.assert_array_equal(
        res.exposure_ps, reference.exposure(batch.covered(), t_begin, width, n_bins)
    )


def test_dark_periods_show_as_zeros():
    parts = [
        TagBatch.empty(0, 10_000),
        TagBatch.empty(10_000, 25_000),
        TagBatch(np.array([25_500], np.int64), np.array([1], np.uint8), 25_000, 30_000),
    ]
    res = trace_of(parts, bin_width=5_000)
    np.testing.assert_array_equal(res.counts, [0, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(res.exposure_ps, [5_000] * 6)
    assert np.isclose(res.rate_cps[-1], 1 / 5e-9)


def test_rebin_sums_counts_and_exposure(rng):
    t, ch = hbt_stream(rng, 0, 1_000_003, {1: 1e-3, 2: 1e-3})
    res = trace_of([batch_of(t, ch, 0, 1_000_003)], bin_width=1_000)
    coarse = res.rebin(7_000)
    assert coarse.bin_ps == 7_000
    assert coarse.counts.sum() == res.counts.sum() == t.size
    assert coarse.exposure_ps.sum() == 1_000_003
    np.testing.assert_array_equal(
        coarse.counts[:3], [res.counts[k * 7 : (k + 1) * 7].sum() for k in range(3)]
    )
    with pytest.raises(AnalysisError, match="whole multiple"):
        res.rebin(1_500)


def flid_reference_t3(t, ch, nt, detectors, t0, width, n_bins, start, stop):
    counts = np.zeros(n_bins, np.int64)
    timed = np.zeros(n_bins, np.int64)
    total = np.zeros(n_bins, np.int64)
    for x, c, d in zip(t, ch, nt, strict=True):
        if c in detectors:
            k = (int(x) - t0) // width
            counts[k] += 1
            if start <= d < stop:
                timed[k] += 1
                total[k] += int(d)
    return counts, timed, total


def flid_reference_t2(t, ch, sync, detectors, t0, width, n_bins, start, stop):
    counts = np.zeros(n_bins, np.int64)
    timed = np.zeros(n_bins, np.int64)
    total = np.zeros(n_bins, np.int64)
    last = None
    for x, c in zip(t, ch, strict=True):
        if c == sync:
            last = int(x)
        elif c in detectors:
            k = (int(x) - t0) // width
            counts[k] += 1
            if last is not None and start <= int(x) - last < stop:
                timed[k] += 1
                total[k] += int(x) - last
    return counts, timed, total


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_cuts=st.integers(0, 20))
def test_flid_t3_matches_reference(seed, n_cuts):
    rng = np.random.default_rng(seed)
    t, ch = hbt_stream(rng, 0, 500_000, {1: 1e-3, 2: 1e-3, 3: 1e-3})
    nt = rng.integers(0, 3_000, t.size).astype(np.int32)
    batch = batch_of(t, ch, 0, 500_000, nanotimes=nt, unit=4, period=12_000)
    fl = FlidAnalyzer([1, 2], bin=10_000, delay_range=(400, 8_000))
    for p in batch.split_at(random_cuts(rng, batch, n_cuts)):
        fl.process(p)
    res = fl.result()
    ref = flid_reference_t3(t, ch, nt, [1, 2], 0, 10_000, 50, 100, 2_000)
    for got, want in zip((res.counts, res.timed, res.delay_sum), ref, strict=True):
        np.testing.assert_array_equal(got, want)
    assert res.delay_unit_ps == 4


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_cuts=st.integers(0, 20))
def test_flid_t2_matches_reference(seed, n_cuts):
    rng = np.random.default_rng(seed)
    t, ch = hbt_stream(rng, 0, 500_000, {0: 1e-4, 1: 1e-3, 2: 1e-3})
    batch = batch_of(t, ch, 0, 500_000)
    fl = FlidAnalyzer([1, 2], bin=10_000, delay_range=(0, 20_000), sync=0)
    for p in batch.split_at(random_cuts(rng, batch, n_cuts)):
        fl.process(p)
    res = fl.result()
    ref = flid_reference_t2(t, ch, 0, [1, 2], 0, 10_000, 50, 0, 20_000)
    for got, want in zip((res.counts, res.timed, res.delay_sum), ref, strict=True):
        np.testing.assert_array_equal(got, want)


def test_flid_histogram_uses_full_bins_only(rng):
    t, ch = hbt_stream(rng, 0, 1_000_500, {1: 1e-3})
    nt = rng.integers(100, 200, t.size).astype(np.int32)
    fl = FlidAnalyzer([1], bin=10_000, delay_range=(0, 1_000))
    fl.process(batch_of(t, ch, 0, 1_000_500, nanotimes=nt, unit=1, period=1_000))
    res = fl.result()
    hist, _delay_edges, _count_edges = res.histogram(delay_bins=np.arange(0, 1_001, 50))
    assert hist.sum() == 100  # the last, partial bin is left out
    assert np.all(res.mean_delay_ps[:100] > 100) and np.all(res.mean_delay_ps[:100] < 200)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    width=st.sampled_from([7, 100, 5_000, 40_000]),
    n_rows=st.integers(1, 4),
    pause=st.booleans(),
)
def test_every_binning_path_agrees_with_reference(seed, width, n_rows, pause):
    from tagstream.analysis.channels import row_table
    from tagstream.kernels.binning import _bin_counts_dense, _bin_counts_lut, _bin_counts_sparse

    rng = np.random.default_rng(seed)
    t, ch = hbt_stream(rng, 0, 200_000, {c: 1e-3 for c in range(1, 6)}, grid=3)
    if pause:  # a long dark stretch: the sparse path crosses it by division
        keep = (t < 50_000) | (t >= 150_000)
        t, ch = t[keep], ch[keep]
    detectors = list(range(1, n_rows + 1))
    n_bins = -(-200_000 // width)
    ref = reference.trace_counts(t, ch, detectors, 0, width, n_bins)
    kernels = [_bin_counts_dense, _bin_counts_lut] + ([_bin_counts_sparse] if n_rows <= 2 else [])
    for kernel in kernels:
        counts = np.zeros((max(n_rows + 1, 4), n_bins), np.int64)
        table = row_table(detectors) if kernel is _bin_counts_lut else np.array(detectors, np.uint8)
        kernel(t, ch, table, np.int64(0), np.int64(width), np.int64(0), counts)
        np.testing.assert_array_equal(counts[:n_rows], ref)


@pytest.mark.parametrize("threads", [2, 5])
def test_threads_split_traces_exactly(monkeypatch, rng, threads):
    from tagstream.analysis import parallel

    monkeypatch.setattr(parallel, "MIN_TAGS_PER_THREAD", 30)
    t, ch = hbt_stream(rng, 0, 300_000, {1: 2e-3, 2: 1e-3, 3: 1e-3}, grid=5)
    batch = batch_of(t, ch, 0, 300_000)
    for width in (1_000, 40_000):
        tr = TraceAnalyzer([1, 2], bin=width, threads=threads)
        for part in batch.split_at(random_cuts(rng, batch, 4)):
            tr.process(part)
        n_bins = -(-300_000 // width)
        np.testing.assert_array_equal(
            tr.result().counts_by_channel, reference.trace_counts(t, ch, [1, 2], 0, width, n_bins)
        )


@pytest.mark.parametrize("threads", [1, 2, 5])
@pytest.mark.parametrize("width", [700, 10_000, 150_000])
def test_flid_t3_on_threads_and_dense_bins_matches_reference(monkeypatch, rng, threads, width):
    """Sparse bins (a few tags) and dense ones (hundreds: summed as ranges), cut between threads
    and between batches; photons of an unselected channel and delays outside the range."""
    from tagstream.analysis import parallel

    monkeypatch.setattr(parallel, "MIN_TAGS_PER_THREAD", 50)
    t, ch = hbt_stream(rng, 0, 600_000, {1: 3e-3, 2: 2e-3, 3: 1e-3}, grid=3)
    nt = rng.integers(0, 3_000, t.size).astype(np.int32)
    batch = batch_of(t, ch, 0, 600_000, nanotimes=nt, unit=4, period=12_000)
    fl = FlidAnalyzer([1, 2], bin=width, delay_range=(400, 8_000), threads=threads)
    for p in batch.split_at(random_cuts(rng, batch, 3)):
        fl.process(p)
    res = fl.result()
    ref = flid_reference_t3(t, ch, nt, [1, 2], 0, width, -(-600_000 // width), 100, 2_000)
    for got, want in zip((res.counts, res.timed, res.delay_sum), ref, strict=True):
        np.testing.assert_array_equal(got, want)
