"""The web view's numbers on photons from the separately written generator (``tests/synthetic``),
followed snapshot by snapshot as the page gets them: g2(0) by the live method (window sums, or
the peak fit where the peaks overlap), the decay fit on the displayed bins, the blinking
fractions and the "last N s" window each recover what the generator put in, across purity,
jitter, dark counts, unequal detectors and rates."""

from __future__ import annotations

import numpy as np
import pytest

from tagstream.analysis.measurement import registered
from tagstream.analysis.series import LatestSeries
from tagstream.analysis.summary_settings import SummarySettings
from tagstream.pipeline.live_analysis import LiveAnalysis
from tagstream.tags import TagBatch
from tests.synthetic import cw_antibunched, pulsed_t3, telegraph

SECOND_PS = 10**12


def _followed(batch: TagBatch, every: str = "0.5 s") -> dict[str, LatestSeries]:
    """The live snapshots of ``batch`` (fed in uneven pieces) as the view follows them."""
    live = LiveAnalysis(batch.metadata, SummarySettings(), every=every)
    followed = {spec.name: LatestSeries(spec) for spec in live.specs}
    cuts = np.sort(np.random.default_rng(0).choice(batch.timestamps, 37, replace=False))
    for piece in batch.split_at(cuts):
        for snapshot in live.process(piece):
            followed[snapshot.series].add(snapshot)
    for snapshot in live.final():
        followed[snapshot.series].add(snapshot)
    return followed


def _numbers(followed: dict[str, LatestSeries], window_s: float | None = None) -> dict:
    """The panels' numbers by (panel, number) key, of the last ``window_s`` seconds if given."""
    series = {n: f.recorded() for n, f in followed.items() if f.last is not None}
    since = None
    if window_s is not None:
        end = max(int(s.covered_ps[-1, 1]) for s in series.values())
        before = end - round(window_s * SECOND_PS)
        since = {n: f.recorded(before_ps=before) for n, f in followed.items() if f.last}
        since = {n: s for n, s in since.items() if s is not None}
    out = {}
    for cls in registered():
        for panel in cls.view_panels(series, SummarySettings(), since):
            out.update({(panel.key, n.key): n for n in panel.numbers})
    return out


def _unequal(batch: TagBatch, rng, keep_b: float) -> TagBatch:
    """Detector B sees only ``keep_b`` of its photons (a weaker detector)."""
    keep = (batch.channels != 2) | (rng.random(batch.timestamps.size) < keep_b)
    return TagBatch(batch.timestamps[keep], batch.channels[keep], batch.t_begin, batch.t_end,
                    nanotimes=batch.nanotimes[keep], metadata=batch.metadata)  # fmt: skip


@pytest.mark.parametrize(
    ("g2_zero", "tau_ps", "jitter_ps", "dark_cps", "keep_b", "p1"),
    [
        (0.1, 2_000.0, 50.0, 0.0, 1.0, 0.02),  # a good single-photon source
        (0.1, 1_000.0, 50.0, 50_000.0, 0.8, 0.02),  # dark counts a fifth of the signal
        (0.4, 6_000.0, 150.0, 500.0, 0.6, 0.02),  # biexcitons, slow decay, dark counts, weak B
        (0.05, 1_000.0, 30.0, 100.0, 1.0, 0.006),  # a low count rate
    ],
)
def test_pulsed_g2_zero_and_lifetime_on_the_page(g2_zero, tau_ps, jitter_ps, dark_cps, keep_b,
                                                 p1):  # fmt: skip
    rng = np.random.default_rng(11)
    batch, truth = pulsed_t3(rng, 3 * SECOND_PS, p1=p1, g2_zero=g2_zero, tau_ps=tau_ps,
                             jitter_ps=jitter_ps, eta=0.25, dark_cps=dark_cps)  # fmt: skip
    batch = _unequal(batch, rng, keep_b)
    numbers = _numbers(_followed(batch, every="1 s"))
    shown = numbers[("g2", "g2_zero")]
    # dark counts add an uncorrelated floor under the zero peak: the page's g2(0) is of the
    # detected light, so the expectation includes it (signal fraction rho per detector)
    rates = np.bincount(batch.channels, minlength=3)[1:] / 3.0
    signal = rates - dark_cps * np.array([1.0, keep_b])
    rho_a, rho_b = signal / rates
    expected = truth * rho_a * rho_b + (1 - rho_a * rho_b)
    assert shown.error is not None and shown.error > 0
    assert abs(shown.value - expected) < 3 * shown.error, (shown.value, expected, shown.error)
    if dark_cps >= 10_000:  # the floor they add is seen, not lost in the noise
        assert abs(expected - truth) > 5 * shown.error
    assert numbers[("g2", "purity")].value == pytest.approx(1 - shown.value, abs=1e-12)
    tau = numbers[("lifetime", "tau")]
    assert abs(tau.value * 1e3 - tau_ps) < max(3 * tau.error * 1e3, 0.02 * tau_ps), (tau, tau_ps)


