"""Two-photon (Hong-Ou-Mandel) interference of consecutive photons from the coincidence peaks
of an unbalanced Mach-Zehnder interferometer whose long arm delays by one laser period.

A photon of pulse k through the long arm meets the photon of pulse k + 1 through the short arm
at the second beam splitter. With ``a`` the share of light the first splitter sends into the
short arm (``b = 1 − a`` into the long one), ``R`` and ``T = 1 − R`` the second splitter's
reflectance and transmittance, ``g`` the source's g2(0) (its multi-photon part, taken as
distinguishable) and ``M`` the two photons' indistinguishability (their mode overlap), the
coincidence peaks between the outputs at delays of m periods hold, per pair of pulses and in
units of the mean photon number squared (same derivation as Santori et al., Nature 419, 594
(2002), for a train of pulses):

* m = 0:  C0 = g R T (a² + b²) + a b (R² + T² − 2 R T M)
* m = ±1: (C+1 + C−1) / 2 = R T (a² + b²) + a b (1 + g) (R² + T²) / 2
* |m| ≥ 2: (a T + b R)(a R + b T) (no photon of the pair meets another)

so for 50/50 splitters and g = 0 the peaks at 0, ±1, ±2 periods stand 0.5 (1 − M) : 0.75 : 1.
The ratio r = C0 / C±1 falls linearly with M, with slope k = 2 a b R T / C±1: from one run,
``M = (r(M = 0) − r) / k``; with a run of crossed polarisations (M = 0 by construction) as the
reference, ``V_HOM = 1 − r∥ / r⊥`` and ``M = (r⊥ − r∥) / k``, which needs the splitters' ratios
only through k. The multi-photon part is taken as distinguishable and weak (the interfering
pairs' share (1 − g μ)² of the pairs is taken as 1, μ the photons per pulse).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import AnalysisError
from .g2 import G2Result
from .g2_histogram import as_histogram, phase_offset, require_windows, window_sum

#: The five peaks of the pattern, in periods.
PEAKS = (-2, -1, 0, 1, 2)


@dataclass(frozen=True)
class Interferometer:
    """The splitters' ratios and the source's multi-photon part.

    Attributes
    ----------
    short_share
        Share of the light the first splitter sends into the short arm.
    reflectance
        Reflectance of the second splitter.
    g2_zero, g2_zero_err
        The source's g2(0) (from an HBT run) and its error.
    """

    short_share: float = 0.5
    reflectance: float = 0.5
    g2_zero: float = 0.0
    g2_zero_err: float = 0.0

    def side(self, g: float | None = None) -> float:
        """Mean area of the peaks at ±1 period (units of μ² per pulse pair)."""
        g = self.g2_zero if g is None else g
        a, b, r = self.short_share, 1 - self.short_share, self.reflectance
        t = 1 - r
        return r * t * (a * a + b * b) + a * b * (1 + g) * (r * r + t * t) / 2

    def ratio(self, m: float, g: float | None = None) -> float:
        """C0 / C±1 for indistinguishability ``m``."""
        g = self.g2_zero if g is None else g
        a, b, r = self.short_share, 1 - self.short_share, self.reflectance
        t = 1 - r
        centre = g * r * t * (a * a + b * b) + a * b * (r * r + t * t - 2 * r * t * m)
        return centre / self.side(g)

    def slope(self, g: float | None = None) -> float:
        """How much the ratio falls per unit of indistinguishability."""
        a, r = self.short_share, self.reflectance
        return 2 * a * (1 - a) * r * (1 - r) / self.side(g)


@dataclass(frozen=True)
class HomPeaks:
    """The five-peak pattern of one run.

    Attributes
    ----------
    areas
        Coincidences in one-period windows around m periods from the zero-delay peak.
    ratio, ratio_err
        Zero-delay area over the mean of the areas at ±1 period, and its error (Poisson).
    period_ps, offset_ps
        The laser period and the zero-delay peak's position, ps.
    warnings
        What may make it wrong.
    """

    areas: dict[int, float]
    ratio: float
    ratio_err: float
    period_ps: float
    offset_ps: float
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Indistinguishability:
    """M (and, with a crossed reference, V_HOM) with one-sigma errors.

    ``value`` and ``error`` are M's; ``visibility`` and ``visibility_err`` are V_HOM's (``None``
    without a reference); ``reference`` says how M was made (``"crossed run"`` or ``"model"``).
    """

    value: float
    error: float
    visibility: float | None
    visibility_err: float | None
    reference: str
    peaks: HomPeaks
    warnings: tuple[str, ...] = ()

    @property
    def period_ps(self) -> float:
        """The laser period, ps."""
        return self.peaks.period_ps


def hom_peaks(result: G2Result, delays_given: bool = False) -> HomPeaks:
    """The five peaks of a pulsed HOM histogram (τ = t_B − t_A), in one-period windows around
    the comb position nearest zero lag.

    Raises
    ------
    AnalysisError
        No laser period, a channel without photons, the window too short, or no coincidences
        next to zero delay.
    """
    for label, n in zip(result.channels, (result.n_a, result.n_b), strict=True):
        if n == 0:
            raise AnalysisError(f"no photons on {label}")
    if not result.period_ps:
        raise AnalysisError("HOM peaks need pulsed excitation with a known laser period")
    period = float(result.period_ps)
    hist = as_histogram(result.edges_ps, result.counts, result.expected)
    offset = 0.0 if delays_given else phase_offset(hist, period)
    require_windows(hist, period, offset)
    areas = {}
    lo, hi = hist.span
    for m in PEAKS:
        c = offset + m * period
        if c - period / 2 >= lo - 1e-6 and c + period / 2 <= hi + 1e-6:
            areas[m] = window_sum(hist, hist.counts, c - period / 2, c + period / 2)
    side = 0.5 * (areas[-1] + areas[1])
    if side <= 0:
        raise AnalysisError("the peaks next to zero delay hold no coincidences")
    ratio = areas[0] / side
    error = np.sqrt(max(areas[0], 1.0) / side**2 + ratio**2 / (areas[-1] + areas[1]))
    warnings = ()
    if abs(offset) >= 0.25 * period:
        warnings = (f"the zero-delay peak sits at {offset / 1e3:+.3g} ns: give the cable delays "
                    "so that the right peak is taken",)  # fmt: skip
    return HomPeaks(areas, float(ratio), float(error), period, offset, warnings)


def indistinguishability(
    parallel: HomPeaks, setup: Interferometer, crossed: tuple[float, float] | None = None
) -> Indistinguishability:
    """M from the parallel run's peaks, against a crossed run's ratio ``(r⊥, error)`` when
    given (V_HOM too), else against the model's ratio for M = 0 (see the module docstring).
    The source's g2(0) error enters through the slope and the model ratio."""
    r, r_err = parallel.ratio, parallel.ratio_err
    g, g_err = setup.g2_zero, setup.g2_zero_err
    k = setup.slope(g)
    dk = abs(setup.slope(g + g_err) - k) if g_err else 0.0
    if crossed is not None:
        r_perp, r_perp_err = crossed
        if r_perp <= 0:
            raise AnalysisError("the crossed run's ratio must be positive")
        m = (r_perp - r) / k
        err = np.hypot(np.hypot(r_err, r_perp_err) / k, m * dk / k)
        v = 1 - r / r_perp
        v_err = np.hypot(r_err / r_perp, r * r_perp_err / r_perp**2)
        return Indistinguishability(float(m), float(err), float(v), float(v_err), "crossed run",
                                    parallel, parallel.warnings)  # fmt: skip
    r0 = setup.ratio(0.0, g)
    dr0 = abs(setup.ratio(0.0, g + g_err) - r0) if g_err else 0.0
    m = (r0 - r) / k
    err = np.hypot(np.hypot(r_err, dr0) / k, m * dk / k)
    return Indistinguishability(float(m), float(err), None, None, "model", parallel,
                                parallel.warnings)  # fmt: skip
