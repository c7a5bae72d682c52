"""A live run with a nanotime gate and a cable delay (``tagstream run``): its results equal an
offline pass built from the same settings, and it stores the share of photons the gate keeps."""

from __future__ import annotations

import numpy as np

import tagstream as ts
from tagstream.cli import main
from tagstream.pipeline.consistency import compare_with_offline
from tagstream.pipeline.result_series import read_results

CONFIG = """
[source]
simulator = "cspbbr3-5nm"
seed = 4
realtime = false

[analysis]
gate = ["1.5 ns", "80 ns"]
delays = { B = "1 ns" }

[output]
results_every = "0.5 s"
"""


def test_a_gated_live_run_with_a_cable_delay_equals_the_offline_analysis(tmp_path, capsys):
    config = tmp_path / "gated.toml"
    config.write_text(CONFIG)
    out = tmp_path / "gated.h5"
    assert main(["run", str(config), "--duration", "2s", "-o", str(out)]) == 0
    capsys.readouterr()
    agreement = compare_with_offline(out)
    assert set(agreement.equal) >= {"g2", "trace", "levels", "flid", "lifetime"}
    assert agreement.complete, agreement.equal
    g2 = read_results(out).series["g2"]
    kept, seen = g2.fields["n_ab"][-1], g2.fields["gate_seen_ab"][-1]
    assert np.all(kept < seen)
    offline = ts.summary(out, config)["g2"]
    assert offline["gate_ns"] == [1.5, 80.0]
    assert [offline["gate_share"][n] for n in ("A", "B")] == list(kept / seen)
