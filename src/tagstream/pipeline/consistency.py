"""Does a run file's live analysis agree with an offline analysis of the tags it recorded?

The live results of a run exclude the time the analysis lost (a restarted worker, dropped
messages); everything else they must hold exactly. :func:`compare_with_offline` checks the last
snapshot of each measurement's series (g2, decay, trace, and those of kinds registered since)
against a fresh analyzer run over the recorded tags outside those gaps, histogram bin by bin:
the one the segment's stored settings build, as the live worker did (nanotime gate, cable
delays and all), or the kind's replica from its series. Where a restarted worker took up (the
end of the results before the restart), the live analysis was restored from its last
snapshots; a replica that keeps state the snapshots do not (the unsettled photons of the
change-point levels) is told to drop it there too (its ``restart(t_resume)``).
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..analysis.measurement import build_measurements, registered
from ..analysis.summary_settings import SummarySettings, resolve_settings
from ..sources.files import open_run
from ..tags import RunMetadata, TagBatch
from ..tags import intervals as iv
from .result_series import read_results


@dataclass(frozen=True)
class Agreement:
    """What matched.

    Attributes
    ----------
    tags
        Tags recorded.
    covered_ps
        The span the last live results cover, ps (the whole run when the analysis kept up to
        the end); the offline analysis covers the same.
    analysis_gaps
        Time the live analysis lost (k, 2), ps.
    equal
        Per measurement with series (``g2``, ``lifetime``, ``trace``, ...): whether its last
        snapshot equals the offline histogram exactly (and, for g2, the tag counts and live
        time).
    span_ps
        The run's span, ps.
    """

    tags: int
    covered_ps: tuple[int, int]
    analysis_gaps: np.ndarray
    equal: dict[str, bool]
    span_ps: tuple[int, int] = (0, 0)

    @property
    def all_equal(self) -> bool:
        """Whether every measurement with series was compared and agreed exactly."""
        return bool(self.equal) and all(self.equal.values())

    @property
    def complete(self) -> bool:
        """The live results cover the whole run, with no time lost to the analysis, and equal
        the offline analysis."""
        return self.all_equal and self.covered_ps == self.span_ps and not len(self.analysis_gaps)


def compare_with_offline(path: str | os.PathLike) -> Agreement:
    """Compare the run file's last live results with an offline pass over its tags (each
    analysis segment of the run over its own stretch of the run)."""
    results = read_results(path)
    lost = results.analysis_gaps()
    kinds = {cls.kind: cls for cls in registered()}
    with open_run(path) as run:
        span = (int(run.t_begin), int(run.t_end))
        parts = []  # (segment, analyzers by kind, covered span)
        for number in results.segment_numbers():
            series = results.segment_series(number)
            analyzers = _replicas(series, run.metadata, kinds)
            last = [series[name].covered_ps[-1] for name in analyzers]
            if last:
                covered = (int(min(c[0] for c in last)), int(max(c[1] for c in last)))
                parts.append((number, analyzers, covered))
        tags = _feed(run, parts, lost, results.restart_times())
    equal = {}
    for number, analyzers, _ in parts:
        series = results.segment_series(number)
        for name, analyzer in analyzers.items():
            live = kinds[name].result_from(series)
            equal[name if number == 0 else f"{name}@{number}"] = kinds[name].same(
                live, analyzer.result()
            )
    covered = (min(p[2][0] for p in parts), max(p[2][1] for p in parts)) if parts else (0, 0)
    return Agreement(tags, covered, lost, equal, span)


def _replicas(series: dict, metadata: RunMetadata, kinds: dict) -> dict[str, Any]:
    """Fresh analyzers for the segment's series: those its settings build (as the live worker
    built them: gates, delays, every option), else each kind's replica from its series."""
    stored = {name: s for name, s in series.items() if name in kinds and len(s)}
    table = next((s.attrs.get("segment_settings") for s in stored.values()), None)
    built = {}
    if table is not None:
        settings, notes = resolve_settings(SummarySettings.from_dict(json.loads(table)), metadata)
        built = {m.kind: m.analyzer for m in build_measurements(settings, metadata, notes, True)}
    out = {}
    for name in stored:
        replica = built.get(name) or kinds[name].replica(series, metadata.channels)
        if replica is not None:
            out[name] = replica
    return out


def _feed(run, parts: list, lost: np.ndarray, restart_ps: np.ndarray) -> int:
    """Feed each part's analyzers the run's tags inside its span and outside ``lost``, telling
    them of each restart of the live analysis (at ``restart_ps``); the number of tags read."""
    keep = iv.complement(lost, run.t_begin, run.t_end)
    restarts = sorted(int(t) for t in restart_ps)
    done = [0] * len(parts)  # analysis gaps each part's analyzers have passed
    tags = 0
    for batch in run.batches():
        tags += len(batch)
        for k, (_, analyzers, covered) in enumerate(parts):
            piece = _within(batch, covered, keep if len(lost) else None)
            if piece is None:
                continue
            for part in _split_at(piece, restarts[done[k] :]):
                while done[k] < len(restarts) and restarts[done[k]] <= part.t_begin:
                    _restart(analyzers.values(), restarts[done[k]])
                    done[k] += 1
                for analyzer in analyzers.values():
                    analyzer.process(part)
    return tags


def _split_at(batch: TagBatch, times: list[int]) -> list[TagBatch]:
    """``batch`` cut at each of ``times`` inside it."""
    cuts = [t for t in times if batch.t_begin < t < batch.t_end]
    edges = [batch.t_begin, *cuts, batch.t_end]
    if not cuts:
        return [batch]
    return [batch.slice_time(a, b) for a, b in itertools.pairwise(edges)]


def _restart(analyzers, t_resume: int) -> None:
    """Tell the analyzers that keep unsettled state (change-point levels) that a restored live
    analysis resumed at ``t_resume``: they drop that state as the live one did."""
    for analyzer in analyzers:
        restart = getattr(analyzer, "restart", None)
        if restart is not None:
            restart(t_resume)


def _within(batch: TagBatch, covered: tuple[int, int], keep: np.ndarray | None) -> TagBatch | None:
    """The part of ``batch`` inside ``covered`` (and ``keep``), or ``None`` when none is."""
    if batch.t_end <= covered[0] or batch.t_begin >= covered[1]:
        return None
    if batch.t_begin < covered[0] or batch.t_end > covered[1]:
        batch = batch.slice_time(max(batch.t_begin, covered[0]), min(batch.t_end, covered[1]))
    if keep is not None:
        batch = batch.restricted_to(iv.intersect(keep, np.array([covered], np.int64)))
    return batch
