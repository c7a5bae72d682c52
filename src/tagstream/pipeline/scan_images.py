"""Scan images of recorded runs (``ts.image``, ``tagstream image``): every batch of a run
through the image builder, with the image settings of a config's ``[image]`` table."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..analysis.scan_image import ScanImage
from ..analysis.scan_imager import ScanImager
from ..analysis.scan_settings import OPTIONS, scan_settings
from ..errors import RunFileError
from ..sources.files import open_run
from ..sources.run import Run
from ..tags import TagBatch


def image(
    source: str | os.PathLike | Run | TagBatch,
    progress: Callable[[int], object] | None = None,
    **settings: Any,
) -> ScanImage:
    """The scan image of a run file, a run or a batch, from its markers.

    Parameters
    ----------
    source
        A PTU, Photon-HDF5 or tagstream file, an open run, or one batch.
    progress
        Called with the end (ps) of each batch done.
    **settings
        Over the file's image header: ``pixels_x``, ``pixels_y``, ``line_start``,
        ``line_stop``, ``frame`` (marker channels), ``bidirectional``, ``pixel_time`` (without
        a line-stop marker), ``pixel_size_um``, ``channels`` (imaged), ``decay_bin``.
    """
    if isinstance(source, TagBatch):
        return _image(source.metadata, [source], settings, progress)
    if isinstance(source, Run):
        return _image(source.metadata, source.batches(), settings, progress)
    with open_run(source) as run:
        return _image(run.metadata, run.batches(), settings, progress)


def _image(metadata, batches, settings: Mapping[str, Any], progress) -> ScanImage:
    imager = ScanImager(scan_settings(metadata, settings), metadata)
    for batch in batches:
        imager.process(batch)
        if progress is not None:
            progress(batch.t_end)
    return imager.result()


def load_image_settings(config: str | os.PathLike | None) -> dict[str, Any]:
    """The ``[image]`` table of a TOML config (empty without one); a bad one is a
    :class:`RunFileError` naming the file."""
    if config is None:
        return {}
    file = Path(config)
    try:
        table = tomllib.loads(file.read_text()).get("image", {})
    except FileNotFoundError as exc:
        raise RunFileError(file, "no such file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RunFileError(file, f"not valid TOML: {exc}") from None
    if not isinstance(table, dict):
        raise RunFileError(file, "[image] must be a table")
    unknown = sorted(set(table) - set(OPTIONS))
    if unknown:
        raise RunFileError(file, f"[image]: unknown setting {unknown[0]!r}; known: "
                                 f"{', '.join(OPTIONS)}")  # fmt: skip
    return dict(table)


__all__ = ["image", "load_image_settings"]
