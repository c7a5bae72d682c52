"""Values derived from results for the figure and the exports: the deviance residuals of a
Poisson fit and the adjacent-peak normalisation of a pulsed g2."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .g2 import G2Result
    from .g2_zero import G2Zero

__all__ = ["adjacent_normalization", "deviance_residuals"]

_TINY = 1e-300


def deviance_residuals(counts: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Poisson deviance residuals ``sign(n - m) sqrt(2 [n ln(n / m) - (n - m)])``.

    Their squares sum to the fit's Poisson deviance; for a good model they scatter about 0
    with unit spread even where counts are few (unlike Pearson residuals). NaN where the model
    expects nothing (``m <= 0`` or not finite).

    Parameters
    ----------
    counts
        Observed counts per bin ``n``.
    expected
        Model counts per bin ``m``, same shape.
    """
    n = np.asarray(counts, dtype=float)
    m = np.asarray(expected, dtype=float)
    valid = np.isfinite(m) & (m > 0)
    safe_m = np.where(valid, m, 1.0)
    log_term = np.where(n > 0, n * np.log(np.maximum(n, _TINY) / safe_m), 0.0)
    d = np.maximum(2.0 * (log_term - (n - safe_m)), 0.0)
    return np.where(valid, np.sign(n - safe_m) * np.sqrt(d), np.nan)


def adjacent_normalization(g2: G2Result, zero: G2Zero) -> float | None:
    """Coincidences per bin of the mean adjacent peak: its area over one period (from the
    g2(0) estimate) spread over the period's bins. Dividing the histogram by it puts the mean
    over the adjacent windows at 1 and the mean over the zero-delay window at g2(0) (the QD
    literature's normalisation). ``None`` for CW or without adjacent coincidences."""
    if zero.excitation != "pulsed" or not zero.period_ps:
        return None
    areas = zero.detail.areas
    per_bin = 0.5 * (areas[-1] + areas[1]) * g2.bin_ps / zero.period_ps
    return float(per_bin) if per_bin > 0 else None
