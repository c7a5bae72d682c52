"""Power series: `tagstream series` with the emulated bench (laser, shutter, power meter acting on
the simulated dot's excitation) and `tagstream analyze-series`, checked against the model's
numbers computed here from first principles; the same series driving the real adapters through
their protocol emulators; the fits' stated errors against their coverage; bad input."""

from __future__ import annotations

import csv
import json
import math
import re

import numpy as np
import pytest

from tagstream.analysis.saturation import (
    cascade_g2_zero,
    fit_cascade,
    fit_saturation,
    with_background,
)
from tagstream.cli import main
from tagstream.sources.optical_bench import bench

from ..drivers.test_instruments import emulated_instruments
from ..emulators.thorlabs_serial import ThorlabsSerialEmulator
from ..synthetic import pulsed_t3
from .population_files import ptu_of

# the dot and the setup: unequal detectors, a cable delay, a divided sync, dark counts
P_SAT_W = 1.5e-6
FULL_W = 10e-6
RATE_HZ = 20e6
QX, QB = 0.8, 0.04
COLLECT = 0.15
EFF = (0.6, 0.45)
DARK_HZ = (150.0, 80.0)
MODEL = f"""
name = "series-dot"
[excitation]
mode = "pulsed"
repetition_rate = "{RATE_HZ / 1e6:g} MHz"
saturation_power = "{P_SAT_W * 1e6:g} uW"
sync_divider = 2
[exciton]
lifetime = "4 ns"
quantum_yield = {QX}
[biexciton]
lifetime = "60 ps"
quantum_yield = {QB}
[setup]
mode = "T3"
nanotime_unit = "8 ps"
collection_efficiency = {COLLECT}
[[setup.detectors]]
name = "A"
channel = 1
efficiency = {EFF[0]}
dark_rate = "{DARK_HZ[0]:g} Hz"
jitter = "50 ps"
[[setup.detectors]]
name = "B"
channel = 2
efficiency = {EFF[1]}
dark_rate = "{DARK_HZ[1]:g} Hz"
jitter = "30 ps"
cable_delay = "2.5 ns"
"""
VALUES = [1, 2, 4, 8, 15, 25, 40, 60]  # % of 10 uW: <N> from 0.067 to 4


def series_config(folder, bench: str, duration: str = "10 s") -> str:
    (folder / "dot.toml").write_text(MODEL)
    return f"""
[source]
simulator = "dot.toml"
bench = "{bench}"
realtime = false
seed = 11

[instruments.laser]
device = "simulated-laser"
address = "{bench}"
options = {{ full_power = "{FULL_W * 1e6:g} uW" }}
settings = {{ rate_hz = {RATE_HZ}, power_percent = 1, enabled = true }}

[instruments.power]
device = "simulated-power-meter"
address = "{bench}"
settings = {{ averages = 100 }}

[instruments.shutter]
device = "simulated-shutter"
address = "{bench}"

[series]
instrument = "laser"
setting = "power_percent"
values = {VALUES}
meter = "power"
shutter = "shutter"
duration = "{duration}"
settle = "0 s"
"""


def expected_g2_zero(mean_excitations: float) -> float:
    """The adjacent-peak ratio of the model: per laser period, pairs from the cascade (BX then
    X photon on different detectors) against independent pulses, dark clicks in every window."""
    n = mean_excitations
    p1 = -math.expm1(-n)
    p2 = p1 - n * math.exp(-n)
    e = [COLLECT * 0.5 * eff for eff in EFF]
    m = [ei * (QX * p1 + QB * p2) for ei in e]  # detected photons per pulse
    both = 2 * e[0] * e[1] * QX * QB * p2  # one cascade photon on each detector
    beta = [d / RATE_HZ for d in DARK_HZ]  # dark clicks per period
    noise = m[0] * beta[1] + beta[0] * m[1] + beta[0] * beta[1]
    return (both + noise) / (m[0] * m[1] + noise)


