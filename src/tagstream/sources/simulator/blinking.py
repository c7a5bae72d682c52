"""The emitter's state timeline, generated lazily: ON, grey and OFF dwells, then bleaching."""

from __future__ import annotations

import math

import numpy as np

from ...formats.timeline import StateTimeline
from .config import SimConfig

NAMES = ("on", "grey", "off", "bleached")
ON, GREY, OFF, BLEACHED = range(4)
_CHUNK = 4096


def truncated_power_law(
    rng: np.random.Generator, alpha: float, t_min: float, t_max: float, size: int
) -> np.ndarray:
    """Samples of ``p(t) ∝ t**-alpha`` on ``[t_min, t_max]`` by inverting the CDF."""
    u = rng.random(size)
    if abs(alpha - 1.0) < 1e-12:
        return t_min * (t_max / t_min) ** u
    a = 1.0 - alpha
    return (t_min**a + u * (t_max**a - t_min**a)) ** (1.0 / a)


class StateGenerator:
    """Extends the state timeline on demand, so hours of simulated time cost little memory
    beyond the segments themselves (one per dwell)."""

    def __init__(self, config: SimConfig, rng: np.random.Generator):
        self.config = config
        self.rng = rng
        blink = config.blinking
        self._states = [NAMES.index(s) for s in blink.states]
        self._blinks = len(self._states) > 1 and blink.dwell != "none"
        power = blink.excitation_power
        ratio = config.mean_excitations_equivalent() / blink.excitation_reference
        self._on_scale = 1.0 / (ratio**power) if power > 0 and ratio > 0 else 1.0
        bleach = config.bleach_time_ps
        self._bleach_at = math.inf if not math.isfinite(bleach) else float(rng.exponential(bleach))
        # completed segments cover [0, self._end); the next one starts in state self._next
        self._starts = np.zeros(0, np.int64)
        self._codes = np.zeros(0, np.int64)
        self._end = 0
        self._next = ON
        if not self._blinks:
            self._starts, self._codes, self._end = (
                np.zeros(1, np.int64),
                np.zeros(1, np.int64),
                math.inf,
            )
        if math.isfinite(self._bleach_at):
            self.extend_to(self._bleach_at)
            cut = int(self._bleach_at)
            keep = self._starts < cut
            self._starts = np.append(self._starts[keep], cut)
            self._codes = np.append(self._codes[keep], BLEACHED)
            self._end = math.inf

    def _dwells(self, code: int, size: int) -> np.ndarray:
        blink = self.config.blinking
        name = NAMES[code]
        if blink.dwell == "exponential":
            d = self.rng.exponential(blink.mean_dwell_ps[name], size)
        else:
            d = truncated_power_law(
                self.rng, blink.exponent[name], blink.dwell_min_ps, blink.dwell_max_ps, size
            )
        if code == ON:
            d = d * self._on_scale
        return np.maximum(np.rint(d), 1).astype(np.int64)

    def _grow(self) -> None:
        """Add a chunk of dwells: ON, then grey or OFF (``to_grey``), back to ON, and so on."""
        has_grey, has_off = GREY in self._states, OFF in self._states
        to_grey = self.config.blinking.to_grey if has_grey and has_off else float(has_grey)
        dark = np.where(self.rng.random(_CHUNK) < to_grey, GREY, OFF)
        codes = np.empty(2 * _CHUNK, np.int64)
        first, second = (slice(0, None, 2), slice(1, None, 2))
        if self._next == ON:
            codes[first], codes[second] = ON, dark
        else:
            codes[first], codes[second] = dark, ON
        lengths = np.empty(codes.size, np.int64)
        for code in (ON, GREY, OFF):
            sel = codes == code
            if sel.any():
                lengths[sel] = self._dwells(code, int(sel.sum()))
        starts = self._end + np.concatenate([[0], np.cumsum(lengths[:-1])])
        self._starts = np.concatenate([self._starts, starts])
        self._codes = np.concatenate([self._codes, codes])
        self._end = int(starts[-1] + lengths[-1])
        self._next = ON if codes[-1] != ON else int(dark[-1])

    def extend_to(self, t: float) -> None:
        """Make sure the timeline covers ``[0, t)``."""
        while self._end < t:
            self._grow()

    def segments(self, t0: int, t1: int) -> tuple[np.ndarray, np.ndarray]:
        """Segment starts (clipped to ``t0``) and state codes covering ``[t0, t1)``."""
        self.extend_to(t1)
        starts, codes = self._starts, self._codes
        i0 = max(int(np.searchsorted(starts, t0, side="right")) - 1, 0)
        i1 = int(np.searchsorted(starts, t1, side="left"))
        seg_starts = starts[i0:i1].copy()
        seg_starts[0] = max(seg_starts[0], t0)
        return seg_starts, codes[i0:i1]

    def timeline(self, end: int) -> StateTimeline:
        """The ground truth over ``[0, end)``."""
        starts, codes = self.segments(0, end)
        return StateTimeline(NAMES, starts, codes, int(end))
