"""A paced source that cannot keep up with real time says so: the live line shows the real
lag, a warning goes to the terminal, the end report and the run's notes; one that keeps up
shows none of it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import tagstream as ts
from tagstream.cli import main as ts_main
from tagstream.cli.live import run_live
from tagstream.cli.live_view import status_line
from tagstream.pipeline.live_run import LivePipeline
from tagstream.pipeline.run_config import OutputSettings, PipelineSettings
from tagstream.sources.paced import BEHIND_WARNING_S, PacedRun, RealTimeLag, real_time_pace
from tagstream.sources.run import Run
from tagstream.tags import TagBatch


class SlowSource(Run):
    """A paced source whose batches (``span_s`` of data each) take ``cost_s`` each to make."""

    def __init__(self, run: Run, span_s: float, cost_s: float):
        self.run = run
        self.span_s = span_s
        self.cost_s = cost_s
        self.metadata = run.metadata
        self.duration_ps = run.duration_ps
        self.truth = None
        self.paced = True

    def batches(self, duration=None) -> Iterator[TagBatch]:
        for batch in self.run.batches(round(self.span_s * 1e12)):
            time.sleep(self.cost_s)
            yield batch


def _pipeline(source: Run, path: Path) -> LivePipeline:
    name = uuid.uuid4().hex
    settings = PipelineSettings(
        data=f"inproc://{name}-data",
        results=f"inproc://{name}-results",
        control=f"inproc://{name}-control",
        workers=1,
    )
    return LivePipeline(source, OutputSettings(path, "none", False, "100 ms"), settings)


# --------------------------------------------------------------------------- the measure
def test_lag_of_a_source_that_keeps_up_is_zero():
    lag = RealTimeLag(1.0, "simulator")
    wall = 100.0
    for k in range(1, 50):  # 100 ms batches arriving on time, 20 ms of making each
        lag.observe(k * 10**11, wall + k * 0.1 + 0.003, 0.02)
    assert lag.lag_s == pytest.approx(0.0, abs=1e-9)  # (3 ms late on every batch: none)
    assert lag.max_lag_s < 1e-6
    assert lag.warning() is None and lag.warning(final=True) is None
    assert not lag.behind


def test_lag_of_a_slow_source_grows_and_is_named():
    lag = RealTimeLag(1.0, "simulator")
    lag.observe(10**11, 10.0, 0.5)  # the first batch sets the origin
    for k in range(2, 12):  # 100 ms of data per 400 ms
        lag.observe(k * 10**11, 10.0 + (k - 1) * 0.4, 0.4)
    assert lag.lag_s == pytest.approx(10 * 0.3)
    assert lag.speed == pytest.approx(0.25)
    assert (
        lag.warning()
        == "source falls behind real time by 3.0 s (simulator produces 0.25× real time)"
    )
    lag.observe(12 * 10**11, 10.0 + 10 * 0.4 + 0.05, 0.05)  # catches up a little
    assert lag.lag_s == pytest.approx(2.95) and lag.max_lag_s == pytest.approx(3.0)
    assert lag.warning(final=True).startswith("source fell behind real time by 3.0 s")


def test_replay_speed_is_the_pace():
    lag = RealTimeLag(4.0)
    lag.observe(0, 0.0)
    lag.observe(4 * 10**12, 1.0, 1.0)  # 4 s of data in 1 s at 4x: on time
    assert lag.lag_s == pytest.approx(0.0)
    lag.observe(8 * 10**12, 3.0, 2.0)  # 4 s more in 2 s: 1 s behind
    assert lag.lag_s == pytest.approx(1.0)
    sim = ts.simulate("cw-antibunching", duration="1 s")
    assert real_time_pace(sim) is None
    assert real_time_pace(ts.simulate("cw-antibunching", duration="1 s", realtime=True)) == 1.0
    assert real_time_pace(PacedRun(sim, 2.5)) == 2.5
    assert real_time_pace(PacedRun(sim, None)) is None


# --------------------------------------------------------------------------- live runs
def test_a_source_behind_real_time_is_reported(tmp_path, capsys):
    """Batches of 10 ms that take 50 ms to make: the source runs at 0.2x real time."""
    data = ts.simulate("cw-antibunching", duration="0.5 s", seed=2)
    pipeline = _pipeline(SlowSource(data, 0.01, 0.05), tmp_path / "slow.h5")
    run_live(pipeline, None)
    out, err = capsys.readouterr()
    status = pipeline.status()
    assert status["source_lag_s"] > 1.0  # 2.5 s of wall time for 0.5 s of data
    assert "source falls behind real time" in status["source_warning"]
    line = status_line(pipeline)
    lag = float(line.split("lag ")[1].split(" s")[0])
    assert lag == pytest.approx(status["source_lag_s"], abs=0.01)
    assert "(source behind real time)" in line
    # on the terminal while it runs, in the end report, in the run's notes
    assert "warning: source falls behind real time by" in err
    assert "× real time" in err.split("warning: ")[1].splitlines()[0]
    notes = [n for n in pipeline.notes if "behind real time" in n]
    assert len(notes) == 1
    assert notes[0].startswith("source fell behind real time by")
    speed = float(notes[0].split("produces ")[1].split("×")[0])
    assert 0.1 < speed < 0.25
    assert f"note: {notes[0]}" in out


def test_a_source_that_keeps_up_gives_no_warning(tmp_path, capsys):
    source = ts.simulate("cw-antibunching", duration="1.5 s", seed=2, realtime=True)
    pipeline = _pipeline(source, tmp_path / "fast.h5")
    run_live(pipeline, None)
    out, err = capsys.readouterr()
    status = pipeline.status()
    assert status["source_lag_s"] < BEHIND_WARNING_S
    assert status["source_warning"] is None
    assert "behind real time" not in out + err + status_line(pipeline)
    assert not [n for n in pipeline.notes if "behind real time" in n]


def test_a_source_that_can_wait_has_no_real_time_lag(tmp_path):
    pipeline = _pipeline(ts.simulate("cw-antibunching", duration="0.3 s"), tmp_path / "max.h5")
    pipeline.run()
    assert pipeline.status()["source_lag_s"] is None
    assert pipeline.status()["source_warning"] is None


def test_a_recording_of_a_source_that_falls_behind_says_so(tmp_path, monkeypatch, capsys):
    """`simulate --realtime` of a simulation slower than real time: one warning while it
    runs, a note at the end (the recording itself is complete)."""
    import tagstream.cli.simulate as simulate_cli

    real = simulate_cli.simulate

    def slow(*args, **kwargs):
        return SlowSource(real(*args, **kwargs), span_s=0.01, cost_s=0.05)

    monkeypatch.setattr(simulate_cli, "simulate", slow)
    out = tmp_path / "slow.h5"
    assert ts_main(["simulate", "cspbi3-10nm", "--duration", "1s", "--realtime", "-o",
                    str(out), "--results-every", "off"]) == 0  # fmt: skip
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if "warning:" in line]
    assert len(warnings) == 1 and "source falls behind real time by" in warnings[0]
    assert "simulator produces" in warnings[0]
    assert "note: source fell behind real time by" in captured.out
    with ts.open(out) as run:
        assert run.status == "complete"


def test_a_recording_that_keeps_up_has_no_lag_warning(tmp_path, capsys):
    out = tmp_path / "fast.h5"
    assert ts_main(["simulate", "cspbi3-10nm", "--duration", "1s", "--realtime", "-o",
                    str(out)]) == 0  # fmt: skip
    captured = capsys.readouterr()
    assert "behind real time" not in captured.err + captured.out
