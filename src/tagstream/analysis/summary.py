"""The run summary: one pass over a run's batches through every streaming analyzer, then the fits.

:func:`summarize` feeds each batch to the g2, decay, trace and FLID analyzers at once and tallies
the tags per channel and the live time, so a run that does not fit in memory is read once. The
fits follow: g2(0) (pulsed or CW), the lifetime with automatic model selection, and the blinking
thresholds. A part that cannot be computed from the data (one detector, no sync period, no
antibunching, a trace that does not blink) is left out and the reason is kept in
:attr:`RunSummary.notes`; a setting the user got wrong (a channel, bin or window the run cannot
use) raises :class:`AnalysisError` or :class:`ChannelError` before the pass starts.

:meth:`RunSummary.to_dict` gives the summary JSON of ``tagstream analyze --json`` and
:meth:`RunSummary.text` the human summary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..kernels.channel_counts import channel_counts
from ..tags import RunMetadata, TagBatch
from ..tags.metadata import N_CHANNELS
from .fit_progress import reporting
from .formatting import value_with_error
from .lifetime_choice import fit_lifetime
from .measurement import Finishing, build_measurements, failure_reason, registered
from .run_summary import RunSummary
from .stream import Coverage
from .summary_binning import default_g2_binning, default_lifetime_bin
from .summary_settings import SummarySettings, resolve_settings

__all__ = [
    "RunSummary",
    "SummarySettings",
    "default_g2_binning",
    "default_lifetime_bin",
    "fit_lifetime",
    "resolve_settings",
    "summarize",
    "value_with_error",
]


class _Feed:
    """One streaming analyzer; an analysis error drops it, with the reason as a note."""

    def __init__(self, part: str, analyzer: Any) -> None:
        self.part = part
        self.analyzer = analyzer
        self.fed = False

    def process(self, batch: TagBatch, notes: list[str]) -> None:
        if self.analyzer is None:
            return
        try:
            self.analyzer.process(batch)
            self.fed = True
        except Exception as exc:  # one measurement failing leaves the others going
            notes.append(f"{self.part}: {failure_reason(exc)}")
            self.analyzer = None

    def result(self) -> Any:
        return self.analyzer.result() if self.analyzer is not None and self.fed else None


class _Tally:
    """Tags per channel number, covered time and gaps of the whole run."""

    def __init__(self) -> None:
        self.counts = np.zeros(N_CHANNELS, dtype=np.int64)
        self.coverage = Coverage()
        self.mode: str | None = None
        self.batches = 0

    def add(self, batch: TagBatch) -> None:
        self.coverage.add(batch)
        self.counts += channel_counts(batch.channels)
        self.mode = self.mode or batch.mode
        self.batches += 1


def _feeds(settings: SummarySettings, metadata: RunMetadata, notes: list[str]) -> dict[str, _Feed]:
    """The measurements of the resolved settings, by kind (kinds the run rules out are
    missing)."""
    built = build_measurements(settings, metadata, notes)
    return {m.kind: _Feed(m.part_name(), m) for m in built}


def summarize(
    batches: Iterable[TagBatch],
    metadata: RunMetadata,
    name: str,
    settings: SummarySettings | None = None,
    progress: Callable[[int], object] | None = None,
    warnings: Iterable[str] = (),
    irf_counts: np.ndarray | None = None,
) -> RunSummary:
    """Summarise a run in one pass over its batches.

    Parameters
    ----------
    batches
        The run's batches in time order (any iterable; read once).
    metadata
        The run's metadata: channel map, mode, sync and laser period, HBT pair.
    name
        What the summary calls the run (the file name).
    settings
        What to compute; defaults as documented in :class:`SummarySettings`.
    progress
        Called with the end of each batch's span (ps) after the batch is processed.
    warnings
        What the reader found wrong with the run's file (a file that ends early, damaged
        records); they lead the summary's warnings.
    irf_counts
        The measured IRF's histogram in the decay's bins, when ``settings.irf`` names a file
        (see :func:`tagstream.pipeline.offline.measured_irf`).

    Raises
    ------
    AnalysisError, ChannelError
        Settings the run cannot use.
    BatchError
        Batches out of time order.
    """
    resolved, notes = resolve_settings(settings or SummarySettings(), metadata)
    feeds = _feeds(resolved, metadata, notes)
    tally = _Tally()
    for batch in batches:
        tally.add(batch)
        for feed in feeds.values():
            feed.process(batch, notes)
        if progress is not None:
            progress(batch.t_end)
    if tally.batches == 0:
        notes.append("run: no batches, nothing to analyse")
    file_warnings = [f"file: {w}" for w in warnings]
    with reporting(getattr(progress, "phase", None)):  # the fits name their phase
        return _finish(name, metadata, resolved, tally, feeds, notes, file_warnings, irf_counts)


# ---------------------------------------------------------------------------------- the fits
def _finish(
    name: str,
    metadata: RunMetadata,
    settings: SummarySettings,
    tally: _Tally,
    feeds: dict[str, _Feed],
    notes: list[str],
    warnings: list[str],
    irf_counts: np.ndarray | None = None,
) -> RunSummary:
    """Finish every measurement (its fits) in the registry's finishing order, then collect the
    notes on parts left without a value and the warnings, in the registry's order."""
    kinds = registered()
    values: dict[str, Any] = {}
    for cls in kinds:
        values.update({k: dict(v) if isinstance(v, dict) else v for k, v in cls.values.items()})
    finishing = Finishing(settings, metadata, notes, values, irf_counts)
    for cls in sorted(kinds, key=lambda c: c.finish_order):
        feed = feeds.get(cls.kind)
        if feed is not None and feed.analyzer is not None and feed.fed:
            try:
                values.update(feed.analyzer.finish(finishing))
            except Exception as exc:  # its values stay unset, with the reason
                notes.append(f"{cls.part_name()}: {failure_reason(exc)}")
    _note_unmapped(tally.counts, metadata, notes)
    for cls in kinds:
        for part, value in cls.required.items():
            if values.get(value) is None and not any(n.startswith(f"{part}: ") for n in notes):
                notes.append(f"{part}: no data to analyse")
    for cls in kinds:
        warnings += cls.warnings(values, metadata)
    coverage = tally.coverage
    return RunSummary(
        name=name,
        metadata=metadata,
        settings=settings,
        mode=tally.mode or metadata.mode,
        t_begin_ps=coverage.t_begin or 0,
        t_end_ps=coverage.t_end or 0,
        live_ps=coverage.live_ps,
        channel_counts={int(c): int(tally.counts[c]) for c in np.flatnonzero(tally.counts)},
        gaps_ps=coverage.gaps(),
        values=values,
        notes=tuple(notes),
        warnings=tuple(warnings),
    )


def _note_unmapped(counts: np.ndarray, metadata: RunMetadata, notes: list[str]) -> None:
    for number in np.flatnonzero(counts):
        if int(number) not in metadata.channels:
            notes.append(
                f"channels: {int(counts[number])} tags on channel {int(number)}, "
                "which is not in the channel map"
            )
