"""After the data pass the progress display names what is computed, so a full bar does not sit
silently while the fits run."""

from __future__ import annotations

import io

import tagstream as ts
from tagstream.analysis.fit_progress import announce, reporting
from tagstream.cli.progress import ProgressBar
from tagstream.pipeline.offline import analyze_run


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_phase_lines_off_a_terminal():
    out = io.StringIO()
    bar = ProgressBar("analyze", 10**13, stream=out)
    bar(10**13)
    bar.phase("fitting lifetime (bi)")
    bar.phase("fitting lifetime (bi)")  # a repeated phase is not printed again
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("analyze [") and "100.0 %" in lines[0]
    assert lines[1].startswith("analyze: fitting lifetime (bi)… (")
    assert len(lines) == 2


def test_phase_redraws_the_terminal_line_and_blanks_leftovers():
    out = _Terminal()
    bar = ProgressBar("analyze", 10**13, stream=out)
    bar(10**13)
    bar.phase("fitting lifetime (tri)")
    bar.phase("g2")
    bar.close()
    redraws = out.getvalue().split("\r")
    assert redraws[-2].rstrip().endswith("fitting lifetime (tri)…")
    last = redraws[-1]
    assert "100.0 %" in last and "g2…" in last
    assert len(last.rstrip("\n")) >= len(redraws[-2])  # padded over the longer line


def test_announce_without_a_reporter_does_nothing_and_reporting_nests():
    seen: list[str] = []
    announce("nobody listens")
    with reporting(seen.append):
        announce("outer")
        with reporting(None):
            announce("hidden")
        announce("again")
    announce("after")
    assert seen == ["outer", "again"]


def test_the_summary_reports_its_fits_after_the_data_pass():
    events: list[tuple[str, object]] = []

    class Recorder:
        def __call__(self, done_ps: int) -> None:
            events.append(("progress", done_ps))

        def phase(self, text: str) -> None:
            events.append(("phase", text))

    run = ts.simulate("cspbbr3-5nm", duration="2 s", seed=3)
    summary = analyze_run(run, "sim", progress=Recorder())
    phases = [value for kind, value in events if kind == "phase"]
    last_progress = max(i for i, (kind, _) in enumerate(events) if kind == "progress")
    first_phase = min(i for i, (kind, _) in enumerate(events) if kind == "phase")
    assert first_phase > last_progress
    assert "fitting lifetime (mono)" in phases
    assert summary.decay_fit is not None
    assert f"fitting lifetime ({summary.decay_fit.model})" in phases
    assert "blinking" in phases
