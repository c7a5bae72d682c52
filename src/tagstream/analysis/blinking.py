"""Blinking analysis of an intensity trace: thresholds, ON / grey / OFF states, dwell times.

A trace is given as ``counts`` (photons per bin, all detectors), ``exposure_ps`` (the live time
each bin covers, ps: the bin width for a full bin, less for a bin cut by the start or end of the
run or by a gap, 0 inside a gap), the start ``t0_ps`` of bin 0 and the bin width ``bin_ps``.

Only full bins enter the occurrence histogram, the threshold fit and the dwell times. Partial
bins are classified by their rate (``counts * bin / exposure`` against the thresholds) and count
towards the state fractions by their exposure; empty bins are invalid (state ``-1``). A dwell
time is a run of consecutive full bins in one state, its ends moved to the bin edges nearest the
switches estimated from the counts of the switching bins
(:func:`~.blinking_dwells.switch_dwell_times`); runs touching the start or end of the trace, a
gap or a partial bin are censored and dropped.

Power-law exponents of the ON and OFF dwell times are fitted above a lower cut (by default the
one that minimises the Kolmogorov-Smirnov distance, :func:`~.powerlaw.fit_powerlaw_ks`): a binned
trace distorts short dwell times (one shorter than a bin is lost and its neighbours merge into
one longer dwell; a dwell of a few bins is lengthened or shortened by the bins in which the
emitter switched), so a fit from one bin is biased towards small exponents. The longest dwell
time bounds the fit above (the run length truncates the distribution).

The bins at the ends of each run of one state (those with a neighbour in another state, in a
gap or beyond the trace) hold the switches between states, so they mix the photons of two
states; :meth:`BlinkingResult.intervals` can leave them out (``interior=True``), which per-state
decays and g2 need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import AnalysisError
from ..tags.intervals import normalize
from ..tags.units import PS_PER_S
from .blinking_dwells import powerlaw_fields, switch_dwell_times
from .blinking_mixture import crossings, fit_mixture, mixture_bic, single_poisson_loglik
from .blinking_states import (
    STATE_NAMES,
    check_thresholds,
    check_trace,
    classify_trace,
    interior_bins,
    occurrence_histogram,
    state_code,
)
from .powerlaw import PowerLawFit

#: How a note on a steady emitter begins (no ON/OFF states to separate).
NO_BLINKING = "no blinking seen"
#: Fewest full trace bins for a blinking analysis.
MIN_BLINKING_BINS = 10


@dataclass(frozen=True)
class Thresholds:
    """Intensity thresholds between adjacent states, from :func:`auto_thresholds`.

    Attributes
    ----------
    counts, cps
        Thresholds in counts per full bin and in counts per second, increasing.
    means
        Fitted mean counts per full bin of each state, OFF first.
    weights
        Fraction of full bins in each state component; the rest of the histogram is
        described by the switching-bin components.
    method
        ``"poisson-mixture-bic"`` (also when the number of states was given).
    bic
        Bayesian information criterion of each model tried, by number of states.
    """

    counts: tuple[float, ...]
    cps: tuple[float, ...]
    means: tuple[float, ...]
    weights: tuple[float, ...]
    method: str
    bic: dict[int, float]

    @property
    def n_states(self) -> int:
        """Number of intensity states (2 or 3)."""
        return len(self.means)


def auto_thresholds(
    counts: np.ndarray,
    exposure_ps: np.ndarray,
    bin_ps: int,
    n_states: int | None = None,
) -> Thresholds:
    """Thresholds from a Poisson-mixture fit of the occurrence histogram of full bins.

    The histogram is fitted by maximum likelihood with ``K`` Poisson components (one per state,
    means ``m_1 < ... < m_K`` counts per bin) plus, for each pair of states, a switching-bin
    component: a bin in which the emitter switched between states ``a`` and ``b`` has a Poisson
    mean spread evenly over ``[m_a, m_b]``, so its probability is
    ``(P(k+1, m_b) - P(k+1, m_a)) / (m_b - m_a)`` (``P`` the regularised lower incomplete gamma
    function). Without these components a mixture of Poisson laws fits the intermediate counts
    of switching bins with a spurious extra state. The fit starts from an EM fit of the pure
    Poisson mixture. ``K`` = 2 or 3 is chosen by the Bayesian information criterion
    ``-2 ln L + p ln N`` (``N`` full bins) unless ``n_states`` is given. The threshold between
    adjacent states is the count where their weighted Poisson likelihoods are equal,
    ``(m_b - m_a + ln(w_a / w_b)) / ln(m_b / m_a)``; a model whose thresholds do not increase
    is not used. When BIC prefers a single Poisson level, the trace does not blink (or the bin
    is too short to tell) and no thresholds are returned.

    Parameters
    ----------
    counts, exposure_ps, bin_ps
        The trace (see the module docstring); partial and empty bins are ignored.
    n_states
        2 (OFF / ON) or 3 (OFF / grey / ON); None to choose by BIC.

    Raises
    ------
    AnalysisError
        No full bins, a histogram with a single intensity level (a one-level trace cannot tell
        ON from OFF: give thresholds instead), or a fit whose thresholds do not separate the
        states.
    """
    if n_states not in (None, 2, 3):
        raise AnalysisError(f"n_states must be 2, 3 or None, got {n_states}")
    values, occ = _fit_histogram(counts, exposure_ps, bin_ps)
    candidates = (2, 3) if n_states is None else (n_states,)
    fits = {k: fit_mixture(values, occ, k) for k in candidates}
    bic = {k: mixture_bic(fit[2], k, occ.sum()) for k, fit in fits.items()}
    if n_states is None:
        bic[1] = mixture_bic(single_poisson_loglik(values, occ), 1, occ.sum())
        if min(bic, key=bic.get) == 1:
            mean = float(values @ occ / occ.sum())
            raise AnalysisError(
                f"{NO_BLINKING}: the trace shows one state, a single Poisson level of "
                f"{mean:.3g} counts per bin ({mean * PS_PER_S / bin_ps:.4g} counts/s); "
                "thresholds_cps would impose ON/OFF states"
            )
    usable = {k: crossings(*fits[k][:2]) for k in candidates}
    usable = {k: thr for k, thr in usable.items() if np.all(np.diff(thr) > 0)}
    if not usable:
        raise AnalysisError("the fitted states overlap: no usable thresholds; give thresholds_cps")
    best = min(usable, key=bic.get)
    means, weights, _ = fits[best]
    return Thresholds(
        counts=tuple(float(t) for t in usable[best]),
        cps=tuple(float(t) * PS_PER_S / bin_ps for t in usable[best]),
        means=tuple(float(m) for m in means),
        weights=tuple(float(w) for w in weights[:best]),
        method="poisson-mixture-bic",
        bic={k: float(v) for k, v in sorted(bic.items())},
    )


def _fit_histogram(
    counts: np.ndarray, exposure_ps: np.ndarray, bin_ps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Values seen in full bins and their occurrences, as floats; at least two values."""
    values, occurrences = occurrence_histogram(counts, exposure_ps, bin_ps)
    seen = occurrences > 0
    if not np.any(seen):
        raise AnalysisError("no full bins in the trace: cannot fit thresholds")
    if np.count_nonzero(seen) == 1:
        raise AnalysisError(
            f"{NO_BLINKING}: every full bin holds {int(values[seen][0])} counts, one "
            "state; thresholds_cps would impose ON/OFF states"
        )
    return values[seen].astype(float), occurrences[seen].astype(float)


