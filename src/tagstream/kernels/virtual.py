"""Virtual channels made from tags in stream order, with state carried from batch to batch:
coincidences of several channels, and tags between a start and a stop marker."""

from __future__ import annotations

from numba import njit


@njit(nogil=True, cache=True)
def coincidences(
    timestamps, channels, member, n_members, window, at_mean, last, has, out_t, out_i
):
    """Tags of a coincidence of every member channel within ``window``.

    Each member keeps its latest tag (``last``, ``has``). When a member's tag comes and the
    latest tags of all members lie within ``window`` ps of it (``t - min(last) <= window``),
    one coincidence tag is made, at that tag's time (the last arrival) or, with ``at_mean``,
    at the members' mean time rounded down, and the members' tags are used up (each tag takes
    part in one coincidence at most).

    Parameters
    ----------
    timestamps : int64[n]
        Tag times, ps, non-decreasing.
    channels : uint8[n]
    member : int64[256]
        Position of each channel among the members, -1 for other channels.
    n_members : int
    window : int
        Coincidence window, ps.
    at_mean : bool
    last : int64[n_members], has : bool[n_members]
        The members' latest unused tags, carried from batch to batch (updated in place).
    out_t, out_i : int64[>= n]
        Coincidence times written, and the index of the tag that completed each.

    Returns
    -------
    int
        Coincidence tags written.
    """
    n_out = 0
    for i in range(timestamps.shape[0]):
        m = member[channels[i]]
        if m < 0:
            continue
        t = timestamps[i]
        last[m] = t
        has[m] = True
        earliest = t
        total = 0
        complete = True
        for j in range(n_members):
            if not has[j]:
                complete = False
                break
            earliest = min(earliest, last[j])
            total += last[j]
        if not complete or t - earliest > window:
            continue
        out_t[n_out] = total // n_members if at_mean else t
        out_i[n_out] = i
        n_out += 1
        for j in range(n_members):
            has[j] = False
    return n_out


@njit(nogil=True, cache=True)
def between_markers(channels, source, start, stop, state, keep):
    """Which tags of channel ``source`` come while a gate is open: opened by a tag on
    ``start``, closed by one on ``stop`` (in stream order; a tag after the marker in the
    stream is after it).

    Parameters
    ----------
    channels : uint8[n]
    source, start, stop : int
    state : bool[1]
        Whether the gate is open, carried from batch to batch (updated in place).
    keep : bool[n]
        Set for the tags that pass.
    """
    is_open = state[0]
    for i in range(channels.shape[0]):
        c = channels[i]
        if c == start:
            is_open = True
        elif c == stop:
            is_open = False
        keep[i] = is_open and c == source
    state[0] = is_open
