"""Exact integer division by a run-time constant, by multiply and shift.

Hardware division of 64-bit integers costs tens of cycles; the correlators divide every lag by
the bin width. For dividends ``0 <= n < 2**31`` the quotient ``n // d`` equals
``(n * m) >> s`` with ``m = ceil(2**(31 + l) / d)``, ``s = 31 + l`` and ``l = ceil(log2 d)``
(Granlund & Montgomery, 1994); the product stays below ``2**63``.
"""

from __future__ import annotations

from numba import njit

DIVIDEND_BITS = 31
MAX_DIVIDEND = (1 << DIVIDEND_BITS) - 1
POWER_OF_TWO_MULT = 1 << DIVIDEND_BITS  # the multiplier of every power-of-two divisor


def magic_divisor(d: int) -> tuple[int, int]:
    """Multiplier and shift for exact division by ``d`` of dividends in ``[0, 2**31)``."""
    d = int(d)
    if d < 1:
        raise ValueError(f"divisor must be positive, got {d}")
    if d > MAX_DIVIDEND:
        raise ValueError(f"divisor {d} is too large (max {MAX_DIVIDEND})")
    ell = (d - 1).bit_length()  # ceil(log2 d)
    shift = DIVIDEND_BITS + ell
    mult = -((-1 << shift) // d)  # ceil(2**shift / d)
    return mult, shift


@njit(nogil=True, cache=True, inline="always")
def divide(n, mult, shift):
    """``n // d`` for ``0 <= n < 2**31``, given ``(mult, shift) = magic_divisor(d)``."""
    return (n * mult) >> shift
