"""The example config of every hardware adapter loads, names a registered adapter, and holds
options and settings that adapter accepts: a ``device-<adapter>.toml`` per time tagger, and
every instrument in ``device-instruments.toml``."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from tagstream.pipeline.run_config import load_run_config
from tagstream.pipeline.series_config import load_series_config
from tagstream.sources.device_protocol import check_settings
from tagstream.sources.device_registry import ADAPTERS, load

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


TAGGERS = sorted(name for name, a in ADAPTERS.items() if a.kind == "tagger")
INSTRUMENTS = sorted(name for name, a in ADAPTERS.items() if a.kind == "instrument")
HARDWARE_INSTRUMENTS = [name for name in INSTRUMENTS if not name.startswith("simulated-")]


def _accepted(name: str, address: str, options: dict, settings: dict) -> None:
    cls = load(name)
    inspect.signature(cls).bind(address, **options)  # options it takes
    table = cls.settings_for(**options) if hasattr(cls, "settings_for") else cls.SETTINGS
    assert check_settings(table, settings, name).keys() == settings.keys()


@pytest.mark.parametrize("name", TAGGERS)
def test_every_tagger_has_a_config_that_it_accepts(name):
    path = CONFIGS / f"device-{name}.toml"
    source = load_run_config(path).source
    assert source.device == name
    _accepted(name, source.address, source.options, source.settings)


def test_every_instrument_is_in_the_instruments_config():
    config = load_run_config(CONFIGS / "device-instruments.toml")
    assert sorted(i.device for i in config.instruments.values()) == HARDWARE_INSTRUMENTS
    for inst in config.instruments.values():
        _accepted(inst.device, inst.address, inst.options, inst.settings)


@pytest.mark.parametrize("name", ["series-instruments.toml", "series-simulated.toml"])
def test_the_series_configs_load_and_their_instruments_take_the_steps(name):
    config = load_series_config(CONFIGS / name)
    for inst in config.run.instruments.values():
        _accepted(inst.device, inst.address, inst.options, inst.settings)
    stepped = config.run.instruments[config.series.instrument]
    for value in config.series.values:
        _accepted(stepped.device, stepped.address, stepped.options, {config.series.setting: value})
    assert len(config.series.values) >= 8 and config.series.meter and config.series.shutter
    simulated = {i.device.startswith("simulated-") for i in config.run.instruments.values()}
    assert simulated == {name == "series-simulated.toml"}


def test_no_config_names_an_adapter_that_does_not_exist():
    for path in CONFIGS.glob("device-*.toml"):
        assert load_run_config(path).source.device in ADAPTERS, path.name


def test_tagstream_and_every_adapter_import_without_the_vendor_software():
    """No vendor SDK is installed here: importing any adapter module must still work (the
    missing library is an error when a device is opened, naming what to install)."""
    code = "import tagstream, importlib\n" + "".join(
        f"importlib.import_module({a.module!r})\n" for a in ADAPTERS.values()
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
