"""Nanotime gating (``[analysis] gate``): the kernels against a plain reference, the gated
analyses independent of chunking, and the gated g2(0) of a biexciton cascade from the
independent generator against its analytic value."""

from __future__ import annotations

import numpy as np
import pytest

from tagstream.analysis.gate import NanotimeGate
from tagstream.analysis.plots import summary_figure
from tagstream.analysis.summary import SummarySettings, summarize
from tagstream.errors import AnalysisError
from tagstream.kernels import NO_SYNC
from tagstream.kernels.gate import gate_t2, gate_t3

from ..reference import delays_since_sync, phase_of
from ..world import Detector, Setup, cw, pulsed
from ..world.gating import gated_truth


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


@pytest.mark.parametrize("mode", ["T3", "T2"])
def test_gated_g2_of_a_cascade_matches_its_analytic_value(mode):
    """A bright biexciton (g2(0) = 0.3) with a 400 ps biexciton photon: the gate from 1 ns to
    50 ns removes most cascades' first photon; the gated g2(0) matches the model's value
    (:func:`tests.world.gating.gated_truth`) within its stated error, and the ungated one the
    raw truth. (The gate ends well before the next pulse:
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
    truth = gated_truth(world.truth, (1000.0, 50_000.0))["g2_zero_detected"]
    z = gated.g2_zero
    assert truth < 0.5 * plain.g2_zero.value
    assert abs(z.value - truth) < 4 * z.error, (z.value, z.error, truth)
    block = gated.to_dict()
    assert block["g2"]["gate_ns"] == [1.0, 50.0] and block["blinking"]["gate_ns"] == [1.0, 50.0]
    assert "1-50 ns after the pulse" in gated.text()
    # the decay keeps every photon; the trace counts only gated ones
    assert gated.decay.counts.sum() == plain.decay.counts.sum()
    assert gated.trace.counts.sum() < plain.trace.counts.sum()


GATED_SETUPS = {
    "T2, sync divided by 4, B's cable 1.5 ns (given)": dict(
        setup=Setup(
            detectors=(Detector("A", 1, 0.7, jitter_ps=30.0, dark_cps=100.0),
                       Detector("B", 2, 0.4, delay_ps=1500, jitter_ps=50.0, dark_cps=300.0)),
            mode="T2", sync_divider=4,
        ),
        delays={"B": "1.5 ns"}, offsets={}, mean=0.08, seed=21,
    ),
    "T3, B's cable 800 ps (not given), bright dark counts": dict(
        setup=Setup(
            detectors=(Detector("A", 1, 0.5, jitter_ps=40.0, dark_cps=2000.0),
                       Detector("B", 2, 0.6, delay_ps=800, jitter_ps=40.0, dark_cps=3000.0)),
            mode="T3",
        ),
        delays=None, offsets={"B": 800.0}, mean=0.05, seed=22,
    ),
    "T2, low count rate": dict(
        setup=Setup(
            detectors=(Detector("A", 1, 0.3, jitter_ps=30.0, dark_cps=50.0),
                       Detector("B", 2, 0.3, jitter_ps=30.0, dark_cps=50.0)),
            mode="T2",
        ),
        delays=None, offsets={}, mean=0.1, seed=23,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(GATED_SETUPS))
def test_gated_g2_and_the_gate_share_across_setups(name):
    """The standard purity check on setups that differ: the gated g2(0) within 3 sigma of the
    model's value and each detector's share of photons inside the gate (reported in the g2
    block and the text) within 3 binomial sigma of the model's share."""
    case = GATED_SETUPS[name]
    rng = np.random.default_rng(case["seed"])
    period, gate = 50_000, (1_500.0, 40_000.0)
    world = pulsed(rng, 2 * 10**12, case["setup"], period_ps=period, mean_photons=case["mean"],
                   g2_zero=0.4, tau_ps=4_000.0, biexciton_tau_ps=300.0)  # fmt: skip
    settings = SummarySettings(gate=("1.5 ns", "40 ns"), delays=case["delays"])
    s = summarize([world.batch], world.batch.metadata, "gated", settings)
    want = gated_truth(world.truth, gate, case["offsets"])
    z = s.g2_zero
    assert abs(z.value - want["g2_zero_detected"]) < 3 * z.error, (z.value, z.error, want)
    block = s.to_dict()["g2"]
    counts = np.bincount(world.batch.channels, minlength=3)
    for number, det in ((1, "A"), (2, "B")):
        p, n = want["share"][det], counts[number]
        assert abs(block["gate_share"][det] - p) < 3 * np.sqrt(p * (1 - p) / n), det
    assert f"gate keeps {100 * block['gate_share']['A']:.0f} % of A" in s.text()
    titles = [ax.get_title() for ax in summary_figure(s).axes]
    assert any(t.startswith("g2(0) =") and "the gate keeps" in t for t in titles)


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
