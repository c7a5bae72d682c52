"""A hardware time tagger as a :class:`Run`: the adapter's blocks of tags cut into batches.

The device's own time decides where batches end: a batch ``[a, b)`` is handed out once the
device has reported everything before ``b``
(:attr:`~.device_protocol.TagBlock.until_ps`), or once the wall clock since the start is
``latency`` past ``b``, so that a dark detector still gives empty batches; the stretch of
such a batch past the device's report is a gap (unseen), and tags or losses reported for it
afterwards are counted (:meth:`DeviceRun.notes`). The latency is the larger of the run's and the
device's own (``TagSource.latency_s``). Intervals the device reports as lost become the batches'
gaps. A device lost mid-run ends the batches: the last one reaches the wall-clock time of the
loss, the stretch after the device's last report marked as a gap, and :attr:`DeviceRun.lost`
says what happened.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ..tags import Channel, ChannelMap, Role, RunMetadata, TagBatch
from ..tags import intervals as iv
from .device_protocol import DeviceError, DeviceInfo, TagBlock, TagSource
from .run import Run, batch_span_ps

#: Seconds between reads while the device has nothing new.
POLL_S = 0.005
#: Seconds the wall clock runs ahead of the device's report before batches are cut anyway.
LATENCY_S = 1.0


class DeviceRun(Run):
    """Tags from ``device`` (a :class:`~.device_protocol.TagSource`, opened; closing the run
    closes it), configured with ``settings`` and run for ``duration_ps`` (None: until
    stopped).

    Attributes
    ----------
    info
        What the device says it is.
    lost
        The one-line reason when the device was lost mid-run, else None.
    late
        Tags that arrived after their batch was handed out (left out).
    """

    paced = True

    def __init__(
        self,
        device: TagSource,
        settings: Mapping[str, Any] | None = None,
        duration_ps: int | None = None,
        latency_s: float = LATENCY_S,
        name: str = "",
    ):
        self.device = device
        settings = dict(settings or {})
        device.configure(**settings)
        self.info: DeviceInfo = device.info()
        self.duration_ps = duration_ps
        self.latency_s = latency_s
        self.lost: str | None = None
        self.late = 0
        self.unreported_ps = 0
        self.late_gap_ps = 0
        self.metadata = _metadata(self.info, settings, name or device.NAME)

    def batches(self, duration: str | int | None = None) -> Iterator[TagBatch]:
        """Consecutive batches of ``duration`` (default 100 ms) from the start of acquisition
        until ``duration_ps``, the end of the generator, or the loss of the device."""
        span = batch_span_ps(duration)
        end = self.duration_ps
        pending = _Pending(self.metadata.mode == "T3")
        a = 0
        reported = 0
        device = self.device
        latency = max(self.latency_s, device.latency_s)
        try:
            device.start()
            started = time.monotonic()
            while end is None or a < end:
                try:
                    block = device.read()
                except DeviceError as err:
                    self.lost = str(err)
                    # the gap: from the device's last report to when the loss was noticed
                    reported = max(reported, pending.last + 1, a)
                    stop = max(int((time.monotonic() - started) * 1e12), reported + 1)
                    if end is not None:
                        reported, stop = min(reported, end), min(stop, end)
                    yield self._batch(pending, a, stop, lost_from=reported)[0]
                    return
                self.late += pending.add(block, a)
                reported = max(reported, block.until_ps)
                wall = int((time.monotonic() - started - latency) * 1e12)
                ready = max(reported, wall) if end is None else min(max(reported, wall), end)
                cut = False
                while a + span <= ready or (end is not None and a < ready == end):
                    b = a + span if end is None else min(a + span, end)
                    # cut by the wall clock ahead of the device's report: not seen, a gap
                    unseen = reported if reported < b else None
                    batch, added = self._batch(pending, a, b, lost_from=unseen)
                    self.unreported_ps += added
                    a = b
                    cut = True
                    yield batch
                if not cut and not block.timestamps.size:
                    time.sleep(POLL_S)
        finally:
            self.late_gap_ps = pending.late_gap_ps
            try:
                device.stop()
            except DeviceError as err:
                self.lost = self.lost or str(err)

    def notes(self) -> list[str]:
        """What went wrong between the device and the batches, one line each."""
        out = []
        if self.unreported_ps:
            out.append(
                f"the device reported {self.unreported_ps / 1e12:.3g} s more than "
                f"{self.latency_s:g} s late; that time is recorded as gaps"
            )
        if self.late:
            out.append(f"{self.late} tags came after their batch had gone out and were left out")
        if self.late_gap_ps:
            out.append(
                f"{self.late_gap_ps / 1e12:.3g} s of data losses were reported after the batches "
                "they fall in had gone out"
            )
        return out

    def _batch(
        self, pending: _Pending, a: int, b: int, lost_from: int | None = None
    ) -> tuple[TagBatch, int]:
        """The batch ``[a, b)``, taken from ``pending``; with ``lost_from``, the time from then
        (or from after the last tag) to ``b`` is a gap. ``(batch, ps of that gap)``."""
        ts, ch, nt, gaps = pending.take(a, b)
        added = 0
        if lost_from is not None and ts.size:  # the tags that did come are kept
            lost_from = max(lost_from, int(ts[-1]) + 1)
        if lost_from is not None and lost_from < b:
            start = max(lost_from, a)
            added = b - start - iv.total(iv.clip(gaps, start, b))
            gaps = iv.union(gaps, np.array([[start, b]], dtype=np.int64))
        batch = TagBatch(ts, ch, a, b, nanotimes=nt, gaps=gaps, metadata=self.metadata)
        return batch, added

    def close(self) -> None:
        """Close the device."""
        self.device.close()


class _Pending:
    """Tags and gaps received but not yet handed out (joined and put in time order when a
    batch is taken)."""

    def __init__(self, t3: bool):
        self.t3 = t3
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []
        self.last = -1  # the latest timestamp kept
        self.unordered = False
        self.gaps = iv.EMPTY
        self.late_gap_ps = 0  # of losses reported for time already handed out

    def add(self, block: TagBlock, handed_out: int) -> int:
        """Keep ``block``'s tags from ``handed_out`` on; returns how many came too late."""
        t = np.asarray(block.timestamps, dtype=np.int64)
        late = int(np.searchsorted(t, handed_out)) if t.size and t[0] < handed_out else 0
        if block.gaps is not None and len(block.gaps):
            gaps = iv.normalize(iv.as_intervals(block.gaps, "gaps"))
            self.late_gap_ps += iv.total(iv.clip(gaps, np.iinfo(np.int64).min, handed_out))
            self.gaps = iv.union(self.gaps, gaps)
        if t.size > late:
            nt = None
            if self.t3:
                nt = block.nanotimes
                nt = np.zeros(t.size, np.uint16) if nt is None else np.asarray(nt, np.uint16)
                nt = nt[late:]
            self.parts.append((t[late:], np.asarray(block.channels, np.uint8)[late:], nt))
            self.unordered |= bool(t[late] < self.last)
            self.last = max(self.last, int(t[-1]))
        return late

    def take(self, a: int, b: int):
        """``(times, channels, nanotimes, gaps)`` of ``[a, b)``, no longer kept. In time order,
        only the parts that start before ``b`` are joined (a device far ahead of the batches
        does not have its whole backlog copied for each batch)."""
        parts = self.parts
        if not self.unordered:
            used = next((i for i, p in enumerate(parts) if p[0].size and p[0][0] >= b), len(parts))
            parts, rest = parts[:used], parts[used:]
        else:
            rest = []
        times = _join([p[0] for p in parts], np.int64)
        chans = _join([p[1] for p in parts], np.uint8)
        nts = _join([p[2] for p in parts], np.uint16) if self.t3 else None
        if self.unordered:
            order = np.argsort(times, kind="stable")
            times, chans = times[order], chans[order]
            nts = None if nts is None else nts[order]
            self.unordered = False
        k = int(np.searchsorted(times, b))
        self.parts = rest
        if k < times.size:
            self.parts.insert(0, (times[k:], chans[k:], None if nts is None else nts[k:]))
        gaps = iv.clip(self.gaps, a, b)
        self.gaps = iv.clip(self.gaps, b, np.iinfo(np.int64).max)
        return times[:k], chans[:k], None if nts is None else nts[:k], gaps


def _join(arrays: list, dtype) -> np.ndarray:
    if not arrays:
        return np.zeros(0, dtype)
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def _metadata(info: DeviceInfo, settings: dict[str, Any], name: str) -> RunMetadata:
    """Channel 0 is the sync (T3, or a sync input in T2), the others detectors ``ch<n>``; the
    two lowest detector inputs are the HBT pair."""
    channels = []
    for number in info.channels:
        if number == 0:
            channels.append(Channel(0, "sync", Role.SYNC))
        else:
            channels.append(Channel(number, f"ch{number}"))
    detectors = [c.name for c in channels if c.role == Role.DETECTOR][:2]
    return RunMetadata(
        source=f"{info.model} {info.serial}".strip(),
        channels=ChannelMap(channels),
        mode=info.mode,
        resolution_ps=info.nanotime_unit_ps if info.mode == "T3" else info.resolution_ps,
        sync_period_ps=info.sync_period_ps,
        nanotime_unit_ps=info.nanotime_unit_ps,
        hbt_pair=tuple(detectors) if len(detectors) == 2 else None,
        settings={"device": name, "model": info.model, "serial": info.serial, **settings},
    )
