"""A run: where tags come from, one protocol for the simulator, files and hardware.

A run carries its metadata once, up front, and yields tag batches that cover consecutive spans
of time. ``read()`` joins everything into one batch for in-memory analysis.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence

from ..closing import Closing
from ..formats.timeline import StateTimeline
from ..tags import RunMetadata, TagBatch, parse_time

DEFAULT_BATCH_PS = 10**11  # 100 ms of acquisition per batch
#: Key of ``RunMetadata.settings`` that keeps what a source's reader warned about, so that a run
#: file recorded from it (a replay) still says so.
SOURCE_WARNINGS = "source_warnings"


class Run(Closing, ABC):
    """A source of tags.

    Attributes
    ----------
    metadata
        Source, settings, time resolution and channel map.
    duration_ps
        Length of the run when known in advance (files, a simulation of given duration).
    truth
        The emitter's state timeline when known (the simulator), else ``None``.
    paced
        True when batches come at the pace of the wall clock (hardware, a real-time simulation
        or replay) and the source cannot wait for its consumers; False when it can (a file read
        or a simulation at full speed).
    warnings
        What was wrong with the source (a file that ends early, damaged records, periods that
        contradict the photons) and how it was read anyway.
    lost
        The one-line reason when the source was lost mid-run (a device gone: the batches end
        there), else None.
    status
        What a run file says of its recording (``complete``, ``recording``, ``stopped:
        <reason>``), for files that keep one; else None.
    """

    metadata: RunMetadata
    duration_ps: int | None = None
    truth: StateTimeline | None = None
    paced: bool = False
    warnings: Sequence[str] = ()
    lost: str | None = None
    status: str | None = None

    @abstractmethod
    def batches(self, duration: str | int | None = None) -> Iterator[TagBatch]:
        """Yield consecutive batches, each covering about ``duration`` (default 100 ms)."""

    def read(self) -> TagBatch:
        """Everything in one batch (for runs that fit in memory)."""
        parts = list(self.batches())
        if not parts:
            return TagBatch.empty(0, 0, metadata=self.metadata)
        joined = TagBatch.concat(parts)
        joined.metadata = self.metadata
        return joined

    def header_lines(self) -> list[str]:
        """What ``tagstream info`` shows of the file's own header (format, records, header
        fields), one line each; none by default."""
        return []

    def file_warnings(self) -> list[str]:
        """What is wrong with the file as a file (still held by a writer, say), for ``tagstream
        info``; none by default."""
        return []

    def notes(self) -> list[str]:
        """What went wrong between the source and its batches while they were read (tags or
        losses reported too late for their batch), one line each; none by default."""
        return []

    def close(self) -> None:
        """Release files, devices or threads the run holds."""


def with_source_warnings(run: Run) -> Run:
    """``run`` with its reader's warnings also in its metadata's settings (under
    :data:`SOURCE_WARNINGS`), so that a run file recorded from it keeps them."""
    settings = dict(run.metadata.settings)
    kept = list(dict.fromkeys([*settings.get(SOURCE_WARNINGS, ()), *run.warnings]))
    if kept:
        settings[SOURCE_WARNINGS] = kept
        run.metadata = dataclasses.replace(run.metadata, settings=settings)
    return run


def batch_span_ps(duration: str | int | None) -> int:
    """The span of one batch, ps."""
    span = DEFAULT_BATCH_PS if duration is None else parse_time(duration, "batch duration")
    if span <= 0:
        from ..errors import TagstreamError

        raise TagstreamError(f"batch duration must be positive, got {duration!r}")
    return span
