"""The emulated shutter of a simulated bench."""

from __future__ import annotations

from typing import Any, ClassVar

from tagstream.sources.device_protocol import Instrument, Setting, check_settings
from tagstream.sources.optical_bench import bench


class SimulatedShutter(Instrument):
    """Shutter: ``open`` true or false; ``address`` names the bench."""

    NAME = "simulated shutter"
    SETTINGS: ClassVar[dict[str, Setting]] = {"open": Setting("open", bool)}

    def __init__(self, address: str = "bench"):
        self.bench = bench(address)
        self.ident = f"tagstream,simulated shutter,{address},1"

    def configure(self, **settings: Any) -> None:
        """Apply ``settings`` (checked first): open or close the shutter."""
        checked = check_settings(self.SETTINGS, settings, self.NAME)
        if "open" in checked:
            with self.bench.lock:
                self.bench.shutter_open = checked["open"]

    def readings(self) -> dict[str, Any]:
        """Whether the shutter is open."""
        return {"open": self.bench.shutter_open}
