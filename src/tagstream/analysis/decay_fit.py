"""Lifetime fits of decay histograms: one to three exponentials, instrument-response
reconvolution, Poisson maximum likelihood.

A decay histogram holds photon arrival times relative to the laser sync, in ps. The model of the
expected counts per bin is

    mu_j = sum_i N_i P_i(j) + background * width_j / typical_width

where ``N_i`` is the number of photons per period in component ``i`` and ``P_i(j)`` the probability
that one of them lands in bin ``j``: an exponential of lifetime ``tau_i`` launched by every pulse
of the train, folded onto one period (so the tails of earlier pulses wrap into the window when a
period is given), and broadened by the instrument response (IRF). Three IRFs are supported:

``"gaussian"``
    A Gaussian of width ``sigma`` centred on the pulse position ``shift``
    (:func:`~tagstream.analysis.shapes.periodic_exp_gauss_bins`).
``"measured"``
    A measured IRF histogram on the same (uniform) bins, shifted by a fitted ``shift`` (ps). Each
    IRF bin launches decays uniformly over its width; the decay is integrated exactly over the
    histogram bins, so the shift is continuous rather than interpolated. With a period the decay
    kernel is periodic: the convolution is then circular when the histogram spans exactly one
    period and linear (the IRF confined to the window) when it spans less.
``"none"``
    Bare exponentials starting at ``shift``, held at the start of the fitted range (a tail fit;
    amplitudes then refer to that time).

Pre-exponential amplitudes are ``a_i = N_i / tau_i`` (the decay launched by one pulse is
``sum a_i exp(-t / tau_i)``), and the intensity fractions are ``N_i / sum N``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import chdtrc  # chi2.sf without importing scipy.stats (slow)

from ..errors import FitError
from .decay_fit_cache import FIT_CACHE, problem_key, remember
from .decay_fit_checks import (
    checked_background,
    checked_guess,
    checked_histogram,
    checked_period,
    fit_bins,
    irf_kind,
)
from .decay_fit_problem import DecayProblem
from .decay_fit_start import split_starts, taus_of
from .fit_progress import announce
from .poisson_fit import PoissonFit

__all__ = ["MODELS", "DecayFit", "fit_decay"]

MODELS: dict[str, int] = {"mono": 1, "bi": 2, "tri": 3}

#: A lifetime whose one-sigma error exceeds this fraction of it is not determined.
UNDETERMINED_RELATIVE_ERROR = 0.5
#: A lifetime longer than this many histogram spans stands for a flat background.
LONG_COMPONENT_SPANS = 20.0
#: A fit whose deviance is this improbable for its degrees of freedom does not describe the data.
POOR_FIT_P_VALUE = 1e-6

_NAMES = {n: name for name, n in MODELS.items()}


@dataclass(frozen=True)
class DecayFit:
    """Outcome of :func:`fit_decay`. Times in ps; components sorted by lifetime.

    Attributes
    ----------
    model
        ``"mono"``, ``"bi"`` or ``"tri"``.
    tau_ps, tau_err_ps
        Lifetimes (ascending) and their one-sigma uncertainties, ps.
    amplitudes, amplitude_errs
        Normalised pre-exponential amplitudes ``a_i / sum a`` and their uncertainties.
    intensity_fractions
        Photon fractions ``a_i tau_i / sum a_j tau_j``.
    photons
        Photons per pulse in each component, over a whole period rather than only the fitted bins
        (without an IRF: for a pulse at the start of the fitted range).
    mean_tau_amplitude_ps, mean_tau_intensity_ps
        Amplitude-weighted ``sum a tau / sum a`` and intensity-weighted
        ``sum a tau^2 / sum a tau`` mean lifetimes, ps.
    background, background_err
        Constant background, counts per bin of the typical (median) fitted width; the error is 0
        when the background was fixed. A fitted background is not held at zero or above, so
        that its estimate stays unbiased: near zero it can come out slightly negative.
    shift_ps, shift_err_ps
        Gaussian IRF: pulse centre (ps since the sync). Measured IRF: delay of the IRF relative
        to its histogram. No IRF: start of the exponentials (fixed, error 0).
    irf
        ``"measured"``, ``"gaussian"`` or ``"none"``.
    irf_sigma_ps, irf_sigma_err_ps
        Width of the Gaussian IRF and its uncertainty (0 when fixed); ``None`` otherwise.
    period_ps
        Repetition period used for the wrapped tail, or ``None``.
    edges_ps, counts, expected
        Edges (ps), observed and model counts of the fitted bins.
    deviance, dof
        Poisson deviance and degrees of freedom; ``deviance / dof`` near 1 for a good fit.
    fit
        The underlying :class:`~tagstream.analysis.poisson_fit.PoissonFit`.
    model_warnings
        What the choice of this model found against it (a larger model that describes the data
        significantly better but was not taken); they lead :attr:`warnings`.
    """

    model: str
    tau_ps: np.ndarray
    tau_err_ps: np.ndarray
    amplitudes: np.ndarray
    amplitude_errs: np.ndarray
    intensity_fractions: np.ndarray
    photons: np.ndarray
    mean_tau_amplitude_ps: float
    mean_tau_intensity_ps: float
    background: float
    background_err: float
    shift_ps: float
    shift_err_ps: float
    irf: str
    irf_sigma_ps: float | None
    irf_sigma_err_ps: float | None
    period_ps: float | None
    edges_ps: np.ndarray = field(repr=False)
    counts: np.ndarray = field(repr=False)
    expected: np.ndarray = field(repr=False)
    deviance: float
    dof: int
    fit: PoissonFit = field(repr=False)
    model_warnings: tuple[str, ...] = field(default=(), repr=False)

    @property
    def reduced_deviance(self) -> float:
        """Deviance per degree of freedom (about 1 for an adequate model)."""
        return self.deviance / self.dof if self.dof > 0 else float("nan")

    @property
    def residuals(self) -> np.ndarray:
        """Poisson deviance residuals of the fitted bins (their squares sum to the deviance)."""
        from .derived import deviance_residuals

        return deviance_residuals(self.counts, self.expected)

    def __repr__(self) -> str:
        """One line: model, lifetimes with errors, IRF and deviance per degree of freedom."""
        taus = ", ".join(
            f"{t / 1e3:.4g}±{e / 1e3:.2g}"
            for t, e in zip(self.tau_ps, self.tau_err_ps, strict=True)
        )
        return (
            f"DecayFit({self.model}, tau=[{taus}] ns, IRF {self.irf}, "
            f"deviance/dof={self.reduced_deviance:.3g}, {self.counts.size} bins)"
        )

    def plot(self, ax=None, residual_ax=None):
        """Draw the fitted bins, the model and (in ``residual_ax``) the deviance residuals;
        returns the main Axes. With ``ax=None`` a new figure holds both panels."""
        from .plots import new_axes, plot_decay_fit

        if ax is None:
            ax, residual_ax = new_axes(None, rows=2, height_ratios=(3, 1))
        return plot_decay_fit(ax, self, residual_ax)

    @property
    def warnings(self) -> tuple[str, ...]:
        """What may make the lifetimes wrong or uninformative."""
        out = list(self.model_warnings)
        span = float(self.edges_ps[-1] - self.edges_ps[0])
        for tau, err in zip(self.tau_ps, self.tau_err_ps, strict=True):
            if not err <= UNDETERMINED_RELATIVE_ERROR * tau:
                out.append(
                    f"tau = {tau / 1e3:.3g} ± {err / 1e3:.2g} ns is not determined by the data"
                )
            if tau > LONG_COMPONENT_SPANS * span:
                out.append(
                    f"a component of {tau / 1e3:.3g} ns, far longer than the {span / 1e3:.3g} ns "
                    "the histogram covers, stands for a flat background or for pulses the "
                    "histogram does not account for (a sync divider?)"
                )
        if self.dof > 0 and chdtrc(self.dof, self.deviance) < POOR_FIT_P_VALUE:
            out.append(
                f"the {self.model}-exponential model does not describe the decay (deviance "
                f"{self.deviance:.0f} for {self.dof} degrees of freedom); the lifetimes are "
                "those of an inadequate model"
            )
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly values with the keys of the summary's ``lifetime`` block (ns)."""
        return {
            "model": self.model,
            "tau_ns": _json_list(self.tau_ps / 1e3),
            "tau_err_ns": _json_list(self.tau_err_ps / 1e3),
            "amplitudes": _json_list(self.amplitudes),
            "irf": self.irf,
            "intensity_fractions": _json_list(self.intensity_fractions),
            "tau_mean_ns": {
                "amplitude": self.mean_tau_amplitude_ps / 1e3,
                "intensity": self.mean_tau_intensity_ps / 1e3,
            },
            "jitter_ps": self.irf_sigma_ps,
            "reduced_deviance": self.reduced_deviance,
            "deviance": self.deviance,
            "dof": self.dof,
            "period_ns": None if self.period_ps is None else self.period_ps / 1e3,
        }


