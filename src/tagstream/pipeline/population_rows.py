"""One row of a population table: a run file's summary (as ``analyze --json`` gives it) flattened
into columns, with the file's content hash, the settings' hash and the error that stopped it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._version import __version__
from ..analysis.parallel import use_threads
from ..analysis.summary_settings import SummarySettings
from ..errors import TagstreamError
from ..sources.files import open_run
from .allocator import reuse_freed_memory
from .offline import analyze_run

#: The columns every row has, first.
KEY_COLUMNS = ("file", "error", "content_sha256", "settings_sha256")
_CHUNK_BYTES = 1 << 20


def flat_row(summary: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``summary`` flattened: nested keys joined by ``.`` (``g2.g2_zero``), a list of numbers as
    one column per element (``lifetime.tau_ns.0``), any other list as JSON text (``warnings``,
    ``gaps``, ``g2.pair``), numbers as floats (``None`` for not-a-number)."""
    row: dict[str, Any] = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            row.update(flat_row(value, f"{name}."))
        elif isinstance(value, (list, tuple)) and value and all(_number(v) for v in value):
            row.update({f"{name}.{i}": _cell(v) for i, v in enumerate(value)})
        elif isinstance(value, (list, tuple)):
            row[name] = json.dumps(value) if value else None
        else:
            row[name] = _cell(value)
    return row


def _number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _cell(value: Any) -> Any:
    """A table cell: numbers (not booleans) as floats, NaN as ``None``."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        number = float(value)
        return None if math.isnan(number) else number
    return str(value)


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (read a megabyte at a time), hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def settings_sha256(settings: SummarySettings) -> str:
    """SHA-256 of the analysis settings and this version of tagstream (a row made with other
    settings or another version is made again), hex."""
    text = json.dumps(
        {"version": __version__, "settings": dataclasses.asdict(settings)}, sort_keys=True,
        default=str,
    )  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()


def file_row(
    path: str, digest: str | None = None, *, settings: SummarySettings, settings_key: str,
    threads: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The row of the run file ``path``: its flattened summary, or its error (a file that
    cannot be read or analysed is a row that says why, never a failed batch); ``digest``: its
    content hash when already known; ``threads``: the analysis threads of this process (a
    batch analyses one file per worker and core: 1)."""
    reuse_freed_memory()  # as the live pipeline does: no page faults for every fresh array
    use_threads(threads)
    row: dict[str, Any] = {"file": path, "error": None, "content_sha256": None,
                           "settings_sha256": settings_key}  # fmt: skip
    try:
        row["content_sha256"] = digest or file_sha256(path)
        with open_run(path) as run:
            summary = analyze_run(run, path, settings).to_dict()
    except TagstreamError as exc:
        row["error"] = str(exc)
        return row
    except OSError as exc:
        row["error"] = f"{path}: {exc.strerror or exc}"
        return row
    except Exception as exc:  # a fault of ours: the row says so, the batch goes on
        row["error"] = f"{path}: analysis failed ({type(exc).__name__}: {exc})"
        return row
    return {**row, **flat_row(summary)}
