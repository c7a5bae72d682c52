"""The emulated pulsed laser of a simulated bench: the same settings as the SCPI laser driver."""

from __future__ import annotations

from typing import Any, ClassVar

from tagstream.sources.device_protocol import Instrument, Setting, check_settings
from tagstream.sources.optical_bench import bench
from tagstream.tags import parse_power_w


class SimulatedLaser(Instrument):
    """Repetition rate 1 kHz-200 MHz, power 0-100 % of ``full_power`` (at the sample, through
    no filter), emission on or off; ``address`` names the bench."""

    NAME = "simulated laser"
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "rate_hz": Setting("rate_hz", float, 1e3, 2e8, unit="Hz"),
        "power_percent": Setting("power_percent", float, 0, 100, unit="%"),
        "enabled": Setting("enabled", bool),
    }

    def __init__(self, address: str = "bench", full_power: str | float = "10 uW"):
        self.bench = bench(address)
        with self.bench.lock:
            self.bench.laser_full_power_w = parse_power_w(full_power, f"{self.NAME}: full_power")
        self.ident = f"tagstream,simulated laser,{address},1"

    def configure(self, **settings: Any) -> None:
        """Apply ``settings`` (checked first): rate (Hz), power (% of full), emission."""
        checked = check_settings(self.SETTINGS, settings, self.NAME)
        with self.bench.lock:
            if "rate_hz" in checked:
                self.bench.laser_rate_hz = round(checked["rate_hz"], 1)
            if "power_percent" in checked:
                self.bench.laser_percent = round(checked["power_percent"], 2)
            if "enabled" in checked:
                self.bench.laser_on = checked["enabled"]

    def readings(self) -> dict[str, Any]:
        """Repetition rate (Hz), power (% of full) and whether it emits."""
        return {
            "rate_hz": self.bench.laser_rate_hz,
            "power_percent": self.bench.laser_percent,
            "enabled": self.bench.laser_on,
        }
