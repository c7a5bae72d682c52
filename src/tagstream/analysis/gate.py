"""Nanotime gating: the photons that arrive within a window of delays after the laser pulse.

Gating keeps, for example, only photons 1–50 ns after the pulse: the fast biexciton and
scattered-laser photons of the first nanosecond no longer reach the g2 or the trace, which
lowers a pulsed g2(0) towards the exciton's own value. The delays are folded onto the laser
period as for the decay histograms (sync dividers, channel delays; see
:mod:`~tagstream.analysis.laser_phase`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import AnalysisError
from ..kernels import NO_SYNC
from ..kernels.gate import gate_t2, gate_t3
from ..tags import ChannelMap, TagBatch, parse_time
from .channels import resolve_many, resolve_sync, selection_table
from .laser_phase import PhaseFold, channel_offsets, phase_fold
from .stream import Coverage, sync_segments


class NanotimeGate:
    """Drops the detector photons whose delay after the laser pulse lies outside a window.

    Parameters
    ----------
    start, stop
        The window ``[start, stop)`` of delays after the laser pulse (``"1 ns"`` or ps); at
        most one laser period wide.
    detectors
        Channels the gate applies to; ``None`` for every detector of the channel map. Other
        channels (the sync, markers) pass unchanged.
    channels
        The run's channel map.
    delays
        ``{channel: delay}``: cable delays taken off each channel before gating.
    sync
        Sync channel of T2 data; defaults to the channel map's.
    """

    def __init__(
        self,
        start: str | int,
        stop: str | int,
        detectors: str | int | Sequence[str | int] | None = None,
        channels: ChannelMap | None = None,
        delays: Mapping[str | int, str | int] | None = None,
        sync: str | int | None = None,
    ):
        self.start_ps = parse_time(start, "gate start")
        self.stop_ps = parse_time(stop, "gate stop")
        if self.stop_ps <= self.start_ps:
            raise AnalysisError(
                f"gate: the stop ({self.stop_ps} ps) must come after the start "
                f"({self.start_ps} ps)"
            )
        self.sync = resolve_sync(sync, channels)
        self._gated = selection_table(resolve_many(detectors, channels))
        self._offsets = channel_offsets(delays, channels, sync=self.sync)
        self._last_sync = np.array([NO_SYNC], dtype=np.int64)
        self._coverage = Coverage()
        self.fold: PhaseFold | None = None
        self.kept = 0
        self.dropped = 0
        self.seen_by_channel = np.zeros(self._gated.size, np.int64)  # gated photons seen
        self.kept_by_channel = np.zeros(self._gated.size, np.int64)  # ... and passed

    def _setup(self, batch: TagBatch) -> None:
        md = batch.metadata
        laser = None if md is None else md.laser_period_ps
        sync_period = batch.sync_period_ps or laser
        if sync_period is None:
            raise AnalysisError(
                "gate: the run has no laser sync, so photons have no delay after a pulse"
            )
        if batch.mode == "T2" and self.sync is None:
            raise AnalysisError("gate: T2 data need a sync channel (none in the channel map)")
        fold = phase_fold(
            batch.mode, sync_period, laser, None if md is None else md.nanotime_range_ps,
            self._offsets,
        )  # fmt: skip
        if self.stop_ps - self.start_ps > fold.period_ps:
            raise AnalysisError(
                f"gate: {(self.stop_ps - self.start_ps) / 1e3:g} ns is wider than the laser "
                f"period ({fold.period_ps / 1e3:g} ns)"
            )
        self.fold = fold

    def apply(self, batch: TagBatch) -> TagBatch:
        """The tags of ``batch`` that pass the gate (same span and gaps)."""
        lost = self._coverage.add(batch)
        if self.fold is None:
            self._setup(batch)
        keep = np.empty(len(batch), dtype=np.bool_)
        fold = self.fold
        window = (float(self.start_ps), float(self.stop_ps))
        if batch.mode == "T3":
            gate_t3(
                batch.channels, batch.nanotimes, self._gated, float(batch.nanotime_unit_ps),
                fold.offsets_ps, fold.reach_ps, fold.period_ps, *window, keep,
            )  # fmt: skip
        else:
            for i0, i1 in sync_segments(batch, lost, self._last_sync):
                gate_t2(
                    batch.timestamps[i0:i1], batch.channels[i0:i1], np.int64(self.sync),
                    self._gated, fold.offsets_ps, fold.reach_ps, fold.period_ps, *window,
                    self._last_sync, keep[i0:i1],
                )  # fmt: skip
        n_kept = int(np.count_nonzero(keep))
        self.kept += n_kept
        self.dropped += len(batch) - n_kept
        channels = batch.channels[self._gated[batch.channels]]
        size = self._gated.size
        self.seen_by_channel += np.bincount(channels, minlength=size)[:size]
        kept = batch.channels[keep & self._gated[batch.channels]]
        self.kept_by_channel += np.bincount(kept, minlength=size)[:size]
        return batch if n_kept == len(batch) else batch.select(keep)

    def share(self, channel: int) -> float | None:
        """The share of a gated channel's photons inside the gate so far (None before any)."""
        seen = int(self.seen_by_channel[channel])
        return None if seen == 0 else int(self.kept_by_channel[channel]) / seen


class Gated:
    """An analyzer fed through a :class:`NanotimeGate`; everything else is the analyzer's."""

    def __init__(self, analyzer: Any, gate: NanotimeGate):
        self.analyzer = analyzer
        self.gate = gate

    def process(self, batch: TagBatch) -> None:
        """Add one batch, with only the photons inside the gate."""
        self.analyzer.process(self.gate.apply(batch))

    def __getattr__(self, name: str) -> Any:
        if name in ("analyzer", "gate"):  # not set yet (copying, unpickling)
            raise AttributeError(name)
        return getattr(self.analyzer, name)

    def __repr__(self) -> str:
        return f"Gated({self.analyzer!r}, {self.gate.start_ps}-{self.gate.stop_ps} ps)"
