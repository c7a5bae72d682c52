"""Photons leaving the emitter and reaching a detector, block by block.

Pulsed excitation creates a Poisson number N of excitations per pulse (mean ``<N>``). One
exciton (X) decays with its state's lifetime and emits with its quantum yield; two or more make
a biexciton (extra excitons collapse by Auger), which decays first (BX -> X, its own lifetime and
yield) and leaves an exciton. At low ``<N>`` this gives g2(0) ≈ QY(BX)/QY(X).

Two ways to produce the photons, chosen from the model:

* *independent pulses* (the exciton is gone before the next pulse: period > 7 lifetimes, so a
  surviving exciton changes g2(0) by < 0.2 %): per blinking segment the pulses that yield at
  least one *detected* photon are drawn directly (geometric gaps), and what they yield is drawn
  given that — undetected excitations cost nothing;
* *sequential* (lifetimes comparable to the period): every excitation is followed in order by a
  numba kernel, so an exciton still alive at the next excitation turns it into a biexciton;
  detection is decided afterwards;
* *CW*: the pumped chain ground -> X -> BX is jumped from one detected photon to the next
  (:mod:`tagstream.kernels.cw_emission`), exact and independent of the detection efficiency.
"""

from __future__ import annotations

import math

import numpy as np

from ...kernels.cw_emission import cw_detected
from ...kernels.emission import KIND_BX, flush_pending, independent_pulses, pulsed_sequence
from .blinking import NAMES, StateGenerator
from .config import SimConfig
from .cw_model import cw_tables

SURVIVAL_LIMIT = 1e-3  # exp(-T / tau) below this: pulses are independent


