"""The one place where a source is made from a name or a config.

A run config's ``[source]`` (:class:`SourceSettings`) names the simulator (a preset, or a TOML
file), a recorded file (replayed at a pace) or a hardware time tagger (an adapter of
:mod:`.device_registry`, loaded by name); :func:`open_source` turns it into a :class:`Run`. The
command line, the Python API (``ts.simulate``) and the benchmarks ask here for simulations:
nothing outside the simulator itself imports :mod:`.simulator` (an import contract in
``pyproject.toml`` checks it). The simulator is imported when first asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..tags import parse_time
from .run import Run

if TYPE_CHECKING:
    from .simulator import SimConfig, SimulatedRun


@dataclass(frozen=True)
class SourceSettings:
    """Where a run's tags come from: exactly one of ``simulator`` (a preset name or a TOML
    file, with ``seed`` and ``realtime``), ``file`` (a recorded run, replayed at ``speed``) or
    ``device`` (an adapter's name, opened on ``address`` with ``options`` and configured with
    ``settings``); ``duration`` bounds the run. A simulator with ``bench`` takes its excitation
    from that simulated bench's power at the sample when it is opened
    (:mod:`.optical_bench`)."""

    simulator: str | None = None
    file: Path | None = None
    device: str | None = None
    address: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    realtime: bool = True
    duration: str | None = None
    speed: float | None = 1.0
    bench: str | None = None


def open_source(settings: SourceSettings, duration: str | None = None) -> Run:
    """The run ``settings`` describe, stopped after ``duration`` of data time where the source
    has no end of its own (None: a device runs until stopped, a simulation as long as its
    model says, a file to its end).

    Raises
    ------
    DeviceError
        An adapter that is unknown, not a time tagger, misses its vendor library, or cannot
        reach its device.
    ConfigError, RunFileError
        A simulator model or a file that cannot be used.
    """
    if settings.device is not None:
        return _device_run(settings, duration)
    if settings.simulator is not None:
        power_w = None
        if settings.bench is not None:
            from .optical_bench import bench

            power_w = bench(settings.bench).power_at_sample_w()
        return simulate(
            settings.simulator,
            duration=duration,
            seed=settings.seed,
            realtime=settings.realtime,
            power_w=power_w,
        )
    from .files import open_run
    from .paced import PacedRun

    return PacedRun(open_run(settings.file), settings.speed)


def _device_run(settings: SourceSettings, duration: str | None) -> Run:
    """Adapter ``settings.device`` opened as a time tagger and run as a :class:`DeviceRun`
    (closed again if the run cannot be set up)."""
    from .device import DeviceRun
    from .device_registry import open_device

    device = open_device(settings.device, settings.address, "tagger", **settings.options)
    try:
        return DeviceRun(
            device,
            settings.settings,
            None if duration is None else parse_time(duration, "duration"),
            name=settings.device,
        )
    except BaseException:
        device.close()
        raise


def simulate(
    model: str | Path | Mapping[str, Any] | SimConfig = "cspbi3-10nm",
    duration: str | int | None = "10 s",
    seed: int = 0,
    realtime: bool = False,
    power_w: float | None = None,
) -> SimulatedRun:
    """A simulated run: :func:`tagstream.sources.simulator.simulate` (its parameters), the
    one way in to the simulator from outside ``sources``."""
    from .simulator import simulate as simulate_model

    return simulate_model(model, duration=duration, seed=seed, realtime=realtime, power_w=power_w)


def simulator_config(model: str | Path | Mapping[str, Any]) -> SimConfig:
    """A simulator preset's name, a TOML file or a dict as a checked
    :class:`~tagstream.sources.simulator.SimConfig` (to change before :func:`simulate`)."""
    from .simulator import resolve_config

    return resolve_config(model)


def simulator_presets() -> list[str]:
    """Names of the simulator presets."""
    from .simulator import preset_names

    return preset_names()
