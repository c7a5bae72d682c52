"""The measurement setup: timing jitter and cable delays, dark counts and background, dead time
and afterpulsing, the laser sync and the T2/T3 output format."""

from __future__ import annotations

import math

import numpy as np

from ...errors import TagstreamError
from ...kernels.detection import (
    HEAP_FULL,
    arrival_times,
    detect,
    merge_sorted,
    t3_nanotimes,
)
from .config import SimConfig

JITTER_CLIP = 8.0  # Gaussian jitter is clipped at this many sigma
HEAP_CAPACITY = 1 << 16


class DetectorBank:
    """The detectors and the tagger, with the state that carries from one window to the next."""

    def __init__(self, config: SimConfig):
        self.config = config
        dets = config.setup.detectors
        self.channels = np.array([d.channel for d in dets], np.uint8)
        self.sigma = np.array([d.jitter_ps for d in dets])
        self.tail_time = np.array([d.jitter_tail_ps for d in dets])
        self.tail_fraction = np.array([d.jitter_tail_fraction for d in dets])
        self.cable = np.array([d.cable_delay_ps for d in dets], np.int64)
        self.dark_hz = np.array([d.dark_rate_hz for d in dets])
        p = np.array(config.detection_probabilities())
        share = p / p.sum() if p.sum() > 0 else np.full(p.size, 1.0 / p.size)
        self.background_hz = config.setup.background_rate_hz * share
        self.dead_time = np.array([d.dead_time_ps for d in dets], np.int64)
        self.ap_prob = np.array([d.afterpulsing for d in dets])
        self.ap_delay = np.array([d.afterpulse_delay_ps for d in dets], np.int64)
        self.ap_spread = np.array([d.afterpulse_spread_ps for d in dets])
        self.dead_until = np.full(len(dets), np.iinfo(np.int64).min // 2, np.int64)
        self.heap_t = np.zeros(HEAP_CAPACITY, np.int64)
        self.heap_d = np.zeros(HEAP_CAPACITY, np.int64)
        self.heap_n = np.zeros(1, np.int64)
        exc = config.excitation
        self.pulsed = exc.mode == "pulsed"
        self.sync_period = exc.period_ps * exc.sync_divider if self.pulsed else math.inf
        self.t3 = config.setup.mode == "T3"

    @property
    def margin_ps(self) -> int:
        """How much earlier than its excitation a click can come (clipped Gaussian jitter)."""
        return math.ceil(JITTER_CLIP * float(self.sigma.max(initial=0.0))) + 1

    def smear(self, times: np.ndarray, dets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Arrival times: emission + cable delay + Gaussian jitter (+ an exponential tail for a
        fraction of the clicks), as int64 ps."""
        out = np.empty(times.size, np.int64)
        arrival_times(
            times,
            dets,
            self.sigma,
            JITTER_CLIP,
            self.tail_fraction,
            self.tail_time,
            self.cable,
            int(rng.integers(0, 2**63 - 1)),
            out,
        )
        return out

    def noise(self, t0: int, t1: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Dark counts and background clicks in [t0, t1)."""
        rates = (self.dark_hz + self.background_hz) * (t1 - t0) * 1e-12
        counts = rng.poisson(rates)
        times = rng.integers(t0, t1, int(counts.sum())) if t1 > t0 else np.zeros(0, np.int64)
        dets = np.repeat(np.arange(rates.size, dtype=np.int64), counts)
        return times.astype(np.int64), dets

    def register(self, times: np.ndarray, dets: np.ndarray, limit: int, seed: int):
        """Sorted candidate clicks before ``limit`` through dead time and afterpulsing."""
        cap = times.size + HEAP_CAPACITY
        out_t, out_d = np.empty(cap, np.int64), np.empty(cap, np.int64)
        n = detect(
            times,
            dets,
            np.int64(limit),
            self.dead_time,
            self.ap_prob,
            self.ap_delay,
            self.ap_spread,
            self.dead_until,
            self.heap_t,
            self.heap_d,
            self.heap_n,
            seed,
            out_t,
            out_d,
        )
        if n == HEAP_FULL:
            raise TagstreamError("simulator: too many afterpulses pending; lower afterpulsing")
        return out_t[:n], out_d[:n]

    def sync_times(self, t0: int, t1: int) -> np.ndarray:
        """Sync tags (every ``sync_divider``-th pulse) in [t0, t1)."""
        period = self.sync_period
        k0 = math.ceil((t0 - 0.5) / period)
        k1 = math.ceil((t1 - 0.5) / period)
        return np.floor(np.arange(k0, k1, dtype=np.float64) * period + 0.5).astype(np.int64)

    def nanotimes(self, times: np.ndarray) -> np.ndarray:
        """T3 micro-times: time since the preceding sync, in nanotime units."""
        out = np.empty(times.size, np.int32)
        t3_nanotimes(times, self.sync_period, self.config.setup.nanotime_unit_ps, out)
        return out

    def tags(self, times: np.ndarray, dets: np.ndarray, t0: int, t1: int):
        """Channels of the clicks, with the sync tags merged in (T2, pulsed)."""
        channels = self.channels[dets]
        if self.pulsed and not self.t3:
            sync = self.sync_times(t0, t1)
            out_t = np.empty(times.size + sync.size, np.int64)
            out_c = np.empty(times.size + sync.size, np.uint8)
            sync_c = np.full(sync.size, self.config.setup.sync_channel, np.uint8)
            merge_sorted(sync, sync_c, times, channels, out_t, out_c)
            return out_t, out_c
        return times, channels
