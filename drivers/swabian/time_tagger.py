"""Swabian Instruments Time Tagger (20, Ultra, X) through Swabian's Python module ``TimeTagger``.

The tags come from a ``TimeTagStream`` on the chosen input channels (rising edges, numbers 1-18).
Its buffers say when the tagger could not keep up: an ``OverflowBegin``/``OverflowEnd`` pair
marks an interval in which events were lost (a gap), ``MissedEvents`` counts them per channel
(status), ``Error`` is a warning. Timestamps are ps counted from the start of the stream.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from tagstream.sources.device_protocol import (
    DeviceError,
    DeviceInfo,
    DeviceStatus,
    Setting,
    SettingsError,
    TagBlock,
    TagSource,
    check_settings,
    tag_rates_cps,
)

#: ``TimeTagStreamBuffer.getEventTypes`` values (Swabian's ``TagType``).
TIME_TAG, ERROR, OVERFLOW_BEGIN, OVERFLOW_END, MISSED_EVENTS = 0, 1, 2, 3, 4
#: Events the stream's buffer holds between reads.
BUFFER_EVENTS = 4_000_000
MAX_CHANNEL = 18
NEEDS = "Swabian's Time Tagger software (its Python module TimeTagger)"


def _module() -> ModuleType:
    try:
        return importlib.import_module("TimeTagger")
    except ImportError as err:
        raise DeviceError(f"Swabian Time Tagger: needs {NEEDS} ({err})") from None


class SwabianTimeTagger(TagSource):
    """The Time Tagger with serial ``address`` ("" for the first found), streaming
    ``channels``."""

    NAME = "Swabian Time Tagger"

    def __init__(self, address: str = "", channels: list[int] | tuple[int, ...] = (1, 2)):
        channels = tuple(int(c) for c in channels)
        if not channels or any(not 1 <= c <= MAX_CHANNEL for c in channels):
            raise SettingsError(
                f"{self.NAME}: channels must be inputs 1-{MAX_CHANNEL}, got {channels}"
            )
        self.channels = channels
        self._tt = _module()
        try:
            self._tagger = self._tt.createTimeTagger(str(address))
        except RuntimeError as err:
            raise DeviceError(
                f"{self.NAME} {address or '(first found)'}: cannot open ({err})"
            ) from None
        self._stream = None
        self._status = DeviceStatus()
        self.SETTINGS = self.settings_for(channels=channels)

    SETTINGS: ClassVar[dict[str, Setting]] = {}

    @classmethod
    def settings_for(cls, channels=(1, 2), **options: Any) -> dict[str, Setting]:
        """The settings for ``channels``: trigger level (V), test signal, dead time (ps) and an
        input delay per channel (ps)."""
        table = {
            "trigger_level_v": Setting("trigger_level_v", float, -2.5, 2.5, unit="V"),
            "test_signal": Setting("test_signal", bool),
            "deadtime_ps": Setting("deadtime_ps", int, 0, 1_000_000, unit="ps"),
        }
        for c in channels:
            table[f"delay_ps_{c}"] = Setting(f"delay_ps_{c}", int, -2_000_000, 2_000_000, unit="ps")
        return table

    @classmethod
    def find(cls) -> list[tuple[str, str]]:
        """``(serial, description)`` of every Time Tagger on this machine."""
        return [(serial, "Swabian Time Tagger") for serial in _module().scanTimeTagger()]

    def _call(self, what, *args):
        """A call into Swabian's module; its errors (the tagger unplugged, ...) as
        :class:`DeviceError`."""
        try:
            return what(*args)
        except RuntimeError as err:
            raise DeviceError(f"{self.NAME}: lost ({err})") from None

    def configure(self, **settings: Any) -> None:
        """Apply ``settings`` (checked first) to every streamed channel: trigger level (V), dead
        time (ps), input delays (ps), test signal."""
        checked = check_settings(self.SETTINGS, settings, self.NAME)
        tagger = self._tagger
        for c in self.channels:
            if "trigger_level_v" in checked:
                self._call(tagger.setTriggerLevel, c, checked["trigger_level_v"])
            if "deadtime_ps" in checked:
                self._call(tagger.setDeadtime, c, checked["deadtime_ps"])
            if f"delay_ps_{c}" in checked:
                self._call(tagger.setInputDelay, c, checked[f"delay_ps_{c}"])
        if "test_signal" in checked:
            self._call(tagger.setTestSignal, list(self.channels), checked["test_signal"])

    def info(self) -> DeviceInfo:
        """Model, serial, resolution (1 ps) and the streamed channels."""
        model = self._call(self._tagger.getModel)
        return DeviceInfo(model, self._call(self._tagger.getSerial), 1.0, self.channels)

    def start(self) -> None:
        """Start the time-tag stream; time 0 is its first buffer's start."""
        self._status = DeviceStatus()
        self._open_gap: int | None = None
        self._t0: int | None = None
        self._missed: dict[int, int] = {}
        stream = self._tt.TimeTagStream
        self._stream = self._call(stream, self._tagger, BUFFER_EVENTS, list(self.channels))
        self._call(self._stream.start)

    def read(self) -> TagBlock:
        """The tags since the last read (ps), with the overflows as gaps; while an overflow is open
        only the tags before it."""
        buf = self._call(self._stream.getData)
        if self._t0 is None:
            self._t0 = int(buf.tStart)
        t = np.asarray(buf.getTimestamps(), dtype=np.int64) - self._t0
        ch = np.asarray(buf.getChannels())
        kind = np.asarray(buf.getEventTypes())
        until = int(buf.tGetData) - self._t0
        gaps = self._gaps(t, kind, until)
        missed = np.flatnonzero(kind == MISSED_EVENTS)
        counts = np.asarray(buf.getMissedEvents())
        for i in missed:
            self._missed[int(ch[i])] = self._missed.get(int(ch[i]), 0) + int(counts[i])
        if np.any(kind == ERROR):
            self._status.warnings.append("the tagger reported an error event")
        tags = kind == TIME_TAG
        t, ch = t[tags], ch[tags].astype(np.uint8)
        rates = tag_rates_cps(t, ch, self.channels)
        if rates is not None:
            self._status.count_rates_cps = rates
        if self._open_gap is not None:  # events are being lost now: report only up to it
            until = min(until, self._open_gap)
        return TagBlock(t, ch, until, None, gaps)

    def _gaps(self, t: np.ndarray, kind: np.ndarray, until: int) -> np.ndarray | None:
        """Closed overflow intervals ``[begin, end)``; an open one is kept for the next read."""
        out = []
        for i in np.flatnonzero((kind == OVERFLOW_BEGIN) | (kind == OVERFLOW_END)):
            if kind[i] == OVERFLOW_BEGIN:
                self._status.overflow = True
                self._open_gap = int(t[i]) if self._open_gap is None else self._open_gap
            elif self._open_gap is not None:
                out.append((self._open_gap, max(int(t[i]), self._open_gap + 1)))
                self._open_gap = None
        return np.array(out, dtype=np.int64) if out else None

    def stop(self) -> None:
        """Stop the stream."""
        stream, self._stream = self._stream, None
        if stream is not None:
            self._call(stream.stop)

    def status(self) -> DeviceStatus:
        """Count rates, overflow and warnings since the start, with the events missed in
        overflows."""
        if self._missed:
            total = sum(self._missed.values())
            note = f"{total} events missed in overflows"
            self._status.warnings = [w for w in self._status.warnings if "missed" not in w]
            self._status.warnings.append(note)
        return self._status

    def close(self) -> None:
        """Stop the stream and free the tagger."""
        try:
            self.stop()
        finally:
            self._call(self._tt.freeTimeTagger, self._tagger)
