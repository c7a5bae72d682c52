"""Memory reuse for the streaming processes.

A stream allocates and frees arrays of megabytes many times a second. glibc returns blocks
that large to the operating system on every free and maps fresh pages for the next one, and
touching fresh pages costs a page fault per 4 kB — on virtual machines as much as copying the
data several times. :func:`reuse_freed_memory` keeps such blocks in the process for reuse.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

#: mallopt parameters (glibc malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Blocks up to this size come from the reusable heap, bytes (glibc's largest).
MMAP_THRESHOLD = 32 * 2**20
#: Free memory kept at the top of the heap before any is returned, bytes.
TRIM_THRESHOLD = 1 << 30


def reuse_freed_memory() -> bool:
    """Ask glibc to keep freed blocks of up to :data:`MMAP_THRESHOLD` for reuse (at most
    :data:`TRIM_THRESHOLD` of them idle); False where that is not possible (not glibc)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
