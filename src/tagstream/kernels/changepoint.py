"""Change points of a photon stream's intensity: the likelihood-ratio statistic on arrival times.

A segment ``(a, b)`` (ps) between two boundaries holds the photons ``t[lo:hi]``. A change point
is put at one of them, photon ``j``: it becomes the boundary between ``(a, t_j)`` with
``n1 = j - lo`` photons and ``(t_j, b)`` with ``n2 = hi - j - 1`` (the photon that marks a change
is the event the change is seen by and belongs to neither side's count). For Poisson photons the
log-likelihood ratio of two rates against one (each at its maximum-likelihood value) is

    ln L = n1 ln(n1 / (n V)) + n2 ln(n2 / (n (1 - V))),      n = n1 + n2,  V = (t_j - a) / (b - a)

(Watkins & Yang, J. Phys. Chem. B 109, 617 (2005)). A change from bright to dark is placed at
the last bright photon, one from dark to bright at the first bright photon, so either is placed
within about one photon interval of the bright level. The first photon as the change point finds
a dark start, the last one a dark end. When the intensity does not change the photons are
uniform on the segment, so the distribution of the largest ``2 ln L`` depends only on the number
of photons (:func:`null_maxima`).

Speed: a search only has to be exact when its largest statistic exceeds the critical value (a
``floor``): the single split evaluates logarithms only where a bound without them can exceed it,
and the excursion finds each span's shortest and longest length in one vectorized pass.
:func:`quiet_windows` passes over the windows of a stream in which nothing changes in one call,
keeping each span's lengths over the half a window shares with the next.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .random import exponential

#: Length of the segment the null distributions are drawn on, ps.
SPAN_PS = 2**40


@njit(nogil=True, cache=True)
def _xlogx(x):
    return x * math.log(x) if x > 0.0 else 0.0


@njit(nogil=True, cache=True)
def _llr(n1, n2, v):
    """``2 ln L`` of ``n1`` photons in the fraction ``v`` of a segment and ``n2`` in the rest
    (``-1`` where impossible: photons in a part of no length)."""
    if (n1 > 0 and v <= 0.0) or (n2 > 0 and v >= 1.0):
        return -1.0
    s = _xlogx(float(n1)) + _xlogx(float(n2)) - _xlogx(float(n1 + n2))
    if n1 > 0:
        s -= n1 * math.log(v)
    if n2 > 0:
        s -= n2 * math.log(1.0 - v)
    return 2.0 * s


@njit(nogil=True, cache=True)
def _split_candidates(t, lo, hi, a_ps, length, floor, out):
    """``out[j - lo] = 1`` where a change point at photon ``j`` may have ``2 ln L > floor``.

    ``2 ln L = 2 n KL(p || V)`` for the Bernoulli shares ``p = n1 / n`` of the photons and ``V``
    of the time before ``j``. As ``d^2 KL / dp^2 = 1 / (x (1 - x))`` between ``V`` and ``p``,
    ``2 n KL <= n (p - V)^2 / min(p (1 - p), V (1 - V))``: no logarithm and no branch, so the
    loop runs on vector instructions. The bound is taken a little wide for rounding.
    """
    n = hi - lo - 1
    fn = float(n)
    inv_n = 1.0 / fn
    inv_len = 1.0 / length
    for i in range(hi - lo):
        v = (t[lo + i] - a_ps) * inv_len
        n1 = float(i)
        dev = n1 - fn * v
        p_var = n1 * (fn - n1) * inv_n * inv_n
        v_var = v * (1.0 - v)
        m = min(p_var, v_var)
        out[i] = dev * dev * inv_n * (1.0 + 1e-9) + 1e-6 * m >= floor * m


@njit(nogil=True, cache=True)
def best_split(t, lo, hi, a_ps, b_ps, floor=0.0):
    """The most likely change point of the segment ``(a_ps, b_ps)`` holding photons
    ``t[lo:hi]``.

    Parameters
    ----------
    t : int64[n]
        Photon times, ps, non-decreasing.
    lo, hi : int
        The segment's photons are ``t[lo:hi]``, all inside ``[a_ps, b_ps]``.
    a_ps, b_ps : int
        The segment's boundaries, ps.
    floor : float
        Only a statistic above this matters (a critical value): positions whose bound
        (:func:`_split_candidates`) does not exceed it are not evaluated. The result is exact
        whenever the largest statistic exceeds ``floor``; otherwise ``stat <= floor``.

    Returns
    -------
    stat : float
        The largest ``2 ln L`` (0 for fewer than two photons or a segment of no length).
    j : int
        The photon at the change point (``lo`` when there is none).
    """
    length = float(b_ps - a_ps)
    best, best_j = 0.0, lo
    if hi - lo < 2 or length <= 0.0:
        return best, best_j
    maybe = np.empty(hi - lo, np.bool_)
    _split_candidates(t, lo, hi, a_ps, length, floor, maybe)
    for i in range(hi - lo):
        if maybe[i]:
            j = lo + i
            s = _llr(j - lo, hi - j - 1, (t[j] - a_ps) / length)
            if s > best:
                best, best_j = s, j
    return best, best_j


@njit(nogil=True, cache=True)
def best_pair(t, lo, hi, a_ps, b_ps, spans, floor=0.0):
    """The most likely excursion inside the segment ``(a_ps, b_ps)``: two change points at
    photons ``j1 < j2`` (a dark or bright period between the same intensity before and after,
    which a single change point cannot single out when it is short against the segment).

    With ``m = j2 - j1 - 1`` photons in the fraction ``w = (t_j2 - t_j1) / (b - a)`` and the
    other ``n - m`` (``n``: the photons less the two at the change points) outside,
    ``ln L = m ln(m / (n w)) + (n - m) ln((n - m) / (n (1 - w)))``. Only ``j2 - j1`` in
    ``spans`` are tried (a geometric ladder of lengths keeps the search linear in the photons;
    the re-test between neighbours then moves each change point to its best place). For one
    span ``ln L`` is a convex function of ``w``, so its largest value is at the shortest or the
    longest excursion of that span: a vectorized pass finds both lengths, and the photons where
    they start are looked up only when one of them beats the best so far and ``floor`` (the first
    photon of equals wins, as in a scan of every position). The result is exact whenever the
    largest statistic exceeds ``floor``.

    Returns
    -------
    stat : float
        The largest ``2 ln L`` (0 for fewer than three photons).
    j1, j2 : int
        The photons at the two change points.
    """
    length = float(b_ps - a_ps)
    best, b1, b2 = 0.0, lo, lo
    n = hi - lo - 2
    if n < 1 or length <= 0.0:
        return best, b1, b2
    span_ps = b_ps - a_ps
    for d in spans:
        if d > hi - lo - 1:
            continue
        m = d - 1
        inside, outside = m > 0, n - m > 0
        w_short, w_long = _extreme_lengths(t, lo, hi, d, inside, outside, span_ps)
        s_short = _llr(m, n - m, w_short / length) if w_short >= 0 else -1.0
        s_long = _llr(m, n - m, w_long / length) if w_long >= 0 else -1.0
        if max(s_short, s_long) <= max(best, floor):
            best = max(best, s_short, s_long)
            continue
        short = _first_of_length(t, lo, hi, d, w_short) if w_short >= 0 else hi
        long_ = _first_of_length(t, lo, hi, d, w_long) if w_long >= 0 else hi
        for j1, s in ((short, s_short), (long_, s_long)) if short <= long_ else (
            (long_, s_long), (short, s_short)
        ):
            if s > best:
                best, b1, b2 = s, j1, j1 + d
    return best, b1, b2


@njit(nogil=True, cache=True)
def _extreme_lengths(t, lo, hi, d, inside, outside, length_ps):
    """The shortest ``t[j1 + d] - t[j1]`` longer than zero (when ``inside`` photons lie in it)
    and the longest shorter than the segment (when photons lie ``outside`` it); -1 for either
    when there is none. A length beyond the other limit has no likelihood (:func:`_llr` gives
    -1), so these two bound every excursion that has one."""
    below = np.int64(length_ps) if outside else np.iinfo(np.int64).max
    shortest, longest = _span_extremes(t, lo, hi - d, d, np.int64(0 if inside else -1), below)
    return shortest if shortest < np.iinfo(np.int64).max else np.int64(-1), longest


@njit(nogil=True, cache=True)
def _span_extremes(t, j0, j1, d, above, below):
    """The shortest ``t[j + d] - t[j]`` above ``above`` and the longest below ``below`` for
    ``j0 <= j < j1``, in one pass without branches (on slices, so that it is vectorized); the
    largest int64 and -1 where there is none."""
    big = np.iinfo(np.int64).max
    shortest = big
    longest = np.int64(-1)
    if j1 <= j0:
        return shortest, longest
    ends = t[j0 + d : j1 + d]
    starts = t[j0:j1]
    for i in range(ends.shape[0]):
        w = ends[i] - starts[i]
        shortest = min(shortest, w if w > above else big)
        longest = max(longest, w if w < below else np.int64(-1))
    return shortest, longest


@njit(nogil=True, cache=True)
def _first_of_length(t, lo, hi, d, w):
    """The first ``j1`` with ``t[j1 + d] - t[j1] == w``."""
    for j1 in range(lo, hi - d):
        if t[j1 + d] - t[j1] == w:
            return j1
    return -1


@njit(nogil=True, cache=True)
def quiet_windows(t, a_ps, window, critical, critical_pair, spans):
    """Move over the windows of ``window`` photons (even) in which nothing changes.

    The window holding photons ``t[p:p + window]`` on the segment ``(a, t[p + window])`` has no
    change point when neither :func:`best_split` exceeds ``critical`` nor :func:`best_pair`
    exceeds ``critical_pair`` (the critical values of ``window`` photons); then its first half
    is settled: the next window starts after photon ``p + window // 2``, at its time. Stops at
    the first window with a change or when fewer than ``window + 1`` photons are left.

    Consecutive windows share half their photons, so the shortest and longest excursion of
    each span over the shared part are kept from one window to the next: every span length is
    measured once per photon, not twice.

    Returns
    -------
    settled : int
        Photons settled (``t[:settled]`` belong to the open level).
    a_ps : int
        Start of the next window, ps.
    """
    half = window // 2
    n = window - 2  # photons of an excursion's statistic, less the two at its change points
    kept = np.empty((2, spans.shape[0]), np.int64)
    lengths = np.empty((2, spans.shape[0]), np.int64)
    p = 0
    fresh = True  # no lengths kept from a previous window
    while t.shape[0] - p > window:
        b_ps = t[p + window]
        if best_split(t, p, p + window, a_ps, b_ps, critical)[0] > critical:
            break
        length = float(b_ps - a_ps)
        if length > 0.0:  # a segment of no length holds no excursion
            window_lengths(t, p, window, b_ps - a_ps, spans, fresh, kept, lengths)
            change = False
            for s in range(spans.shape[0]):
                m = spans[s] - 1
                for w in (lengths[0, s], lengths[1, s]):
                    if w >= 0 and _llr(m, n - m, w / length) > critical_pair:
                        change = True
            if change:
                break
        fresh = length <= 0.0  # nothing kept after a segment of no length
        a_ps = t[p + half]
        p += half + 1
    return p, a_ps


@njit(nogil=True, cache=True)
def window_lengths(t, p, window, length_ps, spans, fresh, kept, out):
    """The shortest and longest excursion of each span in the window of ``window`` photons
    from ``p`` on a segment of ``length_ps`` (as :func:`_extreme_lengths`; -1 for none, and for
    spans longer than the window).

    The next window starts after photon ``p + window // 2``; the extremes over the photons the
    two share are left in ``kept`` (int64[2, spans]) for it, and unless ``fresh`` those of this
    window's shared part are taken from there. Results in ``out`` (int64[2, spans]).
    """
    big = np.iinfo(np.int64).max
    half = window // 2
    n = window - 2
    for s in range(spans.shape[0]):
        d = spans[s]
        out[0, s] = out[1, s] = -1
        if d > window - 1:
            continue
        m = d - 1
        above = np.int64(0 if m > 0 else -1)
        end = p + window - d  # first photon that starts no excursion of this window
        share = p + half + 1  # the next window's first photon
        if fresh or d >= half - 1:
            first_s, first_l = _span_extremes(t, p, min(share, end), d, above, big)
        else:  # the kept part [p, end - half - 1), then the new photons
            first_s, first_l = _span_extremes(t, end - half - 1, share, d, above, big)
            first_s = min(first_s, kept[0, s])
            first_l = max(first_l, kept[1, s])
        rest_s, rest_l = _span_extremes(t, share, end, d, above, big)
        kept[0, s], kept[1, s] = rest_s, rest_l
        w_short, w_long = min(first_s, rest_s), max(first_l, rest_l)
        if n - m > 0 and w_long >= length_ps:  # a length the whole segment: left out
            w_short, w_long = _extreme_lengths(t, p, p + window, d, m > 0, True, length_ps)
        out[0, s] = w_short if w_short < big else -1
        out[1, s] = w_long


@njit(nogil=True, cache=True)
def null_maxima(n, trials, state):
    """The largest ``2 ln L`` of :func:`best_split` for ``n`` photons spread uniformly over a
    segment, in each of ``trials`` independent draws (the statistic's distribution when the
    intensity does not change). The times are the first ``n`` arrivals of a unit-rate Poisson
    process scaled by the ``n + 1``-th (uniform order statistics) on a segment of 2**40 ps;
    ``state`` is the generator's state (:func:`~.random.new_state`).

    Returns
    -------
    float64[trials]
    """
    out = np.empty(trials)
    t, gaps = np.empty(n, np.int64), np.empty(n + 1)
    for k in range(trials):
        _uniform_times(t, gaps, state)
        out[k] = best_split(t, 0, n, 0, SPAN_PS)[0]
    return out


@njit(nogil=True, cache=True)
def null_pair_maxima(n, trials, spans, state):
    """As :func:`null_maxima` for the statistic of :func:`best_pair` with ``spans``."""
    out = np.empty(trials)
    t, gaps = np.empty(n, np.int64), np.empty(n + 1)
    for k in range(trials):
        _uniform_times(t, gaps, state)
        out[k] = best_pair(t, 0, n, 0, SPAN_PS, spans)[0]
    return out


@njit(nogil=True, cache=True)
def _uniform_times(t, gaps, state):
    """Fill ``t`` (int64[n]) with the first ``n`` arrivals of a unit-rate Poisson process scaled
    by the ``n + 1``-th onto ``[0, SPAN_PS)``: sorted uniform times (``gaps``: float64[n + 1],
    scratch)."""
    total = 0.0
    for i in range(gaps.size):
        gaps[i] = exponential(state)
        total += gaps[i]
    acc = 0.0
    for i in range(t.size):
        acc += gaps[i]
        t[i] = np.int64(acc / total * SPAN_PS)
