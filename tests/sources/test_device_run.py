"""Hardware through the live pipeline: a simulated dot served by a device emulator gives, through
``tagstream run``, the results of the same tags fed to the pipeline directly; a device lost
mid-run ends the run with its data saved, the gap recorded and a one-line message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tagstream.drivers.s15.tdc1_words import NO_EVENT, TICK_PS, WRAP_TICKS, encode_words

import tagstream as ts
from tagstream.cli import main
from tagstream.pipeline.live_run import LivePipeline
from tagstream.pipeline.run_config import OutputSettings, load_run_config
from tagstream.sources.device import DeviceRun
from tagstream.sources.device_protocol import (
    DeviceError,
    DeviceInfo,
    DeviceStatus,
    TagBlock,
    TagSource,
)
from tagstream.sources.device_registry import find_devices, open_device

from ..emulators.tdc1 import Tdc1Emulator
from ..run_output import error_lines
from ..streams import TagsRun

SECONDS = 2
ANALYSIS = """
[analysis]
g2_window = "50 ns"
g2_bin = "2 ns"
trace_bin = "10 ms"
"""


def _dot_on_ticks(seconds: float = SECONDS, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """The CW dot's tags on the TDC1's 2 ns ticks (inputs 1 and 2), as the device reports
    them."""
    tags = ts.simulate("cw-antibunching", duration=f"{seconds} s", seed=seed).read()
    t = tags.timestamps // TICK_PS * TICK_PS
    order = np.lexsort((tags.channels, t))  # the inputs of one tick in input order
    t, ch = t[order], tags.channels[order].astype(np.uint8)
    assert np.unique(t * 8 + ch).size == t.size  # dead time: never one input twice in a tick
    return t, ch


def _words(t: np.ndarray, ch: np.ndarray, seconds: float = SECONDS) -> np.ndarray:
    """The device's words for these tags, with time marks through the wraps up to the end."""
    words = encode_words(t, ch, mark_every_ticks=WRAP_TICKS // 8)
    end_tick = int(seconds * 1e12) // TICK_PS + 1
    marks = np.arange(t[-1] // TICK_PS + 1, end_tick + 1, WRAP_TICKS // 8)
    tail = ((np.append(marks, end_tick) % WRAP_TICKS) << 5) | NO_EVENT
    return np.concatenate((words, tail.astype("<u4")))


def _config(tmp_path: Path, source: str, name: str = "run.toml") -> Path:
    path = tmp_path / name
    path.write_text(f"[source]\n{source}\n{ANALYSIS}\n[pipeline]\nworkers = 1\n")
    return path


def test_a_dot_through_the_tdc1_emulator_gives_the_results_of_its_tags_fed_directly(tmp_path):
    t, ch = _dot_on_ticks()
    with Tdc1Emulator(_words(t, ch), chunk=1 << 16, seconds=SECONDS) as emu:  # the device's pace
        config = _config(tmp_path, f'device = "s15-tdc1"\naddress = "{emu.port}"')
        out = tmp_path / "tdc1.h5"
        assert main(["run", str(config), "--duration", f"{SECONDS}s", "-o", str(out)]) == 0
        assert "counts?" in emu.commands and emu.commands[-1] == "abort"
    with ts.open(out) as run:
        got = run.read()
        metadata = run.metadata
        assert len(run.gaps) == 0 and run.t_end == SECONDS * 10**12
    np.testing.assert_array_equal(got.timestamps, t)
    np.testing.assert_array_equal(got.channels, ch)
    assert metadata.settings["serial"] == "TDC1-0042" and metadata.hbt_pair == ("ch1", "ch2")

    direct = tmp_path / "direct.h5"
    settings = load_run_config(_config(tmp_path, 'simulator = "cw-antibunching"', "d.toml"))
    source = TagsRun(t, ch, metadata, SECONDS * 10**12)
    LivePipeline.from_config(source, settings, OutputSettings(direct)).run()
    via, straight = ts.results(out), ts.results(direct)
    assert len(via.analysis_gaps()) == len(straight.analysis_gaps()) == 0  # nothing dropped live
    np.testing.assert_array_equal(via.g2().counts, straight.g2().counts)
    np.testing.assert_array_equal(via.trace().counts, straight.trace().counts)
    assert via.trace().counts.sum() == t.size
    a, b = ts.summary(out), ts.summary(direct)
    assert a["g2"] == b["g2"] and a["blinking"] == b["blinking"] and a["channels"] == b["channels"]
    assert 0 < a["g2"]["g2_zero"] < 0.5  # the dip survives the 2 ns ticks


def test_a_tdc1_lost_mid_run_stops_the_run_with_its_data_and_the_gap(tmp_path, capsys):
    t, ch = _dot_on_ticks()
    words = _words(t, ch)
    cut = words.size // 2
    with Tdc1Emulator(words, chunk=1 << 14, lose_after=4 * cut) as emu:
        config = _config(tmp_path, f'device = "s15-tdc1"\naddress = "{emu.port}"')
        out = tmp_path / "lost.h5"
        assert main(["run", str(config), "--duration", f"{SECONDS}s", "-o", str(out)]) == 1
    err = error_lines(capsys.readouterr().err)
    assert len(err) == 1 and "S-Fifteen TDC1" in err[0] and "lost" in err[0]
    assert str(out) in err[0]
    with ts.open(out) as run:
        got = run.read()
        gaps = run.gaps
    sent = words[:cut]
    last = int(t[np.searchsorted(t, _tick_time(sent), side="right") - 1])
    kept = t[t <= last]
    np.testing.assert_array_equal(got.timestamps, kept)  # everything before the loss
    assert len(gaps) == 1 and gaps[0][0] <= kept[-1] + 2 * TICK_PS and gaps[0][1] == run.t_end


def _tick_time(words: np.ndarray) -> int:
    """ps time of the last word (the wraps counted from the marks)."""
    ticks = (words >> 5).astype(np.int64)
    wraps = int(np.sum(ticks[1:] < ticks[:-1]))
    return (wraps * WRAP_TICKS + int(ticks[-1])) * TICK_PS


class _Scripted(TagSource):
    """A device whose reads return given blocks, then fail."""

    NAME = "scripted"

    def __init__(self, blocks: list[TagBlock], fail: bool = True):
        self.blocks, self.fail, self.log = list(blocks), fail, []

    def info(self) -> DeviceInfo:
        return DeviceInfo("Scripted", "7", 1.0, (1, 2))

    def configure(self, **settings) -> None:
        self.log.append(("configure", settings))

    def start(self) -> None:
        self.log.append("start")

    def read(self) -> TagBlock:
        if self.blocks:
            return self.blocks.pop(0)
        if self.fail:
            raise DeviceError("scripted: lost (read error -16)")
        return TagBlock(np.zeros(0, np.int64), np.zeros(0, np.uint8), 10**15)

    def stop(self) -> None:
        self.log.append("stop")

    def status(self) -> DeviceStatus:
        return DeviceStatus()


def _block(t, ch, until, gaps=None) -> TagBlock:
    return TagBlock(np.array(t, np.int64), np.array(ch, np.uint8), until, gaps=gaps)


def test_device_batches_are_cut_at_the_devices_time_with_its_gaps_and_late_tags_left_out():
    blocks = [
        _block([5, 40], [1, 2], 50),
        _block([60, 120], [1, 1], 130, gaps=[[100, 110]]),
        _block([90, 140, 150], [2, 2, 1], 160),  # 90 arrives after [0, 100) went out: late
        _block([], [], 400),
    ]
    dev = _Scripted(blocks, fail=False)
    run = DeviceRun(dev, {"level": 1}, duration_ps=300, latency_s=1e3)
    got = list(run.batches(100))
    assert [(b.t_begin, b.t_end) for b in got] == [(0, 100), (100, 200), (200, 300)]
    assert [b.timestamps.tolist() for b in got] == [[5, 40, 60], [120, 140, 150], []]
    assert got[1].gaps.tolist() == [[100, 110]] and run.late == 1
    assert dev.log == [("configure", {"level": 1}), "start", "stop"]


def test_a_device_lost_ends_the_batches_with_a_gap_from_its_last_report():
    dev = _Scripted([_block([5, 40], [1, 2], 50), _block([130], [2], 150)])
    run = DeviceRun(dev, duration_ps=10**12, latency_s=1e3)
    got = list(run.batches(100))
    assert [b.timestamps.tolist() for b in got] == [[5, 40], [130]]
    last = got[-1]
    assert last.t_begin == 100 and last.gaps.tolist() == [[150, last.t_end]]
    assert run.lost == "scripted: lost (read error -16)" and dev.log[-1] == "stop"


def test_an_unknown_adapter_or_option_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(DeviceError, match=r"no device adapter 'nope'.*s15-tdc1"):
        open_device("nope", "x")
    with pytest.raises(DeviceError, match="s15-tdc1: options"):
        open_device("s15-tdc1", "loop://", baud=5)
    config = _config(tmp_path, 'device = "s15-tdc1"\naddress = "/dev/no-such-port"')
    assert main(["run", str(config), "--duration", "1s", "-o", str(tmp_path / "x.h5")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "/dev/no-such-port" in err[0], err


def test_devices_lists_the_adapters(capsys):
    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    assert "adapters: " in out and "s15-tdc1" in out
    assert all(len(row) == 3 for row in find_devices())


def test_time_cut_by_the_wall_clock_before_the_device_reported_it_is_a_gap():
    stalled = [_block([5], [1], 50)] + [_block([], [], 50) for _ in range(3)]
    dev = _Scripted(stalled, fail=False)
    dev.latency_s = 0.0
    run = DeviceRun(dev, duration_ps=300, latency_s=1e-9)  # the wall clock is far ahead
    got = list(run.batches(100))
    assert [b.timestamps.tolist() for b in got] == [[5], [], []]
    assert [b.gaps.tolist() for b in got] == [[[50, 100]], [[100, 200]], [[200, 300]]]
    assert run.unreported_ps == 250 and "recorded as gaps" in run.notes()[0]


def test_losses_reported_for_time_already_handed_out_are_counted():
    blocks = [_block([5], [1], 200), _block([250], [2], 300, gaps=[[150, 240]])]
    run = DeviceRun(_Scripted(blocks, fail=False), duration_ps=400, latency_s=1e3)
    got = list(run.batches(100))
    assert [b.gaps.tolist() for b in got] == [[], [], [[200, 240]], []]
    assert run.late_gap_ps == 50 and "reported after" in run.notes()[-1]
