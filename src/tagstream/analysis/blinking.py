"""Blinking analysis of an intensity trace: thresholds, ON / grey / OFF states, dwell times.

A trace is given as ``counts`` (photons per bin, all detectors), ``exposure_ps`` (the live time
each bin covers, ps: the bin width for a full bin, less for a bin cut by the start or end of the
run or by a gap, 0 inside a gap), the start ``t0_ps`` of bin 0 and the bin width ``bin_ps``.

Only full bins enter the occurrence histogram, the threshold fit and the dwell times. Partial
bins are classified by their rate (``counts * bin / exposure`` against the thresholds) and count
towards the state fractions by their exposure; empty bins are invalid (state ``-1``). A dwell
time is a run of consecutive full bins in one state, its ends moved to the bin edges nearest the
switches estimated from the counts of the switching bins (:func:`switch_dwell_times`); runs
touching the start or end of the trace, a gap or a partial bin are censored and dropped.

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
from scipy.optimize import minimize
from scipy.special import gammainc, gammaincc, gammaln, xlogy

from ..errors import AnalysisError, FitError
from ..tags.intervals import normalize
from ..tags.units import PS_PER_S
from .powerlaw import MIN_TAIL, PowerLawFit, fit_powerlaw, fit_powerlaw_ks

OFF, GREY, ON, INVALID = 0, 1, 2, -1
STATE_NAMES = ("off", "grey", "on")
MIN_DWELLS = 10

_TINY = 1e-300
_MIN_MEAN = 1e-4
_EM_ITER = 500

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
        return len(self.means)


def occurrence_histogram(
    counts: np.ndarray, exposure_ps: np.ndarray, bin_ps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Occurrence histogram of the counts per bin over full bins.

    Returns
    -------
    values, occurrences
        ``values = 0, 1, ..., max`` (counts per bin) and the number of full bins with each value;
        both empty when there is no full bin.
    """
    counts, exposure = _check_trace(counts, exposure_ps, bin_ps)
    full = counts[exposure == bin_ps]
    if full.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    occurrences = np.bincount(full).astype(np.int64)
    return np.arange(occurrences.size, dtype=np.int64), occurrences


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
    fits = {k: _fit_mixture(values, occ, k) for k in candidates}
    bic = {k: _bic(fit[2], k, occ.sum()) for k, fit in fits.items()}
    if n_states is None:
        bic[1] = _bic(_single_poisson_loglik(values, occ), 1, occ.sum())
        if min(bic, key=bic.get) == 1:
            mean = float(values @ occ / occ.sum())
            raise AnalysisError(
                f"{NO_BLINKING}: the trace shows one state, a single Poisson level of "
                f"{mean:.3g} counts per bin ({mean * PS_PER_S / bin_ps:.4g} counts/s); "
                "thresholds_cps would impose ON/OFF states"
            )
    usable = {k: _crossings(*fits[k][:2]) for k in candidates}
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


def classify(counts: np.ndarray, thresholds_counts: Sequence[float]) -> np.ndarray:
    """State of each bin: ``OFF`` (0), ``GREY`` (1) or ``ON`` (2).

    Parameters
    ----------
    counts
        Counts per full bin (or rates scaled to a full bin).
    thresholds_counts
        One threshold (OFF / ON) or two increasing ones (OFF / grey / ON), counts per bin.
        A bin exactly at a threshold goes to the higher state.

    Returns
    -------
    int8 array of states.
    """
    thr = _check_thresholds(thresholds_counts, "thresholds_counts")
    level = np.searchsorted(thr, np.asarray(counts), side="right")
    codes = np.array([OFF, ON] if thr.size == 1 else [OFF, GREY, ON], dtype=np.int8)
    return codes[level]


def dwell_times(states: np.ndarray, valid: np.ndarray, bin_ps: int) -> dict[str, np.ndarray]:
    """Durations of complete runs of one state, ps.

    Parameters
    ----------
    states
        State per bin (``OFF``, ``GREY``, ``ON``; anything else counts as invalid).
    valid
        True for the bins that may form runs (the full bins).
    bin_ps
        Bin width, ps.

    Returns
    -------
    ``{"off": ..., "grey": ..., "on": ...}``, int64 arrays of durations in ps, in trace order.
    Runs touching the start or end of the trace or an invalid bin are censored and left out.
    """
    code, starts, stops = _runs(states, valid)
    lengths = (stops - starts).astype(np.int64) * int(bin_ps)
    return _complete_by_state(code, starts, stops, lengths)


