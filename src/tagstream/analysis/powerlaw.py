"""Maximum-likelihood exponents of truncated power laws, for blinking dwell times.

Dwell times measured on a binned trace are whole numbers of bins, ``k = t / bin``. The discrete
model is ``p(k) = k^-alpha / Z(alpha)`` for ``k_min <= k <= k_max`` with
``Z(alpha) = sum_k k^-alpha``; the continuous model is ``p(t) = t^-alpha / Z(alpha)`` on
``[t_min, t_max]`` with ``Z`` the integral. Both are exponential families in ``alpha`` with the
sufficient statistic ``ln k``, so the likelihood equation is ``<ln k>_alpha = mean(ln k_i)``
and the observed Fisher information is ``n Var_alpha(ln k)``; the one-sigma error is its
inverse square root.

Long discrete ranges are summed exactly over the first ``_EXACT_TERMS`` values; beyond, the sum
is replaced by the integral over ``[K - 1/2, k_max + 1/2]`` (midpoint rule, relative error of
order ``alpha^2 / (24 K^2)``), evaluated by composite Gauss-Legendre quadrature in ``ln t``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import logsumexp

from ..errors import AnalysisError, FitError

_EXACT_TERMS = 10_000
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(16)
_PIECE = 0.5  # width in ln t of one quadrature piece
_ALPHA_LIMIT = 100.0
_EMPTY = (np.zeros(0), np.zeros(0))


@dataclass(frozen=True)
class PowerLawFit:
    """A fitted truncated power law.

    Attributes
    ----------
    alpha, alpha_err
        Exponent and its one-sigma uncertainty from the observed Fisher information.
    n
        Number of dwell times inside the fitted range.
    t_min_ps, t_max_ps
        The fitted range, ps (for the discrete model, whole bins).
    discrete
        True for the model over whole bins, False for the continuous one.
    """

    alpha: float
    alpha_err: float
    n: int
    t_min_ps: float
    t_max_ps: float
    discrete: bool


def fit_powerlaw(
    dwell_ps: np.ndarray,
    bin_ps: int,
    t_min_ps: float | None = None,
    t_max_ps: float | None = None,
) -> PowerLawFit:
    """Exponent of ``p(k) ∝ k^-alpha`` for dwell times that are whole numbers of bins.

    Parameters
    ----------
    dwell_ps
        Dwell times, ps; each a multiple of ``bin_ps``.
    bin_ps
        Bin width, ps.
    t_min_ps, t_max_ps
        Fitted range, ps, rounded inwards to whole bins; dwell times outside are ignored.
        Defaults: one bin and the longest dwell time.

    Raises
    ------
    AnalysisError
        A dwell time that is not a positive whole number of bins.
    FitError
        Fewer than two dwell times in range, or no finite maximum of the likelihood.
    """
    if bin_ps <= 0:
        raise AnalysisError(f"bin width must be positive, got {bin_ps} ps")
    ratio = np.asarray(dwell_ps, dtype=float).ravel() / bin_ps
    k = np.rint(ratio)
    if np.any(np.abs(ratio - k) > 1e-6) or np.any(k < 1):
        raise AnalysisError("dwell times must be positive whole multiples of the bin width")
    if k.size == 0:
        raise FitError("no dwell times to fit")
    k_min = 1 if t_min_ps is None else max(1, int(np.ceil(t_min_ps / bin_ps - 1e-9)))
    k_max = int(k.max()) if t_max_ps is None else int(t_max_ps // bin_ps)
    used = k[(k >= k_min) & (k <= k_max)]
    log_nodes, log_weights = _discrete_nodes(k_min, k_max)
    alpha, err = _solve(np.log(used), log_nodes, log_weights)
    return PowerLawFit(
        alpha, err, int(used.size), float(k_min * bin_ps), float(k_max * bin_ps), discrete=True
    )


def fit_powerlaw_continuous(
    dwell_ps: np.ndarray,
    t_min_ps: float | None = None,
    t_max_ps: float | None = None,
) -> PowerLawFit:
    """Exponent of the continuous ``p(t) ∝ t^-alpha`` on ``[t_min, t_max]``.

    Parameters
    ----------
    dwell_ps
        Dwell times, ps (> 0).
    t_min_ps, t_max_ps
        Fitted range, ps; defaults: the shortest and the longest dwell time.

    Raises
    ------
    AnalysisError
        A dwell time that is not positive and finite.
    FitError
        Fewer than two dwell times in range, or no finite maximum of the likelihood.
    """
    t = np.asarray(dwell_ps, dtype=float).ravel()
    if np.any(~np.isfinite(t)) or np.any(t <= 0):
        raise AnalysisError("dwell times must be positive and finite")
    if t.size == 0:
        raise FitError("no dwell times to fit")
    lo = float(t.min()) if t_min_ps is None else float(t_min_ps)
    hi = float(t.max()) if t_max_ps is None else float(t_max_ps)
    if lo <= 0:
        raise AnalysisError(f"t_min must be positive, got {lo} ps")
    used = t[(t >= lo) & (t <= hi)]
    log_nodes, log_weights = _log_quadrature(np.log(lo), np.log(hi)) if hi > lo else _EMPTY
    alpha, err = _solve(np.log(used), log_nodes, log_weights)
    return PowerLawFit(alpha, err, int(used.size), lo, hi, discrete=False)


def _discrete_nodes(k_min: int, k_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Points ``ln k`` and log-weights such that ``sum_j w_j f(k_j) ≈ sum_{k_min}^{k_max} f(k)``."""
    if k_max < k_min:
        return _EMPTY
    cut = min(k_max, k_min + _EXACT_TERMS - 1)
    exact = np.log(np.arange(k_min, cut + 1, dtype=float))
    if cut == k_max:
        return exact, np.zeros_like(exact)
    tail_nodes, tail_weights = _log_quadrature(np.log(cut + 0.5), np.log(k_max + 0.5))
    return np.concatenate([exact, tail_nodes]), np.concatenate([np.zeros_like(exact), tail_weights])


