"""The tag batch: timestamps, channels, optional T3 nanotimes, the span they cover and its gaps."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from ..errors import BatchError
from . import intervals as iv
from .metadata import N_CHANNELS, ChannelMap, RunMetadata, resolve_channel

TIMESTAMP_DTYPE = np.dtype(np.int64)
CHANNEL_DTYPE = np.dtype(np.uint8)


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
            ts, ch = _checked_arrays(ts, ch)
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
            self._check_span()

    # ------------------------------------------------------------------ validation
    def _check_span(self) -> None:
        if self.t_end < self.t_begin:
            raise BatchError(f"batch span ends before it begins: [{self.t_begin}, {self.t_end})")
        ts = self.timestamps
        if ts.size:
            if ts[0] < self.t_begin or ts[-1] >= self.t_end:
                raise BatchError(
                    f"tags at {ts[0]}..{ts[-1]} ps fall outside the span "
                    f"[{self.t_begin}, {self.t_end})"
                )
        if self.nanotimes is not None:
            nt = self.nanotimes
            if nt.shape != ts.shape:
                raise BatchError(f"nanotimes: {nt.size} values for {ts.size} tags")
            if not np.issubdtype(nt.dtype, np.integer):
                raise BatchError(f"nanotimes: need integers, got {nt.dtype}")
            if nt.dtype.itemsize > 4:
                if nt.size and (nt.min() < 0 or nt.max() > np.iinfo(np.int32).max):
                    raise BatchError("nanotimes: values must lie in 0..2**31-1")
                self.nanotimes = nt.astype(np.int32)
            if self.nanotime_unit_ps is None or self.nanotime_unit_ps <= 0:
                raise BatchError("nanotimes given without a positive nanotime_unit_ps")
        gaps = self.gaps
        if len(gaps):
            if not iv.is_normalized(gaps):
                raise BatchError("gaps: intervals must be sorted, non-empty and not touching")
            if gaps[0, 0] < self.t_begin or gaps[-1, 1] > self.t_end:
                raise BatchError(f"gaps reach outside the span [{self.t_begin}, {self.t_end})")
            inside = iv.contains(gaps, ts)
            if inside.any():
                k = int(np.flatnonzero(inside)[0])
                raise BatchError(f"tag {k} at {ts[k]} ps lies inside a gap, where data were lost")

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
        return "T3" if self.nanotimes is not None else "T2"

    @property
    def duration_ps(self) -> int:
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
        return None if self.metadata is None else self.metadata.channels

    def channel_number(self, key: str | int) -> int:
        """Channel number for a name (needs metadata) or a number."""
        return resolve_channel(key, self.channel_map)

    def counts(self) -> np.ndarray:
        """Number of tags on each channel number 0..255."""
        return np.bincount(self.channels, minlength=N_CHANNELS)


def _checked_arrays(ts: np.ndarray, ch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if ts.ndim != 1 or ch.ndim != 1:
        raise BatchError("timestamps and channels must be one-dimensional")
    if ts.shape != ch.shape:
        raise BatchError(f"{ts.size} timestamps but {ch.size} channels")
    if ts.size == 0:
        ts, ch = ts.astype(TIMESTAMP_DTYPE), ch.astype(CHANNEL_DTYPE)
    if ts.dtype != TIMESTAMP_DTYPE:
        if not np.issubdtype(ts.dtype, np.signedinteger):
            raise BatchError(f"timestamps must be int64 picoseconds, got {ts.dtype}")
        ts = ts.astype(TIMESTAMP_DTYPE)
    if ch.dtype != CHANNEL_DTYPE:
        if not np.issubdtype(ch.dtype, np.integer):
            raise BatchError(f"channels must be small integers, got {ch.dtype}")
        if ch.size and (ch.min() < 0 or ch.max() > 255):
            raise BatchError("channel numbers must lie in 0..255")
        ch = ch.astype(CHANNEL_DTYPE)
    if ts.size > 1:
        back = np.flatnonzero(ts[1:] < ts[:-1])
        if back.size:
            k = int(back[0]) + 1
            raise BatchError(f"timestamps go back in time at tag {k} ({ts[k - 1]} -> {ts[k]} ps)")
    return ts, ch
