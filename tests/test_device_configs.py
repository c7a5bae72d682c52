"""The example config of every hardware adapter loads, names a registered adapter, and holds
options and settings that adapter accepts; every adapter has one."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from tagstream.drivers.protocol import check_settings
from tagstream.drivers.registry import ADAPTERS, load

from tagstream.pipeline.run_config import load_run_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_every_adapter_has_a_config_that_it_accepts(name):
    path = CONFIGS / f"device-{name}.toml"
    source = load_run_config(path).source
    assert source.device == name
    cls = load(name)
    inspect.signature(cls).bind(source.address, **source.options)  # options it takes
    checked = check_settings(cls.settings_for(**source.options), source.settings, name)
    assert checked.keys() == source.settings.keys()


def test_no_config_names_an_adapter_that_does_not_exist():
    for path in CONFIGS.glob("device-*.toml"):
        assert load_run_config(path).source.device in ADAPTERS, path.name
