"""A pulsed diode-laser driver that speaks SCPI (as the drivers of several makers do):
repetition rate ``SOUR:FREQ`` (Hz), relative power ``SOUR:POW:LEV`` (percent of full), emission
``OUTP`` (0/1)."""

from __future__ import annotations

from typing import Any, ClassVar

from tagstream.sources.device_protocol import Setting, check_settings

from ..visa_instrument import VisaInstrument


class ScpiPulsedLaser(VisaInstrument):
    """Repetition rate 1 kHz-200 MHz, power 0-100 %, emission on or off."""

    NAME = "SCPI pulsed laser"
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "rate_hz": Setting("rate_hz", float, 1e3, 2e8, unit="Hz"),
        "power_percent": Setting("power_percent", float, 0, 100, unit="%"),
        "enabled": Setting("enabled", bool),
    }

    def configure(self, **settings: Any) -> None:
        """Apply ``settings`` (checked first, each read back): repetition rate (Hz), power (%) and
        emission on or off."""
        checked = check_settings(self.SETTINGS, settings, self.NAME)
        if "rate_hz" in checked:
            hz = round(checked["rate_hz"], 1)
            self.set(f"SOUR:FREQ {hz:.1f}", "SOUR:FREQ?", hz)
        if "power_percent" in checked:
            level = round(checked["power_percent"], 2)
            self.set(f"SOUR:POW:LEV {level:.2f}", "SOUR:POW:LEV?", level)
        if "enabled" in checked:
            on = int(checked["enabled"])
            self.set(f"OUTP {on}", "OUTP?", on)

    def readings(self) -> dict[str, Any]:
        """Repetition rate (Hz), power (% of full) and whether it emits."""
        return {
            "rate_hz": self.number("SOUR:FREQ?"),
            "power_percent": self.number("SOUR:POW:LEV?"),
            "enabled": bool(int(self.number("OUTP?"))),
        }
