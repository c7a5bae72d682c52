"""Auxiliary instruments against emulators of their protocols: the pulsed laser driver and the
PM100D power meter as pyvisa-sim devices (``emulators/instruments.yaml``), the FW102C filter
wheel and the SC10 shutter on pseudo-terminals; their readings land in the run file."""

from __future__ import annotations

from pathlib import Path

import pytest
from tagstream.drivers.lasers.scpi_pulsed import ScpiPulsedLaser
from tagstream.drivers.thorlabs.fw102c import Fw102c
from tagstream.drivers.thorlabs.pm100d import Pm100d
from tagstream.drivers.thorlabs.sc10 import Sc10

import tagstream as ts
from tagstream.cli import main
from tagstream.errors import DeviceError, SettingsError

from ..emulators.thorlabs_serial import ThorlabsSerialEmulator

SIM = f"{Path(__file__).parents[1] / 'emulators' / 'instruments.yaml'}@sim"
LASER = "USB0::0x1234::0x0001::LD0042::INSTR"
METER = "USB0::0x1313::0x8078::P0012345::INSTR"


def test_the_laser_takes_its_settings_and_reads_them_back():
    with ScpiPulsedLaser(LASER, backend=SIM) as laser:
        assert laser.ident.startswith("Photonic Fake,PDL-SCPI")
        assert laser.readings() == {"rate_hz": 40e6, "power_percent": 0.0, "enabled": False}
        laser.configure(rate_hz=20e6, power_percent=35.5, enabled=True)
        assert laser.readings() == {"rate_hz": 20e6, "power_percent": 35.5, "enabled": True}
        with pytest.raises(SettingsError, match=r"rate_hz' must be within 1000 .. 2e\+08 Hz"):
            laser.configure(rate_hz=5e8)
        with pytest.raises(SettingsError, match="enabled' must be true or false"):
            laser.configure(enabled="yes")
        assert laser.readings()["rate_hz"] == 20e6  # nothing was sent


def test_the_power_meter_reads_the_power_at_its_wavelength():
    with Pm100d(METER, backend=SIM) as meter:
        meter.configure(wavelength_nm=520, averages=100)
        got = meter.readings()
    assert got["power_w"] == pytest.approx(1.234e-6) and got["wavelength_nm"] == 520.0
    assert "PM100D" in got["ident"]


def test_an_instrument_that_refuses_a_value_is_a_clear_error():
    with Pm100d(METER, backend=SIM) as meter:  # the sensor covers 400-1100 nm
        before = meter.readings()["wavelength_nm"]
        with pytest.raises(DeviceError, match=r"PM100D at .*: refused 'SENS:CORR:WAV 1300.0'"):
            meter.configure(wavelength_nm=1300)
        assert meter.readings()["wavelength_nm"] == before  # unchanged, answering as before


def test_a_wrong_or_missing_instrument_is_named():
    with pytest.raises(DeviceError, match=r"Thorlabs PM100D at .*LD0042.*answers"):
        Pm100d(LASER, backend=SIM)
    with pytest.raises(DeviceError, match=r"PM100D at USB0::0x1::0x2::NOPE::INSTR: (cannot|no)"):
        Pm100d("USB0::0x1::0x2::NOPE::INSTR", backend=SIM)


def test_the_filter_wheel_exchange():
    with ThorlabsSerialEmulator("fw102c", positions=6) as emu:
        with Fw102c(emu.port) as wheel:
            wheel.configure(position=3)
            assert wheel.readings() == {"position": 3, "positions": 6}
            with pytest.raises(SettingsError, match=r"within 1 \.\. 6, got 7"):
                wheel.configure(position=7)
        assert emu.commands == ["*idn?", "pcount?", "pos=3", "pos?"]
        assert emu.position == 3


