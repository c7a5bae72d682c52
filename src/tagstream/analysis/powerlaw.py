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

Where the power law starts, :func:`fit_powerlaw_ks` chooses by the method of Clauset, Shalizi &
Newman (SIAM Review 51, 661, 2009): the lower cut ``k_min`` that minimises the Kolmogorov-Smirnov
distance between the dwell times at or above it and the power law fitted to them. A low cut is
needed because dwell times from a binned trace are not power-law distributed at short times:
a dwell shorter than a bin is lost or merged with its neighbours, and one of a few bins is
lengthened or shortened by the bins in which the emitter switched.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import brentq

from ..errors import AnalysisError, FitError

_EXACT_TERMS = 10_000
#: Fewest dwell times at or above a candidate lower cut in :func:`fit_powerlaw_ks`.
MIN_TAIL = 20
#: Most candidate lower cuts tried by :func:`fit_powerlaw_ks` (log-spaced when there are more).
MAX_CANDIDATES = 400
_SCAN_EXACT_TERMS = 256  # exact terms while scanning the lower cut (the chosen one is refitted)
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
    t_min_method
        How ``t_min_ps`` was chosen: ``"user"`` (given, or the default) or ``"ks"``
        (:func:`fit_powerlaw_ks`).
    ks_distance
        Kolmogorov-Smirnov distance between the dwell times in range and the fitted law (None
        unless computed).

    Notes
    -----
    ``alpha_err`` is the statistical error at the given range; it includes neither the choice of
    ``t_min`` nor what distortion of the short dwell times remains above it (on simulated
    blinking traces the exponents scattered about 1.2 times ``alpha_err`` around the truth).
    """

    alpha: float
    alpha_err: float
    n: int
    t_min_ps: float
    t_max_ps: float
    discrete: bool
    t_min_method: str = "user"
    ks_distance: float | None = None


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
    k = _whole_bins(dwell_ps, bin_ps)
    k_min = 1 if t_min_ps is None else max(1, int(np.ceil(t_min_ps / bin_ps - 1e-9)))
    k_max = int(k.max()) if t_max_ps is None else int(t_max_ps // bin_ps)
    used = k[(k >= k_min) & (k <= k_max)]
    log_nodes, log_weights = _discrete_nodes(k_min, k_max)
    alpha, err = _solve(np.log(used), log_nodes, log_weights)
    return PowerLawFit(
        alpha, err, int(used.size), float(k_min * bin_ps), float(k_max * bin_ps), discrete=True
    )


def fit_powerlaw_ks(
    dwell_ps: np.ndarray,
    bin_ps: int,
    min_tail: int = MIN_TAIL,
    max_candidates: int = MAX_CANDIDATES,
) -> PowerLawFit:
    """Discrete truncated power law above the lower cut chosen by the Kolmogorov-Smirnov distance.

    The method of Clauset, Shalizi & Newman (SIAM Review 51, 661, 2009, sec. 3.3): for each
    candidate lower cut ``k_min`` (each distinct dwell time, in whole bins, with at least
    ``min_tail`` dwell times at or above it), fit ``alpha`` by maximum likelihood to the dwell
    times in ``[k_min, k_max]`` (:func:`fit_powerlaw`; ``k_max`` is the longest dwell time, the
    maximum-likelihood estimate of the upper truncation), and compute the KS distance
    ``D = max_k |S(k) - P(k)|`` between their empirical CDF ``S`` and the fitted model CDF ``P``
    (both step functions on the integers, so the maximum is taken at each distinct dwell time
    and just below it). The cut with the smallest ``D`` is used.

    Parameters
    ----------
    dwell_ps
        Dwell times, ps; each a multiple of ``bin_ps``.
    bin_ps
        Bin width, ps.
    min_tail
        Fewest dwell times at or above a candidate cut (at least 2).
    max_candidates
        With more distinct dwell times than this, the candidates are a log-spaced subset of them
        (every short one is kept; the long ones, each held by a single dwell, are thinned).

    Returns
    -------
    PowerLawFit
        With ``t_min_method="ks"`` and the ``ks_distance`` at the chosen cut.

    Raises
    ------
    AnalysisError
        A dwell time that is not a positive whole number of bins.
    FitError
        Fewer than ``min_tail`` dwell times, or no candidate cut with a finite exponent.
    """
    k = np.sort(_whole_bins(dwell_ps, bin_ps))
    min_tail = max(2, int(min_tail))
    if k.size < min_tail:
        raise FitError(f"{k.size} dwell times are too few to choose where the power law starts")
    k_max = int(k[-1])
    log_k = np.log(k)
    best: tuple[float, int] | None = None
    for k_min in _candidates(k, min_tail, max_candidates):
        first = int(np.searchsorted(k, k_min, side="left"))
        nodes = _discrete_nodes(k_min, k_max, _SCAN_EXACT_TERMS)
        try:
            alpha, _ = _solve(log_k[first:], *nodes)
        except FitError:
            continue
        distance = _ks_distance(k[first:], alpha, k_min, k_max, _SCAN_EXACT_TERMS)
        if best is None or distance < best[0]:
            best = (distance, k_min)
    if best is None:
        raise FitError("no lower cut admits a finite power-law exponent")
    fit = fit_powerlaw(k * bin_ps, bin_ps, t_min_ps=best[1] * bin_ps)
    first = int(np.searchsorted(k, best[1], side="left"))
    distance = _ks_distance(k[first:], fit.alpha, best[1], k_max, _EXACT_TERMS)
    return replace(fit, t_min_method="ks", ks_distance=distance)


def powerlaw_cdf(k: np.ndarray, alpha: float, k_min: int, k_max: int) -> np.ndarray:
    """CDF ``P(K <= k)`` of the discrete power law ``k^-alpha`` on ``[k_min, k_max]``.

    Summed exactly over the first ``_EXACT_TERMS`` values and by the midpoint-rule integral
    beyond, as in the fit. ``k`` below ``k_min`` gives 0, at or above ``k_max`` gives 1.
    """
    return _cdf(np.asarray(k, dtype=np.int64), alpha, k_min, k_max, _EXACT_TERMS)


def _cdf(k: np.ndarray, alpha: float, k_min: int, k_max: int, exact_terms: int) -> np.ndarray:
    cut = min(k_max, k_min + exact_terms - 1)
    exact = np.cumsum(np.exp(-alpha * np.log(np.arange(k_min, cut + 1) / k_min)))

    def partial(j: np.ndarray) -> np.ndarray:
        inside = np.clip(j, k_min, cut)
        head = np.where(j < k_min, 0.0, exact[inside - k_min])
        beyond = j > cut
        if not np.any(beyond):
            return head
        tail = _power_integral(cut + 0.5, np.maximum(j, cut) + 0.5, alpha, k_min)
        return np.where(beyond, exact[-1] + tail, head)

    return np.clip(partial(k) / partial(np.array([k_max]))[0], 0.0, 1.0)


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


def _whole_bins(dwell_ps: np.ndarray, bin_ps: int) -> np.ndarray:
    """Dwell times in whole bins (floats), checked."""
    if bin_ps <= 0:
        raise AnalysisError(f"bin width must be positive, got {bin_ps} ps")
    ratio = np.asarray(dwell_ps, dtype=float).ravel() / bin_ps
    k = np.rint(ratio)
    if np.any(np.abs(ratio - k) > 1e-6) or np.any(k < 1):
        raise AnalysisError("dwell times must be positive whole multiples of the bin width")
    if k.size == 0:
        raise FitError("no dwell times to fit")
    return k


def _candidates(k_sorted: np.ndarray, min_tail: int, most: int) -> np.ndarray:
    """Candidate lower cuts: distinct values with ``min_tail`` values at or above them and a
    larger value left (an exponent needs two distinct values), log-thinned to ``most``."""
    values = np.unique(k_sorted)
    tail = k_sorted.size - np.searchsorted(k_sorted, values, side="left")
    values = values[(tail >= min_tail) & (values < k_sorted[-1])].astype(np.int64)
    if values.size > most:
        wanted = np.geomspace(values[0], values[-1], most)
        index = np.unique(np.searchsorted(values, wanted, side="left").clip(0, values.size - 1))
        values = values[index]
    return values


def _ks_distance(
    k_sorted: np.ndarray, alpha: float, k_min: int, k_max: int, exact_terms: int
) -> float:
    """Largest distance between the empirical CDF of ``k_sorted`` and the fitted model's.

    Both are step functions on the integers: on ``[v_i, v_(i+1) - 1]`` the empirical CDF is
    constant and the model's rises, so the maximum lies at a distinct value ``v_i`` or just
    below one."""
    values, first = np.unique(k_sorted.astype(np.int64), return_index=True)
    n = k_sorted.size
    at = np.append(first[1:], n) / n
    below = first / n
    model_at = _cdf(values, alpha, k_min, k_max, exact_terms)
    model_below = _cdf(values - 1, alpha, k_min, k_max, exact_terms)
    return float(max(np.abs(at - model_at).max(), np.abs(below - model_below).max()))


def _power_integral(a: float, b: np.ndarray, alpha: float, scale: float) -> np.ndarray:
    """``∫_a^b (t / scale)^-alpha dt`` for ``b >= a > 0``, stable near ``alpha = 1``."""
    u_a = np.log(a / scale)
    width = np.log(np.asarray(b, dtype=float) / a)
    q = 1.0 - alpha
    x = q * width
    small = np.abs(x) < 1e-8
    ratio = np.where(small, width, np.expm1(np.where(small, 0.0, x)) / np.where(small, 1.0, q))
    return scale * np.exp(q * u_a) * ratio


def _discrete_nodes(
    k_min: int, k_max: int, exact_terms: int = _EXACT_TERMS
) -> tuple[np.ndarray, np.ndarray]:
    """Points ``ln k`` and log-weights such that ``sum_j w_j f(k_j) ≈ sum_{k_min}^{k_max} f(k)``."""
    if k_max < k_min:
        return _EMPTY
    cut = min(k_max, k_min + exact_terms - 1)
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
    top = float(log_terms.max())  # logsumexp by hand: scipy's costs more than the sum here
    p = np.exp(log_terms - top)
    total = float(p.sum())
    log_z = top + np.log(total)
    p /= total
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
