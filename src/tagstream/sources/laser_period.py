"""The sync and laser periods of a recorded run: what the file states, checked against its first
photons.

Files state the sync and laser periods in different ways (a rate meter's reading before or after
a sync divider, a divider that is not recorded, a T2 sync whose period is not stated at all).
Every delay after the sync is folded onto the laser period, so a wrong period ruins every
lifetime: the first photons of the file decide. The sync period comes from the sync tags (T2)
or from the syncs before the photons, which lie whole sync periods apart (T3); the number of
laser pulses per sync comes from the photons' delays after the sync
(:func:`~tagstream.analysis.laser_phase.pulses_per_sync`) when they show it, else from the file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np

from ..analysis.laser_phase import DIVIDER_TOLERANCE, pulses_per_sync
from ..tags import RunMetadata, TagBatch

#: Photons with a delay after the sync looked at, at most ...
SAMPLE_PHOTONS = 100_000
#: ... in at most this many batches and tags (syncs included).
SAMPLE_BATCHES = 20
SAMPLE_TAGS = 2_000_000
#: Sync tags whose intervals give the sync period, at most.
SYNC_SAMPLE = 20_000
#: Sync intervals in the sample must agree with their median to this fraction (or 2 ps) to be
#: a sync ...
SYNC_REGULARITY = 1e-3
#: ... and the median must be this many times that tolerance; ...
SYNC_MIN_TOLERANCES = 20
#: ... with at least this many sync tags in the sample.
SYNC_MIN_TAGS = 100


def checked_periods(
    metadata: RunMetadata, batches: Iterable[TagBatch], stated_laser_ps: float | None
) -> tuple[RunMetadata, list[str]]:
    """``metadata`` with the sync and laser periods the first photons support, and warnings
    where they contradict what the file states.

    Parameters
    ----------
    metadata
        The metadata as read from the file (``sync_period_ps`` as the file states it, or
        ``None``).
    batches
        The run's batches from the start (only the first few are read).
    stated_laser_ps
        The laser period the file states (from its laser or sync rate), ps; ``None`` if none.
    """
    sync = metadata.channels.sync
    if metadata.mode == "T2" and sync is None:
        return metadata, []
    delays, measured = _sample(metadata, batches)
    warnings: list[str] = []
    stated_sync = metadata.sync_period_ps
    sync_ps = stated_sync or stated_laser_ps  # without a divider, the sync is the laser
    if measured is not None:
        if stated_sync and abs(measured - stated_sync) > DIVIDER_TOLERANCE * stated_sync:
            warnings.append(
                f"the syncs come every {measured / 1e3:.6g} ns, not every "
                f"{stated_sync / 1e3:.6g} ns as the file states; using the data's period"
            )
        sync_ps = measured
    if sync_ps is None:
        return metadata, warnings
    stated = _whole_ratio(sync_ps, stated_laser_ps)
    grid = metadata.nanotime_unit_ps if metadata.mode == "T3" else metadata.resolution_ps
    found = None
    if _covers_sync(metadata, sync_ps):
        found = pulses_per_sync(delays, sync_ps, grid_ps=float(grid or 1.0))
    divider, source = _decide(stated, found)
    where = f"sync period of {sync_ps / 1e3:.6g} ns"
    if source == "photons" and stated_laser_ps is not None:
        warnings.append(
            f"the file states a laser period of {stated_laser_ps / 1e3:.6g} ns, but the "
            f"photons show {divider} pulse(s) per {where}: using a laser period of "
            f"{sync_ps / divider / 1e3:.6g} ns"
        )
    elif stated is not None and found == 1 and stated > 1:
        warnings.append(
            f"the photons' delays do not show the {stated} pulses per {where} that the file "
            "states (a gated detector or a short TCSPC range can hide them); using the file's "
            f"laser period of {stated_laser_ps / 1e3:.6g} ns"
        )
        reach = _observed_reach(metadata, delays, sync_ps, float(grid or 1.0))
        if reach is not None:
            metadata = dataclasses.replace(metadata, nanotime_range_ps=reach)
            warnings.append(
                f"no photon comes later than {reach / 1e3:.4g} ns after the sync: the unit "
                "records only that range"
            )
    elif stated is None and stated_laser_ps is not None:
        warnings.append(
            f"the file's laser period of {stated_laser_ps / 1e3:.6g} ns is not a whole fraction "
            f"of the {where}: using {sync_ps / divider / 1e3:.6g} ns"
        )
    checked = dataclasses.replace(
        metadata, sync_period_ps=sync_ps, laser_period_ps=sync_ps / divider
    )
    settings = dict(checked.settings)
    settings["pulses_per_sync"] = divider
    settings["pulses_per_sync_from"] = source
    return dataclasses.replace(checked, settings=settings), warnings


def _decide(stated: int | None, found: int | None) -> tuple[int, str]:
    """Pulses per sync, and whether the ``"file"`` or the ``"photons"`` say so: the photons
    when they show pulses the file does not state (a sync rate meter read after the divider,
    a divider not recorded); the file when the photons show none (delays that do not fill the
    sync period, a gated detector, cannot tell)."""
    if found is not None and found > 1 and found != stated:
        return found, "photons"
    if stated is not None:
        return stated, "file"
    if found is not None:
        return found, "photons"
    return 1, "file"


def _observed_reach(
    metadata: RunMetadata, delays: np.ndarray, sync_ps: float, grid_ps: float
) -> float | None:
    """T3: the longest delay the first photons show (to the next grid step), ps, when it
    falls short of the sync period and of the unit's stated range; else ``None``."""
    if metadata.mode != "T3" or delays.size == 0:
        return None
    reach = (np.floor(float(delays.max()) / grid_ps) + 1) * grid_ps
    limit = min(sync_ps, metadata.nanotime_range_ps or np.inf)
    return float(reach) if reach < (1 - DIVIDER_TOLERANCE) * limit else None


