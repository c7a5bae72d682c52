"""Analysis segments: the live analyses start afresh during a run (clear, new binning), the
recording does not notice, and every segment's results equal an offline pass over its own
stretch of the recorded tags."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tagstream as ts
from tagstream.errors import TagstreamError
from tagstream.pipeline.consistency import compare_with_offline
from tagstream.pipeline.result_series import read_results
from tagstream.pipeline.segments import EVENT_KINDS, Segment
from tests.pipeline.test_live_pipeline import Hooked, _assert_recorded_everything, _pipeline

SECONDS = 4


def _run_with_changes(tmp_path, kind: str, changes: dict[int, dict | None], lose=False):
    """A simulated run with ``changes`` asked for after batch k (``None``: a clear)."""
    holder = {}

    def hook(k: int) -> None:
        if k in changes:
            holder["p"].restart_analysis(changes[k])

    source = Hooked(ts.simulate("cspbi3-10nm", duration=f"{SECONDS} s", seed=3), hook)
    pipeline = _pipeline(source, tmp_path / "run.h5", kind)
    holder["p"] = pipeline
    if lose:  # the change never reaches the workers in the stream: they find it at the hole

        def lost_control(record, t_ps):
            publisher = pipeline.sockets.publisher
            publisher.sequence += 1
            return publisher.sequence - 1

        original = pipeline.run

        def run(duration_ps=None):
            def patched_take(batch, _take=pipeline._take):
                if pipeline.sockets is not None:
                    pipeline.sockets.publisher.send_control = lost_control
                return _take(batch)

            pipeline._take = patched_take
            return original(duration_ps)

        pipeline.run = run
    out = pipeline.run()
    return pipeline, out


@pytest.mark.parametrize("kind", ["inproc", "tcp"])
def test_segments_are_recorded_and_each_equals_its_offline_analysis(tmp_path, kind):
    changes = {12: {"g2_bin": "2 ns", "trace_bin": "20 ms"}, 25: None}
    pipeline, out = _run_with_changes(tmp_path, kind, changes)
    _assert_recorded_everything(out, SECONDS, 3)  # the recording is untouched
    results = read_results(out)
    assert results.segment_numbers() == [0, 1, 2]
    events = results.series["events"]
    assert [EVENT_KINDS[k] for k in events.fields["kind"]] == ["settings", "clear"]
    starts = events.covered_ps[:, 0]
    assert starts[0] < starts[1]
    one, two = results.segment_series(1), results.segment_series(2)
    assert one["g2"].attrs["bin_ps"] == 2000 and one["trace"].attrs["bin_ps"] == 20 * 10**9
    assert two["g2"].attrs["bin_ps"] == 2000  # a clear keeps the settings in force
    assert json.loads(two["g2"].attrs["segment_settings"])["trace_bin"] == "20 ms"
    for number, start in zip((1, 2), starts, strict=True):
        series = results.segment_series(number)
        assert series["g2"].attrs["segment_start_ps"] == start
        assert series["g2"].covered_ps[0, 0] == start  # cumulative from the segment's start
    # segment 0 ends where segment 1 begins
    assert results.series["g2"].covered_ps[-1, 1] == starts[0]
    agreement = compare_with_offline(out)
    assert set(agreement.equal) >= {"g2", "g2@1", "g2@2", "trace@1", "lifetime@2"}
    assert agreement.all_equal, agreement.equal
    assert pipeline.current()[0]["g2"].name == "g2@2"


def test_a_worker_that_lost_the_change_finds_it_at_the_hole(tmp_path):
    _, out = _run_with_changes(tmp_path, "inproc", {12: None}, lose=True)
    results = read_results(out)
    assert results.segment_numbers() == [0, 1]
    series = results.segment_series(1)
    start = int(results.series["events"].covered_ps[0, 0])
    # the next batch begins where the segment does: the switch is exact, nothing lost
    assert series["g2"].covered_ps[0, 0] == start
    assert results.series["analysis"].fields["missed"][-1] == 1  # the control record
    assert compare_with_offline(out).all_equal


def test_only_binning_can_change_and_bad_values_are_refused(tmp_path):
    source = ts.simulate("cspbi3-10nm", duration="1 s", seed=1)
    pipeline = _pipeline(source, tmp_path / "x.h5", "inproc")
    with pytest.raises(TagstreamError, match="only g2_window, g2_bin, trace_bin"):
        pipeline.restart_analysis({"lifetime_model": "bi"})
    with pytest.raises(TagstreamError, match="trace_bin"):
        pipeline.restart_analysis({"trace_bin": "banana"})
    assert "cleared" in pipeline.restart_analysis()
    assert pipeline.segments.take(5)[0] == Segment(1, 5, {}, "clear")
    assert pipeline.segments.take(6) is None
    np.testing.assert_equal(pipeline.segments.current.number, 1)


def test_quick_snapshots_go_out_before_the_fits():
    from tagstream.analysis.summary_settings import SummarySettings
    from tagstream.pipeline.live_analysis import LiveAnalysis

    tags = ts.simulate("cspbi3-10nm", duration="3 s", seed=2).read()
    groups = []
    emitting = LiveAnalysis(tags.metadata, SummarySettings(), every="1 s", fit_share=1.0)
    returned = emitting.process(tags, emit=groups.append)
    plain = LiveAnalysis(tags.metadata, SummarySettings(), every="1 s", fit_share=1.0)
    expected = plain.process(tags)
    assert [s.series for g in groups for s in g] == [s.series for s in returned]
    assert sorted(s.series for s in returned) == sorted(s.series for s in expected)
    fits = [g for g in groups if {s.series for s in g} == {"blinking"}]
    assert fits  # the blinking fits came in groups of their own, each after its histograms
    for group in fits:
        before = groups[groups.index(group) - 1]
        assert "trace" in {s.series for s in before}
        assert {s.covered_ps for s in before} == {s.covered_ps for s in group}
