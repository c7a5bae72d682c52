"""The emulated neutral-density filter wheel of a simulated bench (positions from 1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from tagstream.sources.device_protocol import (
    Instrument,
    Setting,
    SettingsError,
    check_wheel_settings,
)
from tagstream.sources.optical_bench import WHEEL_OD, bench


class SimulatedFilterWheel(Instrument):
    """A wheel whose position ``k`` holds a filter of optical density ``optical_densities[k-1]``
    (default :data:`~tagstream.sources.optical_bench.WHEEL_OD`); ``address`` names the bench."""

    NAME = "simulated filter wheel"
    SETTINGS: ClassVar[dict[str, Setting]] = {"position": Setting("position", int, 1, 12)}

    def __init__(self, address: str = "bench", optical_densities: Sequence[float] = WHEEL_OD):
        ods = tuple(float(x) for x in optical_densities)
        if not 1 <= len(ods) <= 12 or any(x < 0 for x in ods):
            raise SettingsError(f"{self.NAME}: optical_densities: 1 to 12 values of 0 or more")
        self.bench = bench(address)
        with self.bench.lock:
            self.bench.wheel_od = ods
        self.positions = len(ods)
        self.ident = f"tagstream,simulated filter wheel,{address},1"

    def check(self, **settings: Any) -> dict[str, Any]:
        """``settings`` checked, nothing sent: ``position`` within this wheel's positions."""
        return check_wheel_settings(self.SETTINGS, settings, self.positions, self.NAME)

    def configure(self, **settings: Any) -> None:
        """Apply ``settings`` (checked first): turn to ``position`` (from 1)."""
        checked = self.check(**settings)
        if "position" in checked:
            with self.bench.lock:
                self.bench.wheel_position = checked["position"]

    def readings(self) -> dict[str, Any]:
        """The present position, the number of positions and the filter's optical density."""
        k = self.bench.wheel_position
        return {"position": k, "positions": self.positions,
                "optical_density": self.bench.wheel_od[k - 1]}  # fmt: skip
