"""Synthetic tag streams for kernel tests: Poisson channels, correlated pairs, ties, bin edges;
given tags as a run."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
from tagstream.benchmarks.datasets import merge  # shared with the benchmarks

from tagstream.sources.run import Run, batch_span_ps
from tagstream.tags import TagBatch


def poisson_times(rng, rate_per_ps, t_begin, t_end):
    n = rng.poisson(rate_per_ps * (t_end - t_begin))
    return np.sort(rng.integers(t_begin, t_end, n, dtype=np.int64))


def hbt_stream(rng, t_begin, t_end, rates, pair_rate=0.0, lag_spread=0, grid=1, nanotime=None):
    """Poisson tags per channel plus correlated A->B pairs, snapped to a grid (ties, bin edges).

    ``rates`` maps channel -> rate (1/ps). Pairs put a tag on channel 1 and one on channel 2 at
    a random lag in [-lag_spread, lag_spread].
    """
    parts = [(poisson_times(rng, r, t_begin, t_end), c) for c, r in rates.items()]
    if pair_rate > 0:
        base = poisson_times(rng, pair_rate, t_begin, t_end)
        lag = rng.integers(-lag_spread, lag_spread + 1, base.size)
        other = np.clip(base + lag, t_begin, t_end - 1)
        parts += [(base, 1), (other, 2)]
    t, ch = merge(parts)
    if grid > 1:
        t = (t - t_begin) // grid * grid + t_begin
    return t, ch


def batch_of(t, ch, t_begin, t_end, gaps=None, nanotimes=None, unit=None, period=None):
    return TagBatch(
        t,
        ch,
        t_begin,
        t_end,
        gaps=gaps,
        nanotimes=nanotimes,
        nanotime_unit_ps=unit,
        sync_period_ps=period,
    )


def random_cuts(rng, batch, n_cuts, window=0):
    """Cut times: random, exactly on tags, just around tags, duplicated (empty batches)."""
    cuts = list(rng.integers(batch.t_begin, batch.t_end + 1, n_cuts))
    if len(batch):
        picks = batch.timestamps[rng.integers(0, len(batch), n_cuts)]
        cuts += list(picks) + list(picks + 1) + list(picks - window // 2)
    cuts += cuts[:3]  # duplicates -> empty batches
    return np.array(cuts, dtype=np.int64)


def read_in_batches(run, span):
    """All of ``run`` through ``run.batches(span)``, checking that the batches tile
    ``[0, run.t_end)`` without gaps; the batches joined into one."""
    parts = list(run.batches(span))
    assert parts[0].t_begin == 0 and parts[-1].t_end == run.t_end
    for prev, nxt in itertools.pairwise(parts):
        assert prev.t_end == nxt.t_begin
    return TagBatch.concat(parts)


class TagsRun(Run):
    """Given tags (and the intervals in which none could be recorded) in batches of 100 ms, as
    fast as they can be read."""

    def __init__(self, t, ch, metadata, duration_ps: int, gaps=None):
        self.t, self.ch, self.metadata, self.duration_ps = t, ch, metadata, duration_ps
        self.gaps = np.zeros((0, 2), np.int64) if gaps is None else np.asarray(gaps, np.int64)

    def batches(self, duration=None) -> Iterator[TagBatch]:
        span = batch_span_ps(duration)
        for a in range(0, self.duration_ps, span):
            b = min(a + span, self.duration_ps)
            lo, hi = np.searchsorted(self.t, [a, b])
            gaps = np.clip(self.gaps, a, b)
            gaps = gaps[gaps[:, 1] > gaps[:, 0]]
            yield TagBatch(
                self.t[lo:hi], self.ch[lo:hi], a, b, gaps=gaps if len(gaps) else None,
                metadata=self.metadata,
            )  # fmt: skip
