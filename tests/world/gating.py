"""What a nanotime gate does to a pulsed emitter of :func:`tests.world.emitter.pulsed`: the
expected raw zero-to-adjacent peak ratio of the gated A-B histogram and each detector's share
of photons inside the gate, from the model's own laws (numerical integrals), not from its
photons.

A photon counts when its delay after the pulse, plus the detector's ``offset_ps`` (its cable
delay less the sync's delay and less any delay the analysis takes off), lies in
``[start, stop)``. Single-photon pulses emit after ``Exp(tau)``; two-photon pulses are the
cascade of the generator: the biexciton photon after ``d1 ~ Exp(tau_bx)``, the exciton photon
after ``d1 + d2``, ``d2 ~ Exp(tau)``. Uncorrelated counts are uniform over the period. Timing
jitter is ignored: keep the gate's edges where the decay changes little over the jitter.
Delays longer than a period (wrapping onto the next pulse) are ignored: keep ``tau`` well
below the period.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.integrate import quad


def _p_exp(tau: float, lo: float, hi: float) -> float:
    """P(lo <= d < hi) for d ~ Exp(tau)."""
    lo, hi = max(lo, 0.0), max(hi, 0.0)
    return float(np.exp(-lo / tau) - np.exp(-hi / tau))


def _p_cascade_pair(
    tau_bx: float, tau_x: float, gate: tuple[float, float], off_bx: float, off_x: float
) -> float:
    """P(the biexciton photon and the exciton photon both pass), each with its offset."""
    g0, g1 = gate

    def density(d1: float) -> float:
        return np.exp(-d1 / tau_bx) / tau_bx * _p_exp(tau_x, g0 - off_x - d1, g1 - off_x - d1)

    lo, hi = max(g0 - off_bx, 0.0), max(g1 - off_bx, 0.0)
    return float(quad(density, lo, hi, limit=200)[0]) if hi > lo else 0.0


def _p_exciton_of_cascade(tau_bx: float, tau_x: float, gate: tuple[float, float], off: float):
    """P(the exciton photon of a cascade passes)."""
    g0, g1 = gate

    def density(d1: float) -> float:
        return np.exp(-d1 / tau_bx) / tau_bx * _p_exp(tau_x, g0 - off - d1, g1 - off - d1)

    return float(quad(density, 0.0, max(g1 - off, 0.0), limit=200)[0])


def gated_truth(
    truth: Mapping, gate_ps: tuple[float, float], offsets_ps: Mapping[str, float] | None = None
) -> dict[str, object]:
    """The gated A-B zero-to-adjacent peak ratio (``"g2_zero_detected"``) and each detector's
    share of its photons inside the gate (``"share"``), for the ``truth`` of a pulsed world.

    Parameters
    ----------
    truth
        ``World.truth`` of :func:`tests.world.emitter.pulsed` (one exciton lifetime).
    gate_ps
        ``(start, stop)``, ps after the pulse.
    offsets_ps
        ``{detector name: offset}`` (see the module docstring); 0 when absent.
    """
    if truth["tau_ps"] is None:
        raise ValueError("gated_truth needs a single exciton lifetime")
    names = list(truth["signal_per_pulse"])
    off = {n: float((offsets_ps or {}).get(n, 0.0)) for n in names}
    tau = float(truth["tau_ps"])
    tau_bx = float(truth["biexciton_tau_ps"] or tau)
    period = float(truth["period_ps"])
    p1, p2, mean = float(truth["p1"]), float(truth["p2"]), float(truth["mean_photons"])
    g0, g1 = map(float, gate_ps)
    gate = (g0, g1)
    width = (g1 - g0) / period
    s = {n: float(truth["signal_per_pulse"][n]) / mean for n in names}  # per emitted photon
    bg = {n: float(truth["uncorrelated_per_period"][n]) for n in names}
    inside, share = {}, {}
    for n in names:
        single = _p_exp(tau, g0 - off[n], g1 - off[n])
        bx = _p_exp(tau_bx, g0 - off[n], g1 - off[n])
        x = _p_exciton_of_cascade(tau_bx, tau, gate, off[n])
        signal = s[n] * (p1 * single + p2 * (bx + x))  # gated signal photons per pulse
        inside[n] = signal + bg[n] * width
        share[n] = inside[n] / (s[n] * mean + bg[n])
    a, b = names
    pair = _p_cascade_pair(tau_bx, tau, gate, off[a], off[b]) + _p_cascade_pair(
        tau_bx, tau, gate, off[b], off[a]
    )
    zero_signal = s[a] * s[b] * p2 * pair
    side = inside[a] * inside[b]
    cross = side - (inside[a] - bg[a] * width) * (inside[b] - bg[b] * width)
    return {"g2_zero_detected": (zero_signal + cross) / side, "share": share}
