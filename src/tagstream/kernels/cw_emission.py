"""The CW-pumped emitter, jumped from one *detected* photon to the next.

The emitter is a chain of levels ground (0) -> exciton X (1) -> biexciton BX (2): pumped at
rate ``p`` from 0 and from 1; X decays to 0 at ``g = 1 / tau_x`` (a photon with the quantum
yield), BX decays to X at ``gb = 1 / tau_bx`` (a photon with its yield); a photon is detected
with probability ``eta``. So an X decay yields a detected photon with ``a = qy_x eta``, a BX
decay with ``b = qy_bx eta``, each independently.

Following every excitation costs ~1/eta steps per detected photon. Instead, from a known level
(right after a detected photon, or at a segment edge) the time to the next detected photon is
drawn whole. Every stay in level 1 ends in one of four ways: X decays (with ``q = g / (g + p)``)
detected or not, or the pump makes a biexciton (``1 - q``) whose decay is detected or not. The
undetected X decays (count K) and undetected BX decays (count L) before the first detected
one form a negative multinomial, drawn as K ~ Poisson(Λ fx), L ~ Poisson(Λ fb) with
Λ = E / s, E standard exponential (``s`` the chance of a detection per stay, ``fx``, ``fb``
those of the two undetected ends). The stays are then K (+1 when starting at 0) in level 0 at
rate ``p``, K + L + 1 in level 1 at rate ``p + g`` and L (+1 if the detected photon is the BX
one) in level 2 at rate ``gb``; their durations sum to Gamma deviates. No approximation: the
detected stream has exactly the law of the event-by-event walk.

When the draw passes a segment edge (the blinking state changes, or the block ends), no photon
was detected before it, and the level at the edge is drawn from the chain killed at
detections: row ``level`` of ``exp(A dt)``, normalised (``A`` the generator without the
detected decays). The walk resumes there with the new state's rates (all waits are
exponential), so the stream does not depend on where blocks end except through their seeds.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .emission import KIND_BX, KIND_X
from .random import next_exponential, next_gamma_int, next_poisson, next_uniform

#: Taylor terms of exp(B) for ||B|| <= 1/4 (error below 1e-15).
_TAYLOR_TERMS = 12
#: How a state's time to the next detected photon is drawn: rejection from the spectral
#: decomposition (tables made by :mod:`tagstream.sources.simulator.cw_model`), the jump over
#: the chain's stays, or never (nothing detectable).
MODE_SPECTRAL, MODE_CHAIN, MODE_DARK = 0, 1, 2


@njit(nogil=True, cache=True)
def killed_generator(p, g, a, gb, b):
    """Generator of the chain without its detected decays (3 x 3, per ps): rows lose the
    rate of the decays that give a detected photon."""
    m = np.zeros((3, 3))
    m[0, 0] = -p
    m[0, 1] = p
    m[1, 0] = g * (1.0 - a)
    m[1, 1] = -(g + p)
    m[1, 2] = p
    m[2, 1] = gb * (1.0 - b)
    m[2, 2] = -gb
    return m


@njit(nogil=True, cache=True)
def undetected_levels(level, dt, p, g, a, gb, b):
    """Probabilities of each level after ``dt`` ps from ``level``, given that no photon was
    detected meanwhile: row ``level`` of ``exp(A dt)`` normalised (scaling and squaring; the
    matrix is rescaled at every squaring, so the row keeps its shape where its sum would
    underflow)."""
    m = killed_generator(p, g, a, gb, b) * dt
    norm = 0.0
    for i in range(3):
        norm = max(norm, abs(m[i, 0]) + abs(m[i, 1]) + abs(m[i, 2]))
    squarings = 0
    while norm > 0.25:
        norm *= 0.5
        squarings += 1
    m = m / (2.0**squarings)
    e = np.eye(3)
    term = np.eye(3)
    for j in range(1, _TAYLOR_TERMS + 1):
        term = (term @ m) / j
        e = e + term
    for _ in range(squarings):
        e = e @ e
        e = e / e.max()
    row = np.maximum(e[level].copy(), 0.0)
    total = row.sum()
    if not total > 0.0:  # nothing reaches any level undetected (cannot be drawn)
        row[:] = 0.0
        row[level] = 1.0
        return row
    return row / total


@njit(nogil=True, cache=True, inline="always")
def _to_detection(s, level, p, g1, gb, b, chance, fx, fb, x_share):
    """Time (ps) from ``level`` to the next detected photon, whether it is the BX photon, and
    the new generator state; infinite when nothing can be detected (``chance == 0``)."""
    n0 = 0
    n2 = 0
    if level == 2:
        u, s = next_uniform(s)
        if u < b:  # the biexciton present decays, detected
            e, s = next_exponential(s)
            return e / gb, True, s
        n2 = 1
    elif level == 0:
        n0 = 1
    if chance <= 0.0:
        return np.inf, False, s
    e, s = next_exponential(s)
    lam = e / chance
    k, s = next_poisson(s, lam * fx)
    m, s = next_poisson(s, lam * fb)
    u, s = next_uniform(s)
    bx = u >= x_share
    n0 += k
    n2 += m + (1 if bx else 0)
    dt, s = next_gamma_int(s, k + m + 1)
    dt /= g1
    if n0 > 0:
        x, s = next_gamma_int(s, n0)
        dt += x / p
    if n2 > 0:
        x, s = next_gamma_int(s, n2)
        dt += x / gb
    return dt, bx, s


@njit(nogil=True, cache=True, inline="always")
def _state_rates(p, b, tau_x, qy_x, eta):
    """Rates of a blinking state for the jump to the next detected photon: the X decay rate
    ``g`` and ``g + p`` (per ps), the chance ``a`` an X decay is detected, the chance per stay
    in level 1 of a detection, of an undetected X end (``fx``) and of an undetected BX end
    (``fb``), and the share of the detections that are X photons."""
    g = 1.0 / tau_x
    g1 = g + p
    a = qy_x * eta
    q = g / g1
    chance = q * a + (1.0 - q) * b
    fx = q * (1.0 - a)
    fb = (1.0 - q) * (1.0 - b)
    x_share = q * a / chance if chance > 0.0 else 1.0
    return g, g1, a, chance, fx, fb, x_share


@njit(nogil=True, cache=True, inline="always")
def _mean_times(mu, st, mean_ps):
    """Fill ``mean_ps`` with the mean times (ps) of state ``st``'s spectral terms."""
    for j in range(3):
        mean_ps[j] = 1.0 / mu[st, j]


