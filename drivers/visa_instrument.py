"""Instruments that speak SCPI through pyvisa (USB-TMC, GPIB, LAN, serial).

``backend`` picks the VISA library: ``""`` the system's (NI-VISA, or pyvisa-py when installed),
``"file.yaml@sim"`` a pyvisa-sim emulation (the tests).
"""

from __future__ import annotations

import warnings
from typing import Any

import pyvisa

from tagstream.sources.device_protocol import DeviceError, Instrument


class VisaSession:
    """A SCPI conversation with the device at VISA ``resource`` (e.g.
    ``USB0::0x1313::0x8078::P0001::INSTR``); ``NAME`` names it in messages."""

    NAME = "instrument"
    #: Text the ``*IDN?`` answer must hold, to refuse a wrong instrument.
    IDENTIFIES = ""

    def __init__(self, resource: str, backend: str = "", timeout_s: float = 2.0):
        self.resource = resource
        self._inst: Any = None
        try:
            self._rm = pyvisa.ResourceManager(backend)
        except (pyvisa.Error, OSError, ValueError) as err:
            raise DeviceError(f"{self.NAME}: no VISA library ({err})") from None
        try:
            self._inst = self._rm.open_resource(resource)
            self._inst.timeout = int(timeout_s * 1000)
            self._inst.write_termination = self._inst.read_termination = "\n"  # SCPI messages
            self._drain()  # answers left over from an earlier session
            self.ident = self.query("*IDN?")
            if self.IDENTIFIES and self.IDENTIFIES.lower() not in self.ident.lower():
                raise DeviceError(f"{self.NAME} at {resource}: answers {self.ident!r}")
        except (pyvisa.Error, OSError, ValueError) as err:
            self.close()
            raise DeviceError(f"{self.NAME} at {resource}: cannot open ({err})") from None
        except DeviceError:
            self.close()
            raise

    def write(self, command: str) -> None:
        """Send ``command``; a :class:`DeviceError` when the device is lost."""
        try:
            self._inst.write(command)
        except (pyvisa.Error, OSError) as err:
            raise DeviceError(f"{self.NAME} at {self.resource}: lost ({err})") from None

    def query(self, command: str) -> str:
        """The instrument's answer to ``command``; a :class:`DeviceError` when it gives none or
        refuses it."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # an answer cut short is no answer
                answer = self._inst.query(command).strip()
        except (pyvisa.Error, OSError, UserWarning) as err:
            raise DeviceError(
                f"{self.NAME} at {self.resource}: no answer to {command!r} ({err})"
            ) from None
        if answer.upper() == "ERROR":
            self._drain()
            raise DeviceError(f"{self.NAME} at {self.resource}: refused {command!r}")
        return answer

    def set(self, command: str, query: str, want: float) -> None:
        """Send setting ``command`` and check that ``query`` reads ``want`` back (a refused
        setting is named)."""
        self.write(command)
        try:
            got = self.number(query)
        except DeviceError:
            raise DeviceError(f"{self.NAME} at {self.resource}: refused {command!r}") from None
        if abs(got - want) > 1e-6 * max(1.0, abs(want)):
            raise DeviceError(f"{self.NAME}: {command!r} left {query!r} at {got:g}")

    def _drain(self) -> None:
        """Throw away answers still on their way (after a refusal)."""
        try:
            self._inst.clear()
            return
        except (NotImplementedError, pyvisa.Error):
            pass
        timeout = self._inst.timeout
        self._inst.timeout = 50
        try:
            for _ in range(16):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    if not self._inst.read():
                        break
        except (pyvisa.Error, OSError):
            pass
        finally:
            self._inst.timeout = timeout

    def number(self, command: str) -> float:
        """The answer to query ``command`` as a number; a :class:`DeviceError` when it is not
        one."""
        answer = self.query(command)
        try:
            return float(answer)
        except ValueError:
            raise DeviceError(
                f"{self.NAME}: {command!r} answered {answer!r}, not a number"
            ) from None

    def close(self) -> None:
        """Close the session and its resource manager (quietly if already gone)."""
        inst, self._inst = getattr(self, "_inst", None), None
        try:
            if inst is not None:
                inst.close()
            self._rm.close()
        except (pyvisa.Error, OSError):  # already gone
            pass


class VisaInstrument(VisaSession, Instrument):
    """An auxiliary instrument that speaks SCPI through pyvisa."""
