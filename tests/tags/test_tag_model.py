"""Batches, intervals and the channel map."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagstream.errors import BatchError, ChannelError, TagstreamError
from tagstream.tags import Channel, ChannelMap, Role, RunMetadata, TagBatch
from tagstream.tags import intervals as iv


def test_batch_defaults_and_validation():
    b = TagBatch([5, 7, 7, 9], [1, 2, 1, 2])
    assert (b.t_begin, b.t_end) == (5, 10)
    assert b.timestamps.dtype == np.int64 and b.channels.dtype == np.uint8
    with pytest.raises(BatchError, match="back in time at tag 2"):
        TagBatch([5, 7, 6], [1, 1, 1])
    with pytest.raises(BatchError, match="outside the span"):
        TagBatch([5, 7], [1, 1], 6, 10)
    with pytest.raises(BatchError, match="explicit span"):
        TagBatch([], [])
    with pytest.raises(BatchError, match="3 timestamps but 2 channels"):
        TagBatch([1, 2, 3], [1, 1])
    with pytest.raises(BatchError, match="int64 picoseconds"):
        TagBatch(np.array([1.0, 2.0]), [1, 1])
    with pytest.raises(BatchError, match=r"0\.\.255"):
        TagBatch([1, 2], [1, 300])
    with pytest.raises(BatchError, match="inside a gap"):
        TagBatch([1, 5], [1, 1], 0, 10, gaps=[[4, 6]])
    with pytest.raises(BatchError, match="nanotime_unit_ps"):
        TagBatch([1], [1], nanotimes=[3])


def test_empty_batch_still_covers_time():
    b = TagBatch.empty(100, 1100, gaps=[[200, 300]])
    assert len(b) == 0 and b.duration_ps == 1000 and b.live_ps == 900
    np.testing.assert_array_equal(b.covered(), [[100, 200], [300, 1100]])


def test_split_and_concat_round_trip(rng):
    t = np.sort(rng.integers(0, 10_000, 500))
    ch = rng.integers(0, 4, 500).astype(np.uint8)
    nt = rng.integers(0, 100, 500).astype(np.uint16)
    b = TagBatch(t, ch, -50, 10_050, nanotimes=nt, nanotime_unit_ps=4, sync_period_ps=400)
    parts = b.split_at([100, 100, 5_000, t[250], 20_000])
    assert sum(len(p) for p in parts) == 500
    assert next(p.t_begin for p in parts) == -50 and parts[-1].t_end == 10_050
    joined = TagBatch.concat(parts)
    np.testing.assert_array_equal(joined.timestamps, t)
    np.testing.assert_array_equal(joined.nanotimes, nt)
    assert len(joined.gaps) == 0


def test_concat_records_holes_as_gaps():
    a = TagBatch([1], [1], 0, 10)
    b = TagBatch([25], [1], 20, 30, gaps=[[27, 28]])
    joined = TagBatch.concat([a, b])
    np.testing.assert_array_equal(joined.gaps, [[10, 20], [27, 28]])
    assert joined.live_ps == 30 - 11
    with pytest.raises(BatchError, match="overlap"):
        TagBatch.concat([b, a])


def test_restricted_to_keeps_tags_inside_and_gaps_the_rest():
    b = TagBatch([1, 5, 12, 18], [1, 2, 1, 2], 0, 20, gaps=[[14, 16]])
    r = b.restricted_to(np.array([[4, 13], [15, 19]]))
    np.testing.assert_array_equal(r.timestamps, [5, 12, 18])
    np.testing.assert_array_equal(r.covered(), [[4, 13], [16, 19]])


def test_channel_map_lookup():
    m = ChannelMap([Channel(0, "sync", Role.SYNC), Channel(1, "A"), Channel(2, "B")])
    assert m["A"].number == 1 and m[2].name == "B" and m.sync.name == "sync"
    assert [c.name for c in m.detectors] == ["A", "B"]
    with pytest.raises(ChannelError, match="no channel named 'C'"):
        m.lookup("C")
    with pytest.raises(ChannelError, match="used twice"):
        ChannelMap([Channel(1, "A"), Channel(1, "B")])
    assert ChannelMap.from_dict(m.to_dict()) == m
    b = TagBatch([1], [1], metadata=RunMetadata("test", m))
    assert b.channel_number("A") == 1
    with pytest.raises(ChannelError, match="no channel map"):
        TagBatch([1], [1]).channel_number("A")


def test_metadata_round_trip():
    m = ChannelMap.from_dict({"sync": {"number": 0, "role": "sync"}, "A": 1, "B": 2})
    md = RunMetadata(
        "simulator",
        m,
        mode="T3",
        nanotime_unit_ps=4.0,
        sync_period_ps=12_500.0,
        hbt_pair=("A", "B"),
        settings={"seed": 1},
    )
    assert RunMetadata.from_dict(md.to_dict()) == md
    with pytest.raises(TagstreamError, match="nanotime_unit_ps"):
        RunMetadata("x", m, mode="T3")
    with pytest.raises(ChannelError):
        RunMetadata("x", m, hbt_pair=("A", "Z"))


def as_set(intervals):
    out = set()
    for s, e in intervals:
        out.update(range(int(s), int(e)))
    return out


interval_lists = st.lists(st.tuples(st.integers(-50, 50), st.integers(0, 30)), max_size=8).map(
    lambda xs: np.array([[s, s + w] for s, w in xs], dtype=np.int64).reshape(-1, 2)
)


@settings(max_examples=100, deadline=None)
@given(a=interval_lists, b=interval_lists)
def test_interval_algebra_matches_sets(a, b):
    na, nb = iv.normalize(a), iv.normalize(b)
    assert iv.is_normalized(na) and as_set(na) == as_set(a)
    assert as_set(iv.union(na, nb)) == as_set(a) | as_set(b)
    assert as_set(iv.subtract(na, nb)) == as_set(a) - as_set(b)
    assert as_set(iv.intersect(na, nb)) == as_set(a) & as_set(b)
    assert as_set(iv.complement(na, -20, 20)) == set(range(-20, 20)) - as_set(a)
    assert iv.total(na) == len(as_set(a))
    pts = np.arange(-60, 90)
    np.testing.assert_array_equal(iv.contains(na, pts), [p in as_set(a) for p in pts])
