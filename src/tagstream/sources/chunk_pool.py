"""The thread pool that packs and unpacks HDF5 chunks on every core (the compressors and the
numba kernels release the GIL)."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

#: Most threads the pool uses, however many cores there are.
MAX_WORKERS = 4

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def shared_pool() -> ThreadPoolExecutor:
    """The process's chunk pool (one thread per core, at most :data:`MAX_WORKERS`)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            workers = max(1, min(MAX_WORKERS, os.cpu_count() or 1))
            _pool = ThreadPoolExecutor(workers, thread_name_prefix="tagstream-chunks")
        return _pool
