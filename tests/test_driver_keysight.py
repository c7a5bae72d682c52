"""The Keysight 53230A timestamp-mode adapter against a pyvisa-sim emulation of the counter
(``emulators/instruments.yaml``: it accepts exactly the commands of the exchange, and every
block holds the same five timestamps)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tagstream.drivers.keysight.k53230a import Keysight53230A
from tagstream.drivers.protocol import DeviceError, SettingsError

from tagstream.sources.device import DeviceRun

SIM = f"{Path(__file__).parent / 'emulators' / 'instruments.yaml'}@sim"
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