def fit_decay(
    counts: np.ndarray,
    edges_ps: np.ndarray,
    model: str = "mono",
    *,
    period_ps: float | None = None,
    irf: np.ndarray | None = None,
    irf_sigma_ps: float | None = None,
    gaussian: bool = True,
    background: float | None = None,
    fit_range_ps: tuple[float, float] | None = None,
    tau_guess_ps: Sequence[float] | None = None,
) -> DecayFit:
    """Fit 1-3 exponential decays to a histogram by Poisson maximum likelihood.

    Parameters
    ----------
    counts
        Decay histogram, counts per bin (1-D, non-negative).
    edges_ps
        Bin edges, ps since the laser sync (``len(counts) + 1``, increasing, spanning at most one
        period when ``period_ps`` is given).
    model
        ``"mono"``, ``"bi"`` or ``"tri"``.
    period_ps
        Laser repetition period, ps: the tails of earlier pulses wrap into the window.
    irf
        Measured IRF histogram on the same bins (uniform widths): reconvolution with it.
    irf_sigma_ps
        Width of a Gaussian IRF, ps, held fixed; ``None`` fits it (when ``irf`` is ``None`` and
        ``gaussian`` is true).
    gaussian
        With ``irf=None``: true for a Gaussian IRF, false for no IRF (a tail fit of bare
        exponentials from the start of the fitted range, by default from the histogram maximum).
    background
        ``None`` fits a constant background; a number (counts per typical bin) fixes it.
    fit_range_ps
        ``(start, stop)`` in ps: only bins whose centres lie inside are fitted.
    tau_guess_ps
        Starting lifetimes, ps, one per component; tried besides the automatic starts.

    Returns
    -------
    DecayFit

    Raises
    ------
    FitError
        Unknown model, malformed histogram or IRF, contradictory options, or too few counts.
    """
    n_components = _components(model)
    counts, edges = checked_histogram(counts, edges_ps)
    period = checked_period(period_ps, edges)
    kind = irf_kind(irf, irf_sigma_ps, gaussian)
    bins = fit_bins(counts, edges, fit_range_ps, kind)
    fixed_background = checked_background(background)
    guess = checked_guess(tau_guess_ps, n_components)
    problem = DecayProblem.build(
        counts, edges, bins, period, kind, irf, irf_sigma_ps, fixed_background
    )
    problem.check_counts(n_components)

    key = problem_key(counts, edges, bins, period, kind, irf, irf_sigma_ps, fixed_background)
    shift, sigma = problem.start_shift, problem.start_sigma
    fit: PoissonFit | None = None
    for order in range(1, n_components + 1):
        order_guess = guess if order == n_components else None
        cached = FIT_CACHE.get((key, order, order_guess))
        if cached is not None:
            fit = cached
            continue
        splits: list[tuple[float, ...]] = []
        if fit is not None:
            shift = fit["shift"]
            sigma = fit["sigma"] if "sigma" in fit.names else problem.start_sigma
            splits = split_starts(taus_of(fit, order - 1))
        announce(f"fitting lifetime ({_NAMES[order]})")
        fit = problem.fit_order(order, order_guess, splits, shift, sigma)
        remember((key, order, order_guess), fit)
    assert fit is not None
    return _result(model, n_components, problem, fit)


