"""Analyses restricted to one blinking state: per-state decay histograms and the g2 of ON periods.

The state periods come from a :class:`~tagstream.analysis.blinking.BlinkingResult`; the tags are
restricted to them with every other moment of the run treated as lost time, so normalisations
count only the time spent in the state.

By default only the *interior* bins of each state are used: bins whose neighbours on both sides
are in the same state. The bins at the ends of a run hold the switch into or out of the state,
so they mix the photons of two states (a grey state's decay picks up the slow ON photons, an OFF
state's the grey and ON ones) and bias every per-state quantity; a run of one or two bins is all
transition and is left out entirely. The price is live time: about two bins per dwell, reported
by :func:`state_shares`. ``interior=False`` gives the old selection (every bin classified into
the state).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..tags import TagBatch
from .blinking import BlinkingResult
from .blinking_states import STATE_NAMES
from .channels import resolve_many
from .g2 import G2Result
from .lifetime import DecayResult


@dataclass(frozen=True)
class StateShare:
    """How much of one state a selection of bins keeps.

    Attributes
    ----------
    state
        "on", "grey" or "off".
    live_ps, state_live_ps
        Live time of the selected bins and of every bin in the state, ps.
    photons, state_photons
        Detector tags in the selected bins and in every bin in the state.
    """

    state: str
    live_ps: int
    state_live_ps: int
    photons: int
    state_photons: int

    @property
    def live_fraction(self) -> float:
        """Share of the state's live time kept (NaN when the state never occurs)."""
        return self.live_ps / self.state_live_ps if self.state_live_ps else float("nan")

    @property
    def photon_fraction(self) -> float:
        """Share of the state's photons kept (NaN without photons in the state)."""
        return self.photons / self.state_photons if self.state_photons else float("nan")


def in_state(
    tags: TagBatch, blinking: BlinkingResult, state: str | int, interior: bool = True
) -> TagBatch:
    """The tags emitted while the emitter was in ``state`` ("on", "grey" or "off").

    Parameters
    ----------
    interior
        True (default): only the bins away from switches (see the module docstring); False:
        every bin classified into the state, including those in which the emitter switched.
    """
    return tags.restricted_to(blinking.intervals(state, interior=interior))


def state_shares(
    tags: TagBatch,
    blinking: BlinkingResult,
    interior: bool = True,
    detectors: str | int | Sequence[str | int] | None = None,
) -> dict[str, StateShare]:
    """Live time and photons that the state selection keeps, for each state that occurs.

    Parameters
    ----------
    interior
        The selection to report (as for :func:`in_state`).
    detectors
        Channels whose tags count as photons; default every detector of the channel map.
    """
    numbers = np.asarray(resolve_many(detectors, tags.channel_map))
    out = {}
    for name in STATE_NAMES:
        if blinking.fractions.get(name, 0.0) <= 0:
            continue
        kept = in_state(tags, blinking, name, interior=interior)
        every = in_state(tags, blinking, name, interior=False)
        out[name] = StateShare(
            name,
            kept.live_ps,
            every.live_ps,
            int(np.isin(kept.channels, numbers).sum()),
            int(np.isin(every.channels, numbers).sum()),
        )
    return out


def state_lifetimes(
    tags: TagBatch,
    blinking: BlinkingResult,
    channel: str | int,
    bin: str | int = "16 ps",
    range: tuple[str | int, str | int] | None = None,
    interior: bool = True,
    delays: Mapping[str | int, str | int] | None = None,
) -> dict[str, DecayResult]:
    """Decay histogram of ``channel`` in each state that occurs (ON, grey, OFF).

    Auger-quenched OFF (trion) states decay fast, band-edge grey states in between: fit each
    result with :meth:`DecayResult.fit`. By default (``interior=True``) only the bins away from
    switches enter, so that a state's decay holds no photons of its neighbours; a state whose
    runs are all one or two bins long then gives an empty histogram. See :func:`state_shares`
    for the live time and photons kept.
    """
    from .api import lifetime

    out = {}
    for name in STATE_NAMES:
        if blinking.fractions.get(name, 0.0) > 0:
            selected = in_state(tags, blinking, name, interior=interior)
            out[name] = lifetime(selected, channel, bin=bin, range=range, delays=delays)
    return out


def g2_in_state(
    tags: TagBatch,
    blinking: BlinkingResult,
    a: str | int,
    b: str | int,
    state: str | int = "on",
    window: str | int = "100 ns",
    bin: str | int = "100 ps",
    interior: bool = True,
    delays: Mapping[str | int, str | int] | None = None,
) -> G2Result:
    """g2(τ) of the photons emitted in one state (ON by default): removes the bunching that
    blinking adds and the biexciton-free OFF photons from the purity figure. By default only
    the bins away from switches enter (``interior=False``: every bin of the state)."""
    from .api import g2

    selected = in_state(tags, blinking, state, interior=interior)
    return g2(selected, a, b, window=window, bin=bin, delays=delays)
