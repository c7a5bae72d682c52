"""The ID Quantique Time Controller adapter against an emulator of the controller and its
DataLinkTarget service over ZeroMQ (``emulators/idq_time_controller.py``): the SCPI and
DataLinkTarget exchange, timestamps rebuilt across sub-acquisitions with their dead times as
gaps, a simulated dot through ``tagstream run`` giving the results of its tags fed directly, and
a controller that stops answering."""

from __future__ import annotations

import time

import numpy as np
import pytest
from tagstream.drivers.idq.time_controller import DEAD_TIME_PS, IdqTimeController

import tagstream as ts
from tagstream.cli import main
from tagstream.errors import DeviceError, SettingsError
from tagstream.pipeline.live_run import LivePipeline
from tagstream.pipeline.run_config import OutputSettings, load_run_config

from ...emulators.idq_time_controller import IdqEmulator
from ...run_output import error_lines
from ...streams import TagsRun

SUB_S = 0.2
PERIOD_PS = round(SUB_S * 1e12) + DEAD_TIME_PS
ANALYSIS = '[analysis]\ng2_window = "50 ns"\ng2_bin = "100 ps"\ntrace_bin = "10 ms"\n'


def _free_base() -> int:
    """A stream port base whose four ports are free now."""
    import socket

    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + 4 < 65535:
            return base


def _recorded(t: np.ndarray, n_sub: int) -> np.ndarray:
    """Which of ``t`` fall inside the first ``n_sub`` sub-acquisitions (not in a dead time)."""
    k = t // PERIOD_PS
    return (k < n_sub) & (t - k * PERIOD_PS < PERIOD_PS - DEAD_TIME_PS)


def _open(emu: IdqEmulator, **kw) -> IdqTimeController:
    return IdqTimeController(
        "127.0.0.1", scpi_port=emu.scpi_port, dlt=emu.dlt_endpoint,
        stream_port_base=_free_base(), **kw,
    )  # fmt: skip


def test_the_exchange_and_the_timestamps_across_sub_acquisitions():
    rng = np.random.default_rng(3)
    tags = {c: np.sort(rng.integers(0, 3 * PERIOD_PS, 2000)) for c in (1, 2)}
    with IdqEmulator(tags, speed=20.0) as emu:
        with _open(emu, channels=[1, 2]) as dev:
            dev.configure(sub_duration_s=SUB_S)
            info = dev.info()
            dev.start()
            blocks = []
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and (
                not blocks or blocks[-1].until_ps < 3 * PERIOD_PS
            ):
                blocks.append(dev.read())
                time.sleep(0.005)
            dev.stop()
        assert emu.commands[:6] == [
            "*IDN?", "REC:TRIG:ARM:MODE MANUal", "REC:ENABle ON", "REC:STOP", "REC:NUM INF",
            f"REC:PWID {round(SUB_S * 1e12)};PPER {PERIOD_PS}",
        ]  # fmt: skip
        assert emu.commands[6:10] == [
            "RAW1:REF:LINK NONE", "RAW1:ERRORS:CLEAR", "RAW1:SEND ON", "RAW2:REF:LINK NONE",
        ]  # fmt: skip
        assert "REC:PLAY" in emu.commands and emu.commands[-1] == "RAW2:ERRORS?"
        assert emu.datalink[0].startswith("start-stream --address 127.0.0.1 --channel 1")
        assert emu.datalink[-1] == "stop --id acq-2"
    assert info.model == "ID1000" and info.serial == "1908029T010" and info.channels == (1, 2)
    t = np.concatenate([b.timestamps for b in blocks])
    ch = np.concatenate([b.channels for b in blocks])
    keep = {c: tags[c][_recorded(tags[c], 3)] for c in (1, 2)}
    for c in (1, 2):
        np.testing.assert_array_equal(t[(ch == c) & (t < 3 * PERIOD_PS)], keep[c])
    gaps = np.concatenate([b.gaps for b in blocks if b.gaps is not None])
    assert gaps[:3].tolist() == [
        [k * PERIOD_PS + PERIOD_PS - DEAD_TIME_PS, (k + 1) * PERIOD_PS] for k in range(3)
    ]


