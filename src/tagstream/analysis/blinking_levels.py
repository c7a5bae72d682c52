"""The blinking analysis from change-point levels: state fractions from the levels' own start and
end times instead of trace bins, so dwells near or below a bin are not biased."""

from __future__ import annotations

import numpy as np

from ..errors import AnalysisError
from ..tags.units import PS_PER_S
from .blinking import NO_BLINKING, BlinkingResult
from .blinking_dwells import powerlaw_fields
from .blinking_states import INVALID, check_trace, occurrence_histogram
from .level_result import LevelsResult, blinking_state
from .trace import TraceResult

#: Dwell times of levels are fitted in whole units of this, ps (they are not bound to bins).
DWELL_UNIT_PS = 10**6
#: The state code of each class in a :class:`BlinkingResult` (OFF 0, grey 1, ON 2).
CODES = {"off": 0, "grey": 1, "on": 2}


def method_name(alpha: float) -> str:
    """The ``method`` of a blinking result made from levels."""
    return f"change-point levels (alpha {alpha:g})"


def levels_blinking(
    trace: TraceResult, levels: LevelsResult, powerlaw_min_ps: float | str | None = "auto"
) -> BlinkingResult:
    """A blinking result whose fractions and dwell times come from ``levels`` (the trace gives
    its bins a state: the state of the level at each bin's middle).

    The thresholds are the intensities where adjacent states' Poisson likelihoods are equal
    (the logarithmic mean of their intensities), for drawing and for classifying bins.

    Raises
    ------
    AnalysisError
        The levels form one state (no blinking seen).
    """
    fit = levels.fit
    rates = fit.rates_cps
    if fit.n_states == 1:
        raise AnalysisError(
            f"{NO_BLINKING}: the change-point levels form one state of {rates[0]:.4g} counts/s"
        )
    thresholds = (rates[1:] - rates[:-1]) / np.log(rates[1:] / np.maximum(rates[:-1], 1e-9))
    counts, exposure = check_trace(trace.counts, trace.exposure_ps, trace.bin_ps)
    codes = np.array([CODES[blinking_state(n)] for n in levels.state_names])
    middle = trace.t0_ps + trace.bin_ps * (np.arange(exposure.size) + 0.5)
    level = np.clip(np.searchsorted(levels.starts_ps, middle, side="right") - 1, 0, None)
    level_state = levels.state[level]
    inside = middle < levels.ends_ps[level]  # not between levels (after a restored worker)
    states = np.where((exposure > 0) & (level_state >= 0) & inside, codes[level_state], INVALID)
    dwells = {k: np.zeros(0, np.int64) for k in CODES}
    for name, d in levels.dwells().items():
        dwells[blinking_state(name)] = np.concatenate([dwells[blinking_state(name)], d])
    unit = DWELL_UNIT_PS
    whole = {k: -(-d // unit) * unit for k, d in dwells.items()}
    return BlinkingResult(
        bin_ps=int(trace.bin_ps),
        t0_ps=int(trace.t0_ps),
        thresholds_cps=tuple(float(t) for t in thresholds),
        thresholds_counts=tuple(float(t) * trace.bin_ps / PS_PER_S for t in thresholds),
        method=method_name(levels.alpha),
        states=states,
        fractions=levels.fractions,
        dwell_ps=dwells,
        occurrence=occurrence_histogram(counts, exposure, trace.bin_ps),
        **powerlaw_fields(whole, unit, powerlaw_min_ps),
    )
