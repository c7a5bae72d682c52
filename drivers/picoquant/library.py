"""A PicoQuant programming library (HHLib, MHLib, PHLib, TH260Lib) loaded with ctypes.

Every function returns an int, negative on error; the error's name comes from the library's own
``<PREFIX>_GetErrorString``. A library that cannot be found is a :class:`DeviceError` naming
what to install.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Sequence
from pathlib import Path

from tagstream.sources.device_protocol import DeviceError


class VendorLibrary:
    """The functions of one library, called as ``lib.call("OpenDevice", 0, buffer)`` for
    ``<PREFIX>_OpenDevice``.

    Parameters
    ----------
    candidates
        File names or paths to try in turn (the first that loads is used).
    prefix
        The functions' prefix, e.g. ``"HH"``.
    device
        The device's name, for messages.
    needs
        What to install when no candidate loads.
    """

    def __init__(self, candidates: Sequence[str], prefix: str, device: str, needs: str):
        self.prefix = prefix
        self.device = device
        errors = []
        for name in candidates:
            path = name if Path(name).exists() else ctypes.util.find_library(name) or name
            try:
                self._dll = _load(path)
                self.path = path
                break
            except OSError as err:
                errors.append(str(err))
        else:
            tried = ", ".join(candidates)
            raise DeviceError(f"{device}: no programming library ({tried}); install {needs}")

    def function(self, name: str):
        """The library's ``<PREFIX>_<name>``."""
        try:
            return getattr(self._dll, f"{self.prefix}_{name}")
        except AttributeError:
            raise DeviceError(
                f"{self.device}: {self.path} has no {self.prefix}_{name} (a library too old?)"
            ) from None

    def call(self, name: str, *args) -> int:
        """Call ``<PREFIX>_<name>(*args)``; a negative result is a :class:`DeviceError`
        naming the call and the library's name for the error."""
        code = self.function(name)(*args)
        if code < 0:
            raise DeviceError(f"{self.device}: {self.prefix}_{name} failed: {self.error(code)}")
        return code

    def error(self, code: int) -> str:
        """The library's name for error ``code``."""
        text = ctypes.create_string_buffer(64)
        try:
            self.function("GetErrorString")(text, ctypes.c_int(code))
        except DeviceError:
            return f"error {code}"
        return f"{text.value.decode('ascii', 'replace') or 'error'} ({code})"


def _load(path: str) -> ctypes.CDLL:
    if sys.platform == "win32":  # the vendor's DLLs use stdcall on 32-bit Windows
        return ctypes.WinDLL(path)  # type: ignore[attr-defined]
    return ctypes.CDLL(path)


def library_names(linux: Sequence[str], windows: Sequence[str]) -> tuple[str, ...]:
    """The file names to try on this platform."""
    return tuple(windows if sys.platform == "win32" else linux)
