"""The protocols every hardware adapter implements (the adapters in ``drivers/``, installed as
``tagstream.drivers``, import them from here; sources never import the adapters, they load them
by name: :mod:`.device_registry`).

A :class:`TagSource` is a time tagger or TCSPC unit: a context manager that is configured, started,
read in blocks of tags and stopped, and that says what it is (:meth:`TagSource.info`) and how it
is doing (:meth:`TagSource.status`). An :class:`Instrument` is an auxiliary device (laser, power
meter, filter wheel, shutter) with settings and readings. Settings are checked against a table of
:class:`Setting` before anything is sent to a device.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..closing import Closing
from ..errors import DeviceError, SettingsError

__all__ = [
    "DeviceError",
    "DeviceInfo",
    "DeviceStatus",
    "Instrument",
    "Setting",
    "SettingsError",
    "TagBlock",
    "TagSource",
    "check_settings",
    "tag_rates_cps",
]


@dataclass(frozen=True)
class Setting:
    """What one setting of a device accepts.

    Parameters
    ----------
    name
        The setting's name in configs and keyword arguments.
    kind
        ``float``, ``int``, ``bool`` or ``str``.
    low, high
        Inclusive range for numbers, in ``unit``.
    choices
        The accepted values, for strings (compared without case).
    unit
        The unit of the number, for messages.
    """

    name: str
    kind: type
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    unit: str = ""

    def check(self, value: Any, device: str) -> Any:
        """``value`` as the setting holds it; :class:`SettingsError` when it is not accepted."""
        where = f"{device}: setting {self.name!r}"
        if self.kind is bool:
            if not isinstance(value, bool):
                raise SettingsError(f"{where} must be true or false, got {value!r}")
            return value
        if self.kind is str:
            text = str(value)
            for choice in self.choices:
                if text.lower() == choice.lower():
                    return choice
            raise SettingsError(f"{where} must be one of {', '.join(self.choices)}, got {value!r}")
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise SettingsError(f"{where} must be a number, got {value!r}")
        unit = f" {self.unit}" if self.unit else ""
        if not np.isfinite(float(value)):
            raise SettingsError(f"{where} must be a finite number, got {value!r}")
        if self.kind is int and float(value) != int(value):
            raise SettingsError(f"{where} must be a whole number, got {value!r}")
        number = self.kind(value)
        if (self.low is not None and number < self.low) or (
            self.high is not None and number > self.high
        ):
            raise SettingsError(
                f"{where} must be within {self.low:g} .. {self.high:g}{unit}, got {value!r}"
            )
        return number


def check_wheel_settings(
    table: Mapping[str, Setting], settings: Mapping[str, Any], positions: int, device: str
) -> dict[str, Any]:
    """A filter wheel's ``settings`` checked (:func:`check_settings`), its ``position`` (from 1)
    within the wheel's ``positions``."""
    checked = check_settings(table, settings, device)
    if checked.get("position", 1) > positions:
        raise SettingsError(
            f"{device}: setting 'position' must be within 1 .. {positions}, "
            f"got {checked['position']}"
        )
    return checked


def check_settings(
    table: Mapping[str, Setting], settings: Mapping[str, Any], device: str
) -> dict[str, Any]:
    """The ``settings`` checked against ``table``: unknown names and values out of range are a
    :class:`SettingsError` naming the device and the setting."""
    checked = {}
    for name, value in settings.items():
        if name not in table:
            known = ", ".join(sorted(table)) or "none"
            raise SettingsError(f"{device}: no setting {name!r} (settings: {known})")
        checked[name] = table[name].check(value, device)
    return checked


@dataclass(frozen=True)
class DeviceInfo:
    """What a device is.

    Attributes
    ----------
    model, serial
        As the device reports them.
    resolution_ps
        The unit of its timestamps, ps.
    channels
        Its input channels, by the numbers its tags carry (the sync included, as 0).
    mode
        ``"T2"`` (every input time-tagged) or ``"T3"`` (photons timed against the sync).
    sync_period_ps, nanotime_unit_ps
        In T3: the sync period and the unit of the nanotimes, ps.
    """

    model: str
    serial: str
    resolution_ps: float
    channels: tuple[int, ...]
    mode: str = "T2"
    sync_period_ps: float | None = None
    nanotime_unit_ps: float | None = None


