"""Keysight 53230A universal counter in its timestamp mode (SCPI through pyvisa), as a tag
source on input 1.

The counter timestamps edges in blocks: ``CONF:TST (@1)``, ``SAMP:COUN n`` edges per block,
``INIT``; the block's timestamps (seconds from the start of the block) are taken out with
``DATA:REM? k`` as ``DATA:POIN?`` says they are there. A finished block is followed at once by
the next ``INIT``. The counter's clock starts again with each block, so block ``k`` is placed at
the wall-clock time of its ``INIT`` since the first one, and the time between the end of one
block and the start of the next, when the counter was not listening, is a gap.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np

from tagstream.sources.device_protocol import (
    DeviceError,
    DeviceInfo,
    DeviceStatus,
    Setting,
    TagBlock,
    TagSource,
    check_settings,
)

from ..visa_instrument import VisaSession

#: Timestamp resolution of the 53230A, ps.
RESOLUTION_PS = 20.0
#: Timestamps removed at most per read.
READ_MAX = 100_000


class Keysight53230A(VisaSession, TagSource):
    """The counter at VISA ``resource``; ``block`` edges per acquisition (up to 1 M)."""

    NAME = "Keysight 53230A"
    IDENTIFIES = "53230A"
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "level_v": Setting("level_v", float, -5.0, 5.0, unit="V"),
        "slope": Setting("slope", str, choices=("POS", "NEG")),
        "impedance_ohm": Setting("impedance_ohm", str, choices=("50", "1E6")),
        "block": Setting("block", int, 1, 1_000_000),
    }

    def __init__(self, resource: str, backend: str = "", timeout_s: float = 2.0):
        super().__init__(resource, backend, timeout_s)
        self.block = 100_000
        self._status = DeviceStatus()

    def configure(self, **settings: Any) -> None:
        """Apply ``settings`` (checked first): input impedance (ohm), trigger level (V), slope, and
        edges per acquisition block."""
        checked = check_settings(self.SETTINGS, settings, self.NAME)
        if "impedance_ohm" in checked:
            self.write(f"INP1:IMP {checked['impedance_ohm']}")
        if "level_v" in checked:
            level = round(checked["level_v"], 3)
            self.set(f"INP1:LEV {level:.3f}", "INP1:LEV?", level)
        if "slope" in checked:
            self.write(f"INP1:SLOP {checked['slope']}")
        if "block" in checked:
            self.block = checked["block"]

    def info(self) -> DeviceInfo:
        """Model, serial, resolution (ps) and its one input."""
        parts = [p.strip() for p in self.ident.split(",")]
        serial = parts[2] if len(parts) > 2 else ""
        return DeviceInfo("53230A", serial, RESOLUTION_PS, (1,))

    def start(self) -> None:
        """Start timestamping blocks of edges on input 1; time 0 is the start."""
        self.write("CONF:TST (@1)")
        self.write("SENS:TST:RATE MAX")
        self.write("TRIG:SOUR IMM")
        self.write("TRIG:COUN 1")
        self.write(f"SAMP:COUN {self.block:d}")
        self._status = DeviceStatus()
        self._began = time.monotonic()
        self._offset = 0  # ps of the present block's start
        self._taken = 0  # timestamps of the present block taken out
        self._last = 0  # ps of the latest timestamp
        self.write("INIT")

    def read(self) -> TagBlock:
        """The timestamps taken since the last read (ps); when a block is complete the next one
        starts, the time between them a gap."""
        available = int(self.number("DATA:POIN?"))
        want = min(available, READ_MAX, self.block - self._taken)
        gaps = None
        if want > 0:
            answer = self.query(f"DATA:REM? {want:d}")
            try:
                seconds = np.array([float(x) for x in answer.split(",")], dtype=np.float64)
            except ValueError:
                raise DeviceError(
                    f"{self.NAME}: timestamps not understood: {answer[:40]!r}"
                ) from None
            t = self._offset + np.round(seconds * 1e12).astype(np.int64)
            self._taken += t.size
            self._last = max(self._last, int(t[-1]) + 1)
        else:
            t = np.zeros(0, np.int64)
        until = self._last
        if self._taken >= self.block:  # the block is complete: the next one
            self.write("INIT")
            start = max(round((time.monotonic() - self._began) * 1e12), self._last + 1)
            gaps = np.array([[self._last, start]], dtype=np.int64)
            self._offset, self._taken, self._last = start, 0, start
            until = start
        return TagBlock(t, np.ones(t.size, np.uint8), until, None, gaps)

    def stop(self) -> None:
        """Abort the acquisition."""
        self.write("ABOR")

    def status(self) -> DeviceStatus:
        """Count rate and warnings since the start."""
        return self._status
