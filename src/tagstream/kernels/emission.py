"""Sequential emitter kernels for the simulator: excitations that overlap in time.

When an exciton may still be alive at the next excitation (pulsed excitation with a period not
much longer than the lifetime, or CW pumping), the emitter must be followed event by event:
an exciton hit by another excitation becomes a biexciton (more collapse to one by Auger), which
decays by a cascade BX -> X. Random numbers come from numba's generator, seeded per call, so a
run is reproducible from its seed.

Photon kinds: 0 = exciton (X), 1 = biexciton (BX -> X step).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .random import exponential, uniform

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
    rng = np.empty(1, np.uint64)
    rng[0] = np.uint64(seed)
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
            start = tp + exponential(rng) * tau_bx
            if uniform(rng) < qy_bx:
                out_t[n_out] = start
                out_kind[n_out] = KIND_BX
                n_out += 1
        alive_until = start + exponential(rng) * tau_x[s]
        pend_t = alive_until
        pend_r = uniform(rng) < qy_x[s]
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


@njit(nogil=True, cache=True)
def cw_sequence(
    t_start,
    t_end,
    seg_start,
    seg_state,
    pump_per_ps,
    tau_x,
    qy_x,
    tau_bx,
    qy_bx,
    carry,
    seed,
    out_t,
    out_kind,
):
    """Follow a CW-pumped emitter from ``t_start`` until ``t_end`` or a full output.

    The emitter is a chain ground -> X -> BX: pumped at ``pump_per_ps`` from the ground state and
    from X, X decays with ``tau_x`` (emitting with ``qy_x``), BX decays to X with ``tau_bx``
    (emitting with ``qy_bx``). All waiting times are exponential, so the walk may stop at any
    time and resume there: ``carry = [time, level]`` (level 0, 1, 2 excitons).

    ``seg_start``/``seg_state``: the blinking segments covering ``[t_start, t_end)``.
    Returns the number of photons written; ``carry[0] >= t_end`` when the block is done.
    """
    rng = np.empty(1, np.uint64)
    rng[0] = np.uint64(seed)
    t = max(carry[0], t_start)
    level = int(carry[1])
    cap = out_t.shape[0]
    n_out = 0
    k = 0
    n_seg = seg_start.shape[0]
    mean_pump = 1.0 / pump_per_ps
    while n_out < cap:
        while k + 1 < n_seg and seg_start[k + 1] <= t:
            k += 1
        s = seg_state[k]
        if level == 0:
            t_next = t + exponential(rng) * mean_pump
            if t_next >= t_end:
                t = t_end
                break
            t = t_next
            level = 1
        elif level == 1:
            decay = exponential(rng) * tau_x[s]
            pump = exponential(rng) * mean_pump
            if min(decay, pump) + t >= t_end:
                t = t_end
                break
            if decay < pump:
                t += decay
                level = 0
                if uniform(rng) < qy_x[s]:
                    out_t[n_out] = t
                    out_kind[n_out] = KIND_X
                    n_out += 1
            else:
                t += pump
                level = 2
        else:
            t_next = t + exponential(rng) * tau_bx
            if t_next >= t_end:
                t = t_end
                break
            t = t_next
            level = 1
            if uniform(rng) < qy_bx:
                out_t[n_out] = t
                out_kind[n_out] = KIND_BX
                n_out += 1
    carry[0] = t
    carry[1] = level
    return n_out


@njit(nogil=True, cache=True, inline="always")
def _pick(cum, rng):
    """Index drawn with cumulative probabilities ``cum`` (last entry 1)."""
    u = uniform(rng)
    d = 0
    while d < cum.shape[0] - 1 and u >= cum[d]:
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
    detector_cum,
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
    detector_cum : float64[detectors]
        Cumulative share of the detected photons per detector.
    seed : int
    out_t, out_d : float64[cap], int64[cap]
        Emission times (ps) and detector indices.

    Returns
    -------
    int
        Photons written, or -1 when ``out_t`` is too small.
    """
    rng = np.empty(1, np.uint64)
    rng[0] = np.uint64(seed)
    cap = out_t.shape[0]
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
            k += 1 + np.int64(exponential(rng) * gap_scale)
            if k >= k1:
                break
            if n + 2 > cap:
                return -1
            tp = np.floor(k * period + 0.5)
            u = uniform(rng)
            if u < c0:  # one exciton
                out_t[n] = tp + exponential(rng) * tx
                out_d[n] = _pick(detector_cum, rng)
                n += 1
                continue
            t_bx = tp + exponential(rng) * tau_bx
            if u >= c2 or u < c1:  # the BX photon is detected
                out_t[n] = t_bx
                out_d[n] = _pick(detector_cum, rng)
                n += 1
            if u >= c1:  # the X photon is detected
                out_t[n] = t_bx + exponential(rng) * tx
                out_d[n] = _pick(detector_cum, rng)
                n += 1
    return n
