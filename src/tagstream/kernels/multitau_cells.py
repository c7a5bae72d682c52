"""Cells of the multi-tau correlation (:mod:`~tagstream.kernels.multitau`): the level-0 cell of
each tag without integer division, the bit length of a cell difference in one instruction, and
the history windows that hold the tags per cell of the last ``2P`` cells of each level and role.

``t // dt0`` on int64 costs 20-40 cycles. :func:`floor_cells` shifts when ``dt0`` is a power of
two; otherwise it subtracts the first tag's cell start and multiplies by a float reciprocal, which
is within one of the quotient while the offsets stay below ``2**50``, and corrects the estimate
with exact integer checks. Longer spans fall back to exact division.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

FLOAT_SPAN = np.int64(1) << np.int64(50)
"""Offsets below this divide exactly by float reciprocal with a one-step correction."""


@intrinsic
def bit_length(typingctx, x):
    """Number of bits of ``x >= 0`` (``floor(log2 x) + 1``, 0 for 0), by one instruction."""
    sig = types.int64(types.int64)

    def codegen(context, builder, signature, args):
        zeros = builder.ctlz(args[0], ir.Constant(ir.IntType(1), 0))
        return builder.sub(ir.Constant(ir.IntType(64), 64), zeros)

    return sig, codegen


@njit(nogil=True, cache=True)
def floor_cells(timestamps, dt0, out):
    """Level-0 cells ``out[i] = timestamps[i] // dt0`` (floor), exactly, without integer division.

    Parameters
    ----------
    timestamps : int64[n]
        Non-decreasing times, ps (any sign).
    dt0 : int
        Cell width, ps (positive).
    out : int64[>= n]
        Receives the cells.
    """
    n = timestamps.shape[0]
    if n == 0:
        return
    if dt0 & (dt0 - 1) == 0:
        shift = bit_length(dt0) - 1
        for i in range(n):
            out[i] = timestamps[i] >> shift
        return
    base_c = timestamps[0] // dt0
    base = base_c * dt0
    if timestamps[n - 1] - base >= FLOAT_SPAN:
        for i in range(n):
            out[i] = timestamps[i] // dt0
        return
    inv = 1.0 / dt0
    for i in range(n):
        x = timestamps[i] - base
        q = np.int64(np.floor(x * inv))  # x // dt0 or one less (one more needs x >= 2**52)
        r = x - q * dt0
        q += np.int64(r >= dt0) - np.int64(r < 0)
        out[i] = base_c + q


@njit(nogil=True, cache=True)
def shift_history(hist, k, r, shift):
    """Move the history window of level ``k``, role ``r`` forward by ``shift >= 0`` cells."""
    size = hist.shape[2]
    for q in range(size):
        src = q + shift if shift < size else size
        hist[k, r, q] = hist[k, r, src] if src < size else 0


@njit(nogil=True, cache=True)
def update_history(role_cells, n_a, n_b, auto, n_direct, s0, lim0, hist):
    """Move the histories of levels ``< n_direct`` to ``lim0`` and add the block's tags."""
    size = hist.shape[2]
    for k in range(n_direct):
        low = (lim0 >> k) - size + 1
        for r in range(1 if auto else 2):
            shift_history(hist, k, r, (lim0 >> k) - (s0 >> k))
            i = (n_a if r == 0 else n_b) - 1
            while i >= 0:
                c = role_cells[r, i] >> k
                if c < low:
                    break
                hist[k, r, c - low] += 1
                i -= 1
