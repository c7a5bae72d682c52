"""The emulated power meter of a simulated bench: reads the power at the sample with the
relative noise and the noise floor of a photodiode sensor."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from tagstream.sources.device_protocol import Instrument, Setting, check_settings
from tagstream.sources.optical_bench import bench
from tagstream.tags import parse_power_w


class SimulatedPowerMeter(Instrument):
    """Power meter on bench ``address``: each reading is the power at the sample times
    ``1 + noise·g`` plus ``floor·g'`` (``g, g'`` standard normal, from ``seed``)."""

    NAME = "simulated power meter"
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "wavelength_nm": Setting("wavelength_nm", float, 185, 25000, unit="nm"),
        "averages": Setting("averages", int, 1, 3000),
    }

    def __init__(self, address: str = "bench", noise: float = 0.003,
                 floor: str | float = "50 pW", seed: int = 0):  # fmt: skip
        self.bench = bench(address)
        self.noise = float(noise)
        self.floor_w = parse_power_w(floor, f"{self.NAME}: floor")
        self.wavelength_nm = 633.0
        self.averages = 1
        self._rng = np.random.default_rng(seed)
        self.ident = f"tagstream,simulated power meter,{address},1"

    def configure(self, **settings: Any) -> None:
        """Apply ``settings`` (checked first): wavelength correction (nm), samples averaged
        (each average of ``n`` samples divides the noise by sqrt(n))."""
        checked = check_settings(self.SETTINGS, settings, self.NAME)
        self.wavelength_nm = checked.get("wavelength_nm", self.wavelength_nm)
        self.averages = checked.get("averages", self.averages)

    def readings(self) -> dict[str, Any]:
        """The measured power (W), the wavelength correction (nm) and the meter's identity."""
        g = self._rng.standard_normal(2) / np.sqrt(self.averages)
        power = self.bench.power_at_sample_w() * (1.0 + self.noise * g[0]) + self.floor_w * g[1]
        return {"power_w": float(power), "wavelength_nm": self.wavelength_nm,
                "ident": self.ident}  # fmt: skip