class Emitter:
    """Produces detected photons (time before jitter, detector index) for blocks of time."""

    def __init__(self, config: SimConfig, states: StateGenerator):
        self.config = config
        self.states = states
        decays = [config.decay(name) for name in NAMES]
        self.tau_x = np.array([d.lifetime_ps for d in decays])
        self.qy_x = np.array([d.quantum_yield for d in decays])
        # per detector, for exciton and biexciton photons (they differ behind spectral filters)
        self.detect_p = np.array(config.detection_probabilities("X"))
        self.detect_bx = np.array(config.detection_probabilities("BX"))
        if config.interferometer is not None:  # routed after, by the interferometer
            eta = config.setup.collection_efficiency * (1.0 + config.drift_amplitude)
            best = max(d.efficiency for d in config.setup.detectors)
            self.detect_p = self.detect_bx = np.array([eta * best, 0.0])
        self.detect_total = float(self.detect_p.sum())
        self.detect_total_bx = float(self.detect_bx.sum())
        exc = config.excitation
        self.pulsed = exc.mode == "pulsed"
        self.period_ps = exc.period_ps if self.pulsed else math.inf
        present = [NAMES.index(s) for s in config.blinking.states]
        longest = max(self.tau_x[present].max(), config.biexciton.lifetime_ps)
        self.independent = self.pulsed and math.exp(-self.period_ps / longest) < SURVIVAL_LIMIT
        self.carry = np.array([-math.inf, 0.0, 0.0]) if self.pulsed else np.array([0.0, 0.0])
        self._tables: tuple[np.ndarray, ...] | None = None

    @property
    def method(self) -> str:
        """How the photons are drawn: ``"sequential (CW)"``, ``"independent pulses"`` (every
        excitation decays within a period) or ``"sequential (pulsed)"``."""
        if not self.pulsed:
            return "sequential (CW)"
        return "independent pulses" if self.independent else "sequential (pulsed)"

    # ------------------------------------------------------------------ public
    def block(self, t0: int, t1: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Detected photons of the excitations in ``[t0, t1)``: emission times (ps, float) and
        detector indices, before timing jitter and cable delays."""
        starts, codes = self.states.segments(t0, t1)
        if self.independent:
            times, dets = self._independent(starts, np.append(starts[1:], t1), codes, rng)
        elif not self.pulsed:
            times, dets = self._cw(t0, t1, starts, codes, int(rng.integers(0, 2**63 - 1)))
        else:
            emitted, kinds = self._sequential(t0, t1, starts, codes, rng)
            times, dets = self._detect(emitted, kinds, rng)
        return self._drift(times, dets, rng)

    def finish(self, end: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Photons still pending at the end of the run (sequential pulsed model)."""
        if not self.pulsed or self.independent:
            return np.zeros(0), np.zeros(0, np.int64)
        out_t, out_k = np.empty(1), np.empty(1, np.int64)
        n = flush_pending(self.carry, float(end), out_t, out_k)
        return self._drift(*self._detect(out_t[:n], out_k[:n], rng), rng)

    # ------------------------------------------------------------------ pulses
    def _pulse_range(self, a: int, b: int) -> tuple[int, int]:
        """Indices k of the pulses at round(k T) inside [a, b)."""
        first = math.ceil((a - 0.5) / self.period_ps)
        last = math.ceil((b - 0.5) / self.period_ps)
        return first, last

    def _pulse_times(self, k: np.ndarray) -> np.ndarray:
        return np.floor(k * self.period_ps + 0.5)

    def _excitation_probabilities(self) -> tuple[float, float]:
        """P(N >= 1) per pulse and P(N >= 2 | N >= 1)."""
        n = self.config.excitation.mean_excitations
        p_any = -math.expm1(-n)
        p_two = p_any - n * math.exp(-n)
        return p_any, (p_two / p_any if p_any > 0 else 0.0)

    def _outcomes(self) -> tuple[np.ndarray, np.ndarray]:
        """Per state: the chance that a pulse yields a detected photon, and the cumulative
        chances of what it yields (exciton alone; cascade with the BX photon only, the X photon
        only, both)."""
        p_any, p_bx = self._excitation_probabilities()
        qx = self.qy_x * self.detect_total
        qb = self.config.biexciton.quantum_yield * self.detect_total_bx
        outcome = np.column_stack(
            [(1 - p_bx) * qx, p_bx * qb * (1 - qx), p_bx * (1 - qb) * qx, p_bx * qb * qx]
        )
        total = outcome.sum(axis=1)
        cum = np.cumsum(outcome, axis=1) / np.where(total > 0, total, 1.0)[:, None]
        return p_any * total, cum

    def _independent(
        self, starts: np.ndarray, ends: np.ndarray, codes: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """The pulses of the segments that yield a detected photon, and those photons."""
        p_pulse, cum = self._outcomes()
        x_cum, bx_cum = _cumulative(self.detect_p), _cumulative(self.detect_bx)
        expected = float(np.sum((ends - starts) / self.period_ps * p_pulse[codes]))
        cap = int(expected * 2.2 + 10 * np.sqrt(expected) + 64)
        seed = int(rng.integers(0, 2**63 - 1))
        while True:
            out_t, out_d = np.empty(cap), np.empty(cap, np.int64)
            n = independent_pulses(
                starts,
                ends,
                codes.astype(np.int64),
                self.period_ps,
                p_pulse,
                cum,
                self.config.biexciton.lifetime_ps,
                self.tau_x,
                x_cum,
                bx_cum,
                seed,
                out_t,
                out_d,
            )
            if n >= 0:
                return out_t[:n], out_d[:n]
            cap *= 2  # the same seed again: the same photons, with room for them

    def _sequential(
        self, t0: int, t1: int, starts: np.ndarray, codes: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Emission times and kinds (X or BX) of all photons of the excitations in [t0, t1)."""
        seed = int(rng.integers(0, 2**63 - 1))
        bx = self.config.biexciton
        k0, k1 = self._pulse_range(t0, t1)
        p_any, p_bx = self._excitation_probabilities()
        k = _bernoulli_indices(rng, max(k1 - k0, 0), p_any) + k0
        tp = self._pulse_times(k.astype(np.float64))
        n_exc = np.where(rng.random(k.size) < p_bx, 2, 1).astype(np.int64)
        state = codes[np.searchsorted(starts, tp, side="right") - 1].astype(np.int64)
        out_t = np.empty(2 * k.size + 1)
        out_k = np.empty(2 * k.size + 1, np.int64)
        n = pulsed_sequence(
            tp,
            n_exc,
            state,
            self.tau_x,
            self.qy_x,
            bx.lifetime_ps,
            bx.quantum_yield,
            self.carry,
            seed,
            out_t,
            out_k,
        )
        return out_t[:n], out_k[:n]

    def _cw_tables(self) -> tuple[np.ndarray, ...]:
        if self._tables is None:
            bx = self.config.biexciton
            pump = self.config.excitation.pump_rate_hz * 1e-12
            t = cw_tables(
                pump, self.tau_x, self.qy_x, bx.lifetime_ps, bx.quantum_yield, self.detect_total
            )
            self._tables = (t.mode, t.mu, t.c_x, t.c_bx, t.cum_weight, t.t_neg, t.t_far, t.x_far)
        return self._tables

    def _cw(
        self, t0: int, t1: int, starts: np.ndarray, codes: np.ndarray, seed: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Detected photons of the CW-pumped emitter in [t0, t1): emission times (ps) and
        detectors, drawn from one detected photon to the next."""
        bx = self.config.biexciton
        pump = self.config.excitation.pump_rate_hz * 1e-12
        if pump <= 0:  # no light on the dot (a dark step of a power series)
            return np.empty(0), np.empty(0, np.int64)
        det_cum = np.cumsum(self.detect_p) / self.detect_total
        seg_t, seg_s = starts.astype(np.float64), codes.astype(np.int64)
        expected = (t1 - t0) * min(pump, 1.0 / self.tau_x.min()) * self.detect_total
        cap = int(min(expected * 1.2 + 10 * math.sqrt(expected) + 64, 1 << 22))
        times, dets = [], []
        step = 0
        while self.carry[0] < t1:
            out_t, out_d, out_k = np.empty(cap), np.empty(cap, np.int64), np.empty(cap, np.int64)
            n = cw_detected(
                float(t0),
                float(t1),
                seg_t,
                seg_s,
                pump,
                self.tau_x,
                self.qy_x,
                bx.lifetime_ps,
                bx.quantum_yield,
                self.detect_total,
                *self._cw_tables(),
                det_cum,
                self.carry,
                (seed + step) % 2**63,
                out_t,
                out_d,
                out_k,
            )
            times.append(out_t[:n])
            dets.append(out_d[:n])
            step += 1
        if len(times) == 1:
            return times[0], dets[0]
        return np.concatenate(times), np.concatenate(dets)

    # ------------------------------------------------------------------ detection
    def _detect(self, emitted: np.ndarray, kinds: np.ndarray, rng: np.random.Generator):
        """The detected photons among ``emitted`` (of ``kinds``: X or BX) and their detectors,
        each line behind its detectors' filters."""
        bx = kinds == KIND_BX
        keep = rng.random(emitted.size) < np.where(bx, self.detect_total_bx, self.detect_total)
        times, bx = emitted[keep], bx[keep]
        if self.detect_p.size == 1:
            return times, np.zeros(times.size, np.int64)
        u = rng.random(times.size)
        dets = np.where(bx, _index(_cumulative(self.detect_bx), u),
                        _index(_cumulative(self.detect_p), u))  # fmt: skip
        return times, dets

    def _drift(self, times: np.ndarray, dets: np.ndarray, rng: np.random.Generator):
        """Slow intensity drift: photons kept with the collection efficiency's relative value."""
        amp = self.config.drift_amplitude
        if amp <= 0 or times.size == 0:
            return times, dets
        level = (1 + amp * np.sin(2 * np.pi * times / self.config.drift_period_ps)) / (1 + amp)
        keep = rng.random(times.size) < level
        return times[keep], dets[keep]


def _cumulative(p: np.ndarray) -> np.ndarray:
    """Cumulative shares of ``p`` ending at 1 (equal shares when ``p`` is all zero)."""
    total = float(p.sum())
    return np.cumsum(p) / total if total > 0 else np.arange(1, p.size + 1) / p.size


def _index(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index drawn with cumulative shares ``cum`` for each uniform ``u``."""
    return np.minimum(np.searchsorted(cum, u, side="right"), cum.size - 1).astype(np.int64)


def _bernoulli_indices(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    """Indices in [0, n) of the successes of n Bernoulli(p) trials, drawn as geometric gaps
    (``1 + floor(E / -log(1 - p))`` with E standard exponential)."""
    if n <= 0 or p <= 0:
        return np.zeros(0, np.int64)
    if p >= 1:
        return np.arange(n, dtype=np.int64)
    scale = -1.0 / math.log1p(-p)
    parts = []
    last = -1
    while True:
        size = int(n * p * 1.05 + 6 * math.sqrt(n * p + 1) + 16)
        gaps = (rng.standard_exponential(size) * scale).astype(np.int64) + 1
        idx = last + np.cumsum(gaps)
        inside = idx[idx < n]
        parts.append(inside)
        if inside.size < idx.size:
            break
        last = int(idx[-1])
    return np.concatenate(parts).astype(np.int64)
