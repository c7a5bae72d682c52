"""Filling decay histograms from a batch, split between threads (:mod:`.parallel`): each thread
adds its piece of the batch into a histogram of its own, and the pieces are summed. In T2 every
piece starts from the last sync before it, so the result is that of one pass over the batch."""

from __future__ import annotations

import numpy as np

from ..kernels import NO_SYNC, decay_histogram_t2, decay_histogram_t3, last_sync_before
from ..kernels.decay_phase import decay_phase_t2, decay_phase_t3
from .parallel import pieces, run_all


def fill_t3(
    hist: np.ndarray,
    channels: np.ndarray,
    nanotimes: np.ndarray,
    phased: bool,
    args: tuple,
    threads: int,
) -> None:
    """Add T3 photons to ``hist`` (rows: detectors) by their nanotimes.

    Parameters
    ----------
    hist
        int64 histogram, updated.
    channels, nanotimes
        The batch's channels and nanotimes (in nanotime units).
    phased
        True: :func:`~tagstream.kernels.decay_phase.decay_phase_t3` (delays folded onto the laser
        period, cable delays taken off); false: the integer kernel
        :func:`~tagstream.kernels.decay_histogram_t3`.
    args
        The kernel's arguments between the nanotimes and the histogram.
    threads
        Most threads to use.
    """
    count = decay_phase_t3 if phased else decay_histogram_t3

    def kernel(i0: int, i1: int, h: np.ndarray) -> None:
        count(channels[i0:i1], nanotimes[i0:i1], *args, h)

    parts = pieces(len(channels), threads)
    hists = [hist] + [np.zeros_like(hist) for _ in parts[1:]]
    run_all(
        [
            lambda i0=i0, i1=i1, h=h: kernel(i0, i1, h)
            for (i0, i1), h in zip(parts, hists, strict=True)
        ]
    )
    for h in hists[1:]:
        hist += h


def fill_t2(
    hist: np.ndarray,
    ts: np.ndarray,
    ch: np.ndarray,
    sync: np.int64,
    phased: bool,
    args: tuple,
    last_sync: np.ndarray,
    threads: int,
) -> None:
    """Add T2 photons (tags without lost time among them) to ``hist`` by their delay after the
    preceding sync tag; each piece starts from the last sync before it.

    Parameters
    ----------
    hist
        int64 histogram (rows: detectors), updated.
    ts, ch
        Timestamps (ps) and channels of the tags.
    sync
        The sync channel.
    phased
        True: :func:`~tagstream.kernels.decay_phase.decay_phase_t2` (delays folded onto the laser
        period, cable delays taken off); false: the integer kernel
        :func:`~tagstream.kernels.decay_histogram_t2`.
    args
        The kernel's arguments between the sync channel and the sync state.
    last_sync
        int64[1]: time of the last sync before the tags (``NO_SYNC`` if none), ps; updated to
        the last one seen.
    threads
        Most threads to use.
    """
    count = decay_phase_t2 if phased else decay_histogram_t2

    def kernel(i0: int, i1: int, h: np.ndarray, st: np.ndarray) -> None:
        count(ts[i0:i1], ch[i0:i1], sync, *args, st, h)

    parts = pieces(len(ts), threads)
    states = [last_sync] + [np.zeros(1, np.int64) for _ in parts[1:]]
    for (i0, _), state in zip(parts[1:], states[1:], strict=True):
        found = last_sync_before(ts, ch, sync, 0, i0)
        state[0] = last_sync[0] if found == NO_SYNC else found
    hists = [hist] + [np.zeros_like(hist) for _ in parts[1:]]
    run_all(
        [
            lambda i0=i0, i1=i1, h=h, st=st: kernel(i0, i1, h, st)
            for (i0, i1), h, st in zip(parts, hists, states, strict=True)
        ]
    )
    for h in hists[1:]:
        hist += h
    last_sync[0] = states[-1][0]
