"""The Keysight 53230A timestamp-mode adapter against a pyvisa-sim emulation of the counter
(``emulators/instruments.yaml``: it accepts exactly the commands of the exchange, and every
block holds the same five timestamps)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from tagstream.drivers.keysight.k53230a import Keysight53230A

import tagstream as ts
from tagstream.cli import main
from tagstream.errors import DeviceError, SettingsError
from tagstream.pipeline.live_run import LivePipeline
from tagstream.pipeline.run_config import OutputSettings, load_run_config
from tagstream.sources.device import DeviceRun

from ...streams import TagsRun

SIM = f"{Path(__file__).parents[2] / 'emulators' / 'instruments.yaml'}@sim"
COUNTER = "USB0::0x0957::0x1907::MY50001234::INSTR"
LASER = "USB0::0x1234::0x0001::LD0042::INSTR"
BLOCK_PS = [1_000_000, 2_500_000, 2_500_020, 7_000_000, 9_100_000]


def test_blocks_of_timestamps_follow_each_other_with_the_gaps_between_them():
    with Keysight53230A(COUNTER, backend=SIM) as counter:
        counter.configure(level_v=-0.3, slope="NEG", impedance_ohm="50", block=5)
        info = counter.info()
        counter.start()
        first, second = counter.read(), counter.read()
        counter.stop()
    assert info.serial == "MY50001234" and info.resolution_ps == 20.0 and info.channels == (1,)
    assert first.timestamps.tolist() == BLOCK_PS and first.channels.tolist() == [1] * 5
    (gap,) = first.gaps.tolist()
    assert gap[0] == BLOCK_PS[-1] + 1 and gap[1] == first.until_ps
    assert second.timestamps.tolist() == [gap[1] + t for t in BLOCK_PS]


def test_a_device_run_of_the_counter_holds_every_block():
    with DeviceRun(Keysight53230A(COUNTER, backend=SIM), {"block": 5}, latency_s=1e3) as run:
        batches = []
        for batch in run.batches(10**7):  # 10 us batches
            batches.append(batch)
            if sum(len(b) for b in batches) >= 15:
                break
    t = np.concatenate([b.timestamps for b in batches])
    gaps = np.concatenate([b.gaps for b in batches])
    assert np.all(np.diff(t) >= 0) and t[:5].tolist() == BLOCK_PS
    # every tag outside the gaps, and a gap after each block
    assert not np.any((t[:, None] >= gaps[:, 0]) & (t[:, None] < gaps[:, 1]))
    assert len(gaps) >= 2 and gaps[0][0] == BLOCK_PS[-1] + 1


def test_settings_are_checked_and_a_wrong_instrument_refused():
    with Keysight53230A(COUNTER, backend=SIM) as counter:
        with pytest.raises(SettingsError, match=r"level_v' must be within -5 \.\. 5 V"):
            counter.configure(level_v=7)
        with pytest.raises(SettingsError, match="slope' must be one of POS, NEG"):
            counter.configure(slope="UP")
    with pytest.raises(DeviceError, match=r"Keysight 53230A at .*: answers 'Photonic Fake"):
        Keysight53230A(LASER, backend=SIM)


def test_a_counter_that_goes_away_is_a_one_line_error():
    with Keysight53230A(COUNTER, backend=SIM) as counter:
        counter.configure(block=5)
        counter.start()
        counter.read()
        counter._inst.close()  # the USB cable pulled: the session is gone
        with pytest.raises(DeviceError, match=r"Keysight 53230A at .*: (lost|no answer)"):
            counter.read()
        counter._inst = None


def test_a_dot_served_by_the_counter_gives_the_results_of_its_tags_fed_directly(tmp_path):
    tags = ts.simulate("cw-antibunching", duration="20 ms", seed=8).read()
    t = tags.timestamps[tags.channels == 1][:3000]
    yaml = tmp_path / "counter.yaml"
    text = (Path(__file__).parents[2] / "emulators" / "instruments.yaml").read_text()
    answer = ",".join(f"{x * 1e-12:+.15E}" for x in t)
    text = text.replace('"DATA:POIN?"\n        r: "5"', f'"DATA:POIN?"\n        r: "{t.size}"')
    text = text.replace('q: "DATA:REM? 5"', f'q: "DATA:REM? {t.size}"')
    text = re.sub(r'r: "\+1\.0+E-06,[^"]*"', f'r: "{answer}"', text)
    yaml.write_text(text)
    config = tmp_path / "counter.toml"
    config.write_text(
        f'[source]\ndevice = "keysight-53230a"\naddress = "{COUNTER}"\n'
        f'options = {{ backend = "{yaml}@sim" }}\nsettings = {{ block = {t.size} }}\n'
        '[analysis]\ntrace_bin = "1 ms"\n'
    )
    end = int(t[-1]) + 1
    out = tmp_path / "counter.h5"
    assert main(["run", str(config), "--duration", f"{end}ps", "-o", str(out)]) == 0
    with ts.open(out) as run:
        np.testing.assert_array_equal(run.read().timestamps, t)
        metadata = run.metadata
    direct = tmp_path / "direct.h5"
    source = TagsRun(t, np.ones(t.size, np.uint8), metadata, end)
    LivePipeline.from_config(source, load_run_config(config), OutputSettings(direct)).run()
    np.testing.assert_array_equal(ts.results(out).trace().counts, ts.results(direct).trace().counts)
    a, b = ts.summary(out), ts.summary(direct)
    assert a["blinking"] == b["blinking"] and a["channels"] == b["channels"]