def test_cw_antibunching_on_the_page():
    rng = np.random.default_rng(12)
    # pumped at 1e8/s, radiating at 1e9/s, 1 % detected: 0.9 Mcps and a 0.9 ns wide dip
    batch, (truth, _k) = cw_antibunched(rng, 3 * SECOND_PS // 2, k_pump=1e-4, k_rad=1e-3,
                                        eta=0.01, background_cps=3_000.0)  # fmt: skip
    shown = _numbers(_followed(batch, every="0.5 s"))[("g2", "g2_zero")]
    assert shown.value is not None and shown.error is not None
    assert abs(shown.value - truth) < 3 * shown.error + 0.02, (shown.value, truth, shown.error)


def test_blinking_fractions_on_the_page():
    rng = np.random.default_rng(13)
    duration = 8 * SECOND_PS
    switches, states = telegraph(rng, duration, (200e9, 150e9))  # ON 200 ms, OFF 150 ms
    blinking = (switches, states, {0: (1.0, 3_000.0), 1: (0.05, 800.0)})
    batch, _ = pulsed_t3(rng, duration, period_ps=100_000, p1=0.05, g2_zero=0.1, eta=0.2,
                         blinking=blinking)  # fmt: skip
    on_time = np.diff(np.minimum(switches, duration))[states[:-1] == 0].sum()
    numbers = _numbers(_followed(batch, every="4 s"))
    on = numbers[("trace", "on_fraction")].value
    off = numbers[("trace", "off_fraction")].value
    assert on is not None and off is not None
    # threshold fractions at 10 ms bins of 150-200 ms dwells: edges cost a few per cent
    assert abs(on - on_time / duration) < 0.05, (on, on_time / duration)
    assert on + off + numbers[("trace", "grey_fraction")].value == pytest.approx(1.0)


def test_last_seconds_window_recovers_the_later_emitter():
    """The first half is a poor emitter (g2(0) 0.5), the second a good one (0.05): since the
    start the page shows the mixture, over the last 1.5 s the good one alone."""
    rng = np.random.default_rng(14)
    half = 2 * SECOND_PS
    first, poor = pulsed_t3(rng, half, p1=0.03, g2_zero=0.5, eta=0.25)
    second, good = pulsed_t3(rng, half, p1=0.03, g2_zero=0.05, eta=0.25)
    joined = TagBatch(
        np.concatenate([first.timestamps, second.timestamps + half]),
        np.concatenate([first.channels, second.channels]), 0, 2 * half,
        nanotimes=np.concatenate([first.nanotimes, second.nanotimes]), metadata=first.metadata,
    )  # fmt: skip
    followed = _followed(joined)
    window = _numbers(followed, window_s=1.5)[("g2", "g2_zero")]
    whole = _numbers(followed)[("g2", "g2_zero")]
    assert abs(window.value - good) < 3 * window.error, (window.value, good, window.error)
    assert whole.value - good > 5 * whole.error  # the mixture: clearly worse
    assert abs(whole.value - 0.5 * (poor + good)) < 3 * whole.error + 0.02
