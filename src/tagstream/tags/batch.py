"""The tag batch: timestamps, channels, optional T3 nanotimes, the span they cover and its gaps."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from ..errors import BatchError
from . import intervals as iv
from .batch_checks import (
    CHANNEL_DTYPE,
    TIMESTAMP_DTYPE,
    check_gaps,
    check_span,
    checked_arrays,
    checked_nanotimes,
)
from .metadata import N_CHANNELS, ChannelMap, RunMetadata, resolve_channel


class TagBatch:
    """Photon (and sync, marker) tags covering the time span ``[t_begin, t_end)``.

    Parameters
    ----------
    timestamps
        Arrival times, int64 ps, non-decreasing.
    channels
        Channel number of each tag, uint8.
    t_begin, t_end
        The span the batch covers, ps. Time passes even when no tag arrives: an empty batch with
        a span says "nothing was detected here". Defaults to the first tag and one ps after the
        last tag.
    nanotimes
        T3 micro-times (time since the preceding sync) in units of ``nanotime_unit_ps``; any
        integer dtype of at most 32 bits.
    nanotime_unit_ps, sync_period_ps
        Unit of the nanotimes and the sync period, ps.
    gaps
        Intervals (k, 2) inside the span where data were lost; they hold no tags and every
        analysis excludes them from its normalisation.
    metadata
        The run's metadata, so that channels can be named; optional.
    check
        Validate dtypes, ordering, span and gaps (one pass over the data). Producers whose output
        is correct by construction may pass ``False``.
    """

    __slots__ = (
        "channels",
        "gaps",
        "metadata",
        "nanotime_unit_ps",
        "nanotimes",
        "sync_period_ps",
        "t_begin",
        "t_end",
        "timestamps",
    )

    def __init__(
        self,
        timestamps: np.ndarray,
        channels: np.ndarray,
        t_begin: int | None = None,
        t_end: int | None = None,
        *,
        nanotimes: np.ndarray | None = None,
        nanotime_unit_ps: float | None = None,
        sync_period_ps: float | None = None,
        gaps: np.ndarray | None = None,
        metadata: RunMetadata | None = None,
        check: bool = True,
    ):
        ts = np.asarray(timestamps)
        ch = np.asarray(channels)
        if check:
            ts, ch = checked_arrays(ts, ch)
        if t_begin is None or t_end is None:
            if ts.size == 0:
                raise BatchError("an empty batch needs an explicit span (t_begin, t_end)")
            t_begin = int(ts[0]) if t_begin is None else t_begin
            t_end = int(ts[-1]) + 1 if t_end is None else t_end
        self.timestamps: np.ndarray = ts
        self.channels: np.ndarray = ch
        self.t_begin: int = int(t_begin)
        self.t_end: int = int(t_end)
        self.nanotimes: np.ndarray | None = None if nanotimes is None else np.asarray(nanotimes)
        self.nanotime_unit_ps = None if nanotime_unit_ps is None else float(nanotime_unit_ps)
        self.sync_period_ps = None if sync_period_ps is None else float(sync_period_ps)
        if metadata is not None:
            if self.nanotime_unit_ps is None:
                self.nanotime_unit_ps = metadata.nanotime_unit_ps
            if self.sync_period_ps is None:
                self.sync_period_ps = metadata.sync_period_ps
        self.gaps: np.ndarray = (
            iv.as_intervals(gaps, "gaps") if check else (iv.EMPTY if gaps is None else gaps)
        )
        self.metadata: RunMetadata | None = metadata
        if check:
            check_span(self.t_begin, self.t_end, ts)
            if self.nanotimes is not None:
                self.nanotimes = checked_nanotimes(self.nanotimes, ts, self.nanotime_unit_ps)
            check_gaps(self.gaps, self.t_begin, self.t_end, ts)

    # ------------------------------------------------------------------ construction
    @classmethod
    def empty(
        cls,
        t_begin: int,
        t_end: int,
        *,
        t3: bool = False,
        gaps: np.ndarray | None = None,
        metadata: RunMetadata | None = None,
        nanotime_unit_ps: float | None = None,
        sync_period_ps: float | None = None,
    ) -> TagBatch:
        """A batch that covers ``[t_begin, t_end)`` and holds no tags."""
        return cls(
            np.zeros(0, TIMESTAMP_DTYPE),
            np.zeros(0, CHANNEL_DTYPE),
            t_begin,
            t_end,
            nanotimes=np.zeros(0, np.int32) if t3 else None,
            nanotime_unit_ps=nanotime_unit_ps,
            sync_period_ps=sync_period_ps,
            gaps=gaps,
            metadata=metadata,
        )

    @classmethod
    def concat(cls, batches: Sequence[TagBatch]) -> TagBatch:
        """Join consecutive batches into one; time between two spans becomes a gap."""
        if not batches:
            raise BatchError("concat needs at least one batch")
        first = batches[0]
        t3 = first.nanotimes is not None
        gaps = [first.gaps]
        for prev, nxt in itertools.pairwise(batches):
            if nxt.t_begin < prev.t_end:
                raise BatchError(
                    f"batches overlap: one ends at {prev.t_end} ps, "
                    f"the next begins at {nxt.t_begin} ps"
                )
            if (nxt.nanotimes is not None) != t3:
                raise BatchError("cannot join T2 and T3 batches")
            if nxt.t_begin > prev.t_end:
                gaps.append(np.array([[prev.t_end, nxt.t_begin]], dtype=np.int64))
            gaps.append(nxt.gaps)
        return cls(
            np.concatenate([b.timestamps for b in batches]),
            np.concatenate([b.channels for b in batches]),
            first.t_begin,
            batches[-1].t_end,
            nanotimes=np.concatenate([b.nanotimes for b in batches]) if t3 else None,
            nanotime_unit_ps=first.nanotime_unit_ps,
            sync_period_ps=first.sync_period_ps,
            gaps=iv.normalize(np.concatenate(gaps)),
            metadata=first.metadata,
            check=False,
        )

    def _derived(
        self,
        sel: slice | np.ndarray,
        t_begin: int,
        t_end: int,
        gaps: np.ndarray,
    ) -> TagBatch:
        return TagBatch(
            self.timestamps[sel],
            self.channels[sel],
            t_begin,
            t_end,
            nanotimes=None if self.nanotimes is None else self.nanotimes[sel],
            nanotime_unit_ps=self.nanotime_unit_ps,
            sync_period_ps=self.sync_period_ps,
            gaps=gaps,
            metadata=self.metadata,
            check=False,
        )

    def slice_time(self, start: int, stop: int) -> TagBatch:
        """The part of the batch inside ``[start, stop)`` (clipped to the span); arrays are
        views."""
        start = max(int(start), self.t_begin)
        stop = max(min(int(stop), self.t_end), start)
        i0, i1 = np.searchsorted(self.timestamps, [start, stop], side="left")
        return self._derived(slice(int(i0), int(i1)), start, stop, iv.clip(self.gaps, start, stop))

    def split_at(self, times: Sequence[int] | np.ndarray) -> list[TagBatch]:
        """Cut the batch at the given times into consecutive batches that together equal it."""
        cuts = np.unique(np.clip(np.asarray(times, dtype=np.int64), self.t_begin, self.t_end))
        edges = np.concatenate([[self.t_begin], cuts, [self.t_end]])
        edges = edges[np.concatenate([[True], np.diff(edges) > 0])] if len(edges) > 2 else edges
        return [self.slice_time(a, b) for a, b in itertools.pairwise(edges)]

    def select(self, mask: np.ndarray) -> TagBatch:
        """Keep the tags where ``mask`` is true; the span and gaps stay as they are."""
        return self._derived(np.asarray(mask, dtype=bool), self.t_begin, self.t_end, self.gaps)

    def restricted_to(self, periods: np.ndarray) -> TagBatch:
        """Keep only the tags inside ``periods``; all other time of the span becomes a gap.

        Used to analyse one blinking state (for example the g2 of ON periods only).
        """
        keep = iv.intersect(
            iv.clip(iv.normalize(periods), self.t_begin, self.t_end), self.covered()
        )
        mask = iv.contains(keep, self.timestamps)
        return self._derived(
            mask, self.t_begin, self.t_end, iv.complement(keep, self.t_begin, self.t_end)
        )

    # ------------------------------------------------------------------ queries
    def __len__(self) -> int:
        return int(self.timestamps.size)

    def __repr__(self) -> str:
        mode = "T3" if self.nanotimes is not None else "T2"
        return (
            f"TagBatch({len(self)} tags, {mode}, span [{self.t_begin}, {self.t_end}) ps, "
            f"{len(self.gaps)} gaps)"
        )

    @property
    def mode(self) -> str:
        """``"T3"`` when the batch has nanotimes, else ``"T2"``."""
        return "T3" if self.nanotimes is not None else "T2"

    @property
    def duration_ps(self) -> int:
        """Length of the span, ps (gaps included)."""
        return self.t_end - self.t_begin

    @property
    def live_ps(self) -> int:
        """Covered time minus gaps, ps."""
        return self.duration_ps - iv.total(self.gaps)

    def covered(self) -> np.ndarray:
        """The span minus the gaps, as an interval set."""
        return iv.complement(self.gaps, self.t_begin, self.t_end)

    @property
    def channel_map(self) -> ChannelMap | None:
        """The run's channel map, if the batch has metadata."""
        return None if self.metadata is None else self.metadata.channels

    def channel_number(self, key: str | int) -> int:
        """Channel number for a name (needs metadata) or a number."""
        return resolve_channel(key, self.channel_map)

    def counts(self) -> np.ndarray:
        """Number of tags on each channel number 0..255."""
        return np.bincount(self.channels, minlength=N_CHANNELS)
