"""PicoQuant HydraHarp 400 through HHLib (version 3: the V2 record formats)."""

from __future__ import annotations

from .library import library_names
from .tttr_device import TttrDevice


class HydraHarp(TttrDevice):
    """HydraHarp 400: CFD inputs (level 0-1000 mV, zero cross 0-40 mV), sync divider 1, 2, 4,
    8 or 16, 1 ps T2 resolution."""

    MODEL = "HydraHarp 400"
    PREFIX = "HH"
    LIBRARIES = library_names(("libhh400.so", "hhlib.so"), ("hhlib64.dll", "hhlib.dll"))
    NEEDS = "PicoQuant's HHLib (libhh400.so or hhlib64.dll, from the HydraHarp software)"
    FORMATS = ("HydraHarp2T2", "HydraHarp2T3")  # T2, T3
    MAX_INPUTS = 8
