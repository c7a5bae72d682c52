"""Writing result files from the command line: never over a user's file without ``--force``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import WriteError
from ..store.paths import check_target


def check_writable(path: str | os.PathLike, force: bool) -> Path:
    """Refuse to overwrite an existing file unless ``force``; check the folder exists."""
    return check_target(path, force)


def write_json(path: str | os.PathLike, data: Any, force: bool) -> Path:
    """Write ``data`` as JSON through a temporary file: ``path`` is replaced only when the
    whole text was written (a full disk leaves no partial file and an error naming ``path``)."""
    out = check_target(path, force)
    tmp = out.with_name(f".{out.name}.partial")
    try:
        tmp.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WriteError(out, f"cannot write the JSON ({exc.strerror or exc})") from None
    return out
