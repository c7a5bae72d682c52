"""Where results go: never over a user's file without ``--force``."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import OutputExistsError, RunFileError


def check_target(path: str | os.PathLike, force: bool) -> Path:
    """Refuse an existing file unless ``force``, a folder, or a missing parent folder."""
    out = Path(path)
    if out.is_dir():
        raise RunFileError(out, "is a folder; give a file name")
    if out.exists() and not force:
        raise OutputExistsError(out)
    if not out.parent.is_dir():
        raise RunFileError(out, f"folder {out.parent} does not exist")
    if not os.access(out.parent, os.W_OK):
        raise RunFileError(out, f"folder {out.parent} is not writable")
    return out
