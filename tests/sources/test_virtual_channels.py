"""Virtual channels against slow references: every kind, chained, on random streams with ties,
T2 and T3, cut into batches anywhere (the same tags in any chunking), with gaps."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tagstream.errors import ChannelError
from tagstream.sources.virtual_channels import VirtualChannel, VirtualChannels
from tagstream.tags import Channel, ChannelMap, Role, RunMetadata, TagBatch
from tests.reference import virtual_between_markers, virtual_coincidence
from tests.streams import random_cuts

SPECS = (
    VirtualChannel("AB", "coincidence", ("A", "B"), window_ps=300),
    VirtualChannel("ABCm", "coincidence", ("A", "B", "C"), window_ps=500, at="mean"),
    VirtualChannel("Ad", "delay", ("A",), delay_ps=700),
    VirtualChannel("Be", "delay", ("B",), delay_ps=-400),
    VirtualChannel("Cg", "gate", ("C",), markers=("start", "stop")),
    VirtualChannel("Ang", "gate", ("A",), nanotime_ps=(100.0, 900.0)),
    VirtualChannel("AorB", "combine", ("A", "B")),
    VirtualChannel("AdB", "coincidence", ("Ad", "B"), window_ps=200),  # of a virtual channel
)


#: The sync period in nanotime units (T3): a delayed tag's nanotime wraps round it.
SYNC_UNITS = 300


def _metadata(t3: bool) -> RunMetadata:
    chans = [Channel(1, "A", Role.DETECTOR), Channel(2, "B", Role.DETECTOR),
             Channel(3, "C", Role.DETECTOR), Channel(5, "start", Role.MARKER),
             Channel(6, "stop", Role.MARKER)]  # fmt: skip
    return RunMetadata(source="test", channels=ChannelMap(chans), mode="T3" if t3 else "T2",
                       resolution_ps=1.0, nanotime_unit_ps=4.0 if t3 else None,
                       sync_period_ps=float(SYNC_UNITS * 4) if t3 else None)  # fmt: skip


def _stream(rng, end, t3, grid):
    n = rng.poisson(end * 2e-2)
    t = np.sort(rng.integers(0, end, n)) // grid * grid
    ch = rng.choice(np.array([1, 2, 3, 5, 6], np.uint8), n, p=[0.3, 0.3, 0.3, 0.05, 0.05])
    nt = rng.integers(0, SYNC_UNITS, n).astype(np.uint16) if t3 else None
    return t.astype(np.int64), ch, nt


def _reference(specs, t, ch, nt, unit):
    """Each virtual channel in turn over the whole stream, its tags after the stream's at
    equal times, on the lowest free channel number."""
    numbers = {"A": 1, "B": 2, "C": 3, "start": 5, "stop": 6}
    free = iter(sorted(set(range(1, 256)) - set(numbers.values())))
    for spec in specs:
        number = next(free)
        inputs = [numbers[x] for x in spec.channels]
        vnt = None
        if spec.kind == "coincidence":
            vt, done = virtual_coincidence(t, ch, inputs, spec.window_ps, spec.at == "mean")
            vnt = None if nt is None else nt[done]
        elif spec.kind == "delay":
            sel = ch == inputs[0]
            vt = t[sel] + spec.delay_ps
            if nt is not None:  # counted from the sync before the delayed tag
                vnt = ((nt[sel].astype(np.int64) + round(spec.delay_ps / unit)) % SYNC_UNITS)
                vnt = vnt.astype(nt.dtype)
        elif spec.kind == "combine":
            sel = np.isin(ch, inputs)
            vt, vnt = t[sel], None if nt is None else nt[sel]
        elif spec.markers is not None:
            sel = virtual_between_markers(t, ch, inputs[0], numbers["start"], numbers["stop"])
            vt, vnt = t[sel], None if nt is None else nt[sel]
        else:
            sel = (ch == inputs[0])
            if nt is not None:
                delay = nt * unit
                sel &= (delay >= spec.nanotime_ps[0]) & (delay < spec.nanotime_ps[1])
            vt, vnt = t[sel], None if nt is None else nt[sel]
        all_t = np.concatenate([t, vt])
        own = np.concatenate([np.zeros(t.size), np.ones(vt.size)])
        order = np.lexsort((own, all_t))
        t = all_t[order]
        ch = np.concatenate([ch, np.full(vt.size, number, np.uint8)])[order]
        nt = None if nt is None else np.concatenate([nt, vnt])[order]
        numbers[spec.name] = number
    return t, ch, nt


def _run(batch, cuts, specs=SPECS):
    chain = VirtualChannels(specs, batch.metadata)
    edges = np.sort(np.concatenate([[batch.t_begin], cuts, [batch.t_end]]))  # repeats: empty
    out = []
    pieces = [batch.slice_time(a, b) for a, b in itertools.pairwise(edges)]
    for i, piece in enumerate(pieces):
        got = chain.process(piece, final=i == len(pieces) - 1)
        if got is not None:
            out.append(got)
    joined = TagBatch.concat(out)
    assert joined.t_begin == batch.t_begin and joined.t_end == batch.t_end
    return joined, chain


@pytest.mark.parametrize("t3", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_every_kind_equals_the_reference_in_any_chunking(seed, t3):
    rng = np.random.default_rng(seed)
    end = 60_000
    t, ch, nt = _stream(rng, end, t3, grid=(1, 50)[seed % 2])
    md = _metadata(t3)
    batch = TagBatch(t, ch, 0, end, nanotimes=nt, nanotime_unit_ps=md.nanotime_unit_ps,
                     metadata=md)  # fmt: skip
    if not t3:
        specs = tuple(s for s in SPECS if s.nanotime_ps is None)
    else:
        specs = SPECS
    want_t, want_c, want_nt = _reference(specs, t, ch, nt, md.nanotime_unit_ps)
    inside = (want_t >= 0) & (want_t < end)  # delays past the run's edges were not recorded
    want_t, want_c = want_t[inside], want_c[inside]
    want_nt = None if want_nt is None else want_nt[inside]
    for cuts in (np.zeros(0, np.int64), random_cuts(rng, batch, 30, 800)):
        got, chain = _run(batch, cuts, specs)
        np.testing.assert_array_equal(got.timestamps, want_t)
        np.testing.assert_array_equal(got.channels, want_c)
        if t3:
            np.testing.assert_array_equal(got.nanotimes, want_nt)
    names = {c.name for c in chain.metadata.channels}
    assert {s.name for s in specs} <= names and chain.margin_ps == 500 + 400


def test_a_run_with_virtual_channels_and_gaps():
    """``ts.virtual_channels`` over a run read in batches: the tags of processing it whole;
    lost time passes through, and a virtual tag that falls in it (a delayed tag) is dropped."""
    import tagstream as ts
    from tests.streams import TagsRun

    rng = np.random.default_rng(11)
    end = 4 * 10**6
    t, ch, _ = _stream(rng, end, False, 1)
    md = _metadata(False)
    gap = (1_000_000, 1_200_000)
    keep = (t < gap[0]) | (t >= gap[1])
    run = TagsRun(t[keep], ch[keep], md, end, gaps=[gap])
    definitions = {"Ad": {"kind": "delay", "channel": "A", "delay": "50 ns"},
                   "AB": {"kind": "coincidence", "channels": ["A", "B"], "window": "300 ps",
                          "at": "mean"}}  # fmt: skip
    joined = ts.virtual_channels(run, definitions).batches("700 ns")
    got = TagBatch.concat(list(joined))
    assert got.t_begin == 0 and got.t_end == end
    # virtual tags are missing around the lost time too: the gap grows by the chain's reach
    # (300 ps before: the mean-time coincidence; 50 ns + 300 ps after: delay and window)
    wide = (gap[0] - 300, gap[1] + 50_000 + 300)
    np.testing.assert_array_equal(got.gaps, [wide])
    specs = (VirtualChannel("Ad", "delay", ("A",), delay_ps=50_000),
             VirtualChannel("AB", "coincidence", ("A", "B"), window_ps=300, at="mean"))
    want_t, want_c, _ = _reference(specs, t[keep], ch[keep], None, None)
    inside = (want_t < end) & ~((want_t >= wide[0]) & (want_t < wide[1]))
    np.testing.assert_array_equal(got.timestamps, want_t[inside])
    np.testing.assert_array_equal(got.channels, want_c[inside])
    delayed = got.channels == got.metadata.channels.lookup("Ad").number
    assert delayed.sum() < (ch[keep] == 1).sum()  # some fell into the gap or past the end


@pytest.mark.parametrize(
    ("definition", "message"),
    [({"kind": "coincidence", "channels": ["A"], "window": "1 ns"}, "two or more channels"),
     ({"kind": "coincidence", "channels": ["A", "B"]}, "needs window"),
     ({"kind": "coincidence", "channels": ["A", "A"], "window": "1 ns"}, "listed twice"),
     ({"kind": "delay", "channel": "A"}, "needs delay"),
     ({"kind": "delay", "channel": "A", "delay": "1 ns", "window": "1 ns"}, "for a delay"),
     ({"kind": "delay", "channel": "A", "delay": "1e30 s"}, "limited to"),
     ({"kind": "gate", "channel": "A", "nanotimes": ["5 ns", "1 ns"]}, "before its stop"),
     ({"kind": "gate", "channel": "A", "nanotimes": ["1 ns", "5 ns"]}, "needs T3"),
     ({"kind": "combine", "channels": ["A", True]}, "names or numbers"),
     ({"kind": "combine", "channels": ["A", "B"], "number": 7.9}, "whole channel number"),
     ({"kind": "combine", "channels": ["A", "B"], "number": "x"}, "whole channel number"),
     ({"kind": "delay", "channel": "Q", "delay": "1 ns"}, "Q"),
     ({"kind": "gate", "channel": "A"}, "markers or a nanotime window"),
     ({"kind": "sum", "channels": ["A", "B"]}, "kind must be one of"),
     ({"kind": "combine", "channels": ["A", "B"], "colour": 1}, "unknown setting"),
     ({"kind": "combine", "channels": ["A", "C"]}, "run has a channel of that name"),
     ({"kind": "combine", "channels": ["A", "B"], "number": 1}, "taken")],
)  # fmt: skip
def test_bad_definitions_are_one_line_errors(definition, message):
    import tagstream as ts
    from tests.streams import TagsRun

    run = TagsRun(np.zeros(0, np.int64), np.zeros(0, np.uint8), _metadata(False), 10**6)
    name = "B" if "that name" in message else "V"
    with pytest.raises(ChannelError, match=message):
        ts.virtual_channels(run, {name: definition})


def test_a_recorded_run_keeps_its_virtual_channels_and_refuses_other_definitions():
    import tagstream as ts
    from tests.streams import TagsRun

    t = np.array([10, 20, 30], np.int64)
    ch = np.array([1, 2, 1], np.uint8)
    first = ts.virtual_channels(TagsRun(t, ch, _metadata(False), 100),
                                {"Ad": {"kind": "delay", "channel": "A", "delay": "5 ps"}})
    recorded = first.read()  # as a run file holds it: the tags and the metadata
    again = TagsRun(recorded.timestamps, recorded.channels, first.metadata, 100)
    same = ts.virtual_channels(again, {"Ad": {"kind": "delay", "channel": "A", "delay": "5 ps"}})
    assert same is again  # nothing made again
    with pytest.raises(ChannelError, match="made otherwise"):
        ts.virtual_channels(again, {"Ad": {"kind": "delay", "channel": "A", "delay": "6 ps"}})
