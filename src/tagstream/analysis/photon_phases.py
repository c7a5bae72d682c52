"""Each photon's delay after the laser pulse that excited it, folded onto the laser period (for
analyses that follow photons one by one: the decay of each intensity level)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import AnalysisError
from ..kernels import NO_SYNC
from ..kernels.photon_phase import photon_phases_t2, photon_phases_t3
from ..tags import ChannelMap, TagBatch
from .channels import resolve_sync
from .laser_phase import PhaseFold, channel_offsets, phase_fold


class PhotonPhases:
    """Phases (ps, in ``[0, period)``) of the photons of a stream, batch by batch.

    Parameters
    ----------
    channels
        The run's channel map (its sync channel for T2 data).
    delays
        ``{channel: delay}``: cable delays to take off each channel.
    """

    def __init__(self, channels: ChannelMap | None, delays: Mapping | None = None):
        self.sync = resolve_sync(None, channels)
        self._offsets = channel_offsets(delays, channels, sync=self.sync)
        self._last_sync = np.array([NO_SYNC], dtype=np.int64)
        self.fold: PhaseFold | None = None

    @property
    def period_ps(self) -> float | None:
        """The laser period the phases are folded onto, ps (known from the first batch on)."""
        return None if self.fold is None else float(self.fold.period_ps)

    def _setup(self, batch: TagBatch) -> None:
        md = batch.metadata
        laser = None if md is None else md.laser_period_ps
        sync_period = batch.sync_period_ps or laser
        if sync_period is None:
            raise AnalysisError("no sync period is known: no photon delays")
        if batch.mode == "T2" and self.sync is None:
            raise AnalysisError("T2 data need a sync channel for photon delays")
        range_ps = None if md is None else md.nanotime_range_ps
        self.fold = phase_fold(batch.mode, sync_period, laser, range_ps, self._offsets)

    def of(self, batch: TagBatch) -> np.ndarray:
        """The phase of every tag of ``batch``, ps (NaN for sync tags and photons without a
        recorded delay)."""
        if self.fold is None:
            self._setup(batch)
        out = np.empty(len(batch.timestamps))
        offsets, reach, period, start = self.fold.kernel_args(0.0)
        if batch.mode == "T3":
            unit = float(batch.nanotime_unit_ps)
            photon_phases_t3(
                batch.channels, batch.nanotimes, unit, offsets, reach, period, start, out
            )
        else:
            photon_phases_t2(
                batch.timestamps, batch.channels, np.int64(self.sync), offsets, reach, period,
                start, self._last_sync, out,
            )  # fmt: skip
        return out