def test_refusals_are_clear_errors():
    with IdqEmulator({}) as emu:
        with _open(emu) as dev:
            with pytest.raises(SettingsError, match="sub_duration_s"):
                dev.configure(sub_duration_s=100)
            with pytest.raises(DeviceError, match=r"'BOGUS' refused \(SCPI_ERR_-113"):
                dev.scpi("BOGUS")
            with pytest.raises(DeviceError, match="DataLinkTarget refused 'nonsense'"):
                dev.datalink("nonsense")
        with pytest.raises(DeviceError, match="channels must be inputs 1-4"):
            _open(emu, channels=[5])


def _dot(seconds: float):
    tags = ts.simulate("cw-antibunching", duration=f"{seconds} s", seed=6).read()
    return tags.timestamps, tags.channels


def _config(tmp_path, emu: IdqEmulator, base: int) -> str:
    path = tmp_path / "idq.toml"
    path.write_text(
        f'[source]\ndevice = "idq-time-controller"\naddress = "127.0.0.1"\n'
        f"options = {{ channels = [1, 2], scpi_port = {emu.scpi_port}, "
        f'dlt = "{emu.dlt_endpoint}", stream_port_base = {base} }}\n'
        f"settings = {{ sub_duration_s = {SUB_S} }}\n{ANALYSIS}"
    )
    return str(path)


def test_a_dot_through_the_emulator_gives_the_results_of_its_tags_fed_directly(tmp_path):
    seconds = 2
    n_sub = 9  # whole sub-acquisitions within the run
    t, ch = _dot(seconds)
    with IdqEmulator({c: t[ch == c] for c in (1, 2)}) as emu:  # in real time
        out = tmp_path / "idq.h5"
        duration = n_sub * PERIOD_PS
        config = _config(tmp_path, emu, _free_base())
        assert main(["run", config, "--duration", f"{duration}ps", "-o", str(out)]) == 0
    keep = _recorded(t, n_sub)
    with ts.open(out) as run:
        got = run.read()
        metadata, gaps = run.metadata, run.gaps
    np.testing.assert_array_equal(got.timestamps, t[keep])
    np.testing.assert_array_equal(got.channels, ch[keep])
    assert len(gaps) == n_sub - 1 or len(gaps) == n_sub
    direct = tmp_path / "direct.h5"
    source = TagsRun(t[keep], ch[keep], metadata, duration, gaps)
    LivePipeline.from_config(source, load_run_config(config), OutputSettings(direct)).run()
    via, straight = ts.results(out), ts.results(direct)
    assert len(via.analysis_gaps()) == len(straight.analysis_gaps()) == 0
    np.testing.assert_array_equal(via.g2().counts, straight.g2().counts)
    np.testing.assert_array_equal(via.trace().counts, straight.trace().counts)
    a, b = ts.summary(out), ts.summary(direct)
    assert a["g2"] == b["g2"] and a["blinking"] == b["blinking"] and a["gaps"] == b["gaps"]


def test_a_controller_that_stops_answering_ends_the_run_with_its_data(tmp_path, capsys):
    t, ch = _dot(1.0)
    with IdqEmulator({c: t[ch == c] for c in (1, 2)}, speed=4.0, vanish_after=2) as emu:
        out = tmp_path / "idq.h5"
        config = _config(tmp_path, emu, _free_base())
        assert main(["run", config, "--duration", "1s", "-o", str(out)]) == 1
    err = error_lines(capsys.readouterr().err)
    assert len(err) == 1 and "ID Quantique Time Controller at 127.0.0.1: lost" in err[0]
    with ts.open(out) as run:
        got = run.read().timestamps
        assert run.gaps[-1][1] == run.t_end
    np.testing.assert_array_equal(got, t[_recorded(t, 2)])
