"""The fast simulator kernels against slow, obviously correct references: the random deviates,
the CW emitter jumped from one detected photon to the next (against a walk through every
excitation), and the window kernels (against numpy's stable sort)."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from scipy import linalg, stats

from tagstream.kernels.cw_emission import (
    MODE_CHAIN,
    MODE_DARK,
    MODE_SPECTRAL,
    cw_detected,
    killed_generator,
    undetected_levels,
)
from tagstream.kernels.detection import sort_nearly_sorted, split_window
from tagstream.kernels.random import (
    exponential,
    gamma_int,
    next_exponential,
    next_normal,
    next_uniform,
    normal,
    poisson,
    uniform,
)
from tagstream.sources.simulator.cw_model import cw_tables

MASK = (1 << 64) - 1


# --------------------------------------------------------------------------- random
def _splitmix_uniforms(seed: int, n: int) -> list[float]:
    """splitmix64 (Steele, Lea & Flood) in Python integers, top 53 bits as a fraction."""
    out, s = [], seed & MASK
    for _ in range(n):
        s = (s + 0x9E3779B97F4A7C15) & MASK
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        out.append((z >> 11) / 2.0**53)
    return out


@njit
def _mixed(seed, n):
    """Draws of the three kinds, alternately from the array and the register generators."""
    st = np.empty(1, np.uint64)
    st[0] = np.uint64(seed)
    s = np.uint64(seed)
    a = np.empty(3 * n)
    b = np.empty(3 * n)
    for i in range(n):
        a[3 * i] = exponential(st)
        a[3 * i + 1] = normal(st)
        a[3 * i + 2] = uniform(st)
        b[3 * i], s = next_exponential(s)
        b[3 * i + 1], s = next_normal(s)
        b[3 * i + 2], s = next_uniform(s)
    return a, b


@njit
def _uniforms(seed, n):
    s = np.uint64(seed)
    out = np.empty(n)
    for i in range(n):
        out[i], s = next_uniform(s)
    return out


def test_register_and_array_generators_give_the_same_numbers():
    a, b = _mixed(2024, 100_000)
    np.testing.assert_array_equal(a, b)
    for seed in (0, 1, 2**62 + 5, 2**63 - 1):
        np.testing.assert_array_equal(_uniforms(seed, 50), _splitmix_uniforms(seed, 50))


@njit
def _gammas(seed, n, shape):
    st = np.empty(1, np.uint64)
    st[0] = np.uint64(seed)
    out = np.empty(n)
    for i in range(n):
        out[i] = gamma_int(st, shape)
    return out


@njit
def _poissons(seed, n, mu):
    st = np.empty(1, np.uint64)
    st[0] = np.uint64(seed)
    out = np.empty(n, np.int64)
    for i in range(n):
        out[i] = poisson(st, mu)
    return out


@pytest.mark.parametrize("shape", [1, 2, 6, 7, 12, 60, 5000])
def test_gamma_of_whole_shape(shape):
    x = _gammas(11 + shape, 200_000, shape)
    assert stats.kstest(x, stats.gamma(shape).cdf).pvalue > 1e-3
    assert np.all(_gammas(3, 10, 0) == 0.0)


@pytest.mark.parametrize("mu", [0.0, 1e-3, 0.7, 4.0, 9.999, 10.0, 37.5, 900.0])
def test_poisson_counts(mu):
    k = _poissons(7 + int(mu * 10), 300_000, mu)
    if mu == 0:
        assert np.all(k == 0)
        return
    assert k.min() >= 0
    law = stats.poisson(mu)
    lo, hi = int(law.ppf(1e-4)), int(law.ppf(1 - 1e-4))
    edges = np.arange(lo, hi + 2)
    observed = np.array(
        [np.count_nonzero(k < lo)]
        + [np.count_nonzero(k == j) for j in edges[:-1]]
        + [np.count_nonzero(k > hi)]
    )
    p = np.concatenate([[law.cdf(lo - 1)], law.pmf(edges[:-1]), [law.sf(hi)]])
    keep = p * k.size > 5  # chi-square cells with enough expected counts
    observed = np.append(observed[keep], observed[~keep].sum())
    expected = np.append(p[keep], p[~keep].sum()) * k.size
    if expected[-1] == 0:
        observed, expected = observed[:-1], expected[:-1]
    expected *= observed.sum() / expected.sum()
    assert stats.chisquare(observed, expected).pvalue > 1e-3


# --------------------------------------------------------------------------- CW emitter
def _walk(t0, t1, seg_start, seg_state, p, tau_x, qy_x, tau_bx, qy_bx, eta, level, rng):
    """Every excitation and decay in turn: the obviously correct CW emitter. Returns the
    detected photons' times and kinds (0 X, 1 BX) and the level at ``t1``."""
    t, times, kinds = t0, [], []
    while True:
        k = int(np.searchsorted(seg_start, t, side="right")) - 1
        edge = seg_start[k + 1] if k + 1 < len(seg_start) else t1
        edge = min(edge, t1)
        s = seg_state[k]
        g, gb = 1.0 / tau_x[s], 1.0 / tau_bx
        total = (p, g + p, gb)[level]
        wait = rng.exponential(1.0 / total)
        if t + wait >= edge:  # nothing happens before the edge; waits are memoryless
            t = edge
            if edge >= t1:
                return np.array(times), np.array(kinds, np.int64), level
            continue
        t += wait
        if level == 0:
            level = 1
        elif level == 1:
            if rng.random() < g / (g + p):
                level = 0
                if rng.random() < qy_x[s] and rng.random() < eta:
                    times.append(t)
                    kinds.append(0)
            else:
                level = 2
        else:
            level = 1
            if rng.random() < qy_bx and rng.random() < eta:
                times.append(t)
                kinds.append(1)