def switch_dwell_times(
    counts: np.ndarray, states: np.ndarray, valid: np.ndarray, bin_ps: int
) -> dict[str, np.ndarray]:
    """Durations of complete runs with each switch placed at its nearest bin edge, ps.

    A run of bins in one state starts and ends inside the bins in which the emitter switched,
    and a threshold assigns such a bin to one state or the other by where it lies between the
    two levels, not by which state held it longer: with thresholds nearer the dim level (as
    the Poisson-likelihood ones are), runs of the bright state come out too long by up to half
    a bin at each end and the dim ones too short, which steepens or flattens a dwell-time
    power law at short times. Here each switch between two valid runs (states ``a`` then
    ``b``, last bin ``i`` of the first) is placed from the counts of its two bins:
    the time spent in ``a`` within bins ``i`` and ``i + 1`` is
    ``(n_i + n_(i+1) - 2 m_b) / (m_a - m_b)`` bins (``m`` the mean counts of each state's
    interior bins, see :func:`interior_bins`), unbiased when the emitter switched once within
    the two bins; the switch goes to the nearest bin edge, one bin either way at most. A run
    that keeps less than half a bin is dropped (its neighbours stay separate dwells).
    Boundaries next to a state without interior bins stay at the run edges.

    Parameters
    ----------
    counts
        Counts per bin.
    states, valid, bin_ps
        As for :func:`dwell_times`.

    Returns
    -------
    ``{"off": ..., "grey": ..., "on": ...}``, int64 arrays of durations in ps (whole bins), in
    trace order; runs touching the start or end of the trace or an invalid bin are left out.
    """
    code, starts, stops = _runs(states, valid)
    counts = np.asarray(counts, dtype=float)
    if counts.shape != code.shape:
        raise AnalysisError("counts and states must have the same length")
    edges = _switch_edges(counts, code, stops[:-1], _interior_means(counts, code))
    begin = np.concatenate([starts[:1], edges])
    end = np.concatenate([edges, stops[-1:]])
    lengths = (end - begin).astype(np.int64)
    out = _complete_by_state(code, starts, stops, lengths)
    return {name: v[v >= 1] * int(bin_ps) for name, v in out.items()}


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
        (:func:`switch_dwell_times`).
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
            sides are in the same state (see :func:`interior_bins`), i.e. without the bins in
            which the emitter switched into or out of the state; a run of one or two bins
            contributes nothing. Use these for anything measured on the photons of one state
            (decays, g2), which the mixed photons of switching bins would bias.

        Returns
        -------
        A normalised int64 (k, 2) interval set, ps. Partial bins are included whole: intersect
        with the run's live time to drop the parts inside gaps.
        """
        code = _state_code(state)
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
    counts, exposure = _check_trace(counts, exposure_ps, bin_ps)
    if counts.size == 0:
        raise AnalysisError("empty trace: no bins to analyse")
    live = int(exposure.sum())
    if live == 0:
        raise AnalysisError("the trace has no live time (every bin lies in a gap)")
    if thresholds_cps is None:
        fit = auto_thresholds(counts, exposure, bin_ps, n_states)
        thr_cps, method = np.asarray(fit.cps), fit.method
    else:
        fit, thr_cps, method = None, _check_thresholds(thresholds_cps, "thresholds_cps"), "user"
        if n_states is not None and n_states != thr_cps.size + 1:
            raise AnalysisError(
                f"{thr_cps.size} threshold(s) make {thr_cps.size + 1} states, not {n_states}"
            )
    thr_counts = thr_cps * bin_ps / PS_PER_S
    states = _classify_trace(counts, exposure, bin_ps, thr_counts)
    fractions = {
        name: float(exposure[states == s].sum()) / live for s, name in enumerate(STATE_NAMES)
    }
    dwell = switch_dwell_times(counts, states, exposure == bin_ps, bin_ps)
    cut, cut_method = _powerlaw_min(powerlaw_min_ps)
    on_fit = _exponent(dwell["on"], bin_ps, cut)
    off_fit = _exponent(dwell["off"], bin_ps, cut)
    return BlinkingResult(
        bin_ps=int(bin_ps),
        t0_ps=int(t0_ps),
        thresholds_cps=tuple(float(t) for t in thr_cps),
        thresholds_counts=tuple(float(t) for t in thr_counts),
        method=method,
        states=states,
        fractions=fractions,
        dwell_ps=dwell,
        on_exponent=None if on_fit is None else on_fit.alpha,
        on_exponent_err=None if on_fit is None else on_fit.alpha_err,
        off_exponent=None if off_fit is None else off_fit.alpha,
        off_exponent_err=None if off_fit is None else off_fit.alpha_err,
        on_dwell_min_ps=None if on_fit is None else on_fit.t_min_ps,
        off_dwell_min_ps=None if off_fit is None else off_fit.t_min_ps,
        on_dwells=0 if on_fit is None else on_fit.n,
        off_dwells=0 if off_fit is None else off_fit.n,
        dwell_min_method=cut_method,
        occurrence=occurrence_histogram(counts, exposure, bin_ps),
        fit=fit,
        on_powerlaw=on_fit,
        off_powerlaw=off_fit,
    )


def _runs(states: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """State codes (``INVALID`` where not valid) and the first and end bins of each run."""
    states = np.asarray(states)
    valid = np.asarray(valid, dtype=bool)
    if states.shape != valid.shape or states.ndim != 1:
        raise AnalysisError("states and valid must be 1-D arrays of the same length")
    code = np.where(valid & (states >= OFF) & (states <= ON), states, INVALID).astype(np.int64)
    edges = np.flatnonzero(np.diff(code)) + 1
    starts = np.concatenate([[0], edges]) if code.size else np.zeros(0, dtype=np.int64)
    stops = np.concatenate([edges, [code.size]]) if code.size else np.zeros(0, dtype=np.int64)
    return code, starts, stops


def _complete_by_state(
    code: np.ndarray, starts: np.ndarray, stops: np.ndarray, lengths: np.ndarray
) -> dict[str, np.ndarray]:
    """``lengths`` of the runs not touching the trace ends or an invalid bin, per state."""
    run_state = code[starts]
    before = np.where(starts > 0, code[np.maximum(starts - 1, 0)], INVALID)
    after = np.where(stops < code.size, code[np.minimum(stops, code.size - 1)], INVALID)
    complete = (run_state != INVALID) & (before != INVALID) & (after != INVALID)
    return {name: lengths[complete & (run_state == s)] for s, name in enumerate(STATE_NAMES)}


def _interior_means(counts: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Mean counts of each state's interior bins (NaN for a state without any)."""
    inner = interior_bins(code)
    means = np.full(len(STATE_NAMES), np.nan)
    for s in range(len(STATE_NAMES)):
        mine = inner == s
        if np.any(mine):
            means[s] = counts[mine].mean()
    return means


