"""PicoQuant TimeHarp 260 N and P through TH260Lib."""

from __future__ import annotations

import ctypes

from .library import library_names
from .multiharp import MultiHarp
from .tttr_device import TttrDevice

_LIBRARIES = library_names(("libth260.so", "th260lib.so"), ("th260lib64.dll", "th260lib.dll"))
_NEEDS = "PicoQuant's TH260Lib (libth260.so or th260lib64.dll, from the TimeHarp 260 software)"


class TimeHarp260P(TttrDevice):
    """TimeHarp 260 P (pico): CFD inputs (negative pulses: level -1200 to 0 mV, zero cross -40
    to 0 mV), sync divider 1, 2, 4 or 8, 25 ps base resolution."""

    MODEL = "TimeHarp 260 P"
    PREFIX = "TH260"
    LIBRARIES = _LIBRARIES
    NEEDS = _NEEDS
    FORMATS = ("TimeHarp260PT2", "TimeHarp260PT3")  # T2, T3
    MAX_INPUTS = 2
    SYNC_DIVIDERS = (1, 2, 4, 8)
    LEVEL_MV = (-1200, 0)
    ZERO_CROSS_MV = (-40, 0)

    CALIBRATE = False

    def _initialize_mode(self, mode: int) -> None:  # no reference clock argument
        self.lib.call("Initialize", self._dev, ctypes.c_int(mode))


class TimeHarp260N(TimeHarp260P):
    """TimeHarp 260 N (nano): edge triggers (level -1200 to 1200 mV), 250 ps resolution."""

    MODEL = "TimeHarp 260 N"
    FORMATS = ("TimeHarp260NT2", "TimeHarp260NT3")  # T2, T3
    TRIGGER = "edge"
    LEVEL_MV = (-1200, 1200)
    _set_sync_trigger = MultiHarp._set_sync_trigger
    _set_input_trigger = MultiHarp._set_input_trigger
