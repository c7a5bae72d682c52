"""From the delay after the sync to the phase after the laser pulse.

A TCSPC unit times each photon against the sync. When the sync is divided (one sync every ``k``
laser pulses, common with 40–80 MHz lasers) the delay after the sync spans ``k`` laser periods,
and a photon excited by the third pulse after the sync arrives two periods late; a detector's
cable delay shifts its photons the same way. :class:`PhaseFold` says how every photon's delay
becomes its phase after the pulse that excited it, so that every photon enters one decay
histogram over one laser period.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import AnalysisError
from ..tags import ChannelMap, parse_time, resolve_channel
from ..tags.metadata import N_CHANNELS
from .channels import channel_key

#: A sync period within this fraction of a whole number of laser periods is that number.
DIVIDER_TOLERANCE = 2e-3
#: Bins over one sync period when the pulses per sync are found from the data, at most ...
PULSE_SEARCH_BINS = 8192
#: ... and at least this many per laser period.
PULSE_MIN_BINS = 8
#: Fewest photons to look for the pulses per sync in.
PULSE_SEARCH_MIN_PHOTONS = 200
#: A harmonic of the delay histogram stands out when its power exceeds the Poisson noise's
#: mean by this factor (the noise power is exponential: a chance of e^-40 per harmonic).
PULSE_HARMONIC_THRESHOLD = 40.0
#: The multiples of the pulses per sync hold at least this share of the harmonics' power.
PULSE_POWER_SHARE = 0.98


@dataclass(frozen=True)
class PhaseFold:
    """How a photon's delay after the sync becomes its phase after the laser pulse.

    Attributes
    ----------
    period_ps
        Laser period, ps: phases lie in ``[0, period_ps)``. With a divided sync it is the sync
        period over the divider, exactly.
    sync_period_ps
        Period of the sync the tagger sees, ps.
    divider
        Laser pulses per sync.
    reach_ps
        Raw delays after the sync that are used, ``[0, reach_ps)``, ps: a whole number of laser
        periods when that many are recorded (T3: within the TCSPC range), so that every phase
        is recorded equally often.
    offsets_ps
        float64[256]: each channel's delay, ps, subtracted before folding.
    """

    period_ps: float
    sync_period_ps: float
    divider: int
    reach_ps: float
    offsets_ps: np.ndarray

    @property
    def trivial(self) -> bool:
        """One pulse per sync and no delays: the phase is the raw delay."""
        return self.divider == 1 and not np.any(self.offsets_ps)

    @property
    def span_ps(self) -> float:
        """Longest phase range recorded: the period, or less when the TCSPC range is shorter."""
        return min(self.period_ps, self.reach_ps)

    def window(self, range_ps: tuple[int, int] | None, what: str) -> tuple[float, float]:
        """The phases to histogram, ps: ``range_ps``, else ``[0, span)``; at most one period.

        Raises
        ------
        AnalysisError
            A range longer than the period (naming ``what`` wants it).
        """
        start, stop = range_ps if range_ps is not None else (0, self.span_ps)
        if stop - start > self.period_ps * (1 + 1e-9):
            raise AnalysisError(
                f"{what}: the range {start / 1e3:g}-{stop / 1e3:g} ns is longer than the laser "
                f"period ({self.period_ps / 1e3:g} ns) the delays are folded onto"
            )
        return start, stop

    def kernel_args(self, start_ps: float) -> tuple[np.ndarray, float, float, float]:
        """``(offsets, reach, period, start)`` as the folding kernels take them
        (:mod:`~tagstream.kernels.decay_phase`)."""
        return self.offsets_ps, float(self.reach_ps), float(self.period_ps), float(start_ps)

    def folds(self, start: float) -> bool:
        """Whether the delays must be folded onto the period from ``start`` (a divider, channel
        delays or a negative start), rather than histogrammed as they are."""
        return math.isfinite(self.period_ps) and (not self.trivial or start < 0)


def divider_of(sync_period_ps: float, laser_period_ps: float) -> int:
    """Laser pulses per sync: the whole number ``sync / laser``.

    Raises
    ------
    AnalysisError
        When the sync period is not a whole number of laser periods.
    """
    ratio = sync_period_ps / laser_period_ps
    k = round(ratio)
    if k < 1 or abs(ratio - k) > DIVIDER_TOLERANCE * k:
        raise AnalysisError(
            f"the sync period ({sync_period_ps / 1e3:.6g} ns) is not a whole number of laser "
            f"periods ({laser_period_ps / 1e3:.6g} ns)"
        )
    return k


def phase_fold(
    mode: str,
    sync_period_ps: float | None,
    laser_period_ps: float | None = None,
    nanotime_range_ps: float | None = None,
    offsets_ps: np.ndarray | None = None,
) -> PhaseFold:
    """The fold of a run: its sync and laser periods, T3 range and channel delays.

    Parameters
    ----------
    mode
        ``"T2"`` or ``"T3"``.
    sync_period_ps
        Period of the sync the tagger sees, ps; ``None`` when unknown (no folding: phases are
        the delays themselves).
    laser_period_ps
        Laser period, ps; ``None`` for the sync period (no divider).
    nanotime_range_ps
        T3: the longest delay the unit records (the TCSPC range), ps; ``None`` if unlimited.
    offsets_ps
        float64[256] channel delays, ps (see :func:`channel_offsets`).
    """
    if offsets_ps is None:
        offsets = np.zeros(N_CHANNELS)
    else:
        offsets = np.asarray(offsets_ps, dtype=np.float64)
    if sync_period_ps is None:  # delays as they are, without a period to fold onto
        return PhaseFold(math.inf, math.inf, 1, math.inf, offsets)
    if not (sync_period_ps > 0 and math.isfinite(sync_period_ps)):
        raise AnalysisError(f"the sync period must be positive, got {sync_period_ps} ps")
    k = 1 if laser_period_ps is None else divider_of(sync_period_ps, laser_period_ps)
    period = sync_period_ps / k
    if mode == "T3":
        recorded = sync_period_ps
        if nanotime_range_ps is not None and nanotime_range_ps > 0:
            recorded = min(recorded, float(nanotime_range_ps))
        whole = math.floor(recorded / period + 1e-9)
        reach = whole * period if whole >= 1 else recorded
    else:
        reach = sync_period_ps + period  # a late or missing sync tag costs nothing
    return PhaseFold(period, float(sync_period_ps), k, float(reach), offsets)


def channel_offsets(
    delays: Mapping[str | int, str | int | float] | None,
    channels: ChannelMap | None,
    sync: int | None = None,
) -> np.ndarray:
    """float64[256]: the delay of each channel, ps, from ``{channel: delay}`` (names or
    numbers; delays as ``"5 ns"`` or ps). A channel's tags arrive that much later than its
    light: the analyses subtract it. With the ``sync`` channel's number, delays are relative
    to the sync's (a late sync shortens every delay after it)."""
    offsets = np.zeros(N_CHANNELS, dtype=np.float64)
    for key, value in (delays or {}).items():
        number = resolve_channel(channel_key(key, channels), channels)
        offsets[number] = float(parse_time(value, f"delay of channel {key}"))
    if sync is not None:
        offsets -= offsets[sync]
    return offsets


