"""``tagstream view FILE.h5`` in a real browser: it follows a run file that another process is
writing, browses a finished one snapshot by snapshot, and refuses what it cannot show in one
line."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tagstream.cli import main
from tagstream.pipeline.result_series import read_results
from tests.view.browser import browser, simulated_file, wait_until, watch


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    return simulated_file(tmp_path_factory.mktemp("file-view") / "dot.h5", seconds=6)


def _serve(path: Path) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "tagstream", "view", str(path), "--listen", "127.0.0.1:0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    assert line.startswith(f"web view of {path}: http://127.0.0.1:"), line + process.stderr.read()
    return process, line.rsplit(": ", 1)[1].strip()


def _ends(page) -> str:
    return page.evaluate("document.getElementById('panel-g2')?.dataset.coveredEnd || ''")


def test_it_follows_a_file_another_process_writes(recorded, tmp_path):
    growing = tmp_path / "growing.h5"
    writer = subprocess.Popen(
        [sys.executable, "-m", "tagstream", "replay", str(recorded), "--speed", "1", "-o",
         str(growing)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not growing.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        viewer, url = _serve(growing)
        try:
            with browser() as chromium:
                page = chromium.new_page()
                errors = watch(page)
                page.goto(url)
                seen = set()
                states = set()
                while writer.poll() is None and time.monotonic() < deadline:
                    end = _ends(page)
                    if end:
                        seen.add(int(end))
                    states.add(page.inner_text("#state"))
                    time.sleep(0.25)
                wait_until(page, "document.getElementById('state').textContent === 'complete'")
                last = int(_ends(page))
        finally:
            viewer.terminate()
            viewer.communicate(timeout=20)
    finally:
        writer.kill()
        writer.communicate()
    assert writer.returncode == 0
    assert viewer.returncode == 0  # SIGTERM ends the view quietly
    assert errors == []
    assert len(seen) >= 3  # the page followed the snapshots as they were written
    assert "recording" in states
    assert last == int(read_results(growing).series["g2"].covered_ps[-1, 1])


def test_it_browses_a_finished_file_snapshot_by_snapshot(recorded):
    viewer, url = _serve(recorded)
    ends = read_results(recorded).series["g2"].covered_ps[:, 1]
    try:
        with browser() as chromium:
            page = chromium.new_page()
            errors = watch(page)
            page.goto(url)
            wait_until(page, f"document.getElementById('panel-g2')?.dataset.coveredEnd "
                                   f"=== '{ends[-1]}'")  # fmt: skip
            assert page.inner_text("#state") == "complete"
            page.eval_on_selector("#snapshot", "(s) => { s.value = 0; "
                                  "s.dispatchEvent(new Event('input')); }")  # fmt: skip
            wait_until(page, f"document.getElementById('panel-g2').dataset.coveredEnd "
                                   f"=== '{ends[0]}'")  # fmt: skip
            first = page.evaluate("Array.from(document.querySelector('#panel-lifetime .plot')"
                                  ".data[0].y)")  # fmt: skip
            page.check("#follow")
            wait_until(page, f"document.getElementById('panel-g2').dataset.coveredEnd "
                                   f"=== '{ends[-1]}'")  # fmt: skip
            last = page.evaluate("Array.from(document.querySelector('#panel-lifetime .plot')"
                                 ".data[0].y)")  # fmt: skip
            assert page.inner_text("#snapshot-label") == f"{len(ends)} of {len(ends)}"
    finally:
        viewer.terminate()
        viewer.communicate(timeout=20)
    assert errors == []
    assert np.nansum(np.array(first, dtype=float)) < np.nansum(np.array(last, dtype=float))


def test_view_refuses_what_it_cannot_show_in_one_line(tmp_path, capsys, recorded):
    assert main(["view", str(tmp_path / "missing.h5")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tagstream view: error:") and "missing.h5" in err and "\n" not in err
    plain = tmp_path / "plain.h5"
    assert main(["simulate", "cspbi3-10nm", "--duration", "0.2s", "-o", str(plain),
                 "--results-every", "off"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["view", str(plain)]) == 2
    assert "no result series" in capsys.readouterr().err
    assert main(["view", str(recorded), "--listen", "banana"]) == 2
    assert "--listen 'banana'" in capsys.readouterr().err
    assert main(["replay", str(recorded), "-o", str(tmp_path / "o.h5"), "--view-token", "x"]) == 2
    assert "--view-token needs --view" in capsys.readouterr().err
    assert not (tmp_path / "o.h5").exists()


def test_a_view_port_in_use_is_a_one_line_error_and_writes_nothing(tmp_path, capsys, recorded):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = tmp_path / "o.h5"
        assert main(["replay", str(recorded), "-o", str(out), "--view", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"tagstream replay: error: web view: cannot listen on 127.0.0.1:{port}")
    assert not out.exists()
