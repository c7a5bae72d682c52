"""Pulsed emitter kernels for the simulator.

When an exciton may still be alive at the next pulse (a period not much longer than the
lifetime), the emitter must be followed pulse by pulse: an exciton hit by another excitation
becomes a biexciton (more collapse to one by Auger), which decays by a cascade BX -> X. When
pulses are independent, only the pulses that yield a detected photon are drawn. Random numbers
come from the splitmix64 generator of :mod:`.random`, seeded per call, so a run is reproducible
from its seed. (CW pumping: :mod:`.cw_emission`.)

Photon kinds: 0 = exciton (X), 1 = biexciton (BX -> X step).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .random import next_exponential, next_uniform

KIND_X = 0
KIND_BX = 1


@njit(nogil=True, cache=True)
def pulsed_sequence(
    pulse_t, n_exc, state, tau_x, qy_x, tau_bx, qy_bx, carry, seed, out_t, out_kind
):
    """Follow the emitter through the excited pulses of one block.

    Parameters
    ----------
    pulse_t : float64[m]
        Times of the pulses that excited the emitter, ps, increasing.
    n_exc : int64[m]
        Excitations created by each of them (>= 1).
    state : int64[m]
        Blinking state at each of them (index into ``tau_x``/``qy_x``).
    tau_x, qy_x : float64[states]
        Exciton lifetime (ps) and quantum yield per state.
    tau_bx, qy_bx : float
        Biexciton lifetime (ps) and quantum yield of its BX -> X step.
    carry : float64[3]
        ``[alive_until, pending_time, pending_radiative]``: when the last exciton decays, and its
        photon (emitted only if that exciton is not hit again first). Updated in place.
    seed : int
    out_t, out_kind : float64[>= 2 m + 1], int64[...]
        Emission times and kinds of the photons that are certain.

    Returns
    -------
    int
        Number of photons written.
    """
    rs = np.uint64(seed)
    alive_until = carry[0]
    pend_t = carry[1]
    pend_r = carry[2] > 0.5
    n_out = 0
    for j in range(pulse_t.shape[0]):
        tp = pulse_t[j]
        n = n_exc[j]
        s = state[j]
        if tp < alive_until:
            n += 1  # the living exciton joins the new excitations; its photon never comes
            pend_r = False
        elif pend_r:
            out_t[n_out] = pend_t
            out_kind[n_out] = KIND_X
            n_out += 1
            pend_r = False
        start = tp
        if n >= 2:  # a biexciton (more excitons collapse to one by Auger)
            e, rs = next_exponential(rs)
            start = tp + e * tau_bx
            u, rs = next_uniform(rs)
            if u < qy_bx:
                out_t[n_out] = start
                out_kind[n_out] = KIND_BX
                n_out += 1
        e, rs = next_exponential(rs)
        alive_until = start + e * tau_x[s]
        pend_t = alive_until
        u, rs = next_uniform(rs)
        pend_r = u < qy_x[s]
    carry[0] = alive_until
    carry[1] = pend_t
    carry[2] = 1.0 if pend_r else 0.0
    return n_out


@njit(nogil=True, cache=True)
def flush_pending(carry, end, out_t, out_kind):
    """Emit the last exciton's photon if it comes before ``end``; returns photons written."""
    if carry[2] > 0.5 and carry[1] < end:
        out_t[0] = carry[1]
        out_kind[0] = KIND_X
        carry[2] = 0.0
        return 1
    return 0


@njit(nogil=True, cache=True, inline="always")
def _pick(cum, n_cum, u):
    """Index drawn with cumulative probabilities ``cum`` (``n_cum`` entries, the last 1) for
    the uniform ``u``."""
    d = 0
    while d < n_cum - 1 and u >= cum[d]:
        d += 1
    return d


@njit(nogil=True, cache=True)
def independent_pulses(
    seg_start,
    seg_end,
    seg_state,
    period,
    p_pulse,
    outcome_cum,
    tau_bx,
    tau_x,
    x_cum,
    bx_cum,
    seed,
    out_t,
    out_d,
):
    """Detected photons of the pulses (at ``round(k * period)`` ps) inside the blinking segments
    ``[seg_start[i], seg_end[i])`` when pulses are independent: in state ``s`` a pulse yields
    at least one detected photon with ``p_pulse[s]``; such pulses are drawn as geometric gaps,
    and what each yields is one of four outcomes.

    Parameters
    ----------
    seg_start, seg_end, seg_state : int64[m]
        The segments, ps, and the state of each.
    p_pulse : float64[states]
    outcome_cum : float64[states, 4]
        Cumulative probabilities, given a detected photon, of: an exciton alone (one
        excitation); a cascade with only the BX photon detected; only the X photon; both.
    tau_bx : float
        Biexciton lifetime, ps.
    tau_x : float64[states]
        Exciton lifetime per state, ps.
    x_cum, bx_cum : float64[detectors]
        Cumulative share of the detected X and BX photons per detector (they differ behind
        spectral filters).
    seed : int
    out_t, out_d : float64[cap], int64[cap]
        Emission times (ps) and detector indices.

    Returns
    -------
    int
        Photons written, or -1 when ``out_t`` is too small.
    """
    rs = np.uint64(seed)
    cap = out_t.shape[0]
    n_cum = x_cum.shape[0]
    n = 0
    for i in range(seg_start.shape[0]):
        s = seg_state[i]
        p = p_pulse[s]
        if p <= 0.0:
            continue
        k1 = np.int64(np.ceil((seg_end[i] - 0.5) / period))
        k = np.int64(np.ceil((seg_start[i] - 0.5) / period)) - 1
        gap_scale = -1.0 / np.log1p(-p) if p < 1.0 else 0.0
        c0, c1, c2 = outcome_cum[s, 0], outcome_cum[s, 1], outcome_cum[s, 2]
        tx = tau_x[s]
        while True:
            e, rs = next_exponential(rs)
            k += 1 + np.int64(e * gap_scale)
            if k >= k1:
                break
            if n + 2 > cap:
                return -1
            tp = np.floor(k * period + 0.5)
            u, rs = next_uniform(rs)
            if u < c0:  # one exciton
                e, rs = next_exponential(rs)
                out_t[n] = tp + e * tx
                v, rs = next_uniform(rs)
                out_d[n] = _pick(x_cum, n_cum, v)
                n += 1
                continue
            e, rs = next_exponential(rs)
            t_bx = tp + e * tau_bx
            if u >= c2 or u < c1:  # the BX photon is detected
                out_t[n] = t_bx
                v, rs = next_uniform(rs)
                out_d[n] = _pick(bx_cum, n_cum, v)
                n += 1
            if u >= c1:  # the X photon is detected
                e, rs = next_exponential(rs)
                out_t[n] = t_bx + e * tx
                v, rs = next_uniform(rs)
                out_d[n] = _pick(x_cum, n_cum, v)
                n += 1
    return n