def _components(model: str) -> int:
    if not isinstance(model, str) or model not in MODELS:
        raise FitError(f"unknown decay model {model!r}; use one of {', '.join(MODELS)}")
    return MODELS[model]


def _covariance(fit: PoissonFit, names: Sequence[str]) -> np.ndarray:
    """Covariance of the named parameters (zero rows and columns for fixed ones)."""
    index = [fit.free.index(n) if n in fit.free else -1 for n in names]
    cov = np.zeros((len(names), len(names)))
    for a, i in enumerate(index):
        for b, j in enumerate(index):
            if i >= 0 and j >= 0:
                cov[a, b] = fit.covariance[i, j]
    return cov


def _amplitude_errors(photons: np.ndarray, taus: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Uncertainties of ``a_i / sum a`` with ``a = N / tau`` (delta method).

    ``cov`` is the covariance of ``(N_1..N_k, tau_1..tau_k)``.
    """
    a = photons / taus
    total = a.sum()
    k = a.size
    frac = a / total
    d_frac_d_a = (np.eye(k) - frac[:, None]) / total
    d_a = np.hstack([np.diag(1.0 / taus), np.diag(-photons / taus**2)])
    jac = d_frac_d_a @ d_a
    return np.sqrt(np.clip(np.diag(jac @ cov @ jac.T), 0.0, None))


def _result(model: str, k: int, problem: DecayProblem, fit: PoissonFit) -> DecayFit:
    idx = range(1, k + 1)
    taus = np.array([fit[f"tau{i}"] for i in idx])
    tau_errs = np.array([fit.error(f"tau{i}") for i in idx])
    photons = np.array([fit[f"n{i}"] for i in idx])
    cov = _covariance(fit, [f"n{i}" for i in idx] + [f"tau{i}" for i in idx])
    order = np.argsort(taus)
    cov = cov[np.ix_(np.r_[order, order + k], np.r_[order, order + k])]
    taus, tau_errs, photons = taus[order], tau_errs[order], photons[order]
    with np.errstate(divide="ignore", invalid="ignore"):
        a = photons / taus
        amplitudes = a / a.sum()
        amplitude_errs = _amplitude_errors(photons, taus, cov)
        intensity = photons / photons.sum()
        mean_amp = float(photons.sum() / a.sum())
        mean_int = float(np.sum(photons * taus) / photons.sum())
    gaussian = problem.kind == "gaussian"
    return DecayFit(
        model=model,
        tau_ps=taus,
        tau_err_ps=tau_errs,
        amplitudes=amplitudes,
        amplitude_errs=amplitude_errs,
        intensity_fractions=intensity,
        photons=photons,
        mean_tau_amplitude_ps=mean_amp,
        mean_tau_intensity_ps=mean_int,
        background=fit["background"],
        background_err=fit.error("background"),
        shift_ps=fit["shift"],
        shift_err_ps=fit.error("shift"),
        irf=problem.kind,
        irf_sigma_ps=fit["sigma"] if gaussian else None,
        irf_sigma_err_ps=fit.error("sigma") if gaussian else None,
        period_ps=problem.period,
        edges_ps=problem.edges.copy(),
        counts=problem.counts.copy(),
        expected=fit.expected,
        deviance=fit.deviance,
        dof=fit.dof,
        fit=fit,
    )


def _json_list(values: np.ndarray) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, dtype=float)]
