"""The ground-truth state timeline of an emitter: which state it was in, when."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..tags import intervals as iv


@dataclass(frozen=True)
class StateTimeline:
    """Consecutive segments ``[starts[i], starts[i + 1])`` in state ``states[i]``, up to ``end``.

    Attributes
    ----------
    names
        State names; ``states`` holds indices into it.
    starts
        Segment starts, int64 ps, increasing.
    states
        State index of each segment.
    end
        End of the last segment, ps.
    """

    names: tuple[str, ...]
    starts: np.ndarray
    states: np.ndarray
    end: int

    def intervals(self, state: str) -> np.ndarray:
        """The time spent in ``state`` as a normalised interval set, ps."""
        code = self.names.index(state)
        stops = np.append(self.starts[1:], self.end)
        sel = self.states == code
        return iv.normalize(np.column_stack([self.starts[sel], stops[sel]]))

    def fractions(self, start: int | None = None, stop: int | None = None) -> dict[str, float]:
        """Fraction of ``[start, stop)`` spent in each state."""
        start = int(self.starts[0]) if start is None else start
        stop = self.end if stop is None else stop
        total = max(stop - start, 1)
        return {
            name: iv.total(iv.clip(self.intervals(name), start, stop)) / total
            for name in self.names
        }

    def dwell_times(self, state: str) -> np.ndarray:
        """Durations of the complete segments in ``state`` (the first and last are censored)."""
        stops = np.append(self.starts[1:], self.end)
        lengths = stops - self.starts
        sel = self.states == self.names.index(state)
        sel[0] = sel[-1] = False
        return lengths[sel]

    def state_at(self, times: np.ndarray) -> np.ndarray:
        """State index at each time."""
        return self.states[np.searchsorted(self.starts, times, side="right") - 1]
