"""Pixels of a confocal scan: which line and pixel each photon falls in, from the scanner's
line-start, line-stop and frame markers, with state carried from batch to batch."""

from __future__ import annotations

from numba import njit

#: Bits of a channel's entry in the flag table.
LINE_START, LINE_STOP, FRAME, COUNTED = 1, 2, 4, 8

#: Entries of the state array.
S_FRAME, S_NEXT_ROW, S_OPEN, S_T0, S_ROW, S_ABANDONED, S_LINES, S_EXTRA, S_LINE_PS = range(9)
STATE_SIZE = 9


@njit(nogil=True, cache=True)
def scan_pixels(times, channels, flags, nx, ny, dwell, bidirectional, has_frame, state,
                out_row, out_x, out_line, line_rows, line_ps):  # fmt: skip
    """Row and pixel of every counted tag inside a scan line.

    A marker tag's flags are taken in the order line stop, frame, line start, so a record
    carrying several markers ends a line before a frame and starts a line after it. With
    ``dwell == 0`` a line runs from its start to its stop marker and its ``nx`` pixels split
    that time equally: ``x = (t - t0) * nx // (t1 - t0)`` for a tag after the start and before
    the stop in stream order with ``t0 <= t < t1``; its tags are only placed when the stop
    comes. With ``dwell > 0`` (no stop marker) pixel ``x`` is ``[t0 + x dwell, t0 + (x+1)
    dwell)`` and tags are placed at once. A line whose start comes before its stop (or a frame
    marker inside a line) is abandoned, its tags unplaced. Rows count the lines of a frame from
    0; a frame marker starts a new frame; without frame markers (``has_frame`` false) a new
    frame starts after ``ny`` lines, with them the lines after the ``ny``-th are not placed.
    Odd rows of a ``bidirectional`` scan run backwards.

    Parameters
    ----------
    times : int64[n]
        Tag times, ps, non-decreasing.
    channels : integer[n]
    flags : int64[m]
        Per channel number: ``LINE_START | LINE_STOP | FRAME`` for markers, ``COUNTED`` for the
        photons to place; channels beyond ``m`` are ignored.
    nx, ny : int
        Pixels per line, lines per frame.
    dwell : int
        Pixel dwell time, ps, or 0 to split each line between its markers.
    bidirectional, has_frame : bool
    state : int64[STATE_SIZE]
        Carried from batch to batch (updated in place): frame markers seen, next row, whether
        a line is open, its start (ps) and row, lines abandoned, lines placed, lines beyond
        ``ny``, and the summed time of the lines placed (ps).
    out_row, out_x, out_line : int64[>= n]
        Row, pixel and line (counted from 0 over the run: the lines placed before it) of each
        tag, -1 when it is not placed.
    line_rows, line_ps : int64[>= n + 1]
        The row and duration (ps) of each line placed in this call, in order (line
        ``state[S_LINES]`` on entry first).

    Returns
    -------
    int
        With ``dwell == 0``: the index of the start marker of a line still open at the end
        (``state`` is then as it was before that marker acted as a start or frame marker (a
        stop in its record has acted), and the tags from it on are to be given again with the
        next batch), else ``n``.
    """
    n = times.shape[0]
    m = flags.shape[0]
    saved = state.copy()  # the state before the open line's start marker
    base = state[S_LINES]
    open_at = -1
    out_row[:n] = -1
    out_x[:n] = -1
    out_line[:n] = -1
    for i in range(n):
        c = channels[i]
        f = flags[c] if 0 <= c < m else 0
        if f == COUNTED:
            if dwell > 0:
                _place_now(times[i], i, state, nx, dwell, bidirectional, out_row, out_x,
                           out_line)  # fmt: skip
            continue
        if f == 0:
            continue
        if f & LINE_STOP and state[S_OPEN] == 1:
            if dwell == 0 and state[S_ROW] >= 0:
                line_rows[state[S_LINES] - base] = state[S_ROW]
                line_ps[state[S_LINES] - base] = times[i] - state[S_T0]
                _place_line(times, channels, flags, open_at, i, state, nx, bidirectional,
                            out_row, out_x, out_line)  # fmt: skip
            state[S_OPEN] = 0
        if f & LINE_START:  # the state a line still open at the end is given again from
            saved[:] = state  # (after this record's stop: that line is done)
        if f & FRAME:
            _end_frame(state, dwell)
        if f & LINE_START:
            _start_line(state, times[i], nx, ny, dwell, has_frame)
            if dwell > 0 and state[S_ROW] >= 0:
                line_rows[state[S_LINES] - 1 - base] = state[S_ROW]
                line_ps[state[S_LINES] - 1 - base] = nx * dwell
            open_at = i
    if dwell == 0 and state[S_OPEN] == 1:
        state[:] = saved
        return open_at
    return n


@njit(nogil=True, cache=True)
def _place_now(t, i, state, nx, dwell, bidirectional, out_row, out_x, out_line):
    """A photon of a line with a fixed pixel dwell: placed at once."""
    if state[S_OPEN] == 1 and state[S_ROW] >= 0:
        d = t - state[S_T0]
        if d < nx * dwell:
            x = d // dwell
            if bidirectional and state[S_ROW] % 2 == 1:
                x = nx - 1 - x
            out_row[i] = state[S_ROW]
            out_x[i] = x
            out_line[i] = state[S_LINES] - 1


@njit(nogil=True, cache=True)
def _place_line(times, channels, flags, open_at, stop, state, nx, bidirectional, out_row, out_x,
                out_line):  # fmt: skip
    """The photons between the open line's start marker and its stop marker ``stop``."""
    m = flags.shape[0]
    t0 = state[S_T0]
    span = times[stop] - t0
    row = state[S_ROW]
    for j in range(open_at + 1, stop):
        c = channels[j]
        if not (0 <= c < m and flags[c] == COUNTED) or times[j] >= times[stop]:
            continue
        x = (times[j] - t0) * nx // span
        if bidirectional and row % 2 == 1:
            x = nx - 1 - x
        out_row[j] = row
        out_x[j] = x
        out_line[j] = state[S_LINES]
    state[S_LINES] += 1
    state[S_LINE_PS] += span


@njit(nogil=True, cache=True)
def _end_frame(state, dwell):
    """A frame marker: an open line without its stop is abandoned; rows count from 0."""
    if state[S_OPEN] == 1 and dwell == 0:
        state[S_ABANDONED] += 1
    state[S_OPEN] = 0
    state[S_FRAME] += 1
    state[S_NEXT_ROW] = 0


@njit(nogil=True, cache=True)
def _start_line(state, t, nx, ny, dwell, has_frame):
    """A line-start marker at ``t``: the next row opens (none past ``ny`` with frame markers;
    without them a new frame starts)."""
    if state[S_OPEN] == 1 and dwell == 0:
        state[S_ABANDONED] += 1
    if state[S_NEXT_ROW] >= ny and not has_frame:
        state[S_FRAME] += 1
        state[S_NEXT_ROW] = 0
    if state[S_NEXT_ROW] < ny:
        state[S_ROW] = state[S_NEXT_ROW]
    else:
        state[S_ROW] = -1
        state[S_EXTRA] += 1
    state[S_NEXT_ROW] += 1
    state[S_OPEN] = 1
    state[S_T0] = t
    if dwell > 0 and state[S_ROW] >= 0:
        state[S_LINES] += 1
        state[S_LINE_PS] += nx * dwell
