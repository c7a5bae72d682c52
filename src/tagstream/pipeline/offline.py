"""Offline jobs: summarise a recorded or simulated run."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..analysis.summary import RunSummary, SummarySettings, summarize
from ..errors import RunFileError, TagstreamError
from ..sources.files import open_run
from ..sources.run import Run

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
        return SummarySettings.from_dict(table)
    except TagstreamError as exc:
        raise TagstreamError(f"{file}: [analysis] {exc}") from None


def analyze_run(
    run: Run, name: str, settings: SummarySettings | None = None, progress: Progress | None = None
) -> RunSummary:
    """The summary of a run: one pass over its batches, then the fits."""
    return summarize(
        run.batches(), run.metadata, name, settings, progress=progress, warnings=run.warnings
    )


def summary(path: str | os.PathLike, config: str | os.PathLike | None = None) -> dict[str, Any]:
    """The summary JSON of a run file (PTU, Photon-HDF5 or ours), as ``analyze --json`` writes."""
    settings = load_analysis_settings(config)
    with open_run(path) as run:
        return analyze_run(run, str(path), settings).to_dict()
