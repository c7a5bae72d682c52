"""The serial dialect of Thorlabs' small controllers (FW102C filter wheel, SC10 shutter
controller): a command ends in CR; the device echoes it, sends its answer lines (CR-ended) and
then the prompt ``"> "``. Unknown commands and bad arguments are answered with
``CMD_NOT_DEFINED`` / ``CMD_ARG_INVALID``."""

from __future__ import annotations

import serial

from tagstream.sources.device_protocol import DeviceError

PROMPT = b"> "
ERRORS = ("CMD_NOT_DEFINED", "CMD_ARG_INVALID")


class PromptSerial:
    """The port ``port`` (device path or pyserial URL) at ``baud``; ``device`` names it in
    messages."""

    def __init__(self, port: str, device: str, baud: int = 115200, timeout_s: float = 1.0):
        self.port = port
        self.device = device
        try:
            self._com = serial.serial_for_url(port, baudrate=baud, timeout=timeout_s)
        except (serial.SerialException, OSError) as err:
            raise DeviceError(f"{device} at {port}: cannot open ({err})") from None

    def ask(self, command: str) -> list[str]:
        """Send ``command``; the answer lines after its echo."""
        try:
            self._com.reset_input_buffer()
            self._com.write(command.encode("ascii") + b"\r")
            raw = self._com.read_until(PROMPT)
        except (serial.SerialException, OSError) as err:
            raise DeviceError(f"{self.device} at {self.port}: lost ({err})") from None
        if not raw.endswith(PROMPT):
            raise DeviceError(f"{self.device} at {self.port}: no answer to {command!r}")
        lines = [x.strip() for x in raw[: -len(PROMPT)].decode("ascii", "replace").split("\r")]
        lines = [x for x in lines if x]
        if lines and lines[0] == command:
            lines = lines[1:]
        for line in lines:
            if any(e in line for e in ERRORS):
                raise DeviceError(f"{self.device} at {self.port}: {command!r} refused ({line})")
        return lines

    def value(self, command: str) -> int:
        """The integer answer to a query."""
        lines = self.ask(command)
        try:
            return int(lines[-1])
        except (IndexError, ValueError):
            raise DeviceError(f"{self.device}: {command!r} answered {lines!r}") from None

    def close(self) -> None:
        """Close the port."""
        self._com.close()
