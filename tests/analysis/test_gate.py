"""Nanotime gating (``[analysis] gate``): the kernels against a plain reference, the gated
analyses independent of chunking, and the gated g2(0) of a biexciton cascade from the
independent generator against its analytic value."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tagstream.analysis.gate import NanotimeGate
from tagstream.analysis.summary import SummarySettings, summarize
from tagstream.errors import AnalysisError
from tagstream.kernels import NO_SYNC
from tagstream.kernels.gate import gate_t2, gate_t3

from ..reference import delays_since_sync, phase_of
from ..world import Detector, Setup, cw, photon_probabilities, pulsed


def _reference_keep(delays, ch, gated, offsets, reach, period, start, stop):
    """Keep a tag unless it is of a gated channel and its phase after the pulse is outside
    [start, stop) (or its raw delay is unknown or not recorded)."""
    keep = []
    for d, c in zip(delays, ch, strict=True):
        if not gated[c]:
            keep.append(True)
        elif d is None or not 0 <= d < reach:
            keep.append(False)
        else:
            keep.append(start + phase_of(d, offsets[c], period, start) < stop)
    return np.array(keep, dtype=bool)


@pytest.mark.parametrize("seed", range(6))
def test_gate_t3_matches_the_reference(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 3000))
    ch = rng.integers(0, 4, n).astype(np.uint8)
    nt = rng.integers(-5, 30_000, n).astype(np.int64)
    unit, period = float(rng.choice([1.0, 4.0, 2.5])), float(rng.choice([12_500.0, 25_000.0]))
    reach = period * float(rng.integers(1, 4))
    offsets = np.zeros(256)
    offsets[1:4] = rng.uniform(-3000, 3000, 3)
    gated = np.zeros(256, dtype=bool)
    gated[[1, 2]] = True
    start = float(rng.uniform(-2000, 5000))
    stop = start + float(rng.uniform(1, period))
    keep = np.empty(n, dtype=bool)
    gate_t3(ch, nt, gated, unit, offsets, reach, period, start, stop, keep)
    expected = _reference_keep(nt * unit, ch, gated, offsets, reach, period, start, stop)
    np.testing.assert_array_equal(keep, expected)


@pytest.mark.parametrize("seed", range(6))
def test_gate_t2_matches_the_reference_in_any_chunking(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(1, 4000))
    t = np.sort(rng.integers(0, 2_000_000, n)).astype(np.int64)
    ch = rng.integers(0, 3, n).astype(np.uint8)  # 0 is the sync
    period, reach = 12_500.0, 25_000.0 + 12_500.0
    offsets = np.zeros(256)
    offsets[2] = float(rng.uniform(-5000, 5000))
    gated = np.zeros(256, dtype=bool)
    gated[[1, 2]] = True
    start, stop = 1000.0, 9000.0
    expected = _reference_keep(
        delays_since_sync(t, ch, 0), ch, gated, offsets, reach, period, start, stop
    )
    cuts = np.sort(rng.integers(0, n + 1, int(rng.integers(0, 6))))
    keep = np.empty(n, dtype=bool)
    last = np.array([NO_SYNC], dtype=np.int64)
    for i0, i1 in zip([0, *cuts], [*cuts, n], strict=True):
        gate_t2(t[i0:i1], ch[i0:i1], np.int64(0), gated, offsets, reach, period, start, stop,
                last, keep[i0:i1])  # fmt: skip
    np.testing.assert_array_equal(keep, expected)


def test_gate_of_empty_and_single_tags():
    gated = np.ones(256, dtype=bool)
    empty = np.empty(0, dtype=bool)
    gate_t3(np.empty(0, np.uint8), np.empty(0, np.int64), gated, 1.0, np.zeros(256), 1e4, 1e4,
            0.0, 5e3, empty)  # fmt: skip
    for nanotime, kept in ((4999, True), (5000, False), (0, True), (10_000, False)):
        keep = np.empty(1, dtype=bool)
        gate_t3(np.array([1], np.uint8), np.array([nanotime]), gated, 1.0, np.zeros(256), 1e4,
                1e4, 0.0, 5e3, keep)  # fmt: skip
        assert keep[0] == kept, nanotime


def _hbt(mode="T3"):
    return Setup(
        detectors=(Detector("A", 1, efficiency=0.8, jitter_ps=30.0),
                   Detector("B", 2, efficiency=0.5, jitter_ps=40.0)),
        mode=mode,
    )  # fmt: skip


def _cascade_truth(mean, g2, tau_x, tau_bx, g0, g1):
    """Gated g2(0) of the biexciton-exciton cascade: 2 p2 q22 / n², with n the mean number of
    photons per pulse inside the gate (exponential and hypoexponential laws)."""
    p1, p2 = photon_probabilities(mean, g2)

    def within(survival, a, b):
        return survival(a) - survival(b)

    def single(x):
        return math.exp(-x / tau_x)

    def biexciton(x):
        return math.exp(-x / tau_bx)

    def exciton(x):  # d1 + d2, d1 ~ Exp(tau_bx), d2 ~ Exp(tau_x)
        return (tau_x * math.exp(-x / tau_x) - tau_bx * math.exp(-x / tau_bx)) / (tau_x - tau_bx)

    # both photons inside: d1 in [g0, g1) and d1 + d2 < g1; with g1 >> tau only d1 >= g0 counts
    both = biexciton(g0)
    n = p1 * within(single, g0, g1) + p2 * (within(biexciton, g0, g1) + within(exciton, g0, g1))
    return 2 * p2 * both / n**2


@pytest.mark.parametrize("mode", ["T3", "T2"])
def test_gated_g2_of_a_cascade_matches_its_analytic_value(mode):
    """A bright biexciton (g2(0) = 0.3) with a 400 ps biexciton photon: the gate from 1 ns to
    50 ns removes most cascades' first photon; the gated g2(0) matches 2 p2 q22 / n² within its
    stated error, and the ungated one the raw truth. (The gate ends well before the next pulse:
    photons that jitter ahead of their own pulse's sync show up at the end of the previous
    period.)"""
    rng = np.random.default_rng(7 if mode == "T3" else 8)
    period, tau_x, tau_bx = 100_000, 3_000.0, 400.0
    world = pulsed(rng, 3 * 10**12, _hbt(mode), period_ps=period, mean_photons=0.05,
                   g2_zero=0.3, tau_ps=tau_x, biexciton_tau_ps=tau_bx)  # fmt: skip
    md = world.batch.metadata
    plain = summarize([world.batch], md, "cascade")
    assert abs(plain.g2_zero.value - world.truth["g2_zero_detected"]) < 4 * plain.g2_zero.error
    settings = SummarySettings(gate=("1 ns", "50 ns"))
    gated = summarize([world.batch], md, "cascade", settings)
    truth = _cascade_truth(0.05, 0.3, tau_x, tau_bx, 1000.0, 50_000.0)
    z = gated.g2_zero
    assert truth < 0.5 * plain.g2_zero.value
    assert abs(z.value - truth) < 4 * z.error, (z.value, z.error, truth)
    block = gated.to_dict()
    assert block["g2"]["gate_ns"] == [1.0, 50.0] and block["blinking"]["gate_ns"] == [1.0, 50.0]
    assert "1-50 ns after the pulse" in gated.text()
    # the decay keeps every photon; the trace counts only gated ones
    assert gated.decay.counts.sum() == plain.decay.counts.sum()
    assert gated.trace.counts.sum() < plain.trace.counts.sum()


def test_gated_histograms_do_not_depend_on_the_chunking():
    rng = np.random.default_rng(3)
    world = pulsed(rng, 2 * 10**11, _hbt("T2"), period_ps=50_000, mean_photons=0.1,
                   g2_zero=0.2, tau_ps=5_000.0, biexciton_tau_ps=300.0)  # fmt: skip
    batch, md = world.batch, world.batch.metadata
    settings = SummarySettings(gate=("2 ns", "40 ns"), trace_bin="10 ms")
    whole = summarize([batch], md, "whole", settings)
    cuts = np.sort(rng.integers(batch.t_begin, batch.t_end, 40))
    parts = summarize(batch.split_at(cuts), md, "parts", settings)
    np.testing.assert_array_equal(whole.g2.counts, parts.g2.counts)
    np.testing.assert_array_equal(whole.trace.counts, parts.trace.counts)
    # the gate keeps exactly the photons whose delay after their sync lies in [2, 40) ns
    gate = NanotimeGate("2 ns", "40 ns", channels=md.channels)
    kept = gate.apply(batch)
    sync = md.channels.sync.number
    raw = delays_since_sync(batch.timestamps, batch.channels, sync)
    delays = np.array([np.nan if d is None else d for d in raw])
    detector = batch.channels != sync
    inside = detector & (delays >= 2000) & (delays < 40_000)
    assert len(kept) == int(np.count_nonzero(inside | ~detector))


def test_a_gate_needs_a_sync_and_fits_in_a_period():
    rng = np.random.default_rng(1)
    world = cw(rng, 10**10, _hbt("T2"), excitation_rate_per_ps=1e-4, decay_rate_per_ps=1e-3)
    with pytest.raises(AnalysisError, match=r"gate: .*laser sync"):
        summarize([world.batch], world.batch.metadata, "cw", SummarySettings(gate=(0, 5000)))
    with pytest.raises(AnalysisError, match="stop must come after"):
        SummarySettings(gate=("5 ns", "1 ns"))
    with pytest.raises(AnalysisError, match=r"give \[start, stop\]"):
        SummarySettings(gate="1 ns")
    world = pulsed(rng, 10**10, _hbt("T3"), period_ps=12_500, mean_photons=0.05)
    with pytest.raises(AnalysisError, match="wider than the laser period"):
        summarize([world.batch], world.batch.metadata, "p", SummarySettings(gate=(0, 20_000)))