@njit(nogil=True, cache=True, inline="always")
def _draw_detectors(s, detector_cum, out_d, n):
    """Detectors of the first ``n`` photons into ``out_d``, drawn with the cumulative shares
    ``detector_cum`` from generator state ``s`` (a loop without branches for two detectors)."""
    n_det = detector_cum.shape[0]
    for i in range(n):
        u, s = next_uniform(s)
        d = 0
        for j in range(n_det - 1):
            d += u >= detector_cum[j]
        out_d[i] = d


@njit(nogil=True, cache=True)
def cw_detected(
    t_start,
    t_end,
    seg_start,
    seg_state,
    pump_per_ps,
    tau_x,
    qy_x,
    tau_bx,
    qy_bx,
    eta,
    mode,
    mu,
    c_x,
    c_bx,
    cum_weight,
    t_neg,
    t_far,
    x_far,
    detector_cum,
    carry,
    seed,
    out_t,
    out_d,
    out_kind,
):
    """Detected photons of a CW-pumped emitter from ``t_start`` until ``t_end`` or a full
    output.

    Parameters
    ----------
    t_start, t_end : float
        The block, ps.
    seg_start, seg_state : float64[m], int64[m]
        Blinking segments covering the block: starts (the first at or before ``t_start``) and
        state indices into ``tau_x``/``qy_x``.
    pump_per_ps : float
        Pump rate, per ps (> 0).
    tau_x, qy_x : float64[states]
        Exciton lifetime (ps, > 0) and quantum yield per state.
    tau_bx, qy_bx : float
        Biexciton lifetime (ps, > 0) and the yield of its BX -> X photon.
    eta : float
        Chance that an emitted photon is detected (all detectors together).
    mode, mu, c_x, c_bx, cum_weight, t_neg, t_far, x_far : arrays over states, levels, terms
        How each state is drawn and its spectral tables
        (:class:`tagstream.sources.simulator.cw_model.CWTables`).
    detector_cum : float64[detectors]
        Cumulative share of the detected photons per detector (last entry 1).
    carry : float64[2]
        ``[time, level]`` the walk resumes from; updated in place.
    seed : int
    out_t, out_d, out_kind : float64[cap], int64[cap], int64[cap]
        Emission times (ps, increasing), detectors and kinds (0 X, 1 BX) of detected photons.

    Returns
    -------
    int
        Photons written; ``carry[0] >= t_end`` when the block is done.
    """
    # (the draws are written out in the loop: a call that passes arrays costs more than a
    # photon, numba counts references on every array argument)
    rs = np.uint64(seed)
    t = max(carry[0], t_start)
    level = int(carry[1])
    cap = out_t.shape[0]
    n_seg = seg_start.shape[0]
    n = 0
    k = 0
    current = -1
    p = pump_per_ps
    gb = 1.0 / tau_bx
    b = qy_bx * eta
    g = g1 = a = chance = fx = fb = x_share = 0.0
    st = 0
    edge = t_end
    levels = np.zeros(3)
    mean_ps = np.ones(3)
    while t < t_end and n < cap:
        while k + 1 < n_seg and seg_start[k + 1] <= t:
            k += 1
        if k != current:  # the rates of this segment's state
            current = k
            st = seg_state[k]
            g, g1, a, chance, fx, fb, x_share = _state_rates(p, b, tau_x[st], qy_x[st], eta)
            edge = min(seg_start[k + 1], t_end) if k + 1 < n_seg else t_end
            _mean_times(mu, st, mean_ps)
        if mode[st] == MODE_SPECTRAL:
            # a term of the dominating mixture by its weight, an exponential time of its rate,
            # accepted with the ratio of the true density to the mixture's (always past
            # t_far, where only the slowest term is above rounding); the same uniform tells the
            # X photon from the BX one
            while True:
                u, rs = next_uniform(rs)
                i = (
                    0
                    if u < cum_weight[st, level, 0]
                    else (1 if u < cum_weight[st, level, 1] else 2)
                )
                e, rs = next_exponential(rs)
                dt = e * mean_ps[i]
                u, rs = next_uniform(rs)
                if dt >= t_far[st, level]:
                    bx = u >= x_far[st, level]
                    break
                # the densities relative to the slowest term; a term counts until t_neg
                f_x = c_x[st, level, 0]
                f_bx = c_bx[st, level, 0]
                h = max(f_x, 0.0) + max(f_bx, 0.0)
                for j in range(1, 3):
                    if dt < t_neg[st, level, j]:
                        decay = np.exp(-(mu[st, j] - mu[st, 0]) * dt)
                        cx = c_x[st, level, j]
                        cb = c_bx[st, level, j]
                        f_x += cx * decay
                        f_bx += cb * decay
                        h += (max(cx, 0.0) + max(cb, 0.0)) * decay
                v = u * h
                if v < f_x + f_bx:
                    bx = v >= f_x
                    break
        elif mode[st] == MODE_CHAIN:
            dt, bx, rs = _to_detection(rs, level, p, g1, gb, b, chance, fx, fb, x_share)
        else:
            dt, bx = np.inf, False
        if t + dt < edge:
            t += dt
            out_t[n] = t
            out_kind[n] = KIND_BX if bx else KIND_X
            n += 1
            level = 1 if bx else 0
        else:
            levels[:] = undetected_levels(level, edge - t, p, g, a, gb, b)
            u, rs = next_uniform(rs)
            level = 0 if u < levels[0] else (1 if u < levels[0] + levels[1] else 2)
            t = edge
    carry[0] = t
    carry[1] = level
    # the detectors, drawn after the times
    _draw_detectors(rs, detector_cum, out_d, n)
    return n
