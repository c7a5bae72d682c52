"""A simulated dot excited by a laser's power at the sample (a power series on the emulated
bench): ``<N> = P / P_sat`` from the model's ``[excitation] saturation_power``."""

from __future__ import annotations

from dataclasses import replace

from .config import ConfigError, SimConfig

#: Most excitations per pulse the model is asked to make.
MAX_MEAN_EXCITATIONS = 50.0


def at_power(config: SimConfig, power_w: float) -> SimConfig:
    """``config`` excited with ``power_w`` at the sample: ``<N> = P / P_sat`` per pulse, or a
    CW pump rate of ``P / P_sat`` excitations per exciton lifetime.

    Raises
    ------
    ConfigError
        The model has no saturation power, or the power asks for more than 50 excitations.
    """
    p_sat = config.excitation.saturation_power_w
    if p_sat is None:
        raise ConfigError(
            f"{config.name}: [excitation] saturation_power is not set, so the dot cannot "
            "follow the laser's power"
        )
    n = max(float(power_w), 0.0) / p_sat
    if n > MAX_MEAN_EXCITATIONS:
        raise ConfigError(f"{config.name}: {power_w:.3g} W at the sample gives <N> = {n:.3g} "
                          f"(more than {MAX_MEAN_EXCITATIONS:g})")  # fmt: skip
    if config.excitation.mode == "pulsed":
        excitation = replace(config.excitation, mean_excitations=n)
    else:
        pump_hz = n / (config.exciton.lifetime_ps * 1e-12)
        excitation = replace(config.excitation, pump_rate_hz=pump_hz)
    return replace(config, excitation=excitation)
