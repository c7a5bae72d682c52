"""The lifetime fit of the run summary: how many exponentials a decay holds.

:func:`fit_lifetime` fits one, two and three exponentials in turn and keeps a larger model only
while a likelihood-ratio test asks for it and every lifetime of it is resolved.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from scipy.special import chdtrc  # chi2.sf without importing scipy.stats (slow)

from ..errors import AnalysisError, FitError
from .decay_fit import POOR_FIT_P_VALUE, DecayFit
from .decay_fit_problem import SHORTEST_TAU_BINS
from .lifetime import DecayResult
from .summary_settings import LIFETIME_MODELS, SummarySettings, check_choice, check_irf, irf_file

#: A lifetime component is resolved when it lies this many standard errors above zero.
MIN_TAU_SIGNIFICANCE = 3.0


def fit_lifetime(
    decay: DecayResult,
    model: str = "auto",
    irf: str = "gaussian",
    irf_sigma_ps: float | None = None,
    significance: float = 1e-3,
    irf_counts: np.ndarray | None = None,
) -> tuple[DecayFit, dict[str, DecayFit]]:
    """Fit a decay histogram, choosing the number of exponentials for ``model="auto"``.

    The rule: fit mono, then bi, then tri; a component is added only while the deviance drops
    by more than ``-2 ln(significance)`` (the χ²(2) quantile of a likelihood-ratio test for two
    more parameters; 13.8 at 0.1 %) and every lifetime of the larger model lies at least three
    standard errors above zero. A larger model that cannot be fitted (too few counts) ends the
    search. The test is approximate: the simpler model sits on the boundary of the larger one
    (zero amplitude), where the χ² law only bounds the deviance drop roughly. A larger model that
    is rejected because a lifetime is not resolved (for example a fast component within one bin
    of the pulse) although it lowers the deviance beyond the χ² quantile of the poor-fit warning
    (p below ``POOR_FIT_P_VALUE``; 27.6 for two parameters) leaves a warning on the chosen fit:
    the data hold more than its components, so its lifetimes are those of an inadequate model.
    The stricter level keeps the warning off single decays, for which the drop of a free extra
    lifetime exceeds the χ² law's quantiles more often than they claim (it can fit a chance
    excess of a few bins).
    With ``irf`` a file name, ``irf_counts`` is the measured IRF's histogram in the decay's bins.

    Returns
    -------
    The chosen fit and every fit made, by model name.

    Raises
    ------
    FitError
        The simplest model cannot be fitted.
    """
    check_choice("lifetime model", model, LIFETIME_MODELS)
    check_irf(irf)
    if irf_file(irf) is None:
        options = {"gaussian": irf == "gaussian", "irf_sigma_ps": irf_sigma_ps}
    elif irf_counts is None:
        raise AnalysisError(f"irf {irf}: the measured IRF's histogram was not given")
    else:
        options = {"irf": irf_counts}
    if model != "auto":
        chosen = decay.fit(model, **options)
        return chosen, {model: chosen}
    limit = -2.0 * math.log(significance)
    chosen = decay.fit("mono", **options)
    fits = {"mono": chosen}
    for bigger in ("bi", "tri"):
        try:
            candidate = decay.fit(bigger, **options)
        except FitError:
            break
        fits[bigger] = candidate
        drop = chosen.deviance - candidate.deviance
        if _decisive(drop, chosen, candidate) and not _resolved(candidate):
            chosen = _with_rejected_model(chosen, candidate, drop)
            fits[chosen.model] = chosen
        if not (drop > limit and _resolved(candidate)):
            break
        chosen = candidate
    return chosen, fits


def _decisive(drop: float, smaller: DecayFit, bigger: DecayFit) -> bool:
    """Whether a deviance ``drop`` from ``smaller`` to ``bigger`` is beyond doubt: less likely
    than ``POOR_FIT_P_VALUE`` under the χ² law for the extra parameters."""
    extra = 2 * (bigger.tau_ps.size - smaller.tau_ps.size)
    return bool(drop > 0 and chdtrc(extra, drop) < POOR_FIT_P_VALUE)


def _resolved(fit: DecayFit) -> bool:
    return bool(np.all(_resolved_lifetimes(fit)))


def _resolved_lifetimes(fit: DecayFit) -> np.ndarray:
    """Per component: whether its lifetime lies at least three standard errors above zero.

    A lifetime held at the shortest the fit allows is not resolved whatever its error says: at
    a bound the Fisher matrix does not measure the uncertainty (it can even give zero).
    """
    err = np.asarray(fit.tau_err_ps)
    shortest = SHORTEST_TAU_BINS * float(np.min(np.diff(fit.edges_ps))) * (1 + 1e-9)
    return (
        np.isfinite(err)
        & (err > 0)
        & (fit.tau_ps > MIN_TAU_SIGNIFICANCE * err)
        & (fit.tau_ps > shortest)
    )


def _with_rejected_model(chosen: DecayFit, bigger: DecayFit, drop: float) -> DecayFit:
    """``chosen`` with a warning that ``bigger`` fits significantly better (the deviance
    ``drop``) but was not taken because some of its lifetimes are not resolved."""
    def lifetime(tau_ps: float, err_ps: float) -> str:
        return f"{tau_ps / 1e3:.4g} ± {err_ps / 1e3:.2g} ns"

    loose = ~_resolved_lifetimes(bigger)
    pairs = list(zip(bigger.tau_ps, bigger.tau_err_ps, strict=True))
    unresolved = ", ".join(lifetime(t, e) for (t, e), bad in zip(pairs, loose, strict=True) if bad)
    extra = 2 * (bigger.tau_ps.size - chosen.tau_ps.size)
    which = "lifetimes" if np.count_nonzero(loose) > 1 else "lifetime"
    verb = "are" if np.count_nonzero(loose) > 1 else "is"
    warning = (
        f"a {bigger.model}-exponential model lowers the deviance by {drop:.0f} for {extra} more "
        f"parameters, but its {which} {unresolved} {verb} not resolved (less than "
        f"{MIN_TAU_SIGNIFICANCE:g} standard errors above zero; its lifetimes: "
        f"{', '.join(lifetime(t, e) for t, e in pairs)}); the {chosen.model}-exponential "
        "lifetimes are those of an inadequate model"
    )
    return replace(chosen, model_warnings=(*chosen.model_warnings, warning))


def decay_fits(
    decay: DecayResult, settings: SummarySettings, irf_counts: np.ndarray | None = None
) -> tuple[DecayFit, dict[str, DecayFit]]:
    """The chosen decay fit and every model tried, by name, as the settings ask (model, IRF, IRF
    width (ps), significance), with a measured IRF's histogram ``irf_counts``; an
    :class:`AnalysisError` for an empty decay."""
    if decay.counts.sum() == 0:
        raise AnalysisError(f"no photons on {decay.channel} in the decay histogram")
    return fit_lifetime(
        decay,
        settings.lifetime_model,
        settings.irf,
        None if settings.irf_sigma is None else float(settings.irf_sigma),
        settings.model_significance,
        irf_counts,
    )
