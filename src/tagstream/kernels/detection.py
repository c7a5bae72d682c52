"""Detector effects that need the clicks in time order: non-paralysable dead time and
afterpulsing, and the merge of sorted streams.

Afterpulses wait in a small binary heap (per call its contents are carried to the next call)
until their time comes; an afterpulse is itself a click, with its own dead time and afterpulse
chance. The afterpulse dice use the splitmix64 generator of :mod:`.random`, seeded per call.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .random import next_normal, next_uniform

HEAP_FULL = -1


@njit(nogil=True, cache=True, inline="always")
def _heap_push(heap_t, heap_d, n, t, d):
    i = n
    heap_t[i] = t
    heap_d[i] = d
    while i > 0:
        parent = (i - 1) >> 1
        if heap_t[parent] <= heap_t[i]:
            break
        heap_t[i], heap_t[parent] = heap_t[parent], heap_t[i]
        heap_d[i], heap_d[parent] = heap_d[parent], heap_d[i]
        i = parent
    return n + 1


@njit(nogil=True, cache=True, inline="always")
def _heap_pop(heap_t, heap_d, n):
    n -= 1
    heap_t[0] = heap_t[n]
    heap_d[0] = heap_d[n]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= n:
            break
        child = left
        if left + 1 < n and heap_t[left + 1] < heap_t[left]:
            child = left + 1
        if heap_t[i] <= heap_t[child]:
            break
        heap_t[i], heap_t[child] = heap_t[child], heap_t[i]
        heap_d[i], heap_d[child] = heap_d[child], heap_d[i]
        i = child
    return n


@njit(nogil=True, cache=True)
def detect(
    times,
    dets,
    limit,
    dead_time,
    ap_prob,
    ap_delay,
    ap_spread,
    dead_until,
    heap_t,
    heap_d,
    heap_n,
    seed,
    out_t,
    out_d,
):
    """Pass clicks through dead time and afterpulsing, in time order, up to ``limit``.

    Parameters
    ----------
    times, dets : int64[n]
        Candidate clicks (photons, dark counts, background) before ``limit``, sorted by time,
        and their detector index.
    limit : int
        End of this stretch of time; afterpulses at or after it stay in the heap.
    dead_time, ap_delay : int64[detectors]
        Dead time and afterpulse delay, ps.
    ap_prob, ap_spread : float64[detectors]
        Afterpulse probability per click and the mean extra delay (exponential), ps.
    dead_until : int64[detectors]
        End of each detector's current dead time; updated in place.
    heap_t, heap_d : int64[capacity]
        Pending afterpulses (a binary heap by time); ``heap_n[0]`` is their number.
    seed : int
    out_t, out_d : int64[n + capacity]
        The clicks that register, in time order.

    Returns
    -------
    int
        Clicks written, or :data:`HEAP_FULL` when afterpulses overflow the heap.
    """
    rs = np.uint64(seed)
    n = times.shape[0]
    cap = heap_t.shape[0]
    hn = heap_n[0]
    i = 0
    n_out = 0
    while True:
        from_heap = hn > 0 and heap_t[0] < limit and (i >= n or heap_t[0] < times[i])
        if from_heap:
            t = heap_t[0]
            d = heap_d[0]
            hn = _heap_pop(heap_t, heap_d, hn)
        elif i < n:
            t = times[i]
            d = dets[i]
            i += 1
        else:
            break
        if t < dead_until[d]:
            continue
        dead_until[d] = t + dead_time[d]
        out_t[n_out] = t
        out_d[n_out] = d
        n_out += 1
        if ap_prob[d] <= 0.0:
            continue
        u, rs = next_uniform(rs)
        if u < ap_prob[d]:
            if hn >= cap:
                heap_n[0] = hn
                return HEAP_FULL
            extra = 0.0
            if ap_spread[d] > 0.0:
                u, rs = next_uniform(rs)
                extra = -np.log1p(-u) * ap_spread[d]
            hn = _heap_push(heap_t, heap_d, hn, t + ap_delay[d] + np.int64(extra), d)
    heap_n[0] = hn
    return n_out


@njit(nogil=True, cache=True)
def merge_sorted(t1, c1, t2, c2, out_t, out_c):
    """Merge two time-sorted tag streams (ties: the first stream first)."""
    n1 = t1.shape[0]
    n2 = t2.shape[0]
    i = 0
    j = 0
    k = 0
    while i < n1 and j < n2:
        if t2[j] < t1[i]:
            out_t[k] = t2[j]
            out_c[k] = c2[j]
            j += 1
        else:
            out_t[k] = t1[i]
            out_c[k] = c1[i]
            i += 1
        k += 1
    while i < n1:
        out_t[k] = t1[i]
        out_c[k] = c1[i]
        i += 1
        k += 1
    while j < n2:
        out_t[k] = t2[j]
        out_c[k] = c2[j]
        j += 1
        k += 1


@njit(nogil=True, cache=True)
def t3_nanotimes(times, period, unit, out):
    """Time since the preceding sync (syncs at ``round(k * period)`` ps), in whole ``unit``s,
    for non-decreasing ``times``."""
    n = times.shape[0]
    inv_period = 1.0 / period
    inv_unit = 1.0 / unit
    k = -1.0
    sync = 0.0
    nxt = -np.inf
    for i in range(n):
        t = float(times[i])
        if t >= nxt or t < sync:
            k = np.floor(t * inv_period)
            sync = np.floor(k * period + 0.5)
            while sync > t:
                k -= 1.0
                sync = np.floor(k * period + 0.5)
            nxt = np.floor((k + 1.0) * period + 0.5)
            while nxt <= t:
                k += 1.0
                sync = nxt
                nxt = np.floor((k + 1.0) * period + 0.5)
        d = t - sync
        q = np.floor(d * inv_unit)
        if (q + 1.0) * unit <= d:
            q += 1.0
        elif q * unit > d:
            q -= 1.0
        out[i] = np.int32(q)


@njit(nogil=True, cache=True)
def arrival_times(times, dets, sigma, clip, tail_fraction, tail_time, cable, seed, out):
    """Click times (int64 ps) of photons emitted at ``times`` (ps) on detectors ``dets``: plus
    the detector's cable delay and timing jitter — a Gaussian (``sigma``, clipped at ``clip``
    sigma) and, for a fraction ``tail_fraction`` of the clicks, an exponential tail
    (``tail_time``)."""
    rs = np.uint64(seed)
    for i in range(times.shape[0]):
        d = dets[i]
        jitter = 0.0
        if sigma[d] > 0.0:
            x, rs = next_normal(rs)
            jitter = sigma[d] * min(max(x, -clip), clip)
        if tail_fraction[d] > 0.0:
            u, rs = next_uniform(rs)
            if u < tail_fraction[d]:
                u, rs = next_uniform(rs)
                jitter -= tail_time[d] * np.log1p(-u)
        out[i] = np.int64(np.floor(times[i] + jitter + 0.5)) + cable[d]


@njit(nogil=True, cache=True)
def split_window(pend_t, pend_d, new_t, new_d, t0, t_end, out_t, out_d, rest_t, rest_d):
    """The clicks of ``pend`` then ``new`` (in that order) in ``[t0, t_end)`` into ``out``, those
    from ``t_end`` on into ``rest`` (order kept in both; clicks before ``t0`` are dropped).

    Returns
    -------
    (int, int)
        Clicks written to ``out`` and to ``rest``.
    """
    n_out = 0
    n_rest = 0
    for src in range(2):
        ts = pend_t if src == 0 else new_t
        ds = pend_d if src == 0 else new_d
        for i in range(ts.shape[0]):
            t = ts[i]
            if t >= t_end:
                rest_t[n_rest] = t
                rest_d[n_rest] = ds[i]
                n_rest += 1
            elif t >= t0:
                out_t[n_out] = t
                out_d[n_out] = ds[i]
                n_out += 1
    return n_out, n_rest


@njit(nogil=True, cache=True)
def sort_nearly_sorted(times, dets, max_moves):
    """Sort ``times`` (and ``dets`` with them) in place by insertion, stably: fast when few
    elements are out of order. Gives up after ``max_moves`` element moves.

    Returns
    -------
    bool
        True when sorted; False when it gave up (the arrays are then a permutation in which
        equal times keep their order, so a stable sort finishes the job).
    """
    moves = 0
    for i in range(1, times.shape[0]):
        t = times[i]
        if t >= times[i - 1]:
            continue
        d = dets[i]
        j = i
        while j > 0 and times[j - 1] > t:
            times[j] = times[j - 1]
            dets[j] = dets[j - 1]
            j -= 1
        times[j] = t
        dets[j] = d
        moves += i - j
        if moves > max_moves:
            return False
    return True
