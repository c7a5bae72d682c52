"""The FIFO of a running PicoQuant unit: a thread that empties it through the library, and the
records decoded into tags by the kernel that decodes PTU files.

A full FIFO (``FLAG_FIFOFULL``) means events were lost: the measurement is stopped and started
again, the tags after the restart are placed at the wall-clock time since the first start, and
the interval from the last record before it to the restart is reported as a gap. A failing
library call in the thread ends the run with a :class:`DeviceError` once the tags before it are
read.
"""

from __future__ import annotations

import collections
import ctypes
import threading
import time

import numpy as np

from tagstream.formats.pq_spec import RecordFormat
from tagstream.kernels.pq_records import STATE_OFFSET, STATE_UNORDERED, decode_ps
from tagstream.sources.device_protocol import DeviceError, DeviceStatus, TagBlock

from .library import VendorLibrary

#: Records one FIFO read may return (``TTREADMAX`` of the libraries).
TTREADMAX = 131072
FLAG_FIFOFULL = 0x0002
#: Measurement time asked of ``StartMeas``, ms (the libraries' maximum, 100 h).
ACQUISITION_MS = 360_000_000
#: Seconds the FIFO thread waits when a read returned nothing.
IDLE_S = 0.002


class FifoReader:
    """The FIFO of the unit at device index ``index``, read through ``lib``."""

    def __init__(self, lib: VendorLibrary, index: int):
        self.lib = lib
        self.index = index
        self._thread: threading.Thread | None = None
        self._queue: collections.deque = collections.deque()
        self._stop_reading = threading.Event()

    @property
    def _dev(self) -> ctypes.c_int:
        return ctypes.c_int(self.index)

    def start(
        self, fmt: RecordFormat, tick_ps: float, factors: tuple, status: DeviceStatus
    ) -> None:
        """Start the measurement and the FIFO thread: records of format ``fmt`` whose time unit
        is ``tick_ps`` (the T2 resolution or T3 sync period, ps), ``factors`` as the decoding
        kernel takes the units; FIFO overflows are reported in ``status``."""
        self._format = fmt
        self._tick_ps = tick_ps
        self._factors = factors
        self._state = np.zeros(3, dtype=np.int64)
        self._shift = 0  # ps added to the device's times (after a restart)
        self._until = 0
        self._status = status
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

    def read(self, t3: bool) -> TagBlock:
        """The tags (int64 ps) decoded since the last read, with nanotimes when ``t3``, the
        time they are complete up to (ps) and the gaps of FIFO overflows (ps)."""
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
        nt = (np.concatenate(nts) if nts else np.zeros(0, np.uint16)) if t3 else None
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
        """Stop the FIFO thread and the measurement (if started)."""
        if self._thread is not None:
            self._stop_reading.set()
            self._thread.join()
            self._thread = None
            self.lib.call("StopMeas", self._dev)