@dataclass
class DeviceStatus:
    """How a device is doing since it was started.

    Attributes
    ----------
    count_rates_cps
        Events per second on each channel number, over the latest reads.
    fifo_fill
        Fraction of the device's buffer in use (0-1), or None when it does not say.
    overflow
        True once the device lost events (a full buffer).
    warnings
        Messages the device reported.
    """

    count_rates_cps: dict[int, float] = field(default_factory=dict)
    fifo_fill: float | None = None
    overflow: bool = False
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TagBlock:
    """Tags as a device delivered them.

    Attributes
    ----------
    timestamps : int64[n]
        ps since the start, non-decreasing.
    channels : uint8[n]
        Channel numbers.
    until_ps
        The time up to which the device has reported everything, ps.
    nanotimes : uint16[n] or None
        T3 only: the delay after the sync, in the device's nanotime unit.
    gaps : int64[k, 2] or None
        Intervals [t0, t1) in ps in which the device lost events (a full buffer).
    """

    timestamps: np.ndarray
    channels: np.ndarray
    until_ps: int
    nanotimes: np.ndarray | None = None
    gaps: np.ndarray | None = None


def tag_rates_cps(
    times: np.ndarray, channels: np.ndarray, numbers: tuple[int, ...]
) -> dict[int, float] | None:
    """Tags per second on each channel in ``numbers`` over the span of ``times`` (ps), or None
    when the span is empty: for devices without rate meters of their own."""
    if times.size < 2 or times[-1] <= times[0]:
        return None
    counts = np.bincount(channels, minlength=max(numbers) + 1)
    span_s = (times[-1] - times[0]) * 1e-12
    return {c: float(counts[c] / span_s) for c in numbers}


class _Device(Closing):
    """A device held open until :meth:`close`, also as a context manager."""

    def close(self) -> None:
        """Release the device."""



class TagSource(_Device, ABC):
    """A time tagger or TCSPC unit. Use it as a context manager (which closes it)::

    with Adapter(port) as dev:
        dev.configure(level="NIM")
        dev.start()
        block = dev.read()
        dev.stop()
    """

    #: The settings :meth:`configure` accepts.
    SETTINGS: Mapping[str, Setting] = {}
    #: The model name used in messages.
    NAME = "device"
    #: Seconds the device may take to report a moment in time, in normal running.
    latency_s = 1.0

    @classmethod
    def find(cls) -> list[tuple[str, str]]:
        """``(address, description)`` of the devices of this kind on this machine."""
        return []

    @classmethod
    def settings_for(cls, **options: Any) -> Mapping[str, Setting]:
        """The settings :meth:`configure` accepts on a device opened with ``options``."""
        return cls.SETTINGS

    @abstractmethod
    def configure(self, **settings: Any) -> None:
        """Apply ``settings`` (checked first, nothing is sent when one is not accepted)."""

    @abstractmethod
    def start(self) -> None:
        """Start acquiring; time 0 of the tags is the start."""

    @abstractmethod
    def read(self) -> TagBlock:
        """The tags that arrived since the last read (may be none); :class:`DeviceError`
        when the device is lost."""

    @abstractmethod
    def stop(self) -> None:
        """Stop acquiring."""

    @abstractmethod
    def info(self) -> DeviceInfo:
        """Model, serial, resolution and channels."""

    @abstractmethod
    def status(self) -> DeviceStatus:
        """Count rates, buffer fill, overflow and warnings."""


class Instrument(_Device, ABC):
    """An auxiliary instrument: settings in, readings out, as a context manager."""

    SETTINGS: Mapping[str, Setting] = {}
    NAME = "instrument"

    @abstractmethod
    def configure(self, **settings: Any) -> None:
        """Apply ``settings`` (checked first)."""

    def check(self, **settings: Any) -> dict[str, Any]:
        """``settings`` checked as :meth:`configure` would, nothing sent; a
        :class:`SettingsError` names the one refused."""
        return check_settings(self.SETTINGS, settings, self.NAME)

    @abstractmethod
    def readings(self) -> dict[str, Any]:
        """What the instrument reports now, by name (numbers in SI units); stored in the run
        file's metadata."""
