"""Linear-bin cross- and auto-correlation of two tag channels, all pairs, exact in any chunking.

A tag's *role* says on which side of the correlation it stands: bit 1 = start channel A,
bit 2 = stop channel B (3 = both, for the auto-correlation of one channel). For a pair of tags
``i`` before ``j`` in the stream, with ``d = t[j] - t[i] >= 0``:

* A at i, B at j: lag ``tau = +d``, counted when ``d < W``, bin ``(W + d) // b``;
* B at i, A at j: lag ``tau = -d``, counted when ``d <= W``, bin ``(W - d) // b``;

so that the histogram covers ``[-W, +W)`` in half-open bins of width ``b``. Pairs inside a batch
are counted by :func:`pairs_within`, pairs between the carried tail of earlier batches and a new
batch by :func:`pairs_across`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .divide import divide

ROLE_A = 1
ROLE_B = 2


@njit(nogil=True, cache=True, inline="always")
def _count_pair(role_i, role_j, d, window, mult, shift, hist):
    if (role_i & ROLE_A) and (role_j & ROLE_B) and d < window:
        hist[divide(window + d, mult, shift)] += 1
    if (role_i & ROLE_B) and (role_j & ROLE_A):
        hist[divide(window - d, mult, shift)] += 1


@njit(nogil=True, cache=True)
def pairs_within(timestamps, channels, role_of_channel, window, mult, shift, hist):
    """Add every pair of tags inside one batch to ``hist``.

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
    hist : int64[2 W / b]
        Histogram to add to.
    """
    n = timestamps.shape[0]
    for i in range(n):
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
    roles = np.zeros(256, dtype=np.uint8)
    roles[a] |= ROLE_A
    roles[b] |= ROLE_B
    return roles
