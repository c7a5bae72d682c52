"""One-call analyses of in-memory tags: ``ts.g2``, ``ts.lifetime``, ``ts.trace`` and friends.

Each runs the streaming analyzer over the batch in one go; channels are named as in the batch's
channel map, or given by number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..tags import TagBatch, parse_time
from .blinking import BlinkingResult
from .flid import FlidAnalyzer, FlidResult
from .g2 import G2Analyzer, G2Result
from .g2_log import LogG2Analyzer, LogG2Result
from .lifetime import DecayResult, LifetimeAnalyzer
from .trace import TraceAnalyzer, TraceResult

Channels = str | int | Sequence[str | int] | None
Delays = Mapping[str | int, str | int] | None


def g2(
    tags: TagBatch,
    a: str | int,
    b: str | int,
    window: str | int = "100 ns",
    bin: str | int = "100 ps",
    delays: Delays = None,
) -> G2Result:
    """Linear-bin g2(τ) of channels ``a`` (start) and ``b`` (stop) over ``[-window, +window)``;
    ``delays`` (``{"B": "5 ns"}``) takes cable delays off the channels' tags."""
    analyzer = G2Analyzer(a, b, window=window, bin=bin, channels=tags.channel_map, delays=delays)
    analyzer.process(tags)
    return analyzer.result()


def g2_log(
    tags: TagBatch,
    a: str | int,
    b: str | int,
    tau_min: str | int = "1 ns",
    tau_max: str | int = "10 s",
    per_octave: int = 8,
) -> LogG2Result:
    """Log-binned (multi-tau) g2 from ``tau_min`` to at least ``tau_max``."""
    analyzer = LogG2Analyzer(
        a, b, tau_min=tau_min, tau_max=tau_max, per_octave=per_octave, channels=tags.channel_map
    )
    analyzer.process(tags)
    return analyzer.result()


def lifetime(
    tags: TagBatch,
    channel: str | int,
    bin: str | int = "16 ps",
    range: tuple[str | int, str | int] | None = None,
    sync: str | int | None = None,
    period: str | float | None = None,
    delays: Delays = None,
) -> DecayResult:
    """Decay histogram of one detector after the laser pulse (T3 nanotimes or T2 delays after
    the sync, folded onto the laser ``period``: by default the run metadata's)."""
    analyzer = LifetimeAnalyzer(
        channel,
        bin=bin,
        range=range,
        sync=sync,
        channels=tags.channel_map,
        period=period,
        delays=delays,
    )
    analyzer.process(tags)
    return analyzer.result()


def trace(tags: TagBatch, bin: str | int = "10 ms", channels: Channels = None) -> TraceResult:
    """Intensity trace of the detectors (all of the channel map's by default)."""
    analyzer = TraceAnalyzer(channels, bin=bin, channels=tags.channel_map)
    analyzer.process(tags)
    return analyzer.result()


def flid(
    tags: TagBatch,
    bin: str | int = "10 ms",
    channels: Channels = None,
    delay_range: tuple[str | int, str | int] | None = None,
    delays: Delays = None,
) -> FlidResult:
    """Per-bin counts and mean delay after the laser pulse, for a FLID map."""
    analyzer = FlidAnalyzer(
        channels, bin=bin, delay_range=delay_range, channels=tags.channel_map, delays=delays
    )
    analyzer.process(tags)
    return analyzer.result()


def blinking(
    tags: TagBatch,
    bin: str | int = "10 ms",
    channels: Channels = None,
    thresholds_cps: Sequence[float] | None = None,
    n_states: int | None = None,
    powerlaw_min: str | int = "auto",
) -> BlinkingResult:
    """Blinking analysis of the intensity trace: thresholds (automatic, or ``thresholds_cps``),
    ON/grey/OFF fractions, dwell times and their power-law exponents above ``powerlaw_min``
    (``"auto"``: the Kolmogorov–Smirnov-minimising cut; or a time)."""
    low = powerlaw_min if powerlaw_min == "auto" else parse_time(powerlaw_min, "powerlaw_min")
    return trace(tags, bin=bin, channels=channels).states(
        thresholds_cps, n_states, powerlaw_min_ps=low
    )
