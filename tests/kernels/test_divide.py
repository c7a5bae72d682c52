import numpy as np
import pytest

from tagstream.kernels import divide, magic_divisor
from tagstream.kernels.divide import MAX_DIVIDEND


@pytest.mark.parametrize(
    "d",
    [
        1,
        2,
        3,
        7,
        10,
        16,
        100,
        125,
        1000,
        4096,
        12500,
        99991,
        10**6,
        2**20 + 1,
        1_000_003,
        2**30,
        MAX_DIVIDEND,
    ],
)
def test_magic_division_is_exact(d, rng):
    mult, shift = magic_divisor(d)
    n = np.concatenate(
        [
            rng.integers(0, MAX_DIVIDEND + 1, 20000),
            np.arange(0, 3 * d + 3)
            if d < 10**5
            else np.array([0, d - 1, d, d + 1, 2 * d - 1, 2 * d]),
            [MAX_DIVIDEND, MAX_DIVIDEND - 1, (MAX_DIVIDEND // d) * d, (MAX_DIVIDEND // d) * d - 1],
        ]
    ).astype(np.int64)
    n = n[(n >= 0) & (n <= MAX_DIVIDEND)]
    got = np.array([divide(np.int64(x), np.int64(mult), np.int64(shift)) for x in n[:3000]])
    assert np.array_equal(got, n[:3000] // d)
    # the vectorised formula is the same arithmetic: check all values at once
    assert np.array_equal((n * mult) >> shift, n // d)


def test_magic_divisor_rejects_bad_divisors():
    with pytest.raises(ValueError):
        magic_divisor(0)
    with pytest.raises(ValueError):
        magic_divisor(MAX_DIVIDEND + 1)
