"""What a live run measures as it goes: the time it covered, tags per channel and count rates,
when each batch message went out, and how far behind the results and a paced source are.

The acquisition updates a :class:`RunMeters` under its lock; the status reads it under the same
lock.
"""

from __future__ import annotations

import collections

import numpy as np

from ..analysis.stream import Coverage
from ..sources.paced import RealTimeLag
from ..tags import ChannelMap, TagBatch
from ..tags.metadata import N_CHANNELS

#: Data time over which count rates are averaged, ps.
RATE_WINDOW_PS = 10**12
#: Batch messages remembered for the lag of the results.
PUBLISHED_KEPT = 1 << 16


class RunMeters:
    """The run's meters.

    Parameters
    ----------
    source_lag
        How far a paced source falls behind the wall clock (``None``: not paced).

    Attributes
    ----------
    acquired
        The time the acquisition covered.
    counts
        Tags per channel number so far.
    published_at
        When each batch message went out (``time.monotonic``), by sequence number, while a
        worker may still report it.
    """

    def __init__(self, source_lag: RealTimeLag | None = None):
        self.source_lag = source_lag
        self.acquired = Coverage()
        self.counts = np.zeros(N_CHANNELS, dtype=np.int64)
        self.published_at: dict[int, float] = {}
        self._rates: collections.deque = collections.deque()
        # (end of the data published, ps; when) for the lag of the results
        self._published_until: collections.deque = collections.deque(maxlen=PUBLISHED_KEPT)
        self._results_lag: tuple[float, float] | None = None  # (latest, largest), s
        self._taken_at: float | None = None  # when the last batch was handed on

    def took(self, batch: TagBatch, counts: np.ndarray, arrived: float) -> None:
        """A batch (with its tags per channel number) reached the acquisition at ``arrived``."""
        if self.source_lag is not None:  # (the wait for this batch: the source's time)
            waited = 0.0 if self._taken_at is None else arrived - self._taken_at
            self.source_lag.observe(batch.t_end, arrived, waited)
        self.acquired.add(batch)
        self.counts += counts
        self._rates.append((batch.t_end, self.counts.copy()))
        while len(self._rates) > 2 and self._rates[1][0] <= batch.t_end - RATE_WINDOW_PS:
            self._rates.popleft()

    def handed_on(self, when: float) -> None:
        """The last batch was recorded and published."""
        self._taken_at = when

    def published(self, sequences: list[int], t_end: int, sent_at: float) -> None:
        """The batch messages ``sequences``, the data up to ``t_end`` (ps), went out."""
        for seq in sequences:
            self.published_at[seq] = sent_at
        self._published_until.append((t_end, sent_at))

    def results_arrived(self, t_ps: int, received: float) -> None:
        """Results covering the data up to ``t_ps`` arrived at ``received``: how long after the
        acquisition published those data."""
        published = self._published_until
        while published and published[0][0] < t_ps:
            published.popleft()
        if not published:
            return
        lag = received - published[0][1]
        largest = max(lag, self._results_lag[1]) if self._results_lag else lag
        self._results_lag = (lag, largest)

    def forget_before(self, sequence: int) -> None:
        """Messages before ``sequence`` every worker has reported: their times are not needed."""
        for seq in [s for s in self.published_at if s < sequence]:
            del self.published_at[seq]

    @property
    def results_lag_s(self) -> tuple[float | None, float | None]:
        """The latest and the largest lag of the results, s (``None`` before any)."""
        return (None, None) if self._results_lag is None else self._results_lag

    def rates_cps(self, channels: ChannelMap) -> dict[str, float]:
        """Count rate of each channel over the last :data:`RATE_WINDOW_PS` of data, counts/s."""
        if len(self._rates) < 2:
            return {}
        (t0, c0), (t1, c1) = self._rates[0], self._rates[-1]
        if t1 <= t0:
            return {}
        rate = (c1 - c0) * 1e12 / (t1 - t0)
        return {c.name: float(rate[c.number]) for c in channels}

    def duration_ps(self) -> int | None:
        """The span the acquisition covered, ps (``None`` before the first batch)."""
        t0, t1 = self.acquired.t_begin, self.acquired.t_end
        return None if t0 is None else t1 - t0
