"""The memory-speed checks the transport and the recorder run on every batch."""

from __future__ import annotations

import numpy as np
import pytest

from tagstream.kernels.channel_counts import channel_counts
from tagstream.kernels.ordering import first_out_of_order

from .. import reference as ref


@pytest.mark.parametrize("n", [0, 1, 2, 17, 1000])
def test_first_out_of_order_matches_reference_on_random_streams(rng, n):
    for _ in range(20):
        ts = np.sort(rng.integers(0, 10_000, n)).astype(np.int64)
        if n and rng.random() < 0.7:  # break the order, or push a tag out of the span
            k = int(rng.integers(0, n))
            ts[k] = int(rng.integers(-100, 10_100))
        t_begin, t_end = np.int64(0), np.int64(int(rng.integers(9_000, 10_001)))
        assert first_out_of_order(ts, t_begin, t_end) == ref.first_out_of_order(ts, 0, t_end)


def test_first_out_of_order_edges():
    ts = np.array([5, 5, 7], dtype=np.int64)
    assert first_out_of_order(ts, np.int64(5), np.int64(8)) == -1  # ties and the span's ends
    assert first_out_of_order(ts, np.int64(6), np.int64(8)) == 0  # before the span
    assert first_out_of_order(ts, np.int64(5), np.int64(7)) == 2  # at the span's end
    assert first_out_of_order(ts[:0], np.int64(0), np.int64(1)) == -1


@pytest.mark.parametrize("n", [0, 1, 5, 10_000])
def test_channel_counts_match_reference(rng, n):
    channels = rng.integers(0, 256, n).astype(np.uint8)
    np.testing.assert_array_equal(channel_counts(channels), ref.channel_counts(channels))
    np.testing.assert_array_equal(channel_counts(channels), np.bincount(channels, minlength=256))