def _log_quadrature(u_lo: float, u_hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre rule for ``∫ f(t) dt`` over ``t = e^u``, ``u ∈ [u_lo, u_hi]``.

    Returns the nodes ``u_j`` and ``ln(w_j e^{u_j})`` (the Jacobian ``dt = e^u du`` included).
    """
    pieces = max(1, int(np.ceil((u_hi - u_lo) / _PIECE)))
    edges = np.linspace(u_lo, u_hi, pieces + 1)
    half = 0.5 * np.diff(edges)[:, None]
    mid = 0.5 * (edges[1:] + edges[:-1])[:, None]
    nodes = (mid + half * _GL_NODES).ravel()
    return nodes, (np.log(half * _GL_WEIGHTS)).ravel() + nodes


def _log_moments(alpha: float, log_nodes: np.ndarray, log_weights: np.ndarray):
    """``(ln Z, <ln t>, Var ln t)`` of the power law ``t^-alpha`` over the given support."""
    log_terms = log_weights - alpha * log_nodes
    log_z = logsumexp(log_terms)
    p = np.exp(log_terms - log_z)
    mean = float(p @ log_nodes)
    var = float(p @ (log_nodes - mean) ** 2)
    return float(log_z), mean, var


def _solve(log_t: np.ndarray, log_nodes: np.ndarray, log_weights: np.ndarray):
    """Root of the likelihood equation and its Fisher-information error."""
    n = log_t.size
    if n < 2 or log_nodes.size < 2:
        raise FitError(f"{n} dwell times in range are too few to fit a power law")
    target = float(log_t.mean())

    def score(alpha: float) -> float:
        return target - _log_moments(alpha, log_nodes, log_weights)[1]

    lo, hi = 0.5, 3.0
    while score(lo) > 0 and lo > -_ALPHA_LIMIT:
        lo -= 2.0 * (hi - lo)
    while score(hi) < 0 and hi < _ALPHA_LIMIT:
        hi += 2.0 * (hi - lo)
    if score(lo) > 0 or score(hi) < 0:
        raise FitError("the dwell times pile up at one end of the range: no finite exponent")
    alpha = float(brentq(score, lo, hi, xtol=1e-10))
    var = _log_moments(alpha, log_nodes, log_weights)[2]
    return alpha, float(1.0 / np.sqrt(n * var))