def test_a_series_starts_from_a_fresh_bench(tmp_path):
    """A series without a shutter after one that closed it: the light reaches the dot."""
    bench("later").shutter_open = False  # as a series with a shutter leaves it
    config = tmp_path / "series.toml"
    text = series_config(tmp_path, "later", "0.2 s").replace('shutter = "shutter"\n', "")
    config.write_text(text.replace("values = [1, 2, 4, 8, 15, 25, 40, 60]", "values = [20]"))
    assert main(["series", str(config), "-o", str(tmp_path / "s")]) == 0
    step = json.loads((tmp_path / "s" / "series.json").read_text())["steps"][0]
    assert step["power_w"] == pytest.approx(2e-6, rel=0.01) and not step["dark"]


def test_a_simulated_series_recovers_the_absorption_and_the_low_power_g2(tmp_path, capsys):
    config = tmp_path / "series.toml"
    config.write_text(series_config(tmp_path, "series-bench"))
    folder = tmp_path / "dot-series"
    assert main(["series", str(config), "-o", str(folder)]) == 0
    index = json.loads((folder / "series.json").read_text())
    steps = index["steps"]
    assert [s["file"] for s in steps] == ["step-00-dark.h5"] + [
        f"step-{i:02d}.h5" for i in range(1, 9)
    ]
    assert steps[0]["dark"] and abs(steps[0]["power_w"]) < 1e-9  # shutter closed
    for step, value in zip(steps[1:], VALUES, strict=True):
        assert step["power_w"] == pytest.approx(FULL_W * value / 100, rel=0.01)
        assert step["readings"]["laser"]["power_percent"] == value
    out = tmp_path / "series.json"
    plot, table = tmp_path / "series.png", tmp_path / "series.csv"
    capsys.readouterr()
    assert main(["analyze-series", str(folder), "--json", str(out), "--plot", str(plot),
                 "--csv", str(table), "--workers", "2"]) == 0  # fmt: skip
    text = capsys.readouterr().out
    result = json.loads(out.read_text())
    sat, cascade, low = result["saturation"], result["cascade"], result["low_power"]
    # the absorption within 5 %, and within its stated error's reach
    assert sat["p_sat"] == pytest.approx(P_SAT_W, rel=0.05)
    assert abs(sat["p_sat"] - P_SAT_W) < 4 * sat["p_sat_err"] + 0.01 * P_SAT_W
    # dark counts of both detectors from the dark step
    dark_total = sum(DARK_HZ)
    assert abs(result["dark_cps"] - dark_total) < 5 * math.sqrt(dark_total / 10)
    # g2(0) at the lowest power against the model (cascade + dark clicks), within 3 sigma
    n_low = steps[1]["power_w"] / P_SAT_W
    assert low["file"] == "step-01.h5" and low["mean_excitations"] == pytest.approx(n_low, 0.05)
    want = expected_g2_zero(n_low)
    assert abs(low["g2_zero"] - want) < 3 * low["g2_zero_err"], (low, want)
    # QY(BX)/QY(X) from g2(0) against <N>
    assert abs(cascade["qy_ratio"] - QB / QX) < 3 * cascade["qy_ratio_err"] + 0.002, cascade
    for step in result["steps"][1:]:
        n = step["power_w"] / P_SAT_W
        assert abs(step["g2_zero"] - expected_g2_zero(n)) < 4 * step["g2_zero_err"], step
        assert step["tau_ns"] == pytest.approx(4.0, rel=0.03)
    assert re.search(r"saturation: P_sat = 1\.\d+ ± [\d.e-]+ µW, I_sat", text), text
    assert "cascade: QY(BX)/QY(X) = 0.05" in text
    assert plot.stat().st_size > 20_000
    rows = list(csv.reader(table.read_text().splitlines()))
    assert len(rows) == 10 and rows[0][3] == "power at sample (W)"


