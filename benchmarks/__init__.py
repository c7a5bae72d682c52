"""Throughput benchmarks of the tagstream kernels, run by ``tagstream bench``.

Every figure is a ratio measured in one run on the same data: tags per second of a kernel
against ``numpy.sum`` over the same int64 timestamps (the memory-bandwidth ceiling of this
machine), and against peers (a numpy ``searchsorted`` correlator, tttrlib, pycorrelate) where
they are installed.
"""

from .suite import run_suite

__all__ = ["run_suite"]
