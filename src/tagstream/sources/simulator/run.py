"""The simulated run: a source like any hardware, deterministic for a seed, generated lazily."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import numpy as np

from ...formats.timeline import StateTimeline
from ...kernels.detection import merge_sorted, sort_nearly_sorted, split_window
from ...tags import Channel, ChannelMap, Role, RunMetadata, TagBatch, parse_time
from ..prefetch import prefetch
from ..run import Run, batch_span_ps
from .blinking import StateGenerator
from .config import SimConfig
from .emitter import Emitter
from .interferometer import Interferometer
from .setup import DetectorBank

TARGET_PHOTONS_PER_BLOCK = 100_000
MIN_BLOCK_PS = 10**9  # 1 ms
MAX_BLOCK_PS = 10**12  # 1 s
_TIMELINE, _EMITTER, _WINDOW = 0, 1, 2


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


class SimulatedRun(Run):
    """Tags of a single quantum dot on an HBT setup, from a :class:`SimConfig`.

    Parameters
    ----------
    config
        The model.
    duration
        Length of the run (``"10 s"``); ``None`` runs until stopped.
    seed
        Same seed, same tags.
    realtime
        Pace the batches to the wall clock, like hardware.
    """

    def __init__(
        self,
        config: SimConfig,
        duration: str | int | None = None,
        seed: int = 0,
        realtime: bool = False,
    ):
        self.config = config
        self.seed = int(seed)
        self.realtime = realtime
        self.paced = realtime
        self.duration_ps = None if duration is None else parse_time(duration, "duration")
        if self.duration_ps is not None and self.duration_ps <= 0:
            from ...errors import TagstreamError

            raise TagstreamError(f"simulate: duration must be positive, got {duration!r}")
        self.metadata = _metadata(config, self.seed, Emitter(config, self._states()).method)
        self.block_ps = _block_length(config)

    def _states(self) -> StateGenerator:
        return StateGenerator(self.config, _rng(self.seed, _TIMELINE))

    @property
    def truth(self) -> StateTimeline:  # type: ignore[override]
        """Ground-truth state timeline over the run (over the first 100 s if unbounded)."""
        end = self.duration_ps if self.duration_ps is not None else 10**14
        return self._states().timeline(end)

    def batches(self, duration: str | int | None = None) -> Iterator[TagBatch]:
        """Consecutive batches of ``duration`` each; by default the simulator's own blocks
        (about :data:`TARGET_PHOTONS_PER_BLOCK` photons, 1 ms to 1 s)."""
        start_wall = time.monotonic()
        if duration is None:
            for window in self._windows():
                yield self._paced(window, start_wall)
            return
        span = batch_span_ps(duration)
        pending: list[TagBatch] = []
        edge = span
        for window in self._windows():
            pending.append(window)
            while pending and pending[-1].t_end >= edge:
                joined = TagBatch.concat(pending) if len(pending) > 1 else pending[0]
                head, tail = joined.split_at([edge]) if joined.t_end > edge else (joined, None)
                yield self._paced(head, start_wall)
                pending = [tail] if tail is not None and tail.t_end > tail.t_begin else []
                edge += span
        if pending:
            yield self._paced(TagBatch.concat(pending), start_wall)

    def _paced(self, batch: TagBatch, start_wall: float) -> TagBatch:
        batch.metadata = self.metadata
        if self.realtime:
            delay = start_wall + batch.t_end * 1e-12 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        return batch

    def _photons(self, emitter: Emitter, end: float):
        """Per block of excitations: the detected photons' emission times and detectors (their
        arrival times and outputs behind an interferometer), and the block's random generator
        (the clicks' jitter is drawn from it next)."""
        spec = self.config.interferometer
        hom = None
        if spec is not None:
            efficiencies = np.array([d.efficiency for d in self.config.setup.detectors])
            hom = Interferometer(spec, self.config.excitation.period_ps, efficiencies)
        k = 0
        while k * self.block_ps < end:
            block_end = (k + 1) * self.block_ps
            rng = _rng(self.seed, _EMITTER, k)
            times, dets = emitter.block(k * self.block_ps, block_end, rng)
            last = block_end >= end
            if last:
                more_t, more_d = emitter.finish(int(end), rng)
                times, dets = np.concatenate([times, more_t]), np.concatenate([dets, more_d])
            if hom is not None:
                times, dets = hom.route(times, min(block_end, end), rng, last)
            yield k, block_end, last, times, dets, rng
            k += 1

    def _windows(self) -> Iterator[TagBatch]:
        """The simulation proper: windows of time whose tags are final. The photons of the next
        block are made in a second thread while this one turns the current block's photons into
        clicks and registers them. A window ends a margin (the largest early jitter) before
        its block; the clicks after it wait for the next window."""
        config = self.config
        emitter = Emitter(config, self._states())
        bank = DetectorBank(config)
        end = self.duration_ps if self.duration_ps is not None else math.inf
        margin = bank.margin_ps
        pend_t = np.zeros(0, np.int64)
        pend_d = np.zeros(0, np.int64)
        window_start = 0
        for k, block_end, last, times, dets, rng in prefetch(self._photons(emitter, end)):
            clicks = bank.smear(times, dets, rng)
            window_end = int(end) if last else int(min(block_end - margin, end))
            size = pend_t.size + clicks.size
            now_t, now_d = np.empty(size, np.int64), np.empty(size, np.int64)
            rest_t, rest_d = np.empty(size, np.int64), np.empty(size, np.int64)
            n_now, n_rest = split_window(
                pend_t, pend_d, clicks, dets.astype(np.int64, copy=False), window_start,
                window_end, now_t, now_d, rest_t, rest_d,
            )  # fmt: skip
            pend_t, pend_d = rest_t[:n_rest], rest_d[:n_rest]
            if window_end > window_start:
                yield self._window(
                    bank,
                    now_t[:n_now],
                    now_d[:n_now],
                    window_start,
                    window_end,
                    _rng(self.seed, _WINDOW, k),
                )
            window_start = window_end

    def _window(
        self, bank: DetectorBank, times, dets, t0: int, t1: int, rng: np.random.Generator
    ) -> TagBatch:
        """The tags of ``[t0, t1)`` from the clicks in it (the previous window's leftovers
        first, then this block's, nearly in time order): dark counts and background added, all
        in time order (stably: equal times keep that order), through dead time and
        afterpulsing."""
        noise_t, noise_d = bank.noise(t0, t1, rng)
        if not sort_nearly_sorted(times, dets, 8 * times.size + 1024):
            order = np.argsort(times, kind="stable")
            times, dets = times[order], dets[order]
        order = np.argsort(noise_t, kind="stable")
        all_t = np.empty(times.size + noise_t.size, np.int64)
        all_d = np.empty(all_t.size, np.int64)
        merge_sorted(times, dets, noise_t[order], noise_d[order], all_t, all_d)
        seed = int(rng.integers(0, 2**63 - 1))
        clicks_t, clicks_d = bank.register(all_t, all_d, t1, seed)
        tags_t, tags_c = bank.tags(clicks_t, clicks_d, t0, t1)
        md = self.metadata
        if md.mode == "T3":
            return TagBatch(
                tags_t,
                tags_c,
                t0,
                t1,
                nanotimes=bank.nanotimes(tags_t),
                nanotime_unit_ps=md.nanotime_unit_ps,
                sync_period_ps=md.sync_period_ps,
                metadata=md,
                check=False,
            )
        return TagBatch(
            tags_t, tags_c, t0, t1, sync_period_ps=md.sync_period_ps, metadata=md, check=False
        )


def _block_length(config: SimConfig) -> int:
    """Simulated time per block: about :data:`TARGET_PHOTONS_PER_BLOCK` detected photons,
    between 1 ms and 1 s, a whole number of milliseconds (a property of the model, so the tags
    do not depend on how they are read)."""
    exc = config.excitation
    eta = sum(config.detection_probabilities())
    if exc.mode == "pulsed":
        rate = exc.repetition_rate_hz * -math.expm1(-exc.mean_excitations) * eta
    else:
        rate = exc.pump_rate_hz * eta
    rate += sum(d.dark_rate_hz for d in config.setup.detectors) + config.setup.background_rate_hz
    seconds = TARGET_PHOTONS_PER_BLOCK / max(rate, 1.0)
    block = int(min(max(seconds * 1e12, MIN_BLOCK_PS), MAX_BLOCK_PS))
    return max(MIN_BLOCK_PS, block // MIN_BLOCK_PS * MIN_BLOCK_PS)


def _metadata(config: SimConfig, seed: int, method: str) -> RunMetadata:
    setup, exc = config.setup, config.excitation
    pulsed = exc.mode == "pulsed"
    channels = [Channel(d.channel, d.name, Role.DETECTOR) for d in setup.detectors]
    if pulsed and setup.mode == "T2":
        channels.append(Channel(setup.sync_channel, "sync", Role.SYNC))
    names = [d.name for d in setup.detectors]
    return RunMetadata(
        source="simulator",
        channels=ChannelMap(channels),
        mode=setup.mode,
        resolution_ps=1.0,
        sync_period_ps=exc.period_ps * exc.sync_divider if pulsed else None,
        laser_period_ps=exc.period_ps if pulsed else None,
        nanotime_unit_ps=setup.nanotime_unit_ps if setup.mode == "T3" else None,
        hbt_pair=(names[0], names[1]) if len(names) >= 2 else None,
        settings={
            "preset": config.name,
            "seed": seed,
            "model": method,
            "config": config_to_dict(config),
        },
    )


def config_to_dict(config: SimConfig) -> dict[str, Any]:
    """The resolved model as JSON-friendly values (infinite times become ``None``)."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value

    return clean(asdict(config))
