"""The command line: exit codes, one-line errors, files never overwritten without --force."""

import json

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
    assert len(pipeline) == 5 and all(row["agrees"] for row in pipeline)
    assert all(row["tags_per_s"] > 0 for row in report["rows"])
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
