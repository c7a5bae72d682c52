"""PicoQuant MultiHarp 150/160 through MHLib (the generic T2/T3 record formats)."""

from __future__ import annotations

import ctypes

from .library import library_names
from .tttr_device import TttrDevice


class MultiHarp(TttrDevice):
    """MultiHarp 150/160: edge triggers (level -1200 to 1200 mV, rising or falling), sync
    divider 1-16, up to 64 inputs."""

    MODEL = "MultiHarp 150/160"
    PREFIX = "MH"
    LIBRARIES = library_names(("libmh150.so", "mhlib.so"), ("mhlib64.dll", "mhlib.dll"))
    NEEDS = "PicoQuant's MHLib (libmh150.so or mhlib64.dll, from the MultiHarp software)"
    FORMATS = ("GenericT2", "GenericT3")  # T2, T3
    MAX_INPUTS = 64
    SYNC_DIVIDERS = tuple(range(1, 17))
    TRIGGER = "edge"
    LEVEL_MV = (-1200, 1200)
    CALIBRATE = False

    def _set_sync_trigger(self, level: int, shape: int) -> None:
        self.lib.call("SetSyncEdgeTrg", self._dev, ctypes.c_int(level), ctypes.c_int(shape))

    def _set_input_trigger(self, channel: int, level: int, shape: int) -> None:
        args = (ctypes.c_int(channel), ctypes.c_int(level), ctypes.c_int(shape))
        self.lib.call("SetInputEdgeTrg", self._dev, *args)
