"""Virtual channels: new tag channels made from others, for any source, batch by batch.

Kinds (each a :class:`VirtualChannel`):

* ``coincidence``: a tag whenever every listed channel has a tag within ``window`` (the latest
  tag of each, each tag used once), at the last arrival or (``at = "mean"``) the mean time;
* ``delay``: each tag of one channel again, ``delay`` later (or earlier, when negative);
* ``gate``: the tags of one channel between a tag on a start and one on a stop marker
  channel, or whose nanotime lies in ``[nanotime_start, nanotime_stop)`` (T3);
* ``combine``: the tags of several channels as one.

Each is a stage of a chain (definitions in order; later ones may use earlier ones). A stage
passes on the stream complete up to a horizon: all tags before it are known. Stages whose tags
may come before the newest input (a coincidence at the mean time, a negative delay) hold the
last ``window`` or ``|delay|`` back, so that every batch out is complete and in time order, and
processing a stream in any chunking gives the same tags.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ChannelError
from ..kernels.virtual import between_markers, coincidences
from ..tags import Channel, ChannelMap, Role, RunMetadata, TagBatch
from ..tags import intervals as iv
from ..tags.metadata import N_CHANNELS, resolve_channel

KINDS = ("coincidence", "delay", "gate", "combine")
#: Key of ``RunMetadata.settings`` holding the virtual channels made, by name (so that a run
#: recorded with them knows which of its channels they are, and how they were made).
RECORD = "virtual_channels"
#: Longest delay or coincidence window, ps (about 19 minutes).
MAX_SHIFT_PS = 2**50


@dataclass(frozen=True)
class VirtualChannel:
    """One virtual channel.

    Attributes
    ----------
    name
        Its name in the channel map.
    kind
        ``"coincidence"``, ``"delay"``, ``"gate"`` or ``"combine"``.
    channels
        The input channels (names or numbers): several for coincidence and combine, one for
        delay and gate.
    window_ps
        Coincidence window, ps.
    at
        Coincidence time: ``"last"`` arrival or ``"mean"``.
    delay_ps
        Delay, ps (may be negative).
    markers
        Gate: the start and stop marker channels.
    nanotime_ps
        Gate: ``(start, stop)`` of the nanotimes that pass, ps.
    number
        Its channel number (default: the lowest free one).
    """

    name: str
    kind: str
    channels: tuple[str | int, ...]
    window_ps: int = 0
    at: str = "last"
    delay_ps: int = 0
    markers: tuple[str | int, str | int] | None = None
    nanotime_ps: tuple[float, float] | None = None
    number: int | None = None

    def __post_init__(self) -> None:
        where = f"virtual channel {self.name!r}"
        if self.kind not in KINDS:
            raise ChannelError(f"{where}: kind must be one of {', '.join(KINDS)}")
        for key in (*self.channels, *(self.markers or ())):
            if isinstance(key, bool) or not isinstance(key, str | int):
                raise ChannelError(f"{where}: channels are names or numbers, got {key!r}")
        if self.number is not None and (isinstance(self.number, bool)
                                        or not isinstance(self.number, int)):  # fmt: skip
            raise ChannelError(f"{where}: number must be a whole channel number")
        if abs(self.delay_ps) > MAX_SHIFT_PS or abs(self.window_ps) > MAX_SHIFT_PS:
            raise ChannelError(f"{where}: delays and windows are limited to ±{MAX_SHIFT_PS} ps")
        if self.nanotime_ps is not None and not self.nanotime_ps[0] < self.nanotime_ps[1]:
            raise ChannelError(f"{where}: the nanotime window's start must come before its stop")
        several = self.kind in ("coincidence", "combine")
        if (several and len(self.channels) < 2) or (not several and len(self.channels) != 1):
            need = "two or more channels" if several else "one channel"
            raise ChannelError(f"{where}: a {self.kind} takes {need}")
        if self.kind == "coincidence" and (self.window_ps <= 0 or self.at not in ("last", "mean")):
            raise ChannelError(f"{where}: a coincidence needs a window > 0 and at last or mean")
        if self.kind == "gate" and (self.markers is None) == (self.nanotime_ps is None):
            raise ChannelError(f"{where}: a gate takes markers or a nanotime window, one of them")

    def record(self) -> dict[str, object]:
        """The definition as plain data (kept in the run's metadata, compared on re-opening)."""
        out: dict[str, object] = {"kind": self.kind, "channels": [*self.channels]}
        if self.kind == "coincidence":
            out |= {"window_ps": int(self.window_ps), "at": self.at}
        if self.kind == "delay":
            out["delay_ps"] = int(self.delay_ps)
        if self.markers is not None:
            out["markers"] = [*self.markers]
        if self.nanotime_ps is not None:
            out["nanotime_ps"] = [float(x) for x in self.nanotime_ps]
        return out

    @property
    def reach_after_ps(self) -> int:
        """How far after lost input its tags are missing too, ps (a delay moves the hole, a
        coincidence misses partners in it)."""
        after = max(int(self.delay_ps), 0) if self.kind == "delay" else 0
        return after + (int(self.window_ps) if self.kind == "coincidence" else 0)

    @property
    def margin_ps(self) -> int:
        """How far behind the input its output is complete (and before lost input its tags are
        missing), ps."""
        if self.kind == "coincidence" and self.at == "mean":
            return int(self.window_ps)
        if self.kind == "delay" and self.delay_ps < 0:
            return -int(self.delay_ps)
        return 0


class _Stage:
    """One virtual channel over a stream: new input complete up to a horizon in, the stream with
    its tags complete up to the horizon less the margin out."""

    def __init__(self, spec: VirtualChannel, number: int, inputs: list[int],
                 markers: tuple[int, int] | None, unit_ps: float | None,
                 sync_period_ps: float | None):  # fmt: skip
        self.spec, self.number, self.inputs, self.markers = spec, number, inputs, markers
        self.unit_ps = unit_ps
        # nanotimes count from the sync before the tag: a delay moves them round its period
        self.wrap = round(sync_period_ps / unit_ps) if unit_ps and sync_period_ps else None
        self.member = np.full(N_CHANNELS, -1, np.int64)
        self.member[inputs] = np.arange(len(inputs))
        self.last = np.zeros(len(inputs), np.int64)
        self.has = np.zeros(len(inputs), bool)
        self.gate_open = np.zeros(1, bool)
        self.held: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None

    def made(self, t, c, nt):
        """The virtual tags of new input (time order not guaranteed for a delay)."""
        s = self.spec
        if s.kind == "coincidence":
            out, done = np.empty(t.size, np.int64), np.empty(t.size, np.int64)
            n = coincidences(t, c, self.member, len(self.inputs), np.int64(s.window_ps),
                             s.at == "mean", self.last, self.has, out, done)  # fmt: skip
            # each coincidence takes the nanotime of the tag that completed it
            return out[:n], None if nt is None else nt[done[:n]]
        if s.kind == "delay":
            keep = c == self.inputs[0]
            shifted = None
            if nt is not None:
                moved = nt[keep].astype(np.int64) + round(s.delay_ps / self.unit_ps)
                if self.wrap:
                    moved %= self.wrap
                shifted = np.clip(moved, 0, np.iinfo(nt.dtype).max).astype(nt.dtype)
            return t[keep] + s.delay_ps, shifted
        if s.kind == "combine":
            keep = self.member[c] >= 0
        elif self.markers is not None:
            keep = np.zeros(t.size, bool)
            between_markers(c, self.inputs[0], *self.markers, self.gate_open, keep)
        else:
            lo, hi = s.nanotime_ps
            keep = c == self.inputs[0]
            if nt is None:
                raise ChannelError(f"virtual channel {s.name!r}: a nanotime gate needs T3 data")
            delay = nt.astype(np.float64) * self.unit_ps
            keep &= (delay >= lo) & (delay < hi)
        return t[keep], None if nt is None else nt[keep]

    def feed(self, t, c, nt, horizon: int, final: bool):
        """The stream complete up to ``horizon - margin`` (everything when ``final``). At equal
        times the input's tags come before this stage's own (so that the order does not depend
        on where the batches were cut)."""
        vt, vnt = self.made(t, c, nt)
        vc = np.full(vt.size, self.number, np.uint8)
        new = [(t, c, nt, np.zeros(t.size, bool)), (vt, vc, vnt, np.ones(vt.size, bool))]
        parts = new if self.held is None else [self.held, *new]
        all_t = np.concatenate([p[0] for p in parts])
        all_c = np.concatenate([p[1] for p in parts])
        all_nt = None if nt is None else np.concatenate([p[2] for p in parts])
        own = np.concatenate([p[3] for p in parts])
        order = np.lexsort((own, all_t), axis=0) if own.size else np.zeros(0, np.int64)
        all_t, all_c, own = all_t[order], all_c[order], own[order]
        all_nt = None if all_nt is None else all_nt[order]
        cut = all_t.size if final else int(np.searchsorted(all_t, horizon - self.spec.margin_ps))
        self.held = (all_t[cut:], all_c[cut:], None if all_nt is None else all_nt[cut:],
                     own[cut:])  # fmt: skip
        return all_t[:cut], all_c[:cut], None if all_nt is None else all_nt[:cut]


class VirtualChannels:
    """The chain of virtual channels over a run's batches (see the module docstring).

    Parameters
    ----------
    specs
        The virtual channels, in order.
    metadata
        The run's metadata; :attr:`metadata` adds the virtual channels to its map.
    """

    def __init__(self, specs: list[VirtualChannel] | tuple[VirtualChannel, ...],
                 metadata: RunMetadata):  # fmt: skip
        channels = list(metadata.channels)
        taken = {ch.number for ch in channels}
        names = {ch.name for ch in channels}
        self.stages: list[_Stage] = []
        for spec in specs:
            if spec.name in names:
                raise ChannelError(f"virtual channel {spec.name!r}: the name is taken")
            if spec.nanotime_ps is not None and (metadata.mode != "T3"
                                                 or not metadata.nanotime_unit_ps):  # fmt: skip
                raise ChannelError(f"virtual channel {spec.name!r}: a nanotime gate needs T3 "
                                   "data (nanotimes)")  # fmt: skip
            cmap = ChannelMap(channels)
            inputs = [_number(x, cmap, spec.name) for x in spec.channels]
            markers = None if spec.markers is None else tuple(
                _number(x, cmap, spec.name) for x in spec.markers)  # fmt: skip
            if len(set(inputs)) != len(inputs):
                raise ChannelError(f"virtual channel {spec.name!r}: a channel is listed twice")
            number = spec.number
            if number is None:  # the lowest free number above 0 (often the sync's)
                number = min(set(range(1, N_CHANNELS)) - taken)
            elif number in taken or not 0 <= number < N_CHANNELS:
                raise ChannelError(f"virtual channel {spec.name!r}: number {number} is taken "
                                   "or outside 0..255")  # fmt: skip
            taken.add(number)
            names.add(spec.name)
            channels.append(Channel(number, spec.name, Role.DETECTOR))
            self.stages.append(_Stage(spec, number, inputs, markers, metadata.nanotime_unit_ps,
                                      metadata.sync_period_ps))  # fmt: skip
        made = dict(metadata.settings.get(RECORD, {}))
        made.update({spec.name: spec.record() for spec in specs})
        self.metadata = _with_channels(metadata, ChannelMap(channels), made)
        self._out_begin: int | None = None
        self._run_begin = 0
        self._gaps: list[np.ndarray] = []

    @property
    def margin_ps(self) -> int:
        """How far behind the input the output is complete, ps."""
        return sum(stage.spec.margin_ps for stage in self.stages)

    @property
    def reach_after_ps(self) -> int:
        """How far after lost input the virtual tags are missing, ps."""
        return sum(stage.spec.reach_after_ps for stage in self.stages)

    def process(self, batch: TagBatch, final: bool = False) -> TagBatch | None:
        """The tags complete so far, as a batch from where the last one ended (``None`` when
        the margin holds everything back); ``final``: everything, to the batch's end."""
        if self._out_begin is None:
            self._out_begin = self._run_begin = batch.t_begin
        t, c, nt = batch.timestamps, batch.channels, batch.nanotimes
        horizon = batch.t_end
        for stage in self.stages:
            t, c, nt = stage.feed(t, c, nt, horizon, final)
            horizon -= stage.spec.margin_ps
        if len(batch.gaps):  # virtual tags are missing around lost input too: all tags there go
            gaps = np.asarray(batch.gaps, np.int64).reshape(-1, 2)
            self._gaps.append(gaps + np.array([-self.margin_ps, self.reach_after_ps]))
        end = batch.t_end if final else max(self._out_begin, horizon)
        if end <= self._out_begin and not final:
            return None
        gaps = _gaps_in(self._gaps, self._out_begin, end)
        # a virtual tag outside the run's span (a delay past its edges) was never recorded
        inside = (t >= self._run_begin) & (t < end)
        if not inside.all():
            t, c = t[inside], c[inside]
            nt = None if nt is None else nt[inside]
        if len(gaps):  # lost time, widened by the chain's reach: no tags there
            inside = np.zeros(t.size, bool)
            for g0, g1 in gaps:
                inside |= (t >= g0) & (t < g1)
            t, c = t[~inside], c[~inside]
            nt = None if nt is None else nt[~inside]
        out = TagBatch(t, c, self._out_begin, end, nanotimes=nt,
                       nanotime_unit_ps=batch.nanotime_unit_ps,
                       sync_period_ps=batch.sync_period_ps, gaps=gaps if len(gaps) else None,
                       metadata=self.metadata)  # fmt: skip
        self._out_begin = end
        return out


def _number(key: str | int, channels: ChannelMap, name: str) -> int:
    try:
        return resolve_channel(key, channels)
    except (ChannelError, KeyError) as exc:
        raise ChannelError(f"virtual channel {name!r}: {exc}") from None


def _gaps_in(gaps: list[np.ndarray], t0: int, t1: int) -> np.ndarray:
    if not gaps:
        return np.zeros((0, 2), np.int64)
    every = iv.normalize(np.concatenate(gaps))  # widened gaps may overlap
    clipped = np.column_stack([np.maximum(every[:, 0], t0), np.minimum(every[:, 1], t1)])
    return clipped[clipped[:, 1] > clipped[:, 0]]


def _with_channels(metadata: RunMetadata, channels: ChannelMap, made: dict) -> RunMetadata:
    from dataclasses import replace

    return replace(metadata, channels=channels, settings={**metadata.settings, RECORD: made})
