"""Stops that are honest: Ctrl-C at any moment of a command's start is one line, no traceback;
Ctrl-C or SIGTERM during `simulate` completes the file with what was simulated and says so."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tagstream as ts
from tagstream.cli import main, signals


def _command() -> list[str]:
    """The installed `tagstream` command (the console script), else `python -m tagstream`."""
    script = Path(sys.executable).with_name("tagstream")
    if script.exists():
        return [str(script)]
    found = shutil.which("tagstream")
    return [found] if found else [sys.executable, "-m", "tagstream"]


def _finish(process: subprocess.Popen, timeout_s: float = 120) -> str:
    """The stderr of ``process`` once it ended; killed (and the test failed) if it did not end
    within ``timeout_s``, so that no process outlives its test."""
    try:
        return process.communicate(timeout=timeout_s)[1]
    except subprocess.TimeoutExpired:
        process.kill()
        err = process.communicate()[1]
        pytest.fail(f"the stop was not acted on within {timeout_s} s; stderr: {err[-2000:]}")


@pytest.mark.parametrize("verb", ["simulate", "run"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("delay_s", [0.15, 0.3, 0.6, 1.0])
def test_a_stop_while_starting_is_one_line_without_traceback(tmp_path, delay_s, signum, verb):
    out = tmp_path / "dot.h5"
    process = subprocess.Popen(
        [*_command(), verb, "cspbi3-10nm", "--duration", "600s", "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(delay_s)
    process.send_signal(signum)
    err = _finish(process)
    assert "Traceback" not in err, err
    last = err.strip().splitlines()[-1] if err.strip() else ""
    if not out.exists():  # stopped before the file was made: says so
        assert process.returncode == 1, err
        assert last.startswith("tagstream") and last.endswith("nothing was written"), err
        assert ("interrupted" if signum == signal.SIGINT else "SIGTERM") in last
    elif verb == "simulate":  # the file is completed, with what it holds
        assert process.returncode == 1 and "holds those" in last, err
    else:  # run: a normal end
        assert process.returncode == 0, err


def test_ctrl_c_while_the_verbs_load_is_caught(monkeypatch, capsys):
    import importlib

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(importlib, "import_module", interrupted)
    signals.remember(signal.SIGTERM)  # an early stop, acted on by this interruption
    assert main(["simulate", "cspbi3-10nm", "-o", "x.h5"]) == 1
    assert capsys.readouterr().err.strip() == "tagstream simulate: interrupted; nothing was written"
    assert not signals.EARLY  # a later main() in this process starts afresh


def test_import_tagstream_is_light():
    heavy = "{'numba', 'scipy', 'h5py'}"
    code = f"import sys, tagstream, tagstream.cli; print(sorted({heavy} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert set(ts.__all__) == set(ts._EXPORTS)
    for name in ts.__all__:  # every public name resolves
        assert getattr(ts, name) is not None
    with pytest.raises(AttributeError, match="no_such_name"):
        ts.no_such_name  # noqa: B018


def _start_simulate(out: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [*_command(), "simulate", "cspbbr3-5nm", "--duration", "3000s", "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    part = out.with_name(out.name + ".part")
    deadline = time.monotonic() + 60
    while not (out.exists() or part.exists()):  # the file is being written
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "simulate did not start writing"
        time.sleep(0.05)
    time.sleep(1.0)
    return process


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_stopped_simulate_completes_its_run_file(tmp_path, signum):
    out = tmp_path / "dot.h5"
    process = _start_simulate(out)
    process.send_signal(signum)
    err = _finish(process)
    assert process.returncode == 1, err
    assert "Traceback" not in err
    name = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
    last = err.strip().splitlines()[-1]
    assert f"stopped by {name} after" in last and str(out) in last and "says so" in last
    with ts.open(out) as run:
        assert run.status.startswith(f"stopped: stopped by {name} after ")
        assert run.status.endswith(" of 3000 s")
        tags = run.read()
        kept_ps = int(run.t_end - run.t_begin)
    assert 0 < kept_ps < 3000 * 10**12 and f"holds those {ts.format_time(kept_ps)}" in last
    # what the file holds is the simulation's prefix (the duration in whole picoseconds)
    expected = ts.simulate("cspbbr3-5nm", duration=kept_ps, seed=0).read()
    np.testing.assert_array_equal(tags.timestamps, expected.timestamps)


def test_stopped_simulate_keeps_a_ptu_file(tmp_path):
    out = tmp_path / "dot.ptu"
    process = _start_simulate(out)
    process.send_signal(signal.SIGINT)
    err = _finish(process)
    assert process.returncode == 1, err
    assert "stopped by Ctrl-C" in err and str(out) in err
    assert not out.with_name(out.name + ".part").exists()
    with ts.open(out) as run:  # a complete PTU file: header and record count agree
        tags = run.read()
        kept_ps = run.t_end - run.t_begin
        assert run.header.get("TTResult_StopReason") == 1  # stopped by hand, as PicoQuant's
    assert len(tags) > 0 and kept_ps > 0


def test_a_stop_whose_exception_was_swallowed_is_still_acted_on():
    """The early handlers keep the stop they were asked for: a signal handled inside a
    finaliser (whose exception Python ignores) still stops the verb once it takes the signals
    over."""
    signals.EARLY.clear()
    signals.remember(signal.SIGTERM)
    asked = []
    with signals.stop_on_signals(asked.append) as request:
        assert request() == "stopped by SIGTERM" and asked == ["stopped by SIGTERM"]
    assert not signals.EARLY


def test_a_ctrl_c_before_the_verb_takes_over_is_remembered_too():
    """CI saw a Ctrl-C 0.3 s after `tagstream run` started raised inside a module lock's
    callback, where Python ignores it: the handler in force until the verb takes the signals
    over remembers it, so the verb still stops."""
    import tagstream.cli as cli

    signals.EARLY.clear()
    with pytest.raises(KeyboardInterrupt):
        cli._interrupted(signal.SIGINT, None)
    assert signals.EARLY == {"reason": "stopped by Ctrl-C"}
    with signals.stop_on_signals() as request:
        assert request() == "stopped by Ctrl-C"
    assert not signals.EARLY
