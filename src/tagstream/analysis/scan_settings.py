"""How a run's tags make an image: the pixel grid and which channels are the scanner's markers,
from the file's image header (``ImgHdr_*``, see :mod:`~tagstream.formats.scan_spec`) and the
user's settings, which win."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import AnalysisError
from ..formats import scan_spec
from ..formats.pq_spec import MARKER_BASE
from ..kernels.scan import COUNTED, FRAME, LINE_START, LINE_STOP
from ..tags import ChannelMap, Role, RunMetadata, parse_time
from ..tags.metadata import N_CHANNELS
from .channels import resolve_many

#: Settings a user may give (``ts.image(..., **settings)``, ``[image]`` in a config).
OPTIONS = ("pixels_x", "pixels_y", "line_start", "line_stop", "frame", "bidirectional",
           "pixel_time", "pixel_size_um", "channels", "decay_bin")  # fmt: skip

#: The finest decay cube: bins per laser period at most.
MAX_DECAY_BINS = 256
#: Largest decay cube, pixels x bins.
MAX_CUBE = 64_000_000


@dataclass(frozen=True)
class ScanSettings:
    """The grid and markers of a scan.

    Attributes
    ----------
    pixels_x, pixels_y
        Pixels per line, lines per frame.
    line_start, line_stop, frame
        Channel numbers carrying each marker (several when markers share records).
    counted
        Channel numbers of the photons imaged.
    bidirectional
        Every second line runs backwards.
    pixel_time_ps
        Pixel dwell, ps, used when there is no line-stop marker (else 0: lines split between
        their markers).
    pixel_size_um
        Pixel size, µm, if known.
    origin_um
        Stage position of the image's corner (``ImgHdr_X0``, ``ImgHdr_Y0``), µm.
    decay_bin_ps
        Bin of the per-pixel decay histograms, ps (``None``: chosen from the period).
    notes
        What the header said that the image does not follow.
    """

    pixels_x: int
    pixels_y: int
    line_start: tuple[int, ...]
    line_stop: tuple[int, ...]
    frame: tuple[int, ...]
    counted: tuple[int, ...]
    bidirectional: bool = False
    pixel_time_ps: int = 0
    pixel_size_um: float | None = None
    decay_bin_ps: float | None = None
    origin_um: tuple[float, float] = (0.0, 0.0)
    notes: tuple[str, ...] = field(default=())

    def flag_table(self) -> np.ndarray:
        """int64[256]: each channel's flags for :func:`~tagstream.kernels.scan.scan_pixels`."""
        flags = np.zeros(N_CHANNELS, dtype=np.int64)
        flags[list(self.counted)] = COUNTED
        for numbers, bit in ((self.line_start, LINE_START), (self.line_stop, LINE_STOP),
                             (self.frame, FRAME)):  # fmt: skip
            for c in numbers:
                flags[c] = (flags[c] & ~COUNTED) | bit
        return flags

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "pixels_x": self.pixels_x, "pixels_y": self.pixels_y,
            "line_start": list(self.line_start), "line_stop": list(self.line_stop),
            "frame": list(self.frame), "counted": list(self.counted),
            "bidirectional": self.bidirectional, "pixel_time_ps": self.pixel_time_ps,
            "pixel_size_um": self.pixel_size_um, "decay_bin_ps": self.decay_bin_ps,
        }  # fmt: skip


