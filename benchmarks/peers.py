"""Other ways to compute the same histograms: a numpy baseline and, when installed, tttrlib and
pycorrelate. Each returns ``None`` when its package is missing."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numpy_g2(ta: np.ndarray, tb: np.ndarray, window: int, bin_width: int) -> np.ndarray:
    """All-pairs linear g2 with ``numpy.searchsorted``: every B tag in [t_A - W, t_A + W)."""
    lo = np.searchsorted(tb, ta - window, side="left")
    hi = np.searchsorted(tb, ta + window, side="left")
    per_a = hi - lo
    total = int(per_a.sum())
    which_a = np.repeat(np.arange(ta.size), per_a)
    first = np.repeat(lo - np.concatenate([[0], np.cumsum(per_a)[:-1]]), per_a)
    which_b = first + np.arange(total)
    tau = tb[which_b] - ta[which_a]
    return np.bincount((tau + window) // bin_width, minlength=2 * window // bin_width)


def pycorrelate_linear(
    window: int, bin_width: int
) -> Callable[[np.ndarray, np.ndarray], np.ndarray] | None:
    try:
        import pycorrelate
    except ImportError:
        return None
    bins = np.arange(-window, window + 1, bin_width)

    def run(ta: np.ndarray, tb: np.ndarray) -> np.ndarray:
        # pcorrelate returns counts per unit lag
        return np.rint(pycorrelate.pcorrelate(ta, tb, bins) * bin_width).astype(np.int64)

    return run


def pycorrelate_log(tau_min_ps: int, tau_max_ps: int, per_octave: int):
    try:
        import pycorrelate
    except ImportError:
        return None
    octaves = np.log2(tau_max_ps / tau_min_ps)
    bins = np.unique(
        np.round(
            tau_min_ps * 2.0 ** (np.arange(int(octaves * per_octave) + 1) / per_octave)
        ).astype(np.int64)
    )

    def run(ta: np.ndarray, tb: np.ndarray) -> np.ndarray:
        return np.asarray(pycorrelate.pcorrelate(ta, tb, bins))

    return run


def tttrlib_log(method: str, n_casc: int, n_bins: int):
    """tttrlib's multi-tau correlator; it takes unsigned times in units of its first lag, which the
    caller prepares (outside the timing) together with unit weights."""
    try:
        import tttrlib
    except ImportError:
        return None

    def run(ta: np.ndarray, wa: np.ndarray, tb: np.ndarray, wb: np.ndarray) -> np.ndarray:
        corr = tttrlib.Correlator()
        corr.method = method
        corr.n_casc = n_casc
        corr.n_bins = n_bins
        corr.set_events(ta, wa, tb, wb)
        return np.asarray(corr.correlation)

    return run
