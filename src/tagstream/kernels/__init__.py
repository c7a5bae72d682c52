"""Layer 2: numba kernels over arrays and state arrays. No Python objects, no I/O.

Each kernel has a slow, obviously-correct counterpart in ``tests/reference.py``.
"""

from .binning import bin_counts, bin_delays_t2, bin_delays_t3
from .decay import NO_SYNC, decay_histogram_t2, decay_histogram_t3
from .divide import divide, magic_divisor
from .g2_linear import ROLE_A, ROLE_B, count_roles, pairs_across, pairs_within, role_table
from .multitau import FLUSH_LIMIT, multitau_process
from .overlap import run_overlap

__all__ = [
    "FLUSH_LIMIT",
    "NO_SYNC",
    "ROLE_A",
    "ROLE_B",
    "bin_counts",
    "bin_delays_t2",
    "bin_delays_t3",
    "count_roles",
    "decay_histogram_t2",
    "decay_histogram_t3",
    "divide",
    "magic_divisor",
    "multitau_process",
    "pairs_across",
    "pairs_within",
    "role_table",
    "run_overlap",
]
