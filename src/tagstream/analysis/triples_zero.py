"""g3(0, 0) and the heralded g2(0) from triple coincidences (:class:`~.triples.TripleResult`).

Pulsed: each quantity is a ratio of peak areas summed over one-period windows (bins split at a
window limit count by the covered fraction), with the zero-delay peaks at the comb positions of
the two pair histograms nearest zero lag (cable delays given in the settings are taken off
before).

* g3(0, 0) = the central triple peak over the mean of the *side* peaks in which all three
  photons come from different pulses, (k, m) periods with k, m, k − m all non-zero and
  |k|, |m| ≤ 2: the nearest such peaks, as blinking bunches far ones.
* heralded g2(0) = N_H · N_HAB / (N_HA · N_HB), with H the reference channel (the herald),
  N_H its photons, N_HA and N_HB the pairs in the zero-delay peaks of H–A and H–B, N_HAB the
  triples in the central peak: the g2 of A and B in the herald's pulses (1 for uncorrelated
  light, 0 for one photon per herald).

CW: the same ratios over a square (heralded: a window) of ``zero_window`` around zero lag;
g3(0, 0) over the uncorrelated expectation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import AnalysisError
from .g2_histogram import COMB_MIN_SIGMA, as_histogram, covered_fraction, phase_offset
from .g2_pulsed_window import peak_leakage
from .triples import TripleResult

#: Side peaks of g3: (k, m) periods of (τ1, τ2), all three pulses different, |k|, |m| <= 2.
SIDE_PEAKS = tuple(
    (k, m) for k in range(-2, 3) for m in range(-2, 3) if k and m and k != m
)  # fmt: skip
#: A zero-delay peak this fraction of a period from zero lag (or more) is warned about.
OFFSET_WARNING_PERIODS = 0.25
#: Largest fraction of a peak outside its window without a warning.
MAX_LEAKAGE = 1e-3


@dataclass(frozen=True)
class TripleValue:
    """g3(0, 0) or a heralded g2(0) with its one-sigma uncertainty.

    Attributes
    ----------
    value, error
        The value and its one-sigma (Poisson) uncertainty.
    excitation
        ``"pulsed"`` or ``"cw"``.
    centre_ps
        Position of the zero-delay peak on the τ1 and τ2 axes, ps.
    window_ps
        Width of the windows summed: the period (pulsed) or the zero window (CW), ps.
    counts
        The coincidence numbers the value is made of (``"central"``, ``"side_mean"``; or
        ``"herald"``, ``"pairs_a"``, ``"pairs_b"``, ``"triples"``).
    warnings
        What may make it wrong or uninformative.
    """

    value: float
    error: float
    excitation: str
    centre_ps: tuple[float, float]
    window_ps: float
    counts: dict[str, float]
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """The JSON fields (times in ns)."""
        return {
            "value": self.value,
            "error": self.error,
            "excitation": self.excitation,
            "zero_delay_ns": [c / 1e3 for c in self.centre_ps],
            "window_ns": self.window_ps / 1e3,
            "counts": dict(self.counts),
        }


def g3_zero(result: TripleResult, excitation: str, zero_window_ps: float) -> TripleValue:
    """g3(0, 0) of three detectors (see the module docstring).

    Raises
    ------
    AnalysisError
        A channel without photons, no period for pulsed data, or a window too short for the
        nearest side peaks.
    """
    _need_photons(result)
    if excitation == "pulsed":
        period = _period(result)
        _need_window(result, 1.5 * period, "the nearest side peaks")
        centre = _centres(result, period)
        if result.edges_ps[-1] < 1.5 * period + max(abs(c) for c in centre):
            raise AnalysisError(
                f"the window ±{result.edges_ps[-1] / 1e3:g} ns holds no side peak around the "
                f"zero-delay peak: widen it to at least 1.5 periods ({1.5 * period / 1e3:g} ns) "
                "beyond it (2.5 periods take the nearest twelve side peaks)"
            )
        central = _area2(result, centre, (0, 0), period)
        sides = [_area2(result, centre, km, period) for km in SIDE_PEAKS
                 if _inside(result, centre, km, period)]  # fmt: skip
        total = float(sum(sides))
        if total <= 0:
            raise AnalysisError("the side peaks hold no triples")
        mean_side = total / len(sides)
        value = central / mean_side
        error = np.sqrt(max(central, 1.0) / mean_side**2 + value**2 / total)
        counts = {"central": central, "side_mean": mean_side, "side_peaks": len(sides)}
        warnings = _offset_warnings(centre, period) + _none_warning(central, 1 / mean_side)
        width = period
    else:
        centre, width = (0.0, 0.0), float(zero_window_ps)
        central = _area2(result, centre, (0, 0), width)
        expected = float(result.expected.flat[0]) * (width / result.bin_ps) ** 2
        if expected <= 0:
            raise AnalysisError("no live time")
        value = central / expected
        error = np.sqrt(max(central, 1.0)) / expected
        counts = {"central": central, "expected": expected}
        warnings = _none_warning(central, 1 / expected)
    warnings += _precision_warnings(value, error, "g3(0,0)")
    return TripleValue(float(value), float(error), excitation, centre, width, counts, warnings)


def heralded_g2_zero(result: TripleResult, excitation: str, zero_window_ps: float) -> TripleValue:
    """The g2(0) of channels B and C given a photon on the reference channel (the herald), see
    the module docstring.

    Raises
    ------
    AnalysisError
        A channel without photons, no period for pulsed data, or no herald–detector pairs.
    """
    _need_photons(result)
    if excitation == "pulsed":
        width = _period(result)
        _need_window(result, 1.0 * width, "the comb of pair peaks")
        centre = _centres(result, width)
        warnings = _offset_warnings(centre, width)
    else:
        width, centre, warnings = float(zero_window_ps), (0.0, 0.0), ()
    if not _inside(result, centre, (0, 0), width):
        raise AnalysisError(
            f"the window ±{result.edges_ps[-1] / 1e3:g} ns does not hold the zero-delay peaks' "
            f"windows ({width / 1e3:g} ns wide around {centre[0] / 1e3:.3g} and "
            f"{centre[1] / 1e3:.3g} ns): widen it"
        )
    hist = as_histogram(result.edges_ps, result.pair_ab)
    f_a = covered_fraction(hist, centre[0] - width / 2, centre[0] + width / 2)
    f_b = covered_fraction(hist, centre[1] - width / 2, centre[1] + width / 2)
    pairs_a, pairs_b = float(f_a @ result.pair_ab), float(f_b @ result.pair_ac)
    if pairs_a <= 0 or pairs_b <= 0:
        raise AnalysisError("no coincidences of the herald with both detectors")
    triples = float(f_a @ result.counts @ f_b)
    herald = float(result.n_abc[0])
    value = herald * triples / (pairs_a * pairs_b)
    error = _heralded_error(herald, pairs_a, pairs_b, triples)
    counts = {"herald": herald, "pairs_a": pairs_a, "pairs_b": pairs_b, "triples": triples}
    warnings += _none_warning(triples, herald / (pairs_a * pairs_b))
    warnings += _precision_warnings(value, error, "heralded g2(0)")
    return TripleValue(float(value), float(error), excitation, centre, width, counts, warnings)


# ---------------------------------------------------------------------- helpers
def _heralded_error(herald: float, pairs_a: float, pairs_b: float, triples: float) -> float:
    """One sigma of N_H N_HAB / (N_HA N_HB) for Poisson counts, with the covariances of counts
    that share events (each triple is also one H–A and one H–B pair): relative variance
    1/N_HAB − 1/N_HA − 1/N_HB + 2 N_HAB / (N_HA N_HB); with no triple, that of one."""
    n = max(triples, 1.0)
    rel = 1 / n - 1 / pairs_a - 1 / pairs_b + 2 * n / (pairs_a * pairs_b)
    return float(herald * n / (pairs_a * pairs_b) * np.sqrt(max(rel, 0.0)))


def leakage_warnings(period_ps: float, lifetime_ps: float | None, jitter_ps: float = 0.0):
    """A warning when more than :data:`MAX_LEAKAGE` of a peak (the emitter's decay, two-sided,
    broadened by the jitter) falls outside its one-period window: the window sums then mix
    neighbouring pulses' photons, which biases ratios of peak areas."""
    if not lifetime_ps:
        return ()
    leak = peak_leakage(period_ps, lifetime_ps, jitter_ps)
    if leak <= MAX_LEAKAGE:
        return ()
    return (
        f"{100 * leak:.2g} % of each peak lies outside its {period_ps / 1e3:.4g} ns window "
        f"(lifetime {lifetime_ps / 1e3:.3g} ns): neighbouring pulses' photons mix into the peak "
        "areas and bias the ratio; a lower repetition rate separates them",
    )


