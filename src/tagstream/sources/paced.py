"""A recorded run replayed at a chosen speed (or as fast as it can be read)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from ..errors import TagstreamError
from ..tags import TagBatch
from .run import Run, batch_span_ps

#: Tags per batch when replaying as fast as possible.
MAX_SPEED_BATCH_TAGS = 1 << 20
#: A paced source more than this behind the wall clock falls behind real time, s.
BEHIND_WARNING_S = 0.5


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
        """Close the replayed run."""
        self.run.close()


def real_time_pace(source: Run) -> float | None:
    """Data seconds per wall second a source is meant to deliver: its replay speed, 1 for
    other paced sources (hardware, a real-time simulation), ``None`` when it is not paced."""
    if not source.paced:
        return None
    speed = getattr(source, "speed", None)
    return float(speed) if isinstance(speed, (int, float)) and speed > 0 else 1.0


class RealTimeLag:
    """How far a paced source's batches come behind the wall clock.

    Measured from the first batch: the lag is the wall time passed minus the data time passed
    (divided by the pace), s; the source's own speed is the data time over the wall time spent
    waiting for its batches (the time the consumer spends on them excluded).

    Parameters
    ----------
    pace
        Data seconds per wall second the source is meant to deliver.
    name
        What the source is, for the warning (``"simulator"``).
    """

    def __init__(self, pace: float = 1.0, name: str = "source"):
        self.pace = pace
        self.name = name
        self._first: tuple[int, float] | None = None  # (t_end, wall) of the first batch
        self.lag_s = 0.0
        self.max_lag_s = 0.0
        self.data_s = 0.0
        self.waited_s = 0.0

    def observe(self, t_end_ps: int, wall_s: float, waited_s: float = 0.0) -> None:
        """A batch ending at ``t_end_ps`` arrived at ``wall_s`` (``time.monotonic``) after
        ``waited_s`` of waiting for it."""
        if self._first is None:
            self._first = (t_end_ps, wall_s)
            return
        self.data_s = (t_end_ps - self._first[0]) * 1e-12
        self.waited_s += waited_s
        self.lag_s = max(wall_s - self._first[1] - self.data_s / self.pace, 0.0)
        self.max_lag_s = max(self.max_lag_s, self.lag_s)

    @property
    def speed(self) -> float | None:
        """Data seconds the source made per second of waiting for it (``None`` before)."""
        return self.data_s / self.waited_s if self.waited_s > 0 else None

    @property
    def behind(self) -> bool:
        """Whether the source has fallen more than :data:`BEHIND_WARNING_S` s behind the wall
        clock."""
        return self.max_lag_s > BEHIND_WARNING_S

    def warning(self, final: bool = False) -> str | None:
        """``"source falls behind real time by 3.2 s (simulator produces 0.31× real time)"``
        once the lag passed :data:`BEHIND_WARNING_S` (``final``: the largest lag), else
        ``None``."""
        if not self.behind:
            return None
        lag = self.max_lag_s if final else self.lag_s
        verb = "fell" if final else "falls"
        speed = self.speed
        pace = "" if speed is None else f" ({self.name} produces {speed:.2g}× real time)"
        return f"source {verb} behind real time by {lag:.1f} s{pace}"
