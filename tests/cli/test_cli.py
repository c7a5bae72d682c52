"""The command line: exit codes, one-line errors, files never overwritten without --force."""

import json
from pathlib import Path

import pytest

from tagstream.cli import main


def test_bench_writes_json_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert (
        main(["bench", "--seconds", "0.05", "--repeats", "1", "--no-peers", "--json", str(out)])
        == 0
    )
    report = json.loads(out.read_text())
    analyses = {row["analysis"] for row in report["rows"]}
    assert any(a.startswith("g2 linear") for a in analyses)
    assert any(a.startswith("lifetime") for a in analyses)
    pipeline = [row for row in report["rows"] if row["analysis"].startswith("pipeline")]
    # our run file and a phconvert file replayed, each as the worker thread and process
    replays = [row["analysis"] for row in pipeline if " max" in row["analysis"]]
    assert sum("phconvert" in a for a in replays) == 2 and len(replays) == 6
    assert len(pipeline) == 7 and all(row["agrees"] for row in pipeline)
    for row in report["rows"]:  # measured, or said why not
        assert "not measured" in (row["note"] or "") or row["tags_per_s"] > 0
    assert any(a.startswith("levels") for a in analyses)
    assert any(a.startswith("g3") for a in analyses)
    stages = [row for row in report["rows"] if row["analysis"].startswith("live pipeline stage")]
    assert any("levels" in row["implementation"] for row in stages)
    assert stages[-1]["implementation"].startswith("all stages")
    assert "numpy.sum" in capsys.readouterr().out
    assert main(["bench", "--seconds", "0.05", "--json", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "file exists" in err[0] and "--force" in err[0]


def test_bad_usage_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["no-such-verb"])
    assert info.value.code == 2
    assert main(["bench", "--seconds", "-1"]) == 2
    assert "positive" in capsys.readouterr().err


def one_line_error(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(err) == 1, err
    return err[0]


def test_simulate_analyze_info_end_to_end(tmp_path, capsys):
    run_file = tmp_path / "dot.h5"
    assert (
        main(["simulate", "cspbi3-10nm", "--duration", "3s", "-o", str(run_file), "--seed", "4"])
        == 0
    )
    assert "wrote" in capsys.readouterr().out
    summary_file, figure = tmp_path / "dot.json", tmp_path / "dot.png"
    assert main(["analyze", str(run_file), "--json", str(summary_file), "--plot", str(figure)]) == 0
    text = capsys.readouterr().out
    assert "g2(0)" in text and "lifetime" in text
    summary = json.loads(summary_file.read_text())
    assert summary["mode"] == "T3" and set(summary["channels"]) == {"A", "B"}
    assert summary["g2"]["excitation"] == "pulsed" and summary["g2"]["g2_zero"] < 0.1
    assert abs(summary["lifetime"]["tau_ns"][0] - 6.0) < 0.2
    assert figure.stat().st_size > 50_000
    assert main(["info", str(run_file)]) == 0
    out = capsys.readouterr().out
    assert "simulator" in out and "T3" in out and "A" in out


def test_user_mistakes_are_one_line_and_exit_2(tmp_path, capsys):
    out = tmp_path / "x.h5"
    assert main(["simulate", "no-such-dot", "-o", str(out)]) == 2
    assert "presets:" in one_line_error(capsys)
    assert main(["simulate", "cspbi3-10nm", "--duration", "ten", "-o", str(out)]) == 2
    assert "duration" in one_line_error(capsys)
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    assert main(["analyze", str(bad)]) == 2
    assert str(bad) in one_line_error(capsys)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert main(["info", str(text)]) == 2
    assert str(text) in one_line_error(capsys)
    config = tmp_path / "analysis.toml"
    config.write_text("[analysis]\ng2_bins = 3\n")
    assert main(["simulate", "cspbi3-10nm", "--duration", "0.2s", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["analyze", str(out), "--config", str(config)]) == 2
    assert "g2_bins" in one_line_error(capsys)


@pytest.mark.parametrize(
    ("analysis", "says"),
    [
        ('trace_bin = "1 ps"', "trace_bin must be at least 10 us"),
        ('flid_bin = "1 us"', "flid_bin must be at least 10 us"),
        ("g2_pair = 5", "g2_pair: give two different channels"),
        ('g2_window = "1 ms"\ng2_bin = "1 ps"', "at most 4194304"),
        ('lifetime_bin = "1 ps"\nlifetime_model = "mono"', "whole multiple"),
    ],
)
def test_settings_that_cost_too_much_or_make_no_sense_are_one_line_errors(
    tmp_path, capsys, analysis, says
):
    out = tmp_path / "x.h5"
    assert main(["simulate", "cspbi3-10nm", "--duration", "0.2s", "-o", str(out)]) == 0
    capsys.readouterr()
    config = tmp_path / "analysis.toml"
    config.write_text(f"[analysis]\n{analysis}\n")
    assert main(["analyze", str(out), "--config", str(config)]) == 2
    assert says in one_line_error(capsys)


def test_a_results_interval_too_short_or_a_negative_seed_is_refused(tmp_path, capsys):
    out = tmp_path / "x.h5"
    args = ["simulate", "cspbi3-10nm", "--duration", "0.2s", "-o", str(out)]
    assert main([*args, "--results-every", "1 us"]) == 2
    assert "at least 10 ms between snapshots" in one_line_error(capsys)
    assert main([*args, "--seed", "-1"]) == 2
    assert "seed must be a whole number" in one_line_error(capsys)
    assert not out.exists()


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("outputs") / "dot.h5"
    assert main(["simulate", "cspbi3-10nm", "--duration", "0.3s", "-o", str(path)]) == 0
    return path


@pytest.mark.parametrize("plot", ["d.xyz", "fig"])
def test_a_figure_name_without_a_known_suffix_is_refused_before_the_analysis(
    small_run, tmp_path, capsys, plot
):
    capsys.readouterr()
    out = tmp_path / "s.json"
    args = ["analyze", str(small_run), "--json", str(out), "--plot", str(tmp_path / plot)]
    assert main(args) == 2
    err = capsys.readouterr().err
    said = [line for line in err.splitlines() if "error" in line]
    assert len(said) == 1 and "give a name ending in .png, .pdf or .svg" in said[0]
    assert "analyze [" not in err  # refused before the analysis started
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_json_to_standard_output_keeps_standard_output_pure(small_run, capsys):
    capsys.readouterr()
    assert main(["analyze", str(small_run), "--json", "-"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["file"] == str(small_run)
    assert "g2(0)" in captured.err  # the text summary went to stderr
    assert not Path("-").exists()


@pytest.mark.parametrize(
    "extra, says",
    [
        (["-o", "x.txt"], "a run file's name ends in .h5, .hdf5, .hdf, .ptu"),
        (["-o", "x.h5", "--ptu-type", "HydraHarp2T3"], "only for a .ptu output"),
    ],
)
def test_simulate_outputs_do_what_their_names_say(tmp_path, capsys, monkeypatch, extra, says):
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", "cspbi3-10nm", "--duration", "0.2s", *extra]) == 2
    assert says in one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []
