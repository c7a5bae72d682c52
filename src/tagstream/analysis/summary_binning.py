"""The bins and windows of the run summary's histograms: the default g2 lag window and bin (from
the laser period), the default decay bin (from the period and the T3 nanotime unit), and those of
a run from its settings and metadata, within the largest histogram the pipeline carries. Times in
ps."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..errors import AnalysisError
from ..tags import RunMetadata, parse_time

if TYPE_CHECKING:
    from .summary_settings import SummarySettings

#: g2 under CW excitation (or pulsed with an unknown period): lag window each side and bin, ps.
CW_WINDOW_PS = 100_000
CW_BIN_PS = 100
#: Pulsed g2: the window reaches at least this many laser periods each side ...
PULSED_WINDOW_PERIODS = 3.5
#: ... in bins of about a period / this number.
PULSED_BINS_PER_PERIOD = 250
#: Decay histogram: bin width, ps, coarsened so that one period holds at most LIFETIME_MAX_BINS.
LIFETIME_BIN_PS = 16
LIFETIME_MAX_BINS = 4096
#: Most bins of a g2 or decay histogram (2**22: each live snapshot sends it as one message part
#: of 32 MiB, within the pipeline's 64 MiB per part, and the live view evaluates it every
#: second), and the shortest trace (and FLID) bin, ps: a trace keeps a bin per bin width of
#: run time.
MAX_HISTOGRAM_BINS = 1 << 22
MIN_TRACE_BIN_PS = 10**7


def default_g2_binning(period_ps: float | None) -> tuple[int, int]:
    """Default g2 lag window (each side) and bin width, ps.

    Pulsed (``period_ps`` given): bin = period / 250 rounded to whole ps (at least 1), window =
    the smallest whole number of bins reaching 3.5 periods. CW: ±100 ns in 100 ps bins.
    """
    if period_ps is None:
        return CW_WINDOW_PS, CW_BIN_PS
    width = max(1, round(period_ps / PULSED_BINS_PER_PERIOD))
    return math.ceil(PULSED_WINDOW_PERIODS * period_ps / width) * width, width


def default_lifetime_bin(period_ps: float | None, unit_ps: float | None = None) -> int:
    """Default decay bin width, ps: 16 ps, widened so that a period holds at most 4096 bins,
    then (T3) raised to the nearest whole multiple of the nanotime unit ``unit_ps`` that is a
    whole number of ps."""
    target = float(LIFETIME_BIN_PS)
    if period_ps is not None:
        target = max(target, period_ps / LIFETIME_MAX_BINS)
    if unit_ps is None:
        return math.ceil(target - 1e-9)
    first = max(1, math.ceil(target / unit_ps - 1e-9))
    for k in range(first, first + 10_000):
        width = k * unit_ps
        if abs(width - round(width)) <= 1e-9 * width:
            return round(width)
    raise AnalysisError(
        f"lifetime: no whole-ps bin is a multiple of the nanotime unit ({unit_ps:g} ps)"
    )


def _largest_divisor(total: int, at_most: int) -> int:
    for width in range(max(1, min(at_most, total)), 0, -1):
        if total % width == 0:
            return width
    return 1


def g2_binning(settings: SummarySettings, period_ps: float | None) -> tuple[int, int]:
    """g2 window and bin, ps, from the settings, defaults filling what is not given."""
    pulsed = period_ps is not None and settings.excitation != "cw"
    window, width = default_g2_binning(period_ps if pulsed else None)
    if settings.g2_bin is not None:
        width = parse_time(settings.g2_bin, "g2_bin")
        if settings.g2_window is None:
            window = math.ceil(window / width) * width
    if settings.g2_window is not None:
        window = parse_time(settings.g2_window, "g2_window")
        if settings.g2_bin is None:
            width = _largest_divisor(window, width)
    if window % width:
        raise AnalysisError(f"g2_bin ({width} ps) must divide g2_window ({window} ps)")
    if 2 * window // width > MAX_HISTOGRAM_BINS:
        raise AnalysisError(
            f"g2_window / g2_bin makes {2 * window // width} bins; at most {MAX_HISTOGRAM_BINS}"
        )
    return window, width


def resolve_lifetime_bin(settings: SummarySettings, metadata: RunMetadata) -> int:
    """The decay bin width of a run, ps: the setting, checked against the laser period and the T3
    nanotime unit, or the default."""
    unit = metadata.nanotime_unit_ps if metadata.mode == "T3" else None
    if settings.lifetime_bin is None:
        return default_lifetime_bin(metadata.laser_period_ps or metadata.sync_period_ps, unit)
    width = parse_time(settings.lifetime_bin, "lifetime_bin")
    period = metadata.laser_period_ps or metadata.sync_period_ps
    if period and period / width > MAX_HISTOGRAM_BINS:
        raise AnalysisError(
            f"lifetime_bin ({width} ps) makes {period / width:.0f} bins per laser period; at "
            f"most {MAX_HISTOGRAM_BINS}"
        )
    if unit is not None:
        factor = width / unit
        if abs(factor - round(factor)) > 1e-9 * factor or round(factor) < 1:
            raise AnalysisError(
                f"lifetime_bin ({width} ps) must be a whole multiple of the T3 nanotime unit "
                f"({unit:g} ps)"
            )
    return width
