"""One scenario per preset: a simulated measurement analysed by the project's own analyses must
give back the model's numbers (computed from the settings, not from the analyses).

Tolerances: g2(0) within 3 sigma of the model's expectation; lifetimes within 2 %; blinking
fractions within 0.02 of the ground-truth timeline; power-law exponents within 0.1.
"""

from dataclasses import replace

import numpy as np
import pytest

import tagstream as ts
from tagstream.analysis.lifetime import LifetimeAnalyzer
from tagstream.analysis.summary import default_g2_binning
from tagstream.analysis.trace import TraceAnalyzer
from tagstream.sources.simulator import resolve_config
from tagstream.sources.simulator.expectations import (
    cw_recovery_rate,
    expected_cw_g2_zero,
    expected_g2_zero,
    noise_clicks,
)

pytestmark = pytest.mark.slow


def measure(name_or_config, seconds, seed=1):
    run = ts.simulate(name_or_config, duration=f"{seconds} s", seed=seed)
    tags = run.read()
    fractions = {k: v for k, v in run.truth.fractions().items() if v > 0}
    return run, tags, fractions


def pulsed_g2_zero(tags, config):
    window, bin_ps = default_g2_binning(config.excitation.period_ps)
    return ts.g2(tags, "A", "B", window=window, bin=bin_ps).g2_zero()


def assert_g2_zero(tags, config, fractions):
    z = pulsed_g2_zero(tags, config)
    expected = expected_g2_zero(config, fractions)
    assert abs(z.value - expected) < 3 * z.error, (z, expected)
    return z


def state_lifetime(tags, run, state, model="mono", bin="16 ps"):
    decay = ts.lifetime(tags.restricted_to(run.truth.intervals(state)), "A", bin=bin)
    fit = decay.fit(model)
    return fit.tau_ps[-1], fit


def assert_fractions(trace, fractions, n_states, names=None, **options):
    """The analysis' fractions against the truth; ``names`` maps a true state to the analysis'
    name (a two-level trace is called ON/OFF whatever dims the lower level)."""
    blink = trace.states(n_states=n_states, **options)
    for state, f in fractions.items():
        seen = blink.fractions[(names or {}).get(state, state)]
        assert abs(seen - f) < 0.02, (state, blink.fractions, fractions)
    return blink


def test_cspbi3_10nm_pure_bright_weakly_blinking():
    config = resolve_config("cspbi3-10nm")
    run, tags, fractions = measure(config, 60)
    z = assert_g2_zero(tags, config, fractions)
    assert z.value < 0.05  # ~98 % purity, the literature value
    tau, _ = state_lifetime(tags, run, "on")
    assert abs(tau / 6_000 - 1) < 0.02
    assert fractions["on"] > 0.9
    assert_fractions(ts.trace(tags, bin="10 ms"), fractions, 2)


def test_cspbi3_6_6nm_frequent_off_and_grey_with_power_laws():
    config = resolve_config("cspbi3-6.6nm")
    run, tags, fractions = measure(config, 120)
    z = assert_g2_zero(tags, config, fractions)
    assert 0.06 < z.value < 0.14
    # blinking bunches the adjacent peaks above the uncorrelated level, yet the adjacent-peak
    # ratio still matches the model (which holds the state over neighbouring pulses)
    assert z.detail.adjacent_norm > 1.2
    for state, tau_true in (("on", 4_000), ("grey", 1_500)):
        tau, _ = state_lifetime(tags, run, state)
        assert abs(tau / tau_true - 1) < 0.02, state
    tau_off, _ = state_lifetime(tags, run, "off", model="bi")
    assert abs(tau_off / 900 - 1) < 0.02
    assert_fractions(ts.trace(tags, bin="10 ms"), fractions, 3)
    # dwell-time exponents need many dwells: stream 1500 s through a trace analyzer
    long_run = ts.simulate(config, duration="1500 s", seed=2)
    trace = TraceAnalyzer(bin="10 ms", channels=long_run.metadata.channels)
    for batch in long_run.batches():
        trace.process(batch)
    blink = trace.result().states(n_states=3, powerlaw_min_ps=5 * 10**10)
    assert abs(blink.on_exponent - 1.6) < 0.1, blink.on_exponent
    assert abs(blink.off_exponent - 1.5) < 0.1, blink.off_exponent


def test_cspbbr3_5nm_impure_and_flickering():
    config = resolve_config("cspbbr3-5nm")
    run, tags, fractions = measure(config, 60)
    z = assert_g2_zero(tags, config, fractions)
    assert 0.2 < z.value < 0.3
    tau, _ = state_lifetime(tags, run, "on")
    assert abs(tau / 6_500 - 1) < 0.02
    tau_off, _ = state_lifetime(tags, run, "off", model="bi")  # with the fast BX photons
    assert abs(tau_off / 900 - 1) < 0.02
    assert_fractions(ts.trace(tags, bin="1 ms"), fractions, 2)  # 15-30 ms dwells: fine bins


