"""An unbalanced Mach-Zehnder interferometer between the emitter and the two detectors, for HOM
interference of consecutive photons: its long arm delays by one laser period, so the photon of
pulse k through the long arm meets the photon of pulse k + 1 through the short arm at the
second beam splitter.

Each detected photon enters the short arm with ``short_share``, else the long one. At the
second splitter (reflectance R, transmittance T = 1 − R) a short-arm photon goes to detector 0
with T, a long-arm one with R. Two single photons of consecutive pulses that meet (the only
photons of their slot, one per arm, each the only detected photon of its pulse) leave by
different outputs with probability R² + T² − 2 R T M, M the indistinguishability (0 for crossed
polarisations), else both by the same output, either with equal chance. Every other photon
(a pulse's second photon: the multi-photon part) is routed alone. Unequal detector efficiencies
act after the splitter. Photons are assigned to the pulse before them: lifetimes must be short
against the period (checked with the configuration).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .config_fields import ConfigError, no_unknown, number_in

POLARISATIONS = ("parallel", "crossed")


@dataclass(frozen=True)
class InterferometerSpec:
    """The interferometer's settings (``[interferometer]``)."""

    short_share: float = 0.5
    reflectance: float = 0.5
    indistinguishability: float = 0.9
    polarisation: str = "parallel"

    @property
    def overlap(self) -> float:
        """The mode overlap of two meeting photons: M, or 0 with crossed polarisations."""
        return self.indistinguishability if self.polarisation == "parallel" else 0.0


def parse_interferometer(table: dict[str, Any], where: str) -> InterferometerSpec:
    """``[interferometer]``: short_share, reflectance, indistinguishability, polarisation."""
    no_unknown(table, {"short_share", "reflectance", "indistinguishability", "polarisation"},
               where)  # fmt: skip
    polarisation = table.get("polarisation", "parallel")
    if polarisation not in POLARISATIONS:
        raise ConfigError(f"{where}.polarisation: 'parallel' or 'crossed', got {polarisation!r}")
    return InterferometerSpec(
        short_share=number_in(table, "short_share", where, 0.0, 1.0, 0.5),
        reflectance=number_in(table, "reflectance", where, 0.0, 1.0, 0.5),
        indistinguishability=number_in(table, "indistinguishability", where, 0.0, 1.0, 0.9),
        polarisation=polarisation,
    )


class Interferometer:
    """Routes the detected photons of consecutive blocks through the interferometer.

    Parameters
    ----------
    spec
        The settings.
    period_ps
        The laser period: the long arm's delay.
    efficiencies
        The two detectors' efficiencies (the photons come detected at the larger one).
    """

    def __init__(self, spec: InterferometerSpec, period_ps: float, efficiencies: np.ndarray):
        self.spec = spec
        self.period_ps = float(period_ps)
        self.keep = np.asarray(efficiencies, float) / float(np.max(efficiencies))
        # long-arm photons of the last pulse of a block meet the next block's first pulse
        self._carry = (np.zeros(0), np.zeros(0, np.int64), np.zeros(0, bool))

    def route(
        self, times: np.ndarray, end_ps: float, rng: np.random.Generator, last: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Arrival times (emission + the arm's delay, ps) and detectors of the photons emitted
        before ``end_ps`` (with those carried from the block before); ``last`` flushes."""
        period = self.period_ps
        pulse = np.floor(times / period + 0.5 / period).astype(np.int64)
        counts = np.unique(pulse, return_counts=True)
        single = counts[1][np.searchsorted(counts[0], pulse)] == 1 if pulse.size else pulse > 0
        long_arm = rng.random(times.size) >= self.spec.short_share
        c_t, c_slot, c_single = self._carry
        arrive = np.concatenate([c_t, times + long_arm * period])
        slot = np.concatenate([c_slot, pulse + long_arm])
        long_arm = np.concatenate([np.ones(c_t.size, bool), long_arm])
        single = np.concatenate([c_single, single])
        first_next = math.ceil((end_ps - 0.5) / period)  # the next block's first pulse
        done = np.ones(slot.size, bool) if last else slot < first_next
        self._carry = (arrive[~done], slot[~done], single[~done])
        arrive, slot, long_arm, single = arrive[done], slot[done], long_arm[done], single[done]
        output = self._outputs(rng, slot, long_arm, single)
        kept = rng.random(output.size) < self.keep[output]
        return arrive[kept], output[kept]

    def _outputs(self, rng, slot, long_arm, single) -> np.ndarray:
        r, m = self.spec.reflectance, self.spec.overlap
        output = (rng.random(slot.size) < np.where(long_arm, 1.0 - r, r)).astype(np.int64)
        order = np.lexsort((long_arm, slot))
        s, la, sg = slot[order], long_arm[order], single[order]
        i = np.flatnonzero(np.diff(s) == 0)  # two photons in one slot: i and i + 1
        alone = ((i == 0) | (s[i - 1] != s[i])) & ((i + 2 >= s.size) |
                                                   (s[np.minimum(i + 2, s.size - 1)] != s[i]))
        pairs = i[alone & ~la[i] & la[i + 1] & sg[i] & sg[i + 1]]
        both = r * r + (1 - r) ** 2
        split = rng.random(pairs.size) < both - 2 * r * (1 - r) * m
        short_to_one = (rng.random(pairs.size) < (r * r / both if both > 0 else 0.5)).astype(int)
        same = rng.integers(0, 2, pairs.size)
        output[order[pairs]] = np.where(split, short_to_one, same)
        output[order[pairs + 1]] = np.where(split, 1 - short_to_one, same)
        return output
