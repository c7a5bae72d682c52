"""A measured IRF from a file (``[analysis] irf = "irf.h5"``): the decay of a scattered-laser
run, made like the run's decay histogram, is reconvolved; files of an independent writer."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tagstream.cli import main

from ..world import Detector, Setup, pulsed, write_photon_hdf5

PERIOD_PS = 25_000


def _setup() -> Setup:
    return Setup(
        detectors=(Detector("A", 1, efficiency=0.7, jitter_ps=120.0),
                   Detector("B", 2, efficiency=0.5, jitter_ps=90.0)),
        mode="T3",
    )  # fmt: skip


def _write(path, seed, tau_ps, period_ps=PERIOD_PS, duration_ps=5 * 10**11):
    rng = np.random.default_rng(seed)
    world = pulsed(rng, duration_ps, _setup(), period_ps=period_ps, mean_photons=0.05,
                   tau_ps=tau_ps)  # fmt: skip
    return write_photon_hdf5(path, world)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("irf")
    return {
        "irf": _write(folder / "irf.h5", 1, tau_ps=1.0),  # scattered light: the response itself
        "run": _write(folder / "dot.h5", 2, tau_ps=350.0),
        "other_rate": _write(folder / "irf-40MHz.h5", 3, tau_ps=1.0, period_ps=40_000),
        "folder": folder,
    }


def _analyze(capsys, run, config, tmp_path) -> tuple[int, dict | None, list[str]]:
    out = tmp_path / "s.json"
    code = main(["analyze", str(run), "--config", str(config), "--json", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    return code, (json.loads(out.read_text()) if code == 0 else None), err


def test_a_measured_irf_file_is_reconvolved(files, tmp_path, capsys, monkeypatch):
    config = files["folder"] / "analysis.toml"
    config.write_text('[analysis]\nirf = "irf.h5"\nlifetime_model = "mono"\n')
    monkeypatch.chdir(tmp_path)  # the IRF's name is taken from the config's folder
    code, summary, err = _analyze(capsys, files["run"], config, tmp_path)
    assert code == 0, err
    life = summary["lifetime"]
    assert life["irf"] == "measured"
    tau, tau_err = life["tau_ns"][0] * 1e3, life["tau_err_ns"][0] * 1e3
    assert abs(tau - 350.0) < 3 * tau_err + 5.0, (tau, tau_err)
    assert tau_err < 20.0
    assert life["reduced_deviance"] < 1.5


def test_irf_files_that_cannot_serve_are_one_line_errors(files, tmp_path, capsys):
    folder = files["folder"]
    cases = {
        "irf-40MHz.h5": "laser period",
        "missing.h5": "missing.h5",
    }
    for name, words in cases.items():
        config = tmp_path / f"{name}.toml"
        config.write_text(f'[analysis]\nirf = "{folder / name}"\n')
        code, _, err = _analyze(capsys, files["run"], config, tmp_path)
        assert code == 2, (name, err)
        assert len(err) == 1 and "Traceback" not in err[0], err
        assert words in err[0] and "[analysis] irf" in err[0], err
    config = tmp_path / "measured.toml"
    config.write_text('[analysis]\nirf = "measured"\n')
    code, _, err = _analyze(capsys, files["run"], config, tmp_path)
    assert code == 2 and len(err) == 1 and "file of the IRF measurement" in err[0]


@pytest.mark.parametrize("verb", ["run", "replay"])
def test_live_runs_check_the_irf_file_before_they_start(files, tmp_path, capsys, verb):
    config = tmp_path / "live.toml"
    source = f'[source]\nfile = "{files["run"]}"\nspeed = "max"\n' if verb == "run" else ""
    config.write_text(f'{source}[analysis]\nirf = "{files["other_rate"]}"\n')
    out = tmp_path / "live.h5"
    args = [verb, str(config)] if verb == "run" else [verb, str(files["run"]), "--config",
                                                       str(config)]  # fmt: skip
    assert main([*args, "-o", str(out)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(err) == 1 and "laser period" in err[0] and "[analysis] irf" in err[0], err
    assert not out.exists()
