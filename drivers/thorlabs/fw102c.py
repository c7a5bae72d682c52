"""Thorlabs FW102C / FW212C motorised filter wheel (USB serial, 115200 baud): the neutral-density
filter in the excitation path, for power series."""

from __future__ import annotations

from typing import Any, ClassVar

from tagstream.sources.device_protocol import (
    DeviceError,
    Instrument,
    Setting,
    check_wheel_settings,
)

from .prompt_serial import PromptSerial


class Fw102c(Instrument):
    """Filter wheel of 6 or 12 positions; ``position`` counts from 1."""

    NAME = "Thorlabs FW102C"
    SETTINGS: ClassVar[dict[str, Setting]] = {"position": Setting("position", int, 1, 12)}

    def __init__(self, port: str, timeout_s: float = 1.0):
        self._port = PromptSerial(port, self.NAME, timeout_s=timeout_s)
        try:
            self.ident = " ".join(self._port.ask("*idn?"))
            self.positions = self._port.value("pcount?")
        except DeviceError:
            self._port.close()
            raise

    def check(self, **settings: Any) -> dict[str, Any]:
        """``settings`` checked, nothing sent: ``position`` within this wheel's positions."""
        return check_wheel_settings(self.SETTINGS, settings, self.positions, self.NAME)

    def configure(self, **settings: Any) -> None:
        """Apply ``settings`` (checked first): turn to ``position`` (from 1)."""
        checked = self.check(**settings)
        if "position" in checked:
            self._port.ask(f"pos={checked['position']}")

    def readings(self) -> dict[str, Any]:
        """The present position and the number of positions."""
        return {"position": self._port.value("pos?"), "positions": self.positions}

    def close(self) -> None:
        """Close the serial port."""
        self._port.close()
