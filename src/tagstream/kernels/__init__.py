"""Layer 2: numba kernels over arrays and state arrays. No Python objects, no I/O.

Each kernel has a slow, obviously-correct counterpart in ``tests/reference.py``.
"""

from .binning import bin_counts, bin_delays_t2, bin_delays_t3
from .decay import NO_SYNC, decay_histogram_t2, decay_histogram_t3, last_sync_before
from .divide import divide, magic_divisor
from .g2_linear import (
    ROLE_A,
    ROLE_B,
    count_roles,
    count_two,
    pairs_across,
    pairs_within,
    pairs_within_auto,
    pairs_within_cross,
    role_table,
)
from .multitau import multitau_process
from .overlap import run_overlap, run_overlaps

__all__ = [
    "NO_SYNC",
    "ROLE_A",
    "ROLE_B",
    "bin_counts",
    "bin_delays_t2",
    "bin_delays_t3",
    "count_roles",
    "count_two",
    "decay_histogram_t2",
    "decay_histogram_t3",
    "divide",
    "last_sync_before",
    "magic_divisor",
    "multitau_process",
    "pairs_across",
    "pairs_within",
    "pairs_within_auto",
    "pairs_within_cross",
    "role_table",
    "run_overlap",
    "run_overlaps",
]
