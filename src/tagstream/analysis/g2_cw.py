"""g2 under CW excitation: a fit of the antibunching dip,

``g2(tau) = A [1 - (1 + a - g0) exp(-k |tau - tau0|) + a exp(-|tau - tau0| / tau_b)]``,

optionally convolved with a Gaussian timing jitter, by Poisson maximum likelihood on the raw
coincidences (expected counts = uncorrelated expectation x model).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.special import chdtrc  # chi2.sf without importing scipy.stats (slow)

from ..errors import AnalysisError, FitError
from .fit_progress import announce
from .g2_histogram import UNINFORMATIVE_ERROR, G2Histogram, as_histogram
from .peak_shapes import laplace_gauss_cdf_derivs
from .poisson_fit import PoissonFit, fit_poisson
from .shapes import laplace_gauss_bins

#: A fit whose deviance exceeds this many times its degrees of freedom (and is improbable) does
#: not describe the histogram.
POOR_FIT_REDUCED_DEVIANCE = 1.5


@dataclass(frozen=True)
class CWG2Fit:
    """Fit of a CW g2 histogram (see :func:`fit_cw`).

    Attributes
    ----------
    g2_zero, g2_zero_err
        g0, the depth the antibunching dip would reach without timing jitter, and its error.
        Not held at 0 or above (down to -1), so that it is unbiased near 0; a negative value
        comes with a warning.
    rate_per_ps, rate_err_per_ps
        Effective antibunching rate ``k`` (radiative plus pump rate), 1/ps.
    offset_ps, offset_err_ps
        Position ``tau0`` of the dip, ps.
    scale, scale_err
        Normalisation ``A`` (g2 at long delays without bunching).
    bunching_amplitude, bunching_amplitude_err, bunching_time_ps, bunching_time_err_ps
        ``a`` and ``tau_b`` (ps); ``None`` when fitted without bunching.
    jitter_ps, jitter_err_ps
        Gaussian jitter of the delay (standard deviation), ps; ``None`` without convolution,
        error 0 when the jitter was fixed.
    deviance, dof, model
        Poisson deviance, degrees of freedom and fitted counts per bin.
    """

    g2_zero: float
    g2_zero_err: float
    rate_per_ps: float
    rate_err_per_ps: float
    offset_ps: float
    offset_err_ps: float
    scale: float
    scale_err: float
    bunching_amplitude: float | None
    bunching_amplitude_err: float | None
    bunching_time_ps: float | None
    bunching_time_err_ps: float | None
    jitter_ps: float | None
    jitter_err_ps: float | None
    deviance: float
    dof: int
    model: np.ndarray = field(repr=False, compare=False)

    @property
    def rate_per_ns(self) -> float:
        """Effective antibunching rate, 1/ns."""
        return self.rate_per_ps * 1e3

    @property
    def rate_err_per_ns(self) -> float:
        """One-sigma uncertainty of the antibunching rate, per ns."""
        return self.rate_err_per_ps * 1e3

    @property
    def reduced_deviance(self) -> float:
        """Deviance per degree of freedom (about 1 for a good fit; NaN without degrees of
        freedom)."""
        return self.deviance / self.dof if self.dof > 0 else float("nan")

    @property
    def purity(self) -> float:
        """Single-photon purity, ``1 - g2(0)``."""
        return 1.0 - self.g2_zero

    @property
    def warnings(self) -> tuple[str, ...]:
        """What may make g2(0) wrong or uninformative."""
        out = []
        if self.g2_zero < 0.0:
            consistent = self.g2_zero + 2 * self.g2_zero_err >= 0
            out.append(
                f"g2(0) = {self.g2_zero:.2g} ± {self.g2_zero_err:.2g} lies below 0, where no "
                "light can be: "
                + (
                    "the fit is left free there so that it is unbiased; read it as 0 within "
                    "its error"
                    if consistent
                    else "significantly so, the model does not fit the histogram"
                )
            )
        if self.g2_zero > 1.0:
            out.append(
                f"g2(0) = {self.g2_zero:.3g} is above 1 (negative purity): no antibunching dip"
            )
        poor = self.dof > 0 and self.deviance > POOR_FIT_REDUCED_DEVIANCE * self.dof
        if poor and chdtrc(self.dof, self.deviance) < 1e-6:
            out.append(
                f"the antibunching model does not describe the histogram (deviance "
                f"{self.deviance:.0f} for {self.dof} degrees of freedom): pulsed light, or "
                "bunching from blinking ([analysis] excitation, bunching)?"
            )
        if not self.g2_zero_err <= UNINFORMATIVE_ERROR:
            out.append(
                f"g2(0) = {self.g2_zero:.2g} ± {self.g2_zero_err:.2g} carries no information: "
                "the uncertainty cannot tell one emitter (g2(0) < 0.5) from two"
            )
        return tuple(out)

    def to_dict(self) -> dict[str, object]:
        """The ``g2`` block of the summary JSON (without ``pair`` and ``note``)."""
        return {
            "excitation": "cw",
            "period_ns": None,
            "g2_zero": float(self.g2_zero),
            "g2_zero_err": float(self.g2_zero_err),
            "rate_per_ns": float(self.rate_per_ns),
            "method": "cw-fit",
            "zero_delay_ns": self.offset_ps / 1e3,
            "jitter_ps": self.jitter_ps,
        }


def fit_cw(
    edges_ps: np.ndarray,
    counts: np.ndarray,
    expected: np.ndarray,
    jitter_ps: float | Literal["fit"] | None = None,
    bunching: bool = False,
) -> CWG2Fit:
    """Fit a CW g2 histogram by Poisson maximum likelihood.

    The model is ``mu = expected * g2(tau)`` with
    ``g2 = A [1 - (1 + a - g0) exp(-k |tau - tau0|) + a exp(-|tau - tau0| / tau_b)]``
    averaged over each bin (``a = 0`` without bunching), optionally convolved with a Gaussian.
    ``k`` is an *effective* rate: the radiative rate plus the pump (excitation) rate, so it
    grows with the excitation power; it is not the inverse lifetime.

    Parameters
    ----------
    edges_ps, counts, expected
        The histogram: uniform bin edges (ps), coincidences and uncorrelated coincidences per bin.
    jitter_ps
        ``None``: no convolution; a number: fixed Gaussian jitter of the delay (standard
        deviation, ps: both detectors together); ``"fit"``: the jitter is a free parameter.
    bunching
        Add the bunching term (blinking) with free ``a`` and ``tau_b``.

    Raises
    ------
    AnalysisError
        Invalid histogram or jitter setting.
    FitError
        Too few bins or a fit without usable uncertainties.
    """
    hist = as_histogram(edges_ps, counts, expected, need_expected=True)
    p0, bounds, scales = _cw_start(hist, bunching)
    fixed = _cw_jitter(jitter_ps, p0, hist)
    if not bunching:
        fixed += ["bunching", "tau_b"]
    announce("fitting g2 antibunching")
    fit = fit_poisson(
        _cw_model(hist),
        hist.counts,
        p0,
        bounds,
        fixed=fixed,
        scales=scales,
        jacobian=_cw_jacobian(hist, bunching),
    )
    return _cw_result(fit, jitter_ps, bunching)


def _cw_model(hist: G2Histogram) -> Callable[..., np.ndarray]:
    expected = hist.expected

    def model(**p: float) -> np.ndarray:
        shifted = hist.edges - p["offset"]
        dip = laplace_gauss_bins(shifted, p["rate"], p["jitter"])
        g2 = 1.0 - (1.0 + p["bunching"] - p["g0"]) * dip
        if p["bunching"] != 0:
            g2 = g2 + p["bunching"] * laplace_gauss_bins(shifted, 1.0 / p["tau_b"], p["jitter"])
        return expected * p["scale"] * g2

    return model


def _cw_jacobian(hist: G2Histogram, bunching: bool) -> Callable[..., tuple[np.ndarray, dict]]:
    """The model of :func:`_cw_model` with its derivatives by every parameter (by ``bunching``
    and ``tau_b`` only when ``bunching``)."""
    expected = hist.expected
    widths = np.diff(hist.edges)

    def dip(rate: float, offset: float, jitter: float):
        """Bin average of the dip shape and its derivatives by rate, offset and jitter."""
        g, g_x, g_rate, g_sigma = laplace_gauss_cdf_derivs(hist.edges - offset, rate, jitter)
        norm = 2.0 / (rate * widths)
        value = norm * np.diff(g)
        return (
            value,
            norm * np.diff(g_rate) - value / rate,
            -norm * np.diff(g_x),
            norm * np.diff(g_sigma),
        )

    def jacobian(**p: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        scale, b = p["scale"], p["bunching"]
        depth = 1.0 + b - p["g0"]
        one, one_rate, one_offset, one_jitter = dip(p["rate"], p["offset"], p["jitter"])
        g2 = 1.0 - depth * one
        d_offset, d_jitter = -depth * one_offset, -depth * one_jitter
        derivs = {"g0": expected * scale * one, "rate": -expected * scale * depth * one_rate}
        if bunching:
            rate_b = 1.0 / p["tau_b"]
            two, two_rate, two_offset, two_jitter = dip(rate_b, p["offset"], p["jitter"])
            g2 = g2 + b * two
            d_offset, d_jitter = d_offset + b * two_offset, d_jitter + b * two_jitter
            derivs["bunching"] = expected * scale * (two - one)
            derivs["tau_b"] = -expected * scale * b * two_rate * rate_b * rate_b
        derivs.update(
            scale=expected * g2,
            offset=expected * scale * d_offset,
            jitter=expected * scale * d_jitter,
        )
        return expected * scale * g2, derivs

    return jacobian


def _cw_jitter(jitter_ps, p0: dict[str, float], hist: G2Histogram) -> list[str]:
    """Set the starting jitter and return the parameters to hold fixed for it."""
    if jitter_ps is None:
        p0["jitter"] = 0.0
        return ["jitter"]
    if isinstance(jitter_ps, str):
        if jitter_ps != "fit":
            raise AnalysisError(f"jitter_ps must be None, a number or 'fit', got {jitter_ps!r}")
        p0["jitter"] = min(hist.width, 0.3 / p0["rate"])
        return []
    jitter = float(jitter_ps)
    if not np.isfinite(jitter) or jitter < 0:
        raise AnalysisError(f"jitter_ps must be a non-negative number of ps, got {jitter}")
    p0["jitter"] = jitter
    return ["jitter"]


def _cw_start(hist: G2Histogram, bunching: bool):
    """Starting values, bounds and scales of the CW fit, read off the normalised histogram."""
    g2 = hist.counts / hist.expected
    x = hist.centres
    lo, hi = hist.span
    span = hi - lo
    edge = np.abs(x - 0.5 * (lo + hi)) > 0.4 * span
    scale = float(np.mean(g2[edge])) if g2[edge].sum() > 0 else float(np.mean(g2))
    if scale <= 0:
        raise FitError("the histogram is empty away from zero delay")
    smooth = _smooth(g2, _smoothing_width(hist.expected))
    centre = int(np.argmin(smooth))
    g0 = float(np.clip(smooth[centre] / scale, 0.02, 0.9))
    rate = _dip_rate(smooth / scale, centre, hist.width, g0)
    rate = float(np.clip(rate, 4.0 / span, 0.5 / hist.width))
    tau_b = span / 8
    far = (np.abs(x - x[centre]) > 3 / rate) & (np.abs(x - x[centre]) < 3 / rate + tau_b)
    excess = float(np.mean(g2[far]) / scale - 1.0) if far.any() else 0.0
    p0 = {
        "scale": scale,
        "g0": g0,
        "rate": rate,
        "offset": float(x[centre]),
        "bunching": max(excess, 0.05) if bunching else 0.0,
        "tau_b": tau_b,
    }
    bounds = {
        "scale": (1e-9 * scale, None),
        "g0": (-1.0, 10.0),
        "rate": (0.1 / span, 20.0 / hist.width),
        "offset": (lo, hi),
        "bunching": (0.0, 100.0),
        "tau_b": (2 * hist.width, 20 * span),
        "jitter": (0.0, 0.1 * span),
    }
    scales = {"g0": 0.1, "offset": hist.width, "bunching": 0.1, "jitter": hist.width}
    return p0, bounds, scales


def _smoothing_width(expected: np.ndarray) -> int:
    """Odd number of bins (at least 5, at most a twentieth of the histogram) holding about 50
    uncorrelated coincidences, so that the smoothed g2 is not dominated by noise."""
    width = int(np.ceil(50.0 / float(np.mean(expected))))
    width = min(max(width, 5), max(5, expected.size // 20))
    return width if width % 2 else width + 1


def _smooth(values: np.ndarray, width: int) -> np.ndarray:
    """Moving average over ``width`` bins, same length (shorter windows at the ends)."""
    kernel = np.ones(width)
    sums = np.convolve(values, kernel, mode="same")
    norm = np.convolve(np.ones_like(values), kernel, mode="same")
    return sums / norm


def _dip_rate(normalised: np.ndarray, centre: int, width: float, g0: float) -> float:
    """Rate (1/ps) from the area of the dip below one, walking out from its centre while the
    smoothed g2 stays below one: area = 2 (1 - g0) / k."""
    below = normalised < 1.0
    left = centre
    while left > 0 and below[left - 1]:
        left -= 1
    right = centre
    while right < normalised.size - 1 and below[right + 1]:
        right += 1
    area = float(np.sum(1.0 - normalised[left : right + 1])) * width
    return 2.0 * (1.0 - g0) / max(area, width)


def _cw_result(fit: PoissonFit, jitter_ps, bunching: bool) -> CWG2Fit:
    if not np.all(np.isfinite(fit.errors)) or fit.error("g0") <= 0:
        raise FitError("the CW g2 fit gives no usable uncertainty for g2(0)")
    convolved = jitter_ps is not None
    return CWG2Fit(
        g2_zero=fit["g0"],
        g2_zero_err=fit.error("g0"),
        rate_per_ps=fit["rate"],
        rate_err_per_ps=fit.error("rate"),
        offset_ps=fit["offset"],
        offset_err_ps=fit.error("offset"),
        scale=fit["scale"],
        scale_err=fit.error("scale"),
        bunching_amplitude=fit["bunching"] if bunching else None,
        bunching_amplitude_err=fit.error("bunching") if bunching else None,
        bunching_time_ps=fit["tau_b"] if bunching else None,
        bunching_time_err_ps=fit.error("tau_b") if bunching else None,
        jitter_ps=fit["jitter"] if convolved else None,
        jitter_err_ps=fit.error("jitter") if convolved else None,
        deviance=fit.deviance,
        dof=fit.dof,
        model=fit.expected,
    )
