"""The view's panels and what they are made from, without a browser: live snapshots followed
into series equal the run file's, "last N s" windows equal an offline analysis of that stretch,
and a kind whose panel fails leaves the others alone."""

from __future__ import annotations

import numpy as np
import pytest

import tagstream as ts
from tagstream.analysis.measurement import kind, registered
from tagstream.analysis.measurements.g2_view import g2_between
from tagstream.analysis.series import LatestSeries
from tagstream.analysis.summary_settings import SummarySettings
from tagstream.pipeline import read_results, record_run
from tagstream.pipeline.live_analysis import LiveAnalysis
from tagstream.view.feeds import FileFeed, trace_rates
from tagstream.view.hub import ViewHub

EVERY = "0.5 s"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A simulated run file with snapshots every 0.5 s, and its tags."""
    path = tmp_path_factory.mktemp("panels") / "dot.h5"
    record_run(ts.simulate("cspbi3-10nm", duration="4 s", seed=5), path, results_every=EVERY)
    with ts.open(path) as opened:
        return path, opened.read()


def _live_snapshots(tags) -> tuple[LiveAnalysis, list]:
    live = LiveAnalysis(tags.metadata, SummarySettings(), every=EVERY)
    snapshots = []
    for piece in tags.split_at(tags.timestamps[::50_000][1:]):
        snapshots += live.process(piece)
    snapshots += live.final()
    return live, snapshots


def test_followed_snapshots_read_back_like_the_run_file(run):
    path, tags = run
    live, snapshots = _live_snapshots(tags)
    recorded = read_results(path).series
    followed = {spec.name: LatestSeries(spec) for spec in live.specs}
    compared = set()
    for number, snapshot in enumerate(snapshots):
        followed[snapshot.series].add(snapshot)
        if number % 7:
            continue
        for cls in registered():
            name = cls.kind
            if name not in followed or followed[name].last is None:
                continue
            now = {n: f.recorded() for n, f in followed.items() if f.last is not None}
            k = int(np.flatnonzero(
                recorded[name].covered_ps[:, 1] == now[name].covered_ps[-1, 1])[-1])  # fmt: skip
            upto = {n: s.until(k) for n, s in recorded.items() if len(s) > k}
            assert cls.same(cls.result_from(now), cls.result_from(upto)), (name, k)
            compared.add(name)
    assert compared == {"g2", "lifetime", "trace", "flid", "levels"}
    # the series as they were earlier: the last snapshot that ends by then, with its rows
    trace = followed["trace"]
    earlier = trace.recorded(before_ps=2 * 10**12)
    assert earlier.covered_ps[-1, 1] == 2 * 10**12
    k = int(np.flatnonzero(recorded["trace"].covered_ps[:, 1] == 2 * 10**12)[0])
    np.testing.assert_array_equal(
        earlier.row_arrays["counts"], recorded["trace"].until(k).row_arrays["counts"]
    )
    assert trace.recorded(before_ps=1) is None


def test_a_window_equals_the_offline_analysis_of_its_stretch(run):
    path, tags = run
    recorded = read_results(path).series
    ends = recorded["g2"].covered_ps[:, 1]
    i, j = 2, len(ends) - 1  # from 1.5 s to the end
    g2 = kind("g2")
    now = g2.result_from({"g2": recorded["g2"].until(j)})
    then = g2.result_from({"g2": recorded["g2"].until(i)})
    window = g2_between(now, then)
    t1, t2 = int(ends[i]), int(ends[j])
    offline = ts.g2(tags.slice_time(t1, t2), *now.channels, window=int(now.edges_ps[-1]),
                    bin=now.bin_ps)  # fmt: skip
    assert (window.n_a, window.n_b, window.live_ps) == (offline.n_a, offline.n_b, offline.live_ps)
    # the expectation is made as for a whole run; only the lag overlap at the cut differs
    np.testing.assert_allclose(window.expected, offline.expected, rtol=1e-5)
    # coincidences that straddle the cut count in the window (they are in the later total)
    straddling = window.counts.sum() - offline.counts.sum()
    assert 0 <= straddling <= 0.01 * offline.counts.sum() + 10
    a = window.g2_zero(excitation="pulsed", method="window")
    b = offline.g2_zero(excitation="pulsed", method="window")
    assert abs(a.value - b.value) < 0.5 * b.error
    panels = g2.view_panels({"g2": recorded["g2"].until(j)}, SummarySettings(),
                            {"g2": recorded["g2"].until(i)})  # fmt: skip
    assert panels[0].covered_ps == (t1, t2)
    # without a decay, "auto" fits the peaks to learn their width: they stay inside their
    # windows here (6 ns at 10 MHz), so the page shows the window sums
    chosen = window.g2_zero(excitation="pulsed", method="auto")
    assert chosen.method == "window"
    assert panels[0].numbers[0].value == pytest.approx(chosen.value, rel=1e-12)


def test_the_file_feed_browses_and_windows(run):
    path, tags = run
    feed = FileFeed(path)
    series = feed.series()
    assert feed.snapshots == len(series["g2"]) == 8
    first = feed.series(0)
    assert first["g2"].covered_ps[-1, 1] == 500 * 10**9
    assert first["trace"].rows(-1) == 50  # 10 ms bins of the first 0.5 s
    earlier = feed.series(before_ps=10**12)
    assert earlier["g2"].covered_ps[-1, 1] == 10**12
    status = feed.status()
    assert status["state"] == "complete" and status["t_s"] == pytest.approx(4.0)
    rates = trace_rates(series["trace"], bins=100)
    photons = np.bincount(tags.channels)[1:3].sum()
    assert sum(rates.values()) == pytest.approx(photons / 4.0, rel=0.2)


def test_a_failing_panel_is_said_and_the_others_stay(run, monkeypatch):
    path, _ = run

    def broken(cls, series, settings, since=None):
        raise ValueError("plug-in bug")

    monkeypatch.setattr(kind("flid"), "view_panels", classmethod(broken))
    message = ViewHub(FileFeed(path)).panels()
    by_key = {p["key"]: p for p in message["panels"]}
    assert by_key["flid"]["notes"] == ["panel failed (ValueError: plug-in bug)"]
    assert by_key["g2"]["figure"] and by_key["lifetime"]["figure"]
    assert [p["slot"] for p in message["panels"]] == sorted(p["slot"] for p in message["panels"])


def test_a_window_longer_than_the_data_says_so(run):
    path, _ = run
    hub = ViewHub(FileFeed(path))
    message = hub.panels(window_s=300.0)
    assert message["note"].startswith("last 300 s: this analysis segment holds less")
    short = hub.panels(window_s=10.0)
    assert short["note"] is not None
    reply = hub.request({"op": "show", "k": None, "window_s": 7}, controls=True)
    assert reply["ok"] is False and "window_s must be one of" in reply["text"]
    reply = hub.request({"op": "stop"}, controls=False)
    assert reply["ok"] is False and "watches" in reply["text"]
    reply = hub.request({"op": "stop"}, controls=True)
    assert reply["ok"] is False and "read-only" in reply["text"]
    assert hub.request({"op": "rm -rf"}, controls=True)["text"] == "unknown request"


def test_a_file_with_analysis_segments_is_browsed_across_them(tmp_path):
    from tests.pipeline.test_segments import _run_with_changes

    _, out = _run_with_changes(tmp_path, "inproc", {12: {"g2_bin": "2 ns"}})
    results = read_results(out)
    zero, one = results.segment_series(0)["g2"], results.segment_series(1)["g2"]
    feed = FileFeed(out)
    assert feed.snapshots == len(zero) + len(one)
    first = feed.series(0)
    assert first["g2"].attrs["bin_ps"] != 2000
    assert first["g2"].covered_ps[-1, 1] == zero.covered_ps[0, 1]
    later = feed.series(len(zero))  # the first snapshot of segment 1
    assert later["g2"].attrs["bin_ps"] == 2000
    assert later["g2"].covered_ps[-1, 1] == one.covered_ps[0, 1]
    message = ViewHub(feed).panels(0)
    assert message["complete"] and {p["key"] for p in message["panels"]} >= {"g2", "lifetime"}
    assert feed.status()["t_s"] == pytest.approx(4.0)


class _GrowingFeed:
    """A file's snapshots handed out one at a time, as a live run's arrive; ``blinking_late``
    holds back the blinking fit (it arrives after its trace snapshot)."""

    mode, title, settings = "live", "growing", SummarySettings()

    def __init__(self, path):
        self._file = FileFeed(path)
        self.k, self.blinking_late = 0, False

    @property
    def snapshots(self) -> int:
        return self.k + 1

    def series(self, k=None, before_ps=None):
        series = self._file.series(self.k if k is None else k, before_ps)
        if self.blinking_late:
            series.pop("blinking", None)
        return series


def test_only_panels_that_changed_are_sent_again(run):
    path, _ = run
    feed = _GrowingFeed(path)
    hub = ViewHub(feed)
    sent = []
    hub.publish = lambda message: sent.extend(p["key"] for p in message["panels"])
    feed.k = 6
    hub._publish_panels()
    assert sorted(sent) == ["flid", "g2", "levels", "lifetime", "trace"]
    sent.clear()
    hub._publish_panels()  # nothing new: nothing sent
    assert sent == []
    feed.k, feed.blinking_late = 7, True  # new snapshots, the blinking fit still to come
    hub._publish_panels()
    assert sorted(sent) == ["flid", "g2", "levels", "lifetime", "trace"]
    sent.clear()
    feed.blinking_late = False  # the fit arrives: only the trace panel shows it
    hub._publish_panels()
    assert sent == ["trace"]
    trace = hub.latest_panels[None]["trace"]
    last = FileFeed(path).series(7)
    assert last["blinking"].wall_time_s[-1] > last["trace"].wall_time_s[-1]  # fitted after
    assert trace["published_s"] == max(float(last["blinking"].wall_time_s[-1]),
                                       float(last["trace"].wall_time_s[-1]))  # fmt: skip
    sent.clear()
    hub.resend(None)  # a page joined "since the start": it gets every panel again
    hub._publish_panels()
    assert sorted(sent) == ["flid", "g2", "levels", "lifetime", "trace"]
