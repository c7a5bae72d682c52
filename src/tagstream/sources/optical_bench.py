"""The light path of a simulated setup, shared by its emulated instruments and the simulated
dot: laser → neutral-density filter wheel → shutter → sample, and a power meter that reads the
power at the sample.

Every emulated instrument opened on the same address (the bench's name) acts on one
:class:`Bench`; a simulated source whose ``[source] bench`` names it takes its excitation from
:meth:`Bench.power_at_sample_w` when it starts. So stepping the emulated laser or wheel steps
the dot's excitation, as on a real table.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

#: Optical densities of the emulated wheel's positions (from 1), as on a six-position wheel.
WHEEL_OD = (0.0, 0.3, 0.6, 1.0, 2.0, 3.0)


@dataclass
class Bench:
    """One simulated light path. Powers in watts; ``laser_percent`` of ``laser_full_power_w``
    reaches the sample through the wheel's filter ``wheel_od[wheel_position - 1]`` while the
    laser emits and the shutter is open."""

    laser_full_power_w: float = 10e-6
    laser_percent: float = 0.0
    laser_on: bool = False
    laser_rate_hz: float = 10e6
    wheel_od: tuple[float, ...] = WHEEL_OD
    wheel_position: int = 1
    shutter_open: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def power_at_sample_w(self) -> float:
        """The excitation power at the sample now, W."""
        with self.lock:
            if not (self.laser_on and self.shutter_open):
                return 0.0
            od = self.wheel_od[self.wheel_position - 1]
            return self.laser_full_power_w * self.laser_percent / 100.0 * 10.0 ** (-od)


_BENCHES: dict[str, Bench] = {}
_GUARD = threading.Lock()


def bench(name: str) -> Bench:
    """The bench called ``name`` (made, laser off, on first use)."""
    with _GUARD:
        return _BENCHES.setdefault(name or "bench", Bench())


def reset_bench(name: str) -> None:
    """Forget the bench called ``name`` (the next :func:`bench` makes a fresh one)."""
    with _GUARD:
        _BENCHES.pop(name or "bench", None)
