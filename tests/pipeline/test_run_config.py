"""Live-run configs, the example configs, and the run / replay commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tagstream as ts
from tagstream.cli import main
from tagstream.pipeline.consistency import compare_with_offline
from tagstream.pipeline.run_config import RunConfigError, load_run_config, parse_run_config
from tagstream.sources.simulator.presets import preset_names
from tagstream.tags import Role

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("preset", preset_names())
def test_every_preset_has_a_run_config_that_loads(preset):
    config = load_run_config(CONFIGS / f"run-{preset}.toml")
    assert config.source.simulator == preset and config.source.realtime
    assert config.output.path == Path(f"{preset}-live.h5")
    assert config.pipeline.workers == 1 and config.pipeline.data.startswith("tcp://")


def test_a_full_config_parses():
    config = parse_run_config(
        {
            "source": {"simulator": "cspbi3-10nm", "seed": 4, "realtime": False, "duration": "2 s"},
            "channels": {"1": "APD1", "0": {"name": "laser", "role": "sync"}},
            "analysis": {"trace_bin": "5 ms"},
            "output": {"path": "x.h5", "compression": "lzf", "results_every": "500 ms"},
            "pipeline": {"data": "ipc:///tmp/d", "workers": 2, "hwm": 4},
        },
        Path("/cfg"),
    )
    assert config.source.seed == 4 and config.source.duration == "2 s"
    assert config.channels == {1: ("APD1", Role.DETECTOR), 0: ("laser", Role.SYNC)}
    assert config.output.compression == "lzf" and config.output.results_every == "500 ms"
    assert config.pipeline.data == "ipc:///tmp/d" and config.pipeline.hwm == 4


def test_channel_map_is_applied_to_the_metadata():
    config = parse_run_config({"source": {"simulator": "cspbi3-10nm"}, "channels": {"1": "APD1"}})
    metadata = config.apply_channels(ts.simulate("cspbi3-10nm", duration="1 s").metadata)
    assert metadata.channels.lookup(1).name == "APD1"
    assert "APD1" in metadata.hbt_pair
    with pytest.raises(RunConfigError, match="no channel 9"):
        parse_run_config({"channels": {"9": "X"}}).apply_channels(metadata)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({"sauce": {}}, "unknown section \\[sauce\\]"),
        ({"source": {"simulator": "a", "file": "b"}}, "one of simulator"),
        ({"source": {"device": "x", "address": [1]}}, "address: expected a port"),
        ({"instruments": {"laser": {"address": "x"}}}, "instruments.laser\\] device"),
        ({"instruments": {"laser": {"device": "x", "power": 1}}}, "power: unknown setting"),
        ({"source": {"simulator": "a", "seed": "x"}}, "seed: expected int"),
        ({"source": {"simulator": "a", "duration": "-1 s"}}, "duration must be positive"),
        ({"source": {"file": "a.h5", "speed": "fast"}}, "speed"),
        ({"source": {"simulator": "a", "colour": 1}}, "colour: unknown setting"),
        ({"channels": {"one": "A"}}, "keys are channel numbers"),
        ({"channels": {"1": {"name": "A", "role": "boss"}}}, "role must be"),
        ({"output": {"compression": "zip"}}, "compression 'zip'"),
        ({"output": {"results_every": "0 s"}}, "results_every must be positive"),
        ({"output": {"results_every": "1 us"}}, "results_every '1 us': at least 10 ms"),
        ({"pipeline": {"data": "http://x"}}, "not a tcp://"),
        ({"pipeline": {"workers": -1}}, "workers must lie in 0..64"),
        ({"pipeline": {"hwm": 2**31}}, "hwm in 1..256"),
        ({"pipeline": {"hwm": 257}}, "hwm in 1..256"),
        ({"analysis": {"bogus": 1}}, "unknown setting"),
    ],
)
def test_bad_configs_name_the_setting(raw, reason):
    with pytest.raises(ts.TagstreamError, match=reason):
        parse_run_config(raw)


def test_bad_config_files_exit_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[source\n")
    assert main(["run", str(bad)]) == 2
    assert main(["run", str(tmp_path / "missing.toml")]) == 2
    no_source = tmp_path / "no-source.toml"
    no_source.write_text('[output]\npath = "x.h5"\n')
    assert main(["run", str(no_source)]) == 2
    err = capsys.readouterr().err
    assert "not valid TOML" in err and "no such file" in err and "[source] is missing" in err
    assert "Traceback" not in err


def test_run_command_with_an_example_config(tmp_path):
    """`tagstream run` on an example config: a real-time run of 2 s, then the file checks."""
    out = tmp_path / "dot.h5"
    command = [sys.executable, "-m", "tagstream", "run", str(CONFIGS / "run-cspbi3-10nm.toml")]
    done = subprocess.run(
        [*command, "--duration", "2s", "-o", str(out)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and "nothing lost" in done.stdout
    with ts.open(out) as run:
        assert run.status == "complete" and run.t_end - run.t_begin == 2 * 10**12
    agreement = compare_with_offline(out)
    assert agreement.all_equal and agreement.covered_ps == (0, 2 * 10**12)
    again = subprocess.run([*command, "--duration", "1s", "-o", str(out)], capture_output=True)
    assert again.returncode == 2 and b"--force" in again.stderr  # never overwrites silently


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    path = tmp_path_factory.mktemp("replay") / "recorded.h5"
    assert main(["simulate", "cspbi3-6.6nm", "--duration", "3s", "-o", str(path)]) == 0
    return path


@pytest.mark.parametrize("speed", ["max", "1"])
def test_replay_runs_a_recorded_file_through_the_pipeline(recorded, tmp_path, speed, capsys):
    out = tmp_path / f"replay-{speed}.h5"
    config = tmp_path / "replay.toml"
    config.write_text('[analysis]\ntrace_bin = "5 ms"\n[output]\nresults_every = "500 ms"\n')
    args = ["replay", str(recorded), "--speed", speed, "-o", str(out), "--config", str(config)]
    assert main(args) == 0
    assert "nothing lost" in capsys.readouterr().out
    with ts.open(recorded) as original, ts.open(out) as replayed:
        a, b = original.read(), replayed.read()
        assert replayed.status == "complete"
    np.testing.assert_array_equal(a.timestamps, b.timestamps)
    np.testing.assert_array_equal(a.channels, b.channels)
    np.testing.assert_array_equal(a.nanotimes, b.nanotimes)
    results = ts.results(out)
    assert len(results.series["g2"]) == 6  # every 500 ms of run time
    assert results.trace().bin_ps == 5 * 10**9
    assert compare_with_offline(out).all_equal


def test_replay_default_output_and_no_overwrite(recorded, capsys):
    default = recorded.with_name("recorded-replay.h5")
    default.unlink(missing_ok=True)
    assert main(["replay", str(recorded)]) == 0
    assert default.exists()
    before = default.stat().st_mtime_ns
    assert main(["replay", str(recorded)]) == 2
    assert default.stat().st_mtime_ns == before
    assert "--force" in capsys.readouterr().err
    assert main(["replay", str(recorded), "--force"]) == 0
