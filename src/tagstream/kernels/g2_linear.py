"""Linear-bin cross- and auto-correlation of two tag channels, all pairs, exact in any chunking.

A tag's *role* says on which side of the correlation it stands: bit 1 = start channel A,
bit 2 = stop channel B (3 = both, for the auto-correlation of one channel). For a pair of tags
``i`` before ``j`` in the stream, with ``d = t[j] - t[i] >= 0``:

* A at i, B at j: lag ``tau = +d``, counted when ``d < W``, bin ``(W + d) // b``;
* B at i, A at j: lag ``tau = -d``, counted when ``d <= W``, bin ``(W - d) // b``;

so that the histogram covers ``[-W, +W)`` in half-open bins of width ``b``. Pairs inside a batch
are counted by :func:`pairs_within` (any channel mix) or its fast forms :func:`pairs_within_cross`
and :func:`pairs_within_auto`, pairs between the carried tail of earlier batches and a new batch
by :func:`pairs_across`.

The fast forms serve streams made mostly of the two channels. They look at 64 tags at a time:
a vectorised pass marks, as bits of two words, the tags whose next tag is a partner within the
window and the (rarer) tags with a second tag within the window; only marked tags are visited.
Histograms given to them carry one extra bin at the end, which absorbs ``d = W`` in branch-free
updates and is discarded by the caller.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from ..tags.metadata import N_CHANNELS
from .divide import divide

ROLE_A = 1
ROLE_B = 2
BLOCK = 64


@njit(nogil=True, cache=True, inline="always")
def _count_pair(role_i, role_j, d, window, mult, shift, hist):
    if (role_i & ROLE_A) and (role_j & ROLE_B) and d < window:
        hist[divide(window + d, mult, shift)] += 1
    if (role_i & ROLE_B) and (role_j & ROLE_A):
        hist[divide(window - d, mult, shift)] += 1


@njit(nogil=True, cache=True)
def pairs_within(timestamps, channels, role_of_channel, window, mult, shift, hist, start=0):
    """Add every pair of tags ``i < j`` with ``i >= start`` inside one batch to ``hist``.

    Parameters
    ----------
    timestamps : int64[n]
        Non-decreasing tag times, ps.
    channels : uint8[n]
        Channel of each tag.
    role_of_channel : uint8[256]
        Role bits per channel (0 = ignored).
    window : int
        Half-width W of the lag range [-W, W), ps; ``2 W < 2**31``.
    mult, shift : int
        ``magic_divisor(bin width)``.
    hist : int64[>= 2 W / b]
        Histogram to add to.
    start : int
        First tag to pair with the tags after it.
    """
    n = timestamps.shape[0]
    for i in range(start, n):
        role_i = role_of_channel[channels[i]]
        if role_i == 0:
            continue
        t_i = timestamps[i]
        j = i + 1
        while j < n:
            d = timestamps[j] - t_i
            if d > window:
                break
            role_j = role_of_channel[channels[j]]
            if role_j != 0:
                _count_pair(role_i, role_j, d, window, mult, shift, hist)
            j += 1


@njit(nogil=True, cache=True, boundscheck=False)
def pairs_within_cross(timestamps, channels, a, b, role_of_channel, window, mult, shift, hist):
    """:func:`pairs_within` for channels ``a != b``, fast when they make up most of the stream.

    ``hist`` has ``2 W / b + 1`` bins; the last one is scratch.
    """
    t = timestamps
    ch = channels
    n = t.shape[0]
    n_blocks = max(n - 2, 0) // BLOCK
    for blk in range(n_blocks):
        base = blk * BLOCK
        near = np.uint64(0)
        far = np.uint64(0)
        for k in range(BLOCK):
            i = base + k
            d = t[i + 1] - t[i]
            ci = ch[i]
            cj = ch[i + 1]
            pair = ((ci == a) & (cj == b) & (d < window)) | ((ci == b) & (cj == a) & (d <= window))
            near |= np.uint64(pair) << np.uint64(k)
            far |= np.uint64(t[i + 2] - t[i] <= window) << np.uint64(k)
        while near != 0:  # the next tag is a partner
            i = base + trailing_zeros(near)
            near &= near - np.uint64(1)
            sign = 2 * np.int64(ch[i] == a) - 1
            hist[divide(window + sign * (t[i + 1] - t[i]), mult, shift)] += 1
        while far != 0:  # partners beyond the next tag
            i = base + trailing_zeros(far)
            far &= far - np.uint64(1)
            is_a = np.int64(ch[i] == a)
            is_b = np.int64(ch[i] == b)
            t_i = t[i]
            j = i + 2
            while j < n:
                d = t[j] - t_i
                if d > window:
                    break
                cj = ch[j]
                hist[divide(window + d, mult, shift)] += (
                    is_a & np.int64(cj == b) & np.int64(d < window)
                )
                hist[divide(window - d, mult, shift)] += is_b & np.int64(cj == a)
                j += 1
    pairs_within(t, ch, role_of_channel, window, mult, shift, hist, n_blocks * BLOCK)


@njit(nogil=True, cache=True, boundscheck=False)
def pairs_within_auto(timestamps, channels, a, role_of_channel, window, mult, shift, hist):
    """:func:`pairs_within` for the auto-correlation of channel ``a``, fast when it makes up most
    of the stream. ``hist`` has ``2 W / b + 1`` bins; the last one is scratch."""
    t = timestamps
    ch = channels
    n = t.shape[0]
    n_blocks = max(n - 2, 0) // BLOCK
    for blk in range(n_blocks):
        base = blk * BLOCK
        near = np.uint64(0)
        far = np.uint64(0)
        for k in range(BLOCK):
            i = base + k
            pair = (ch[i] == a) & (ch[i + 1] == a) & (t[i + 1] - t[i] <= window)
            near |= np.uint64(pair) << np.uint64(k)
            far |= np.uint64(t[i + 2] - t[i] <= window) << np.uint64(k)
        while near != 0:
            i = base + trailing_zeros(near)
            near &= near - np.uint64(1)
            d = t[i + 1] - t[i]
            hist[divide(window + d, mult, shift)] += np.int64(d < window)
            hist[divide(window - d, mult, shift)] += 1
        while far != 0:
            i = base + trailing_zeros(far)
            far &= far - np.uint64(1)
            is_a = np.int64(ch[i] == a)
            t_i = t[i]
            j = i + 2
            while j < n:
                d = t[j] - t_i
                if d > window:
                    break
                both = is_a & np.int64(ch[j] == a)
                hist[divide(window + d, mult, shift)] += both & np.int64(d < window)
                hist[divide(window - d, mult, shift)] += both
                j += 1
    pairs_within(t, ch, role_of_channel, window, mult, shift, hist, n_blocks * BLOCK)


@njit(nogil=True, cache=True)
def pairs_across(
    old_times, old_roles, timestamps, channels, role_of_channel, window, mult, shift, hist
):
    """Add every pair made of one carried tag (earlier) and one tag of the new batch.

    ``old_times``/``old_roles`` hold the relevant tags of earlier batches that lie within the
    window of the new batch's start; all of them precede every new tag.
    """
    n_old = old_times.shape[0]
    n = timestamps.shape[0]
    for i in range(n_old):
        t_i = old_times[i]
        role_i = old_roles[i]
        j = 0
        while j < n:
            d = timestamps[j] - t_i
            if d > window:
                break
            role_j = role_of_channel[channels[j]]
            if role_j != 0:
                _count_pair(role_i, role_j, d, window, mult, shift, hist)
            j += 1


@njit(nogil=True, cache=True)
def count_two(channels, a, b):
    """Number of tags on channel ``a`` and on channel ``b``."""
    n_a = 0
    n_b = 0
    for i in range(channels.shape[0]):
        c = channels[i]
        n_a += c == a
        n_b += c == b
    return n_a, n_b


@njit(nogil=True, cache=True)
def count_roles(channels, role_of_channel, out):
    """Add the number of tags with role A (``out[0]``) and role B (``out[1]``)."""
    n_a = 0
    n_b = 0
    for i in range(channels.shape[0]):
        r = role_of_channel[channels[i]]
        n_a += r & ROLE_A
        n_b += (r & ROLE_B) >> 1
    out[0] += n_a
    out[1] += n_b


def role_table(a: int, b: int) -> np.ndarray:
    """Role bits per channel number for a correlation of channel ``a`` (start) with ``b`` (stop)."""
    roles = np.zeros(N_CHANNELS, dtype=np.uint8)
    roles[a] |= ROLE_A
    roles[b] |= ROLE_B
    return roles
