"""Recent decay fits, by problem and order: fitting ``"tri"`` fits ``"mono"`` and ``"bi"`` on the
way, so choosing the model (mono, then bi, then tri) reuses them instead of fitting them again."""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np

from .poisson_fit import PoissonFit

#: The fits, oldest first: keys ``(problem_key(...), order, guess)``.
FIT_CACHE: OrderedDict[tuple, PoissonFit] = OrderedDict()
#: Most fits kept.
FIT_CACHE_SIZE = 12


def remember(key: tuple, fit: PoissonFit) -> None:
    """Keep ``fit`` under ``key``, dropping the oldest beyond :data:`FIT_CACHE_SIZE`."""
    FIT_CACHE[key] = fit
    while len(FIT_CACHE) > FIT_CACHE_SIZE:
        FIT_CACHE.popitem(last=False)


def problem_key(
    counts: np.ndarray,
    edges: np.ndarray,
    bins: slice,
    period: float | None,
    kind: str,
    irf: np.ndarray | None,
    irf_sigma_ps: float | None,
    background: float | None,
) -> bytes:
    """A digest of everything that determines the fits of a decay histogram."""
    digest = hashlib.blake2b(digest_size=20)
    for array in (counts, edges, np.empty(0) if irf is None else irf):
        digest.update(np.ascontiguousarray(array, dtype=float).tobytes())
        digest.update(b"|")
    digest.update(repr((bins.start, bins.stop, period, kind, irf_sigma_ps, background)).encode())
    return digest.digest()
