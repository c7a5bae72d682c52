"""A run: where tags come from, one protocol for the simulator, files and hardware.

A run carries its metadata once, up front, and yields tag batches that cover consecutive spans
of time. ``read()`` joins everything into one batch for in-memory analysis.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from types import TracebackType

from ..tags import RunMetadata, TagBatch, parse_time
from .timeline import StateTimeline

DEFAULT_BATCH_PS = 10**11  # 100 ms of acquisition per batch


class Run(ABC):
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
    """

    metadata: RunMetadata
    duration_ps: int | None = None
    truth: StateTimeline | None = None
    paced: bool = False

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

    def close(self) -> None:  # noqa: B027 - sources without resources need not override it
        """Release files, devices or threads the run holds."""

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def batch_span_ps(duration: str | int | None) -> int:
    """The span of one batch, ps."""
    span = DEFAULT_BATCH_PS if duration is None else parse_time(duration, "batch duration")
    if span <= 0:
        from ..errors import TagstreamError

        raise TagstreamError(f"batch duration must be positive, got {duration!r}")
    return span
