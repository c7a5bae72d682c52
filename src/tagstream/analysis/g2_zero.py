"""g2(0) of a g2 histogram, pulsed or CW, chosen from the run or from the histogram itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import AnalysisError
from ..tags import parse_period_ps
from .g2_fits import CWG2Fit, PulsedG2, find_period, fit_cw, pulsed_g2_zero

if TYPE_CHECKING:
    from .g2 import G2Result

EXCITATIONS = ("auto", "pulsed", "cw")


@dataclass(frozen=True)
class G2Zero:
    """g2(0) with its one-sigma uncertainty and how it was obtained.

    ``float(g2_zero)`` gives the value. ``detail`` holds the full pulsed result or CW fit.
    """

    value: float
    error: float
    excitation: str
    method: str
    pair: tuple[str, str]
    period_ps: float | None
    rate_per_ns: float | None
    detail: PulsedG2 | CWG2Fit

    def __float__(self) -> float:
        return self.value

    def __str__(self) -> str:
        how = f"{self.excitation}, {self.method}"
        return f"g2(0) = {self.value:.4f} ± {self.error:.4f} ({how})"

    @property
    def purity(self) -> float:
        """Single-photon purity, 1 - g2(0)."""
        return 1.0 - self.value

    def to_dict(self) -> dict[str, Any]:
        """The ``g2`` block of the summary JSON."""
        return {"pair": list(self.pair), **self.detail.to_dict()}


def estimate_g2_zero(
    result: G2Result, excitation: str = "auto", period: str | float | None = None, **options
) -> G2Zero:
    """g2(0) of ``result``: pulsed (adjacent-peak ratio) or CW (antibunching fit).

    ``"auto"`` takes pulsed excitation when a period is given or known from the run, or when the
    histogram shows periodic peaks; CW otherwise.
    """
    if excitation not in EXCITATIONS:
        raise AnalysisError(f"g2(0): excitation must be one of {EXCITATIONS}, got {excitation!r}")
    period_ps = parse_period_ps(period, "period") if period is not None else result.period_ps
    if excitation == "auto":
        excitation = "pulsed" if period_ps is not None or _has_peaks(result) else "cw"
    if excitation == "pulsed":
        pulsed = pulsed_g2_zero(
            result.edges_ps, result.counts, result.expected, period_ps=period_ps, **options
        )
        return G2Zero(
            pulsed.value,
            pulsed.error,
            "pulsed",
            pulsed.method,
            result.channels,
            pulsed.period_ps,
            None,
            pulsed,
        )
    cw = fit_cw(result.edges_ps, result.counts, result.expected, **options)
    return G2Zero(
        cw.g2_zero, cw.g2_zero_err, "cw", "fit", result.channels, None, cw.rate_per_ns, cw
    )


def _has_peaks(result: G2Result) -> bool:
    try:
        find_period(result.edges_ps, result.counts)
    except AnalysisError:
        return False
    return True
