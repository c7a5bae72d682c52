"""A recorded run replayed at a chosen speed (or as fast as it can be read)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from ..errors import TagstreamError
from ..tags import TagBatch
from .run import Run, batch_span_ps

#: Tags per batch when replaying as fast as possible.
MAX_SPEED_BATCH_TAGS = 1 << 20


def parse_speed(value: str | float | None) -> float | None:
    """``"max"`` (or ``None``) → ``None``; else a positive factor of the recorded pace."""
    if value is None or str(value).strip().lower() == "max":
        return None
    try:
        speed = float(str(value).strip().rstrip("x"))
    except ValueError:
        raise TagstreamError(f"speed: give a positive number or 'max', got {value!r}") from None
    if not speed > 0:
        raise TagstreamError(f"speed: give a positive number or 'max', got {value!r}")
    return speed


class PacedRun(Run):
    """``run`` replayed: batches follow the recorded time divided by ``speed`` on the wall
    clock, or come as fast as they can be read (``speed=None``).

    Parameters
    ----------
    run
        A recorded run; closing the replay closes it.
    speed
        Factor of the recorded pace, or ``None`` for as fast as possible.
    """

    def __init__(self, run: Run, speed: float | None):
        self.run = run
        self.speed = speed
        self.metadata = run.metadata
        self.duration_ps = run.duration_ps
        self.truth = run.truth
        self.paced = speed is not None

    def batches(self, duration: str | int | None = None) -> Iterator[TagBatch]:
        """Batches of ``duration`` (default: 100 ms when paced, about a million tags at full
        speed)."""
        if duration is None and self.speed is None:
            duration = self._span_for(MAX_SPEED_BATCH_TAGS)
        span = batch_span_ps(duration)
        start_wall = time.monotonic()
        t0 = None
        for batch in self.run.batches(span):
            if t0 is None:
                t0 = batch.t_begin
            if self.speed is not None:
                delay = start_wall + (batch.t_end - t0) * 1e-12 / self.speed - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield batch

    def _span_for(self, tags: int) -> int:
        """A batch duration holding about ``tags`` tags at the run's mean rate, ps."""
        n = getattr(self.run, "num_tags", 0)
        if not n or not self.duration_ps:
            return 10**11
        return int(min(10**12, max(10**9, self.duration_ps * tags / n)))

    def close(self) -> None:
        self.run.close()