def _fast(t0, t1, seg_start, seg_state, p, tau_x, qy_x, tau_bx, qy_bx, eta, level, seed,
          cap=None, mode=None):  # fmt: skip
    tables = cw_tables(p, tau_x, qy_x, tau_bx, qy_bx, eta)
    modes = tables.mode  # spectral where the tables are well conditioned; else the chain
    if mode == MODE_CHAIN:
        modes = np.where(tables.mode == MODE_DARK, MODE_DARK, MODE_CHAIN)
    carry = np.array([t0, float(level)])
    times, kinds, step = [np.zeros(0)], [np.zeros(0, np.int64)], 0
    while carry[0] < t1:
        n_cap = cap or 1 << 16
        out = (np.empty(n_cap), np.empty(n_cap, np.int64), np.empty(n_cap, np.int64))
        n = cw_detected(
            float(t0), float(t1), np.asarray(seg_start, float), np.asarray(seg_state, np.int64),
            p, tau_x, qy_x, tau_bx, qy_bx, eta, modes, tables.mu, tables.c_x, tables.c_bx,
            tables.cum_weight, tables.t_neg, tables.t_far, tables.x_far, np.array([1.0]), carry,
            seed + step, *out,
        )  # fmt: skip
        times.append(out[0][:n])
        kinds.append(out[2][:n])
        step += 1
    return np.concatenate(times), np.concatenate(kinds), int(carry[1])