def scan_settings(metadata: RunMetadata | None, given: Mapping[str, Any] | None = None
                  ) -> ScanSettings:  # fmt: skip
    """The scan of a run: its image header, overridden by ``given`` (keys :data:`OPTIONS`).

    Raises
    ------
    AnalysisError
        Unknown settings, or what the grid or markers need is neither in the header nor given.
    """
    given = dict(given or {})
    unknown = sorted(set(given) - set(OPTIONS))
    if unknown:
        raise AnalysisError(f"image: unknown setting {unknown[0]!r}; known: {', '.join(OPTIONS)}")
    channels = None if metadata is None else metadata.channels
    header = {} if metadata is None else dict(metadata.settings.get(scan_spec.SETTINGS_KEY) or {})
    notes: list[str] = []
    nx = _count(given, header, "pixels_x", "ImgHdr_PixX")
    ny = _count(given, header, "pixels_y", "ImgHdr_PixY")
    markers = {}
    for key, tag in zip(("line_start", "line_stop", "frame"), scan_spec.MARKER_TAGS, strict=True):
        markers[key] = _marker(given, header, key, tag, channels)
    if not markers["line_start"]:
        raise AnalysisError("image: no line-start marker: give line_start (a marker channel), "
                            "or read a file whose header has ImgHdr_LineStart")  # fmt: skip
    pixel_time = 0
    if not markers["line_stop"]:
        pixel_time = _pixel_time(given, header)
    elif "pixel_time" in given:
        notes.append("pixel_time is not used: lines are split between their start and stop "
                     "markers")  # fmt: skip
    sine = header.get("ImgHdr_SinCorrection")
    if isinstance(sine, int | float) and sine:
        notes.append(f"the header's ImgHdr_SinCorrection ({sine} %) is not applied: pixels "
                     "split each line's time equally, so a resonant scan's edges are "
                     "stretched")
    bidirectional = _flag(given, header)
    size = _positive(given, "pixel_size_um", header.get("ImgHdr_PixResol"))
    origin = tuple(float(header[t]) if _is_number(header.get(t)) else 0.0
                   for t in ("ImgHdr_X0", "ImgHdr_Y0"))  # fmt: skip
    counted = tuple(resolve_many(given.get("channels"), channels))
    markers_all = {c for v in markers.values() for c in v}
    if markers_all & set(counted):
        raise AnalysisError("image: a marker channel is also listed among the imaged channels")
    decay_bin = given.get("decay_bin")
    if decay_bin is not None and parse_time(decay_bin, "decay_bin") <= 0:
        raise AnalysisError(f"image: decay_bin must be positive, got {decay_bin!r}")
    return ScanSettings(
        pixels_x=nx, pixels_y=ny, counted=counted, bidirectional=bidirectional,
        pixel_time_ps=pixel_time, pixel_size_um=size,
        decay_bin_ps=None if decay_bin is None else float(parse_time(decay_bin, "decay_bin")),
        origin_um=origin, notes=tuple(notes), **markers,
    )  # fmt: skip


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _flag(given: Mapping, header: Mapping) -> bool:
    """``bidirectional``: true or false (the header's 0 or 1)."""
    value = given.get("bidirectional", header.get("ImgHdr_BiDirect", False))
    if isinstance(value, bool | np.bool_) or value in (0, 1):
        return bool(value)
    raise AnalysisError(f"image: bidirectional must be true or false, got {value!r}")


def _positive(given: Mapping, key: str, default: object) -> float | None:
    """A positive number given (an error otherwise), else the header's if it is one."""
    if key in given:
        value = given[key]
        if not _is_number(value) or not value > 0:
            raise AnalysisError(f"image: {key} must be a positive number, got {value!r}")
        return float(value)
    return float(default) if _is_number(default) and default > 0 else None


def _count(given: Mapping, header: Mapping, key: str, tag: str) -> int:
    value = given.get(key, header.get(tag))
    if value is None:
        raise AnalysisError(f"image: {key} is not in the file's header ({tag}); give it")
    whole = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if not whole or not 1 <= value <= 65536:
        raise AnalysisError(f"image: {key} must be a whole number from 1 to 65536, got {value!r}")
    return int(value)


def _marker(given: Mapping, header: Mapping, key: str, tag: str,
            channels: ChannelMap | None) -> tuple[int, ...]:  # fmt: skip
    """Channels of one marker: as given (names or numbers), else every marker channel whose
    PicoQuant bit mask holds the header's input bit."""
    if key in given:
        value = given[key]
        if value is None or value == []:
            return ()
        keys: Sequence = value if isinstance(value, list | tuple) else [value]
        return tuple(resolve_many(list(keys), channels))
    number = header.get(tag)
    if number is None or isinstance(number, bool) or not isinstance(number, int) or number == 0:
        return ()
    try:
        bit = scan_spec.marker_mask(number)
    except ValueError:
        raise AnalysisError(f"image: the header's {tag} = {number} is not a marker input "
                            "(1..4)") from None  # fmt: skip
    if channels is None:
        return ()
    return tuple(c.number for c in channels.with_role(Role.MARKER)
                 if MARKER_BASE < c.number < MARKER_BASE + 16
                 and (c.number - MARKER_BASE) & bit)  # fmt: skip


def _pixel_time(given: Mapping, header: Mapping) -> int:
    if "pixel_time" in given:
        value = parse_time(given["pixel_time"], "pixel_time")
    else:
        ms = header.get("ImgHdr_TimePerPixel")
        if not isinstance(ms, int | float) or isinstance(ms, bool) or ms <= 0:
            raise AnalysisError("image: no line-stop marker and no pixel time: give line_stop "
                                "or pixel_time")  # fmt: skip
        value = round(float(ms) * 1e9)
    if value <= 0:
        raise AnalysisError("image: pixel_time must be positive")
    return int(value)