def _switch_edges(
    counts: np.ndarray, code: np.ndarray, edges: np.ndarray, means: np.ndarray
) -> np.ndarray:
    """Bin edge nearest each switch; ``edges`` are the first bins of the later runs."""
    if edges.size == 0:
        return edges
    a, b = code[edges - 1], code[edges]
    m_a = np.where(a != INVALID, means[np.maximum(a, 0)], np.nan)
    m_b = np.where(b != INVALID, means[np.maximum(b, 0)], np.nan)
    usable = np.isfinite(m_a) & np.isfinite(m_b) & (m_a != m_b)
    with np.errstate(invalid="ignore", divide="ignore"):
        in_a = (counts[edges - 1] + counts[edges] - 2.0 * m_b) / (m_a - m_b)
    moved = edges - 1 + np.clip(np.rint(np.where(usable, in_a, 1.0)), 0, 2).astype(np.int64)
    return np.where(usable, moved, edges)


def interior_bins(states: np.ndarray) -> np.ndarray:
    """States with the bins at the ends of each run marked ``INVALID``.

    A bin keeps its state only when both neighbours are in the same (valid) state; the first
    and last bins of the trace and the bins next to an invalid one are dropped. A run of
    ``L >= 3`` bins keeps ``L - 2``; a run of one or two bins is all transition.

    Parameters
    ----------
    states
        State per bin (``OFF``, ``GREY``, ``ON``, ``INVALID``).

    Returns
    -------
    int8 array of the same length.
    """
    states = np.asarray(states, dtype=np.int8)
    out = np.full(states.shape, INVALID, dtype=np.int8)
    if states.size < 3:
        return out
    mid = states[1:-1]
    keep = (mid != INVALID) & (states[:-2] == mid) & (states[2:] == mid)
    out[1:-1] = np.where(keep, mid, INVALID)
    return out