def _whole_ratio(sync_ps: float, laser_ps: float | None) -> int | None:
    """``sync / laser`` when it is a whole number, else ``None``."""
    if laser_ps is None or laser_ps <= 0:
        return None
    ratio = sync_ps / laser_ps
    k = round(ratio)
    return k if k >= 1 and abs(ratio - k) <= DIVIDER_TOLERANCE * k else None


def _covers_sync(metadata: RunMetadata, sync_ps: float) -> bool:
    """Whether every delay up to the sync period is recorded (T3: a TCSPC range at least as
    long), which the search for pulses needs."""
    reach = metadata.nanotime_range_ps
    return metadata.mode == "T2" or reach is None or reach >= sync_ps * (1 - 1e-6)


def _sample(metadata: RunMetadata, batches: Iterable[TagBatch]) -> tuple[np.ndarray, float | None]:
    """Raw delays after the sync of the first photons (ps), and in T2 the sync period the sync
    tags show (``None`` if they are too few or irregular)."""
    detectors = np.array([c.number for c in metadata.channels.detectors], dtype=np.int64)
    sync = metadata.channels.sync
    delays: list[np.ndarray] = []
    syncs: list[np.ndarray] = []
    found = tags = 0
    for k, batch in enumerate(batches):
        if k >= SAMPLE_BATCHES or found >= SAMPLE_PHOTONS or tags >= SAMPLE_TAGS:
            break
        tags += len(batch)
        photon = np.isin(batch.channels, detectors)
        if metadata.mode == "T3" and batch.nanotimes is not None:
            part = batch.nanotimes[photon].astype(np.float64) * float(batch.nanotime_unit_ps)
            syncs.append(batch.timestamps[photon] - part)  # each photon's sync
        else:
            is_sync = batch.channels == sync.number
            times = batch.timestamps
            syncs.append(times[is_sync])
            last = np.maximum.accumulate(np.where(is_sync, np.arange(times.size), -1))
            ok = photon & (last >= 0)
            part = (times[ok] - times[last[ok]]).astype(np.float64)
        delays.append(part)
        found += part.size
    sample = np.concatenate(delays) if delays else np.zeros(0)
    if not syncs:
        return sample, None
    if metadata.mode == "T3":
        unit = float(metadata.nanotime_unit_ps or 1.0)
        return sample, _photon_sync_period(np.concatenate(syncs), unit)
    return sample, _sync_period(np.concatenate(syncs))


def _photon_sync_period(sync_ps: np.ndarray, unit_ps: float) -> float | None:
    """T3: the sync period from the times of the syncs before the photons (ps), which lie whole
    sync periods apart: the typical smallest step between distinct ones, confirmed when nine in
    ten steps are whole multiples of it; ``None`` when the photons do not show it."""
    tolerance = 2.0 * unit_ps + 2.0
    times = np.sort(sync_ps)
    steps = np.diff(times)
    steps = steps[steps > tolerance]
    if steps.size < 20:
        return None
    smallest = float(steps.min())
    near = steps[steps < 1.5 * smallest]
    if near.size < 5:
        return None
    period = float(np.median(near))
    multiple = np.round(steps / period)
    whole = np.abs(steps - multiple * period) <= tolerance + SYNC_REGULARITY * steps
    if np.count_nonzero(whole) < 0.9 * steps.size:
        return None
    return float(np.sum(steps[whole]) / np.sum(multiple[whole]))


def _sync_period(times: np.ndarray) -> float | None:
    """Mean interval of sync tags that arrive regularly (ps), else ``None``."""
    if times.size < SYNC_MIN_TAGS:
        return None
    steps = np.diff(times[:SYNC_SAMPLE])
    typical = float(np.median(steps))
    tolerance = max(SYNC_REGULARITY * typical, 2.0)
    regular = np.abs(steps - typical) <= tolerance
    if typical < SYNC_MIN_TOLERANCES * tolerance or np.count_nonzero(regular) < 0.9 * steps.size:
        return None
    return float(np.mean(steps[regular]))
