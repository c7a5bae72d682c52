"""Batch analysis on Dask: 200 small files of four formats (three made by other writers) on a
local cluster of two workers, each row the file's `analyze --json` summary; a corrupt file is a
row with its error; a second run does nothing; and on a separately started `dask scheduler` with
two `dask worker` processes, a worker killed mid-batch loses no row."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tagstream.analysis.summary_settings import SummarySettings
from tagstream.cli import main
from tagstream.pipeline.offline import summary
from tagstream.pipeline.population import _row, population
from tagstream.pipeline.population_rows import flat_row
from tagstream.pipeline.population_table import read_table

from .population_files import population_folder

N_FILES = 200


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    where = tmp_path_factory.mktemp("population")
    files = population_folder(where, N_FILES)
    return where, files


def _same(row: dict, expected: dict) -> None:
    """``row`` (read back from the table) holds exactly the flattened summary."""
    summary_part = {k: v for k, v in row.items() if v is not None and k not in
                    ("error", "content_sha256", "settings_sha256")}  # fmt: skip
    wanted = {k: v for k, v in expected.items() if v is not None}
    assert summary_part == wanted, row["file"]


def test_local_cluster_rows_are_the_summaries_and_a_rerun_does_nothing(folder, tmp_path):
    where, files = folder
    out = tmp_path / "population.parquet"
    seen = []
    rows = population([where], out, workers=2, progress=lambda s: seen.append(s.made))
    assert len(rows) == len(files) == N_FILES + 1 and seen[-1] == N_FILES + 1
    table = {r["file"]: r for r in read_table(out, force=False)}
    assert set(table) == {str(f) for f in files}
    broken = table.pop(str(where / "broken.ptu"))
    assert "broken.ptu: header cut short at byte offset" in broken["error"]
    assert broken["content_sha256"] and broken.get("g2.g2_zero") is None
    assert all(row["error"] is None for row in table.values())
    # each row is the file's summary: every fifth file, of each format, summarised here again
    for path in sorted(table)[::5]:
        _same(table[path], flat_row(summary(path)))
    # again: every file is known by its content and the settings; nothing is analysed
    before = out.read_bytes()
    states = []
    again = population([where], out, workers=2, progress=states.append)
    assert states[-1].made == 0 and states[-1].skipped == N_FILES + 1
    assert len(again) == N_FILES + 1 and out.read_bytes() == before
    # other settings make every row again
    other = SummarySettings(trace_bin="20 ms")
    states.clear()
    population(sorted(where.glob("*.ptu"))[:3], out, other, workers=1, progress=states.append)
    assert states[-1].made == 3


def test_rows_equal_the_command_line_json(folder, tmp_path):
    _, files = folder
    out = tmp_path / "some.csv"
    chosen = [files[i] for i in range(8)] + [files[-1]]  # two of each format, the broken one
    assert main(["batch", *map(str, chosen), "-o", str(out), "--workers", "2",
                 "--plot", str(tmp_path / "population.png")]) == 0  # fmt: skip
    table = {r["file"]: r for r in read_table(out, force=False)}
    for path in chosen[:-1]:
        done = subprocess.run([sys.executable, "-m", "tagstream", "analyze", str(path), "--json",
                               "-"], capture_output=True, text=True, check=True)  # fmt: skip
        _same(table[str(path)], flat_row(json.loads(done.stdout)))
    assert table[str(chosen[-1])]["error"].startswith(str(chosen[-1]))
    assert (tmp_path / "population.png").stat().st_size > 10_000


def test_a_separate_scheduler_and_a_killed_worker_lose_no_row(folder, tmp_path, monkeypatch):
    where, files = folder
    dask = str(Path(sys.executable).with_name("dask"))
    scheduler_file = tmp_path / "scheduler.json"
    scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                                  "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    workers = []
    try:
        for _ in range(60):
            if scheduler_file.exists() and scheduler_file.stat().st_size:
                break
            time.sleep(0.5)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for name in ("w1", "w2"):
            workers.append(subprocess.Popen(
                [dask, "worker", address, "--name", name, "--nthreads", "1", "--no-nanny",
                 "--no-dashboard", "--host", "127.0.0.1"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
        out = tmp_path / "cluster.parquet"
        killed = threading.Event()

        def kill_one(state):
            if state.made >= 20 and not killed.is_set():
                workers[0].send_signal(signal.SIGKILL)
                killed.set()

        _wait_for_workers(address, 2)
        monkeypatch.chdir(where.parent)  # a relative folder: the workers run elsewhere
        rows = population([where.name], out, scheduler=address, progress=kill_one)
        assert killed.is_set() and workers[0].wait(10) == -signal.SIGKILL
        table = {r["file"]: r for r in read_table(out, force=False)}
        assert set(table) == {str(f) for f in files} and len(rows) == len(files)
        errors = {p: r["error"] for p, r in table.items() if r["error"]}
        assert list(errors) == [str(where / "broken.ptu")], errors
    finally:
        for process in [*workers, scheduler]:
            process.terminate()
        for process in [*workers, scheduler]:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:  # a worker still looking for its scheduler
                process.kill()
                process.wait(10)


def _wait_for_workers(address: str, n: int) -> None:
    from distributed import Client

    with Client(address, timeout="20s") as client:
        client.wait_for_workers(n, timeout=60)


def test_bad_batches_are_one_line_errors(tmp_path, capsys):
    assert main(["batch", str(tmp_path / "none"), "-o", str(tmp_path / "t.parquet")]) == 2
    assert capsys.readouterr().err.strip().endswith("none: no such file or folder")
    (tmp_path / "notes.txt").write_text("mine")
    mine = tmp_path / "mine.csv"
    mine.write_text("a,b\n1,2\n")
    assert main(["batch", str(tmp_path / "notes.txt"), "-o", str(mine), "--workers", "1"]) == 2
    assert "file exists; use --force" in capsys.readouterr().err
    assert mine.read_text() == "a,b\n1,2\n"  # not overwritten
    assert main(["batch", str(tmp_path), "-o", str(tmp_path / "t.xlsx")]) == 2
    assert "must end in .parquet or .csv" in capsys.readouterr().err
    (tmp_path / "dir.csv").mkdir()
    assert main(["batch", str(tmp_path), "-o", str(tmp_path / "dir.csv"), "--force"]) == 2
    assert "dir.csv: is a folder" in capsys.readouterr().err
    out = str(tmp_path / "t.csv")
    assert main(["batch", str(mine), "-o", out, "--scheduler", "notaddress"]) == 2
    assert "no Dask scheduler at notaddress" in capsys.readouterr().err
    assert main(["batch", str(mine), "-o", out, "--scheduler", "tcp://127.0.0.1:1",
                 "--workers", "2"]) == 2  # fmt: skip
    assert "--workers is for the local cluster" in capsys.readouterr().err


def test_a_rerun_redoes_changed_files_and_new_names_and_force_keeps_other_rows(folder, tmp_path):
    _, files = folder
    chosen = [tmp_path / f"dot{k}.h5" for k in range(3)]
    for k, path in enumerate(chosen):
        path.write_bytes(files[4 * k + 3].read_bytes())  # our own files
    broken = tmp_path / "late.h5"
    broken.write_bytes(chosen[0].read_bytes()[:2000])
    out = tmp_path / "t.parquet"
    population([*chosen, broken], out, workers=1)
    assert read_table(out, False)[-1]["error"]
    broken.write_bytes(chosen[0].read_bytes())  # the file is complete now
    copy = tmp_path / "copy.h5"
    copy.write_bytes(chosen[1].read_bytes())
    states = []
    rows = population([tmp_path], out, workers=1, progress=states.append)
    assert states[-1].made == 2 and states[-1].skipped == 3  # the mended file and the new name
    assert [Path(r["file"]).name for r in rows] == ["dot0.h5", "dot1.h5", "dot2.h5", "late.h5",
                                                    "copy.h5"]  # fmt: skip
    assert all(r["error"] is None for r in rows)
    rows = population([chosen[2]], out, workers=1, force=True)
    assert len(rows) == 5 and len(read_table(out, False)) == 5  # the other rows stay


def test_a_task_lost_on_the_cluster_is_an_error_row():
    class Lost:
        def result(self):
            raise RuntimeError("worker died 3 times")

    class Client:
        def submit(self, *args, **kwargs):
            return Lost()

    row = _row(Client(), Lost(), "/data/x.ptu", {})
    assert row["error"] == ("/data/x.ptu: analysis failed on the cluster (RuntimeError: worker "
                            "died 3 times)")


def test_a_glob_is_taken_as_given_in_a_folder_with_brackets(tmp_path, monkeypatch):
    from tagstream.pipeline.population_paths import run_files

    folder = tmp_path / "run[1]"
    folder.mkdir()
    (folder / "a.ptu").write_bytes(b"x")
    (folder / ".hidden.ptu").write_bytes(b"x")
    monkeypatch.chdir(folder)
    assert run_files(["*.ptu"]) == [folder / "a.ptu"]
