"""HOM interference of consecutive photons through the run summary, on the separately written
interferometer (tests/world/hom.py): V_HOM within 3 sigma of the model's for
indistinguishabilities 0.3, 0.6 and 0.9, M from the crossed reference and from the model alone,
across sync dividers, T2 and T3, unequal splitters and detectors, cable delays given or not."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tagstream.analysis.hom import Interferometer
from tagstream.analysis.plots import summary_figure
from tagstream.analysis.summary import SummarySettings, summarize
from tagstream.errors import AnalysisError

from ..world import Detector, Setup
from ..world.hom import hom
from .test_summary import check_schema

PERIOD = 12_500
DURATION = 2 * 10**11  # 0.2 s: 16 million pulses

CASES = {
    0.3: dict(mode="T2", divider=8, short=0.5, refl=0.5, p_double=1e-3, eff=(0.8, 0.8),
              delay=0, given=True),
    0.6: dict(mode="T3", divider=1, short=0.45, refl=0.55, p_double=1e-3, eff=(0.8, 0.8),
              delay=400, given=True),
    0.9: dict(mode="T2", divider=4, short=0.5, refl=0.5, p_double=3e-3, eff=(0.9, 0.7),
              delay=600, given=False),
}  # fmt: skip


def _run(case, m, parallel, seed):
    dets = (Detector("A", 1, efficiency=case["eff"][0], jitter_ps=30.0, dark_cps=50.0),
            Detector("B", 2, efficiency=case["eff"][1], jitter_ps=45.0, dark_cps=80.0,
                     delay_ps=case["delay"]))  # fmt: skip
    setup = Setup(detectors=dets, mode=case["mode"], sync_divider=case["divider"])
    return hom(np.random.default_rng(seed), DURATION, setup, PERIOD, 0.2, case["p_double"], m,
               parallel=parallel, collection=0.2, short_share=case["short"],
               reflectance=case["refl"])  # fmt: skip


def _summary(world, case, own):
    own = {"short_share": case["short"], "reflectance": case["refl"],
           "g2_zero": world.truth["g2_zero"], **own}  # fmt: skip
    delays = {"B": f"{case['delay']} ps"} if case["given"] and case["delay"] else None
    settings = SummarySettings(kinds={"hom": own}, delays=delays)
    return summarize([world.batch], world.batch.metadata, "hom", settings)


@pytest.mark.parametrize("m", list(CASES))
def test_v_hom_and_the_indistinguishability(m):
    case = CASES[m]
    crossed = _summary(_run(case, m, False, 10), case, {"polarisation": "crossed"})
    ref = crossed.hom_value
    assert abs(ref.value) < 3 * ref.error, ("crossed M", ref.value, ref.error)
    assert "give it as crossed_ratio" in crossed.text()
    world = _run(case, m, True, 11)
    reference = {"crossed_ratio": ref.peaks.ratio, "crossed_ratio_err": ref.peaks.ratio_err}
    s = _summary(world, case, reference)
    v, truth = s.hom_value, world.truth
    assert abs(v.visibility - truth["visibility"]) < 3 * v.visibility_err, (v, truth)
    # M of the interfering pairs: the multi-photon part is taken as weak (see analysis.hom)
    assert abs(v.value - truth["indistinguishability_pairs"]) < 3 * v.error, (v.value, v.error)
    alone = _summary(world, case, {}).hom_value  # against the model's ratio for M = 0
    assert alone.reference == "model" and alone.visibility is None
    assert abs(alone.value - truth["indistinguishability_pairs"]) < 3 * alone.error
    block = json.loads(json.dumps(s.to_dict()))
    check_schema(block)
    assert block["hom"]["visibility"] == v.visibility and block["hom"]["reference"] == "crossed run"
    assert "HOM: M = " in s.text() and "V_HOM = " in s.text()
    assert any(t.startswith("HOM: M = ") for t in (a.get_title() for a in summary_figure(s).axes))


def test_the_model_of_the_five_peaks():
    """50/50 splitters, g2(0) = 0: the peaks at 0, ±1, ±2 periods stand 0.5 (1 - M) : 0.75 : 1,
    and the multi-photon part raises the zero-delay peak."""
    ideal = Interferometer()
    assert ideal.ratio(0.0) == pytest.approx(2 / 3) and ideal.ratio(1.0) == pytest.approx(0)
    assert ideal.side() / 0.25 == pytest.approx(0.75)
    assert Interferometer(g2_zero=0.1).ratio(1.0) > 0


@pytest.mark.parametrize(
    ("own", "message"),
    [({"polarisation": "diagonal"}, "parallel' or 'crossed"),
     ({"reflectance": 1.2}, "between 0 and 1"),
     ({"polarisation": "crossed", "crossed_ratio": 0.6}, "reference of a parallel run"),
     ({"g2_zero": "low"}, "a number"), ({"pair": ["A"]}, "two different channel names"),
     ({"pair": ["A", "A"]}, "two different"), ({"g2_zero": float("nan")}, "finite"),
     ({"crossed_ratio": float("inf")}, "finite"), ({"crossed_ratio_err": 0.01}, "with it"),
     ({"bin": "0 ps"}, "must be positive"), ({"g2_zero": 2.0}, "at most 1")],
)  # fmt: skip
def test_bad_settings_are_one_line_errors(own, message):
    with pytest.raises(AnalysisError, match=message):
        SummarySettings.from_dict({"hom": own})


def test_without_a_source_g2_the_value_says_it_is_taken_as_zero():
    case = CASES[0.3]
    world = _run(case, 0.5, True, 12)
    s = summarize([world.batch], world.batch.metadata, "hom", SummarySettings(kinds={"hom": {}}))
    assert any("g2(0) is taken as 0" in w for w in s.warnings)


def test_accidentals_a_delay_past_half_a_period_and_wrong_settings():
    """80 kcps of dark counts on each output (a floor of about 10 % of a peak): taken off, M
    within 3 sigma, with a warning; a 7 ns cable delay not given (more than half the 12.5 ns
    period): the displaced dip is the zero-delay peak; splitter settings that are not the
    interferometer's: the ±1 over ±2 peaks say so."""
    case = dict(CASES[0.6], delay=7_000, given=False, mode="T2", divider=8)
    dets = (Detector("A", 1, jitter_ps=30.0, dark_cps=8e4),
            Detector("B", 2, jitter_ps=45.0, dark_cps=8e4, delay_ps=7_000))  # fmt: skip
    setup = Setup(detectors=dets, sync_divider=8)
    world = hom(np.random.default_rng(21), DURATION, setup, PERIOD, 0.2, 1e-3, 0.6,
                collection=0.2, short_share=case["short"], reflectance=case["refl"])  # fmt: skip
    wide = {"window": "45 ns"}  # the peaks at ±2 periods of the displaced dip inside
    v = _summary(world, case, wide).hom_value
    assert abs(v.peaks.offset_ps - 7_000) < 500, v.peaks.offset_ps
    assert abs(v.value - world.truth["indistinguishability_pairs"]) < 3 * v.error, v
    assert any("accidentals" in w for w in v.warnings), v.warnings
    assert not any("check short_share" in w for w in v.warnings)
    wrong = _summary(world, dict(case, short=0.5, refl=0.3), wide).hom_value
    assert any("check short_share, reflectance" in w for w in wrong.warnings), wrong.warnings
