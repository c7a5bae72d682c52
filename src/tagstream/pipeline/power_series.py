"""An excitation power series at the setup: one live run per step of the laser's power or the
filter wheel, with the power meter read before and after each, into one folder with an index
(:mod:`.series_index`); a dark-count step with the shutter closed first when there is one."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import OutputExistsError, TagstreamError
from ..sources.factory import open_source
from .instruments import open_instruments, readings
from .live_run import LivePipeline
from .series_config import SeriesConfig
from .series_index import INDEX, MADE_BY, write_index

#: Runs one step's pipeline for ``duration_ps`` (the command line adds its views); the file.
StepRunner = Callable[[LivePipeline, int], Path]
#: Relative change of the meter's reading during a step above which the step is flagged.
DRIFT = 0.05


def check_series_folder(folder: Path, force: bool) -> None:
    """A series folder must be new or empty, or ``force`` given (its runs are then replaced)."""
    if folder.exists() and not folder.is_dir():
        raise TagstreamError(f"{folder}: exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise OutputExistsError(folder)


def step_names(config: SeriesConfig) -> list[tuple[str, Any, bool]]:
    """``(run file name, value, dark)`` of every step: the dark step first (when there is a
    shutter), then one per value."""
    s = config.series
    names = [("step-00-dark.h5", s.values[0], True)] if s.shutter else []
    return names + [(f"step-{i + 1:02d}.h5", v, False) for i, v in enumerate(s.values)]


def run_series(
    config: SeriesConfig, folder: Path, run_step: StepRunner, force: bool = False,
    said: Callable[[str], None] = print,
) -> dict[str, Any]:  # fmt: skip
    """Record the series of ``config`` into ``folder``; returns its index (also written to
    ``folder/series.json`` after every step, so a series stopped half-way keeps what it did).

    Every value is checked against the stepped instrument's settings before the first step.
    """
    s = config.series
    check_series_folder(folder, force)
    index: dict[str, Any] = {
        "made_by": MADE_BY, "version": __version__, "instrument": s.instrument,
        "setting": s.setting, "meter": s.meter, "shutter": s.shutter,
        "duration_s": s.duration_ps / 1e12, "config": config.text, "steps": [],
    }  # fmt: skip
    with ExitStack() as stack:
        devices = open_instruments(config.run.instruments, stack)
        check_steps(config, devices)  # refused before anything is recorded
        folder.mkdir(parents=True, exist_ok=True)
        try:
            names = step_names(config)
            for i, (name, value, dark) in enumerate(names):
                what = "dark, shutter closed" if dark else f"{s.setting} = {value}"
                said(f"step {i + 1}/{len(names)}: {name} ({what})")
                step = _one_step(config, devices, folder / name, value, dark, run_step, i)
                index["steps"].append({"file": name, **step})
                write_index(folder, index)
                if step["lost"]:
                    raise TagstreamError(
                        f"{folder / name}: {step['lost']}; the series stopped there, "
                        f"{folder / INDEX} lists the steps done"
                    )
        finally:
            if s.shutter:  # the dot rests in the dark after the series
                devices[s.shutter].configure(open=False)
    return index


def check_steps(config: SeriesConfig, devices: dict) -> None:
    """Everything the series will ask, asked before it records: every value accepted by the
    stepped instrument, a shutter that opens and closes, a meter that reads a power, and a
    source that opens (a simulated dot on its bench: at every step's power).

    Raises
    ------
    TagstreamError
        One line naming the instrument, setting or value refused.
    """
    s = config.series
    stepped = devices[s.instrument]
    for value in s.values:
        stepped.check(**{s.setting: value})
    if s.shutter and "open" not in devices[s.shutter].SETTINGS:
        raise TagstreamError(f"[series] shutter = {s.shutter!r}: {devices[s.shutter].NAME} is "
                             "not a shutter (no setting 'open')")  # fmt: skip
    if s.meter and not isinstance(devices[s.meter].readings().get("power_w"), (int, float)):
        raise TagstreamError(f"[series] meter = {s.meter!r}: {devices[s.meter].NAME} reads no "
                             "power (power_w)")  # fmt: skip
    emulated = config.run.instruments[s.instrument].device.startswith("simulated-")
    values = s.values if emulated else s.values[:1]  # hardware is not swept before the series
    try:
        for value in values:  # an emulated bench: through every step's power, nothing recorded
            if emulated:
                stepped.configure(**{s.setting: value})
            with open_source(config.run.source, None):
                pass
    finally:
        if emulated:
            stepped.configure(**{s.setting: s.values[0]})


def _one_step(
    config: SeriesConfig, devices: dict, path: Path, value: Any, dark: bool, run_step: StepRunner,
    index: int,
) -> dict[str, Any]:  # fmt: skip
    """Set the instruments for one step, read the meter, record the run, read it again."""
    s = config.series
    devices[s.instrument].configure(**{s.setting: value})
    if s.shutter:
        devices[s.shutter].configure(open=not dark)
    time.sleep(s.settle_s)
    before = readings(devices, config.run.instruments)
    # a simulated dot is a new draw at every step (seed + step), as a real dot's blinking is
    settings = dataclasses.replace(config.run.source, seed=config.run.source.seed + index)
    with open_source(settings, None) as source:
        settings = {**source.metadata.settings, "instruments": before,
                    "series_step": {"value": value, "dark": dark}}  # fmt: skip
        source.metadata = dataclasses.replace(source.metadata, settings=settings)
        output = dataclasses.replace(config.run.output, path=str(path), force=True)
        pipeline = LivePipeline.from_config(source, config.run, output)
        run_step(pipeline, s.duration_ps)
        lost = source.lost
    after = readings(devices, config.run.instruments)
    step: dict[str, Any] = {"value": value, "dark": dark, "lost": lost or None}
    if s.meter:
        p0, p1 = before[s.meter].get("power_w"), after[s.meter].get("power_w")
        if isinstance(p0, (int, float)) and isinstance(p1, (int, float)):
            step["power_w"] = 0.5 * (p0 + p1)
            step["power_before_w"], step["power_after_w"] = p0, p1
            drift = abs(p1 - p0) / max(abs(step["power_w"]), 1e-30)
            step["note"] = (f"the power changed by {drift:.0%} during the step"
                            if drift > DRIFT and not dark else None)  # fmt: skip
    step["readings"] = before
    return step
