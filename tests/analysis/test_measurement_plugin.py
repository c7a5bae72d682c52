"""A measurement kind defined only in the tests (``tests/plugins/coincidence_kind.py``) registers
and then works offline, live through ``tagstream run`` (a worker process), in the result series,
in the summary JSON and text, in the figure, in the CSV export and in the live status, with no
change outside its own module."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import tagstream as ts
from tagstream.analysis import measurement
from tagstream.analysis.plots import summary_figure
from tagstream.analysis.summary import summarize
from tagstream.analysis.summary_settings import SummarySettings
from tagstream.cli import main
from tagstream.errors import AnalysisError
from tagstream.pipeline.consistency import compare_with_offline
from tagstream.pipeline.live_analysis import LiveAnalysis
from tagstream.pipeline.offline import analyze_run
from tagstream.store.run_writer import write_run

from ..synthetic import pulsed_t3

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "tests.plugins.coincidence_kind"
WINDOW_PS = 1_000_000  # 1 us: pairs across many laser periods


@pytest.fixture
def plugin(monkeypatch):
    """The plug-in registered for one test (the registry as it was afterwards), importable by
    the worker processes a run starts."""
    measurement.registered()  # the built-in kinds, before the copy
    monkeypatch.setattr(measurement, "_registry", dict(measurement._registry))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    sys.modules.pop(PLUGIN, None)
    yield importlib.import_module(PLUGIN)
    sys.modules.pop(PLUGIN, None)


def slow_coincidences(ts_a: np.ndarray, ts_b: np.ndarray, window_ps: int) -> int:
    """Every (A, B) pair with t_A <= t_B <= t_A + window, counted one by one."""
    return sum(int(((tb - ts_a >= 0) & (tb - ts_a <= window_ps)).sum()) for tb in ts_b)


def _table() -> dict:
    return {"plugins": [PLUGIN], "coincidences": {"window": f"{WINDOW_PS} ps"}}


def test_the_kind_registers_after_the_built_in_ones(plugin):
    kinds = [cls.kind for cls in measurement.registered()]
    built_in = ["g2", "lifetime", "trace", "flid", "g2_log", "levels", "xx_x", "g3", "heralded",
                "hom", "image", "counters"]
    assert kinds == [*built_in, "coincidences"]
    with pytest.raises(AnalysisError, match=r"^coincidences: unknown setting\(s\) \['windw'\]"):
        SummarySettings.from_dict({"plugins": [PLUGIN], "coincidences": {"windw": "1 ns"}})
    with pytest.raises(AnalysisError, match=r"plugins: cannot import 'no\.such\.kinds'"):
        SummarySettings.from_dict({"plugins": ["no.such.kinds"]})


def _kind_module(tmp_path, monkeypatch, name: str, body: str) -> str:
    """A plug-in module ``name`` in ``tmp_path`` (importable), holding ``body``."""
    (tmp_path / f"{name}.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop(name, None)
    return name


def _kind_source(class_name: str, kind: str) -> str:
    """A kind that is never built, registered under ``kind``."""
    return (
        "from tagstream.analysis.measurement import Measurement, register\n\n"
        f"@register\nclass {class_name}(Measurement):\n    kind = {kind!r}\n\n"
        "    @classmethod\n    def build(cls, settings, metadata, notes):\n        return None\n"
    )


def test_a_plugin_cannot_take_a_built_in_or_reserved_name(plugin, tmp_path, monkeypatch):
    usurper = _kind_module(tmp_path, monkeypatch, "usurper", _kind_source("G2Measurement", "g2"))
    with pytest.raises(AnalysisError, match=r"'g2' of usurper\.G2Measurement is registered"):
        SummarySettings.from_dict({"plugins": [usurper]})
    assert measurement.kind("g2").__module__ == "tagstream.analysis.measurements.g2"
    for name, clash in (("channels", "taken by the run summary"), ("blinking", "a value of")):
        module = _kind_module(tmp_path, monkeypatch, f"k_{name}", _kind_source("K", name))
        with pytest.raises(AnalysisError, match=clash):
            SummarySettings.from_dict({"plugins": [module]})


def test_a_plugin_that_fails_to_import_is_one_line(plugin, tmp_path, monkeypatch):
    broken = _kind_module(tmp_path, monkeypatch, "broken_kind", "raise RuntimeError('oops')\n")
    with pytest.raises(AnalysisError, match=r"cannot import 'broken_kind' \(RuntimeError: oops\)"):
        SummarySettings.from_dict({"plugins": [broken]})


def test_a_plugin_that_fails_leaves_the_other_measurements(plugin, rng, monkeypatch):
    tags, _ = pulsed_t3(rng, duration_ps=2 * 10**10, p1=0.05)

    def fail(self, batch):
        raise ValueError("a bug")

    monkeypatch.setattr(plugin.CoincidenceCounter, "process", fail)
    settings = SummarySettings.from_dict(_table())
    live = LiveAnalysis(tags.metadata, settings, every="5 ms")
    snapshots = live.process(tags)
    assert "coincidences" not in live.measurements and "g2" in live.measurements
    assert {s.series for s in snapshots} >= {"g2", "lifetime", "trace"}
    assert "coincidences: failed (ValueError: a bug)" in live.notes
    summary = summarize([tags], tags.metadata, "dot", settings)
    assert summary.g2 is not None and summary.coincidences is None
    assert "coincidences: failed (ValueError: a bug)" in summary.notes


def test_set_reaches_the_kinds_own_settings(plugin, rng, tmp_path, capsys):
    tags, _ = pulsed_t3(rng, duration_ps=2 * 10**10, p1=0.005)
    path = write_run(tmp_path / "dot.h5", [tags], tags.metadata)
    config = tmp_path / "analysis.toml"
    config.write_text(f'[analysis]\nplugins = ["{PLUGIN}"]\n\n[analysis.coincidences]\n')
    out = tmp_path / "s.json"
    base = ["analyze", str(path), "--config", str(config), "--json", str(out), "--force"]
    assert main([*base, "--set", "trace_bin=20ms", "--set", "coincidences.window=1us"]) == 0
    a, b = (tags.timestamps[tags.channels == c] for c in (1, 2))
    assert json.loads(out.read_text())["coincidences"]["count"] == slow_coincidences(a, b, 10**6)
    capsys.readouterr()
    assert main([*base, "--set", "coincidences.windw=1us"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "coincidences: unknown setting(s) ['windw']" in err[0]


@pytest.mark.parametrize("pieces", [1, 7, 300])
def test_the_counter_is_exact_in_any_chunking(plugin, pieces, rng):
    tags, _ = pulsed_t3(rng, duration_ps=2 * 10**10, p1=0.005)
    a = tags.timestamps[tags.channels == 1]
    b = tags.timestamps[tags.channels == 2]
    expected = slow_coincidences(a, b, WINDOW_PS)
    assert expected > 100
    counter = plugin.CoincidenceCounter(1, 2, WINDOW_PS, ("A", "B"))
    cuts = np.sort(rng.integers(tags.t_begin, tags.t_end, pieces - 1))
    for piece in tags.split_at(cuts):
        counter.process(piece)
    assert counter.count == expected


def test_offline_summary_json_text_figure_and_export(plugin, rng, tmp_path, capsys):
    tags, _ = pulsed_t3(rng, duration_ps=2 * 10**11, p1=0.005)
    path = write_run(tmp_path / "dot.h5", [tags], tags.metadata)
    config = tmp_path / "analysis.toml"
    table = f'[analysis.coincidences]\nwindow = "{WINDOW_PS} ps"\n'
    config.write_text(f'[analysis]\nplugins = ["{PLUGIN}"]\n\n{table}')
    out = tmp_path / "summary.json"
    export = tmp_path / "csv"
    args = ["analyze", str(path), "--config", str(config), "--json", str(out)]
    assert main([*args, "--export", str(export)]) == 0
    text = capsys.readouterr().out
    expected = slow_coincidences(
        tags.timestamps[tags.channels == 1], tags.timestamps[tags.channels == 2], WINDOW_PS
    )
    block = json.loads(out.read_text())["coincidences"]
    assert block["count"] == expected and block["note"] is None
    assert block["rate_cps"] == pytest.approx(expected / (tags.t_end - tags.t_begin) * 1e12)
    assert f"coincidences: {expected}" in text
    table = np.loadtxt(export / "dot_coincidences.csv", delimiter=",", skiprows=2)
    assert int(table) == expected
    with ts.open(path) as recorded:
        summary = analyze_run(recorded, path.name, SummarySettings.from_dict(_table()))
    assert summary.coincidences == expected
    titles = [ax.get_title() for ax in summary_figure(summary).axes]
    assert "coincidences" in titles and len(titles) >= 6  # below the built-in panels


def test_live_run_series_resume_state_and_status(plugin, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(
        f"""
