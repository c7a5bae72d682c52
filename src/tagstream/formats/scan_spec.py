"""Confocal scan images in time-tag files, as PicoQuant's files describe them.

A scanner marks each image line with a *line start* and a *line stop* marker and each new image
with a *frame* marker; the header tags ``ImgHdr_LineStart``, ``ImgHdr_LineStop`` and
``ImgHdr_Frame`` give each marker's input number ``n`` (1..4), whose bit in a marker record's
bit mask is ``1 << (n - 1)``. Several markers may share one record (a frame marker often
coincides with a line start or stop). Between a line's start and stop the scanner moves
linearly, so pixel ``x`` of ``ImgHdr_PixX`` spans an equal share of that time. ``ImgHdr_PixY``
lines make a frame (files may hold more or fewer); ``ImgHdr_BiDirect`` scans every second line
backwards; ``ImgHdr_TimePerPixel`` is the pixel dwell, ms; ``ImgHdr_PixResol`` the pixel size,
µm; ``ImgHdr_SinCorrection`` the percentage of a sine a resonant scanner's line covers.
"""

from __future__ import annotations

#: Header tag -> the scan setting it gives.
IMAGE_TAGS: dict[str, str] = {
    "ImgHdr_PixX": "pixels_x",
    "ImgHdr_PixY": "pixels_y",
    "ImgHdr_LineStart": "line_start",
    "ImgHdr_LineStop": "line_stop",
    "ImgHdr_Frame": "frame",
    "ImgHdr_BiDirect": "bidirectional",
    "ImgHdr_TimePerPixel": "pixel_time_ms",
    "ImgHdr_PixResol": "pixel_size_um",
    "ImgHdr_SinCorrection": "sine_correction_percent",
    "ImgHdr_Dimensions": "dimensions",
    "ImgHdr_Ident": "scanner",
    "ImgHdr_X0": "x0_um",
    "ImgHdr_Y0": "y0_um",
}

#: Header tags of the marker inputs.
MARKER_TAGS = ("ImgHdr_LineStart", "ImgHdr_LineStop", "ImgHdr_Frame")

#: ``ImgHdr_Dimensions`` of an area (x-y) image.
AREA_IMAGE = 3

#: Key of the header's image tags in a run's ``metadata.settings``.
SETTINGS_KEY = "image_header"


def marker_mask(marker_input: int) -> int:
    """The bit of marker input ``marker_input`` (1..4) in a marker record's bit mask."""
    if not 1 <= int(marker_input) <= 4:
        raise ValueError(f"marker input {marker_input} is not in 1..4")
    return 1 << (int(marker_input) - 1)
