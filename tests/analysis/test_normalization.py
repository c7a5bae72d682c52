"""Normalisation: interval self-overlap, multi-tau cell sums, and g2 = 1 for uncorrelated light."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagstream.analysis.g2 import G2Analyzer
from tagstream.analysis.g2_log import LogG2Analyzer
from tagstream.analysis.normalization import cell_runs, linear_expected
from tagstream.kernels import run_overlap
from tagstream.tags import TagBatch
from tagstream.tags import intervals as iv

from .. import reference


def random_cover(rng, t_begin, t_end, n_gaps):
    cuts = np.sort(rng.integers(t_begin, t_end, 2 * n_gaps))
    return iv.subtract(np.array([[t_begin, t_end]]), iv.normalize(cuts.reshape(-1, 2)))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_gaps=st.integers(0, 5), shift=st.integers(-300, 300))
def test_run_overlap_matches_bruteforce(seed, n_gaps, shift):
    rng = np.random.default_rng(seed)
    cover = random_cover(rng, -50, 250, n_gaps)
    got = run_overlap(cover[:, 0].copy(), cover[:, 1].copy(), np.ones(len(cover)), np.int64(shift))
    assert got == reference.overlap_bruteforce(cover, shift)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_gaps=st.integers(0, 6),
    cell=st.integers(1, 40),
    m=st.integers(0, 12),
)
def test_cell_pair_sums_match_bruteforce(seed, n_gaps, cell, m):
    rng = np.random.default_rng(seed)
    cover = random_cover(rng, -37, 400, n_gaps)
    lo, hi, val = cell_runs(cover, cell)
    assert np.all(lo[1:] >= hi[:-1])
    assert run_overlap(lo, hi, val, np.int64(m)) == reference.cell_pair_sum(cover, cell, m)


def test_linear_expected_reduces_to_n1_n2_b_over_t():
    cover = np.array([[0, 10**12]])
    edges = np.arange(-1000, 1001, 100)
    e, overlap = linear_expected(edges, cover, 1000, 2000, auto=False)
    np.testing.assert_allclose(overlap, 1e12 - np.abs(0.5 * (edges[:-1] + edges[1:])), rtol=1e-9)
    np.testing.assert_allclose(e, 1000 * 2000 * 100 / 1e12, rtol=1e-8)


def poisson_batch(rng, rates, t_end, gaps=None):
    parts = []
    for ch, rate in rates.items():
        n = rng.poisson(rate * t_end)
        parts.append((rng.integers(0, t_end, n), ch))
    t = np.concatenate([p[0] for p in parts])
    ch = np.concatenate([np.full(len(p[0]), p[1], np.uint8) for p in parts])
    if gaps is not None:
        keep = ~iv.contains(gaps, t)
        t, ch = t[keep], ch[keep]
    order = np.argsort(t, kind="stable")
    return TagBatch(t[order], ch[order], 0, t_end, gaps=gaps)


def pulls(g2, err):
    ok = np.isfinite(g2)
    return (g2[ok] - 1.0) / err[ok]


@pytest.mark.parametrize("auto", [False, True])
def test_uncorrelated_linear_g2_is_one(rng, auto):
    gaps = np.array([[2 * 10**9, 3 * 10**9], [7 * 10**9, 7 * 10**9 + 5 * 10**5]])
    batch = poisson_batch(rng, {1: 1e-5, 2: 2e-5}, 10**10, gaps)
    g = G2Analyzer(1, 1 if auto else 2, window="100 ns", bin="1 ns")
    for part in batch.split_at(rng.integers(0, 10**10, 30)):
        g.process(part)
    p = pulls(g.result().g2, g.result().g2_err)
    assert p.size == 200
    assert np.max(np.abs(p)) < 4.0
    assert abs(np.mean(p)) < 4.0 / np.sqrt(p.size)
    assert 0.75 < np.var(p) < 1.3


@pytest.mark.parametrize("auto", [False, True])
def test_uncorrelated_log_g2_is_one_up_to_long_lags(auto):
    # lags reach 10 % of the run and cross a long gap: the overlap correction is essential.
    # Neighbouring multi-tau lags share tags, so the pulls are judged across 12 realisations.
    gaps = np.array([[3 * 10**9, 4 * 10**9]])
    pulls_per_run = []
    for seed in range(12):
        rng = np.random.default_rng(seed)
        batch = poisson_batch(rng, {1: 1e-5, 2: 1e-5}, 10**10, gaps)
        g = LogG2Analyzer(1, 1 if auto else 2, tau_min="1 ns", tau_max="1 ms")
        for part in batch.split_at(rng.integers(0, 10**10, 10)):
            g.process(part)
        res = g.result()
        pulls_per_run.append(pulls(res.g2, res.g2_err))
    p = np.array(pulls_per_run)
    assert p.shape[1] == len(res.tau_ps) and res.tau_ps[-1] >= 10**9
    assert np.max(np.abs(p)) < 4.5
    assert np.max(np.abs(p.mean(axis=0))) < 4.0 / np.sqrt(len(p))
    assert 0.6 < np.var(p) < 1.4
    # the naive N_A N_B dt / T normalisation is off by far more than the errors at long lags
    naive = res.n_a * res.n_b * res.cell_ps / res.live_ps
    naive_g2 = (res.counts_ab + res.counts_ba) / (2 * naive)
    assert np.max(np.abs(naive_g2 - 1) / res.g2_err) > 10
