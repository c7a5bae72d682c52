"""Channel delays: the g2 of delayed channels equals the g2 of the tags moved back by their
delays, in any chunking."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagstream.analysis.g2 import G2Analyzer
from tagstream.errors import ChannelError
from tagstream.tags import ChannelMap, RunMetadata, TagBatch

from .. import reference
from ..streams import hbt_stream, random_cuts

CHANNELS = ChannelMap.from_dict({"A": 1, "B": 2, "C": 3})
META = RunMetadata("test", CHANNELS)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    delay_a=st.sampled_from([0, 300, -700]),
    delay_b=st.sampled_from([0, 5_000, -2_100, 12_400]),
    n_cuts=st.integers(0, 12),
)
def test_g2_with_delays_matches_shifted_reference(seed, delay_a, delay_b, n_cuts):
    rng = np.random.default_rng(seed)
    t_end = 3_000_000
    t, ch = hbt_stream(
        rng, 0, t_end, {1: 2e-4, 2: 2e-4, 3: 1e-4}, pair_rate=2e-4, lag_spread=8_000, grid=7
    )
    window, width = 10_000, 100
    batch = TagBatch(t, ch, 0, t_end, metadata=META)
    g2 = G2Analyzer("A", "B", window=window, bin=width, channels=CHANNELS,
                    delays={"A": delay_a, "B": delay_b})  # fmt: skip
    for part in batch.split_at(random_cuts(rng, batch, n_cuts, window=window)):
        g2.process(part)
    res = g2.result()
    assert g2.delay_ps == delay_b - delay_a  # whole bins here
    moved = t - np.where(ch == 1, delay_a, 0) - np.where(ch == 2, delay_b, 0)
    order = np.argsort(moved, kind="stable")
    ref = reference.g2_histogram(moved[order], ch[order], 1, 2, window, width)
    np.testing.assert_array_equal(res.counts, ref)
    np.testing.assert_array_equal(res.edges_ps, np.arange(-window, window + 1, width))


def test_delay_rounds_to_whole_bins_and_names_channels():
    g2 = G2Analyzer("A", "B", window=1_000, bin=100, channels=CHANNELS, delays={"B": "5.04 ns"})
    assert g2.delay_ps == 5_000
    g2 = G2Analyzer("A", "B", window=1_000, bin=100, channels=CHANNELS, delays={"2": "-1 ns"})
    assert g2.delay_ps == -1_000
    with pytest.raises(ChannelError):
        G2Analyzer("A", "B", window=1_000, bin=100, channels=CHANNELS, delays={"D": "1 ns"})
