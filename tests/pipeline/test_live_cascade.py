"""The cascade correlations live (``tagstream run`` of the simulated dot behind a dichroic):
XX–X, the heralded g2 and g3 are result series equal to an offline pass over the recorded
tags, with summary blocks, live-view panels and the live status."""

from __future__ import annotations

import tagstream as ts
from tagstream.analysis.measurement import kind
from tagstream.analysis.summary import SummarySettings
from tagstream.cli import main
from tagstream.pipeline.consistency import compare_with_offline
from tagstream.pipeline.result_series import read_results

CONFIG = """
[source]
simulator = "dot-4k-cascade"
seed = 4
realtime = false

[analysis]
delays = { X2 = "0.3 ns" }

[analysis.xx_x]
biexciton = "XX"
exciton = "X1"

[analysis.heralded]
herald = "XX"
pair = ["X1", "X2"]

[analysis.g3]
channels = ["X1", "X2", "XX"]

[output]
results_every = "0.5 s"
"""
KINDS = ("xx_x", "heralded", "g3")


def test_cascade_correlations_live_equal_the_offline_analysis(tmp_path, capsys):
    config = tmp_path / "cascade.toml"
    config.write_text(CONFIG)
    out = tmp_path / "cascade.h5"
    assert main(["run", str(config), "--duration", "2s", "-o", str(out)]) == 0
    capsys.readouterr()
    agreement = compare_with_offline(out)
    assert set(agreement.equal) >= {"g2", *KINDS} and agreement.complete, agreement.equal
    recorded = read_results(out).series
    assert all(len(recorded[k]) >= 4 for k in KINDS)  # a snapshot every 0.5 s
    offline = ts.summary(out, config)
    assert offline["xx_x"]["bunching"] > 3 and offline["heralded"]["g2_zero"] is not None
    assert offline["g3"]["channels"] == ["X1", "X2", "XX"]
    for name in KINDS:
        (panel,) = kind(name).view_panels(recorded, SummarySettings())
        assert panel.numbers[0].value is not None and panel.figure["data"], name


HOM = """
[source]
simulator = "dot-4k-hom"
seed = 5
realtime = false

[analysis.hom]
g2_zero = 0.02

[output]
results_every = "0.5 s"
"""


def test_hom_live_equals_the_offline_analysis(tmp_path, capsys):
    config = tmp_path / "hom.toml"
    config.write_text(HOM)
    out = tmp_path / "hom.h5"
    assert main(["run", str(config), "--duration", "2s", "-o", str(out)]) == 0
    capsys.readouterr()
    agreement = compare_with_offline(out)
    assert "hom" in agreement.equal and agreement.complete, agreement.equal
    recorded = read_results(out).series
    (panel,) = kind("hom").view_panels(recorded, SummarySettings(kinds={"hom": {}}))
    assert panel.numbers[0].value is not None
    block = ts.summary(out, config)["hom"]
    assert abs(block["indistinguishability"] - 0.9) < 3 * block["indistinguishability_err"]
