"""Synthetic tag streams of a Hanbury Brown–Twiss measurement, for the benchmarks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tagstream.tags import Channel, ChannelMap, Role, RunMetadata, TagBatch

PERIOD_PS = 12_500  # 80 MHz laser
NANOTIME_UNIT_PS = 4
CHANNELS = ChannelMap([Channel(0, "sync", Role.SYNC), Channel(1, "A"), Channel(2, "B")])


@dataclass(frozen=True)
class Dataset:
    """A stream for the benchmarks and what it holds."""

    name: str
    batch: TagBatch
    description: str

    @property
    def n(self) -> int:
        return len(self.batch)


def merge(parts: list[tuple[np.ndarray, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Merge ``(times, channel)`` parts into one stream sorted by time (stable): int64 times,
    uint8 channels (shared with the tests' stream generators)."""
    t = np.concatenate([np.asarray(p, np.int64) for p, _ in parts] or [np.zeros(0, np.int64)])
    ch = np.concatenate([np.full(len(p), c, np.uint8) for p, c in parts] or [np.zeros(0, np.uint8)])
    order = np.argsort(t, kind="stable")
    return t[order], ch[order]


def hbt_t3(rng: np.random.Generator, duration_ps: int, rate_cps: float = 1e6) -> Dataset:
    """Two detectors at ``rate_cps`` each, Poisson over the laser pulses, each photon a 2 ns
    decay after its pulse. Its nanotime is the delay since the latest pulse (4 ps unit) and
    its timestamp that pulse plus the nanotime, as a TCSPC unit records them."""
    parts = []
    for c in (1, 2):
        n = rng.poisson(rate_cps * 1e-12 * duration_ps)
        emitted = np.sort(
            rng.integers(0, duration_ps // PERIOD_PS, n)
        ) * PERIOD_PS + rng.exponential(2_000, n).astype(np.int64)
        emitted = np.sort(emitted[emitted < duration_ps])  # the rare delays past a pulse
        parts.append((emitted - emitted % PERIOD_PS % NANOTIME_UNIT_PS, c))
    t, ch = merge(parts)
    nanotimes = (t % PERIOD_PS // NANOTIME_UNIT_PS).astype(np.uint16)
    md = RunMetadata(
        "benchmark",
        CHANNELS,
        mode="T3",
        nanotime_unit_ps=NANOTIME_UNIT_PS,
        sync_period_ps=PERIOD_PS,
        hbt_pair=("A", "B"),
    )
    batch = TagBatch(t, ch, 0, duration_ps, nanotimes=nanotimes, metadata=md, check=False)
    return Dataset("hbt", batch, f"2 detectors x {rate_cps / 1e6:g} Mcps, Poisson, T3 nanotimes")


def hbt_t2_with_sync(
    rng: np.random.Generator, duration_ps: int, divider: int = 4, rate_cps: float = 1e6
) -> Dataset:
    """T2: a sync tag every ``divider`` laser periods and two detectors at ``rate_cps`` each."""
    syncs = np.arange(0, duration_ps, PERIOD_PS * divider, dtype=np.int64)
    rate = rate_cps * 1e-12
    parts = [(syncs, 0)]
    for c in (1, 2):
        base = np.sort(rng.integers(0, duration_ps, rng.poisson(rate * duration_ps)))
        delay = rng.exponential(2_000, base.size).astype(np.int64)
        parts.append((np.minimum(base // PERIOD_PS * PERIOD_PS + delay, duration_ps - 1), c))
    t, ch = merge(parts)
    md = RunMetadata(
        "benchmark",
        CHANNELS,
        mode="T2",
        sync_period_ps=PERIOD_PS * divider,
        laser_period_ps=PERIOD_PS,  # every photon folded onto the laser period
    )
    batch = TagBatch(t, ch, 0, duration_ps, metadata=md, check=False)
    sync_rate = 1e12 / (PERIOD_PS * divider) / 1e6
    return Dataset(
        "t2sync", batch, f"T2: sync {sync_rate:g} MHz + 2 detectors x {rate_cps / 1e6:g} Mcps"
    )


def three_detectors(rng: np.random.Generator, duration_ps: int, rate_cps: float = 1e6) -> Dataset:
    """T2: three detectors at ``rate_cps`` each, Poisson (for third-order correlations)."""
    names = ChannelMap([Channel(1, "A"), Channel(2, "B"), Channel(3, "C")])
    parts = [
        (np.sort(rng.integers(0, duration_ps, rng.poisson(rate_cps * 1e-12 * duration_ps))), c)
        for c in (1, 2, 3)
    ]
    t, ch = merge(parts)
    md = RunMetadata("benchmark", names, mode="T2")
    batch = TagBatch(t, ch, 0, duration_ps, metadata=md, check=False)
    return Dataset("three", batch, f"T2: 3 detectors x {rate_cps / 1e6:g} Mcps, Poisson")
