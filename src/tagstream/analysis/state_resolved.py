"""Analyses restricted to one blinking state: per-state decay histograms and the g2 of ON periods.

The state periods come from a :class:`~tagstream.analysis.blinking.BlinkingResult`; the tags are
restricted to them with every other moment of the run treated as lost time, so normalisations
count only the time spent in the state.
"""

from __future__ import annotations

from ..tags import TagBatch
from .blinking import STATE_NAMES, BlinkingResult
from .g2 import G2Result
from .lifetime import DecayResult


def in_state(tags: TagBatch, blinking: BlinkingResult, state: str | int) -> TagBatch:
    """The tags emitted while the emitter was in ``state`` ("on", "grey" or "off")."""
    return tags.restricted_to(blinking.intervals(state))


def state_lifetimes(
    tags: TagBatch,
    blinking: BlinkingResult,
    channel: str | int,
    bin: str | int = "16 ps",
    range: tuple[str | int, str | int] | None = None,
) -> dict[str, DecayResult]:
    """Decay histogram of ``channel`` in each state that occurs (ON, grey, OFF).

    Auger-quenched OFF (trion) states decay fast, band-edge grey states in between: fit each
    result with :meth:`DecayResult.fit`.
    """
    from .api import lifetime

    out = {}
    for name in STATE_NAMES:
        if blinking.fractions.get(name, 0.0) > 0:
            out[name] = lifetime(in_state(tags, blinking, name), channel, bin=bin, range=range)
    return out


def g2_in_state(
    tags: TagBatch,
    blinking: BlinkingResult,
    a: str | int,
    b: str | int,
    state: str | int = "on",
    window: str | int = "100 ns",
    bin: str | int = "100 ps",
) -> G2Result:
    """g2(τ) of the photons emitted in one state (ON by default): removes the bunching that
    blinking adds and the biexciton-free OFF photons from the purity figure."""
    from .api import g2

    return g2(in_state(tags, blinking, state), a, b, window=window, bin=bin)
