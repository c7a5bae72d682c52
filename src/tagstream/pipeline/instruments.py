"""A run's auxiliary instruments (``[instruments.LABEL]``): opened, set, and read."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from typing import Any

from ..sources.device_protocol import Instrument
from ..sources.device_registry import open_device
from ..sources.optical_bench import reset_bench
from .run_config import InstrumentSettings


def open_instruments(
    instruments: Mapping[str, InstrumentSettings], stack: ExitStack
) -> dict[str, Instrument]:
    """Each instrument opened (closed with ``stack``) and given its config's settings, by
    label. The emulated benches of simulated instruments start afresh (laser off, wheel at
    position 1, shutter open), as hardware is found as it was left but a bench is not hardware."""
    for inst in instruments.values():
        if inst.device.startswith("simulated-"):
            reset_bench(inst.address)
    opened = {}
    for label, inst in instruments.items():
        device = open_device(inst.device, inst.address, "instrument", **inst.options)
        opened[label] = stack.enter_context(device)
        opened[label].configure(**inst.settings)
    return opened


def readings(
    devices: Mapping[str, Instrument], instruments: Mapping[str, InstrumentSettings]
) -> dict[str, dict[str, Any]]:
    """What every instrument reports now, by label, with its adapter and address (stored in
    the run file's metadata)."""
    out = {}
    for label, device in devices.items():
        inst = instruments[label]
        out[label] = {"device": inst.device, "address": inst.address, **device.readings()}
    return out
