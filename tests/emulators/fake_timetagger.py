"""A stand-in for Swabian's ``TimeTagger`` Python module: the functions and classes the
tagstream adapter uses, with the same names and arguments, serving scripted events and logging
every call. Installed in ``sys.modules["TimeTagger"]`` by the tests."""

from __future__ import annotations

import time

import numpy as np

#: Every call made, as ``(name, arguments)``.
calls: list[tuple] = []
#: The events streams serve: timestamps (ps since the tagger's epoch), channels, types, missed.
events: dict[str, np.ndarray] = {}
#: Seconds over which the events are spread after the stream starts (0: all at once).
pace_s = 0.0
#: The tagger's clock when a stream starts, ps.
EPOCH_PS = 7_000_000_000
serials = ["2138000ABC"]
lose_after: int | None = None  # events served before getData raises (the tagger unplugged)


def load(timestamps, channels, types=None, missed=None, seconds: float = 0.0) -> None:
    """Serve these events (``types`` as ``TagType`` values, default all time tags)."""
    global pace_s, lose_after
    n = len(timestamps)
    events.update(
        t=np.asarray(timestamps, np.int64) + EPOCH_PS,
        ch=np.asarray(channels, np.int32),
        kind=np.zeros(n, np.uint8) if types is None else np.asarray(types, np.uint8),
        missed=np.zeros(n, np.uint16) if missed is None else np.asarray(missed, np.uint16),
    )
    pace_s = seconds
    lose_after = None
    calls.clear()


def createTimeTagger(serial: str = ""):
    calls.append(("createTimeTagger", serial))
    if serial and serial not in serials:
        raise RuntimeError(f"no Time Tagger with serial {serial}")
    return _Tagger(serial or serials[0])


def freeTimeTagger(tagger) -> None:
    calls.append(("freeTimeTagger",))


def scanTimeTagger() -> list[str]:
    return list(serials)


class _Tagger:
    def __init__(self, serial: str):
        self.serial = serial

    def getSerial(self) -> str:
        return self.serial

    def getModel(self) -> str:
        return "Time Tagger Ultra"

    def setTriggerLevel(self, channel: int, voltage: float) -> None:
        calls.append(("setTriggerLevel", channel, voltage))

    def setInputDelay(self, channel: int, delay: int) -> None:
        calls.append(("setInputDelay", channel, delay))

    def setDeadtime(self, channel: int, deadtime: int) -> None:
        calls.append(("setDeadtime", channel, deadtime))

    def setTestSignal(self, channels, enabled: bool) -> None:
        calls.append(("setTestSignal", list(channels), enabled))


class _Buffer:
    def __init__(self, sl: slice, t_start: int, t_get: int):
        self._sl = sl
        self.tStart = t_start
        self.tGetData = t_get

    def getTimestamps(self):
        return events["t"][self._sl]

    def getChannels(self):
        return events["ch"][self._sl]

    def getEventTypes(self):
        return events["kind"][self._sl]

    def getMissedEvents(self):
        return events["missed"][self._sl]


class TimeTagStream:
    def __init__(self, tagger: _Tagger, n_max_events: int, channels: list[int]):
        calls.append(("TimeTagStream", n_max_events, list(channels)))
        self.sent = 0
        self.began = 0.0

    def start(self) -> None:
        calls.append(("start",))
        self.began = time.monotonic()

    def stop(self) -> None:
        calls.append(("stop",))

    def getData(self) -> _Buffer:
        t = events["t"]
        if lose_after is not None and self.sent >= lose_after:
            raise RuntimeError("Time Tagger disconnected")
        end = t.size
        now_ps = None
        if pace_s:
            elapsed = time.monotonic() - self.began
            now_ps = EPOCH_PS + int(elapsed / pace_s * (t[-1] - EPOCH_PS + 1)) if t.size else 0
            end = int(np.searchsorted(t, now_ps))
        if lose_after is not None:
            end = min(end, lose_after)
        sl = slice(self.sent, end)
        self.sent = end
        t_get = now_ps if now_ps is not None else (int(t[end - 1]) + 1 if end else EPOCH_PS)
        if end == t.size and t.size:
            t_get = max(t_get, int(t[-1]) + 1)
        return _Buffer(sl, EPOCH_PS, t_get)
