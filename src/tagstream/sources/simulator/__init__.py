"""The simulated emitter: a single quantum dot on an HBT setup, photon by photon.

>>> run = simulate("cspbi3-10nm", duration="10 s", seed=1)   # doctest: +SKIP
>>> tags = run.read()                                         # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .config import ConfigError, SimConfig, load_config
from .excitation_power import at_power
from .presets import preset_names, resolve_config
from .run import SimulatedRun
from .scan_run import ScanRun, parked_config


def simulate(
    model: str | Path | Mapping[str, Any] | SimConfig = "cspbi3-10nm",
    duration: str | int | None = "10 s",
    seed: int = 0,
    realtime: bool = False,
    power_w: float | None = None,
) -> SimulatedRun:
    """A simulated run of a preset (``"cspbi3-10nm"``), a TOML file, a dict or a
    :class:`SimConfig`.

    Parameters
    ----------
    model
        What to simulate.
    duration
        Length of the run; ``None`` for unbounded.
    seed
        Same seed, same tags, byte for byte.
    realtime
        Deliver batches no faster than the simulated time passes.
    power_w
        Excitation power at the sample, W: the model's ``<N>`` (or CW pump rate) follows from
        its ``[excitation] saturation_power``.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ConfigError(f"seed must be a whole number from 0 to 2**63 - 1, got {seed!r}")
    config = model if isinstance(model, SimConfig) else resolve_config(model)
    if power_w is not None:
        config = at_power(config, power_w)
    if config.scan is not None and config.scan.parked:
        config = parked_config(config)
    elif config.scan is not None:
        return ScanRun(config, duration=duration, seed=seed, realtime=realtime)
    return SimulatedRun(config, duration=duration, seed=seed, realtime=realtime)


__all__ = [
    "ConfigError",
    "ScanRun",
    "SimConfig",
    "SimulatedRun",
    "load_config",
    "preset_names",
    "resolve_config",
    "simulate",
]
