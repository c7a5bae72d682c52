"""The analyses on data of the independent generator (``tests/world``) across what real setups
vary: sync dividers (labelled and unlabelled syncs, T2 and T3), detector timing jitter and
unequal detectors, cable delays up to a period on either detector, overlapping peaks; and
uncertainties that cover the truth as often as they claim."""

from __future__ import annotations

import numpy as np
import pytest

import tagstream as ts
from tagstream.analysis.g2 import G2Analyzer
from tagstream.analysis.g2_pulsed import pulsed_g2_zero
from tagstream.analysis.lifetime import LifetimeAnalyzer
from tagstream.analysis.summary import SummarySettings, summarize

from ..pq_encoder import encode, ptu_file
from ..world import Detector, Setup, cw, ptu_events, pulsed, write_photon_hdf5, write_ptu

PERIOD_PS = 12_500  # 80 MHz


def _setup(mode="T2", divider=1, jitter=(30.0, 40.0), efficiency=(0.8, 0.4), delay=(0, 0)):
    """Two unequal detectors behind the splitter."""
    return Setup(
        detectors=(
            Detector("A", 1, efficiency=efficiency[0], jitter_ps=jitter[0], delay_ps=delay[0]),
            Detector("B", 2, efficiency=efficiency[1], jitter_ps=jitter[1], delay_ps=delay[1]),
        ),
        mode=mode,
        sync_divider=divider,
    )


# ---------------------------------------------------------------------------------- dividers
@pytest.mark.parametrize("divider", [1, 4, 64])
@pytest.mark.parametrize(
    ("mode", "label_sync"),
    [("T2", True), ("T2", False), ("T3", True)],
    ids=["T2", "T2-unlabelled", "T3"],
)
def test_lifetime_with_any_divider_uses_every_photon(tmp_path, divider, mode, label_sync):
    """Files of other software (Photon-HDF5 by an independent writer): the decay is folded
    onto the laser period, so the lifetime is right and every photon counts."""
    rng = np.random.default_rng(100 + divider)
    world = pulsed(
        rng, 10**11, _setup(mode, divider), period_ps=PERIOD_PS, mean_photons=0.05, tau_ps=3_000.0
    )
    path = write_photon_hdf5(tmp_path / "dot.h5", world, label_sync=label_sync)
    summary = ts.summary(path)
    life = summary["lifetime"]
    assert life["model"] == "mono" and life["divider"] == divider
    assert life["period_ns"] == pytest.approx(PERIOD_PS / 1e3)
    assert abs(life["tau_ns"][0] / 3.0 - 1) < 0.02
    assert abs(life["tau_ns"][0] - 3.0) < 4 * life["tau_err_ns"][0]
    photons = int(np.count_nonzero(world.batch.channels == 1))
    assert life["photons"] >= 0.99 * photons
    assert summary["warnings"] == []


def test_divided_sync_without_stated_laser_rate_is_found_from_the_photons(tmp_path):
    """No laser rate in the file: the photons show four pulses per sync period."""
    rng = np.random.default_rng(7)
    world = pulsed(rng, 10**11, _setup("T3", 4), period_ps=PERIOD_PS, mean_photons=0.05)
    path = write_photon_hdf5(tmp_path / "dot.h5", world, laser_rate=False)
    with ts.open(path) as run:
        assert run.metadata.laser_period_ps == pytest.approx(PERIOD_PS)
        assert run.metadata.settings["pulses_per_sync"] == 4
        assert run.metadata.settings["pulses_per_sync_from"] == "photons"
        assert run.warnings == []  # the file states nothing the photons contradict
    life = ts.summary(path)["lifetime"]
    assert life["divider"] == 4 and abs(life["tau_ns"][0] / 3.0 - 1) < 0.02


# ---------------------------------------------------------------------------------- CW g2
@pytest.mark.parametrize("rate_per_ns", [1.0, 2.5, 5.0])
@pytest.mark.parametrize("jitter_ps", [0.0, 40.0, 80.0])
def test_cw_g2_zero_with_detector_jitter(rate_per_ns, jitter_ps):
    """The default CW model fits the jitter: g2(0) within 3 sigma for any jitter and rate;
    the jitter reported. Background makes the true g2(0) 1 - rho_A rho_B."""
    rng = np.random.default_rng(int(10 * rate_per_ns + jitter_ps))
    excitation = 2e-6
    world = cw(
        rng,
        3 * 10**12,
        _setup(jitter=(jitter_ps, jitter_ps), efficiency=(0.9, 0.7)),
        excitation,
        rate_per_ns * 1e-3 - excitation,
        collection=0.3,
        background_cps=20_000,
    )
    s = summarize([world.batch], world.batch.metadata, "cw", SummarySettings(g2_bin="50 ps"))
    z = s.g2_zero
    assert z is not None and z.excitation == "cw" and z.method == "fit"
    truth = world.truth["g2_zero"]
    assert abs(z.value - truth) < 3 * z.error, (z.value, z.error, truth)
    block = s.to_dict()["g2"]
    assert block["method"] == "cw-fit" and block["jitter_ps"] is not None