#: (pump per ps, tau_x per state, qy_x per state, tau_bx, qy_bx, eta)
MODELS = {
    "preset-like": (5e-5, [5000.0], [0.9], 50.0, 0.02, 0.3),
    "saturated, strong BX": (2e-3, [1000.0], [0.8], 200.0, 0.6, 0.5),
    "perfect detection": (4e-4, [2000.0], [1.0], 100.0, 1.0, 1.0),
}


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("mode", [MODE_SPECTRAL, MODE_CHAIN])
def test_cw_stream_has_the_law_of_the_walk(name, mode):
    p, tau, qy, tau_bx, qy_bx, eta = MODELS[name]
    tau, qy = np.array(tau), np.array(qy)
    seg = ([0.0], [0])
    tables = cw_tables(p, tau, qy, tau_bx, qy_bx, eta)
    assert tables.mode[0] == (MODE_CHAIN if name == "perfect detection" else MODE_SPECTRAL)
    span = 4e9 if name == "preset-like" else 2e8
    ref_t, ref_k, _ = _walk(
        0.0, span, *seg, p, tau, qy, tau_bx, qy_bx, eta, 0, np.random.default_rng(1)
    )
    fast_t, fast_k, _ = _fast(0.0, span, *seg, p, tau, qy, tau_bx, qy_bx, eta, 0, 99, mode=mode)
    assert ref_t.size > 2000
    # the rate: both against the stationary chain
    g, gb = 1 / tau[0], 1 / tau_bx
    pi = np.array([1.0, p / g, p * p / (g * gb)])
    pi /= pi.sum()
    rate = eta * (qy[0] * g * pi[1] + qy_bx * gb * pi[2])
    for n in (ref_t.size, fast_t.size):
        assert abs(n - rate * span) < 5 * np.sqrt(rate * span) + 5
    # the intervals (antibunching: none near zero after an X photon), and the BX share
    assert stats.ks_2samp(np.diff(ref_t), np.diff(fast_t)).pvalue > 1e-3
    for a, b in ((ref_k, fast_k),):
        share_a, share_b = a.mean(), b.mean()
        err = np.sqrt(share_a * (1 - share_a) / a.size + share_b * (1 - share_b) / b.size)
        assert abs(share_a - share_b) < 5 * err + 1e-12
    # the interval after a BX photon (the emitter is left with an exciton) has its own law
    after_bx_ref = np.diff(ref_t)[ref_k[:-1] == 1]
    after_bx = np.diff(fast_t)[fast_k[:-1] == 1]
    if min(after_bx_ref.size, after_bx.size) > 200:
        assert stats.ks_2samp(after_bx_ref, after_bx).pvalue > 1e-3
    assert np.all(np.diff(fast_t) > 0)


def test_cw_blinking_segments_and_block_edges_keep_the_law():
    """Short blocks across ON / grey / dark segments: the photons per block and the level at
    the block's end, against the walk (the level at an edge is drawn from exp(A dt))."""
    p, tau_bx, qy_bx, eta = 1e-3, 80.0, 0.3, 0.4
    tau, qy = np.array([1500.0, 400.0, 1500.0]), np.array([0.9, 0.3, 0.0])
    seg_start, seg_state = [0.0, 3000.0, 5000.0, 7000.0], [0, 1, 2, 0]
    span = 9000.0
    blocks = 6000
    rng = np.random.default_rng(5)
    ref, fast = np.zeros((7, 3)), np.zeros((7, 3))
    for b in range(blocks):
        start = b % 3
        t, _, level = _walk(
            0.0, span, seg_start, seg_state, p, tau, qy, tau_bx, qy_bx, eta, start, rng
        )
        ref[min(t.size, 6), level] += 1
        t, _, level = _fast(
            0.0, span, seg_start, seg_state, p, tau, qy, tau_bx, qy_bx, eta, start, 7 * b
        )
        fast[min(t.size, 6), level] += 1
    keep = (ref + fast) > 20
    table = np.vstack([ref[keep], fast[keep]])
    assert stats.chi2_contingency(table).pvalue > 1e-3


def test_cw_kernel_edge_cases():
    p, tau, qy, tau_bx, qy_bx, eta = MODELS["saturated, strong BX"]
    tau, qy = np.array(tau), np.array(qy)
    # an empty block writes nothing and leaves the walk where it was
    t, _, level = _fast(5e6, 5e6, [0.0], [0], p, tau, qy, tau_bx, qy_bx, eta, 2, 1)
    assert t.size == 0 and level == 2
    # room for one photon per call: every call continues where the last one stopped
    one_t, _, _ = _fast(0.0, 2e8, [0.0], [0], p, tau, qy, tau_bx, qy_bx, eta, 0, 3, cap=1)
    many_t, _, _ = _fast(0.0, 2e8, [0.0], [0], p, tau, qy, tau_bx, qy_bx, eta, 0, 3)
    assert np.all(np.diff(one_t) > 0) and one_t.max() < 2e8
    assert stats.ks_2samp(np.diff(one_t), np.diff(many_t)).pvalue > 1e-3
    # same seed, same photons
    again = _fast(0.0, 2e8, [0.0], [0], p, tau, qy, tau_bx, qy_bx, eta, 0, 3)[0]
    np.testing.assert_array_equal(again, many_t)
    # a dark emitter (no quantum yield) emits nothing, but its level still moves
    assert cw_tables(p, tau, np.zeros(1), tau_bx, 0.0, eta).mode[0] == MODE_DARK
    dark = _fast(0.0, 1e7, [0.0], [0], p, tau, np.zeros(1), tau_bx, 0.0, eta, 0, 3)
    assert dark[0].size == 0


