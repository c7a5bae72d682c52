"""The simulator's HOM interferometer: consecutive photons interfere with the set
indistinguishability, crossed polarisations do not, pairs across the simulator's blocks are
not lost; bad settings are one-line errors."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import tagstream as ts
from tagstream.analysis.hom import Interferometer as Model
from tagstream.analysis.summary import SummarySettings, summarize
from tagstream.sources.simulator import ConfigError, load_config
from tagstream.sources.simulator.interferometer import Interferometer, InterferometerSpec
from tagstream.sources.simulator.presets import resolve_config

PERIOD = 12_500.0


def _hom_run(polarisation: str, seed: int, own: dict):
    config = resolve_config("dot-4k-hom")
    config = replace(config, interferometer=replace(config.interferometer,
                                                    polarisation=polarisation))  # fmt: skip
    with ts.simulate(config, duration="3 s", seed=seed) as run:
        tags = run.read()
    settings = SummarySettings(kinds={"hom": {"polarisation": polarisation, "g2_zero": 0.02,
                                              **own}})  # fmt: skip
    return summarize([tags], tags.metadata, polarisation, settings).hom_value


def test_the_simulated_interferometer_gives_the_set_indistinguishability():
    """dot-4k-hom (M = 0.9, g2(0) = 0.02): M from the crossed reference within 3 sigma of 0.9,
    the crossed run's own M within 3 sigma of 0."""
    crossed = _hom_run("crossed", 1, {})
    assert abs(crossed.value) < 3 * crossed.error
    reference = {"crossed_ratio": crossed.peaks.ratio,
                 "crossed_ratio_err": crossed.peaks.ratio_err}  # fmt: skip
    parallel = _hom_run("parallel", 2, reference)
    assert abs(parallel.value - 0.9) < 3 * parallel.error, (parallel.value, parallel.error)


@pytest.mark.parametrize("m", [0.0, 1.0])
def test_pairs_across_blocks_interfere_too(m):
    """Photons routed in blocks of 10 pulses (a tenth of the meetings cross a block's end):
    the outputs' coincidences per slot stand as the model says (zero delay over ±1 slots
    within 3 sigma of 2/3 for M = 0 and of 0 for M = 1)."""
    rng = np.random.default_rng(3)
    n, p = 1_000_000, 0.1
    pulses = np.flatnonzero(rng.random(n) < p)
    times = pulses * PERIOD + rng.exponential(250.0, pulses.size)
    router = Interferometer(InterferometerSpec(indistinguishability=m), PERIOD, np.ones(2))
    arrive, output = [], []
    block = 10 * PERIOD
    for k in range(n // 10):
        lo, hi = np.searchsorted(times, [k * block, (k + 1) * block])
        a, o = router.route(times[lo:hi], (k + 1) * block, rng, last=k == n // 10 - 1)
        arrive.append(a)
        output.append(o)
    arrive, output = np.concatenate(arrive), np.concatenate(output)
    slot = np.floor(arrive / PERIOD).astype(np.int64)
    c0 = np.bincount(slot[output == 0], minlength=n + 3).astype(float)
    c1 = np.bincount(slot[output == 1], minlength=n + 3).astype(float)
    peak = {j: float(c0[1 : n - 1] @ c1[1 + j : n - 1 + j]) for j in (-1, 0, 1)}
    side = (peak[-1] + peak[1]) / 2
    ratio = peak[0] / side
    error = np.sqrt(max(peak[0], 1) / side**2 + ratio**2 / (2 * side))
    assert abs(ratio - Model().ratio(m)) < 3 * error, (ratio, error)


@pytest.mark.parametrize(
    ("change", "message"),
    [({"excitation": {"mode": "cw", "pump_rate": "10 MHz"}}, "needs pulsed"),
     ({"exciton": {"lifetime": "5 ns", "quantum_yield": 0.9}}, "below 1/8"),
     ({"interferometer": {"polarisation": "circular"}}, "'parallel' or 'crossed'"),
     ({"setup": {"detectors": [{"name": "A", "channel": 1}, {"name": "B", "channel": 2},
                               {"name": "C", "channel": 3}]}}, "exactly two detectors")],
)  # fmt: skip
def test_bad_interferometer_settings_are_one_line_errors(change, message):
    raw = {"excitation": {"mode": "pulsed", "repetition_rate": "80 MHz"},
           "exciton": {"lifetime": "250 ps", "quantum_yield": 0.9},
           "biexciton": {"lifetime": "40 ps", "quantum_yield": 0.02}, "interferometer": {}}
    raw |= change
    with pytest.raises(ConfigError, match=message):
        load_config(raw)
