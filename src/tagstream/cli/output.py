"""Writing result files from the command line: never over a user's file without ``--force``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..store.paths import check_target


def check_writable(path: str | os.PathLike, force: bool) -> Path:
    """Refuse to overwrite an existing file unless ``force``; check the folder exists."""
    return check_target(path, force)


def write_json(path: str | os.PathLike, data: Any, force: bool) -> Path:
    out = check_target(path, force)
    tmp = out.with_name(f".{out.name}.partial")
    tmp.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")
    tmp.replace(out)
    return out
