"""``tagstream info``: what a run file holds."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np

from ..kernels.channel_counts import channel_counts
from ..pipeline.result_series import read_results
from ..sources.files import open_run
from ..tags import format_frequency, format_time
from ..tags.metadata import N_CHANNELS


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``info`` command (its argument: a run file) to the subcommand parsers ``sub``."""
    p = sub.add_parser("info", help="header, metadata and counts of a run file")
    p.add_argument(
        "file",
        metavar="FILE",
        help="a run file: Photon-HDF5 (tagstream's or other software's) or PicoQuant "
        "PTU, PT2, PT3, HT2, HT3",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the header, metadata, per-channel counts and rates, settings and stored results of
    the run file ``args.file``; returns the exit status (0)."""
    with open_run(args.file) as source:
        md = source.metadata
        status = source.status
        counts, duration, lost = _tally(source)
    print(f"file      {args.file}")
    for line in source.header_lines():
        print(line)
    for text in [*source.warnings, *source.file_warnings()]:
        print(f"warning   {text}")
    if status is not None:
        print(f"status    {status}")  # an incomplete file also has a warning above
    print(f"source    {md.source}   mode {md.mode}   resolution {md.resolution_ps:g} ps")
    print(f"duration  {format_time(duration)}   lost {format_time(lost)}")
    if md.laser_period_ps:
        print(_laser_line(md.laser_period_ps, md.sync_period_ps))
    if md.nanotime_unit_ps:
        print(f"nanotime  unit {md.nanotime_unit_ps:g} ps")
    if md.hbt_pair:
        print(f"HBT pair  {md.hbt_pair[0]}, {md.hbt_pair[1]}")
    seconds = max(duration * 1e-12, 1e-12)
    for ch in md.channels:
        n = int(counts[ch.number])
        print(f"  {ch.number:3d} {ch.name:12s} {ch.role!s:9s} {n:12d} tags  {n / seconds:12.1f} /s")
    if md.settings:
        print("settings")
        for line in settings_lines(md.settings):
            print(line)
    if status is not None:
        _print_results(args.file)
    return 0


def _tally(source) -> tuple[np.ndarray, int, int]:
    """Tags per channel over the whole run, its duration (first to last batch, ps) and the
    time lost (ps)."""
    counts = np.zeros(N_CHANNELS, dtype=np.int64)
    span = [None, None]
    lost = 0
    for batch in source.batches():
        counts += channel_counts(batch.channels)
        span[0] = batch.t_begin if span[0] is None else span[0]
        span[1] = batch.t_end
        lost += batch.duration_ps - batch.live_ps
    duration = (span[1] - span[0]) if span[0] is not None else 0
    return counts, duration, lost


def _laser_line(laser_period_ps: float, sync_period_ps: float | None) -> str:
    """The laser's repetition rate, the sync period and the pulses per sync."""
    sync = sync_period_ps or laser_period_ps
    divided = round(sync / laser_period_ps)
    per_sync = f", {divided} pulses per sync" if divided > 1 else ""
    return f"laser     {1e6 / laser_period_ps:.6g} MHz  (sync period {format_time(sync)}{per_sync})"


def _print_results(path: str) -> None:
    """The result series stored in the run file, with their numbers of snapshots."""
    results = read_results(path)
    series = results.series
    if series:
        listed = ", ".join(f"{name} ({len(s)} snapshots)" for name, s in series.items())
        print(f"results   {listed}")
    events = series.get("events")
    if events is not None and len(events):
        t0 = min(int(s.covered_ps[0, 0]) for s in series.values() if len(s))
        kinds = str(events.attrs.get("kinds", "")).split(",")
        changes = ", ".join(
            f"{n} ({kinds[int(k)]} at {(int(t) - t0) / 1e12:.1f} s)"
            for n, k, t in zip(events.fields["segment"], events.fields["kind"],
                               events.covered_ps[:, 0], strict=True)
        )  # fmt: skip
        print(f"segments  the live analyses restarted during the run: {changes}; each "
              "segment's series are <name>@<segment>")  # fmt: skip


#: Deepest nesting of the settings that is shown, and the longest list shown in full.
SETTINGS_DEPTH = 6
SETTINGS_LIST = 12


def settings_lines(settings: dict, indent: int = 2, depth: int = 0, unit: str = "") -> list[str]:
    """The run's settings, one per line, nested tables (and lists of tables) indented; times
    (keys ending in ``_ps``, or inside a table whose key does) and rates (``_hz``) in readable
    units."""
    lines = []
    pad = " " * indent
    for key, value in settings.items():
        key = str(key)
        inherited = key if key.endswith(UNIT_SUFFIXES) else unit
        name = key.removesuffix("_ps").removesuffix("_hz")  # the value carries its unit
        tables = isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
        if depth >= SETTINGS_DEPTH or not (tables or (isinstance(value, dict) and value)):
            lines.append(f"{pad}{name} = {_setting(inherited or key, value)}")
        elif isinstance(value, dict):
            lines.append(f"{pad}{name}")
            lines += settings_lines(value, indent + 2, depth + 1, inherited)
        else:
            for i, table in enumerate(value):
                lines.append(f"{pad}{name}[{i}]")
                lines += settings_lines(table, indent + 2, depth + 1, inherited)
    return lines


#: Key suffixes of numbers shown in units: times in ps, rates in Hz.
UNIT_SUFFIXES = ("_ps", "_hz")


def _setting(key: str, value: object) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float) and math.isfinite(value):
        if key.endswith("_ps"):
            return format_time(round(value)) if float(value).is_integer() else f"{value:g} ps"
        if key.endswith("_hz"):
            return format_frequency(float(value))
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, list | tuple):
        shown = ", ".join(_setting(key, v) for v in value[:SETTINGS_LIST])
        more = f", ... ({len(value)} in all)" if len(value) > SETTINGS_LIST else ""
        return f"[{shown}{more}]"
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 200 else text[:197] + "..."
