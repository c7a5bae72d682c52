"""The bins of an intensity trace and their states: checks of a trace, the occurrence histogram
of its full bins, the state codes, the classification of bins by thresholds, and the interior bins
of each run of one state.

A trace is ``counts`` (photons per bin), ``exposure_ps`` (live time of each bin, ps) and the bin
width ``bin_ps`` (see :mod:`~tagstream.analysis.blinking`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import AnalysisError

OFF, GREY, ON, INVALID = 0, 1, 2, -1
STATE_NAMES = ("off", "grey", "on")


def occurrence_histogram(
    counts: np.ndarray, exposure_ps: np.ndarray, bin_ps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Occurrence histogram of the counts per bin over full bins.

    Returns
    -------
    values, occurrences
        ``values = 0, 1, ..., max`` (counts per bin) and the number of full bins with each value;
        both empty when there is no full bin.
    """
    counts, exposure = check_trace(counts, exposure_ps, bin_ps)
    full = counts[exposure == bin_ps]
    if full.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    occurrences = np.bincount(full).astype(np.int64)
    return np.arange(occurrences.size, dtype=np.int64), occurrences


def classify(counts: np.ndarray, thresholds_counts: Sequence[float]) -> np.ndarray:
    """State of each bin: ``OFF`` (0), ``GREY`` (1) or ``ON`` (2).

    Parameters
    ----------
    counts
        Counts per full bin (or rates scaled to a full bin).
    thresholds_counts
        One threshold (OFF / ON) or two increasing ones (OFF / grey / ON), counts per bin.
        A bin exactly at a threshold goes to the higher state.

    Returns
    -------
    int8 array of states.
    """
    thr = check_thresholds(thresholds_counts, "thresholds_counts")
    level = np.searchsorted(thr, np.asarray(counts), side="right")
    codes = np.array([OFF, ON] if thr.size == 1 else [OFF, GREY, ON], dtype=np.int8)
    return codes[level]


def interior_bins(states: np.ndarray) -> np.ndarray:
    """States with the bins at the ends of each run marked ``INVALID``.

    A bin keeps its state only when both neighbours are in the same (valid) state; the first
    and last bins of the trace and the bins next to an invalid one are dropped. A run of
    ``L >= 3`` bins keeps ``L - 2``; a run of one or two bins is all transition.

    Parameters
    ----------
    states
        State per bin (``OFF``, ``GREY``, ``ON``, ``INVALID``).

    Returns
    -------
    int8 array of the same length.
    """
    states = np.asarray(states, dtype=np.int8)
    out = np.full(states.shape, INVALID, dtype=np.int8)
    if states.size < 3:
        return out
    mid = states[1:-1]
    keep = (mid != INVALID) & (states[:-2] == mid) & (states[2:] == mid)
    out[1:-1] = np.where(keep, mid, INVALID)
    return out


def check_trace(
    counts: np.ndarray, exposure_ps: np.ndarray, bin_ps: int
) -> tuple[np.ndarray, np.ndarray]:
    """A trace's counts and live time per bin (ps) as int64, checked: 1-D of equal length, integer,
    counts not negative, live time within ``[0, bin_ps]`` and no counts without live time."""
    counts = np.asarray(counts)
    exposure = np.asarray(exposure_ps)
    if int(bin_ps) <= 0:
        raise AnalysisError(f"bin width must be positive, got {bin_ps} ps")
    if counts.ndim != 1 or exposure.shape != counts.shape:
        raise AnalysisError(
            f"counts and exposure_ps must be 1-D of equal length, got {counts.shape} and "
            f"{exposure.shape}"
        )
    for name, arr in (("counts", counts), ("exposure_ps", exposure)):
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise AnalysisError(f"{name} must be integers, got {arr.dtype}")
    counts = counts.astype(np.int64, copy=False)
    exposure = exposure.astype(np.int64, copy=False)
    if np.any(counts < 0):
        raise AnalysisError("counts must not be negative")
    if np.any((exposure < 0) | (exposure > bin_ps)):
        raise AnalysisError(f"exposure_ps must lie in [0, {bin_ps}] (the bin width)")
    if np.any((exposure == 0) & (counts > 0)):
        raise AnalysisError("a bin without live time (exposure 0) holds counts")
    return counts, exposure


def check_thresholds(thresholds: Sequence[float], name: str) -> np.ndarray:
    """One or two increasing finite intensity thresholds as a float array (``name`` in the
    error)."""
    thr = np.asarray(thresholds, dtype=float).ravel()
    if thr.size not in (1, 2) or not np.all(np.isfinite(thr)) or np.any(np.diff(thr) <= 0):
        raise AnalysisError(f"{name}: give one or two increasing finite thresholds, got {thr}")
    return thr


def classify_trace(
    counts: np.ndarray, exposure: np.ndarray, bin_ps: int, thr_counts: np.ndarray
) -> np.ndarray:
    """States of all bins: full bins by their counts, partial bins by their rate."""
    live = exposure > 0
    scaled = counts.astype(float)
    partial = live & (exposure < bin_ps)
    scaled[partial] *= bin_ps / exposure[partial]
    states = np.full(counts.shape, INVALID, dtype=np.int8)
    states[live] = classify(scaled[live], thr_counts)
    return states


def state_code(state: str | int) -> int:
    """The state code (``OFF`` 0, ``GREY`` 1, ``ON`` 2) of a state name or code."""
    if isinstance(state, str) and state.lower() in STATE_NAMES:
        return STATE_NAMES.index(state.lower())
    if not isinstance(state, str) and state in (OFF, GREY, ON):
        return int(state)
    raise AnalysisError(f"unknown state {state!r}: use 'on', 'grey' or 'off'")
