"""Thorlabs SC10 shutter controller (USB serial, 9600 baud): blocks the excitation between
runs. ``ens`` toggles the shutter, ``ens?`` says whether it is open."""

from __future__ import annotations

from typing import Any, ClassVar

from tagstream.sources.device_protocol import DeviceError, Instrument, Setting, check_settings

from .prompt_serial import PromptSerial


class Sc10(Instrument):
    """Shutter: ``open`` true or false."""

    NAME = "Thorlabs SC10"
    SETTINGS: ClassVar[dict[str, Setting]] = {"open": Setting("open", bool)}

    def __init__(self, port: str, timeout_s: float = 1.0):
        self._port = PromptSerial(port, self.NAME, baud=9600, timeout_s=timeout_s)
        try:
            self.ident = " ".join(self._port.ask("*idn?"))
        except DeviceError:
            self._port.close()
            raise

    def configure(self, **settings: Any) -> None:
        """Apply ``settings`` (checked first): open or close the shutter; a :class:`DeviceError`
        when it does not follow (interlock)."""
        checked = check_settings(self.SETTINGS, settings, self.NAME)
        if "open" in checked and self.is_open() != checked["open"]:
            self._port.ask("ens")
            if self.is_open() != checked["open"]:
                raise DeviceError(f"{self.NAME}: the shutter did not follow (interlock?)")

    def is_open(self) -> bool:
        """Whether the shutter is open."""
        return self._port.value("ens?") == 1

    def readings(self) -> dict[str, Any]:
        """Whether the shutter is open."""
        return {"open": self.is_open()}

    def close(self) -> None:
        """Close the serial port."""
        self._port.close()
