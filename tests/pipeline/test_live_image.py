"""A confocal scan live (``tagstream run`` of the simulated field): the ``image`` series equals
an offline pass over the recorded tags, also when the analysis worker is killed inside a line;
its summary block, live-view panel and status part."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

import tagstream as ts
from tagstream.analysis.measurement import kind
from tagstream.analysis.series import Snapshot
from tagstream.analysis.summary import SummarySettings
from tagstream.cli import main
from tagstream.pipeline.consistency import compare_with_offline
from tagstream.pipeline.result_series import read_results
from tagstream.sources.factory import simulator_config
from tests.pipeline.test_live_pipeline import Hooked, _pipeline

CONFIG = """
[source]
simulator = "field-20-dots"
seed = 2
realtime = false

[analysis.image]
threshold_sigma = 6.0

[analysis.counters]
start = "line_start"
stop = "line_stop"

[output]
results_every = "2 s"
"""


def test_a_live_scan_equals_the_offline_image_and_finds_the_dots(tmp_path, capsys):
    config = tmp_path / "scan.toml"
    config.write_text(CONFIG)
    out = tmp_path / "scan.h5"
    assert main(["run", str(config), "-o", str(out)]) == 0
    capsys.readouterr()
    agreement = compare_with_offline(out)
    assert agreement.equal.get("image") and agreement.equal.get("counters"), agreement.equal
    assert agreement.complete
    recorded = read_results(out).series
    # the counters between the line markers are the image's lines, photon for photon
    lines = kind("counters").result_from(recorded)
    rows = recorded["image"].row_arrays
    assert len(lines) == 64
    np.testing.assert_array_equal(lines.counts.sum(axis=1), rows["counts"][:].sum(axis=1))
    assert summary_block_ok(ts.summary(out, config)["counters"])
    assert len(recorded["image"]) >= 20 and recorded["image"].rows(-1) == 64
    summary = ts.summary(out, config)
    block = summary["image"]
    assert block["pixels"] == [64, 64] and block["lines"] == 64 and block["dot_count"] == 20
    assert block["note"] is None and block["dots"][0]["tau_ns"] > 0
    (panel,) = kind("image").view_panels(recorded, SummarySettings())
    last = Snapshot("image", (0, 1), 1, {"state": recorded["image"].fields["state"][-1]})
    assert kind("image").live_status({}, {"image": last}, SummarySettings()) == "image 64 lines"
    assert panel.figure["data"][0]["type"] == "heatmap" and panel.numbers[0].value == 64
    # the image of the run file equals the image of the tags it recorded
    np.testing.assert_array_equal(kind("image").result_from(recorded).counts,
                                  ts.image(ts.open(out)).counts)  # fmt: skip


def summary_block_ok(block) -> bool:
    return (block["intervals"] == 64 and abs(block["mean_interval_s"] - 0.64) < 1e-9
            and set(block["rate_cps"]) == {"A", "B"} and block["note"] is None)


def _small_scan(pixel_time: str, stops: bool):
    config = simulator_config("field-20-dots")
    field = config.field.__class__(**{**config.field.__dict__, "dots": 4, "size_um": 4.0,
                                      "min_separation_um": 0.6})  # fmt: skip
    scan = config.scan.__class__(pixels=16, pixel_time_ps=ts.parse_time(pixel_time),
                                 flyback_ps=10**9, frames=8)  # fmt: skip
    run = ts.simulate(config.with_values(field=field, scan=scan), duration=None, seed=5)
    if not stops:  # a scanner without line-stop markers: the pixel dwell from the header
        run.metadata.settings["image_header"].pop("ImgHdr_LineStop")
    return run


@pytest.mark.parametrize(("pixel_time", "stops"), [("2 ms", True), ("3 ms", False)])
def test_a_worker_killed_inside_a_line_loses_that_line_only(tmp_path, pixel_time, stops):
    path = tmp_path / "scan.h5"
    killed = []
    pipeline = None

    def kill(k: int) -> None:
        if k == 23 and not killed:
            handle = pipeline.workers.local[0].handle
            os.kill(handle.pid, signal.SIGKILL)
            handle.wait()
            killed.append(k)

    source = _small_scan(pixel_time, stops)
    pipeline = _pipeline(Hooked(source, kill), path)
    pipeline.run()
    assert killed and pipeline.status()["restarts"] == 1
    agreement = compare_with_offline(path)
    assert len(agreement.analysis_gaps) == 1
    assert agreement.equal["image"], agreement.equal
    image = kind("image").result_from(read_results(path).series)
    whole = ts.image(ts.open(path))
    assert 0 < image.placed < whole.placed  # the lost time's photons are missing
    assert image.lines < whole.lines and any("without a stop marker" in n
                                             for n in image.notes)  # fmt: skip
