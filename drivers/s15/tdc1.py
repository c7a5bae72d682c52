"""S-Fifteen TDC1 four-input timestamp unit over its USB serial port (pyserial).

Text commands end in CR LF, several may be joined by ``;``. ``*idn?`` names the device; ``NIM`` /
``TTL`` pick the input standard, ``POS v`` / ``NEG v`` a custom trigger level (volts, -3.3 to
3.3), ``REFCLK n`` the clock (0 automatic, 1 external 10 MHz, 2 internal). In timestamp mode
(``INPKT;time 0;timestamp;counts?``) the port streams 32-bit words
(:mod:`.tdc1_words`) until ``abort``.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np
import serial

from tagstream.sources.device_protocol import (
    DeviceError,
    DeviceInfo,
    DeviceStatus,
    Setting,
    TagBlock,
    TagSource,
    check_settings,
    tag_rates_cps,
)

from .tdc1_words import INPUTS, TICK_PS, decode_words

CLOCKS = {"auto": 0, "external": 1, "internal": 2}
#: Seconds of quiet after which the port is taken to hold nothing more (after ``abort``).
QUIET_S = 0.05


class Tdc1(TagSource):
    """A TDC1 on serial port (or pyserial URL) ``port``."""

    NAME = "S-Fifteen TDC1"
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "level": Setting("level", str, choices=("NIM", "TTL")),
        "threshold_v": Setting("threshold_v", float, -3.3, 3.3, unit="V"),
        "clock": Setting("clock", str, choices=tuple(CLOCKS)),
    }

    def __init__(self, port: str, timeout_s: float = 1.0):
        self.port = port
        try:
            self._com = serial.serial_for_url(port, timeout=timeout_s)
        except (serial.SerialException, OSError) as err:
            raise DeviceError(f"{self.NAME} at {port}: cannot open ({err})") from None
        self._rest = b""
        self._tick = -1
        self._wraps = 0
        self._running = False
        self._status = DeviceStatus()
        self._send("")  # a bare line ends anything half-typed
        self._drain()

    @classmethod
    def find(cls) -> list[tuple[str, str]]:
        """Serial ports whose USB description names a TDC1 or S-Fifteen."""
        from serial.tools import list_ports

        found = []
        for port in list_ports.comports():
            text = " ".join(str(x) for x in (port.description, port.manufacturer, port.product))
            if "TDC" in text.upper() or "S-FIFTEEN" in text.upper():
                found.append((port.device, port.description))
        return found

    # --- the command exchange -------------------------------------------------------------
    def _send(self, command: str) -> None:
        try:
            self._com.write(command.encode("ascii") + b"\r\n")
        except (serial.SerialException, OSError) as err:
            raise DeviceError(f"{self.NAME} at {self.port}: lost ({err})") from None

    def _query(self, command: str) -> str:
        self._send(command)
        try:
            line = self._com.readline()
        except (serial.SerialException, OSError) as err:
            raise DeviceError(f"{self.NAME} at {self.port}: lost ({err})") from None
        if not line.endswith(b"\n"):
            raise DeviceError(f"{self.NAME} at {self.port}: no answer to {command!r}")
        return line.decode("ascii", "replace").strip()

    def _drain(self) -> bytes:
        """Whatever the port holds until it has been quiet for a moment."""
        quiet_since = time.monotonic()
        got = []
        try:
            while time.monotonic() - quiet_since < QUIET_S:
                if self._com.in_waiting:
                    got.append(self._com.read(self._com.in_waiting))
                    quiet_since = time.monotonic()
                else:
                    time.sleep(0.005)
        except (serial.SerialException, OSError) as err:
            raise DeviceError(f"{self.NAME} at {self.port}: lost ({err})") from None
        return b"".join(got)

    # --- the source protocol --------------------------------------------------------------
    def info(self) -> DeviceInfo:
        """Model, serial, tick (ps) and inputs 1-4; a :class:`DeviceError` when the port holds no
        TDC1."""
        ident = self._query("*idn?")
        if "TDC1" not in ident.upper():
            raise DeviceError(f"{self.NAME} at {self.port}: answers {ident!r}, not a TDC1")
        parts = [p.strip() for p in ident.split(",")]
        serial_no = parts[2] if len(parts) > 2 else ""
        return DeviceInfo("TDC1", serial_no, float(TICK_PS), tuple(range(1, INPUTS + 1)))

    def configure(self, **settings: Any) -> None:
        """Apply ``settings`` (checked first): input level (NIM or TTL), threshold (V) and reference
        clock."""
        checked = check_settings(self.SETTINGS, settings, self.NAME)
        commands = []
        if "level" in checked:
            commands.append(checked["level"])
        if "threshold_v" in checked:
            v = checked["threshold_v"]
            commands.append(f"{'NEG' if v < 0 else 'POS'} {abs(v):.3f}")
        if "clock" in checked:
            commands.append(f"REFCLK {CLOCKS[checked['clock']]}")
        for command in commands:
            self._send(command)

    def start(self) -> None:
        """Start streaming timestamp words; time 0 is the start."""
        self._rest = b""
        self._tick, self._wraps = -1, 0
        self._status = DeviceStatus()
        self._send("INPKT;time 0;timestamp;counts?")
        self._running = True

    def read(self) -> TagBlock:
        """The tags in the words received since the last read (ps), complete up to the end of the
        last tick; a :class:`DeviceError` when the port is lost."""
        try:
            data = self._com.read(self._com.in_waiting or 1) if self._running else b""
        except (serial.SerialException, OSError) as err:
            raise DeviceError(f"{self.NAME} at {self.port}: lost ({err})") from None
        data = self._rest + data
        whole = len(data) // 4 * 4
        self._rest = data[whole:]
        words = np.frombuffer(data[:whole], dtype="<u4")
        t, ch, self._tick, self._wraps = decode_words(words, self._tick, self._wraps)
        # one word holds every input of its tick: everything before the next tick is in
        until = (self._wraps * (1 << 27) + self._tick + 1) * TICK_PS
        rates = tag_rates_cps(t, ch, tuple(range(1, INPUTS + 1)))
        if rates is not None:
            self._status.count_rates_cps = rates
        return TagBlock(t, ch, int(until))

    def stop(self) -> None:
        """Stop streaming; the words still on their way are kept for the next read."""
        if self._running:
            self._running = False
            self._send("abort")
            self._rest += self._drain()  # the words still on their way: the next read

    def status(self) -> DeviceStatus:
        """Count rates and warnings since the start."""
        return self._status

    def close(self) -> None:
        """Stop (ignoring a lost device) and close the port."""
        try:
            self.stop()
        except DeviceError:
            pass
        finally:
            self._com.close()