[source]
simulator = "cspbi3-10nm"
seed = 3
realtime = false
duration = "3 s"

[analysis]
plugins = ["{PLUGIN}"]

[analysis.coincidences]
window = "{WINDOW_PS} ps"

[output]
path = "live.h5"
results_every = "0.5 s"
"""
    )
    out = tmp_path / "live.h5"
    assert main(["run", str(config), "-o", str(out)]) == 0
    results = ts.results(out)
    series = results.series["coincidences"]
    assert len(series) >= 6
    counts = series.fields["count"]
    assert np.all(np.diff(counts) >= 0) and counts[-1] > 0
    agreement = compare_with_offline(out)
    assert agreement.equal.get("coincidences") is True and agreement.all_equal
    with ts.open(out) as recorded:
        tags = recorded.read()
    a = tags.timestamps[tags.channels == tags.metadata.channels["A"].number]
    b = tags.timestamps[tags.channels == tags.metadata.channels["B"].number]
    assert results.result("coincidences") == slow_coincidences(a, b, WINDOW_PS)
    # the live analysis resumes it from its last snapshot, and its status shows it
    live = LiveAnalysis(tags.metadata, SummarySettings.from_dict(_table()), every="1 s")
    snapshots = live.process(tags.slice_time(tags.t_begin, tags.t_begin + 10**12))
    assert any(s.series == "coincidences" for s in snapshots)
    assert plugin.CoincidenceMeasurement.live_status({}, {"coincidences": snapshots[-1]}, None)
