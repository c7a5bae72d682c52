"""A g2 histogram as the g2(0) estimators see it: validated edges, counts and expected counts,
and the window geometry they share.

A g2 histogram is given by ``edges_ps`` (uniform bins of width ``b`` covering the delay range,
delay ``tau = t_B - t_A`` in ps), ``counts`` (coincidences per bin) and, optionally, ``expected``
(coincidences per bin expected for uncorrelated light, ``N_A * N_B * b / T``), so that
``counts / expected`` is the normalised g2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import AnalysisError

#: A g2(0) whose one-sigma uncertainty exceeds this carries no information: it cannot tell one
#: emitter (g2(0) < 0.5) from two.
UNINFORMATIVE_ERROR = 0.25
#: A peak comb is located from the data only when its first harmonic stands this many
#: standard deviations above the Poisson noise.
COMB_MIN_SIGMA = 5.0


@dataclass(frozen=True)
class G2Histogram:
    """A validated g2 histogram: float edges (ps), counts and optional expected counts."""

    edges: np.ndarray
    counts: np.ndarray
    expected: np.ndarray | None

    @property
    def width(self) -> float:
        """Bin width, ps."""
        return float(self.edges[1] - self.edges[0])

    @property
    def centres(self) -> np.ndarray:
        """Bin centres, ps."""
        return 0.5 * (self.edges[:-1] + self.edges[1:])

    @property
    def span(self) -> tuple[float, float]:
        """First and last bin edge, ps."""
        return float(self.edges[0]), float(self.edges[-1])


def as_histogram(edges_ps, counts, expected=None, need_expected: bool = False) -> G2Histogram:
    """Validate a g2 histogram; raise :class:`AnalysisError` on anything unusable."""
    edges = np.asarray(edges_ps, dtype=float)
    n = np.asarray(counts, dtype=float)
    if edges.ndim != 1 or n.ndim != 1:
        raise AnalysisError("edges and counts must be one-dimensional")
    if n.size == 0 or edges.size < 2:
        raise AnalysisError("the g2 histogram is empty")
    if edges.size != n.size + 1:
        raise AnalysisError(f"{edges.size} edges do not bound {n.size} bins (need bins + 1)")
    if not (np.all(np.isfinite(edges)) and np.all(np.isfinite(n))):
        raise AnalysisError("edges and counts must be finite")
    widths = np.diff(edges)
    if np.any(widths <= 0) or not np.allclose(widths, widths[0], rtol=1e-9, atol=0.0):
        raise AnalysisError("bin edges must be increasing and uniformly spaced")
    if np.any(n < 0):
        raise AnalysisError("counts must be non-negative")
    if n.sum() <= 0:
        raise AnalysisError("the g2 histogram holds no coincidences")
    exp = checked_expected(expected, n.size, need_expected)
    return G2Histogram(edges, n, exp)


def checked_expected(expected, size: int, required: bool) -> np.ndarray | None:
    """The expected counts as floats of the histogram's ``size``, finite and positive; ``None`` when
    not given and not ``required``."""
    if expected is None:
        if required:
            raise AnalysisError("expected counts are required")
        return None
    exp = np.asarray(expected, dtype=float)
    if exp.shape != (size,):
        raise AnalysisError(f"expected has shape {exp.shape}, counts has ({size},)")
    if not np.all(np.isfinite(exp)) or np.any(exp <= 0):
        raise AnalysisError("expected counts must be finite and positive")
    return exp


def positive_ps(value: float, name: str) -> float:
    """``value`` as a float number of ps, checked finite and positive (``name`` in the error)."""
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise AnalysisError(f"{name} must be a positive number of ps, got {value}")
    return value


def covered_fraction(hist: G2Histogram, lo: float, hi: float) -> np.ndarray:
    """Fraction of each bin inside ``[lo, hi)``."""
    left = np.clip(hist.edges[:-1], lo, hi)
    right = np.clip(hist.edges[1:], lo, hi)
    return (right - left) / hist.width


def window_sum(hist: G2Histogram, values: np.ndarray, lo: float, hi: float) -> float:
    """Sum of ``values`` over ``[lo, hi)``, bins split at the limits counted by covered fraction."""
    return float(covered_fraction(hist, lo, hi) @ values)


def phase_offset(hist: G2Histogram, period: float) -> float:
    """Position (ps, within half a period of 0) of a peak comb, from the circular mean of the
    counts over the largest whole number of periods centred in the histogram; 0 (no delay
    between the detectors) when the counts show no comb at that period above their Poisson
    noise (:data:`COMB_MIN_SIGMA`, see :func:`comb_significance`), as when the peaks merge."""
    phasor, noise = _comb_phasor(hist, period)
    if abs(phasor) == 0 or abs(phasor) < COMB_MIN_SIGMA * noise:
        return 0.0
    return float(np.angle(phasor) * period / (2 * np.pi))


def comb_significance(hist: G2Histogram, period: float) -> float:
    """How many standard deviations of Poisson noise the comb's first harmonic stands above."""
    phasor, noise = _comb_phasor(hist, period)
    return float(abs(phasor) / noise) if noise > 0 else 0.0


def _comb_phasor(hist: G2Histogram, period: float) -> tuple[complex, float]:
    """First Fourier harmonic of the counts at the period, over the largest whole number of
    periods centred in the histogram, and its Poisson noise."""
    lo, hi = hist.span
    n_periods = np.floor((hi - lo) / period)
    if n_periods < 1:
        raise AnalysisError(f"the histogram ({hi - lo:.0f} ps) is shorter than one period")
    mid = 0.5 * (lo + hi)
    weights = covered_fraction(hist, mid - 0.5 * n_periods * period, mid + 0.5 * n_periods * period)
    phasor = complex(np.sum(weights * hist.counts * np.exp(2j * np.pi * hist.centres / period)))
    noise = float(np.sqrt(np.sum(weights**2 * hist.counts)))
    return phasor, noise


def lies_inside(hist: G2Histogram, lo: float, hi: float) -> bool:
    """Whether ``[lo, hi)`` lies inside the histogram (to a millionth of a bin)."""
    tol = 1e-6 * hist.width
    first, last = hist.span
    return lo >= first - tol and hi <= last + tol


def require_windows(hist: G2Histogram, period: float, offset: float) -> None:
    """Check that the one-period windows of the peaks at -1, 0 and +1 periods around ``offset`` (ps)
    fit in the histogram; an :class:`AnalysisError` asking for a wider one if not."""
    lo, hi = offset - 1.5 * period, offset + 1.5 * period
    if not lies_inside(hist, lo, hi):
        first, last = hist.span
        raise AnalysisError(
            f"the windows of the peaks at -1, 0, +1 periods ({lo:.0f} to {hi:.0f} ps) do not fit "
            f"in the histogram ({first:.0f} to {last:.0f} ps); widen it to at least 1.5 periods "
            "each side"
        )
