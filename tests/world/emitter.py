"""A single quantum emitter on an HBT setup, simulated photon by photon from the definitions.

Written independently of tagstream's own simulator (nothing under
``tagstream.sources.simulator`` is imported or was consulted), so that the analyses can be
tested against a second, separately written model. Only :mod:`tagstream.tags` is used, to
package the output as a :class:`~tagstream.tags.TagBatch` with its
:class:`~tagstream.tags.RunMetadata`.

Conventions (all times are int64 picoseconds unless a name says otherwise)
-------------------------------------------------------------------------
* The measurement covers ``[0, duration_ps)``; every batch has ``t_begin = 0`` and
  ``t_end = duration_ps``. Tags outside it are dropped (after dead time, see below).
* Inside the generator a time is kept exactly as an int64 part and a float fraction in
  ``[0, 1)`` ps, so flooring to the resolution and to nanotime bins is exact.
* **Pulsed**: laser pulses at ``k * period_ps`` for ``k >= 0`` (``period_ps`` a whole number
  of ps). Photon delays are absolute: a long lifetime puts photons into later periods.
* **Detection chain**, per photon, in this order: collected with probability ``collection``;
  sent to ``detectors[0]`` with probability ``splitter``, else to ``detectors[1]``; detected
  with the detector's ``efficiency``; then Gaussian jitter (``jitter_ps``, standard deviation)
  and the constant cable ``delay_ps`` are added; then each detector's non-paralysable dead
  time acts on everything it detected (signal, background and dark counts) in arrival order:
  a detection is lost if it comes less than ``dead_time_ps`` after the last *recorded*
  detection of that detector (a gap of exactly ``dead_time_ps`` is recorded).
* **Background** (``background_cps``): uncorrelated photons reaching the beam splitter at that
  total rate (already collected), uniform in time over ``[0, duration)`` at the detector;
  routed by the splitter and detected with the detector efficiency like signal photons.
  Jitter and delay are not applied to them (a uniform process stays uniform).
* **Dark counts** (``dark_cps`` per detector): Poisson, uniform over ``[0, duration)``, no
  efficiency, jitter or delay.
* **T2**: timestamps are the true arrival times floored to multiples of ``resolution_ps``
  (an integer). A sync tag every ``sync_divider``-th pulse (pulses 0, k, 2k, ...) at the pulse
  time + ``sync_delay_ps`` (floored the same way) on ``sync_channel``; only syncs inside
  ``[0, duration)`` exist. In the channel map the sync is ``"sync"`` with role sync when
  ``label_sync``, otherwise ``"ch<N>"`` with role detector (an "unlabelled sync", as files of
  other software have it).
* **T3**: no sync tags in the stream. Each photon's nanotime is
  ``floor((t_true - s) / nanotime_unit_ps)`` with ``s`` the last sync at or before it;
  photons before the first sync are dropped, and with ``tcspc_range_ps`` photons with
  ``nanotime * nanotime_unit_ps >= tcspc_range_ps`` are lost (the hardware does not record
  them). The T3 timestamp is ``s + floor(nanotime * nanotime_unit_ps)``: the sync time plus
  the start of the nanotime bin, rounded down to whole ps (exactly ``s + nanotime * unit`` for
  an integer unit); it never exceeds the true time, so T3 timestamps stay in time order and
  inside ``[0, duration)``.
  The channel map keeps the sync (``"sync"``, role sync) only when ``label_sync``.
* Metadata: ``sync_period_ps = period_ps * sync_divider`` (what the tagger sees),
  ``laser_period_ps = period_ps``; ``resolution_ps`` is ``Setup.resolution_ps`` in T2 and the
  nanotime unit in T3; ``hbt_pair`` is the two detector names.
* g2 delay convention: ``tau = t_B - t_A`` with A = ``detectors[0]``, B = ``detectors[1]``;
  cable delays move the zero-delay peak to ``truth["zero_delay_ps"] = delay_B - delay_A``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tagstream.tags import Channel, ChannelMap, Role, RunMetadata, TagBatch

PS_PER_S = 1e12


# ---------------------------------------------------------------------- setup
@dataclass(frozen=True)
class Detector:
    """One single-photon detector: its name and channel number in the tag stream, detection
    efficiency, cable delay (ps, int), timing jitter (Gaussian standard deviation, ps), dark
    count rate (counts/s) and non-paralysable dead time (ps, int)."""

    name: str
    channel: int
    efficiency: float = 1.0
    delay_ps: int = 0
    jitter_ps: float = 0.0
    dark_cps: float = 0.0
    dead_time_ps: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.channel <= 255:
            raise ValueError(f"detector {self.name!r}: channel {self.channel} outside 0..255")
        if not 0.0 <= self.efficiency <= 1.0:
            raise ValueError(f"detector {self.name!r}: efficiency must lie in [0, 1]")
        if self.jitter_ps < 0 or self.dark_cps < 0 or self.dead_time_ps < 0:
            raise ValueError(f"detector {self.name!r}: jitter, dark rate, dead time must be >= 0")
        if int(self.delay_ps) != self.delay_ps or int(self.dead_time_ps) != self.dead_time_ps:
            raise ValueError(f"detector {self.name!r}: delay and dead time are whole ps")


@dataclass(frozen=True)
class Setup:
    """The HBT arrangement and the time tagger.

    ``splitter`` is the fraction of the light sent to ``detectors[0]``. ``mode`` is ``"T2"`` or
    ``"T3"``; ``resolution_ps`` (integer) is the T2 timestamp resolution; ``nanotime_unit_ps``
    and ``tcspc_range_ps`` (None: no cut) apply in T3. The sync: tag channel, divider (one sync
    tag every ``sync_divider`` laser pulses), delay added to the pulse time, and whether the
    channel map labels it as the sync.
    """

    detectors: tuple[Detector, ...] = (Detector("A", 1), Detector("B", 2))
    splitter: float = 0.5
    mode: str = "T2"
    resolution_ps: int = 1
    nanotime_unit_ps: float = 4.0
    tcspc_range_ps: float | None = None
    sync_channel: int = 0
    sync_divider: int = 1
    sync_delay_ps: int = 0
    label_sync: bool = True

    def __post_init__(self) -> None:
        dets = tuple(self.detectors)
        object.__setattr__(self, "detectors", dets)
        if len(dets) < 2:
            raise ValueError("a setup has at least two detectors (the first two: the HBT pair)")
        names = [d.name for d in dets]
        numbers = [d.channel for d in dets]
        if len(set(names)) != len(dets) or len(set(numbers)) != len(dets):
            raise ValueError(f"detector names and channels must differ: {names}, {numbers}")
        if self.sync_channel in numbers:
            raise ValueError(f"sync channel {self.sync_channel} is also a detector channel")
        if "sync" in names or f"ch{self.sync_channel}" in names:
            raise ValueError("a detector may not carry the sync's name")
        if not 0.0 <= self.splitter <= 1.0:
            raise ValueError("splitter must lie in [0, 1]")
        if self.mode not in ("T2", "T3"):
            raise ValueError(f"mode must be 'T2' or 'T3', got {self.mode!r}")
        if int(self.resolution_ps) != self.resolution_ps or self.resolution_ps < 1:
            raise ValueError("resolution_ps must be a whole number of ps >= 1")
        if self.nanotime_unit_ps <= 0:
            raise ValueError("nanotime_unit_ps must be > 0")
        if self.tcspc_range_ps is not None and self.tcspc_range_ps <= 0:
            raise ValueError("tcspc_range_ps must be > 0")
        if int(self.sync_divider) != self.sync_divider or self.sync_divider < 1:
            raise ValueError("sync_divider must be an integer >= 1")
        if int(self.sync_delay_ps) != self.sync_delay_ps:
            raise ValueError("sync_delay_ps is a whole number of ps")

    @property
    def names(self) -> tuple[str, str]:
        """The HBT pair: the first two detectors."""
        return (self.detectors[0].name, self.detectors[1].name)

    @property
    def sync_name(self) -> str:
        return "sync" if self.label_sync else f"ch{self.sync_channel}"

    def channel_map(self, pulsed: bool) -> ChannelMap:
        """The channel map of the batch: the detectors, and the sync as described in the module
        docstring (never for CW)."""
        chans = [Channel(d.channel, d.name, Role.DETECTOR) for d in self.detectors]
        if pulsed and self.mode == "T2":
            role = Role.SYNC if self.label_sync else Role.DETECTOR
            chans.append(Channel(self.sync_channel, self.sync_name, role))
        elif pulsed and self.label_sync:
            chans.append(Channel(self.sync_channel, "sync", Role.SYNC))
        return ChannelMap(chans)

    def routing(self, collection: float = 1.0) -> tuple[float, float]:
        """Probability that one photon is detected by detector 0 and by detector 1 (two-detector
        setups only: more detectors route photons by :mod:`tests.world.cascade`)."""
        if len(self.detectors) != 2:
            raise ValueError("the splitter routes photons to exactly two detectors")
        d0, d1 = self.detectors
        return (
            collection * self.splitter * d0.efficiency,
            collection * (1.0 - self.splitter) * d1.efficiency,
        )


# ---------------------------------------------------------------------- blinking
@dataclass
class Timeline:
    """A realised state sequence on ``[0, duration_ps)``: segment ``i`` has state
    ``states[i]`` from ``switch_times[i]`` to ``switch_times[i + 1]`` (the last to the end)."""

    switch_times: np.ndarray
    states: np.ndarray
    duration_ps: int
    names: tuple[str, ...]

    @property
    def ends(self) -> np.ndarray:
        return np.append(self.switch_times[1:], self.duration_ps)

    def index_at(self, t: np.ndarray) -> np.ndarray:
        """Segment index at each time (times inside ``[0, duration)``)."""
        return np.searchsorted(self.switch_times, t, side="right") - 1

    def periods(self, name: str) -> np.ndarray:
        """The time in state ``name`` as sorted, non-touching int64 intervals (k, 2)."""
        sel = self.states == name
        iv = np.stack([self.switch_times[sel], self.ends[sel]], axis=1).astype(np.int64)
        iv = iv[iv[:, 1] > iv[:, 0]]
        if len(iv) < 2:
            return iv.reshape(-1, 2)
        # merge touching intervals (a zero-length segment between two equal states)
        new = np.concatenate([[True], iv[1:, 0] > iv[:-1, 1]])
        starts = iv[new, 0]
        group = np.cumsum(new) - 1
        stops = np.zeros(starts.size, np.int64)
        np.maximum.at(stops, group, iv[:, 1])
        return np.stack([starts, stops], axis=1)

    def fractions(self) -> dict[str, float]:
        length = (self.ends - self.switch_times).astype(np.float64)
        return {n: float(length[self.states == n].sum() / self.duration_ps) for n in self.names}

    def dwells(self, name: str) -> np.ndarray:
        """Durations (ps) of the completed dwells in ``name``: the last segment, cut by the end
        of the measurement, is left out."""
        length = self.ends - self.switch_times
        sel = self.states == name
        sel[-1] = False
        return length[sel].astype(np.int64)

    def truth(self) -> dict[str, Any]:
        return {
            "switch_times": self.switch_times.copy(),
            "states": self.states.copy(),
            "periods": {n: self.periods(n) for n in self.names},
            "fractions": self.fractions(),
            "dwells": {n: self.dwells(n) for n in self.names},
        }


class Telegraph:
    """A multi-state random telegraph (blinking) process.

    Parameters
    ----------
    states
        ``{name: (brightness_scale, tau_ps)}``. The brightness scales the mean photon number
        per pulse (pulsed) or the excitation rate (CW); ``tau_ps`` is the exciton lifetime in
        that state (``None``: the emitter's own decay law).
    dwell
        ``{name: ("exp", mean_ps)}`` or ``{name: ("powerlaw", alpha, t_min_ps, t_max_ps)}``
        (density ``∝ t**-alpha`` on ``[t_min, t_max]``; ``t_max`` may be ``None`` for no
        upper cut, which needs ``alpha > 1``).
    order
        ``None``: start in ``"on"``; from ``"on"`` go to one of the other states chosen
        uniformly, from any other state back to ``"on"``. Otherwise a sequence of state names
        visited cyclically, starting with its first.
    """

    def __init__(
        self,
        states: Mapping[str, tuple[float, float | None]],
        dwell: Mapping[str, tuple],
        order: Sequence[str] | None = None,
    ):
        self.states = {
            str(k): (float(v[0]), None if v[1] is None else float(v[1])) for k, v in states.items()
        }
        self.names = tuple(self.states)
        if not self.names:
            raise ValueError("a telegraph needs at least one state")
        for name, (brightness, tau) in self.states.items():
            if brightness < 0 or (tau is not None and tau <= 0):
                raise ValueError(f"state {name!r}: brightness >= 0 and tau > 0 needed")
        self.dwell = {}
        for name in self.names:
            if name not in dwell:
                raise ValueError(f"no dwell law for state {name!r}")
            law = tuple(dwell[name])
            if law[0] == "exp":
                if len(law) != 2 or law[1] <= 0:
                    raise ValueError(f"state {name!r}: ('exp', mean_ps) with mean > 0")
            elif law[0] == "powerlaw":
                if len(law) != 4:
                    raise ValueError(f"state {name!r}: ('powerlaw', alpha, t_min, t_max)")
                _, alpha, t_min, t_max = law
                if t_min <= 0 or (t_max is not None and t_max <= t_min):
                    raise ValueError(f"state {name!r}: need 0 < t_min < t_max")
                if t_max is None and alpha <= 1:
                    raise ValueError(f"state {name!r}: an uncut power law needs alpha > 1")
            else:
                raise ValueError(f"state {name!r}: unknown dwell law {law[0]!r}")
            self.dwell[name] = law
        if order is None:
            if "on" not in self.states:
                raise ValueError("without an explicit order the telegraph needs an 'on' state")
            self.order = None
        else:
            self.order = tuple(str(s) for s in order)
            unknown = set(self.order) - set(self.names)
            if unknown or not self.order:
                raise ValueError(f"order names unknown states: {sorted(unknown)}")

    def sample_dwell(self, rng: np.random.Generator, state: str, size: int) -> np.ndarray:
        """``size`` dwell times (float ps) in ``state``, drawn from its law."""
        law = self.dwell[state]
        if law[0] == "exp":
            return rng.exponential(law[1], size)
        _, alpha, t_min, t_max = law
        u = rng.random(size)
        if t_max is None:  # inverse CDF of the Pareto law
            return t_min * (1.0 - u) ** (-1.0 / (alpha - 1.0))
        if alpha == 1.0:
            return t_min * (t_max / t_min) ** u
        a, b = t_min ** (1.0 - alpha), t_max ** (1.0 - alpha)
        return (a + u * (b - a)) ** (1.0 / (1.0 - alpha))

    def _sequence(self, rng: np.random.Generator, start: int, n: int) -> np.ndarray:
        """States (as indices into ``names``) of the ``n`` segments from position ``start``."""
        pos = np.arange(start, start + n)
        if self.order is not None:
            idx = np.array([self.names.index(s) for s in self.order])
            return idx[pos % len(idx)]
        on = self.names.index("on")
        others = np.array([i for i in range(len(self.names)) if i != on])
        seq = np.full(n, on)
        odd = pos % 2 == 1
        if others.size:
            seq[odd] = others[rng.integers(0, others.size, int(odd.sum()))]
        return seq

    def timeline(self, rng: np.random.Generator, duration_ps: int) -> Timeline:
        """Draw the state sequence covering ``[0, duration_ps)``; switch times are the running
        sums of the dwells, rounded to whole ps."""
        duration_ps = int(duration_ps)
        if self.order is None and len(self.names) == 1:
            return Timeline(np.zeros(1, np.int64), np.array(self.names), duration_ps, self.names)
        seqs, dwells = [], []
        total, done, block = 0.0, 0, 256
        while total < duration_ps:
            seq = self._sequence(rng, done, block)
            dw = np.empty(block)
            for i, name in enumerate(self.names):
                sel = seq == i
                dw[sel] = self.sample_dwell(rng, name, int(sel.sum()))
            seqs.append(seq)
            dwells.append(dw)
            total += float(dw.sum())
            done += block
            block = min(2 * block, 65536)
        seq = np.concatenate(seqs)
        ends = np.rint(np.cumsum(np.concatenate(dwells))).astype(np.int64)
        n = int(np.searchsorted(ends, duration_ps, side="left")) + 1  # segments starting < D
        starts = np.concatenate([[0], ends[: n - 1]])
        names = np.array(self.names)[seq[:n]]
        return Timeline(starts.astype(np.int64), names, duration_ps, self.names)

    def truth(self, timeline: Timeline) -> dict[str, Any]:
        out = timeline.truth()
        out["brightness"] = {n: self.states[n][0] for n in self.names}
        out["state_tau_ps"] = {n: self.states[n][1] for n in self.names}
        out["dwell_laws"] = dict(self.dwell)
        return out


# ---------------------------------------------------------------------- result
@dataclass
class World:
    """What a generator returns: the tags with their metadata, the ground truth, the setup."""

    batch: TagBatch
    truth: dict[str, Any]
    setup: Setup

    @property
    def duration_ps(self) -> int:
        return self.batch.t_end

    @property
    def pulsed(self) -> bool:
        return self.truth["excitation"] == "pulsed"

    @property
    def sync_period_ps(self) -> int | None:
        return self.truth.get("sync_period_ps")

    def sync_times(self) -> np.ndarray:
        """Times (ps) of all syncs inside ``[0, duration)`` (also in T3, where they are not
        tags)."""
        if not self.pulsed:
            return np.zeros(0, np.int64)
        k0, k1 = _sync_index_range(self.duration_ps, self.sync_period_ps, self.setup.sync_delay_ps)
        return np.arange(k0, k1, dtype=np.int64) * self.sync_period_ps + self.setup.sync_delay_ps

    def photon_sync_times(self) -> np.ndarray:
        """T3: the time (ps) of the sync each photon's nanotime counts from."""
        b = self.batch
        if b.nanotimes is None:
            raise ValueError("photon_sync_times needs a T3 world")
        return b.timestamps - _t3_offset(b.nanotimes, self.setup.nanotime_unit_ps)


# ---------------------------------------------------------------------- helpers
def _sync_index_range(duration_ps: int, sync_period_ps: int, delay_ps: int) -> tuple[int, int]:
    """Indices k of the syncs at ``k * sync_period + delay`` inside ``[0, duration)``."""
    k0 = max(0, -(delay_ps // sync_period_ps))  # ceil(-delay / period), at least 0
    k1 = max(k0, -(-(duration_ps - delay_ps) // sync_period_ps))  # k * P + d < D
    return k0, k1


def _t3_offset(nanotimes: np.ndarray, unit: float) -> np.ndarray:
    """The T3 timestamp minus the sync time: nanotime * unit in ps, rounded down."""
    return np.floor(nanotimes.astype(np.float64) * unit).astype(np.int64)


def _whole(value: float, what: str) -> int:
    if int(value) != value:
        raise ValueError(f"{what} must be a whole number of ps, got {value}")
    return int(value)


def photon_probabilities(mean_photons: float, g2_zero: float) -> tuple[float, float]:
    """``(p1, p2)`` with ``p1 + 2 p2 = mean_photons`` and ``2 p2 / mean**2 = g2_zero``.

    Raises ValueError when no probabilities fit (``g2_zero * mean > 1`` or ``p1 + p2 > 1``).
    """
    m, g = float(mean_photons), float(g2_zero)
    if m < 0 or g < 0:
        raise ValueError("mean_photons and g2_zero must be >= 0")
    p2 = g * m * m / 2.0
    p1 = m - 2.0 * p2
    if p1 < -1e-15 or p1 + p2 > 1.0 + 1e-15:
        raise ValueError(
            f"no emitter with at most two photons per pulse has <n> = {m} and g2(0) = {g}"
            " (needs g2(0) * <n> <= 1 and p1 + p2 <= 1)"
        )
    return max(p1, 0.0), p2


def _bernoulli_positions(rng: np.random.Generator, k0: int, k1: int, q: float) -> np.ndarray:
    """Indices in ``[k0, k1)`` each chosen independently with probability ``q`` (geometric
    gaps, so the cost is proportional to the number chosen)."""
    if q <= 0 or k1 <= k0:
        return np.zeros(0, np.int64)
    if q >= 1:
        return np.arange(k0, k1, dtype=np.int64)
    out, pos = [], k0 - 1
    while True:
        expect = (k1 - pos) * q
        m = int(expect + 6 * math.sqrt(expect) + 16)
        c = pos + np.cumsum(rng.geometric(q, m))
        if c[-1] >= k1:
            out.append(c[c < k1])
            break
        out.append(c)
        pos = int(c[-1])
    return np.concatenate(out).astype(np.int64)


class _Photons:
    """Detected events per detector as exact times: int64 ps plus a fraction in [0, 1)."""

    def __init__(self, n_detectors: int = 2) -> None:
        self.ti: list[list[np.ndarray]] = [[] for _ in range(n_detectors)]
        self.tf: list[list[np.ndarray]] = [[] for _ in range(n_detectors)]
        # 0 signal, 1 background, 2 dark
        self.kind: list[list[np.ndarray]] = [[] for _ in range(n_detectors)]

    def add(self, det: int, ti: np.ndarray, tf: np.ndarray, kind: int) -> None:
        self.ti[det].append(np.asarray(ti, np.int64))
        self.tf[det].append(np.asarray(tf, np.float64))
        self.kind[det].append(np.full(len(ti), kind, np.int8))

    def detector(self, det: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.ti[det]:
            return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int8)
        ti = np.concatenate(self.ti[det])
        tf = np.concatenate(self.tf[det])
        kind = np.concatenate(self.kind[det])
        order = np.lexsort((tf, ti))
        return ti[order], tf[order], kind[order]


def _detect(
    rng: np.random.Generator,
    setup: Setup,
    collection: float,
    base: np.ndarray,
    rel: np.ndarray,
    out: _Photons,
) -> None:
    """Send emitted photons at ``base + rel`` (int64 ps + float ps) through the detection chain
    up to jitter and delay; dead time comes later, on all events of a detector."""
    a0, a1 = setup.routing(collection)
    u = rng.random(rel.size)
    det = np.where(u < a0, 0, np.where(u < a0 + a1, 1, -1))
    normal = rng.standard_normal(rel.size)
    for i, d in enumerate(setup.detectors):
        sel = det == i
        off = rel[sel] + normal[sel] * d.jitter_ps + d.delay_ps
        whole = np.floor(off)
        out.add(i, base[sel] + whole.astype(np.int64), off - whole, 0)


def _uniform_events(
    rng: np.random.Generator, rate_cps: float, duration_ps: int
) -> tuple[np.ndarray, np.ndarray]:
    """A Poisson process of ``rate_cps`` on ``[0, duration)``: int ps and fraction."""
    n = rng.poisson(rate_cps * duration_ps / PS_PER_S) if rate_cps > 0 else 0
    return rng.integers(0, duration_ps, n, dtype=np.int64), rng.random(n)


def _add_uncorrelated(
    rng: np.random.Generator, setup: Setup, background_cps: float, duration_ps: int, out: _Photons
) -> None:
    share = setup.routing(1.0)
    for i, d in enumerate(setup.detectors):
        ti, tf = _uniform_events(rng, background_cps * share[i], duration_ps)
        out.add(i, ti, tf, 1)
        ti, tf = _uniform_events(rng, d.dark_cps, duration_ps)
        out.add(i, ti, tf, 2)


def dead_time_mask(ti: np.ndarray, tf: np.ndarray, dead_ps: int) -> np.ndarray:
    """Which of the time-ordered events ``ti + tf`` a non-paralysable detector with dead time
    ``dead_ps`` records: the first, then each one at least ``dead_ps`` after the last
    recorded one."""
    n = ti.size
    keep = np.ones(n, bool)
    if dead_ps <= 0 or n < 2:
        return keep
    gap = np.diff(ti).astype(np.float64) + np.diff(tf)
    start = np.concatenate([[True], gap >= dead_ps])  # first of a cluster: always recorded
    keep[:] = start
    starts = np.flatnonzero(start)
    ends = np.append(starts[1:], n)
    busy = ends - starts > 1
    cur, end = starts[busy], ends[busy]
    while cur.size:
        # first later event with (ti[j] - ti[c]) + (tf[j] - tf[c]) >= dead
        target = ti[cur] + dead_ps
        j = np.searchsorted(ti, target, side="left")
        while True:  # equal whole ps: compare the fractions
            tie = (j < end) & (ti[np.minimum(j, n - 1)] == target)
            tie &= tf[np.minimum(j, n - 1)] < tf[cur]
            if not tie.any():
                break
            j = j + tie
        ok = j < end
        keep[j[ok]] = True
        cur, end = j[ok], end[ok]
    return keep


# ---------------------------------------------------------------------- assembly
def _assemble(
    setup: Setup,
    duration_ps: int,
    photons: _Photons,
    period_ps: int | None,
    truth: dict[str, Any],
    settings: dict[str, Any],
) -> World:
    """Dead time, the span cut, quantisation, sync tags / nanotimes, metadata. Nothing random
    happens here, so T2 and T3 worlds made from one seed hold the same photons."""
    pulsed = period_ps is not None
    tis, tfs, chs = [], [], []
    lost_dead, signal_counts = {}, {}
    for i, d in enumerate(setup.detectors):
        ti, tf, kind = photons.detector(i)
        keep = dead_time_mask(ti, tf, d.dead_time_ps)
        lost_dead[d.name] = int((~keep).sum())
        ti, tf, kind = ti[keep], tf[keep], kind[keep]
        inside = (ti >= 0) & (ti < duration_ps)
        ti, tf, kind = ti[inside], tf[inside], kind[inside]
        signal_counts[d.name] = {
            "signal": int((kind == 0).sum()),
            "background": int((kind == 1).sum()),
            "dark": int((kind == 2).sum()),
        }
        tis.append(ti)
        tfs.append(tf)
        chs.append(np.full(ti.size, d.channel, np.uint8))
    ti, tf, ch = np.concatenate(tis), np.concatenate(tfs), np.concatenate(chs)

    sync_period = None if not pulsed else period_ps * setup.sync_divider
    delay = int(setup.sync_delay_ps)
    nanotimes = None
    lost_t3 = {"before_first_sync": 0, "tcspc_range": 0}
    if not pulsed or setup.mode == "T2":
        res = int(setup.resolution_ps)
        if pulsed:
            k0, k1 = _sync_index_range(duration_ps, sync_period, delay)
            sync = np.arange(k0, k1, dtype=np.int64) * sync_period + delay
            ti = np.concatenate([ti, sync])
            tf = np.concatenate([tf, np.zeros(sync.size)])
            ch = np.concatenate([ch, np.full(sync.size, setup.sync_channel, np.uint8)])
        order = np.lexsort((tf, ti))
        timestamps = ti[order] // res * res
        channels = ch[order]
    else:
        unit = float(setup.nanotime_unit_ps)
        k0, _ = _sync_index_range(duration_ps, sync_period, delay)
        k = (ti - delay) // sync_period  # last sync at or before ti + tf (syncs are whole ps)
        before = k < k0
        lost_t3["before_first_sync"] = int(before.sum())
        ti, tf, ch, k = ti[~before], tf[~before], ch[~before], k[~before]
        s = k * sync_period + delay
        nt = np.floor(((ti - s).astype(np.float64) + tf) / unit).astype(np.int64)
        if setup.tcspc_range_ps is not None:
            out_of_range = nt * unit >= setup.tcspc_range_ps
            lost_t3["tcspc_range"] = int(out_of_range.sum())
            keep = ~out_of_range
            ti, tf, ch, s, nt = ti[keep], tf[keep], ch[keep], s[keep], nt[keep]
        order = np.lexsort((tf, ti))
        nanotimes = nt[order].astype(np.int32)
        timestamps = s[order] + _t3_offset(nanotimes, unit)
        channels = ch[order]

    extra_md = {}
    if setup.mode == "T3" and setup.tcspc_range_ps is not None:
        # a newer field of RunMetadata: set it when this version of tagstream has it
        if "nanotime_range_ps" in getattr(RunMetadata, "__dataclass_fields__", {}):
            extra_md["nanotime_range_ps"] = float(setup.tcspc_range_ps)
    md = RunMetadata(
        source="tests.world",
        channels=setup.channel_map(pulsed),
        mode=setup.mode,
        resolution_ps=float(setup.resolution_ps if setup.mode == "T2" else setup.nanotime_unit_ps),
        sync_period_ps=None if sync_period is None else float(sync_period),
        nanotime_unit_ps=float(setup.nanotime_unit_ps) if setup.mode == "T3" else None,
        hbt_pair=setup.names,
        settings=settings,
        laser_period_ps=None if period_ps is None else float(period_ps),
        **extra_md,
    )
    batch = TagBatch(
        timestamps,
        channels,
        0,
        duration_ps,
        nanotimes=nanotimes,
        nanotime_unit_ps=md.nanotime_unit_ps,
        sync_period_ps=md.sync_period_ps,
        metadata=md,
    )
    counts = batch.counts()
    truth["counts"] = {d.name: int(counts[d.channel]) for d in setup.detectors}
    truth["counts_by_origin"] = signal_counts
    truth["lost_dead_time"] = lost_dead
    truth["lost_t3"] = lost_t3
    return World(batch, truth, setup)


def _detector_truth(setup: Setup) -> dict[str, Any]:
    a, b = setup.detectors[:2]
    return {
        "delays": {d.name: int(d.delay_ps) for d in setup.detectors},
        "zero_delay_ps": int(b.delay_ps - a.delay_ps),
        "jitters": {d.name: float(d.jitter_ps) for d in setup.detectors},
        "jitter_ps": math.hypot(a.jitter_ps, b.jitter_ps),
        "dead_times": {d.name: int(d.dead_time_ps) for d in setup.detectors},
        "dark_cps": {d.name: float(d.dark_cps) for d in setup.detectors},
        "efficiencies": {d.name: float(d.efficiency) for d in setup.detectors},
        "splitter": float(setup.splitter),
    }


def _uncorrelated_cps(setup: Setup, background_cps: float) -> list[float]:
    share = setup.routing(1.0)
    return [background_cps * share[i] + d.dark_cps for i, d in enumerate(setup.detectors)]


# ---------------------------------------------------------------------- pulsed
def pulsed(
    rng: np.random.Generator,
    duration_ps: int,
    setup: Setup,
    period_ps: int = 12_500,
    mean_photons: float = 0.1,
    g2_zero: float = 0.0,
    tau_ps: float = 3000.0,
    components: Sequence[tuple[float, float]] | None = None,
    biexciton_tau_ps: float | None = None,
    collection: float = 1.0,
    background_cps: float = 0.0,
    blinking: Telegraph | None = None,
    chunk_ps: int = 100_000_000_000,
) -> World:
    """A pulsed single emitter on the HBT ``setup``.

    Per laser pulse the emitter gives ``n`` photons, ``P(1) = p1``, ``P(2) = p2``, with
    ``<n> = mean_photons * brightness`` (brightness 1 without blinking) and
    ``2 p2 / <n>**2 = g2_zero`` in every state (ValueError if impossible). A one-photon pulse
    emits after a delay drawn from the exciton decay law: ``Exp(tau_ps)``, or with
    ``components = [(photon_fraction, tau_ps), ...]`` (fractions summing to 1) a mixture in
    which a photon comes from component ``i`` with probability ``fraction_i``; a blinking
    state's own ``tau_ps`` replaces the law. A two-photon pulse is a biexciton-exciton
    cascade: the biexciton photon after ``d1 ~ Exp(biexciton_tau_ps)`` (the exciton law when
    None), the exciton photon after ``d1 + d2`` with ``d2`` from the exciton law.

    ``truth`` holds ``g2_zero`` (emitted light) and ``g2_zero_detected``, the expected raw
    ratio of the zero-delay to an adjacent peak of the A-B histogram, each peak summed over a
    window of one period, dark counts and background included as flat contributions:
    ``(g sA sB + X) / (sA sB + X)`` with ``X = sA bB + bA sB + bA bB``, ``sX`` the mean detected
    signal photons per pulse on X (``mean_photons * collection * share_X * efficiency_X``) and
    ``bX`` the uncorrelated counts per period on X. It ignores blinking, dead time, and the
    tails of peaks outside their window (keep ``tau``, jitter << ``period / 2``);
    ``g2_zero_detected_blinking`` weights the signal terms with the realised state fractions.
    """
    duration_ps = _whole(duration_ps, "duration_ps")
    period_ps = _whole(period_ps, "period_ps")
    if duration_ps <= 0 or period_ps <= 0:
        raise ValueError("duration_ps and period_ps must be > 0")
    if not 0.0 <= collection <= 1.0:
        raise ValueError("collection must lie in [0, 1]")
    if components is None:
        comps = [(1.0, float(tau_ps))]
    else:
        comps = [(float(f), float(t)) for f, t in components]
        if not comps or abs(sum(f for f, _ in comps) - 1.0) > 1e-9:
            raise ValueError("component photon fractions must sum to 1")
    if any(f < 0 or t <= 0 for f, t in comps):
        raise ValueError("component fractions must be >= 0 and lifetimes > 0")
    fr = np.array([f for f, _ in comps])
    taus = np.array([t for _, t in comps])

    # states: index 0.. of the telegraph, or a single implicit one
    timeline = blinking.timeline(rng, duration_ps) if blinking is not None else None
    names = blinking.names if blinking is not None else ("on",)
    bright = (
        np.array([blinking.states[n][0] for n in names]) if blinking is not None else np.ones(1)
    )
    state_tau = (
        np.array(
            [np.nan if blinking.states[n][1] is None else blinking.states[n][1] for n in names]
        )
        if blinking is not None
        else np.full(1, np.nan)
    )
    p1, p2 = np.zeros(len(names)), np.zeros(len(names))
    for i, b in enumerate(bright):
        p1[i], p2[i] = photon_probabilities(mean_photons * b, g2_zero)
    base_p1, base_p2 = photon_probabilities(mean_photons, g2_zero)
    q = p1 + p2
    q_max = float(q.max())

    def exciton_taus(state: np.ndarray) -> np.ndarray:
        if len(comps) == 1:
            t = np.full(state.size, taus[0])
        else:
            t = taus[rng.choice(len(comps), size=state.size, p=fr)]
        override = state_tau[state]
        return np.where(np.isnan(override), t, override)

    if timeline is not None:
        seg_state = np.array([names.index(n) for n in timeline.states.tolist()], np.int64)
    photons = _Photons()
    n_pulses = -(-duration_ps // period_ps)
    per_chunk = max(1, int(chunk_ps) // period_ps)
    emitted = 0
    for k0 in range(0, n_pulses, per_chunk):
        k1 = min(n_pulses, k0 + per_chunk)
        ks = _bernoulli_positions(rng, k0, k1, q_max)
        pulse_t = ks * period_ps
        if timeline is not None:
            st = seg_state[np.searchsorted(timeline.switch_times, pulse_t, side="right") - 1]
        else:
            st = np.zeros(ks.size, np.int64)
        u = rng.random(ks.size) * q_max
        emits = u < q[st]
        two = u < p2[st]
        ks1, st1 = ks[emits & ~two], st[emits & ~two]
        ks2, st2 = ks[two], st[two]
        d_single = rng.standard_exponential(ks1.size) * exciton_taus(st1)
        if biexciton_tau_ps is None:
            tau_bx = exciton_taus(st2)
        else:
            tau_bx = np.full(ks2.size, float(biexciton_tau_ps))
        d_bx = rng.standard_exponential(ks2.size) * tau_bx
        d_x = d_bx + rng.standard_exponential(ks2.size) * exciton_taus(st2)
        base = np.concatenate([ks1, ks2, ks2]) * period_ps
        rel = np.concatenate([d_single, d_bx, d_x])
        emitted += rel.size
        _detect(rng, setup, collection, base, rel, photons)
    _add_uncorrelated(rng, setup, background_cps, duration_ps, photons)

    # ---- truth
    laser_hz = PS_PER_S / period_ps
    route = setup.routing(collection)
    unc = _uncorrelated_cps(setup, background_cps)
    s = [mean_photons * a for a in route]
    bg = [u_cps * period_ps / PS_PER_S for u_cps in unc]
    cross = s[0] * bg[1] + bg[0] * s[1] + bg[0] * bg[1]
    side = s[0] * s[1] + cross
    g_det = (g2_zero * s[0] * s[1] + cross) / side if side > 0 else float("nan")
    blink_truth = None
    mean_b, mean_b2 = 1.0, 1.0
    if blinking is not None:
        blink_truth = blinking.truth(timeline)
        fracs = blink_truth["fractions"]
        mean_b = sum(fracs[n] * bright[i] for i, n in enumerate(names))
        mean_b2 = sum(fracs[n] * bright[i] ** 2 for i, n in enumerate(names))
        eff_tau = {}
        for i, n in enumerate(names):
            eff_tau[n] = (
                float(state_tau[i])
                if not np.isnan(state_tau[i])
                else (float(taus[0]) if len(comps) == 1 else None)
            )
        blink_truth["tau_ps"] = eff_tau
    ss = [x * mean_b for x in s]
    cross_b = ss[0] * bg[1] + bg[0] * ss[1] + bg[0] * bg[1]
    sig2 = s[0] * s[1] * mean_b2
    g_det_b = (g2_zero * sig2 + cross_b) / (sig2 + cross_b) if sig2 + cross_b > 0 else math.nan
    amps = fr / taus
    truth: dict[str, Any] = {
        "excitation": "pulsed",
        "duration_ps": duration_ps,
        "g2_zero": float(g2_zero),
        "g2_zero_detected": float(g_det),
        "g2_zero_detected_blinking": float(g_det_b),
        "mean_photons": float(mean_photons),
        "p1": base_p1,
        "p2": base_p2,
        "tau_ps": float(taus[0]) if len(comps) == 1 else None,
        "components": comps,
        "amplitudes": (amps / amps.sum()).tolist(),
        "mean_tau_ps": float((fr * taus).sum()),
        "biexciton_tau_ps": None if biexciton_tau_ps is None else float(biexciton_tau_ps),
        "period_ps": period_ps,
        "laser_rate_hz": laser_hz,
        "divider": int(setup.sync_divider),
        "sync_period_ps": period_ps * int(setup.sync_divider),
        "sync_delay_ps": int(setup.sync_delay_ps),
        "collection": float(collection),
        "background_cps": float(background_cps),
        "signal_per_pulse": {d.name: s[i] for i, d in enumerate(setup.detectors)},
        "uncorrelated_per_period": {d.name: bg[i] for i, d in enumerate(setup.detectors)},
        "expected_cps": {
            d.name: s[i] * mean_b * laser_hz + unc[i] for i, d in enumerate(setup.detectors)
        },
        "n_pulses": n_pulses,
        "n_emitted": emitted,
        "blinking": blink_truth,
        "t3_time_rule": "sync + floor(nanotime * unit)",
        **_detector_truth(setup),
    }
    settings = {
        "generator": "tests.world.pulsed",
        "period_ps": period_ps,
        "mean_photons": float(mean_photons),
        "g2_zero": float(g2_zero),
        "components": [list(c) for c in comps],
        "sync_divider": int(setup.sync_divider),
    }
    return _assemble(setup, duration_ps, photons, period_ps, truth, settings)


# ---------------------------------------------------------------------- CW
def cw(
    rng: np.random.Generator,
    duration_ps: int,
    setup: Setup,
    excitation_rate_per_ps: float,
    decay_rate_per_ps: float,
    collection: float = 1.0,
    background_cps: float = 0.0,
    blinking: Telegraph | None = None,
) -> World:
    """A CW-excited two-level emitter on the HBT ``setup`` (T2 only).

    Emissions form a renewal process: after each emission the emitter waits
    ``Exp(r) + Exp(gamma)`` (excitation, then decay) for the next, so the emitted light has
    ``g2(tau) = 1 - exp(-(r + gamma)|tau|)``. Under blinking the state's brightness scales
    ``r`` and its ``tau_ps`` (if given) sets ``gamma = 1 / tau``; the emitter's level
    (ground or excited) carries over state switches exactly (memoryless rates).

    ``truth["g2_zero"]`` is the g2(0) of the detected A-B coincidences without jitter:
    ``1 - rhoA rhoB`` with ``rhoX = signal / (signal + background + dark)`` on detector X
    (blinking and dead time ignored); ``rate_per_ns = (r + gamma) * 1e3``; ``jitter_ps`` the
    combined ``sqrt(sigmaA**2 + sigmaB**2)``.
    """
    duration_ps = _whole(duration_ps, "duration_ps")
    if setup.mode != "T2":
        raise ValueError("CW excitation has no sync: use a T2 setup")
    r0, g0 = float(excitation_rate_per_ps), float(decay_rate_per_ps)
    if r0 < 0 or g0 <= 0:
        raise ValueError("excitation rate must be >= 0 and decay rate > 0")
    if blinking is not None:
        timeline = blinking.timeline(rng, duration_ps)
        starts, ends, states = timeline.switch_times, timeline.ends, timeline.states
        rates = {n: (r0 * b, g0 if t is None else 1.0 / t) for n, (b, t) in blinking.states.items()}
    else:
        timeline = None
        starts, ends, states = np.zeros(1, np.int64), np.array([duration_ps]), np.array(["on"])
        rates = {"on": (r0, g0)}

    photons = _Photons()
    excited = False
    emitted = 0
    block_max = 1 << 20
    for t0, t1, st in zip(starts.tolist(), ends.tolist(), states.tolist(), strict=True):
        r, g = rates[st]
        length = float(t1 - t0)
        pos = 0.0  # time of the last emission (or the segment start), relative to t0
        times: list[np.ndarray] = []
        if excited:
            first = rng.exponential(1.0 / g)
            if first >= length:
                continue  # still excited at the end of the segment
            times.append(np.array([first]))
            pos = first
            excited = False
        if r > 0:
            cycle = 1.0 / r + 1.0 / g
            while True:
                n = int(min(block_max, (length - pos) / cycle * 1.05 + 16))
                ex = rng.exponential(1.0 / r, n)
                de = rng.exponential(1.0 / g, n)
                em = pos + np.cumsum(ex + de)
                if em[-1] < length:
                    times.append(em)
                    pos = float(em[-1])
                    continue
                j = int(np.searchsorted(em, length, side="left"))
                times.append(em[:j])
                excited = bool(em[j] - de[j] < length)  # excited before the end, not decayed
                break
        if times:
            rel = np.concatenate(times)
            emitted += rel.size
            _detect(rng, setup, collection, np.full(rel.size, t0, np.int64), rel, photons)
    _add_uncorrelated(rng, setup, background_cps, duration_ps, photons)

    def emission_cps(r: float, g: float) -> float:
        return r * g / (r + g) * PS_PER_S if r > 0 else 0.0

    route = setup.routing(collection)
    unc = _uncorrelated_cps(setup, background_cps)
    sig = [emission_cps(r0, g0) * a for a in route]
    rho = [sig[i] / (sig[i] + unc[i]) if sig[i] + unc[i] > 0 else 0.0 for i in range(2)]
    blink_truth = None
    mean_rate = emission_cps(r0, g0)
    if blinking is not None:
        blink_truth = blinking.truth(timeline)
        fr = blink_truth["fractions"]
        mean_rate = sum(fr[n] * emission_cps(*rates[n]) for n in blinking.names)
        blink_truth["tau_ps"] = {n: 1.0 / rates[n][1] for n in blinking.names}
        blink_truth["rate_per_ns"] = {n: (rates[n][0] + rates[n][1]) * 1e3 for n in blinking.names}
    names = setup.names
    truth: dict[str, Any] = {
        "excitation": "cw",
        "duration_ps": duration_ps,
        "g2_zero": 1.0 - rho[0] * rho[1],
        "g2_zero_emitted": 0.0,
        "rate_per_ns": (r0 + g0) * 1e3,
        "k_per_ps": r0 + g0,
        "excitation_rate_per_ps": r0,
        "decay_rate_per_ps": g0,
        "tau_ps": 1.0 / g0,
        "emission_cps": emission_cps(r0, g0),
        "collection": float(collection),
        "background_cps": float(background_cps),
        "signal_cps": {names[i]: sig[i] for i in range(2)},
        "uncorrelated_cps": {names[i]: unc[i] for i in range(2)},
        "rho": {names[i]: rho[i] for i in range(2)},
        "expected_cps": {names[i]: mean_rate * route[i] + unc[i] for i in range(2)},
        "n_emitted": emitted,
        "period_ps": None,
        "sync_period_ps": None,
        "blinking": blink_truth,
        **_detector_truth(setup),
    }
    settings = {
        "generator": "tests.world.cw",
        "excitation_rate_per_ps": r0,
        "decay_rate_per_ps": g0,
    }
    return _assemble(setup, duration_ps, photons, None, truth, settings)


# ---------------------------------------------------------------------- intensity trace only
def blinking_trace(
    rng: np.random.Generator,
    duration_ps: int,
    bin_ps: int,
    telegraph: Telegraph,
    rates_cps: Mapping[str, float],
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """An intensity trace without photons: per bin a Poisson count whose mean is the exact
    integral of the state-dependent rate over the bin.

    Bins start at ``0, bin_ps, 2 bin_ps, ...``; the last one ends at ``duration_ps`` and may be
    shorter (``exposure_ps`` gives each bin's length). Returns ``(counts int64[n],
    exposure_ps int64[n], truth)``; ``truth`` has the telegraph truth (``switch_times``,
    ``states``, ``periods``, ``fractions``, ``dwells``, ``brightness``, ``state_tau_ps``),
    ``rates_cps``, ``expected`` (mean counts per bin), ``edges_ps`` and ``bin_ps``.
    """
    duration_ps = _whole(duration_ps, "duration_ps")
    bin_ps = _whole(bin_ps, "bin_ps")
    if bin_ps <= 0 or duration_ps <= 0:
        raise ValueError("duration_ps and bin_ps must be > 0")
    missing = set(telegraph.names) - set(rates_cps)
    if missing:
        raise ValueError(f"no rate for states {sorted(missing)}")
    tl = telegraph.timeline(rng, duration_ps)
    knots = np.append(tl.switch_times, duration_ps).astype(np.float64)
    seg_rate = np.array([float(rates_cps[s]) for s in tl.states])
    integral = np.concatenate([[0.0], np.cumsum(seg_rate * np.diff(knots) / PS_PER_S)])
    edges = np.append(np.arange(0, duration_ps, bin_ps, dtype=np.int64), duration_ps)
    expected = np.diff(np.interp(edges.astype(np.float64), knots, integral))
    expected = np.maximum(expected, 0.0)
    counts = rng.poisson(expected).astype(np.int64)
    exposure = np.diff(edges).astype(np.int64)
    truth = telegraph.truth(tl)
    truth.update(
        {
            "rates_cps": {k: float(v) for k, v in rates_cps.items()},
            "expected": expected,
            "edges_ps": edges,
            "bin_ps": bin_ps,
            "duration_ps": duration_ps,
        }
    )
    return counts, exposure, truth
