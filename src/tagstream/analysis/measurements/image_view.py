"""The live web view's panel of a scan image: the count rate per pixel, with the lines and
photons so far."""

from __future__ import annotations

import numpy as np

from ..scan_image import ScanImage
from ..series import RecordedSeries
from ..view_panel import Figure, Number, ViewPanel, shown_span

#: Most pixels per axis sent to the page (finer images are binned).
MAX_PIXELS = 200


def image_panel(image: ScanImage, series: RecordedSeries, partial: bool) -> ViewPanel:
    """The intensity image (kcps, pixels binned to at most :data:`MAX_PIXELS` per axis)."""
    ny, nx = image.shape
    factor = max(1, -(-max(nx, ny) // MAX_PIXELS))
    my, mx = ny // factor, nx // factor
    rate = image.rate_cps[: my * factor, : mx * factor].reshape(my, factor, mx, factor)
    z = rate.mean(axis=(1, 3)) / 1e3
    size = image.settings.pixel_size_um
    scale, unit = (size, "µm") if size else (1.0, "px")
    x = (np.arange(mx) * factor + (factor - 1) / 2) * scale
    y = (np.arange(my) * factor + (factor - 1) / 2) * scale
    fig = Figure(f"x ({unit})", f"y ({unit})")
    fig.heatmap(x, y, z, "kcps")
    notes = list(image.notes)
    if partial:
        notes.append("a scan is shown whole: every line so far, not only the last seconds")
    numbers = (
        Number("image_lines", "lines", float(image.lines), text=f"{image.lines:,}"),
        Number("image_frames", "frame markers", float(image.frames), text=f"{image.frames}"),
        Number("image_photons", "photons placed", float(image.placed), text=f"{image.placed:,}"),
    )
    return ViewPanel("image", "scan image", 47, fig.to_dict(), numbers, tuple(notes),
                     shown_span(series), float(series.wall_time_s[-1]))  # fmt: skip
