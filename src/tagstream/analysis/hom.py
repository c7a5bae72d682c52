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
from .g2_pulsed import zero_delay_peak

#: The five peaks of the pattern, in periods.
PEAKS = (-2, -1, 0, 1, 2)
#: A floor of accidentals above this share of a peak next to zero delay is warned about.
FLOOR_WARNING = 0.02


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

    def far(self) -> float:
        """Area of the peaks at |m| >= 2 periods (no photon of the pair meets another)."""
        a, r = self.short_share, self.reflectance
        b, t = 1 - a, 1 - r
        return (a * t + b * r) * (a * r + b * t)

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
        Coincidences in one-period windows around m periods from the zero-delay peak, less
        the flat floor of accidentals (dark counts, background).
    floor
        That floor per window (from the bins within a tenth of a period of the windows' edges,
        where the peaks have decayed).
    ratio, ratio_err
        Zero-delay area over the mean of the areas at ±1 period, and its error (Poisson).
    period_ps, offset_ps
        The laser period and the zero-delay peak's position, ps.
    warnings
        What may make it wrong.
    """

    areas: dict[int, float]
    floor: float
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
    """The five peaks of a pulsed HOM histogram (τ = t_B − t_A) in one-period windows, less the
    flat floor of accidentals. The zero-delay peak is the comb's peak nearest zero lag, unless
    (delays not given) another within one period is a significant dip: the HOM dip displaced by
    a cable delay.

    Raises
    ------
    AnalysisError
        No laser period, a channel without photons, bins too coarse, the window too short, or
        no coincidences next to zero delay.
    """
    for label, n in zip(result.channels, (result.n_a, result.n_b), strict=True):
        if n == 0:
            raise AnalysisError(f"no photons on {label}")
    if not result.period_ps:
        raise AnalysisError("HOM peaks need pulsed excitation with a known laser period")
    period = float(result.period_ps)
    if period < 8 * result.bin_ps:
        raise AnalysisError(f"the bin ({result.bin_ps} ps) must be below 1/8 of the period "
                            f"({period:.0f} ps)")  # fmt: skip
    hist = as_histogram(result.edges_ps, result.counts, result.expected)
    offset = 0.0
    if not delays_given:
        offset = zero_delay_peak(hist, period, phase_offset(hist, period))
    require_windows(hist, period, offset)
    raw, edge_counts, edge_ps = {}, 0.0, 0.0
    lo, hi = hist.span
    for m in PEAKS:
        c = offset + m * period
        if c - period / 2 >= lo - 1e-6 and c + period / 2 <= hi + 1e-6:
            raw[m] = window_sum(hist, hist.counts, c - period / 2, c + period / 2)
            for a, b in ((c - period / 2, c - 0.4 * period), (c + 0.4 * period, c + period / 2)):
                edge_counts += window_sum(hist, hist.counts, a, b)
                edge_ps += b - a
    floor = edge_counts / edge_ps * period  # per one-period window
    floor_var = edge_counts * (period / edge_ps) ** 2
    areas = {m: a - floor for m, a in raw.items()}
    side = 0.5 * (areas[-1] + areas[1])
    if side <= 0:
        raise AnalysisError("the peaks next to zero delay hold no coincidences above the floor")
    ratio = areas[0] / side
    # Poisson: each raw area, and the floor taken off all of them
    var0 = max(raw[0], 1.0) + floor_var
    var_side = (raw[-1] + raw[1]) / 4 + floor_var
    # the floor is common to both: its share of the covariance
    error = np.sqrt(max(var0 + ratio**2 * var_side - 2 * ratio * floor_var, 0.0) / side**2)
    warnings = ()
    if abs(offset) >= 0.25 * period:
        warnings += (f"the zero-delay peak sits at {offset / 1e3:+.3g} ns: give the cable "
                     "delays so that the right peak is taken",)  # fmt: skip
    if floor > FLOOR_WARNING * side:
        warnings += (f"accidentals (dark counts, background) make {100 * floor / side:.0f} % of "
                     "a peak next to zero delay; they are taken off as a flat floor",)  # fmt: skip
    return HomPeaks(areas, float(floor), float(ratio), float(error), period, offset, warnings)


def far_check(peaks: HomPeaks, setup: Interferometer) -> tuple[str, ...]:
    """A warning when the peaks at ±1 over those at ±2 periods differ by more than 3σ from the
    model's (splitters' ratios or the source's g2(0) not as set, or the floor not flat)."""
    a = peaks.areas
    if -2 not in a or 2 not in a or a[-2] + a[2] <= 0:
        return ()
    measured = (a[-1] + a[1]) / (a[-2] + a[2])
    want = setup.side() / setup.far()
    error = measured * np.sqrt(1 / max(a[-1] + a[1], 1.0) + 1 / (a[-2] + a[2]))
    if abs(measured - want) <= 3 * error:
        return ()
    return (
        f"the peaks at ±1 over those at ±2 periods are {measured:.3f} ± {error:.3f}, the "
        f"model's {want:.3f} for these settings: check short_share, reflectance and g2_zero",
    )


def indistinguishability(
    parallel: HomPeaks, setup: Interferometer, crossed: tuple[float, float] | None = None
) -> Indistinguishability:
    """M from the parallel run's peaks, against a crossed run's ratio ``(r⊥, error)`` when
    given (V_HOM too), else against the model's ratio for M = 0 (see the module docstring).
    The source's g2(0) error enters through the slope and the model ratio."""
    r, r_err = parallel.ratio, parallel.ratio_err
    g, g_err = setup.g2_zero, setup.g2_zero_err
    k = setup.slope(g)
    warnings = parallel.warnings + far_check(parallel, setup)

    def m_of(g_value: float) -> float:
        reference = crossed[0] if crossed is not None else setup.ratio(0.0, g_value)
        return (reference - r) / setup.slope(g_value)

    m = m_of(g)
    dm_g = abs(m_of(g + g_err) - m) if g_err else 0.0
    if crossed is not None:
        r_perp, r_perp_err = crossed
        if r_perp <= 0:
            raise AnalysisError("the crossed run's ratio must be positive")
        err = np.hypot(np.hypot(r_err, r_perp_err) / k, dm_g)
        v = 1 - r / r_perp
        v_err = np.hypot(r_err / r_perp, r * r_perp_err / r_perp**2)
        return Indistinguishability(float(m), float(err), float(v), float(v_err), "crossed run",
                                    parallel, warnings + _range_warning(m, err))  # fmt: skip
    err = np.hypot(r_err / k, dm_g)
    return Indistinguishability(float(m), float(err), None, None, "model", parallel,
                                warnings + _range_warning(m, err))  # fmt: skip


def _range_warning(m: float, error: float) -> tuple[str, ...]:
    """M outside [0, 1] by more than 3σ: the wrong peak taken, settings off, or no
    interferometer."""
    if -3 * error <= m <= 1 + 3 * error:
        return ()
    return (f"M = {m:.3g} ± {error:.2g} lies outside [0, 1]: check the delays (the zero-delay "
            "peak taken), the splitters' settings and g2_zero",)  # fmt: skip