def _check_trace(
    counts: np.ndarray, exposure_ps: np.ndarray, bin_ps: int
) -> tuple[np.ndarray, np.ndarray]:
    counts = np.asarray(counts)
    exposure = np.asarray(exposure_ps)
    if int(bin_ps) <= 0:
        raise AnalysisError(f"bin width must be positive, got {bin_ps} ps")
    if counts.ndim != 1 or exposure.shape != counts.shape:
        raise AnalysisError(
            f"counts and exposure_ps must be 1-D of equal length, got {counts.shape} and "
            f"{exposure.shape}"
        )
    for name, arr in (("counts", counts), ("exposure_ps", exposure)):
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise AnalysisError(f"{name} must be integers, got {arr.dtype}")
    counts = counts.astype(np.int64, copy=False)
    exposure = exposure.astype(np.int64, copy=False)
    if np.any(counts < 0):
        raise AnalysisError("counts must not be negative")
    if np.any((exposure < 0) | (exposure > bin_ps)):
        raise AnalysisError(f"exposure_ps must lie in [0, {bin_ps}] (the bin width)")
    if np.any((exposure == 0) & (counts > 0)):
        raise AnalysisError("a bin without live time (exposure 0) holds counts")
    return counts, exposure


def _check_thresholds(thresholds: Sequence[float], name: str) -> np.ndarray:
    thr = np.asarray(thresholds, dtype=float).ravel()
    if thr.size not in (1, 2) or not np.all(np.isfinite(thr)) or np.any(np.diff(thr) <= 0):
        raise AnalysisError(f"{name}: give one or two increasing finite thresholds, got {thr}")
    return thr


def _classify_trace(
    counts: np.ndarray, exposure: np.ndarray, bin_ps: int, thr_counts: np.ndarray
) -> np.ndarray:
    """States of all bins: full bins by their counts, partial bins by their rate."""
    live = exposure > 0
    scaled = counts.astype(float)
    partial = live & (exposure < bin_ps)
    scaled[partial] *= bin_ps / exposure[partial]
    states = np.full(counts.shape, INVALID, dtype=np.int8)
    states[live] = classify(scaled[live], thr_counts)
    return states


def _state_code(state: str | int) -> int:
    if isinstance(state, str) and state.lower() in STATE_NAMES:
        return STATE_NAMES.index(state.lower())
    if not isinstance(state, str) and state in (OFF, GREY, ON):
        return int(state)
    raise AnalysisError(f"unknown state {state!r}: use 'on', 'grey' or 'off'")


def _powerlaw_min(value: float | str | None) -> tuple[float | None, str]:
    """The fixed lower cut of the power-law fits (ps; None for the KS choice) and its method."""
    if value is None or (isinstance(value, str) and value.lower() == "auto"):
        return None, "ks"
    if isinstance(value, str):
        raise AnalysisError(f"powerlaw_min_ps: give 'auto' or a time in ps, got {value!r}")
    cut = float(value)
    if not np.isfinite(cut) or cut <= 0:
        raise AnalysisError(f"powerlaw_min_ps must be positive and finite, got {value!r}")
    return cut, "user"


