"""PicoQuant PicoHarp 300 through PHLib (version 3): a sync input (channel 0) and one detector
input (channel 1), 4 ps resolution."""

from __future__ import annotations

import ctypes

from .library import library_names
from .tttr_device import TttrDevice


class PicoHarp(TttrDevice):
    """PicoHarp 300: CFD on both inputs (level 0-800 mV, zero cross 0-20 mV), sync divider 1, 2,
    4 or 8, no per-input offset."""

    MODEL = "PicoHarp 300"
    PREFIX = "PH"
    LIBRARIES = library_names(("libph300.so", "phlib.so"), ("phlib64.dll", "phlib.dll"))
    NEEDS = "PicoQuant's PHLib (libph300.so or phlib64.dll, from the PicoHarp software)"
    FORMATS = ("PicoHarpT2", "PicoHarpT3")  # T2, T3
    MAX_INPUTS = 1
    SYNC_DIVIDERS = (1, 2, 4, 8)
    LEVEL_MV = (0, 800)
    ZERO_CROSS_MV = (0, 20)

    @classmethod
    def settings_table(cls) -> dict:
        """The PicoQuant settings without the per-input offset (the PicoHarp has none)."""
        table = super().settings_table()
        del table["input_offset_ps_1"]  # no per-input offset on this unit
        return table

    def _initialize_mode(self, mode: int) -> None:  # no reference clock argument
        self.lib.call("Initialize", self._dev, ctypes.c_int(mode))

    def _inputs(self) -> int:
        return 1

    def _sync_rate(self) -> int:  # the library's rate meter 0 is the sync input
        return self._input_rate(-1)

    def _input_rate(self, channel: int) -> int:
        return super()._input_rate(channel + 1)

    def _set_sync_trigger(self, level: int, shape: int) -> None:
        self._set_input_trigger(-1, level, shape)  # the sync is the library's channel 0

    def _set_input_trigger(self, channel: int, level: int, shape: int) -> None:
        args = (ctypes.c_int(channel + 1), ctypes.c_int(level), ctypes.c_int(shape))
        self.lib.call("SetInputCFD", self._dev, *args)

    def _set_sync_offset(self, ps: int) -> None:
        self.lib.call("SetSyncOffset", self._dev, ctypes.c_int(ps))
