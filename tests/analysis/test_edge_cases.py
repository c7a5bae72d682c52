"""Every streaming analyzer against its reference on the awkward streams: a stream that starts
with lost time, empty batches, single tags, channels with very different rates, ties, and tags
exactly on bin edges; in every chunking."""

import numpy as np
import pytest

from tagstream.analysis.flid import FlidAnalyzer
from tagstream.analysis.g2 import G2Analyzer
from tagstream.analysis.g2_log import LogG2Analyzer
from tagstream.analysis.lifetime import LifetimeAnalyzer
from tagstream.analysis.trace import TraceAnalyzer
from tagstream.tags import TagBatch
from tagstream.tags import intervals as iv

from .. import reference
from ..streams import merge, poisson_times, random_cuts

SPAN = (1_000, 400_000)
LEADING_GAP = (1_000, 60_000)
PERIOD = 10_000


def awkward_stream(rng, kind):
    """T2 tags: sync (0), a busy channel (1) and a rare one (2), on a 50 ps grid so that many lags
    and delays fall exactly on bin edges; the stream starts with lost time."""
    t0, t1 = SPAN
    if kind == "single":
        t, ch = np.array([200_000], np.int64), np.array([1], np.uint8)
    elif kind == "empty":
        t, ch = np.zeros(0, np.int64), np.zeros(0, np.uint8)
    else:
        syncs = np.arange(t0, t1, PERIOD, dtype=np.int64)
        busy = poisson_times(rng, 3e-3, t0, t1) // 50 * 50
        rare = poisson_times(rng, 2e-5, t0, t1) // 50 * 50
        echo = busy[rng.random(busy.size) < 0.01] + 500  # correlated partners of the rare channel
        t, ch = merge([(syncs, 0), (busy, 1), (np.concatenate([rare, echo]), 2)])
        keep = (t >= t0) & (t < t1)
        t, ch = t[keep], ch[keep]
    gap = np.array([LEADING_GAP])
    keep = ~iv.contains(gap, t)
    t, ch = t[keep], ch[keep]
    nanotimes = ((t - t0) % PERIOD // 10).astype(np.uint16)
    return TagBatch(
        t, ch, t0, t1, gaps=gap, nanotimes=nanotimes, nanotime_unit_ps=10, sync_period_ps=PERIOD
    )


def chunkings(rng, batch):
    yield [batch]
    yield batch.split_at(random_cuts(rng, batch, 30, window=2_000))
    yield [batch.slice_time(a, a + 997) for a in range(SPAN[0], SPAN[1], 997)]


def t2_view(batch):
    return TagBatch(batch.timestamps, batch.channels, batch.t_begin, batch.t_end, gaps=batch.gaps)


CASES = {
    "g2 linear": (
        lambda: G2Analyzer(1, 2, window=2_000, bin=50),
        lambda r: r.counts,
        lambda t, ch: reference.g2_histogram(t, ch, 1, 2, 2_000, 50),
    ),
    "g2 linear auto": (
        lambda: G2Analyzer(2, 2, window=2_000, bin=50),
        lambda r: r.counts,
        lambda t, ch: reference.g2_histogram(t, ch, 2, 2, 2_000, 50),
    ),
    "g2 log": (
        lambda: LogG2Analyzer(1, 2, tau_min=50, tau_max=100_000, per_octave=4),
        lambda r: np.concatenate([r.counts_ab, r.counts_ba]),
        None,
    ),
    "lifetime T2": (
        lambda: LifetimeAnalyzer([1, 2], bin=50, sync=0, period=PERIOD),
        lambda r: np.concatenate([r["1"].counts, r["2"].counts]),
        lambda t, ch: reference.decay_t2(
            t, ch, 0, [1, 2], 0, 50, PERIOD // 50, resets=[LEADING_GAP[1]]
        ).ravel(),
    ),
    "trace": (
        lambda: TraceAnalyzer([1, 2], bin=5_000),
        lambda r: r.counts_by_channel.ravel(),
        lambda t, ch: reference.trace_counts(
            t, ch, [1, 2], SPAN[0], 5_000, -(-(SPAN[1] - SPAN[0]) // 5_000)
        ).ravel(),
    ),
    "FLID T2": (
        lambda: FlidAnalyzer([1, 2], bin=5_000, delay_range=(0, PERIOD), sync=0),
        lambda r: np.concatenate([r.counts, r.timed, r.delay_sum]),
        None,
    ),
}


def run(make, parts, take):
    analyzer = make()
    for part in parts:
        analyzer.process(part)
    result = analyzer.results() if isinstance(analyzer, LifetimeAnalyzer) else analyzer.result()
    return take(result)


@pytest.mark.parametrize("kind", ["full", "single", "empty"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_awkward_streams(case, kind, rng):
    make, take, ref = CASES[case]
    batch = t2_view(awkward_stream(rng, kind))
    whole = run(make, [batch], take)
    if ref is not None:
        np.testing.assert_array_equal(whole, ref(batch.timestamps, batch.channels))
    if kind == "full":
        assert whole.sum() > 0
    for parts in chunkings(rng, batch):
        np.testing.assert_array_equal(run(make, parts, take), whole)


def test_multitau_reference_on_the_awkward_stream(rng):
    batch = awkward_stream(rng, "full")
    g = LogG2Analyzer(1, 2, tau_min=50, tau_max=100_000, per_octave=4)
    g.process(batch)
    res = g.result()
    ab, ba = reference.multitau_counts(batch.timestamps, batch.channels, 1, 2, 50, g.levels, 4)
    level = [0] * 8 + [k for k in range(1, g.levels) for _ in range(4)]
    lag = list(range(8)) + list(range(4, 8)) * (g.levels - 1)
    np.testing.assert_array_equal(res.counts_ab, ab[level, lag])
    np.testing.assert_array_equal(res.counts_ba, ba[level, lag])


def test_t3_lifetime_on_the_awkward_stream(rng):
    batch = awkward_stream(rng, "full")
    ref = reference.decay_t3(batch.channels, batch.nanotimes, [1, 2], 0, 5, PERIOD // 50)
    for parts in chunkings(rng, batch):
        lt = LifetimeAnalyzer([1, 2], bin=50)
        for part in parts:
            lt.process(part)
        np.testing.assert_array_equal(lt.result("1").counts, ref[0])
        np.testing.assert_array_equal(lt.result("2").counts, ref[1])
