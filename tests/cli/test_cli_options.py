"""Command-line options that reach every analysis knob, and values argparse would misread."""

from __future__ import annotations

import json

import pytest

from tagstream.cli import main
from tagstream.cli.argv import joined_negative_values
from tagstream.cli.info import settings_lines


@pytest.fixture(scope="module")
def dot(tmp_path_factory):
    path = tmp_path_factory.mktemp("opts") / "dot.h5"
    assert main(["simulate", "cspbbr3-5nm", "--duration", "3s", "-o", str(path)]) == 0
    return path


def test_set_reaches_every_analysis_setting(dot, tmp_path, capsys):
    out = tmp_path / "s.json"
    config = tmp_path / "c.toml"
    config.write_text('[analysis]\ntrace_bin = "20 ms"\nthresholds_cps = 5000\n')
    args = ["analyze", str(dot), "--config", str(config), "--json", str(out),
            "--set", 'gate=["1 ns", "50 ns"]', "--set", "thresholds_cps=15000",
            "--set", "powerlaw_min=30ms", "--set", "lifetime_model=mono"]  # fmt: skip
    assert main(args) == 0
    summary = json.loads(out.read_text())
    assert summary["g2"]["gate_ns"] == [1.0, 50.0]
    assert summary["blinking"]["thresholds_cps"] == [15000.0]  # --set wins over the config
    assert summary["blinking"]["bin_s"] == pytest.approx(0.02)  # the config's stays
    assert summary["lifetime"]["model"] == "mono"
    capsys.readouterr()
    for bad, words in (("bogus=1", "unknown setting(s) bogus"), ("nothing", "KEY=VALUE"),
                       ("gate=5", "gate: give [start, stop]")):  # fmt: skip
        assert main(["analyze", str(dot), "--set", bad]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0], err


@pytest.mark.parametrize("verb", ["simulate", "run"])
@pytest.mark.parametrize("duration", ["-5s", "-0.5 ms", "0s"])
def test_a_negative_duration_is_named(tmp_path, capsys, verb, duration):
    out = tmp_path / "x.h5"
    assert main([verb, "cspbi3-10nm", "--duration", duration, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"tagstream {verb}: error: --duration {duration}: give a positive time, "
                   "e.g. --duration 10s"]  # fmt: skip
    assert not out.exists()


def test_negative_values_are_joined_to_their_option():
    assert joined_negative_values(["simulate", "x", "--duration", "-5s"]) == [
        "simulate", "x", "--duration=-5s"]  # fmt: skip
    assert joined_negative_values(["--delay", "B=-5ns", "-o", "x.h5"]) == [
        "--delay", "B=-5ns", "-o", "x.h5"]  # fmt: skip
    assert joined_negative_values(["--force", "--duration=-1s"]) == ["--force", "--duration=-1s"]


def test_info_shows_settings_one_per_line_in_units(dot, capsys):
    assert main(["info", str(dot)]) == 0
    text = capsys.readouterr().out
    assert "\nsettings\n" in text
    assert "      lifetime = 6.5 ns" in text and "repetition_rate = 10 MHz" in text
    assert max(len(line) for line in text.splitlines()) < 240
    lines = settings_lines({"a_ps": 1500, "dwell_ps": {"on": 30_000_000_000}, "n": [1, 2],
                            "dets": [{"x_hz": 2e3}], "flag": True})  # fmt: skip
    assert lines == ["  a = 1.5 ns", "  dwell", "    on = 30 ms", "  n = [1, 2]",
                     "  dets[0]", "    x = 2 kHz", "  flag = true"]  # fmt: skip


@pytest.mark.parametrize("verb", ["run", "replay"])
def test_run_and_replay_check_their_output_name_first(dot, tmp_path, capsys, verb):
    source = "cspbi3-10nm" if verb == "run" else str(dot)
    out = tmp_path / "x.txt"
    assert main([verb, source, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ends in .h5, .hdf5, .hdf" in err[0], err
    assert not out.exists()
    existing = tmp_path / "kept.h5"
    existing.write_bytes(b"user data")
    assert main([verb, source, "-o", str(existing)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "file exists" in err[0] and "--force" in err[0], err
    assert existing.read_bytes() == b"user data"


def test_run_takes_a_preset_name(tmp_path, capsys):
    out = tmp_path / "live.h5"
    assert main(["run", "cspbi3-10nm", "--duration", "1s", "-o", str(out)]) == 0
    assert out.exists() and "wrote" in capsys.readouterr().out
    assert main(["run", "no-such-preset"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nor a preset" in err[0] and "cspbi3-10nm" in err[0]


def test_an_output_never_replaces_the_input_or_another_output(dot, tmp_path, capsys):
    data = dot.read_bytes()
    cases = [
        (["analyze", str(dot), "--json", str(dot), "--force"], "that is the input file"),
        (["analyze", str(dot), "--plot", str(dot), "--force"], "that is the input file"),
        (["analyze", str(dot), "--json", str(tmp_path / "a.png"), "--plot",
          str(tmp_path / "." / "a.png"), "--force"], "also the --json output"),
        (["replay", str(dot), "-o", str(dot), "--force"], "that is the input file"),
    ]
    for args, words in cases:
        assert main(args) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0], err
    assert dot.read_bytes() == data
    assert not (tmp_path / "a.png").exists()


def test_an_export_folder_that_cannot_be_made_is_found_first(dot, monkeypatch, capsys):
    import tagstream.cli.analyze as analyze

    def never(*args, **kwargs):
        raise AssertionError("the analysis ran")

    monkeypatch.setattr(analyze, "analyze_run", never)
    assert main(["analyze", str(dot), "--export", "/proc/no-such-folder/x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot make the folder" in err[0], err