def test_cspbbr3_4nm_salt_pure_and_nearly_non_blinking_then_grey_at_high_excitation():
    config = resolve_config("cspbbr3-4nm-salt")
    run, tags, fractions = measure(config, 60)
    z = assert_g2_zero(tags, config, fractions)
    assert z.value + 2 * z.error < 0.05  # purity above 95 %
    tau, _ = state_lifetime(tags, run, "on")
    assert abs(tau / 5_500 - 1) < 0.02
    assert fractions["on"] > 0.97
    high = replace(config, excitation=replace(config.excitation, mean_excitations=0.5))
    run, tags, fractions = measure(high, 60)
    assert fractions["grey"] > 0.05  # the switching speeds up with excitation
    blink = assert_fractions(ts.trace(tags, bin="10 ms"), fractions, 2, {"grey": "off"})
    assert blink.thresholds_cps[0] > 10 * noise_clicks(high).sum()  # grey is well above OFF


@pytest.mark.parametrize(
    "name,tau,quantum_yield",
    [
        ("cspbbr3-9.3nm", 19_000, 0.54),
        ("cspbbr3-5.7nm", 7_500, 0.91),
        ("cspbbr3-3.1nm", 4_700, 0.76),
    ],
)
def test_cspbbr3_size_series(name, tau, quantum_yield):
    config = resolve_config(name)
    run, tags, fractions = measure(config, 60)
    assert_g2_zero(tags, config, fractions)
    fitted, _ = state_lifetime(tags, run, "on")
    assert abs(fitted / tau - 1) < 0.02
    # the count rate carries the quantum yield
    rates = np.array([np.count_nonzero(tags.channels == c) for c in (1, 2)]) / 60
    exc = config.excitation
    photons = exc.repetition_rate_hz * -np.expm1(-exc.mean_excitations) * quantum_yield
    expected = photons * np.array(config.detection_probabilities()) + noise_clicks(config)
    assert np.all(np.abs(rates / expected - 1) < 0.03)


def test_dot_4k_fast_decay_and_strong_biexciton():
    config = resolve_config("dot-4k")
    run, tags, fractions = measure(config, 20)
    z = assert_g2_zero(tags, config, fractions)
    assert 0.4 < z.value < 0.65
    tau, fit = state_lifetime(tags, run, "on", bin="4 ps")
    assert abs(tau / 250 - 1) < 0.02
    assert abs(fit.irf_sigma_ps - 50) < 5


def test_cw_antibunching():
    config = resolve_config("cw-antibunching")
    _, tags, _ = measure(config, 5)
    z = ts.g2(tags, "A", "B", window="60 ns", bin="200 ps").g2_zero()
    assert z.excitation == "cw"
    assert abs(z.value - expected_cw_g2_zero(config)) < 3 * z.error
    k = cw_recovery_rate(config)
    assert abs(z.detail.rate_per_ps - k) < 3 * z.detail.rate_err_per_ps + 0.02 * k


def test_cdse_slow_emitter_long_ranges():
    config = resolve_config("cdse-slow")
    run, tags, fractions = measure(config, 300)
    z = assert_g2_zero(tags, config, fractions)
    assert z.method == "fit"  # microsecond peaks leak into each other's windows
    # the decay spans the 10 us period; the dark counts are known from the setup, so the
    # background is fixed at their level
    on = tags.restricted_to(run.truth.intervals("on"))
    analyzer = LifetimeAnalyzer("A", bin="2560 ps", channels=tags.channel_map)
    analyzer.process(on)
    decay = analyzer.result()
    noise = noise_clicks(config)[0] * (1 + config.setup.detectors[0].afterpulsing)
    background = noise * on.live_ps * 1e-12 * decay.bin_ps / config.excitation.period_ps
    fit = decay.fit("bi", background=background)
    assert abs(fit.tau_ps[-1] / 1.2e6 - 1) < 0.02
    assert_fractions(ts.trace(tags, bin="10 ms"), fractions, 2)
    long_run = ts.simulate(config, duration="2000 s", seed=2)
    trace = TraceAnalyzer(bin="10 ms", channels=long_run.metadata.channels)
    for batch in long_run.batches():
        trace.process(batch)
    blink = trace.result().states(n_states=2, powerlaw_min_ps=5 * 10**10)
    assert abs(blink.on_exponent - 1.5) < 0.1, blink.on_exponent
    assert abs(blink.off_exponent - 1.5) < 0.1, blink.off_exponent