@dataclass(frozen=True, eq=False)
class BlinkingResult:
    """Outcome of :func:`analyze_blinking`.

    Attributes
    ----------
    bin_ps, t0_ps
        Bin width and start of bin 0, ps.
    thresholds_cps, thresholds_counts
        Thresholds in counts per second and counts per full bin.
    method
        ``"poisson-mixture-bic"`` or ``"user"``.
    states
        State per bin (``OFF`` 0, ``GREY`` 1, ``ON`` 2; ``INVALID`` -1 for bins without live
        time).
    fractions
        ``{"on", "grey", "off"}``: fraction of the live time in each state.
    dwell_ps
        Complete dwell times per state, ps, with the switches placed at the nearest bin edge
        (:func:`~.blinking_dwells.switch_dwell_times`).
    on_exponent, off_exponent, on_exponent_err, off_exponent_err
        Discrete truncated power-law exponents of the ON / OFF dwell times and their one-sigma
        statistical errors (at the chosen lower cut); None with too few dwell times in the
        fitted range (fewer than ``MIN_DWELLS`` above a given cut, fewer than
        :data:`~.powerlaw.MIN_TAIL` for the automatic cut) or when they admit no finite
        exponent (all of one length).
    on_dwell_min_ps, off_dwell_min_ps
        Lower cut of each fit, ps (a whole number of bins); None without an exponent.
    on_dwells, off_dwells
        Number of dwell times in each fit (0 without an exponent).
    dwell_min_method
        How the lower cuts were chosen: ``"ks"`` (Kolmogorov-Smirnov minimum, the default) or
        ``"user"`` (``powerlaw_min_ps`` given).
    on_powerlaw, off_powerlaw
        The full power-law fits (range, KS distance), None without an exponent.
    occurrence
        ``(values, occurrences)``: the occurrence histogram of full bins.
    fit
        The threshold fit, None for user thresholds.
    """

    bin_ps: int
    t0_ps: int
    thresholds_cps: tuple[float, ...]
    thresholds_counts: tuple[float, ...]
    method: str
    states: np.ndarray = field(repr=False)
    fractions: dict[str, float]
    dwell_ps: dict[str, np.ndarray] = field(repr=False)
    on_exponent: float | None
    on_exponent_err: float | None
    off_exponent: float | None
    off_exponent_err: float | None
    on_dwell_min_ps: float | None
    off_dwell_min_ps: float | None
    on_dwells: int
    off_dwells: int
    dwell_min_method: str
    occurrence: tuple[np.ndarray, np.ndarray] = field(repr=False)
    on_powerlaw: PowerLawFit | None = field(default=None, repr=False)
    off_powerlaw: PowerLawFit | None = field(default=None, repr=False)
    fit: Thresholds | None = field(default=None, repr=False)

    def intervals(self, state: str | int, interior: bool = False) -> np.ndarray:
        """Time intervals of the bins in ``state`` ("on", "grey", "off" or its code).

        Parameters
        ----------
        state
            "on", "grey", "off" or the state code.
        interior
            False (default): every bin classified into ``state``; their total is the state's
            share of the time (:attr:`fractions`). True: only the bins whose neighbours on both
            sides are in the same state (see :func:`~.blinking_states.interior_bins`), i.e.
            without the bins in which the emitter switched into or out of the state; a run of
            one or two bins contributes nothing. Use these for anything measured on the photons
            of one state (decays, g2), which the mixed photons of switching bins would bias.

        Returns
        -------
        A normalised int64 (k, 2) interval set, ps. Partial bins are included whole: intersect
        with the run's live time to drop the parts inside gaps.
        """
        code = state_code(state)
        chosen = interior_bins(self.states) if interior else self.states
        index = np.flatnonzero(chosen == code).astype(np.int64)
        begin = np.int64(self.t0_ps) + index * np.int64(self.bin_ps)
        return normalize(np.column_stack([begin, begin + np.int64(self.bin_ps)]))

    def __repr__(self) -> str:
        """One line: bin, thresholds, fractions and exponents."""
        fr = self.fractions
        thr = ", ".join(f"{t:.4g}" for t in self.thresholds_cps)
        alphas = "".join(
            f", alpha_{s}={a:.3g}"
            for s, a in (("on", self.on_exponent), ("off", self.off_exponent))
            if a is not None
        )
        return (
            f"BlinkingResult({self.states.size} bins of {self.bin_ps / 1e9:g} ms, thresholds "
            f"[{thr}] cps, on {fr['on']:.2f} grey {fr['grey']:.2f} off {fr['off']:.2f}{alphas})"
        )

    def plot(self, ax=None):
        """Draw the occurrence histogram with the thresholds (counts per bin) and the state
        fractions; returns the Axes."""
        from .plots import new_axes, plot_blinking

        return plot_blinking(new_axes(ax), self)

    def to_dict(self) -> dict[str, object]:
        """The ``blinking`` block of the summary JSON."""
        return {
            "bin_s": self.bin_ps / PS_PER_S,
            "thresholds_cps": [float(t) for t in self.thresholds_cps],
            "fractions": {k: float(self.fractions[k]) for k in ("on", "grey", "off")},
            "on_exponent": self.on_exponent,
            "off_exponent": self.off_exponent,
            "on_exponent_err": self.on_exponent_err,
            "off_exponent_err": self.off_exponent_err,
            "on_dwell_min_s": _seconds(self.on_dwell_min_ps),
            "off_dwell_min_s": _seconds(self.off_dwell_min_ps),
            "dwell_min_method": self.dwell_min_method,
            "on_dwells": int(self.on_dwells),
            "off_dwells": int(self.off_dwells),
            "method": self.method,
        }


