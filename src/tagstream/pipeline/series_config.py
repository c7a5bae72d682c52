"""The configuration of an excitation power series (``tagstream series CONFIG``): a run config
(``[source]``, ``[instruments.*]``, ``[analysis]``, ``[output]``, ``[pipeline]``) and a
``[series]`` table::

    [series]
    instrument = "laser"            # the instrument stepped ([instruments.laser]) ...
    setting = "power_percent"       # ... through this setting's values, one run each
    values = [2, 4, 8, 15, 30, 50, 75, 100]
    meter = "power"                 # optional: the power meter, read before and after each step
    shutter = "shutter"             # optional: closed for a dark-count step first, and at the end
    duration = "10 s"               # data time of each step
    settle = "0.5 s"                # wait after each change before the meter is read
    folder = "series"               # where the runs and series.json go (-o overrides)

A filter wheel steps the same way (``instrument = "nd_wheel"``, ``setting = "position"``,
``values = [6, 5, 4, 3, 2, 1]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import TagstreamError
from ..tags import parse_time
from .run_config import RunConfig, RunConfigError, parse_run_config, read_toml

KEYS = ("instrument", "setting", "values", "meter", "shutter", "duration", "settle", "folder")


@dataclass(frozen=True)
class SeriesSettings:
    """The ``[series]`` table: what is stepped, through which values, for how long each."""

    instrument: str
    setting: str
    values: tuple[Any, ...]
    duration_ps: int
    meter: str | None = None
    shutter: str | None = None
    settle_s: float = 0.5
    folder: str = "series"


@dataclass(frozen=True)
class SeriesConfig:
    """A power series: its steps and the run config each step is recorded with."""

    series: SeriesSettings
    run: RunConfig
    text: str


def load_series_config(path: str | Path, duration: str | None = None) -> SeriesConfig:
    """Read and check a series config; ``duration`` (``--duration``) replaces its
    ``[series] duration``.

    Raises
    ------
    RunConfigError
        A missing or wrong ``[series]`` setting, or an instrument it names that the config
        does not have (one line naming the file and the setting).
    """
    file = Path(path)
    raw, text = read_toml(file)
    try:
        table = raw.pop("series", None)
        if not isinstance(table, dict):
            raise RunConfigError("[series] is missing (instrument = ..., setting = ..., values)")
        run = parse_run_config(raw, file.parent, text)
        series = _series(table, run, duration)
    except TagstreamError as exc:
        raise RunConfigError(f"{file}: {exc}") from None
    return SeriesConfig(series, run, text)


def _series(table: dict[str, Any], run: RunConfig, duration: str | None) -> SeriesSettings:
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise RunConfigError(f"[series] {unknown[0]}: unknown setting; known: {', '.join(KEYS)}")
    for key in ("instrument", "setting", "values"):
        if key not in table:
            raise RunConfigError(f"[series] {key} is missing")
    labels = {k: table.get(k) for k in ("instrument", "meter", "shutter")}
    for key, label in labels.items():
        if label is not None and label not in run.instruments:
            known = ", ".join(sorted(run.instruments)) or "none"
            raise RunConfigError(
                f"[series] {key} = {label!r}: no [instruments.{label}] (instruments: {known})"
            )
    values = table["values"]
    if not isinstance(values, list) or not values:
        raise RunConfigError("[series] values: give a list of the setting's values, one per step")
    given = duration or table.get("duration") or run.source.duration
    if given is None:
        raise RunConfigError("[series] duration is missing (the data time of each step)")
    duration_ps = parse_time(given, "[series] duration")
    settle_ps = parse_time(table.get("settle", "0.5 s"), "[series] settle")
    if duration_ps <= 0 or settle_ps < 0:
        raise RunConfigError("[series] duration must be positive and settle not negative")
    folder = table.get("folder", "series")
    if not isinstance(folder, str) or not folder:
        raise RunConfigError("[series] folder: give a folder name")
    return SeriesSettings(
        instrument=str(table["instrument"]),
        setting=str(table["setting"]),
        values=tuple(values),
        duration_ps=duration_ps,
        meter=labels["meter"],
        shutter=labels["shutter"],
        settle_s=settle_ps / 1e12,
        folder=folder,
    )