def test_a_series_steps_real_adapters_through_their_emulators(tmp_path):
    with (
        ThorlabsSerialEmulator("fw102c") as wheel,
        ThorlabsSerialEmulator("sc10") as shutter,
    ):
        config = tmp_path / "series.toml"
        laser = "{ rate_hz = 10e6, power_percent = 30, enabled = true }"
        instruments = emulated_instruments(wheel.port, shutter.port, laser=laser)
        config.write_text('[source]\nsimulator = "cspbi3-10nm"\nrealtime = false\n\n' + instruments
                          + """
[series]
instrument = "nd_wheel"
setting = "position"
values = [3, 2, 1]
meter = "power"
shutter = "shutter"
duration = "0.3 s"
settle = "0 s"
""")
        folder = tmp_path / "wheel-series"
        assert main(["series", str(config), "-o", str(folder)]) == 0
        sent = list(wheel.commands)
        shutter_open = shutter.open
    index = json.loads((folder / "series.json").read_text())
    assert [s["readings"]["nd_wheel"]["position"] for s in index["steps"]] == [3, 3, 2, 1]
    assert [s["readings"]["shutter"]["open"] for s in index["steps"]] == [False, True, True, True]
    assert [s["power_w"] for s in index["steps"]] == [pytest.approx(1.234e-6)] * 4
    assert [c for c in sent if c.startswith("pos=")] == ["pos=3", "pos=3", "pos=2", "pos=1"]
    assert shutter_open == 0  # closed again after the series
    assert all((folder / s["file"]).stat().st_size > 0 for s in index["steps"])
    # the emulated meter reads one power whatever the wheel does: nothing to fit, and it says so
    out = tmp_path / "wheel.json"
    assert main(["analyze-series", str(folder), "--json", str(out), "--workers", "1"]) == 0
    result = json.loads(out.read_text())
    assert result["saturation"] is None and result["cascade"] is None
    assert any("spans less than a factor 1.5" in w for w in result["warnings"])
    # a step's file gone: that step is an error, the others are analysed
    (folder / "step-02.h5").unlink()
    assert main(["analyze-series", str(folder), "--json", str(out), "--force",
                 "--workers", "1"]) == 0  # fmt: skip
    steps = json.loads(out.read_text())["steps"]
    assert [s["error"] is not None for s in steps] == [False, False, True, False]


def test_the_fits_stated_errors_cover_the_truth_as_often_as_they_claim():
    rng = np.random.default_rng(5)
    power = np.geomspace(0.05, 3, 8) * 2e-6
    n = power / 2e-6
    hits_sat = hits_ratio = 0
    trials = 400
    for _ in range(trials):
        rate = 3e5 * -np.expm1(-n)
        counts = rng.poisson(rate * 10.0)
        sat = fit_saturation(power, counts / 10.0, np.sqrt(np.maximum(counts, 1)) / 10.0)
        hits_sat += abs(sat.p_sat_w - 2e-6) < sat.p_sat_err_w
        g_true = with_background(cascade_g2_zero(n, 0.03), 0.99, 1.0)
        err = 0.002 + 0.01 * np.exp(-n)
        g = g_true + err * rng.standard_normal(n.size)
        fit = fit_cascade(n, g, err, 0.99, 1.0)
        hits_ratio += abs(fit.qy_ratio - 0.03) < fit.qy_ratio_err
    # one standard error covers 68.3 %; 400 trials: +- 2.3 % is one sigma of the count
    assert 0.61 < hits_sat / trials < 0.76
    assert 0.61 < hits_ratio / trials < 0.76


def test_cascade_g2_tends_to_the_yield_ratio_and_rises_with_power():
    assert cascade_g2_zero(1e-9, 0.02) == pytest.approx(0.02)
    assert cascade_g2_zero(1e-3, 0.02) == pytest.approx(0.02, rel=1e-3)
    g = cascade_g2_zero(np.array([0.01, 0.1, 1, 10, 100]), 0.02)
    assert np.all(np.diff(g) > 0) and g[-1] == pytest.approx(2 * 0.02 / 1.02**2, rel=1e-6)


