"""The Swabian Time Tagger adapter against a fake ``TimeTagger`` module
(``emulators/fake_timetagger.py``) with the API surface the adapter uses: the calls it makes,
overflow intervals as gaps and missed events in the status, a simulated dot through
``tagstream run`` giving the results of its tags fed directly, a tagger lost mid-run, and a
missing module."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from tagstream.drivers.swabian.time_tagger import (
    MISSED_EVENTS,
    OVERFLOW_BEGIN,
    OVERFLOW_END,
    SwabianTimeTagger,
)

import tagstream as ts
from tagstream.cli import main
from tagstream.errors import DeviceError, SettingsError
from tagstream.pipeline.live_run import LivePipeline
from tagstream.pipeline.run_config import OutputSettings, load_run_config

from ...emulators import fake_timetagger
from ...run_output import error_lines
from ...streams import TagsRun

SECONDS = 2
ANALYSIS = '[analysis]\ng2_window = "50 ns"\ng2_bin = "100 ps"\ntrace_bin = "10 ms"\n'


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setitem(sys.modules, "TimeTagger", fake_timetagger)
    fake_timetagger.load([], [])
    return fake_timetagger


def test_the_calls_of_a_run(fake):
    with SwabianTimeTagger("", channels=[1, 3]) as dev:
        dev.configure(trigger_level_v=0.5, delay_ps_3=1500, test_signal=True, deadtime_ps=2000)
        info = dev.info()
        dev.start()
        dev.read()
        dev.stop()
    assert info.model == "Time Tagger Ultra" and info.serial == "2138000ABC"
    assert info.channels == (1, 3) and info.resolution_ps == 1.0
    assert fake.calls == [
        ("createTimeTagger", ""),
        ("setTriggerLevel", 1, 0.5), ("setDeadtime", 1, 2000),
        ("setTriggerLevel", 3, 0.5), ("setDeadtime", 3, 2000), ("setInputDelay", 3, 1500),
        ("setTestSignal", [1, 3], True),
        ("TimeTagStream", 4_000_000, [1, 3]), ("start",), ("stop",),
        ("freeTimeTagger",),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"trigger_level_v": 3.0}, "within -2.5 .. 2.5 V"),
        ({"delay_ps_2": 10}, "no setting 'delay_ps_2'"),
        ({"test_signal": 1}, "true or false"),
    ],
)
def test_settings_are_checked_before_any_call(fake, settings, message):
    with SwabianTimeTagger("", channels=[1]) as dev:
        before = list(fake.calls)
        with pytest.raises(SettingsError, match=message):
            dev.configure(**settings)
        assert fake.calls == before
    with pytest.raises(SettingsError, match="inputs 1-18"):
        SwabianTimeTagger("", channels=[0, 2])


def test_overflows_are_gaps_and_missed_events_are_counted(fake):
    t = [100, 200, 500, 900, 900, 900, 1000, 1200]
    ch = [1, 2, 0, 0, 1, 2, 1, 2]
    kind = [0, 0, OVERFLOW_BEGIN, OVERFLOW_END, MISSED_EVENTS, MISSED_EVENTS, 0, 0]
    missed = [0, 0, 0, 0, 7, 3, 0, 0]
    fake.load(t, ch, kind, missed)
    with SwabianTimeTagger("", channels=[1, 2]) as dev:
        dev.start()
        block = dev.read()
        status = dev.status()
    assert block.timestamps.tolist() == [100, 200, 1000, 1200]
    assert block.channels.tolist() == [1, 2, 1, 2]
    assert block.gaps.tolist() == [[500, 900]] and block.until_ps == 1201
    assert status.overflow and status.warnings == ["10 events missed in overflows"]


def test_an_overflow_still_open_holds_the_reported_time_at_its_start(fake):
    fake.load([100, 400, 450], [1, 0, 1], [0, OVERFLOW_BEGIN, 0])
    with SwabianTimeTagger("", channels=[1]) as dev:
        dev.start()
        block = dev.read()
    assert block.gaps is None and block.until_ps == 400


def test_a_dot_through_the_fake_module_gives_the_results_of_its_tags_fed_directly(fake, tmp_path):
    tags = ts.simulate("cw-antibunching", duration=f"{SECONDS} s", seed=4).read()
    fake.load(tags.timestamps, tags.channels, seconds=SECONDS)  # at the pace of a tagger
    config = tmp_path / "tt.toml"
    config.write_text(
        '[source]\ndevice = "swabian-time-tagger"\noptions = { channels = [1, 2] }\n'
        f"settings = {{ trigger_level_v = 0.08 }}\n{ANALYSIS}"
    )
    out = tmp_path / "tt.h5"
    assert main(["run", str(config), "--duration", f"{SECONDS}s", "-o", str(out)]) == 0
    with ts.open(out) as run:
        np.testing.assert_array_equal(run.read().timestamps, tags.timestamps)
        metadata = run.metadata
    assert metadata.settings["trigger_level_v"] == 0.08
    direct = tmp_path / "direct.h5"
    settings = load_run_config(config)
    source = TagsRun(tags.timestamps, tags.channels, metadata, SECONDS * 10**12)
    LivePipeline.from_config(source, settings, OutputSettings(direct)).run()
    via, straight = ts.results(out), ts.results(direct)
    assert len(via.analysis_gaps()) == len(straight.analysis_gaps()) == 0
    np.testing.assert_array_equal(via.g2().counts, straight.g2().counts)
    np.testing.assert_array_equal(via.trace().counts, straight.trace().counts)
    a, b = ts.summary(out), ts.summary(direct)
    assert a["g2"] == b["g2"] and a["blinking"] == b["blinking"]
    assert a["g2"]["g2_zero"] < 0.3


def test_a_tagger_lost_mid_run_ends_the_run_with_its_data(fake, tmp_path, capsys):
    tags = ts.simulate("cw-antibunching", duration="1 s", seed=4).read()
    fake.load(tags.timestamps, tags.channels)
    fake.lose_after = tags.timestamps.size // 2
    config = tmp_path / "tt.toml"
    config.write_text('[source]\ndevice = "swabian-time-tagger"\n')
    out = tmp_path / "tt.h5"
    assert main(["run", str(config), "--duration", "1s", "-o", str(out)]) == 1
    err = error_lines(capsys.readouterr().err)
    assert len(err) == 1 and "Swabian Time Tagger: lost (Time Tagger disconnected)" in err[0]
    with ts.open(out) as run:
        kept = run.read().timestamps
        assert len(run.gaps) == 1 and run.gaps[0][1] == run.t_end
    np.testing.assert_array_equal(kept, tags.timestamps[: tags.timestamps.size // 2])


def test_a_missing_module_names_what_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "TimeTagger", None)  # import fails
    with pytest.raises(DeviceError, match="needs Swabian's Time Tagger software"):
        SwabianTimeTagger()
    config = tmp_path / "tt.toml"
    config.write_text('[source]\ndevice = "swabian-time-tagger"\n')
    out = tmp_path / "tt.h5"
    assert main(["run", str(config), "--duration", "1s", "-o", str(out)]) == 2
    assert "Time Tagger software" in capsys.readouterr().err
    assert not out.exists()


def test_an_unknown_serial_is_a_clear_error(fake):
    with pytest.raises(DeviceError, match="Swabian Time Tagger 999: cannot open"):
        SwabianTimeTagger("999")
