"""Where a restarted analysis worker continues: at the newest snapshot time, so that no series
is fed the same data twice when a fit series lags behind (its fits were put off, or the
worker died between a time's snapshots and its fits)."""

from __future__ import annotations

import numpy as np

from tagstream.analysis.series import Snapshot
from tagstream.pipeline.resume import ResumeBook

S = 10**12


def _snap(series: str, end: int, rows: int = 0) -> Snapshot:
    new = {"counts": np.ones((rows, 2), np.int64)} if rows else {}
    return Snapshot(series, (0, end), end, {"x": 1}, new_rows=new)


def test_a_lagging_fit_series_does_not_hold_back_the_resume():
    book = ResumeBook()
    for t in (1, 2, 3):
        book.add(_snap("g2", t * S))
        book.add(_snap("trace", t * S, rows=10))
        if t < 3:  # the fits of the last time never came
            book.add(_snap("blinking", t * S))
    state = book.state(0, np.array([[0, 10 * S]], np.int64))
    assert state.t_resume == 3 * S
    assert state.snapshots["g2"].covered_ps == (0, 3 * S)
    assert state.snapshots["blinking"].covered_ps == (0, 2 * S)
    assert state.snapshots["trace"].new_rows["counts"].shape == (30, 2)  # every row so far
    np.testing.assert_array_equal(state.covered, [[0, 3 * S]])


def test_no_snapshot_yet_resumes_at_the_start():
    state = ResumeBook().state(5, np.array([[5, 10 * S]], np.int64))
    assert state.t_resume == 5 and not state.snapshots


def test_a_measurement_restored_from_older_results_says_what_it_misses():
    import tagstream as ts
    from tagstream.pipeline.live_analysis import LiveAnalysis

    run = ts.simulate("cspbi3-10nm", duration="3 s", seed=1)
    first = LiveAnalysis(run.metadata, every="1 s")
    book = ResumeBook()
    for batch in run.batches("0.5 s"):
        for snapshot in first.process(batch):
            if snapshot.series != "g2" or snapshot.covered_ps[1] <= S:  # g2 stopped after 1 s
                book.add(snapshot)
    state = book.state(0, np.array([[0, 3 * S]], np.int64))
    assert state.t_resume == 3 * S
    second = LiveAnalysis(run.metadata, every="1 s")
    second.restore(state)
    assert second.notes == ["g2: resumed at 3 s from its results at 1 s: the time between is "
                            "missing from them"]  # fmt: skip
