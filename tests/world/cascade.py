"""Several pulsed emitters with biexciton-exciton cascades, their photons routed by colour to
any number of detectors (dichroic mirrors, filters, beam splitters), for the correlations of
three or more detectors: XX–X cross-correlation, heralded g2, g3.

Written from the definitions, like :mod:`tests.world.emitter` (whose detection chain after
routing, dead time, sync and T2/T3 packaging it reuses: see the conventions there), and
independently of tagstream's simulator.

Model, per laser pulse ``k`` (at ``k * period_ps``) and per dot, independently:

* with probability ``p_cascade`` a biexciton: a BX photon after ``Exp(tau_bx_ps)``, then an X
  photon ``Exp(tau_x_ps)`` later;
* else with probability ``p_single`` one X photon after ``Exp(tau_x_ps)``;
* else nothing.

Each photon reaches detector ``j`` with probability ``route[colour][j]`` (the rows sum to at
most 1; the rest is lost), independently. Uncorrelated light: ``background_cps[j]`` per
detector (Poisson, uniform), plus each detector's dark counts.

Truth (exact for this model without dead time, with decays and jitter much shorter than the
period): the coincidence numbers the analyses form are products of detector counts ``n_j`` in
one-period windows, and their means follow from the moments of each independent source
(:func:`window_moment`):

* ``g3_zero`` = E[n_A n_B n_C] / (E[n_A] E[n_B] E[n_C]) over the first three detectors;
* ``heralded_g2_zero`` = E[n_H] E[n_H n_A n_B] / (E[n_H n_A] E[n_H n_B]) with (H, A, B) the
  first three detectors;
* ``xx_x_bunching`` = E[n_0 n_1] / (E[n_0] E[n_1]) of the first two detectors (BX and X
  filtered).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .emitter import PS_PER_S, Setup, World, _assemble, _Photons, _uniform_events, _whole

COLOURS = ("X", "BX")


@dataclass(frozen=True)
class Dot:
    """One emitter: per pulse a cascade with ``p_cascade``, else one exciton photon with
    ``p_single``; exciton and biexciton lifetimes (ps), by default those of a dot at 4 K, short
    enough that no photon leaves its pulse's window at 80 MHz (the truth assumes so)."""

    p_single: float
    p_cascade: float = 0.0
    tau_x_ps: float = 400.0
    tau_bx_ps: float = 150.0

    def outcomes(self) -> list[tuple[float, tuple[str, ...]]]:
        """(probability, colours of the photons) per pulse."""
        none = 1.0 - self.p_single - self.p_cascade
        if none < 0 or self.p_single < 0 or self.p_cascade < 0:
            raise ValueError("p_single + p_cascade must lie in [0, 1]")
        return [(none, ()), (self.p_single, ("X",)), (self.p_cascade, ("BX", "X"))]


def window_moment(
    dots: Sequence[Dot],
    route: Mapping[str, Sequence[float]],
    background_per_window: Sequence[float],
    detectors: Sequence[int],
) -> float:
    """E[prod of n_j over the distinct ``detectors``] in one pulse's window: every way of giving
    each detector its own photon from the independent sources (each dot, the Poisson
    background of each detector)."""
    sources = [*dots, "background"]
    total = 0.0
    for owners in itertools.product(range(len(sources)), repeat=len(detectors)):
        term = 1.0
        for s in set(owners):
            dets = [d for d, o in zip(detectors, owners, strict=True) if o == s]
            if sources[s] == "background":
                term *= float(np.prod([background_per_window[d] for d in dets]))
            else:
                term *= _dot_moment(sources[s], route, dets)
        total += term
    return total


def _dot_moment(dot: Dot, route: Mapping[str, Sequence[float]], dets: list[int]) -> float:
    """E[prod n_j] of one dot's photons in one pulse: distinct photons to distinct detectors."""
    out = 0.0
    for p, photons in dot.outcomes():
        for chosen in itertools.permutations(range(len(photons)), len(dets)):
            out += p * float(np.prod([route[photons[i]][d] for i, d in zip(chosen, dets,
                                                                             strict=True)]))
    return out


