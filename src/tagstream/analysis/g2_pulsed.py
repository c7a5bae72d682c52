"""g2(0) under pulsed excitation: the zero-delay peak area over the mean area of the two
adjacent peaks.

Far peaks are not used because blinking bunches them up. The zero-delay peak is taken among the
peaks within one period of ``tau = 0`` (:func:`zero_delay_peak`): the one nearest zero unless
another is significantly smaller — an antibunched emitter's missing peak, displaced by a cable
delay between the detectors. A comb offset by more than a quarter period from zero always comes
with a warning. Areas include any flat background (dark counts), so the value is the raw g2(0)
of the detected light, the same quantity for both methods (one-period windows, or a fit of a
comb of peaks when the peaks overlap).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import numpy as np

from ..errors import AnalysisError
from .g2_histogram import (
    COMB_MIN_SIGMA,
    UNINFORMATIVE_ERROR,
    G2Histogram,
    as_histogram,
    comb_significance,
    phase_offset,
    positive_ps,
    require_windows,
    window_sum,
)
from .g2_period import find_period
from .g2_pulsed_fit import fit_g2
from .g2_pulsed_result import PulsedG2
from .g2_pulsed_window import window_g2, window_is_safe

#: A peak other than the one nearest zero is the zero-delay peak only when it is smaller than
#: the nearest by this many standard deviations.
ZERO_PEAK_MIN_SIGMA = 5.0
#: A comb whose zero-delay peak lies this fraction of a period from zero, or further, is warned
#: about.
OFFSET_WARNING_PERIODS = 0.25
#: An uninformative g2(0) is blamed on overlapping peaks when this fraction of a peak leaks out
#: of its period.
OVERLAP_LEAKAGE = 0.05

Method = Literal["auto", "window", "fit"]


def pulsed_g2_zero(
    edges_ps: np.ndarray,
    counts: np.ndarray,
    expected: np.ndarray | None = None,
    period_ps: float | None = None,
    method: Method = "auto",
    lifetime_ps: float | None = None,
    free_central_decay: bool = False,
    search_zero_peak: bool = True,
) -> PulsedG2:
    """g2(0) of a pulsed g2 histogram: zero-delay peak area over the mean adjacent peak area.

    Parameters
    ----------
    edges_ps, counts
        The histogram: uniform bin edges (ps) and coincidences per bin.
    expected
        Uncorrelated coincidences per bin; optional. Normalises the window areas (it matters
        only where it is not flat, e.g. after gaps) and shapes the fit model the same way.
    period_ps
        Repetition period, ps; found with :func:`find_period` when ``None``.
    method
        ``"window"``: sums over one-period windows centred on ``offset + k * period``
        (``offset``, the residual delay between the detectors, is the circular mean of the
        counts; bins split at a window limit count by the covered fraction), each divided by
        ``expected`` summed over the same window when given; Poisson error
        ``g^2 (1/A0 + 1/(A-1 + A+1))`` for equal expectations (a zero ``A0`` counts as one).
        ``"fit"``: Poisson maximum-likelihood fit of a comb of two-sided exponentials convolved
        with a Gaussian jitter, a free area per peak and a flat background; error from the fit
        covariance.
        ``"auto"``: windows when less than :data:`~.g2_pulsed_window.WINDOW_LEAKAGE_MAX` of a
        peak's area falls outside its window *and* the bias this causes is below
        :data:`~.g2_pulsed_window.WINDOW_BIAS_MAX_SIGMA` times the window error; otherwise the
        fit.
    lifetime_ps
        Decay time of the peaks (the emitter lifetime), ps, if known: "auto" then decides
        without fitting, and the fit starts from it.
    search_zero_peak
        Look for a displaced zero-delay peak among the peaks within one period of zero
        (:func:`zero_delay_peak`); ``False`` takes the peak nearest zero (the detectors' delays
        are compensated).
    free_central_decay
        Fit the zero-delay peak's decay separately. By default it is tied to the side peaks':
        the coincidences of a biexciton cascade (BX photon, then the exciton's) spread like the
        side peaks' when the biexciton decays much faster than the exciton, and a free width
        trades off against the background when that peak is small.

    Raises
    ------
    AnalysisError
        Invalid histogram, no period found, or the windows at -1, 0, +1 periods not inside it.
    FitError
        The fit fails.
    """
    if method not in ("auto", "window", "fit"):
        raise AnalysisError(f"method must be 'auto', 'window' or 'fit', got {method!r}")
    hist = as_histogram(edges_ps, counts, expected)
    period = (
        find_period(edges_ps, counts) if period_ps is None else positive_ps(period_ps, "period")
    )
    if period < 4 * hist.width:
        raise AnalysisError(f"the period ({period:.0f} ps) is shorter than four bins")
    offset = phase_offset(hist, period)
    if search_zero_peak:
        offset = zero_delay_peak(hist, period, offset)
    require_windows(hist, period, offset)
    tau = None if lifetime_ps is None else positive_ps(lifetime_ps, "lifetime")
    free_period = period_ps is None
    if method == "window":
        result = window_g2(hist, period, offset, tau)
    elif method == "fit":
        result = fit_g2(hist, period, offset, tau, free_period, free_central_decay)
    else:
        result = _auto_g2(hist, period, offset, tau, free_period, free_central_decay)
    return replace(result, warnings=_warnings(result, comb_significance(hist, period)))


def zero_delay_peak(hist: G2Histogram, period: float, offset: float) -> float:
    """Centre (ps) of the zero-delay peak among the comb's peaks within one period of zero.

    ``offset`` is the comb's position within half a period of zero. Of the peaks at
    ``offset + k * period`` that lie within one period of zero (a quarter period of slack, and
    their neighbours' windows inside the histogram), the one nearest zero is taken unless
    another is a dip, significantly below both of its neighbours (:func:`_is_dip`): an
    antibunched emitter's missing peak, displaced by a delay between the detectors. A bunched
    source (g2(0) > 1) has no such dip, and keeps the peak nearest zero.
    """
    lo, hi = hist.span
    tol = 1e-6 * period
    candidates = [
        c
        for c in (offset - period, offset, offset + period)
        if abs(c) <= 1.25 * period and c - 1.5 * period >= lo - tol and c + 1.5 * period <= hi + tol
    ]
    nearest = min(candidates, key=abs) if candidates else offset
    dips = [c for c in candidates if c != nearest and _is_dip(hist, period, c)]
    return min(dips, key=lambda c: _area(hist, period, c)) if dips else nearest


def _area(hist: G2Histogram, period: float, centre: float) -> float:
    return window_sum(hist, hist.counts, centre - period / 2, centre + period / 2)


def _is_dip(hist: G2Histogram, period: float, centre: float) -> bool:
    """Whether the peak at ``centre`` holds :data:`ZERO_PEAK_MIN_SIGMA` standard deviations
    fewer coincidences than each of its two neighbours (the missing peak of an antibunched
    emitter; a bunched zero-delay peak makes its neighbours no dips)."""
    area = _area(hist, period, centre)
    for side in (centre - period, centre + period):
        other = _area(hist, period, side)
        if not other - area > ZERO_PEAK_MIN_SIGMA * np.sqrt(other + area):
            return False
    return True


def _warnings(result: PulsedG2, comb_sigma: float) -> tuple[str, ...]:
    """What may make a pulsed g2(0) wrong or uninformative (``comb_sigma``: how far the peak
    comb stands out of the noise, see :func:`comb_significance`)."""
    out = []
    period, offset = result.period_ps, result.offset_ps
    if comb_sigma < COMB_MIN_SIGMA:
        out.append(
            f"the peaks at the {period / 1e3:.4g} ns period do not stand out of the noise "
            f"({comb_sigma:.1f} sigma): the comb cannot be located, zero delay is assumed"
        )
    if abs(offset) >= OFFSET_WARNING_PERIODS * period * (1 - 1e-6):
        out.append(
            f"the zero-delay peak sits at {offset / 1e3:+.3g} ns, not at 0 (period "
            f"{period / 1e3:.4g} ns): a delay between the detectors? Set it with "
            "[analysis] delays (or --delay) so that the right peak is taken"
        )
    if result.value > 1.0:
        out.append(
            f"g2(0) = {result.value:.3g} is above 1 (negative purity): the light at zero delay "
            "is bunched — not a single emitter, or the zero-delay peak is not the one taken"
        )
    if not result.error <= UNINFORMATIVE_ERROR:
        side = 0.5 * (result.areas[-1] + result.areas[1])
        why = f"; {side:.0f} coincidences per adjacent peak"
        if result.leakage is not None and result.leakage > OVERLAP_LEAKAGE:
            decay = f"decay {result.peak_decay_ps / 1e3:.3g} ns, " if result.peak_decay_ps else ""
            why += (
                f"; the peaks overlap ({decay}period {period / 1e3:.4g} ns: "
                f"{100 * result.leakage:.0f} % of a peak lies outside its period)"
            )
        out.append(
            f"g2(0) = {result.value:.2g} ± {result.error:.2g} carries no information: the "
            f"uncertainty cannot tell one emitter (g2(0) < 0.5) from two{why}"
        )
    return tuple(out)


def _auto_g2(
    hist: G2Histogram,
    period: float,
    offset: float,
    tau: float | None,
    free_period: bool,
    free_central: bool,
) -> PulsedG2:
    window = window_g2(hist, period, offset, tau)
    if tau is not None and window_is_safe(window, period, tau, tau, 0.0):
        return window
    fitted = fit_g2(hist, period, offset, tau, free_period, free_central)
    side, centre = fitted.peak_decay_ps or 0.0, fitted.central_decay_ps or 0.0
    if not window_is_safe(window, period, side, centre, fitted.jitter_ps or 0.0):
        return fitted
    return replace(
        window,
        leakage=fitted.leakage,
        peak_decay_ps=fitted.peak_decay_ps,
        central_decay_ps=fitted.central_decay_ps,
        jitter_ps=fitted.jitter_ps,
    )
