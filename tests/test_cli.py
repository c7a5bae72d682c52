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
