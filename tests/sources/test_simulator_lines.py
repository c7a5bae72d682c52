"""The simulator's spectral filters and three-detector setups: the biexciton line reaches only
the detectors that pass it, the exciton line the others, at the rates of the model; the cascade
correlations of the simulated light are those of the model."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tagstream as ts
from tagstream.analysis.summary import SummarySettings, summarize
from tagstream.sources.simulator import ConfigError, load_config
from tagstream.sources.simulator.expectations import photon_statistics
from tagstream.sources.simulator.presets import resolve_config

CASCADE = {"xx_x": {"biexciton": "XX", "exciton": "X1"},
           "heralded": {"herald": "XX", "pair": ["X1", "X2"]}}  # fmt: skip


@pytest.fixture(scope="module")
def cascade_run():
    with ts.simulate("dot-4k-cascade", duration="1 s", seed=2) as run:
        tags = run.read()
    return tags, summarize([tags], tags.metadata, "cascade", SummarySettings(kinds=CASCADE))


def test_each_line_reaches_its_detectors_at_the_model_rate(cascade_run):
    """Rates per detector within 4 Poisson sigma of the model: <N> Poisson excitations per
    pulse; an X photon from every excited pulse (QY_X), a BX photon from those with two or more
    (QY_BX); the dichroic sends all BX light to XX and splits the X light between X1 and X2.
    The 22 ns dead time blinds a detector for the pulse after each of its clicks."""
    tags, _ = cascade_run
    config = resolve_config("dot-4k-cascade")
    mu, f = config.excitation.mean_excitations, 80e6
    p_any, p_two = -math.expm1(-mu), 1 - math.exp(-mu) * (1 + mu)
    eta = config.setup.collection_efficiency * 0.65
    dark = 25.0 + 50.0 / 3  # dark counts and a third of the background, per detector
    want = {"X1": f * p_any * 0.95 * eta / 2, "X2": f * p_any * 0.95 * eta / 2,
            "XX": f * p_two * 0.475 * eta}  # fmt: skip
    counts = tags.counts()
    for number, name in ((1, "X1"), (2, "X2"), (3, "XX")):
        expected = want[name] + dark  # 1 s
        expected *= 1 - expected / f  # the pulse after a click is lost
        assert abs(counts[number] - expected) < 4 * math.sqrt(expected), name


def test_the_cascade_correlations_of_the_filtered_lines(cascade_run):
    """The XX-X bunching is 1 / P(an excited pulse) = 1 / (1 - exp(-<N>)) (a BX photon
    announces the X photon of its own pulse; dark counts lower it by < 1 %); the X line alone is
    antibunched, and given an XX photon no second X photon comes (one exciton per pulse)."""
    _, s = cascade_run
    mu = resolve_config("dot-4k-cascade").excitation.mean_excitations
    bunching = s.xx_x_value
    assert abs(bunching.value - 1 / -math.expm1(-mu)) < 3 * bunching.error + 0.01 * bunching.value
    assert s.g2_zero.value < 3 * s.g2_zero.error + 1e-3
    heralded = s.heralded_zero
    assert heralded.counts["herald"] > 30_000 and heralded.counts["pairs_a"] > 1_000
    assert heralded.value < 3 * heralded.error
    assert any("no triples at zero delay" in w for w in heralded.warnings) or heralded.value > 0


def test_three_detectors_see_no_three_photons_at_once():
    """A three-way HBT of one dot: a third excitation collapses by Auger, so three photons of
    one pulse never come; g3(0,0) is consistent with zero while g2(0) shows the biexciton."""
    with ts.simulate("dot-4k-hbt3", duration="0.5 s", seed=3) as run:
        tags = run.read()
    settings = SummarySettings(kinds={"g3": {"channels": ["A", "B", "C"]}})
    s = summarize([tags], tags.metadata, "hbt3", settings)
    assert s.g2_zero.value > 0.1
    assert s.g3_zero.value < 3 * s.g3_zero.error


@pytest.mark.parametrize(
    ("change", "message"),
    [({"line": "XY"}, "line: one of"),
     ({"line": "BX", "cw": True}, "pulsed excitation only")],
)  # fmt: skip
def test_bad_filters_are_one_line_errors(change, message):
    detector = {"name": "A", "channel": 1, "line": change["line"]}
    raw = {"setup": {"detectors": [detector, {"name": "B", "channel": 2}]}}
    if change.get("cw"):
        raw["excitation"] = {"mode": "cw", "pump_rate": "10 MHz"}
    with pytest.raises(ConfigError, match=message):
        load_config(raw)


def test_without_filters_every_detector_sees_both_lines():
    config = resolve_config("dot-4k")
    assert config.detection_probabilities("X") == config.detection_probabilities("BX")
    assert config.detection_probabilities("all") == config.detection_probabilities("X")
    filtered = resolve_config("dot-4k-cascade")
    assert np.count_nonzero(filtered.detection_probabilities("BX")) == 1
    assert np.count_nonzero(filtered.detection_probabilities("X")) == 2
    # the model's prediction for the X pair: no cascade puts a photon on each
    x1, x2, both = photon_statistics(filtered, "on")
    assert both == 0 and x1 == x2 > 0
    assert photon_statistics(config, "on")[2] > 0


def test_dead_time_longer_than_the_period_does_not_bias_the_xx_x_bunching():
    """At five times the collection the X detector, dead for 22 ns after a click, misses the
    pulse after a bunched XX–X pair: the +1 peak is depleted (11 sigma), which would raise the
    bunching by 7 %; the bunching over the larger side peak stays within 3 sigma of the model,
    with a warning."""
    from dataclasses import replace

    config = resolve_config("dot-4k-cascade")
    config = replace(config, setup=replace(config.setup, collection_efficiency=0.5))
    with ts.simulate(config, duration="3 s", seed=5) as run:
        tags = run.read()
    s = summarize([tags], tags.metadata, "bright", SummarySettings(kinds=CASCADE))
    b, truth = s.xx_x_value, 1 / -math.expm1(-config.excitation.mean_excitations)
    assert b.areas[-1] - b.areas[1] > 5 * math.sqrt(b.areas[-1] + b.areas[1])
    assert abs(b.value - truth) < 3 * b.error, (b.value, b.error, truth)
    assert any("dead time longer than the period" in w for w in s.warnings)
