"""The automatic choice of the number of exponentials (``lifetime_model = "auto"``) on decays of
the independent generator (``tests/world``): a second component is taken when its lifetime is
resolved and otherwise warned about, and a single exponential is left alone."""

from __future__ import annotations

import numpy as np
import pytest

import tagstream as ts
from tagstream.analysis.lifetime import DecayResult, LifetimeAnalyzer
from tagstream.analysis.summary import fit_lifetime

from ..world import Detector, Setup, pulsed, write_photon_hdf5

SLOW_PERIOD_PS = 10**7  # 100 kHz, as in the cdse-slow preset
FAST_PERIOD_PS = 12_500  # 80 MHz
REJECTED = "model lowers the deviance by"


def _setup(unit_ps: float) -> Setup:
    return Setup(
        detectors=(
            Detector("A", 1, efficiency=0.65, jitter_ps=35.0),
            Detector("B", 2, efficiency=0.65, jitter_ps=35.0),
        ),
        mode="T3",
        nanotime_unit_ps=unit_ps,
    )


def _slow_world(seed: int, components: list[tuple[float, float]]):
    """10 s at 100 kHz, about 7000 photons on A: a µs exciton in 2.56 ns bins."""
    rng = np.random.default_rng(seed)
    return pulsed(rng, 10**13, _setup(256.0), period_ps=SLOW_PERIOD_PS, mean_photons=0.02,
                  components=components, background_cps=50)  # fmt: skip


def _decay(world, bin: str) -> DecayResult:
    life = LifetimeAnalyzer("A", bin=bin, channels=world.batch.channel_map)
    life.process(world.batch)
    return life.result()


def _slow_decay(seed: int, components: list[tuple[float, float]]) -> DecayResult:
    return _decay(_slow_world(seed, components), "2560 ps")


def _fast_decay(seed: int, components: list[tuple[float, float]]) -> DecayResult:
    """2 s at 80 MHz, about 10^5 photons on A in 16 ps bins."""
    rng = np.random.default_rng(seed)
    world = pulsed(rng, 2 * 10**12, _setup(4.0), period_ps=FAST_PERIOD_PS, mean_photons=0.001,
                   components=components)  # fmt: skip
    return _decay(world, "16 ps")


def _rejections(fit) -> list[str]:
    return [w for w in fit.warnings if REJECTED in w]


@pytest.mark.parametrize("seed", [0, 1, 6, 7])  # 6: the lifetime is not resolved
def test_a_fast_component_beside_a_microsecond_decay_is_fitted_or_warned(seed):
    """A 2 ns component (3.5 % of the photons, like the OFF-state emission of cdse-slow) lies
    within one or two 2.56 ns bins: bi when its lifetime is resolved, else mono with a warning
    that names the better model. Either way the deviance drop is hundreds."""
    best, fits = fit_lifetime(_slow_decay(seed, [(0.965, 1.2e6), (0.035, 2_000.0)]))
    assert fits["mono"].deviance - fits["bi"].deviance > 200
    if best.model == "bi":
        assert _rejections(best) == []
        assert abs(best.tau_ps[1] - 1.2e6) < 4 * best.tau_err_ps[1]
        assert best.tau_ps[0] > 3 * best.tau_err_ps[0]
    else:
        assert best.model == "mono" and best is fits["mono"]
        (warning,) = _rejections(best)
        assert warning.startswith("a bi-exponential model lowers the deviance by")
        assert "mono-exponential lifetimes are those of an inadequate model" in warning


def test_an_unresolvable_fast_component_is_warned_about_not_chosen():
    """A 0.5 ns component, a fifth of a bin: its lifetime cannot be resolved (it can sit on the
    shortest lifetime the fit allows, where the Fisher error is meaningless), so mono is kept,
    with the warning in the fit, the summary JSON and its lifetime note."""
    world = _slow_world(3, [(0.97, 1.2e6), (0.03, 500.0)])
    best, fits = fit_lifetime(_decay(world, "2560 ps"))
    assert best.model == "mono" and len(_rejections(best)) == 1
    assert fits["mono"] is best and _rejections(fits["bi"]) == []


def test_the_warning_reaches_the_summary(tmp_path):
    world = _slow_world(3, [(0.97, 1.2e6), (0.03, 500.0)])
    path = write_photon_hdf5(tmp_path / "slow.h5", world)
    summary = ts.summary(path)
    life = summary["lifetime"]
    assert life["model"] == "mono"
    warned = [w for w in summary["warnings"] if w.startswith("lifetime: ") and REJECTED in w]
    assert len(warned) == 1 and REJECTED in life["note"]


def test_the_bound_lifetime_case_is_not_resolved():
    """Seeds exist where the fast component sits on the shortest allowed lifetime with a zero
    Fisher error; such a fit must not be taken as resolved."""
    for seed in range(8):
        best, fits = fit_lifetime(_slow_decay(seed, [(0.97, 1.2e6), (0.03, 500.0)]))
        assert best.model == "mono", (seed, fits["bi"])


@pytest.mark.parametrize("seed", range(3))
def test_a_resolved_nanosecond_biexponential_is_bi(seed):
    best, _ = fit_lifetime(_fast_decay(seed, [(0.3, 500.0), (0.7, 3_000.0)]))
    assert best.model == "bi" and best.warnings == ()
    assert best.tau_ps == pytest.approx([500.0, 3_000.0], rel=0.06)


def test_single_exponentials_get_no_model_warning():
    """Over many seeds, a µs and a ns single exponential stay mono without a warning."""
    for seed in range(40):
        best, _ = fit_lifetime(_slow_decay(200 + seed, [(1.0, 1.2e6)]))
        assert best.model == "mono" and best.warnings == (), (seed, best.warnings)
    for seed in range(10):
        best, _ = fit_lifetime(_fast_decay(300 + seed, [(1.0, 3_000.0)]))
        assert best.model == "mono" and best.warnings == (), (seed, best.warnings)
