"""Thorlabs PM100D / PM100USB optical power meter (SCPI over USB-TMC): the power at the sample,
recorded with each run."""

from __future__ import annotations

from typing import Any, ClassVar

from tagstream.sources.device_protocol import Setting, check_settings

from ..visa_instrument import VisaInstrument

#: Duration of one sample the meter averages, ms.
SAMPLE_MS = 3.0


class Pm100d(VisaInstrument):
    """Power meter: ``wavelength_nm`` (the sensor's correction), ``averages`` (samples of
    about 3 ms averaged per reading)."""

    NAME = "Thorlabs PM100D"
    IDENTIFIES = "PM100"
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "wavelength_nm": Setting("wavelength_nm", float, 185, 25000, unit="nm"),
        "averages": Setting("averages", int, 1, 3000),
    }

    def configure(self, **settings: Any) -> None:
        """Apply ``settings`` (checked first, each read back): the sensor's wavelength correction
        (nm) and the samples averaged per reading; then auto range and power measurement."""
        checked = check_settings(self.SETTINGS, settings, self.NAME)
        if "wavelength_nm" in checked:
            nm = checked["wavelength_nm"]
            self.set(f"SENS:CORR:WAV {nm:.1f}", "SENS:CORR:WAV?", round(nm, 1))
        if "averages" in checked:
            n = checked["averages"]
            self.set(f"SENS:AVER:COUN {n:d}", "SENS:AVER:COUN?", n)
            # a reading averages n samples of about 3 ms: wait that long for it
            self._inst.timeout = max(self._inst.timeout, int(n * SAMPLE_MS + 2000))
        self.write("SENS:POW:RANG:AUTO 1")
        self.write("CONF:POW")

    def readings(self) -> dict[str, Any]:
        """The measured power (W), the wavelength correction (nm) and the meter's identity."""
        return {
            "power_w": self.number("MEAS:POW?"),
            "wavelength_nm": self.number("SENS:CORR:WAV?"),
            "ident": self.ident,
        }
