"""Per-state decays without the switching bins: interior bins, their intervals, what they keep.

The acceptance data are T3 tags from ``tests/synthetic.py`` (``pulsed_t3``, an independent
generator) driven by a three-state telegraph written here: exponential dwell times, each jump to
one of the two other states at random, every state with its own brightness and lifetime.
"""

from __future__ import annotations

import numpy as np
import pytest

from tagstream.analysis.api import blinking
from tagstream.analysis.blinking import analyze_blinking
from tagstream.analysis.blinking_states import GREY, INVALID, OFF, ON, interior_bins
from tagstream.analysis.state_resolved import (
    g2_in_state,
    in_state,
    state_lifetimes,
    state_shares,
)
from tagstream.tags import TagBatch
from tagstream.tags.intervals import contains, is_normalized, total

from ..synthetic import pulsed_t3

BIN_PS = 10**10  # 10 ms
# per state code: (brightness relative to ON, lifetime ps, mean dwell ps)
STATES = {ON: (1.0, 6_000.0, 150e9), GREY: (0.4, 2_500.0, 50e9), OFF: (0.1, 900.0, 80e9)}
NAMES = {ON: "on", GREY: "grey", OFF: "off"}


# ---------------------------------------------------------------- data


def _three_state_telegraph(rng, duration_ps):
    """Switch times (from 0) and the state after each; exponential dwells, random jumps."""
    times, states = [0], [int(rng.integers(3))]
    while times[-1] < duration_ps:
        times.append(times[-1] + int(rng.exponential(STATES[states[-1]][2])))
        states.append(int((states[-1] + rng.integers(1, 3)) % 3))
    return np.array(times, np.int64), np.array(states)


@pytest.fixture(scope="module")
def blinking_dot():
    """10 s of a pulsed dot (2.5 MHz, ~300 kcps ON) blinking between ON, grey and OFF,
    generated in 1 s pieces; returns the tags and their blinking analysis at 10 ms."""
    rng = np.random.default_rng(2024)
    duration, piece = 10 * 10**12, 10**12
    switch, states = _three_state_telegraph(rng, duration)
    per_state = {s: (bright, tau) for s, (bright, tau, _) in STATES.items()}
    parts = []
    for t0 in range(0, duration, piece):
        tags, _ = pulsed_t3(
            rng,
            piece,
            period_ps=400_000,
            p1=0.24,
            g2_zero=0.05,
            blinking=(switch - t0, states, per_state),
        )
        parts.append(
            TagBatch(
                tags.timestamps + t0,
                tags.channels,
                t0,
                t0 + piece,
                nanotimes=tags.nanotimes,
                metadata=tags.metadata,
            )
        )
    tags = TagBatch.concat(parts)
    return tags, blinking(tags, bin="10 ms", n_states=3)


# ---------------------------------------------------------------- interior bins


def test_interior_bins_drop_both_ends_of_every_run():
    s = np.array([2, 2, 2, 2, 0, 1, 1, 2, 2, 2, -1, 0, 0, 0, 0, 1, 1, 1, 1, 1], dtype=np.int8)
    want = [-1, 2, 2, -1, -1, -1, -1, -1, 2, -1, -1, -1, 0, 0, -1, -1, 1, 1, 1, -1]
    np.testing.assert_array_equal(interior_bins(s), want)
    assert interior_bins(s).dtype == np.int8
    for short in ([], [2], [2, 2]):
        got = interior_bins(np.array(short, dtype=np.int8))
        assert got.shape == (len(short),) and np.all(got == INVALID)
    np.testing.assert_array_equal(interior_bins(np.array([1, 1, 1])), [-1, 1, -1])


