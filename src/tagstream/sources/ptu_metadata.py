"""The run metadata of a PicoQuant file: the channel map, the HBT pair, the sync and laser
periods, the settings; and how long the measurement ran.

Channels
    The sync is channel 0 (in T2 files of the HydraHarp family, and PicoHarp T2 input 0),
    detector inputs keep their front-panel numbers (``ch1``, ``ch2``, ...), marker records with
    bits ``m`` become channel ``64 + m`` (``marker1`` ... ``marker15``). The two busiest detectors
    form the HBT pair. A ``File_Comment`` that starts with tagstream's channel list renames them.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np

from ..formats import pq_spec as spec
from ..formats import scan_spec
from ..formats.pq_spec import RecordFormat
from ..tags import Channel, ChannelMap, Role, RunMetadata
from ..tags.units import PS_PER_S
from .pq_header import PtuHeader
from .ptu_pieces import MAX_TIME_PS
from .ptu_records import Units, is_int, is_number, where

#: Sync rates a header may give, Hz.
SYNC_RANGE_HZ = (1e-3, 1e11)


def ptu_metadata(
    path: Path,
    header: PtuHeader,
    fmt: RecordFormat,
    counts: np.ndarray,
    units: Units,
    warnings: list[str],
) -> tuple[RunMetadata, bool]:
    """The metadata of a file whose tags per channel number are ``counts``, and whether the
    header states a believable sync rate (else a warning in ``warnings``)."""
    present = np.flatnonzero(counts)
    channels = []
    detectors = []
    for number in present:
        number = int(number)
        if number == spec.SYNC_CHANNEL:
            channels.append(Channel(number, "sync", Role.SYNC))
        elif number > spec.MARKER_BASE:
            channels.append(Channel(number, f"marker{number - spec.MARKER_BASE}", Role.MARKER))
        else:
            channels.append(Channel(number, f"ch{number}"))
            detectors.append(number)
    busiest = sorted(detectors, key=lambda c: -counts[c])[:2]
    pair = tuple(f"ch{c}" for c in sorted(busiest)) if len(busiest) == 2 else None
    names = names_from_comment(header.get("File_Comment"))
    if names:
        channels = [dataclasses.replace(c, name=names.get(c.name, c.name)) for c in channels]
        pair = None if pair is None else tuple(names.get(n, n) for n in pair)
    rate = header.get(spec.TAG_SYNC_RATE)
    divider = header.get(spec.TAG_SYNC_DIVIDER)
    divider = divider if is_int(divider) and divider >= 1 else 1
    laser = None  # the rate meter reads the sync input, before the divider
    rate_known = False
    if isinstance(rate, int | float) and not isinstance(rate, bool):
        if SYNC_RANGE_HZ[0] <= rate <= SYNC_RANGE_HZ[1]:
            laser = PS_PER_S / float(rate)
            rate_known = True
        elif rate:
            warnings.append(
                f"{spec.TAG_SYNC_RATE} {where(header, spec.TAG_SYNC_RATE)} = {rate} Hz is not a "
                "sync rate; the sync period is unknown"
            )
    tick_ps, dtime_ps = units.tick_ps, units.dtime_ps
    sync_period = tick_ps if fmt.mode == "T3" else laser and divider * laser
    settings = {
        scan_spec.SETTINGS_KEY: image_header(header),
        "file": str(path),
        "record_type": fmt.name,
        "instrument": fmt.device,
        "sync_rate_hz": rate,
        "sync_divider": header.get(spec.TAG_SYNC_DIVIDER),
    }
    metadata = RunMetadata(
        source=f"PicoQuant {fmt.device} ({header.container})",
        channels=ChannelMap(channels),
        mode=fmt.mode,
        resolution_ps=dtime_ps if fmt.mode == "T3" else tick_ps,
        sync_period_ps=sync_period,
        laser_period_ps=laser,
        nanotime_unit_ps=dtime_ps,
        nanotime_range_ps=dtime_ps * (1 << fmt.dtime_bits) if dtime_ps else None,
        hbt_pair=pair,
        settings={k: v for k, v in settings.items() if v is not None},
    )
    return metadata, rate_known


def image_header(header: PtuHeader) -> dict[str, object] | None:
    """The header's scan-image tags (``ImgHdr_*``) with plain values, ``None`` if it has none."""
    found = {}
    for name in header.tags:
        if name.startswith("ImgHdr_"):
            value = header.get(name)
            if isinstance(value, bool | int | float | str):
                found[name] = value
    return found or None


def acquired_ps(header: PtuHeader, last_ps: int, warnings: list[str]) -> int:
    """How long the measurement ran, ps, where the header says so believably (0
    otherwise): ``TTResult_StopAfter`` (the time it actually ran: a measurement stopped by
    hand or by an overflow ends early), else ``MeasDesc_AcquisitionTime`` (the time it was
    set to run). A value that does not fit the tags (more than ten times the time of the
    last tag, ``last_ps``, plus one second) is a warning."""
    names = (spec.TAG_STOP_AFTER, spec.TAG_ACQUISITION_TIME)
    found = [_header_ms(header, name, last_ps, warnings) for name in names]
    return next((ps for ps in found if ps), 0)


def _header_ms(header: PtuHeader, name: str, last_ps: int, warnings: list[str]) -> int:
    """Header time ``name`` (ms) in ps; 0 when absent, zero or unbelievable (a warning)."""
    value = header.get(name)
    if not is_number(value) or value == 0:
        return 0
    ps = float(value) * 1e9
    if 0 < ps <= min(10 * (last_ps + 1e12), MAX_TIME_PS):
        return int(ps)
    warnings.append(
        f"{name} = {value} ms does not fit the tags (the last at "
        f"{last_ps / 1e12:g} s); the run ends after the last tag"
    )
    return 0


#: One ``NAME=INPUT`` item of the channel list that tagstream's PTU writer puts at the start of
#: ``File_Comment`` (``"A=ch1, B=ch2, laser=sync."``).
_NAMED_INPUT = re.compile(r"([^=,]+)=(ch\d+|sync|marker\d+)")


def names_from_comment(comment: object) -> dict[str, str]:
    """``{reader's name: name}`` from a ``File_Comment`` that starts with tagstream's channel
    list (``"A=ch1, B=ch2, laser=sync."``); empty for any other comment, or names that repeat."""
    if not isinstance(comment, str):
        return {}
    listed, dot, _ = comment.partition(".")
    if not dot:
        return {}
    names = {}
    for item in listed.split(", "):
        match = _NAMED_INPUT.fullmatch(item.strip())
        if match is None:
            return {}
        names[match.group(2)] = match.group(1).strip()
    if len(set(names.values())) != len(names):
        return {}
    return names


def header_lines(header: PtuHeader, fmt: RecordFormat, num_records: int) -> list[str]:
    """The container, record type, record count and every header field, for ``tagstream
    info``."""
    code = f"0x{fmt.code:08X}"
    lines = [
        f"format    {header.container} {header.version}, {fmt.name} records ({code}, "
        f"{fmt.device})",
        f"records   {num_records}",
        "header",
    ]
    for name, value in header.tags.items():
        shown = "" if value is None else f" = {_short(value)}"
        lines.append(f"  {name} ({header.types[name]}){shown}")
    return lines


def _short(value: object) -> str:
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, np.ndarray):
        return np.array2string(value, threshold=8, precision=6)
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "..."
