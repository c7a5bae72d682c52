"""The web view's controls in a real browser: clear and new binning start new analyses that the
run file records (events, new series, each equal to an offline pass over its stretch), stop ends
the run with a complete file, and a second page watches without the controls."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import tagstream as ts
from tagstream.cli import main
from tagstream.pipeline.consistency import compare_with_offline
from tagstream.pipeline.result_series import read_results
from tagstream.pipeline.segments import EVENT_KINDS
from tests.view.browser import browser, live_run, simulated_file, wait_until
from tests.view.browser import watch as watch_errors


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    return simulated_file(tmp_path_factory.mktemp("controls") / "dot.h5", seconds=30)


def test_clear_bin_change_and_stop_do_what_they_say(recorded, tmp_path, capsys):
    with browser() as chromium, live_run(recorded, tmp_path / "live.h5", speed="0.5") as run:
        page = chromium.new_page(viewport={"width": 1400, "height": 1200})
        errors = watch_errors(page)
        page.goto(run.url)
        page.wait_for_selector("#role.good", timeout=20_000)  # this page holds the controls
        watcher = chromium.new_page()
        watcher.goto(run.url)
        watcher.wait_for_selector("#panel-status", timeout=20_000)
        wait_until(watcher, "document.getElementById('role').textContent.includes('watching')")
        assert watcher.is_disabled("#stop") and watcher.is_disabled("#clear")
        # a watching page that sends a control anyway is refused
        watcher.evaluate("state.socket.send(JSON.stringify({op: 'stop'}))")
        wait_until(watcher, "document.getElementById('message').textContent.includes('refused')")
        wait_until(page, "Number(document.getElementById('panel-g2')?.dataset.updates || 0) >= 2")
        assert page.input_value("#g2_bin") == "400 ps"  # the run's binning, as resolved
        page.fill("#g2_bin", "1 ps")  # too fine to keep up with during a run: refused
        page.click("#apply")
        wait_until(page, "document.getElementById('message').textContent.includes('at most')")
        page.fill("#g2_bin", "2 ns")
        page.fill("#trace_bin", "40 ms")
        page.click("#apply")
        wait_until(page, "document.querySelector('[data-key=analysis_segment]')"
                        "?.textContent.includes('1 (settings')")  # fmt: skip
        wait_until(page, "document.getElementById('trace_bin').value === '40 ms'")
        wait_until(page, "document.getElementById('panel-flid')?.querySelector('.title')"
                        ".textContent.includes('40 ms')")  # fmt: skip
        page.click("#clear")
        wait_until(page, "document.querySelector('[data-key=analysis_segment]')"
                        "?.textContent.includes('2 (clear')")  # fmt: skip
        wait_until(page, "Number(document.getElementById('panel-g2').dataset.updates) >= 6")
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
        page.click("#stop")
        out = run.wait()
        assert dialogs and "Stop the run?" in dialogs[0]  # asked before stopping
        assert page.is_disabled("#stop")
    assert errors == []
    assert run.pipeline.stop_reason == "stopped from the web view"
    with ts.open(out) as recorded_run:
        assert recorded_run.status == "complete"
        assert recorded_run.t_end < 30 * 10**12  # stopped before the end of the replayed file
    results = read_results(out)
    assert [EVENT_KINDS[k] for k in results.series["events"].fields["kind"]] == [
        "settings", "clear",
    ]  # fmt: skip
    assert results.segment_numbers() == [0, 1, 2]
    for number in (1, 2):
        series = results.segment_series(number)
        assert series["g2"].attrs["bin_ps"] == 2000
        assert series["trace"].attrs["bin_ps"] == 40 * 10**9
        settings = json.loads(series["g2"].attrs["segment_settings"])
        assert settings["g2_bin"] == "2 ns"
    assert compare_with_offline(out).all_equal
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    said = capsys.readouterr().out
    assert "live analyses restarted during the run: 1 (settings at" in said
    assert ", 2 (clear at" in said


def test_run_with_view_prints_the_url_and_stops_from_the_page(recorded, tmp_path):
    out = tmp_path / "cli.h5"
    command = [sys.executable, "-m", "tagstream", "replay", str(recorded), "--speed", "1",
               "-o", str(out), "--view", "0"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("web view: http://127.0.0.1:"), line
        url = line.split(": ", 1)[1].strip()
        with browser() as chromium:
            page = chromium.new_page()
            page.goto(url)
            page.wait_for_selector("#role.good", timeout=30_000)
            first = "Number(document.getElementById('panel-g2')?.dataset.updates || 0) >= 1"
            wait_until(page, first, timeout_s=30)
            page.on("dialog", lambda d: d.accept())
            page.click("#stop")
            stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert "run stopped from the web view" in stdout
    with ts.open(out) as run:
        assert run.status == "complete"
