"""The streaming analyzers of a run, built from resolved settings and the run's metadata: one
place for the run summary and the live analysis, so both histogram alike."""

from __future__ import annotations

from typing import Any

from ..tags import RunMetadata
from .flid import FlidAnalyzer
from .g2 import G2Analyzer
from .g2_log import LogG2Analyzer
from .gate import Gated, NanotimeGate
from .lifetime import LifetimeAnalyzer
from .summary_settings import SummarySettings, detector_names, no_decay_reason
from .trace import TraceAnalyzer


def g2_analyzer(settings: SummarySettings, metadata: RunMetadata) -> G2Analyzer | None:
    """The HBT cross-correlation of the settings' pair (``None`` without a pair)."""
    if settings.g2_pair is None:
        return None
    analyzer = G2Analyzer(
        *settings.g2_pair,
        window=settings.g2_window,
        bin=settings.g2_bin,
        channels=metadata.channels,
        period_ps=metadata.laser_period_ps,
        delays=settings.delays,
    )
    return gated(analyzer, settings, metadata)


def gated(analyzer: Any, settings: SummarySettings, metadata: RunMetadata) -> Any:
    """``analyzer`` behind the settings' nanotime gate, if one is set (see
    :class:`~tagstream.analysis.summary_settings.SummarySettings`)."""
    if settings.gate is None:
        return analyzer
    gate = NanotimeGate(*settings.gate, channels=metadata.channels, delays=settings.delays)
    return Gated(analyzer, gate)


def lifetime_analyzer(settings: SummarySettings, metadata: RunMetadata) -> LifetimeAnalyzer | None:
    """The decay histogram of the settings' lifetime channel, laid out for the run (``None``
    when the run gives no decays)."""
    if settings.lifetime_channel is None or no_decay_reason(metadata) is not None:
        return None
    analyzer = LifetimeAnalyzer(
        settings.lifetime_channel,
        bin=settings.lifetime_bin,
        channels=metadata.channels,
        delays=settings.delays,
    )
    analyzer.configure(
        metadata.mode,
        metadata.sync_period_ps,
        metadata.nanotime_unit_ps,
        laser_period_ps=metadata.laser_period_ps,
        nanotime_range_ps=metadata.nanotime_range_ps,
    )
    return analyzer


def trace_channels(settings: SummarySettings, metadata: RunMetadata) -> list[str] | None:
    """The emitter's photons: the g2 pair, else every detector (``None`` if there are none)."""
    if settings.g2_pair is not None:
        return list(settings.g2_pair)
    return detector_names(metadata) or None


def trace_analyzer(settings: SummarySettings, metadata: RunMetadata) -> TraceAnalyzer | None:
    """The trace analyzer of the run's trace channels and bin (gated as the settings ask), or
    ``None`` when there are no trace channels."""
    detectors = trace_channels(settings, metadata)
    if detectors is None:
        return None
    analyzer = TraceAnalyzer(detectors, bin=settings.trace_bin, channels=metadata.channels)
    return gated(analyzer, settings, metadata)


def flid_analyzer(settings: SummarySettings, metadata: RunMetadata) -> FlidAnalyzer | None:
    """Counts and mean delays per trace bin (``None`` when the run gives no decays)."""
    detectors = trace_channels(settings, metadata)
    if detectors is None or no_decay_reason(metadata) is not None:
        return None
    return FlidAnalyzer(
        detectors, bin=settings.flid_bin, channels=metadata.channels, delays=settings.delays
    )


#: The log-binned g2 of runs without decays (CW): from the g2 bin to this lag, ps.
LOG_G2_MAX_PS = 10**12


def log_g2_analyzer(settings: SummarySettings, metadata: RunMetadata) -> LogG2Analyzer | None:
    """Multi-tau g2 of the pair from the g2 bin to 1 s, for runs without decays (no sync: the
    figure shows it instead of the decay); ``None`` otherwise."""
    if settings.g2_pair is None or no_decay_reason(metadata) is None:
        return None
    return LogG2Analyzer(
        *settings.g2_pair,
        tau_min=settings.g2_bin,
        tau_max=LOG_G2_MAX_PS,
        channels=metadata.channels,
    )
