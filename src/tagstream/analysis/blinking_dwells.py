"""Dwell times of a classified trace and their power-law exponents.

A dwell time is a run of consecutive full bins in one state; :func:`switch_dwell_times` moves its
ends to the bin edges nearest the switches estimated from the counts of the switching bins. Runs
touching the start or end of the trace, a gap or a partial bin are censored and dropped. The
exponents are fitted above a lower cut (:func:`dwell_exponent`; see
:mod:`~tagstream.analysis.blinking` for why a cut is needed). Times in ps.
"""

from __future__ import annotations

import numpy as np

from ..errors import AnalysisError, FitError
from .blinking_states import INVALID, OFF, ON, STATE_NAMES, interior_bins
from .powerlaw import MIN_TAIL, PowerLawFit, fit_powerlaw, fit_powerlaw_ks

MIN_DWELLS = 10


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
    interior bins, see :func:`~.blinking_states.interior_bins`), unbiased when the emitter
    switched once within the two bins; the switch goes to the nearest bin edge, one bin either
    way at most. A run that keeps less than half a bin is dropped (its neighbours stay separate
    dwells).
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


def powerlaw_min(value: float | str | None) -> tuple[float | None, str]:
    """The fixed lower cut of the power-law fits (ps; None for the KS choice) and its method."""
    if value is None or (isinstance(value, str) and value.lower() == "auto"):
        return None, "ks"
    if isinstance(value, str):
        raise AnalysisError(f"powerlaw_min_ps: give 'auto' or a time in ps, got {value!r}")
    cut = float(value)
    if not np.isfinite(cut) or cut <= 0:
        raise AnalysisError(f"powerlaw_min_ps must be positive and finite, got {value!r}")
    return cut, "user"


def dwell_exponent(dwell: np.ndarray, bin_ps: int, t_min_ps: float | None) -> PowerLawFit | None:
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


def powerlaw_fields(
    dwell: dict[str, np.ndarray], unit_ps: int, powerlaw_min_ps: float | str | None
) -> dict[str, object]:
    """The power-law fits of the ON and OFF dwell times (whole multiples of ``unit_ps``) with
    the lower cut ``powerlaw_min_ps``, as the fields of a blinking result: exponents, their
    errors, cuts, dwells fitted, the cut's method and the fits (None / 0 where none)."""
    cut, cut_method = powerlaw_min(powerlaw_min_ps)
    fits = {k: dwell_exponent(dwell[k], unit_ps, cut) for k in ("on", "off")}
    out: dict[str, object] = {"dwell_min_method": cut_method}
    for k, fit in fits.items():
        out |= {
            f"{k}_exponent": None if fit is None else fit.alpha,
            f"{k}_exponent_err": None if fit is None else fit.alpha_err,
            f"{k}_dwell_min_ps": None if fit is None else fit.t_min_ps,
            f"{k}_dwells": 0 if fit is None else fit.n,
            f"{k}_powerlaw": fit,
        }
    return out