def test_interior_intervals_are_a_subset_without_the_switches():
    rng = np.random.default_rng(3)
    level = np.repeat(rng.integers(0, 3, 400), rng.integers(1, 8, 400))  # runs of 1..7 bins
    counts = rng.poisson(np.array([3.0, 30.0, 60.0])[level])
    exposure = np.full(counts.size, BIN_PS, np.int64)
    exposure[100:120], counts[100:120] = 0, 0  # a gap
    t0 = 987_654_321
    res = analyze_blinking(counts, exposure, t0, BIN_PS, thresholds_cps=[1500.0, 4500.0])
    centres = t0 + np.arange(counts.size) * BIN_PS + BIN_PS // 2
    inner = interior_bins(res.states)
    for name, code in (("off", OFF), ("grey", GREY), ("on", ON)):
        every, interior = res.intervals(name), res.intervals(name, interior=True)
        assert is_normalized(interior) and interior.dtype == np.int64
        np.testing.assert_array_equal(res.intervals(name, interior=False), every)
        np.testing.assert_array_equal(contains(interior, centres), inner == code)
        np.testing.assert_array_equal(contains(every, centres), res.states == code)
        assert total(interior) == np.count_nonzero(inner == code) * BIN_PS < total(every)
        # no interior bin touches another state, a gap or the ends of the trace
        kept = np.flatnonzero(inner == code)
        assert np.all(res.states[kept - 1] == code) and np.all(res.states[kept + 1] == code)
    assert np.all(inner[99:121] == INVALID)


# ---------------------------------------------------------------- per-state lifetimes


def _mono_taus(decays):
    return {name: float(d.fit(model="mono").tau_ps[0]) for name, d in decays.items()}


def test_state_lifetimes_are_free_of_switching_bins(blinking_dot):
    """ON 6 ns, grey 2.5 ns, OFF 0.9 ns within 3 % at 10 ms bins; with every bin of a state
    (the former selection) the grey and OFF decays pick up slower photons of the switches."""
    tags, blink = blinking_dot
    assert blink.fit.n_states == 3
    taus = _mono_taus(state_lifetimes(tags, blink, "A", bin="32 ps"))
    assert set(taus) == {"on", "grey", "off"}
    for code, name in NAMES.items():
        truth = STATES[code][1]
        assert abs(taus[name] / truth - 1) < 0.03, (name, taus[name], truth)
    mixed = _mono_taus(state_lifetimes(tags, blink, "A", bin="32 ps", interior=False))
    assert mixed["grey"] / STATES[GREY][1] - 1 > 0.06, mixed
    assert mixed["off"] / STATES[OFF][1] - 1 > 0.06, mixed


def test_state_shares_report_what_the_selection_keeps(blinking_dot):
    tags, blink = blinking_dot
    shares = state_shares(tags, blink)
    every = state_shares(tags, blink, interior=False)
    inner = interior_bins(blink.states)
    assert set(shares) == set(every) == {"on", "grey", "off"}
    for code, name in NAMES.items():
        share = shares[name]
        assert share.state == name
        assert share.live_ps == np.count_nonzero(inner == code) * BIN_PS
        assert share.state_live_ps == every[name].live_ps == every[name].state_live_ps
        assert share.state_live_ps == pytest.approx(blink.fractions[name] * tags.live_ps)
        assert share.photons == np.isin(in_state(tags, blink, name).channels, [1, 2]).sum()
        assert every[name].photons == every[name].state_photons == share.state_photons
        # about two bins per dwell go: most of the time of 50-150 ms dwells stays
        assert 0.5 < share.live_fraction < 0.95 and 0.5 < share.photon_fraction < 0.95
    assert sum(s.state_photons for s in shares.values()) == len(tags)


def test_on_state_g2_uses_the_interior_bins_by_default(blinking_dot):
    tags, blink = blinking_dot
    g_on = g2_in_state(tags, blink, "A", "B", window="2 us", bin="1 ns")
    assert g_on.live_ps == state_shares(tags, blink)["on"].live_ps
    g_all = g2_in_state(tags, blink, "A", "B", window="2 us", bin="1 ns", interior=False)
    assert g_all.live_ps == pytest.approx(blink.fractions["on"] * tags.live_ps)
    assert g_on.g2_zero().value < 0.15