def test_the_shutter_opens_once_and_stays_open():
    with ThorlabsSerialEmulator("sc10") as emu:
        with Sc10(emu.port) as shutter:
            shutter.configure(open=True)
            shutter.configure(open=True)  # already open: no toggle
            assert shutter.readings() == {"open": True}
        assert emu.commands == ["*idn?", "ens?", "ens", "ens?", "ens?", "ens?"]


def emulated_instruments(wheel_port: str, shutter_port: str, /, **settings: str) -> str:
    """The ``[instruments.*]`` tables of the four adapters on their emulators (the wheel and
    the shutter on the pseudo-terminals ``wheel_port`` and ``shutter_port``); ``settings``: a
    TOML inline table per label (``laser``, ``power``, ``nd_wheel``, ``shutter``)."""
    where = {"laser": ("scpi-pulsed-laser", LASER, SIM), "power": ("thorlabs-pm100d", METER, SIM),
             "nd_wheel": ("thorlabs-fw102c", wheel_port, None),
             "shutter": ("thorlabs-sc10", shutter_port, None)}  # fmt: skip
    tables = []
    for label, (device, address, backend) in where.items():
        lines = [f"[instruments.{label}]", f'device = "{device}"', f'address = "{address}"']
        if backend:
            lines.append(f'options = {{ backend = "{backend}" }}')
        if label in settings:
            lines.append(f"settings = {settings[label]}")
        tables.append("\n".join(lines))
    return "\n\n".join(tables) + "\n"


def test_a_run_records_the_instruments_readings(tmp_path):
    with (
        ThorlabsSerialEmulator("fw102c") as wheel,
        ThorlabsSerialEmulator("sc10") as shutter,
    ):
        config = tmp_path / "run.toml"
        config.write_text('[source]\nsimulator = "cw-antibunching"\nrealtime = false\n\n'
                          + emulated_instruments(
                              wheel.port, shutter.port,
                              laser="{ rate_hz = 40e6, power_percent = 30, enabled = true }",
                              power="{ wavelength_nm = 532 }", nd_wheel="{ position = 4 }",
                              shutter="{ open = true }"))  # fmt: skip

        out = tmp_path / "run.h5"
        assert main(["run", str(config), "--duration", "0.5s", "-o", str(out)]) == 0
    with ts.open(out) as run:
        got = run.metadata.settings["instruments"]
    assert got["laser"]["power_percent"] == 30.0 and got["laser"]["enabled"] is True
    assert got["power"]["power_w"] == pytest.approx(1.234e-6)
    assert got["power"]["wavelength_nm"] == 532.0
    assert got["nd_wheel"]["position"] == 4 and got["shutter"] == {
        "device": "thorlabs-sc10",
        "address": shutter.port,
        "open": True,
    }


def test_a_missing_instrument_stops_the_run_before_it_starts(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text(
        '[source]\nsimulator = "cw-antibunching"\nrealtime = false\n'
        '[instruments.wheel]\ndevice = "thorlabs-fw102c"\naddress = "/dev/no-such-port"\n'
    )
    out = tmp_path / "run.h5"
    assert main(["run", str(config), "--duration", "0.5s", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Thorlabs FW102C at /dev/no-such-port: cannot open" in err[0]
    assert not out.exists()


def test_an_instrument_as_the_source_or_a_tagger_as_an_instrument_is_refused(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text(f'[source]\ndevice = "thorlabs-pm100d"\naddress = "{METER}"\n')
    assert main(["run", str(config), "--duration", "0.5s", "-o", str(tmp_path / "x.h5")]) == 2
    err = capsys.readouterr().err
    assert "thorlabs-pm100d is an auxiliary instrument, not a time tagger" in err
    config.write_text(
        '[source]\nsimulator = "cw-antibunching"\n'
        '[instruments.tagger]\ndevice = "s15-tdc1"\naddress = "loop://"\n'
    )
    assert main(["run", str(config), "--duration", "0.5s", "-o", str(tmp_path / "x.h5")]) == 2
    assert "s15-tdc1 is a time tagger, not an auxiliary instrument" in capsys.readouterr().err