def cascade(
    rng: np.random.Generator,
    duration_ps: int,
    setup: Setup,
    period_ps: int,
    dots: Sequence[Dot],
    route: Mapping[str, Sequence[float]],
    background_cps: Sequence[float] | None = None,
    chunk_pulses: int = 1 << 20,
) -> World:
    """Pulsed ``dots`` on ``setup`` (any number of detectors), photons routed by ``route``
    ``{"X": [p_0, p_1, ...], "BX": [...]}`` (see the module docstring)."""
    duration_ps, period_ps = _whole(duration_ps, "duration_ps"), _whole(period_ps, "period_ps")
    n_det = len(setup.detectors)
    table = {c: np.asarray(route.get(c, [0.0] * n_det), float) for c in COLOURS}
    for colour, row in table.items():
        if row.size != n_det or row.min() < 0 or row.sum() > 1 + 1e-12:
            raise ValueError(f"route[{colour!r}] needs {n_det} probabilities summing to <= 1")
    background = np.zeros(n_det) if background_cps is None else np.asarray(background_cps, float)
    photons = _Photons(n_det)
    n_pulses = -(-duration_ps // period_ps)
    for k0 in range(0, n_pulses, chunk_pulses):
        k1 = min(n_pulses, k0 + chunk_pulses)
        for dot in dots:
            _emit(rng, dot, np.arange(k0, k1, dtype=np.int64), period_ps, table, setup, photons)
    for j, det in enumerate(setup.detectors):
        for rate, kind in ((background[j], 1), (det.dark_cps, 2)):
            ti, tf = _uniform_events(rng, rate, duration_ps)
            photons.add(j, ti, tf, kind)

    per_window = [(background[j] + d.dark_cps) * period_ps / PS_PER_S
                  for j, d in enumerate(setup.detectors)]  # fmt: skip

    def moment(*dets: int) -> float:
        return window_moment(dots, table, per_window, dets)

    truth: dict = {
        "excitation": "pulsed",
        "period_ps": period_ps,
        "sync_period_ps": period_ps * int(setup.sync_divider),
        "laser_rate_hz": PS_PER_S / period_ps,
        "mean_per_pulse": {d.name: moment(j) for j, d in enumerate(setup.detectors)},
        "xx_x_bunching": moment(0, 1) / (moment(0) * moment(1)),
        "delays": {d.name: int(d.delay_ps) for d in setup.detectors},
    }
    if n_det >= 3:
        truth["g3_zero"] = moment(0, 1, 2) / (moment(0) * moment(1) * moment(2))
        truth["heralded_g2_zero"] = moment(0) * moment(0, 1, 2) / (moment(0, 1) * moment(0, 2))
    settings = {"generator": "tests.world.cascade", "period_ps": period_ps, "dots": len(dots)}
    return _assemble(setup, duration_ps, photons, period_ps, truth, settings)


def _emit(rng, dot: Dot, pulses, period_ps, table, setup: Setup, out: _Photons) -> None:
    """One dot's photons of ``pulses``, routed and detected (jitter and delay added)."""
    u = rng.random(pulses.size)
    cascade_ = pulses[u < dot.p_cascade]
    single = pulses[(u >= dot.p_cascade) & (u < dot.p_cascade + dot.p_single)]
    t_bx = rng.standard_exponential(cascade_.size) * dot.tau_bx_ps
    t_x2 = t_bx + rng.standard_exponential(cascade_.size) * dot.tau_x_ps
    t_x1 = rng.standard_exponential(single.size) * dot.tau_x_ps
    for colour, base, rel in (("BX", cascade_, t_bx), ("X", cascade_, t_x2), ("X", single, t_x1)):
        row = table[colour]
        pick = rng.random(rel.size)
        det = np.searchsorted(np.cumsum(row), pick, side="right")  # == len(row): lost
        normal = rng.standard_normal(rel.size)
        for j, d in enumerate(setup.detectors):
            sel = det == j
            off = rel[sel] + normal[sel] * d.jitter_ps + d.delay_ps
            whole = np.floor(off)
            out.add(j, base[sel] * period_ps + whole.astype(np.int64), off - whole, 0)
