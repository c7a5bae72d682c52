"""The TDC1's timestamp words (timestamp mode), as its USB serial port streams them.

Each event is one little-endian 32-bit word: the time in 2 ns ticks in bits 5-31 (27 bits, so
the count wraps every 2^27 ticks, 268 ms), the inputs that fired in bits 0-3 (input 1 is bit 0;
several bits when inputs fired in the same tick), and bit 4 set on words that carry no event
(the device's own time marks, which keep the wrap count right through quiet spells).
"""

from __future__ import annotations

import numpy as np

TICK_PS = 2_000
TIME_BITS = 27
WRAP_TICKS = 1 << TIME_BITS
NO_EVENT = 0x10
INPUTS = 4


def decode_words(
    words: np.ndarray, last_tick: int, wraps: int
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Timestamp words to tags.

    Parameters
    ----------
    words : uint32[n]
    last_tick, wraps
        The 27-bit time of the word before ``words`` (-1 before the first) and the wraps
        counted so far.

    Returns
    -------
    timestamps : int64[m]
        ps since the start, non-decreasing (one tag per input that fired).
    channels : uint8[m]
        Input numbers 1-4.
    last_tick, wraps
        For the next call.
    """
    words = np.asarray(words, dtype=np.uint32)
    ticks = (words >> 5).astype(np.int64)
    previous = np.concatenate(([last_tick], ticks[:-1]))
    total = wraps + np.cumsum(ticks < previous)
    absolute = (total * WRAP_TICKS + ticks) * TICK_PS
    events = (words & NO_EVENT) == 0
    times, chans = [], []
    for bit in range(INPUTS):
        hit = events & ((words >> bit) & 1).astype(bool)
        times.append(absolute[hit])
        chans.append(np.full(int(hit.sum()), bit + 1, dtype=np.uint8))
    t = np.concatenate(times)
    ch = np.concatenate(chans)
    order = np.argsort(t, kind="stable")  # inputs of one tick in input order
    if words.size:
        last_tick, wraps = int(ticks[-1]), int(total[-1])
    return t[order], ch[order], last_tick, wraps


def encode_words(timestamps_ps: np.ndarray, channels: np.ndarray, mark_every_ticks: int = 0):
    """Tags (ps, inputs 1-4, in time order) as the device's words, inputs of one tick merged
    into one word; with ``mark_every_ticks``, a no-event word at least that often, as the
    device keeps the wrap count. For emulators and tests."""
    ticks = np.asarray(timestamps_ps, dtype=np.int64) // TICK_PS
    bits = np.left_shift(1, np.asarray(channels, dtype=np.int64) - 1)
    keys, first = np.unique(ticks, return_index=True)
    pattern = np.bitwise_or.reduceat(bits, first) if ticks.size else bits
    marks = np.zeros(0, dtype=np.int64)
    if mark_every_ticks and ticks.size:
        marks = np.arange(0, keys[-1], mark_every_ticks, dtype=np.int64)
    allt = np.concatenate((keys, marks))
    allp = np.concatenate((pattern, np.full(marks.size, NO_EVENT, dtype=np.int64)))
    order = np.argsort(allt, kind="stable")
    allt, allp = allt[order], allp[order]
    return (((allt % WRAP_TICKS) << 5) | allp).astype("<u4")
