"""What every PicoQuant TCSPC unit shares in T2 and T3 mode: open and initialise through the
library, settings checked first, a thread that empties the FIFO, and the records decoded by the
kernel that decodes PTU files.

A full FIFO (``FLAG_FIFOFULL``) means events were lost: the measurement is stopped and started
again, the tags after the restart are placed at the wall-clock time since the first start, and
the interval from the last record before it to the restart is reported as a gap. A failing
library call ends the run with a :class:`DeviceError` naming the call and the library's error.
"""

from __future__ import annotations

import collections
import ctypes
import threading
import time
from typing import Any, ClassVar

import numpy as np

from tagstream.formats import pq_spec
from tagstream.kernels.pq_records import STATE_OFFSET, STATE_UNORDERED, decode_ps
from tagstream.sources.device_protocol import (
    DeviceError,
    DeviceInfo,
    DeviceStatus,
    Setting,
    SettingsError,
    TagBlock,
    TagSource,
    check_settings,
)
from tagstream.tags.units import ps_factors

from .library import VendorLibrary

#: Records one FIFO read may return (``TTREADMAX`` of the libraries).
TTREADMAX = 131072
FLAG_FIFOFULL = 0x0002
MODES = {"T2": 2, "T3": 3}
#: Measurement time asked of ``StartMeas``, ms (the libraries' maximum, 100 h).
ACQUISITION_MS = 360_000_000
#: Seconds the FIFO thread waits when a read returned nothing.
IDLE_S = 0.002
OFFSET_RANGE_PS = (-99_999, 99_999)
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
        return cls.settings_table()

    @classmethod
    def settings_table(cls) -> dict[str, Setting]:
        lo, hi = cls.LEVEL_MV
        table = {
            "mode": Setting("mode", str, choices=tuple(MODES)),
            "sync_divider": Setting(
                "sync_divider", int, min(cls.SYNC_DIVIDERS), max(cls.SYNC_DIVIDERS)
            ),
            "sync_level_mv": Setting("sync_level_mv", int, lo, hi, unit="mV"),
            "input_level_mv": Setting("input_level_mv", int, lo, hi, unit="mV"),
            "sync_offset_ps": Setting("sync_offset_ps", int, *OFFSET_RANGE_PS, unit="ps"),
            "binning": Setting("binning", int, 0, cls.BINNING_STEPS - 1),
        }
        if cls.TRIGGER == "cfd":
            zlo, zhi = cls.ZERO_CROSS_MV
            for part in ("sync", "input"):
                name = f"{part}_zero_cross_mv"
                table[name] = Setting(name, int, zlo, zhi, unit="mV")
        else:
            for part in ("sync", "input"):
                table[f"{part}_edge"] = Setting(f"{part}_edge", str, choices=("rising", "falling"))
        for k in range(1, cls.MAX_INPUTS + 1):
            name = f"input_offset_ps_{k}"
            table[name] = Setting(name, int, *OFFSET_RANGE_PS, unit="ps")
        return table

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
        self._thread: threading.Thread | None = None
        self._queue: collections.deque = collections.deque()
        self._stop_reading = threading.Event()
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
        checked = check_settings(self.SETTINGS, settings, self.NAME)
        inputs = self._inputs()
        self._refuse(checked, inputs)  # before anything is sent
        mode = checked.pop("mode", self.mode)
        if mode != self.mode:  # initialising resets the unit: the settings so far again
            self.mode = mode
            self._initialize()
            checked = {**self._applied, **checked}
        self._apply(checked, inputs)
        self._applied.update(checked)

    def _refuse(self, checked: dict[str, Any], inputs: int) -> None:
        """A :class:`SettingsError` for settings this unit cannot take together."""
        divider = checked.get("sync_divider")
        if divider is not None and divider not in self.SYNC_DIVIDERS:
            allowed = ", ".join(str(d) for d in self.SYNC_DIVIDERS)
            raise SettingsError(
                f"{self.NAME}: setting 'sync_divider' must be one of {allowed}, got {divider}"
            )
        for k in range(inputs + 1, self.MAX_INPUTS + 1):
            if f"input_offset_ps_{k}" in checked:
                raise SettingsError(f"{self.NAME}: input_offset_ps_{k}: it has {inputs} inputs")
        shape = "zero_cross_mv" if self.TRIGGER == "cfd" else "edge"
        for part in ("sync", "input"):
            if (f"{part}_level_mv" in checked) != (f"{part}_{shape}" in checked):
                raise SettingsError(
                    f"{self.NAME}: give {part}_level_mv and {part}_{shape} together"
                )

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
        fmt = pq_spec.FORMATS_BY_NAME[self.FORMATS[self.mode == "T3"]]
        self._format = fmt
        info = self.info()
        tick = info.sync_period_ps if self.mode == "T3" else info.resolution_ps
        self._tick_ps = float(tick)
        self._factors = ps_factors(self._tick_ps), ps_factors(info.nanotime_unit_ps or 1.0)
        self._state = np.zeros(3, dtype=np.int64)
        self._shift = 0  # ps added to the device's times (after a restart)
        self._until = 0
        self._status = DeviceStatus()
        self._queue.clear()
        self._stop_reading.clear()
        self._started = time.monotonic()
        self.lib.call("StartMeas", self._dev, ctypes.c_int(ACQUISITION_MS))
        self._thread = threading.Thread(target=self._read_fifo, name="tagstream-fifo", daemon=True)
        self._thread.start()

    def _read_fifo(self) -> None:
        """The FIFO thread: records, restarts and errors into the queue, in order."""
        buffer = np.empty(TTREADMAX, dtype=np.uint32)
        pointer = buffer.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32))
        got = ctypes.c_int()
        flags = ctypes.c_int()
        try:
            while not self._stop_reading.is_set():
                self.lib.call("GetFlags", self._dev, ctypes.byref(flags))
                if flags.value & FLAG_FIFOFULL:
                    self.lib.call("StopMeas", self._dev)
                    self.lib.call("StartMeas", self._dev, ctypes.c_int(ACQUISITION_MS))
                    elapsed = round((time.monotonic() - self._started) * 1e12)
                    self._queue.append(("restart", elapsed))
                    continue
                count = ctypes.c_int(TTREADMAX)
                self.lib.call("ReadFiFo", self._dev, pointer, count, ctypes.byref(got))
                if got.value:
                    self._queue.append(("records", buffer[: got.value].copy()))
                else:
                    time.sleep(IDLE_S)
        except DeviceError as err:
            self._queue.append(("error", str(err)))

    def read(self) -> TagBlock:
        times, chans, nts, gaps = [], [], [], []
        while self._queue:
            kind, value = self._queue.popleft()
            if kind == "error":
                if times or gaps:  # what came before it first
                    self._queue.appendleft((kind, value))
                    break
                raise DeviceError(value)
            if kind == "restart":
                self._status.overflow = True
                self._status.warnings.append("FIFO full: events lost, measurement restarted")
                start = max(self._until, self._shift)
                gaps.append((start, max(value, start + 1)))
                self._shift = max(value, start + 1)
                self._state[:] = 0
                self._until = self._shift
                continue
            t, ch, dt = self._decode(value)
            times.append(t)
            chans.append(ch)
            nts.append(dt)
        t = np.concatenate(times) if times else np.zeros(0, np.int64)
        ch = np.concatenate(chans) if chans else np.zeros(0, np.uint8)
        nt = (np.concatenate(nts) if nts else np.zeros(0, np.uint16)) if self.mode == "T3" else None
        return TagBlock(
            t, ch, self._until, nt, np.array(gaps, dtype=np.int64).reshape(-1, 2) if gaps else None
        )

    def _decode(self, records: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        fmt = self._format
        n = records.size
        t = np.empty(n, np.int64)
        ch = np.empty(n, np.uint8)
        dt = np.zeros(n, np.uint16)
        tick, dunit = self._factors
        end, last = decode_ps(
            records, fmt.family, fmt.wrap, fmt.counted, tick, dunit, self._state, t, ch, dt, 0
        )
        if self._state[STATE_UNORDERED]:  # damaged or unusual records: sort them
            order = np.argsort(t[:end], kind="stable")
            t[:end], ch[:end], dt[:end] = t[:end][order], ch[:end][order], dt[:end][order]
            self._state[STATE_UNORDERED] = 0
        t, ch, dt = t[:end] + self._shift, ch[:end], dt[:end]
        # every record so far is in: the time is past the last event and the last overflow
        overflow_ps = round(self._state[STATE_OFFSET] * self._tick_ps)
        self._until = max(self._until, self._shift + max(overflow_ps, last + 1))
        return t, ch, dt

    def stop(self) -> None:
        if self._thread is not None:
            self._stop_reading.set()
            self._thread.join()
            self._thread = None
            self.lib.call("StopMeas", self._dev)

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
        if self._open:
            try:
                self.stop()
            finally:
                self._open = False
                self.lib.call("CloseDevice", self._dev)