def test_cw_jitter_bias_without_the_jitter_model():
    """The bias this fixes: a 250 ps emitter seen with 50 ps jitter per detector, fitted with a
    bare exponential dip, reads a g2(0) far above its truth."""
    rng = np.random.default_rng(11)
    world = cw(rng, 3 * 10**12, _setup(jitter=(50.0, 50.0), efficiency=(0.9, 0.9)), 1e-5,
               4e-3 - 1e-5, collection=0.15)  # fmt: skip
    g = G2Analyzer("A", "B", window="50 ns", bin="25 ps", channels=world.batch.channel_map)
    g.process(world.batch)
    result = g.result()
    bare = result.g2_zero("cw", jitter_ps=None)
    fitted = result.g2_zero("cw", jitter_ps="fit")
    truth = world.truth["g2_zero"]
    assert bare.value - truth > 3 * bare.error
    assert abs(fitted.value - truth) < 3 * fitted.error
    assert fitted.detail.jitter_ps == pytest.approx(np.hypot(50, 50), rel=0.35)


# ---------------------------------------------------------------------------------- delays
@pytest.mark.parametrize(
    ("delay_a", "delay_b"),
    [(0, 0), (0, 5_000), (0, -5_000), (0, 8_000), (8_000, 0), (3_000, 0), (0, 2_500)],
)
def test_pulsed_g2_zero_with_cable_delays(delay_a, delay_b):
    """An antibunched emitter (8 ns period) with cable delays up to one period on either
    detector: the zero-delay peak is the missing one, g2(0) within 3 sigma; a comb displaced by
    more than a quarter period is always warned about, and setting the delays removes it."""
    period = 8_000
    rng = np.random.default_rng([delay_a + 10_000, delay_b + 10_000])
    world = pulsed(
        rng,
        1.5 * 10**11,
        _setup(delay=(delay_a, delay_b), jitter=(30.0, 30.0)),
        period_ps=period,
        mean_photons=0.15,
        g2_zero=0.05,
        tau_ps=800.0,
    )
    truth = world.truth["g2_zero_detected"]
    md = world.batch.metadata
    s = summarize([world.batch], md, "delayed")
    z = s.g2_zero
    assert abs(z.value - truth) < 3 * z.error, (z.value, z.error, truth)
    shift = delay_b - delay_a
    assert z.detail.offset_ps == pytest.approx(shift, abs=200)
    displaced = [w for w in s.warnings if "zero-delay peak sits at" in w]
    assert bool(displaced) == (abs(shift) > period / 4)
    assert not any("above 1" in w for w in s.warnings)
    # the delays set: the same number, the peak at zero, no warning
    settings = SummarySettings(delays={"A": f"{delay_a} ps", "B": f"{delay_b} ps"})
    fixed = summarize([world.batch], md, "delayed", settings)
    assert abs(fixed.g2_zero.value - truth) < 3 * fixed.g2_zero.error
    assert abs(fixed.g2_zero.detail.offset_ps) < 200
    assert not [w for w in fixed.warnings if "zero-delay peak" in w]


# ---------------------------------------------------------------------------------- notes
def test_overlapping_peaks_give_an_uninformative_g2_zero_that_says_so():
    """12.5 ns period, 20 ns lifetime: the peaks merge; g2(0) comes with its reason, in the
    summary line and the JSON."""
    rng = np.random.default_rng(5)
    world = pulsed(
        rng, 2 * 10**11, _setup(), period_ps=PERIOD_PS, mean_photons=0.02, tau_ps=20_000.0,
        g2_zero=0.1,
    )  # fmt: skip
    s = summarize([world.batch], world.batch.metadata, "slow")
    assert s.g2_zero is not None and s.g2_zero.error > 0.25
    d = s.to_dict()
    assert "carries no information" in d["g2"]["note"]
    assert any(w.startswith("g2: ") and "no information" in w for w in d["warnings"])
    assert "warning: g2:" in s.text()


# ---------------------------------------------------------------------------------- coverage
def _coverage(pulls: np.ndarray) -> tuple[int, int]:
    pulls = np.abs(pulls)
    return int(np.count_nonzero(pulls < 1)), int(np.count_nonzero(pulls < 2))