def analyze_blinking(
    counts: np.ndarray,
    exposure_ps: np.ndarray,
    t0_ps: int,
    bin_ps: int,
    thresholds_cps: Sequence[float] | None = None,
    n_states: int | None = None,
    powerlaw_min_ps: float | str | None = "auto",
) -> BlinkingResult:
    """Thresholds, states, state fractions, dwell times and their power-law exponents.

    Parameters
    ----------
    counts, exposure_ps, t0_ps, bin_ps
        The trace (see the module docstring).
    thresholds_cps
        One (OFF / ON) or two (OFF / grey / ON) increasing thresholds, counts per second; they
        replace the automatic ones of :func:`auto_thresholds`.
    n_states
        Number of states (2 or 3) for the automatic thresholds; None to choose by BIC. With
        ``thresholds_cps`` it must agree with their number, if given.
    powerlaw_min_ps
        Shortest dwell time in the power-law fits. ``"auto"`` (default; None means the same):
        for each state, the lower cut that minimises the Kolmogorov-Smirnov distance between
        the dwell times above it and the fitted law (Clauset, Shalizi & Newman 2009; see
        :func:`~.powerlaw.fit_powerlaw_ks`), which finds where the short dwell times distorted
        by the binning end. A number fixes the cut, ps (rounded up to whole bins). The longest
        dwell time bounds the fit above.

    Notes
    -----
    The exponents describe the dwell times as a binned trace records them. When many dwells of
    one state are shorter than a bin, they are invisible and the dwells of the other state on
    either side merge; this changes the distribution at all lengths, not only the short ones,
    and no lower cut undoes it (on simulated ON / OFF traces with exponents 1.2-2.0 and a
    shortest dwell of a tenth of a bin, half of the exponents came out more than 0.1 off, some
    by 0.3-0.6). Use bins no longer than the shortest dwells that matter: with a shortest dwell
    of one bin, 80 such exponents all came out within 0.08 of the truth, scattered 1.2 times
    ``alpha_err``.

    Raises
    ------
    AnalysisError
        Empty trace, no live time, bad thresholds, or automatic thresholds that cannot be
        fitted (see :func:`auto_thresholds`).
    """
    counts, exposure = check_trace(counts, exposure_ps, bin_ps)
    if counts.size == 0:
        raise AnalysisError("empty trace: no bins to analyse")
    live = int(exposure.sum())
    if live == 0:
        raise AnalysisError("the trace has no live time (every bin lies in a gap)")
    if thresholds_cps is None:
        fit = auto_thresholds(counts, exposure, bin_ps, n_states)
        thr_cps, method = np.asarray(fit.cps), fit.method
    else:
        fit, thr_cps, method = None, check_thresholds(thresholds_cps, "thresholds_cps"), "user"
        if n_states is not None and n_states != thr_cps.size + 1:
            raise AnalysisError(
                f"{thr_cps.size} threshold(s) make {thr_cps.size + 1} states, not {n_states}"
            )
    thr_counts = thr_cps * bin_ps / PS_PER_S
    states = classify_trace(counts, exposure, bin_ps, thr_counts)
    fractions = {
        name: float(exposure[states == s].sum()) / live for s, name in enumerate(STATE_NAMES)
    }
    dwell = switch_dwell_times(counts, states, exposure == bin_ps, bin_ps)
    return BlinkingResult(
        bin_ps=int(bin_ps),
        t0_ps=int(t0_ps),
        thresholds_cps=tuple(float(t) for t in thr_cps),
        thresholds_counts=tuple(float(t) for t in thr_counts),
        method=method,
        states=states,
        fractions=fractions,
        dwell_ps=dwell,
        occurrence=occurrence_histogram(counts, exposure, bin_ps),
        fit=fit,
        **powerlaw_fields(dwell, bin_ps, powerlaw_min_ps),
    )


def _seconds(ps: float | None) -> float | None:
    return None if ps is None else ps / PS_PER_S
