"""Picking the tags of chosen channels and summing photon phases, against one-by-one
references, with empty inputs and a single tag."""

from __future__ import annotations

import numpy as np
import pytest

from tagstream.kernels.selection import phase_sums, select_tags
from tests import reference


@pytest.mark.parametrize("n", [0, 1, 2, 17, 5000])
def test_select_tags_equals_the_reference(n):
    rng = np.random.default_rng(n)
    for channels in ({1}, {1, 2}, {0, 3, 255}, set()):
        t = np.sort(rng.integers(-10**6, 10**12, n)).astype(np.int64)
        ch = rng.choice(np.array([0, 1, 2, 3, 255], np.uint8), n)
        selected = np.zeros(256, np.bool_)
        selected[list(channels)] = True
        out_t, out_i = np.full(n, -7, np.int64), np.full(n, -7, np.int64)
        k = select_tags(t, ch, selected, out_t, out_i)
        ref_t, ref_i = reference.selected_tags(t, ch, channels)
        assert k == ref_t.size
        np.testing.assert_array_equal(out_t[:k], ref_t)
        np.testing.assert_array_equal(out_i[:k], ref_i)


@pytest.mark.parametrize("n", [0, 1, 3, 4000])
@pytest.mark.parametrize("bins", [0, 1, 128])
def test_phase_sums_equal_the_reference(n, bins):
    rng = np.random.default_rng(n + bins)
    period = 12_500.0
    phases = rng.uniform(0, period, n)
    phases[rng.random(n) < 0.3] = np.nan
    if n:
        phases[0] = np.nextafter(period, 0.0)  # the last bin's edge
    hist = np.zeros(bins, np.int64)
    hist[:] = 5  # added to
    timed, total = phase_sums(phases, period, hist)
    ref_timed, ref_total, ref_hist = reference.phase_sums(phases, period, bins)
    assert (timed, total) == (ref_timed, ref_total)
    np.testing.assert_array_equal(hist - 5, ref_hist)


@pytest.mark.parametrize("n", [0, 1, 40, 3000])
@pytest.mark.parametrize("auto", [False, True])
def test_role_counts_below_equal_counting_each_edge(n, auto):
    from tagstream.kernels import role_table
    from tagstream.kernels.multitau_cross import role_counts_below

    rng = np.random.default_rng(n)
    t = np.sort(rng.integers(0, 10**6, n)).astype(np.int64)
    ch = rng.choice(np.array([1, 2, 7], np.uint8), n)
    edges = np.sort(np.concatenate([rng.integers(-10, 10**6 + 10, 30), t[:3], t[-2:]]))
    roles = role_table(1, 1 if auto else 2)
    out = np.full((2, edges.size), -1, np.int64)
    role_counts_below(t, ch, roles, auto, edges.astype(np.int64), out)
    for e, edge in enumerate(edges):
        assert out[0, e] == np.count_nonzero((t < edge) & (ch == 1))
        assert out[1, e] == (0 if auto else np.count_nonzero((t < edge) & (ch == 2)))
