"""What every PicoQuant TCSPC unit shares in T2 and T3 mode: open and initialise through the
library, settings checked first (:mod:`.tttr_settings`), a thread that empties the FIFO, and the
records decoded by the kernel that decodes PTU files (:mod:`.tttr_fifo`).

A failing library call ends the run with a :class:`DeviceError` naming the call and the
library's error.
"""

from __future__ import annotations

import ctypes
import time
from typing import Any, ClassVar

from tagstream.formats import pq_spec
from tagstream.sources.device_protocol import (
    DeviceError,
    DeviceInfo,
    DeviceStatus,
    Setting,
    TagBlock,
    TagSource,
    check_settings,
)
from tagstream.tags.units import ps_factors

from .library import VendorLibrary
from .tttr_fifo import FifoReader
from .tttr_settings import MODES, refuse, settings_table

#: Device indices the libraries know.
MAX_DEVICES = 8
#: Seconds the rate meters need after initialising or a new sync divider.
SETTLE_S = 0.15


class TttrDevice(TagSource):
    """A PicoQuant unit at device index ``address`` (0-7), through its programming library
    (``library``: a path, or None for the vendor's file names).

    Subclasses (one per model) give the library's prefix and file names, the record formats,
    and how the sync and input triggers are set.
    """

    PREFIX = ""
    LIBRARIES: ClassVar[tuple[str, ...]] = ()
    NEEDS = ""
    FORMATS: ClassVar[tuple[str, str]] = ("", "")  # PTU record format names in T2, T3
    MAX_INPUTS = 8
    #: the sync dividers the unit takes
    SYNC_DIVIDERS: ClassVar[tuple[int, ...]] = (1, 2, 4, 8, 16)
    #: "cfd" (level and zero cross, mV) or "edge" (level in mV and edge)
    TRIGGER = "cfd"
    LEVEL_MV = (0, 1000)
    ZERO_CROSS_MV = (0, 40)
    BINNING_STEPS = 26

    @classmethod
    def settings_for(cls, **options: Any) -> dict[str, Setting]:
        """The settings :meth:`configure` accepts (the same for every device of a model)."""
        return cls.settings_table()

    @classmethod
    def settings_table(cls) -> dict[str, Setting]:
        """The model's settings: mode, sync divider, trigger levels (mV), offsets (ps), binning."""
        return settings_table(cls)

    def __init__(self, address: str | int = 0, library: str | None = None):
        self.NAME = f"PicoQuant {self.MODEL} #{address}"
        self.SETTINGS = self.settings_table()
        try:
            self.index = int(address or 0)
        except ValueError:
            raise DeviceError(f"{self.NAME}: the address is a device index 0-7") from None
        self.lib = VendorLibrary(
            (library,) if library else self.LIBRARIES, self.PREFIX, self.NAME, self.NEEDS
        )
        serial = ctypes.create_string_buffer(16)
        self.lib.call("OpenDevice", ctypes.c_int(self.index), serial)
        self.serial = serial.value.decode("ascii", "replace")
        self._open = True
        self.mode = "T2"
        self._sync_divider = 1
        self._applied: dict[str, Any] = {}  # settings sent, sent again after a mode change
        self._settled_at = 0.0
        try:
            self._initialize()
        except DeviceError:
            self.lib.function("CloseDevice")(self._dev)
            raise
        self._fifo = FifoReader(self.lib, self.index)
        self._status = DeviceStatus()

    MODEL = ""

    #: whether the model needs ``Calibrate`` after ``Initialize``
    CALIBRATE = True

    @classmethod
    def find(cls) -> list[tuple[str, str]]:
        """The device indices that open, with their serial numbers (each closed again)."""
        lib = VendorLibrary(cls.LIBRARIES, cls.PREFIX, f"PicoQuant {cls.MODEL}", cls.NEEDS)
        found = []
        for index in range(MAX_DEVICES):
            serial = ctypes.create_string_buffer(16)
            if lib.function("OpenDevice")(ctypes.c_int(index), serial) == 0:
                found.append((str(index), f"{cls.MODEL}, serial {serial.value.decode()}"))
                lib.function("CloseDevice")(ctypes.c_int(index))
        return found

    # --- library calls that differ between models -------------------------------------------
    def _initialize(self) -> None:
        self._initialize_mode(MODES[self.mode])
        if self.CALIBRATE:
            self.lib.call("Calibrate", self._dev)
        self._sync_divider = 1  # what initialising leaves
        self._settled_at = time.monotonic() + SETTLE_S

    def _initialize_mode(self, mode: int) -> None:
        self.lib.call("Initialize", self._dev, ctypes.c_int(mode), ctypes.c_int(0))

    def _inputs(self) -> int:
        n = ctypes.c_int()
        self.lib.call("GetNumOfInputChannels", self._dev, ctypes.byref(n))
        return n.value

    def _set_sync_trigger(self, level: int, shape: int) -> None:
        self.lib.call("SetSyncCFD", self._dev, ctypes.c_int(level), ctypes.c_int(shape))

    def _set_input_trigger(self, channel: int, level: int, shape: int) -> None:
        args = (ctypes.c_int(channel), ctypes.c_int(level), ctypes.c_int(shape))
        self.lib.call("SetInputCFD", self._dev, *args)

    def _set_sync_offset(self, ps: int) -> None:
        self.lib.call("SetSyncChannelOffset", self._dev, ctypes.c_int(ps))

    def _set_input_offset(self, channel: int, ps: int) -> None:
        self.lib.call("SetInputChannelOffset", self._dev, ctypes.c_int(channel), ctypes.c_int(ps))

    # --- the source protocol ----------------------------------------------------------------
    @property
    def _dev(self) -> ctypes.c_int:
        return ctypes.c_int(self.index)

    def configure(self, **settings: Any) -> None:
        """Apply ``settings`` (all checked first; a new mode initialises the unit and re-applies
        them)."""
        checked = check_settings(self.SETTINGS, settings, self.NAME)
        inputs = self._inputs()
        refuse(self, checked, inputs)  # before anything is sent
        mode = checked.pop("mode", self.mode)
        if mode != self.mode:  # initialising resets the unit: the settings so far again
            self.mode = mode
            self._initialize()
            checked = {**self._applied, **checked}
        self._apply(checked, inputs)
        self._applied.update(checked)

    def _apply(self, checked: dict[str, Any], inputs: int) -> None:
        """Send checked settings (the mode aside) to the unit."""
        if "sync_divider" in checked:
            self._sync_divider = checked["sync_divider"]
            self.lib.call("SetSyncDiv", self._dev, ctypes.c_int(self._sync_divider))
            self._settled_at = time.monotonic() + SETTLE_S
        shape_key = "zero_cross_mv" if self.TRIGGER == "cfd" else "edge"
        edges = {"rising": 1, "falling": 0}
        for part in ("sync", "input"):
            level = checked.get(f"{part}_level_mv")
            if level is None:
                continue
            shape = checked[f"{part}_{shape_key}"]
            shape = edges[shape] if self.TRIGGER == "edge" else shape
            if part == "sync":
                self._set_sync_trigger(level, shape)
            else:
                for channel in range(inputs):
                    self._set_input_trigger(channel, level, shape)
        if "sync_offset_ps" in checked:
            self._set_sync_offset(checked["sync_offset_ps"])
        for k in range(1, inputs + 1):
            if f"input_offset_ps_{k}" in checked:
                self._set_input_offset(k - 1, checked[f"input_offset_ps_{k}"])
        if "binning" in checked:
            self.lib.call("SetBinning", self._dev, ctypes.c_int(checked["binning"]))

    def info(self) -> DeviceInfo:
        """Model, serial, resolution (ps), inputs, mode, and in T3 the sync period and nanotime unit
        (ps)."""
        model, part, version = (ctypes.create_string_buffer(32) for _ in range(3))
        self.lib.call("GetHardwareInfo", self._dev, model, part, version)
        inputs = self._inputs()
        base = ctypes.c_double()
        steps = ctypes.c_int()
        self.lib.call("GetBaseResolution", self._dev, ctypes.byref(base), ctypes.byref(steps))
        sync_period = nanotime_unit = None
        resolution = base.value
        if self.mode == "T3":
            res = ctypes.c_double()
            self.lib.call("GetResolution", self._dev, ctypes.byref(res))
            nanotime_unit = resolution = res.value
            sync_period = self._sync_period_ps()
        return DeviceInfo(
            model.value.decode("ascii", "replace") or self.MODEL,
            self.serial,
            resolution,
            tuple(range(inputs + 1)),
            self.mode,
            sync_period,
            nanotime_unit,
        )

    def _sync_period_ps(self) -> float:
        """The period of the syncs the unit counts (after the divider), ps."""
        wait = self._settled_at - time.monotonic()
        if wait > 0:  # the rate meters need a moment after initialising or a new divider
            time.sleep(wait)
        rate = self._sync_rate()
        if rate <= 0:
            raise DeviceError(f"{self.NAME}: no sync signal (rate {rate}/s), needed in T3")
        return 1e12 * self._sync_divider / rate

    def start(self) -> None:
        """Start the measurement and the thread that empties the FIFO; time 0 is the start."""
        fmt = pq_spec.FORMATS_BY_NAME[self.FORMATS[self.mode == "T3"]]
        info = self.info()
        tick = info.sync_period_ps if self.mode == "T3" else info.resolution_ps
        tick_ps = float(tick)
        factors = ps_factors(tick_ps), ps_factors(info.nanotime_unit_ps or 1.0)
        self._status = DeviceStatus()
        self._fifo.start(fmt, tick_ps, factors, self._status)

    def read(self) -> TagBlock:
        """The tags (ps) decoded since the last read, with nanotimes in T3 and FIFO overflows as
        gaps."""
        return self._fifo.read(self.mode == "T3")

    def stop(self) -> None:
        """Stop the measurement and the FIFO thread."""
        self._fifo.stop()

    def _sync_rate(self) -> int:
        """The sync rate meter, /s."""
        rate = ctypes.c_int()
        self.lib.call("GetSyncRate", self._dev, ctypes.byref(rate))
        return rate.value

    def _input_rate(self, channel: int) -> int:
        """The rate meter of input ``channel`` (from 0), /s."""
        rate = ctypes.c_int()
        self.lib.call("GetCountRate", self._dev, ctypes.c_int(channel), ctypes.byref(rate))
        return rate.value

    def status(self) -> DeviceStatus:
        """The unit's own rate meters (the sync as channel 0), its warnings, overflows."""
        rates = {0: float(self._sync_rate())}
        rates.update({k + 1: float(self._input_rate(k)) for k in range(self._inputs())})
        self._status.count_rates_cps = rates
        warnings = ctypes.c_int()
        self.lib.call("GetWarnings", self._dev, ctypes.byref(warnings))
        if warnings.value:
            text = ctypes.create_string_buffer(16384)
            self.lib.call("GetWarningsText", self._dev, text, warnings)
            line = text.value.decode("ascii", "replace").strip()
            if line and line not in self._status.warnings:
                self._status.warnings.append(line)
        return self._status

    def close(self) -> None:
        """Stop and close the device (once)."""
        if self._open:
            try:
                self.stop()
            finally:
                self._open = False
                self.lib.call("CloseDevice", self._dev)
