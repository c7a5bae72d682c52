"""The index of a power series folder, ``series.json``: what was stepped and, per step, its run
file, the setting's value, whether it was the dark step and the power meter's readings."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import RunFileError

INDEX = "series.json"
MADE_BY = "tagstream series"


def write_index(folder: Path, index: dict[str, Any]) -> None:
    """Write ``index`` to ``folder/series.json`` through a temporary file (a series stopped
    half-way keeps the index of its finished steps)."""
    partial = folder / f".{INDEX}.partial"
    partial.write_text(json.dumps(index, indent=1, default=str) + "\n")
    os.replace(partial, folder / INDEX)


def read_index(folder: str | os.PathLike) -> dict[str, Any]:
    """The index of the series in ``folder``, checked: every step names a run file there.

    Raises
    ------
    RunFileError
        No index, or one that is not a series index (one line naming the file and field).
    """
    where = Path(folder).expanduser()
    path = where / INDEX if where.is_dir() else where
    if not path.exists():
        raise RunFileError(path, "no series index (made by `tagstream series`)")
    try:
        index = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunFileError(path, f"not a series index ({exc})") from None
    if not isinstance(index, dict) or index.get("made_by") != MADE_BY:
        raise RunFileError(path, "made_by: not a series index of `tagstream series`")
    steps = index.get("steps")
    if not isinstance(steps, list):
        raise RunFileError(path, "steps: missing")
    for i, step in enumerate(steps):
        if not isinstance(step, dict) or not isinstance(step.get("file"), str):
            raise RunFileError(path, f"steps[{i}].file: missing")
        if Path(step["file"]).name != step["file"]:
            raise RunFileError(path, f"steps[{i}].file: must be a file in the series folder")
        power = step.get("power_w")
        if power is not None and not isinstance(power, (int, float)):
            raise RunFileError(path, f"steps[{i}].power_w: not a number")
    index["folder"] = str(path.parent)
    return index
