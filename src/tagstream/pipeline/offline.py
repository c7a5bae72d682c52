"""Offline jobs: summarise a recorded or simulated run."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.run_analyzers import lifetime_analyzer
from ..analysis.summary import RunSummary, SummarySettings, summarize
from ..analysis.summary_settings import irf_file, resolve_settings
from ..errors import AnalysisError, RunFileError, TagstreamError
from ..sources.files import open_run
from ..sources.run import Run
from ..sources.virtual_run import virtual_definitions, with_virtual_channels
from ..tags import RunMetadata

Progress = Callable[[int], None]


def load_analysis_settings(path: str | os.PathLike | None) -> SummarySettings:
    """The ``[analysis]`` table of a TOML config (or the defaults when ``path`` is ``None``)."""
    if path is None:
        return SummarySettings()
    file = Path(path)
    try:
        raw = tomllib.loads(file.read_text())
    except FileNotFoundError as exc:
        raise RunFileError(file, "no such file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RunFileError(file, f"not valid TOML: {exc}") from exc
    table = raw.get("analysis", {})
    if not isinstance(table, dict):
        raise RunFileError(file, "[analysis] must be a table")
    try:
        return with_irf_from(SummarySettings.from_dict(table), file.parent)
    except TagstreamError as exc:
        raise TagstreamError(f"{file}: [analysis] {exc}") from None


def with_irf_from(settings: SummarySettings, folder: Path) -> SummarySettings:
    """``settings`` with a relative IRF file name taken from ``folder`` (a config's)."""
    name = irf_file(settings.irf)
    if name is None or Path(name).expanduser().is_absolute():
        return settings
    return dataclasses.replace(settings, irf=str(folder / name))


def analyze_run(
    run: Run, name: str, settings: SummarySettings | None = None, progress: Progress | None = None
) -> RunSummary:
    """The summary of a run: one pass over its batches, then the fits."""
    settings = settings or SummarySettings()
    irf = measured_irf(settings, run.metadata)
    return summarize(
        run.batches(),
        run.metadata,
        name,
        settings,
        progress=progress,
        warnings=run.warnings,
        irf_counts=irf,
    )


def measured_irf(settings: SummarySettings, metadata: RunMetadata) -> np.ndarray | None:
    """The decay histogram of the IRF file that ``settings.irf`` names, made as the run's
    (same channel — or the IRF file's only detector —, bins, delays and laser period);
    ``None`` when the settings name no file or the run gives no decay.

    Raises
    ------
    TagstreamError
        The file cannot be read, or its histogram cannot match the run's (one line naming it).
    """
    name = irf_file(settings.irf)
    if name is None:
        return None
    resolved, _ = resolve_settings(settings, metadata)
    if resolved.lifetime_channel is None:
        return None
    path = Path(name).expanduser()
    try:
        irf_run = open_run(path)
    except TagstreamError as exc:
        raise AnalysisError(f"[analysis] irf: {exc}") from None
    with irf_run:
        md = irf_run.metadata
        period = metadata.laser_period_ps or metadata.sync_period_ps
        irf_period = md.laser_period_ps or md.sync_period_ps
        if irf_period is None or abs(irf_period - period) > IRF_PERIOD_TOLERANCE * period:
            shown = "no laser sync" if irf_period is None else f"{irf_period / 1e3:.6g} ns"
            raise AnalysisError(
                f"[analysis] irf {path}: its laser period ({shown}) is not the run's "
                f"({period / 1e3:.6g} ns); measure the IRF at the run's repetition rate"
            )
        channel = _irf_channel(resolved.lifetime_channel, md, path)
        try:
            analyzer = lifetime_analyzer(
                dataclasses.replace(resolved, lifetime_channel=channel), md
            )
            for batch in irf_run.batches():
                analyzer.process(batch)
            counts = analyzer.result().counts
        except AnalysisError as exc:
            raise AnalysisError(f"[analysis] irf {path}: {exc}") from None
    if counts.sum() == 0:
        raise AnalysisError(
            f"[analysis] irf {path}: no photons on {channel} in its decay histogram"
        )
    return counts


#: Largest relative difference between the laser periods of a run and of its IRF measurement.
IRF_PERIOD_TOLERANCE = 1e-3


def _irf_channel(channel: str, md: RunMetadata, path: Path) -> str:
    """The run's lifetime channel in the IRF file: by name, else its only detector."""
    names = [c.name for c in md.channels.detectors]
    if channel in names:
        return channel
    if len(names) == 1:
        return names[0]
    raise AnalysisError(
        f"[analysis] irf {path}: no detector named {channel} (it has "
        f"{', '.join(names) or 'none'}); record the IRF on the same detector"
    )


def summary(path: str | os.PathLike, config: str | os.PathLike | None = None) -> dict[str, Any]:
    """The summary JSON of a run file (PTU, Photon-HDF5 or ours), as ``analyze --json`` writes
    (with the config's virtual channels)."""
    settings = load_analysis_settings(config)
    with open_with_channels(path, load_virtual_definitions(config)) as run:
        return analyze_run(run, str(path), settings).to_dict()


def load_virtual_definitions(config: str | os.PathLike | None) -> dict[str, dict[str, Any]]:
    """The virtual channels of a TOML config's ``[channels.virtual]``, checked (none without a
    config); a bad one is a :class:`RunFileError` naming the file."""
    if config is None:
        return {}
    file = Path(config)
    try:
        table = tomllib.loads(file.read_text()).get("channels", {})
        return virtual_definitions(table if isinstance(table, dict) else {})
    except FileNotFoundError as exc:
        raise RunFileError(file, "no such file") from exc
    except (tomllib.TOMLDecodeError, TagstreamError) as exc:
        raise RunFileError(file, str(exc.args[0] if exc.args else exc)) from None


def open_with_channels(path: str | os.PathLike, definitions: dict[str, dict[str, Any]]) -> Run:
    """The run file ``path`` with the virtual channels ``definitions`` (those it does not hold
    already: a run recorded with them keeps the tags it recorded)."""
    run = open_run(path)
    try:
        return with_virtual_channels(run, definitions)
    except BaseException:
        run.close()
        raise
