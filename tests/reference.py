"""Slow, obviously-correct counterparts of the numba kernels, used only by the tests.

Each follows the definition literally (loops over tags and pairs); none shares code with
``tagstream.kernels``.
"""

from __future__ import annotations

import math

import numpy as np


def g2_histogram(t, ch, a, b, window, bin_width):
    """Ordered pairs (tag on a, tag on b, distinct tags) with lag tau = t_b - t_a in [-W, W)."""
    t = np.asarray(t, dtype=np.int64)
    ta, tb = t[ch == a], t[ch == b]
    hist = np.zeros(2 * window // bin_width, dtype=np.int64)
    for i, x in enumerate(ta):
        taus = tb - x
        if a == b:
            taus = np.delete(taus, i)  # a tag does not pair with itself
        taus = taus[(taus >= -window) & (taus < window)]
        for tau in taus:
            hist[(tau + window) // bin_width] += 1
    return hist


def multitau_counts(t, ch, a, b, dt0, levels, half):
    """counts_ab[k, m]: pairs with cell(B) - cell(A) = m at level k; counts_ba: the reverse."""
    t = np.asarray(t, dtype=np.int64)
    ta, tb = t[ch == a], t[ch == b]
    ab = np.zeros((levels, 2 * half), dtype=np.int64)
    ba = np.zeros((levels, 2 * half), dtype=np.int64)
    for k in range(levels):
        cell = dt0 * 2**k
        ca, cb = ta // cell, tb // cell
        diff = np.subtract.outer(cb, ca)  # diff[j, i] = cell(b_j) - cell(a_i)
        if a == b:
            np.fill_diagonal(diff, np.iinfo(np.int64).min)  # no self pairs
        first = 0 if k == 0 else half
        for m in range(first, 2 * half):
            ab[k, m] = np.count_nonzero(diff == m)
            ba[k, m] = np.count_nonzero(diff == -m)
    return ab, ba


def decay_t3(ch, nanotimes, detectors, start, step, n_bins):
    hist = np.zeros((len(detectors), n_bins), dtype=np.int64)
    for c, nt in zip(ch, nanotimes, strict=True):
        if c in detectors:
            k = (int(nt) - start) // step
            if int(nt) >= start and k < n_bins:
                hist[detectors.index(c), k] += 1
    return hist


def decay_t2(t, ch, sync, detectors, start, step, n_bins, resets=()):
    """Delay since the preceding sync; ``resets`` are times (gap ends) that forget the sync."""
    hist = np.zeros((len(detectors), n_bins), dtype=np.int64)
    last = None
    resets = sorted(resets)
    r = 0
    for x, c in zip(t, ch, strict=True):
        while r < len(resets) and x >= resets[r]:
            last = None
            r += 1
        if c == sync:
            last = x
        elif c in detectors and last is not None:
            d = int(x) - int(last) - start
            if d >= 0 and d // step < n_bins:
                hist[detectors.index(c), d // step] += 1
    return hist


def trace_counts(t, ch, detectors, t0, width, n_bins):
    counts = np.zeros((len(detectors), n_bins), dtype=np.int64)
    for x, c in zip(t, ch, strict=True):
        if c in detectors:
            counts[detectors.index(c), (int(x) - t0) // width] += 1
    return counts


def exposure(covered, t0, width, n_bins):
    out = np.zeros(n_bins, dtype=np.int64)
    for k in range(n_bins):
        lo, hi = t0 + k * width, t0 + (k + 1) * width
        for s, e in covered:
            out[k] += max(0, min(hi, e) - max(lo, s))
    return out


def overlap_bruteforce(covered, shift):
    """|C ∩ (C - shift)| by listing every covered picosecond (small domains only)."""
    points = set()
    for s, e in covered:
        points.update(range(int(s), int(e)))
    return sum(1 for p in points if p + shift in points)


def cell_pair_sum(covered, cell, m):
    """sum_a x_a x_{a+m}, x_a = covered ps of cell a, by listing cells (small domains only)."""
    x = {}
    for s, e in covered:
        for p in range(int(s), int(e)):
            x[p // cell] = x.get(p // cell, 0) + 1
    return sum(v * x.get(a + m, 0) for a, v in x.items())


def first_out_of_order(ts, t_begin, t_end):
    """First index whose timestamp is below its predecessor (or t_begin) or not below t_end."""
    previous = t_begin
    for i, t in enumerate(ts):
        if t < previous or t >= t_end:
            return i
        previous = t
    return -1


def channel_counts(channels):
    """Tags on each channel number 0..255, by counting."""
    counts = [0] * 256
    for c in channels:
        counts[int(c)] += 1
    return np.array(counts, dtype=np.int64)


def pq_decode(records, family, wrap, counted, tick_ps, dtime_ps):
    """PicoQuant TTTR records one by one, from the bit layouts: ``(time ps, channel, dtime)``
    per tag in record order; ps rounded half to even as ``tags.units.to_ps``. ``family``:
    0 PicoHarp T2, 1 PicoHarp T3, 2 HydraHarp-family T2, 3 HydraHarp-family T3."""
    from tagstream.tags.units import to_ps

    offset = 0
    out = []
    for word in (int(r) for r in records):
        if family in (0, 1):
            channel = word >> 28
            if family == 0:
                time, dtime, low = word & 0x0FFFFFFF, 0, word & 0xF
            else:
                time, dtime, low = word & 0xFFFF, (word >> 16) & 0xFFF, (word >> 16) & 0xF
            if channel == 15 and low == 0:
                offset += wrap
                continue
            if channel == 15:
                channel, dtime = 64 + low, 0
        else:
            special = word >> 31
            channel = (word >> 25) & 0x3F
            time = word & (0x1FFFFFF if family == 2 else 0x3FF)
            dtime = 0 if family == 2 else (word >> 10) & 0x7FFF
            if special and channel == 63:
                offset += wrap * (time if counted and time else 1)
                continue
            if special and (channel > 15 or (channel == 0 and family == 3)):
                continue
            if special:
                channel, dtime = (64 + channel if channel else 0), 0
            else:
                channel += 1
        ps = int(to_ps(np.array([offset + time]), tick_ps)[0])
        if family in (1, 3):
            ps += int(to_ps(np.array([dtime]), dtime_ps)[0])
        out.append((ps, channel, dtime))
    return out


def tdc1_decode(words):
    """TDC1 timestamp words to (ps, input) tags, word by word: 27-bit 2 ns time above 5 bits,
    a wrap whenever the time goes back, bit 4 a word without event, bits 0-3 the inputs."""
    tags = []
    wraps, last = 0, -1
    for w in (int(x) for x in words):
        tick = w >> 5
        if tick < last:
            wraps += 1
        last = tick
        if w & 0x10:
            continue
        for bit in range(4):
            if w >> bit & 1:
                tags.append(((wraps * (1 << 27) + tick) * 2000, bit + 1))
    return tags


def phase_of(d, offset, period, start=0.0):
    """A raw delay (ps) less the channel's offset and the histogram's start, folded onto
    [0, period): one float operation at a time, as the kernels do."""
    x = float(d) - float(offset) - float(start)
    p = x - period * math.floor(x / period)
    if p >= period:
        p -= period
    if p < 0.0:
        p += period
    return p


def decay_phase(delays, ch, detectors, offsets, reach, period, start, width, n_bins):
    """Decay histogram of raw delays (None where a photon has no sync before it) folded onto
    one period from ``start``: bin ``k`` holds phases ``start + [k w, (k + 1) w)``."""
    hist = np.zeros((len(detectors), n_bins), dtype=np.int64)
    for d, c in zip(delays, ch, strict=True):
        if c not in detectors or d is None or not 0 <= d < reach:
            continue
        k = math.floor(phase_of(d, offsets[c], period, start) / width)
        if k < n_bins:
            hist[detectors.index(c), k] += 1
    return hist


def delays_since_sync(t, ch, sync, resets=()):
    """Raw T2 delay of every tag since the preceding sync tag (None for syncs and for tags with
    no sync since the start or the last reset time)."""
    out, last, r = [], None, 0
    resets = sorted(resets)
    for x, c in zip(t, ch, strict=True):
        while r < len(resets) and x >= resets[r]:
            last = None
            r += 1
        if c == sync:
            last = int(x)
            out.append(None)
        else:
            out.append(None if last is None else int(x) - last)
    return out


def changepoint_split(t, lo, hi, a, b):
    """The largest 2 ln L over single change points at photons lo..hi-1 of the segment (a, b):
    n1 photons before the change photon, n2 after, n1 + n2 = hi - lo - 1. Returns (stat, j)."""

    def term(n, share, total):
        return 0.0 if n == 0 else n * math.log(n / (total * share))

    best, best_j = 0.0, lo
    n = hi - lo - 1
    if n < 1 or b <= a:
        return best, best_j
    for j in range(lo, hi):
        v = (int(t[j]) - a) / (b - a)
        n1, n2 = j - lo, hi - j - 1
        if (n1 and v <= 0) or (n2 and v >= 1):
            continue
        stat = 2 * (term(n1, v, n) + term(n2, 1 - v, n))
        if stat > best:
            best, best_j = stat, j
    return best, best_j


def changepoint_pair(t, lo, hi, a, b, spans):
    """The largest 2 ln L over excursions between photons j1 < j2 = j1 + d (d in spans) of the
    segment (a, b). Returns (stat, j1, j2)."""

    def term(n, share, total):
        return 0.0 if n == 0 else n * math.log(n / (total * share))

    best, b1, b2 = 0.0, lo, lo
    n = hi - lo - 2
    if n < 1 or b <= a:
        return best, b1, b2
    for d in spans:
        for j1 in range(lo, hi - int(d)):
            j2 = j1 + int(d)
            m = j2 - j1 - 1
            w = (int(t[j2]) - int(t[j1])) / (b - a)
            if (m and w <= 0) or (n - m and w >= 1):
                continue
            stat = 2 * (term(m, w, n) + term(n - m, 1 - w, n))
            if stat > best:
                best, b1, b2 = stat, j1, j2
    return best, b1, b2


def triple_histograms(t, ch, a, b, c, window, bin_width):
    """Triples (one tag on each of a, b, c) with tau1 = t_b - t_a and tau2 = t_c - t_a both in
    [-W, W), by bin; the pairs (a, b) by tau1 and (a, c) by tau2."""
    t = np.asarray(t, dtype=np.int64)
    n = 2 * window // bin_width
    hist = np.zeros((n, n), dtype=np.int64)
    pair_ab, pair_ac = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    for x in t[ch == a]:
        lag_b, lag_c = t[ch == b] - x, t[ch == c] - x
        lag_b = lag_b[(lag_b >= -window) & (lag_b < window)]
        lag_c = lag_c[(lag_c >= -window) & (lag_c < window)]
        for u in lag_b:
            pair_ab[(u + window) // bin_width] += 1
            for v in lag_c:
                hist[(u + window) // bin_width, (v + window) // bin_width] += 1
        for v in lag_c:
            pair_ac[(v + window) // bin_width] += 1
    return hist, pair_ab, pair_ac


def virtual_coincidence(t, ch, members, window, at_mean):
    """Coincidence tags: at each member tag, the latest unused tag of every member; all within
    the window before it: a tag at its time (or the members' mean, rounded down), tags used."""
    latest = {}
    out, done = [], []
    for i, (x, c) in enumerate(zip(t.tolist(), ch.tolist(), strict=True)):
        if c not in members:
            continue
        latest[c] = x
        if len(latest) == len(members) and x - min(latest.values()) <= window:
            out.append(sum(latest.values()) // len(members) if at_mean else x)
            done.append(i)
            latest = {}
    return np.array(out, dtype=np.int64), np.array(done, dtype=np.int64)


def virtual_between_markers(t, ch, source, start, stop):
    """Tags of ``source`` while the gate is open (a start tag opens, a stop tag closes)."""
    keep, is_open = [], False
    for c in ch.tolist():
        if c == start:
            is_open = True
        elif c == stop:
            is_open = False
        keep.append(is_open and c == source)
    return np.array(keep, dtype=bool)


def scan_pixels(t, ch, line_start, line_stop, frame, counted, nx, ny, dwell, bidirectional):
    """Row and pixel of each tag of a raster scan, in two passes: first the lines (a start
    marker opens one; in its record a stop marker, then a frame marker, then a start marker
    act, in that order; a line ends at its stop, or is dropped at a frame marker or another
    start; in ``dwell`` mode it also ends there), then each counted tag inside a line."""
    t, ch = t.tolist(), ch.tolist()
    has_frame = bool(frame)
    lines = []  # (start index, end index, t0, t1 or None, row)
    current = None
    next_row = 0
    for i, c in enumerate(ch):
        if c in line_stop and current is not None:
            lines.append((current[0], i, current[1], t[i], current[2]))
            current = None
        if c in frame:
            if current is not None and dwell:
                lines.append((current[0], i, current[1], None, current[2]))
            current = None
            next_row = 0
        if c in line_start:
            if current is not None and dwell:
                lines.append((current[0], i, current[1], None, current[2]))
            if next_row >= ny and not has_frame:
                next_row = 0
            current = (i, t[i], next_row if next_row < ny else -1)
            next_row += 1
    if current is not None and dwell:
        lines.append((current[0], len(t), current[1], None, current[2]))
    rows = np.full(len(t), -1, dtype=np.int64)
    xs = np.full(len(t), -1, dtype=np.int64)
    line_of = np.full(len(t), -1, dtype=np.int64)
    placed_lines = [line for line in lines if line[4] >= 0]
    for index, (first, end, t0, t1, row) in enumerate(placed_lines):
        for j in range(first + 1, end):
            if ch[j] not in counted:
                continue
            if dwell:
                if t[j] - t0 >= nx * dwell:
                    continue
                x = (t[j] - t0) // dwell
            else:
                if t[j] >= t1:
                    continue
                x = (t[j] - t0) * nx // (t1 - t0)
            rows[j] = row
            xs[j] = nx - 1 - x if bidirectional and row % 2 == 1 else x
            line_of[j] = index
    durations = [nx * dwell if dwell else line[3] - line[2] for line in placed_lines]
    return rows, xs, [line[4] for line in placed_lines], line_of, durations


def counts_between(t, ch, start, stop, counted):
    """Intervals (begin, end, counts per counted channel): a start tag opens one (closing an
    open one), a stop tag closes it; counted tags inside it are counted."""
    out = []
    begin, counts = None, None
    for x, c in zip(t.tolist(), ch.tolist(), strict=True):
        if c in counted:
            if begin is not None:
                counts[counted.index(c)] += 1
            continue
        if (c in stop or c in start) and begin is not None:
            out.append((begin, x, list(counts)))
            begin = None
        if c in start:
            begin, counts = x, [0] * len(counted)
    return out


def selected_tags(t, ch, channels):
    """Times and indices of the tags on ``channels``, one by one."""
    keep = [i for i in range(len(t)) if int(ch[i]) in channels]
    return np.array([t[i] for i in keep], np.int64), np.array(keep, np.int64)


def phase_sums(phases, period, bins):
    """Photons with a phase (not NaN), the sum of floor(phase) and their histogram of ``bins``
    bins over the period, one by one."""
    timed, total, hist = 0, 0, np.zeros(bins, np.int64)
    for p in phases:
        if not math.isnan(p):
            timed += 1
            total += math.floor(p)
            if bins:
                hist[min(int(p / period * bins), bins - 1)] += 1
    return timed, total, hist
