"""XX–X cross-correlation, heralded g2 and g3 through the run summary, on the separately
written cascade generator (tests/world/cascade.py): each value within 3 sigma of the
generator's own moments, across sync dividers, cable delays given or not, dark counts, T2 and
T3 and a low rate; the JSON blocks, text lines and figure panels."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tagstream.analysis.measurement import kind
from tagstream.analysis.plots import summary_figure
from tagstream.analysis.summary import SummarySettings, summarize
from tagstream.analysis.triples import TripleAnalyzer
from tagstream.analysis.triples_zero import g3_zero, heralded_g2_zero
from tagstream.errors import AnalysisError

from ..world import Detector, Setup
from ..world.cascade import Dot, cascade
from .test_summary import check_schema

PERIOD = 12_500
DURATION = 8 * 10**10  # 80 ms: 6.4 million pulses

SETUPS = {
    "T2, sync / 4, a 1.5 ns delay given": dict(
        mode="T2", divider=4, delays=(0, 1_500, 0), given=True, dark=100.0, scale=1.0
    ),
    "T3, a 0.8 ns delay not given, dark counts": dict(
        mode="T3", divider=1, delays=(0, 0, 800), given=False, dark=2_500.0, scale=1.0
    ),
    "T2, low rate": dict(mode="T2", divider=1, delays=(300, 0, 0), given=True, dark=50.0,
                         scale=0.4),
}  # fmt: skip


def _setup(case, names):
    dets = tuple(
        Detector(name, k + 1, efficiency=1.0, delay_ps=delay, jitter_ps=30.0 + 10 * k,
                 dark_cps=case["dark"] * (1 + 0.3 * k))
        for k, (name, delay) in enumerate(zip(names, case["delays"], strict=False))
    )  # fmt: skip
    return Setup(detectors=dets, mode=case["mode"], sync_divider=case["divider"],
                 nanotime_unit_ps=4.0)  # fmt: skip


def _delays(case, names):
    if not case["given"]:
        return None
    return {n: f"{d} ps" for n, d in zip(names, case["delays"], strict=False) if d}


def _summary(world, kinds, case, names):
    settings = SummarySettings(kinds=kinds, delays=_delays(case, names))
    return summarize([world.batch], world.batch.metadata, "cascade", settings)


@pytest.mark.parametrize("name", list(SETUPS))
def test_g3_of_three_dots_and_of_one(name):
    """Three independent dots (g3(0,0) near 2/9) and one dot with its cascade and background
    light (g3(0,0) near 0): the generator's E[n_A n_B n_C] / (E[n_A] E[n_B] E[n_C])."""
    case = SETUPS[name]
    names = ("A", "B", "C")
    p = 0.3 * case["scale"]
    for seed, dots, bg in ((1, [Dot(p)] * 3, 2e3), (2, [Dot(p, 0.1 * case["scale"])], 4e4)):
        rng = np.random.default_rng(seed)
        route = {"X": [0.1, 0.1, 0.1], "BX": [0.1, 0.1, 0.1]}
        world = cascade(rng, DURATION, _setup(case, names), PERIOD, dots, route, [bg] * 3)
        s = _summary(world, {"g3": {"channels": list(names)}}, case, names)
        z, truth = s.g3_zero, world.truth["g3_zero"]
        assert abs(z.value - truth) < 3 * z.error, (name, seed, z.value, z.error, truth)
        assert z.excitation == "pulsed"
    block = s.to_dict()["g3"]
    check_schema(json.loads(json.dumps(s.to_dict())))
    assert block["g3_zero"] == z.value and block["channels"] == list(names)
    assert block["note"] is None and "g3(0,0) = " in s.text()


@pytest.mark.parametrize("name", list(SETUPS))
def test_heralded_g2_of_the_exciton_given_the_biexciton(name):
    """Two dots with cascades: the BX line heralds, the X line is split on an HBT pair. The
    heralded g2(0) (the other dot's and the background's X photons) within 3 sigma of the
    generator's E[n_H] E[n_H n_A n_B] / (E[n_H n_A] E[n_H n_B])."""
    case = SETUPS[name]
    names = ("H", "A", "B")
    rng = np.random.default_rng(5)
    dots = [Dot(0.3 * case["scale"], 0.1 * case["scale"])] * 2
    route = {"BX": [0.3, 0.0, 0.0], "X": [0.0, 0.15, 0.15]}
    world = cascade(rng, DURATION, _setup(case, names), PERIOD, dots, route, [0, 3e3, 3e3])
    s = _summary(world, {"heralded": {"herald": "H", "pair": ["A", "B"]}}, case, names)
    z, truth = s.heralded_zero, world.truth["heralded_g2_zero"]
    assert abs(z.value - truth) < 3 * z.error, (name, z.value, z.error, truth)
    block = s.to_dict()["heralded"]
    check_schema(json.loads(json.dumps(s.to_dict())))
    assert block["channels"] == ["H", "A", "B"] and block["g2_zero"] == z.value
    assert "heralded g2(0) = " in s.text() and "herald H" in s.text()