def pulses_per_sync(
    delays_ps: np.ndarray,
    sync_period_ps: float,
    grid_ps: float = 1.0,
    share: float = PULSE_POWER_SHARE,
) -> int | None:
    """Laser pulses per sync period, found from photon delays after the sync.

    The delays are histogrammed over one sync period; with ``k`` pulses per sync the histogram
    repeats ``k`` times, so its Fourier power sits at the harmonics that are multiples of ``k``.
    Harmonics whose power stands out from the Poisson noise (more than
    :data:`PULSE_HARMONIC_THRESHOLD` times the noise level, which is the number of photons) are
    kept; the answer is the largest ``k`` whose multiples hold ``share`` of their excess power.
    A decay slower than the period weakens the harmonics but not their pattern. The bins are
    whole multiples of the delays' grid (the time resolution), so that the grid itself adds no
    comb to the histogram.

    Parameters
    ----------
    delays_ps
        Raw delays after the sync, ps (those outside ``[0, sync_period_ps)`` are ignored).
    sync_period_ps
        Period of the sync, ps.
    grid_ps
        The delays' resolution, ps (T2: the time resolution; T3: the nanotime unit).

    Returns
    -------
    The number of pulses per sync, or ``None`` when the delays show no periodic structure (too
    few photons, CW light).
    """
    d = np.asarray(delays_ps, dtype=np.float64)
    d = d[(d >= 0) & (d < sync_period_ps)]
    if d.size < PULSE_SEARCH_MIN_PHOTONS or not grid_ps > 0:
        return None
    steps = max(1, round(sync_period_ps / grid_ps))
    width = grid_ps * max(1, -(-steps // PULSE_SEARCH_BINS))
    n_bins = max(1, round(sync_period_ps / width))
    counts = np.bincount(np.minimum((d / width).astype(np.int64), n_bins - 1), minlength=n_bins)
    power = np.abs(np.fft.rfft(counts))[1 : n_bins // 2] ** 2 / d.size  # noise: 1 per harmonic
    excess = np.where(power > PULSE_HARMONIC_THRESHOLD, power - 1.0, 0.0)
    total = excess.sum()
    if total <= 0:
        return None
    harmonic = np.arange(1, power.size + 1)
    for k in range(max(1, n_bins // PULSE_MIN_BINS), 0, -1):
        if excess[harmonic % k == 0].sum() >= share * total:
            return k
    return None