def test_bad_series_are_one_line_errors_and_record_nothing(tmp_path, capsys):
    config = tmp_path / "series.toml"
    base = series_config(tmp_path, "bad-bench", "0.2 s")
    config.write_text(base.replace('values = [1, 2, 4', 'values = [1, 200, 4'))
    folder = tmp_path / "s"
    assert main(["series", str(config), "-o", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert "power_percent' must be within 0 .. 100" in err and "\n" not in err
    assert not folder.exists()
    config.write_text(base.replace('meter = "power"', 'meter = "pm"'))
    assert main(["series", str(config), "-o", str(folder)]) == 2
    assert "[series] meter = 'pm': no [instruments.pm]" in capsys.readouterr().err
    config.write_text(base.split("[series]")[0])
    assert main(["series", str(config)]) == 2
    assert "[series] is missing" in capsys.readouterr().err
    folder.mkdir()
    (folder / "mine.txt").write_text("keep")
    config.write_text(base)
    assert main(["series", str(config), "-o", str(folder)]) == 2
    assert "use --force" in capsys.readouterr().err
    (tmp_path / "dot.toml").write_text(MODEL.replace("saturation_power", "# no absorption"))
    assert main(["series", str(config), "-o", str(tmp_path / "t")]) == 2
    assert "saturation_power is not set" in capsys.readouterr().err
    (tmp_path / "dot.toml").write_text(MODEL)
    # found before the first step, nothing recorded:
    wheel = '[instruments.wheel]\ndevice = "simulated-filter-wheel"\naddress = "bad-bench"\n'
    bad = {
        # a laser so strong that the dot would hold more than 50 excitons
        "(more than 50)": base.replace('"10 uW"', '"1 mW"'),
        # a wheel position the wheel does not have
        "'position' must be within 1 .. 6, got 7": base.replace(
            '[series]', wheel + '[series]').replace('instrument = "laser"', 'instrument = "wheel"'
            ).replace('setting = "power_percent"', 'setting = "position"').replace(
            'values = [1, 2, 4, 8, 15, 25, 40, 60]', 'values = [1, 7]'),
        "is not a shutter": base.replace('shutter = "shutter"', 'shutter = "power"'),
        "reads no power": base.replace('meter = "power"', 'meter = "laser"'),
        # emulated instruments on a bench the dot does not follow
        "which the source does not follow": base.replace('bench = "bad-bench"\n', ""),
    }  # fmt: skip
    for message, text in bad.items():
        config.write_text(text)
        assert main(["series", str(config), "-o", str(tmp_path / "t")]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err, err
        assert not (tmp_path / "t").exists()
    assert main(["analyze-series", str(tmp_path)]) == 2
    assert "series.json: no series index" in capsys.readouterr().err
    (folder / "series.json").write_text("{")
    assert main(["analyze-series", str(folder)]) == 2
    assert "not a series index" in capsys.readouterr().err
    assert (folder / "mine.txt").read_text() == "keep"


def test_the_figure_and_text_take_fits_without_an_uncertainty(tmp_path):
    from tagstream.analysis.plots_series import series_figure
    from tagstream.cli.analyze_series import text_lines

    steps = [{"file": f"step-{k:02d}.h5", "dark": False, "error": None, "note": None,
              "power": p, "power_w": p, "mean_excitations": p / 1e-6, "rate_cps": r,
              "rate_err_cps": 10.0, "rates_cps": {"A": r}, "g2_zero": 0.0,
              "g2_zero_err": 0.01, "g2_zero_model": 0.02, "tau_ns": 4.0, "on_fraction": None}
             for k, (p, r) in enumerate([(1e-7, 1e4), (1e-6, 6e4), (5e-6, 1e5)])]  # fmt: skip
    result = {
        "power_from": "meter", "setting": "power_percent", "steps": steps, "warnings": [],
        "saturation": {"p_sat": 1e-6, "p_sat_err": None, "i_sat_cps": 1e5, "i_sat_err_cps": None,
                       "qy_ratio_used": 0.0, "reduced_chi2": 1.0, "note": None},
        "cascade": {"qy_ratio": 0.02, "qy_ratio_err": None, "reduced_chi2": 1.0, "note": "n"},
        "low_power": {"mean_excitations": 0.1, "g2_zero": 0.0, "g2_zero_err": 0.01,
                      "g2_zero_dark_corrected": None, "g2_zero_err_dark_corrected": None,
                      "note": None},
    }  # fmt: skip
    series_figure(result, tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 10_000
    text = "\n".join(text_lines(result))
    assert "P_sat = 1 (no error) µW" in text and "0.000 ± 0.010" in text
    assert "without the dark counts" not in text



def test_analyze_series_on_files_of_the_separately_written_generator(tmp_path):
    """Steps made by ``tests/synthetic`` (not the simulator) and written as PTU files by the
    test encoder: per pulse the X photon with QY(X)·P(N>=1), the BX photon with QY(BX)·P(N>=2),
    both in one pulse with QY(X)·QY(BX)·P(N>=2); dark counts in every step."""
    period_ps, p_sat_w, qx, qb, eta, dark = 100_000, 2e-6, 0.8, 0.04, 0.15, 120.0
    powers = [0.15e-6, 0.3e-6, 0.6e-6, 1.2e-6, 2.4e-6, 4e-6, 6e-6, 8e-6]
    rng = np.random.default_rng(3)
    steps = []
    for k, power in enumerate([0.0, *powers]):
        n = power / p_sat_w
        big_p1 = -math.expm1(-n)
        big_p2 = big_p1 - n * math.exp(-n)
        both = qx * qb * big_p2  # two photons in the pulse
        one = qx * big_p1 + qb * big_p2 - 2 * both  # exactly one
        g2 = 2 * both / (one + 2 * both) ** 2 if both else 0.0
        batch, _ = pulsed_t3(rng, 2 * 10**12, period_ps=period_ps, p1=max(one, 1e-12), g2_zero=g2,
                             tau_ps=4_000.0, eta=eta, dark_cps=dark, unit_ps=4)  # fmt: skip
        name = "step-00-dark.ptu" if k == 0 else f"step-{k:02d}.ptu"
        ptu_of(batch, tmp_path / name, period_ps)
        steps.append({"file": name, "value": k, "dark": k == 0, "power_w": power})
    index = {"made_by": "tagstream series", "setting": "power_percent", "steps": steps}
    (tmp_path / "series.json").write_text(json.dumps(index))
    out = tmp_path / "result.json"
    assert main(["analyze-series", str(tmp_path), "--json", str(out), "--workers", "2"]) == 0
    result = json.loads(out.read_text())
    sat, cascade, low = result["saturation"], result["cascade"], result["low_power"]
    assert sat["p_sat"] == pytest.approx(p_sat_w, rel=0.05)
    assert abs(sat["p_sat"] - p_sat_w) < 3 * sat["p_sat_err"] + 0.01 * p_sat_w, sat
    assert abs(cascade["qy_ratio"] - qb / qx) < 3 * cascade["qy_ratio_err"], cascade
    assert abs(result["dark_cps"] - 2 * dark) < 5 * math.sqrt(2 * dark / 2)
    # the lowest power's g2(0) against the model: cascade pairs plus dark clicks
    n = powers[0] / p_sat_w
    big_p1, big_p2 = -math.expm1(-n), -math.expm1(-n) - n * math.exp(-n)
    m = 0.5 * eta * (qx * big_p1 + qb * big_p2)  # detected photons per pulse and detector
    pairs = 2 * (0.5 * eta) ** 2 * qx * qb * big_p2
    beta = dark * period_ps * 1e-12
    noise = 2 * m * beta + beta * beta
    want = (pairs + noise) / (m * m + noise)
    assert abs(low["g2_zero"] - want) < 3 * low["g2_zero_err"], (low, want)
    assert abs(low["g2_zero_dark_corrected"] - qb / qx) < 3 * low["g2_zero_err_dark_corrected"]
