"""The result of a pulsed g2(0): :class:`PulsedG2`, made by
:func:`~tagstream.analysis.g2_pulsed.pulsed_g2_zero` from one-period windows
(:mod:`~tagstream.analysis.g2_pulsed_window`) or from a fit of the peak comb
(:mod:`~tagstream.analysis.g2_pulsed_fit`). Times in ps."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class PulsedG2:
    """g2(0) of a pulsed g2 histogram.

    Attributes
    ----------
    value, error
        g2(0) and its one-sigma uncertainty.
    method
        ``"window"`` or ``"fit"``: how the areas were obtained.
    period_ps, offset_ps
        Repetition period (refined by the fit when it was found from the data) and position of
        the zero-delay peak, ps.
    areas
        Coincidences per period around delays ``k * period + offset`` for ``k = -1, 0, +1``
        (flat background included; leak-free for the fit).
    adjacent_norm
        Mean adjacent area over the uncorrelated expectation in one period (1 without
        blinking, above 1 with it); ``None`` without ``expected``.
    leakage
        Fraction of an adjacent peak's area outside its one-period window (from the decay time
        used to choose the method); ``None`` if no decay time was known.
    peak_decay_ps, central_decay_ps, jitter_ps
        Fitted decay constant of the side peaks and of the zero-delay peak, and the Gaussian
        jitter (standard deviation of the delay), ps; ``None`` if not fitted (set for windows
        chosen by ``"auto"`` after fitting).
    background
        Fitted flat background, counts per bin; ``None`` without the fit.
    deviance, dof, model
        Poisson deviance, degrees of freedom and expected counts per bin of the fit; ``None``
        without the fit.
    warnings
        What may make the value wrong or uninformative (a displaced zero-delay peak, g2(0) above
        one, an uncertainty too large to tell one emitter from two).
    """

    value: float
    error: float
    method: str
    period_ps: float
    offset_ps: float
    areas: dict[int, float]
    adjacent_norm: float | None = None
    leakage: float | None = None
    peak_decay_ps: float | None = None
    central_decay_ps: float | None = None
    jitter_ps: float | None = None
    background: float | None = None
    deviance: float | None = None
    dof: int | None = None
    model: np.ndarray | None = field(default=None, repr=False, compare=False)
    warnings: tuple[str, ...] = ()

    @property
    def purity(self) -> float:
        """Single-photon purity, ``1 - g2(0)``."""
        return 1.0 - self.value

    def to_dict(self) -> dict[str, object]:
        """The ``g2`` block of the summary JSON (without ``pair`` and ``note``)."""
        return {
            "excitation": "pulsed",
            "period_ns": self.period_ps / 1e3,
            "g2_zero": float(self.value),
            "g2_zero_err": float(self.error),
            "rate_per_ns": None,
            "method": self.method,
            "zero_delay_ns": self.offset_ps / 1e3,
            "jitter_ps": self.jitter_ps if self.method == "fit" else None,
        }
