"""Checks of the inputs of :func:`~tagstream.analysis.decay_fit.fit_decay`: the histogram, the
laser period, the kind of IRF, the fitted bins, a fixed background, starting lifetimes and a
measured IRF. Each returns the checked value or raises :class:`~tagstream.errors.FitError`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import FitError
from .decay_fit_start import smoothed

#: Bins whose widths differ by less than this fraction of their mean count as uniform.
UNIFORM_TOLERANCE = 1e-6


def checked_histogram(counts: np.ndarray, edges_ps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts and edges (ps) as float arrays: 2+ finite, non-negative counts on strictly
    increasing edges."""
    counts = np.asarray(counts, dtype=float)
    edges = np.asarray(edges_ps, dtype=float)
    if counts.ndim != 1 or counts.size < 2:
        raise FitError(f"decay counts must be a 1-D histogram of 2+ bins, got shape {counts.shape}")
    if edges.shape != (counts.size + 1,):
        raise FitError(
            f"decay edges must have len(counts) + 1 = {counts.size + 1} values, got {edges.shape}"
        )
    if not (np.all(np.isfinite(counts)) and np.all(np.isfinite(edges))):
        raise FitError("decay histogram contains NaN or infinite values")
    if np.any(counts < 0):
        raise FitError("decay counts must not be negative")
    if np.any(np.diff(edges) <= 0):
        raise FitError("decay bin edges must be strictly increasing")
    return counts, edges


def checked_period(period_ps: float | None, edges: np.ndarray) -> float | None:
    """The laser period, ps (or ``None``): the histogram spans at most one, in bins narrower
    than a quarter of it."""
    if period_ps is None:
        return None
    period = float(period_ps)
    if not (np.isfinite(period) and period > 0):
        raise FitError(f"laser period must be a positive number of ps, got {period_ps!r}")
    span = edges[-1] - edges[0]
    if span > period * (1 + 1e-9):
        raise FitError(
            f"the histogram spans {span:g} ps, more than one laser period ({period:g} ps)"
        )
    if np.max(np.diff(edges)) > period / 4:
        raise FitError("decay bins must be narrower than a quarter of the laser period")
    return period


def irf_kind(irf: np.ndarray | None, irf_sigma_ps: float | None, gaussian: bool) -> str:
    """``"measured"``, ``"gaussian"`` or ``"none"`` from the IRF options of :func:`fit_decay`."""
    if irf is not None:
        if irf_sigma_ps is not None:
            raise FitError("give either a measured irf or irf_sigma_ps, not both")
        return "measured"
    if not gaussian:
        if irf_sigma_ps is not None:
            raise FitError("irf_sigma_ps needs gaussian=True")
        return "none"
    if irf_sigma_ps is not None and not (np.isfinite(irf_sigma_ps) and irf_sigma_ps > 0):
        raise FitError(f"irf_sigma_ps must be a positive number of ps, got {irf_sigma_ps!r}")
    return "gaussian"


def fit_bins(
    counts: np.ndarray, edges: np.ndarray, fit_range_ps: tuple[float, float] | None, kind: str
) -> slice:
    """The contiguous bins to fit: centres inside the range, or from the maximum for a tail fit."""
    if fit_range_ps is None:
        start = int(np.argmax(smoothed(counts))) if kind == "none" else 0
        return slice(start, counts.size)
    try:
        lo, hi = (float(v) for v in fit_range_ps)
    except (TypeError, ValueError) as exc:
        raise FitError(f"fit_range_ps must be (start, stop) in ps, got {fit_range_ps!r}") from exc
    if not lo < hi:
        raise FitError(f"fit_range_ps start must be below stop, got {fit_range_ps!r}")
    centres = 0.5 * (edges[:-1] + edges[1:])
    inside = np.flatnonzero((centres >= lo) & (centres <= hi))
    if inside.size == 0:
        raise FitError(f"no bins have their centre inside fit_range_ps {fit_range_ps!r}")
    return slice(int(inside[0]), int(inside[-1]) + 1)


def checked_background(background: float | None) -> float | None:
    """A fixed background (counts per typical bin, finite and >= 0), or ``None`` to fit it."""
    if background is None:
        return None
    value = float(background)
    if not (np.isfinite(value) and value >= 0):
        raise FitError(f"a fixed background must be a finite number >= 0, got {background!r}")
    return value


def checked_guess(
    tau_guess_ps: Sequence[float] | None, n_components: int
) -> tuple[float, ...] | None:
    """Starting lifetimes, ps: one positive number per component, or ``None``."""
    if tau_guess_ps is None:
        return None
    guess = np.atleast_1d(np.asarray(tau_guess_ps, dtype=float))
    if guess.shape != (n_components,) or not np.all(np.isfinite(guess) & (guess > 0)):
        raise FitError(
            f"tau_guess_ps needs {n_components} positive lifetime(s) in ps, got {tau_guess_ps!r}"
        )
    return tuple(float(t) for t in guess)


def checked_irf(irf: np.ndarray | None, counts: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The measured IRF clipped at zero and normalised to unit sum."""
    irf = np.asarray(irf, dtype=float)
    if irf.shape != counts.shape:
        raise FitError(
            f"the measured IRF must have the shape of the decay histogram {counts.shape}, "
            f"got {irf.shape}"
        )
    if not np.all(np.isfinite(irf)):
        raise FitError("the measured IRF contains NaN or infinite values")
    widths = np.diff(edges)
    if np.ptp(widths) > UNIFORM_TOLERANCE * widths.mean():
        raise FitError("reconvolution with a measured IRF needs uniform bin widths")
    irf = np.clip(irf, 0.0, None)
    if irf.sum() <= 0:
        raise FitError("the measured IRF has no counts")
    return irf / irf.sum()
