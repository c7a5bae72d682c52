"""The adapters by the names configs use, imported only when asked for.

The adapters live in ``drivers/`` (installed as ``tagstream.drivers``); this table names each by
its module path, and :func:`load` imports it with :mod:`importlib` when it is asked for, so that
sources never import a driver. A vendor library that is missing is a
:class:`~tagstream.errors.DeviceError` naming what to install, raised when that adapter is
opened, never when tagstream is imported.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any

from .device_protocol import DeviceError, Instrument, TagSource


@dataclass(frozen=True)
class Adapter:
    """One adapter: its config name, where its class lives, and what it needs installed."""

    name: str
    module: str
    cls: str
    needs: str
    description: str
    kind: str = "tagger"  # or "instrument" (laser, power meter, filter wheel, shutter)


ADAPTERS: dict[str, Adapter] = {
    a.name: a
    for a in (
        Adapter(
            "s15-tdc1",
            "tagstream.drivers.s15.tdc1",
            "Tdc1",
            "pyserial (installed with tagstream)",
            "S-Fifteen TDC1 four-input timestamp unit, USB serial",
        ),
        Adapter(
            "swabian-time-tagger",
            "tagstream.drivers.swabian.time_tagger",
            "SwabianTimeTagger",
            "Swabian's Time Tagger software (its Python module TimeTagger)",
            "Swabian Time Tagger 20/Ultra/X (address: serial, empty for the first found)",
        ),
        Adapter(
            "idq-time-controller",
            "tagstream.drivers.idq.time_controller",
            "IdqTimeController",
            "IDQ's DataLinkTarget service running (installed with the Time Controller software)",
            "ID Quantique ID900/ID1000 over ZeroMQ (address: the controller's host)",
        ),
        Adapter(
            "keysight-53230a",
            "tagstream.drivers.keysight.k53230a",
            "Keysight53230A",
            "a VISA library (NI-VISA, or pip install pyvisa-py)",
            "Keysight 53230A counter, timestamp mode on input 1 (address: VISA resource)",
        ),
        Adapter(
            "scpi-pulsed-laser",
            "tagstream.drivers.lasers.scpi_pulsed",
            "ScpiPulsedLaser",
            "a VISA library (NI-VISA, or pip install pyvisa-py)",
            "pulsed diode-laser driver speaking SCPI (address: VISA resource)",
            "instrument",
        ),
        Adapter(
            "thorlabs-pm100d",
            "tagstream.drivers.thorlabs.pm100d",
            "Pm100d",
            "a VISA library (NI-VISA, or pip install pyvisa-py)",
            "Thorlabs PM100D/PM100USB power meter (address: VISA resource)",
            "instrument",
        ),
        Adapter(
            "thorlabs-fw102c",
            "tagstream.drivers.thorlabs.fw102c",
            "Fw102c",
            "pyserial (installed with tagstream)",
            "Thorlabs FW102C/FW212C filter wheel (address: serial port)",
            "instrument",
        ),
        Adapter(
            "thorlabs-sc10",
            "tagstream.drivers.thorlabs.sc10",
            "Sc10",
            "pyserial (installed with tagstream)",
            "Thorlabs SC10 shutter controller (address: serial port)",
            "instrument",
        ),
        *(
            Adapter(
                f"simulated-{name}",
                f"tagstream.drivers.simulated.{module}",
                cls,
                "nothing (an emulation)",
                f"emulated {text} of a simulated bench (address: the bench's name)",
                "instrument",
            )
            for name, module, cls, text in (
                ("laser", "laser", "SimulatedLaser", "pulsed laser"),
                ("power-meter", "power_meter", "SimulatedPowerMeter", "power meter"),
                ("filter-wheel", "filter_wheel", "SimulatedFilterWheel", "ND filter wheel"),
                ("shutter", "shutter", "SimulatedShutter", "shutter"),
            )
        ),
        *(
            Adapter(
                f"picoquant-{name}",
                f"tagstream.drivers.picoquant.{module}",
                cls,
                f"PicoQuant's {lib} (from the instrument's software)",
                f"PicoQuant {model}, T2/T3 through {lib} (address: device index 0-7)",
            )
            for name, module, cls, lib, model in (
                ("hydraharp", "hydraharp", "HydraHarp", "HHLib", "HydraHarp 400"),
                ("multiharp", "multiharp", "MultiHarp", "MHLib", "MultiHarp 150/160"),
                ("picoharp", "picoharp", "PicoHarp", "PHLib", "PicoHarp 300"),
                ("timeharp260p", "timeharp", "TimeHarp260P", "TH260Lib", "TimeHarp 260 P"),
                ("timeharp260n", "timeharp", "TimeHarp260N", "TH260Lib", "TimeHarp 260 N"),
            )
        ),
    )
}


def adapter(name: str) -> Adapter:
    """The adapter called ``name``."""
    try:
        return ADAPTERS[name]
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise DeviceError(f"no device adapter {name!r} (adapters: {known})") from None


def load(name: str) -> type:
    """The class of adapter ``name``; a :class:`DeviceError` naming what to install when its
    libraries are missing."""
    a = adapter(name)
    try:
        module = importlib.import_module(a.module)
    except ImportError as err:
        raise DeviceError(f"{name} needs {a.needs} ({err})") from None
    return getattr(module, a.cls)


def open_device(
    name: str, address: str, kind: str | None = None, **options: Any
) -> TagSource | Instrument:
    """Adapter ``name`` opened on ``address`` (a port, URL, host or device index) with the
    adapter's ``options``; with ``kind`` (``"tagger"`` or ``"instrument"``), other adapters
    are refused."""
    if kind is not None and adapter(name).kind != kind:
        what = {"tagger": "a time tagger", "instrument": "an auxiliary instrument"}
        raise DeviceError(
            f"{name} is {what[adapter(name).kind]}, not {what[kind]} "
            f"({'[source] device' if kind == 'tagger' else '[instruments.*]'})"
        )
    cls = load(name)
    try:
        inspect.signature(cls).bind(address, **options)
    except TypeError as err:
        raise DeviceError(f"{name}: options {sorted(options)} not accepted ({err})") from None
    return cls(address, **options)


def find_devices() -> list[tuple[str, str, str]]:
    """``(adapter, address, description)`` of every device the adapters can find, and
    ``(adapter, "", why not)`` for adapters that cannot look."""
    found = []
    for name in ADAPTERS:
        try:
            cls = load(name)
            found += [(name, address, text) for address, text in getattr(cls, "find", list)()]
        except DeviceError as err:
            found.append((name, "", str(err)))
    return found