def _need_photons(result: TripleResult) -> None:
    for label, n in zip(result.channels, result.n_abc, strict=True):
        if n == 0:
            raise AnalysisError(f"no photons on {label}")


def _period(result: TripleResult) -> float:
    if not result.period_ps:
        raise AnalysisError("pulsed excitation needs the laser period (none in the run)")
    if result.period_ps < 4 * result.bin_ps:
        raise AnalysisError(f"the period ({result.period_ps:.0f} ps) is shorter than four bins")
    return float(result.period_ps)


def _need_window(result: TripleResult, reach_ps: float, what: str) -> None:
    """An error asking for a window of at least ``reach_ps`` each side when it is shorter."""
    if result.edges_ps[-1] < reach_ps * (1 - 1e-9):
        raise AnalysisError(
            f"the window ±{result.edges_ps[-1] / 1e3:g} ns is too short for {what}: widen it "
            f"to at least ±{reach_ps / 1e3:g} ns"
        )


def _centres(result: TripleResult, period: float) -> tuple[float, float]:
    """Zero-delay peak position on each axis: the comb position of the pair histogram nearest
    zero (0 when the pairs show no comb)."""
    out = []
    for pairs in (result.pair_ab, result.pair_ac):
        if pairs.sum() <= COMB_MIN_SIGMA**2:
            out.append(0.0)
            continue
        out.append(phase_offset(as_histogram(result.edges_ps, pairs), period))
    return (out[0], out[1])