def _exponent(dwell: np.ndarray, bin_ps: int, t_min_ps: float | None) -> PowerLawFit | None:
    """Power-law fit of one state's dwell times above ``t_min_ps`` (None: the KS choice);
    None when there are too few dwell times or no finite exponent."""
    try:
        if t_min_ps is None:
            return fit_powerlaw_ks(dwell, bin_ps) if dwell.size >= MIN_TAIL else None
        if np.count_nonzero(dwell >= t_min_ps) < MIN_DWELLS:
            return None
        return fit_powerlaw(dwell, bin_ps, t_min_ps=t_min_ps)
    except FitError:
        return None


def _seconds(ps: float | None) -> float | None:
    return None if ps is None else ps / PS_PER_S


def _log_poisson(
    values: np.ndarray, mean: np.ndarray | float, log_fact: np.ndarray | None = None
) -> np.ndarray:
    """``ln P(values; mean)``; ``log_fact`` is ``gammaln(values + 1)`` when already known."""
    if log_fact is None:
        log_fact = gammaln(values + 1.0)
    return xlogy(values, mean) - mean - log_fact


def _log_switching(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Log-probability of ``values`` for a Poisson mean uniform on ``[low, high]``."""
    s = values + 1.0
    upper_side = s > 0.5 * (low + high)
    diff = np.where(
        upper_side,
        gammainc(s, high) - gammainc(s, low),
        gammaincc(s, low) - gammaincc(s, high),
    )
    return np.log(np.maximum(diff, _TINY)) - np.log(high - low)


def _component_logpmf(values: np.ndarray, means: np.ndarray, log_pois: np.ndarray) -> np.ndarray:
    """Rows: the Poisson state components (``log_pois``, one row per mean), then the switching
    components of each pair."""
    rows = [_log_switching(values, means[a], means[b]) for a, b in _pairs(len(means))]
    return np.concatenate([log_pois, *(r[None, :] for r in rows)])


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


def _n_params(k: int) -> int:
    return k + (k - 1) + k * (k - 1) // 2


def _bic(loglik: float, k: int, n_bins: float) -> float:
    return -2.0 * loglik + _n_params(k) * np.log(n_bins)


def _single_poisson_loglik(values: np.ndarray, occ: np.ndarray) -> float:
    mean = max(float(values @ occ / occ.sum()), _MIN_MEAN)
    return float(occ @ _log_poisson(values, mean))


def _starts(values: np.ndarray, occ: np.ndarray, k: int) -> list[np.ndarray]:
    """Initial means: quantiles of the counts, and an even spread over their range."""
    cdf = np.cumsum(occ) / occ.sum()
    levels = (np.arange(k) + 0.5) / k
    quantiles = values[np.minimum(np.searchsorted(cdf, levels), values.size - 1)]
    seen = values[occ > 0]
    spread = seen[0] + (seen[-1] - seen[0]) * levels
    return [np.maximum(quantiles + 0.5, _MIN_MEAN), np.maximum(spread + 0.5, _MIN_MEAN)]


def _poisson_em(
    values: np.ndarray, occ: np.ndarray, k: int, log_fact: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Means and weights of a pure ``k``-component Poisson mixture, by EM from several starts."""
    best, best_ll = None, -np.inf
    for means in _starts(values, occ, k):
        weights = np.full(k, 1.0 / k)
        last = -np.inf
        for _ in range(_EM_ITER):
            log_joint = np.log(np.maximum(weights, _TINY))[:, None] + _log_poisson(
                values[None, :], means[:, None], log_fact[None, :]
            )
            log_total = _logsumexp(log_joint)
            loglik = float(occ @ log_total)
            resp = np.exp(log_joint - log_total) * occ
            mass = resp.sum(axis=1)
            weights = mass / occ.sum()
            means = np.maximum(resp @ values / np.maximum(mass, _TINY), _MIN_MEAN)
            if loglik - last < 1e-10 * abs(loglik):
                break
            last = loglik
        if loglik > best_ll:
            best, best_ll = (np.sort(means), weights[np.argsort(means)]), loglik
    return best


def _fit_mixture(
    values: np.ndarray, occ: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """Maximum-likelihood Poisson + switching mixture with ``k`` states.

    Returns the state means (increasing), the weights of all components (states first) and the
    log-likelihood of the histogram.
    """
    log_fact = gammaln(values + 1.0)
    means0, weights0 = _poisson_em(values, occ, k, log_fact)
    n_switch = k * (k - 1) // 2
    top = np.log(values[-1] + 1.0)
    steps0 = np.diff(np.concatenate([[0.0], means0]))
    w0 = np.concatenate([np.maximum(weights0, 1e-3), np.full(n_switch, 0.01)])
    x0 = np.concatenate([np.log(np.maximum(steps0, 1e-3)), np.log(w0[1:] / w0[0])])
    lower = np.concatenate(
        [[np.log(_MIN_MEAN)], np.full(k - 1, np.log(1e-3)), [-40.0] * len(x0[k:])]
    )
    upper = np.concatenate([np.full(k, top), np.full(x0.size - k, 40.0)])
    per_bin = 1.0 / occ.sum()

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        # a quadratic wall outside the box keeps exp() finite without a bounded optimiser
        inside = np.clip(x, lower, upper)
        value, grad = _mixture_nll(inside, values, occ, k, log_fact)
        out = x - inside
        return value * per_bin + 0.5 * float(out @ out), grad * per_bin + out

    res = minimize(objective, np.clip(x0, lower, upper), jac=True, method="BFGS")
    x = np.clip(res.x, lower, upper)
    means, log_w = _unpack(x, k)
    return means, np.exp(log_w), -_mixture_nll(x, values, occ, k, log_fact)[0]


def _logsumexp(a: np.ndarray) -> np.ndarray:
    """``log(sum(exp(a), axis=0))`` without overflow; ``-inf`` where every term is ``-inf``.
    (The fits call this thousands of times on small arrays, where scipy's general version
    costs ten times more.)"""
    top = a.max(axis=0)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return top + np.log(np.exp(a - top).sum(axis=0))


def _pairs(k: int) -> list[tuple[int, int]]:
    return [(a, b) for a in range(k) for b in range(a + 1, k)]


def _unpack(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """State means ``cumsum(exp(x[:k]))`` and log-weights ``softmax([0, x[k:]])``."""
    means = np.cumsum(np.exp(x[:k]))
    z = np.concatenate([[0.0], x[k:]])
    return means, z - _logsumexp(z)


def _mixture_nll(
    x: np.ndarray, values: np.ndarray, occ: np.ndarray, k: int, log_fact: np.ndarray
) -> tuple[float, np.ndarray]:
    """Negative log-likelihood of the histogram and its gradient by ``x``.

    Uses ``d ln P(k;m)/dm = k/m - 1`` for a state and, for a switching component ``S`` over
    ``[a, b]``, ``dS/db = (P(k;b) - S)/(b - a)`` and ``dS/da = (S - P(k;a))/(b - a)``.
    """
    means, log_w = _unpack(x, k)
    log_pois = _log_poisson(values[None, :], means[:, None], log_fact[None, :])
    log_joint = log_w[:, None] + _component_logpmf(values, means, log_pois)
    log_mix = _logsumexp(log_joint)
    resp = np.exp(log_joint - log_mix) * occ
    d_means = resp[:k] @ values / means - resp[:k].sum(axis=1)
    for c, (a, b) in enumerate(_pairs(k), start=k):
        width = means[b] - means[a]
        at_b = np.exp(log_w[c] + log_pois[b] - log_mix) * occ
        at_a = np.exp(log_w[c] + log_pois[a] - log_mix) * occ
        d_means[b] += (at_b.sum() - resp[c].sum()) / width
        d_means[a] += (resp[c].sum() - at_a.sum()) / width
    d_steps = np.exp(x[:k]) * np.cumsum(d_means[::-1])[::-1]
    d_z = resp.sum(axis=1) - occ.sum() * np.exp(log_w)
    return -float(occ @ log_mix), -np.concatenate([d_steps, d_z[1:]])


def _crossings(means: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Counts where the weighted Poisson likelihoods of adjacent states are equal."""
    a, b = means[:-1], means[1:]
    wa, wb = weights[: len(means) - 1], weights[1 : len(means)]
    return (b - a + np.log(wa / wb)) / np.log(b / a)