@pytest.mark.parametrize("dt", [0.0, 1.0, 300.0, 5e4, 1e9])
def test_level_after_an_undetected_stretch_matches_expm(dt):
    p, g, a, gb, b = 1e-3, 1 / 900.0, 0.3, 1 / 70.0, 0.2
    generator = np.asarray(killed_generator(p, g, a, gb, b))
    for level in range(3):
        got = undetected_levels(level, dt, p, g, a, gb, b)
        row = linalg.expm(generator * dt)[level]
        if row.sum() > 1e-250:
            np.testing.assert_allclose(got, row / row.sum(), rtol=1e-9, atol=1e-12)
        assert got.sum() == pytest.approx(1.0)


def test_spectral_tables_give_the_first_detection_density():
    p, tau_bx, qy_bx, eta = 5e-5, 50.0, 0.02, 0.013
    tau, qy = np.array([5000.0, 900.0]), np.array([0.9, 0.2])
    tables = cw_tables(p, tau, qy, tau_bx, qy_bx, eta)
    assert list(tables.mode) == [MODE_SPECTRAL, MODE_SPECTRAL]
    for s in range(2):
        g, gb = 1 / tau[s], 1 / tau_bx
        generator = np.asarray(killed_generator(p, g, qy[s] * eta, gb, qy_bx * eta))
        for t in (0.0, 30.0, 2e3, 1e5, 3e6):
            e = linalg.expm(generator * t)
            decay = np.exp(-tables.mu[s] * t)
            for level in range(3):
                f_x = e[level, 1] * g * qy[s] * eta
                f_bx = e[level, 2] * gb * qy_bx * eta
                assert tables.c_x[s, level] @ decay == pytest.approx(f_x, rel=1e-6, abs=1e-18)
                assert tables.c_bx[s, level] @ decay == pytest.approx(f_bx, rel=1e-6, abs=1e-18)


# --------------------------------------------------------------------------- windows
@pytest.mark.parametrize("seed", range(6))
def test_split_and_sort_match_numpy(seed):
    rng = np.random.default_rng(seed)
    n_pend, n_new = rng.integers(0, 30), rng.integers(0, 300)
    pend_t = rng.integers(900, 1100, n_pend)
    new_t = np.sort(rng.integers(0, 2000, n_new)) + rng.integers(-40, 40, n_new) * (seed % 2)
    if seed == 5:
        new_t[:] = 1000  # all equal: stability decides
    pend_d, new_d = rng.integers(0, 3, n_pend), rng.integers(0, 3, n_new)
    t0, t_end = 950, 1500
    size = n_pend + n_new
    out_t, out_d = np.empty(size, np.int64), np.empty(size, np.int64)
    rest_t, rest_d = np.empty(size, np.int64), np.empty(size, np.int64)
    n_out, n_rest = split_window(
        pend_t, pend_d, new_t, new_d, t0, t_end, out_t, out_d, rest_t, rest_d
    )
    all_t, all_d = np.concatenate([pend_t, new_t]), np.concatenate([pend_d, new_d])
    now = (all_t >= t0) & (all_t < t_end)
    np.testing.assert_array_equal(out_t[:n_out], all_t[now])
    np.testing.assert_array_equal(out_d[:n_out], all_d[now])
    np.testing.assert_array_equal(rest_t[:n_rest], all_t[all_t >= t_end])
    np.testing.assert_array_equal(rest_d[:n_rest], all_d[all_t >= t_end])
    order = np.argsort(all_t[now], kind="stable")
    for max_moves in (10**9, 3):
        t, d = out_t[:n_out].copy(), out_d[:n_out].copy()
        done = sort_nearly_sorted(t, d, max_moves)
        if not done:  # gave up: a stable sort finishes the job
            o = np.argsort(t, kind="stable")
            t, d = t[o], d[o]
        np.testing.assert_array_equal(t, all_t[now][order])
        np.testing.assert_array_equal(d, all_d[now][order])
    assert sort_nearly_sorted(np.zeros(0, np.int64), np.zeros(0, np.int64), 0)
    assert sort_nearly_sorted(np.array([5]), np.array([1]), 0)