def _fractions(result: TripleResult, lo: float, hi: float) -> np.ndarray:
    return covered_fraction(as_histogram(result.edges_ps, result.pair_ab), lo, hi)


def _area2(result: TripleResult, centre, km: tuple[int, int], width: float) -> float:
    """Triples in the square of side ``width`` around ``centre + km * width``."""
    (c1, c2), (k, m) = centre, km
    f1 = _fractions(result, c1 + k * width - width / 2, c1 + k * width + width / 2)
    f2 = _fractions(result, c2 + m * width - width / 2, c2 + m * width + width / 2)
    return float(f1 @ result.counts @ f2)


def _inside(result: TripleResult, centre, km: tuple[int, int], period: float) -> bool:
    reach = float(result.edges_ps[-1]) * (1 + 1e-9)
    return all(abs(c + j * period) + period / 2 <= reach for c, j in zip(centre, km, strict=True))


def _offset_warnings(centre: tuple[float, float], period: float) -> tuple[str, ...]:
    far = [c for c in centre if abs(c) >= OFFSET_WARNING_PERIODS * period]
    if not far:
        return ()
    return (
        f"a zero-delay peak lies {max(abs(c) for c in far) / 1e3:.3g} ns from zero lag: if a "
        "cable delay moved it by more than half a period, give the delays in the settings",
    )


def _none_warning(triples: float, per_triple: float) -> tuple[str, ...]:
    """With no triple at zero delay the value is 0 and its error that of one triple: say what
    the data allow instead, the 95 % upper limit (3 triples' worth)."""
    if triples > 0:
        return ()
    return (f"no triples at zero delay: the value lies below {3 * per_triple:.2g} (95 %)",)


def _precision_warnings(value: float, error: float, name: str) -> tuple[str, ...]:
    if error > 0.25 and error > 0.5 * abs(value):
        return (f"{name} is uncertain (± {error:.2g}): record longer",)
    return ()
