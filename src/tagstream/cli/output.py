"""Writing result files from the command line: never over a user's file without ``--force``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import TagstreamError


def check_writable(path: str | os.PathLike, force: bool) -> Path:
    """Refuse to overwrite an existing file unless ``force``; check the folder exists."""
    out = Path(path)
    if out.exists() and not force:
        raise TagstreamError(f"{out}: file exists; use --force to overwrite it")
    if not out.parent.exists():
        raise TagstreamError(f"{out}: folder {out.parent} does not exist")
    return out


def write_json(path: str | os.PathLike, data: Any, force: bool) -> Path:
    out = check_writable(path, force)
    tmp = out.with_name(out.name + ".partial")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(out)
    return out
