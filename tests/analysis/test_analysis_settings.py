"""The ``[analysis]`` table from the command line: numbers where numbers are meant, one clear
prefix on every error."""

from __future__ import annotations

import pytest

from tagstream.analysis.summary_settings import SummarySettings
from tagstream.cli import main
from tagstream.errors import AnalysisError


def test_one_threshold_may_be_a_plain_number():
    assert SummarySettings(thresholds_cps=15000).thresholds_cps == (15000.0,)
    assert SummarySettings(thresholds_cps=[5000, 15000]).thresholds_cps == (5000.0, 15000.0)
    with pytest.raises(AnalysisError, match="thresholds_cps"):
        SummarySettings(thresholds_cps=True)
    with pytest.raises(AnalysisError, match="blinking_method thresholds"):
        SummarySettings(thresholds_cps=15000, blinking_method="levels")  # they would go unused
    assert SummarySettings(thresholds_cps=15000, blinking_method="thresholds").thresholds_cps


@pytest.mark.parametrize("verb", ["analyze", "run"])
def test_an_unknown_setting_names_its_table_once(tmp_path, capsys, verb):
    run_file = tmp_path / "dot.h5"
    assert main(["simulate", "cspbi3-10nm", "--duration", "1s", "-o", str(run_file)]) == 0
    config = tmp_path / "c.toml"
    config.write_text('[source]\nsimulator = "cspbi3-10nm"\n[analysis]\ntrace_binn = "1 ms"\n')
    capsys.readouterr()
    args = ["analyze", str(run_file), "--config", str(config)] if verb == "analyze" else [
        "run", str(config), "-o", str(tmp_path / "live.h5")]  # fmt: skip
    assert main(args) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(err) == 1 and err[0].count("[analysis]") == 1, err
    assert "unknown setting(s) trace_binn" in err[0]