@pytest.mark.parametrize("name", list(SETUPS))
def test_xx_x_bunching(name):
    """One dot, its BX line on one detector (1 in 30 X photons leak into it), its X line on
    the other: the zero-delay peak over the adjacent ones within 3 sigma of the generator's
    E[n_XX n_X] / (E[n_XX] E[n_X])."""
    case = SETUPS[name]
    names = ("XX", "X")
    rng = np.random.default_rng(9)
    dots = [Dot(0.3 * case["scale"], 0.05 * case["scale"])]
    route = {"BX": [0.3, 0.0], "X": [0.01, 0.3]}
    world = cascade(rng, DURATION // 2, _setup(case, names), PERIOD, dots, route, [500, 500])
    s = _summary(world, {"xx_x": {"biexciton": "XX", "exciton": "X"}}, case, names)
    b, truth = s.xx_x_value, world.truth["xx_x_bunching"]
    assert b.value > 2 and abs(b.value - truth) < 3 * b.error, (name, b.value, b.error, truth)
    block = s.to_dict()["xx_x"]
    check_schema(json.loads(json.dumps(s.to_dict())))
    assert block["bunching"] == b.value and block["pair"] == ["XX", "X"]
    assert "XX–X bunching = " in s.text()
    titles = [ax.get_title() for ax in summary_figure(s).axes]
    assert any(t.startswith("XX–X bunching = ") for t in titles)


def test_unrequested_kinds_say_so_and_bad_settings_are_errors():
    rng = np.random.default_rng(4)
    case = SETUPS["T2, low rate"]
    world = cascade(rng, 10**10, _setup(case, ("A", "B", "C")), PERIOD, [Dot(0.3)],
                    {"X": [0.1, 0.1, 0.1]})  # fmt: skip
    s = summarize([world.batch], world.batch.metadata, "plain", SummarySettings())
    check_schema(json.loads(json.dumps(s.to_dict())))
    for name, key in (("g3", "g3_zero"), ("heralded", "g2_zero"), ("xx_x", "bunching")):
        block = s.to_dict()[name]
        assert block[key] is None and block["note"].startswith("not requested")
    for table, message in (
        ({"g3": {"channels": ["A", "B"]}}, "three channel names"),
        ({"g3": {"channels": ["A", "B", "C"], "bin": "fast"}}, "bin"),
        ({"heralded": {"herald": "A"}}, "give pair"),
        ({"xx_x": {"biexciton": "A", "exciton": "B", "colour": "red"}}, "unknown setting"),
    ):
        with pytest.raises(AnalysisError, match=message):
            SummarySettings.from_dict({**table})


def test_g3_panel_and_the_cw_estimate():
    """The g3 panel; and CW, uncorrelated light (g3(0,0) = 1 at every lag) over a 10 ns zero
    window: the normalisation by N_A (N_B w / T) (N_C w / T) within 3 sigma of 1."""
    rng = np.random.default_rng(11)
    case = SETUPS["T2, low rate"]
    names = ("A", "B", "C")
    world = cascade(rng, DURATION, _setup(case, names), PERIOD, [Dot(0.3)] * 3,
                    {"X": [0.1, 0.1, 0.1]}, [2e3] * 3)  # fmt: skip
    s = summarize([world.batch], world.batch.metadata, "panel",
                  SummarySettings(kinds={"g3": {"channels": list(names)}}))  # fmt: skip
    titles = [ax.get_title() for ax in summary_figure(s).axes]
    assert any(t.startswith("g3(0,0) = ") for t in titles)
    light = cascade(rng, 2 * 10**11, _setup(case, names), PERIOD, [], {}, [2e6] * 3)
    own = {"channels": list(names), "zero_window": "10 ns", "window": "20 ns"}
    cw = summarize([light.batch], light.batch.metadata, "cw",
                   SummarySettings(excitation="cw", kinds={"g3": own}))  # fmt: skip
    z = cw.g3_zero
    assert z.excitation == "cw" and z.window_ps == 10_000 and z.counts["central"] > 50
    assert abs(z.value - 1.0) < 3 * z.error, (z.value, z.error)


def test_stated_errors_cover_the_truth_as_often_as_they_claim():
    """30 runs of three dots with cascades on a three-way split: g3(0,0) and the heralded g2(0)
    (the first detector heralding the other two) within one stated sigma of the generator's
    values in about 68 % of the runs, within two in about 95 %, without a bias."""
    case = dict(mode="T2", divider=1, delays=(0, 0, 0), given=False, dark=100.0)
    names = ("A", "B", "C")
    z = {"g3": [], "heralded": []}
    for seed in range(30):
        rng = np.random.default_rng(1000 + seed)
        world = cascade(rng, DURATION // 8, _setup(case, names), PERIOD, [Dot(0.3, 0.1)] * 3,
                        {"X": [0.1] * 3, "BX": [0.1] * 3}, [2e3] * 3)  # fmt: skip
        analyzer = TripleAnalyzer(*names, window=int(2.6 * PERIOD), bin=PERIOD // 20,
                                  channels=world.batch.metadata.channels)  # fmt: skip
        analyzer.period_ps = PERIOD
        analyzer.process(world.batch)
        result = analyzer.result()
        for name, estimate, key in (("g3", g3_zero, "g3_zero"),
                                    ("heralded", heralded_g2_zero, "heralded_g2_zero")):
            v = estimate(result, "pulsed", 1_000)
            z[name].append((v.value - world.truth[key]) / v.error)
    for name, values in z.items():
        values = np.abs(np.array(values))
        inside1, inside2 = np.mean(values < 1), np.mean(values < 2)
        assert 0.5 <= inside1 <= 0.85 and inside2 >= 0.85, (name, inside1, inside2)
        assert abs(np.mean(z[name])) < 3 / np.sqrt(len(values)), (name, np.mean(z[name]))


def test_the_live_status_of_each_kind():
    """Each kind's part of the terminal's status line, from its snapshot as the live analysis
    takes it (and a dash before any)."""
    rng = np.random.default_rng(12)
    case = SETUPS["T2, low rate"]
    names = ("XX", "X", "Y")
    route = {"BX": [0.3, 0.0, 0.0], "X": [0.0, 0.15, 0.15]}
    world = cascade(rng, DURATION // 4, _setup(case, names), PERIOD, [Dot(0.3, 0.1)], route,
                    [0, 3e3, 3e3])  # fmt: skip
    own = {"xx_x": {"biexciton": "XX", "exciton": "X"},
           "heralded": {"herald": "XX", "pair": ["X", "Y"]},
           "g3": {"channels": list(names)}}  # fmt: skip
    settings = SummarySettings(kinds=own)
    md = world.batch.metadata
    for name, prefix in (("xx_x", "XX–X "), ("heralded", "heralded g2(0) "),
                         ("g3", "g3(0,0) ")):  # fmt: skip
        cls = kind(name)
        measurement = cls.build(settings, md, [])
        (spec,) = measurement.series()
        assert cls.live_status({spec.name: spec}, {}, settings) == prefix + "—"
        measurement.process(world.batch)
        (snap,) = measurement.snapshots((0, world.duration_ps), world.duration_ps, True)
        text = cls.live_status({spec.name: spec}, {spec.name: snap}, settings)
        assert text.startswith(prefix) and "±" in text, text


def test_peaks_leaking_out_of_their_windows_are_warned_about():
    """A 2 ns exciton at a 12.5 ns period: 4 % of each peak lies outside its window; the decay
    fit of the run's lifetime detector (the first of the HBT pair, here an X detector) says
    so, and g3(0,0) and the XX–X bunching carry the warning."""
    rng = np.random.default_rng(13)
    case = SETUPS["T3, a 0.8 ns delay not given, dark counts"]
    names = ("X", "Y", "XX")
    route = {"BX": [0.0, 0.0, 0.3], "X": [0.15, 0.15, 0.0]}
    dots = [Dot(0.3, 0.1, tau_x_ps=2_000.0)] * 2
    world = cascade(rng, DURATION // 4, _setup(case, names), PERIOD, dots, route, [3e3, 3e3, 0])
    own = {"xx_x": {"biexciton": "XX", "exciton": "X"}, "g3": {"channels": list(names)}}
    s = summarize([world.batch], world.batch.metadata, "leaky", SummarySettings(kinds=own))
    for part in ("g3", "xx_x"):
        assert any(w.startswith(f"{part}: ") and "outside its 12.5 ns window" in w
                   for w in s.warnings), (part, s.warnings)  # fmt: skip


def test_a_window_too_short_says_so():
    rng = np.random.default_rng(14)
    case = SETUPS["T2, low rate"]
    names = ("A", "B", "C")
    world = cascade(rng, 10**10, _setup(case, names), PERIOD, [Dot(0.3)] * 3,
                    {"X": [0.1, 0.1, 0.1]})  # fmt: skip
    for name, own in (("g3", {"channels": list(names)}),
                      ("heralded", {"herald": "A", "pair": ["B", "C"]})):  # fmt: skip
        settings = SummarySettings(kinds={name: {**own, "window": "5 ns", "bin": "500 ps"}})
        s = summarize([world.batch], world.batch.metadata, "short", settings)
        assert s.values[f"{name}_zero"] is None
        assert any(n.startswith(f"{name}: the window ±5 ns is too short") for n in s.notes), s.notes