def test_g2_zero_and_lifetime_uncertainties_cover_the_truth():
    """Over 40 seeds the stated one-sigma errors of pulsed g2(0) (the default method: windows
    where the peaks are apart, the comb fit where they overlap) and of the lifetime hold the
    truth about 68 % of the time within 1 sigma and 95 % within 2 sigma (binomial bounds at
    about 1 % each side)."""
    pulls: dict[str, list[float]] = {"window": [], "fit": [], "tau": []}
    for seed in range(40):
        rng = np.random.default_rng(1000 + seed)
        tau_ps = 500.0 if seed % 2 else 2_500.0  # peaks apart, peaks overlapping
        world = pulsed(rng, 2 * 10**10, _setup("T3", 4), period_ps=PERIOD_PS, mean_photons=0.2,
                       g2_zero=0.1, tau_ps=tau_ps, biexciton_tau_ps=50.0)  # fmt: skip
        tags, truth = world.batch, world.truth
        g = G2Analyzer("A", "B", window=4 * PERIOD_PS, bin=50, channels=tags.channel_map)
        g.process(tags)
        r = g.result()
        z = pulsed_g2_zero(r.edges_ps, r.counts, r.expected, PERIOD_PS)
        pulls[z.method].append((z.value - truth["g2_zero_detected"]) / z.error)
        # the lifetime of an exciton without biexciton photons (those are a second component)
        world = pulsed(rng, 10**10, _setup("T2", 4), period_ps=PERIOD_PS, mean_photons=0.2,
                       tau_ps=1_500.0)  # fmt: skip
        life = LifetimeAnalyzer("A", bin="16 ps", channels=world.batch.channel_map)
        life.process(world.batch)
        fit = life.result().fit("mono")
        pulls["tau"].append((fit.tau_ps[0] - 1_500.0) / fit.tau_err_ps[0])
    assert len(pulls["window"]) == len(pulls["fit"]) == 20
    g2 = np.array(pulls["window"] + pulls["fit"])
    for name, values in (("g2(0)", g2), ("tau", np.array(pulls["tau"]))):
        one, two = _coverage(values)
        assert 19 <= one <= 35, (name, one, np.round(values, 2))
        assert two >= 35, (name, two, np.round(values, 2))


# ---------------------------------------------------------------------------------- review
@pytest.mark.parametrize("g2_true", [1.3, 2.0])
def test_a_bunched_source_keeps_the_peak_nearest_zero(g2_true):
    """A bunched zero-delay peak makes no dip: the peak nearest zero stays the zero-delay peak,
    g2(0) above 1 comes with its warning, and no displaced-comb warning misleads."""
    rng = np.random.default_rng(int(10 * g2_true))
    world = pulsed(rng, 10**11, _setup(jitter=(30.0, 30.0)), period_ps=PERIOD_PS,
                   mean_photons=0.2, g2_zero=g2_true, tau_ps=800.0)  # fmt: skip
    s = summarize([world.batch], world.batch.metadata, "bunched")
    z = s.g2_zero
    assert abs(z.value - world.truth["g2_zero_detected"]) < 3 * z.error
    assert abs(z.detail.offset_ps) < 200
    assert any("above 1" in w for w in s.warnings)
    assert not any("zero-delay peak sits" in w for w in s.warnings)


def test_a_t3_range_shorter_than_the_sync_period_is_a_g2_warning(tmp_path):
    """Photons later than the TCSPC range are lost: the lifetime uses the whole periods the
    range holds and stays right; the g2 says its peaks are distorted."""
    rng = np.random.default_rng(3)
    setup = Setup(
        detectors=(Detector("A", 1, jitter_ps=30.0), Detector("B", 2, jitter_ps=30.0)),
        mode="T3",
        sync_divider=4,
        tcspc_range_ps=20_000,
    )
    world = pulsed(rng, 2 * 10**11, setup, period_ps=PERIOD_PS, mean_photons=0.2)
    path = write_ptu(tmp_path / "gated.ptu", world)  # the format's own range is longer
    summary = ts.summary(path)
    life = summary["lifetime"]
    assert life["divider"] == 4 and abs(life["tau_ns"][0] / 3.0 - 1) < 0.02
    assert any("do not show the 4 pulses" in w for w in summary["warnings"])
    assert any(
        w.startswith("g2: the unit records delays only up to 20") for w in summary["warnings"]
    )


def test_a_measurement_stopped_early_covers_the_time_it_ran(tmp_path):
    """TTResult_StopAfter, not the time the measurement was set to run."""
    rng = np.random.default_rng(4)
    setup = Setup(detectors=(Detector("A", 1), Detector("B", 2)), mode="T3")
    world = pulsed(rng, 10**11, setup, period_ps=100_000, mean_photons=0.05)
    fmt, time, kind, field, dtime = ptu_events(world, None)
    records, _ = encode(fmt, time, kind, field, dtime)
    tags = [
        ("MeasDesc_AcquisitionTime", -1, "Int8", 1_000),
        ("TTResult_StopAfter", -1, "Int8", 100),
        ("TTResult_StopReason", -1, "Int8", 1),
        ("MeasDesc_GlobalResolution", -1, "Float8", 1e-7),
    ]
    path = ptu_file(tmp_path / "stopped.ptu", fmt, records, 4e-12, 1e7, extra_tags=tags)
    summary = ts.summary(path)
    assert summary["duration_s"] == pytest.approx(0.1, abs=1e-6)
    counts = int(np.count_nonzero(world.batch.channels == 1))
    assert summary["channels"]["ch1"]["rate_cps"] == pytest.approx(counts / 0.1)
