"""Counts between markers against the slow reference, on random streams (stops sometimes
missing, ties on a coarse grid, a channel that is start and stop at once), cut anywhere."""

from __future__ import annotations

import numpy as np
import pytest

from tagstream.analysis.counters import CounterAnalyzer
from tagstream.tags import TagBatch
from tests.reference import counts_between
from tests.streams import random_cuts


def _stream(rng, n_markers, grid):
    end = 10**7
    m = np.sort(rng.integers(0, end, n_markers))
    mc = rng.choice([10, 11, 12], n_markers, p=[0.45, 0.4, 0.15])
    n = rng.poisson(end / 2000)
    pt = np.sort(rng.integers(0, end, n))
    pc = rng.choice([1, 2, 3], n)
    t = np.concatenate([m, pt])
    c = np.concatenate([mc, pc])
    order = np.argsort(t, kind="stable")
    return t[order] // grid * grid, c[order].astype(np.uint8), end


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("stop", [None, [11], [11, 12]])
def test_counts_between_markers_equal_the_reference_in_any_chunking(seed, stop):
    rng = np.random.default_rng(seed)
    t, c, end = _stream(rng, int(rng.integers(1, 300)), int(rng.choice([1, 1000])))
    start = [10, 12]  # 12 is a start, and with stop [11, 12] a stop too
    expected = counts_between(t, c, start, stop or [], [1, 2])
    whole = TagBatch(t, c, 0, end)
    for cuts in ([], random_cuts(rng, whole, 30), t[c >= 10]):
        counter = CounterAnalyzer(start, stop, [1, 2])
        for part in whole.split_at(np.unique(np.clip(cuts, 0, end))):
            counter.process(part)
        result = counter.result()
        assert len(result) == len(expected)
        np.testing.assert_array_equal(result.begin_ps, [e[0] for e in expected])
        np.testing.assert_array_equal(result.end_ps, [e[1] for e in expected])
        want = np.array([e[2] for e in expected]).reshape(-1, 2)
        np.testing.assert_array_equal(result.counts.reshape(-1, 2), want)


def test_edges_a_single_tag_an_empty_run_and_rates():
    counter = CounterAnalyzer([10], [11], [1])
    counter.process(TagBatch(np.zeros(0, np.int64), np.zeros(0, np.uint8), 0, 10))
    counter.process(TagBatch(np.array([5]), np.array([1], np.uint8), 0, 10))
    assert len(counter.result()) == 0 and np.isnan(counter.result().rate_cps()[0])
    t = np.array([10, 12, 14, 10**12 + 10])
    counter.process(TagBatch(t, np.array([10, 1, 1, 11], np.uint8), 10, 2 * 10**12))
    result = counter.result()
    assert result.counts.tolist() == [[2]] and result.rate_cps()[0] == pytest.approx(2.0)
    with pytest.raises(Exception, match="marker channel is also a counted channel"):
        CounterAnalyzer([1], None, [1, 2])
