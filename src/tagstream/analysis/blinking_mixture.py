"""The Poisson mixture of :func:`~tagstream.analysis.blinking.auto_thresholds`: one Poisson
component per state plus a switching-bin component per pair of states, fitted by maximum
likelihood to the occurrence histogram of full trace bins (counts per bin), with the EM fit of
the pure Poisson mixture that starts it, the Bayesian information criterion, and the thresholds
where the weighted likelihoods of adjacent states cross."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammainc, gammaincc, gammaln, xlogy

_TINY = 1e-300
_MIN_MEAN = 1e-4
_EM_ITER = 500


def _log_poisson(
    values: np.ndarray, mean: np.ndarray | float, log_fact: np.ndarray | None = None
) -> np.ndarray:
    """``ln P(values; mean)``; ``log_fact`` is ``gammaln(values + 1)`` when already known."""
    if log_fact is None:
        log_fact = gammaln(values + 1.0)
    return xlogy(values, mean) - mean - log_fact


def _log_switching(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Log-probability of ``values`` for a Poisson mean uniform on ``[low, high]``."""
    s = values + 1.0
    upper_side = s > 0.5 * (low + high)
    diff = np.where(
        upper_side,
        gammainc(s, high) - gammainc(s, low),
        gammaincc(s, low) - gammaincc(s, high),
    )
    return np.log(np.maximum(diff, _TINY)) - np.log(high - low)


def _component_logpmf(values: np.ndarray, means: np.ndarray, log_pois: np.ndarray) -> np.ndarray:
    """Rows: the Poisson state components (``log_pois``, one row per mean), then the switching
    components of each pair."""
    rows = [_log_switching(values, means[a], means[b]) for a, b in _pairs(len(means))]
    return np.concatenate([log_pois, *(r[None, :] for r in rows)])


def _n_params(k: int) -> int:
    return k + (k - 1) + k * (k - 1) // 2


def mixture_bic(loglik: float, k: int, n_bins: float) -> float:
    """Bayesian information criterion of a ``k``-state mixture with log-likelihood ``loglik`` over
    ``n_bins`` full trace bins (lower is better)."""
    return -2.0 * loglik + _n_params(k) * np.log(n_bins)


def single_poisson_loglik(values: np.ndarray, occ: np.ndarray) -> float:
    """Log-likelihood of one Poisson state (its mean the histogram's) for the occurrence histogram
    ``occ`` of counts per bin ``values``."""
    mean = max(float(values @ occ / occ.sum()), _MIN_MEAN)
    return float(occ @ _log_poisson(values, mean))


def _starts(values: np.ndarray, occ: np.ndarray, k: int) -> list[np.ndarray]:
    """Initial means: quantiles of the counts, and an even spread over their range."""
    cdf = np.cumsum(occ) / occ.sum()
    levels = (np.arange(k) + 0.5) / k
    quantiles = values[np.minimum(np.searchsorted(cdf, levels), values.size - 1)]
    seen = values[occ > 0]
    spread = seen[0] + (seen[-1] - seen[0]) * levels
    return [np.maximum(quantiles + 0.5, _MIN_MEAN), np.maximum(spread + 0.5, _MIN_MEAN)]


def _poisson_em(
    values: np.ndarray, occ: np.ndarray, k: int, log_fact: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Means and weights of a pure ``k``-component Poisson mixture, by EM from several starts."""
    best, best_ll = None, -np.inf
    for means in _starts(values, occ, k):
        weights = np.full(k, 1.0 / k)
        last = -np.inf
        for _ in range(_EM_ITER):
            log_joint = np.log(np.maximum(weights, _TINY))[:, None] + _log_poisson(
                values[None, :], means[:, None], log_fact[None, :]
            )
            log_total = _logsumexp(log_joint)
            loglik = float(occ @ log_total)
            resp = np.exp(log_joint - log_total) * occ
            mass = resp.sum(axis=1)
            weights = mass / occ.sum()
            means = np.maximum(resp @ values / np.maximum(mass, _TINY), _MIN_MEAN)
            if loglik - last < 1e-10 * abs(loglik):
                break
            last = loglik
        if loglik > best_ll:
            best, best_ll = (np.sort(means), weights[np.argsort(means)]), loglik
    return best


def fit_mixture(
    values: np.ndarray, occ: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """Maximum-likelihood Poisson + switching mixture with ``k`` states.

    Returns the state means (increasing), the weights of all components (states first) and the
    log-likelihood of the histogram.
    """
    log_fact = gammaln(values + 1.0)
    means0, weights0 = _poisson_em(values, occ, k, log_fact)
    n_switch = k * (k - 1) // 2
    top = np.log(values[-1] + 1.0)
    steps0 = np.diff(np.concatenate([[0.0], means0]))
    w0 = np.concatenate([np.maximum(weights0, 1e-3), np.full(n_switch, 0.01)])
    x0 = np.concatenate([np.log(np.maximum(steps0, 1e-3)), np.log(w0[1:] / w0[0])])
    lower = np.concatenate(
        [[np.log(_MIN_MEAN)], np.full(k - 1, np.log(1e-3)), [-40.0] * len(x0[k:])]
    )
    upper = np.concatenate([np.full(k, top), np.full(x0.size - k, 40.0)])
    per_bin = 1.0 / occ.sum()

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        # a quadratic wall outside the box keeps exp() finite without a bounded optimiser
        inside = np.clip(x, lower, upper)
        value, grad = _mixture_nll(inside, values, occ, k, log_fact)
        out = x - inside
        return value * per_bin + 0.5 * float(out @ out), grad * per_bin + out

    res = minimize(objective, np.clip(x0, lower, upper), jac=True, method="BFGS")
    x = np.clip(res.x, lower, upper)
    means, log_w = _unpack(x, k)
    return means, np.exp(log_w), -_mixture_nll(x, values, occ, k, log_fact)[0]


def _logsumexp(a: np.ndarray) -> np.ndarray:
    """``log(sum(exp(a), axis=0))`` without overflow; ``-inf`` where every term is ``-inf``.
    (The fits call this thousands of times on small arrays, where scipy's general version
    costs ten times more.)"""
    top = a.max(axis=0)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return top + np.log(np.exp(a - top).sum(axis=0))


def _pairs(k: int) -> list[tuple[int, int]]:
    return [(a, b) for a in range(k) for b in range(a + 1, k)]


def _unpack(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """State means ``cumsum(exp(x[:k]))`` and log-weights ``softmax([0, x[k:]])``."""
    means = np.cumsum(np.exp(x[:k]))
    z = np.concatenate([[0.0], x[k:]])
    return means, z - _logsumexp(z)


def _mixture_nll(
    x: np.ndarray, values: np.ndarray, occ: np.ndarray, k: int, log_fact: np.ndarray
) -> tuple[float, np.ndarray]:
    """Negative log-likelihood of the histogram and its gradient by ``x``.

    Uses ``d ln P(k;m)/dm = k/m - 1`` for a state and, for a switching component ``S`` over
    ``[a, b]``, ``dS/db = (P(k;b) - S)/(b - a)`` and ``dS/da = (S - P(k;a))/(b - a)``.
    """
    means, log_w = _unpack(x, k)
    log_pois = _log_poisson(values[None, :], means[:, None], log_fact[None, :])
    log_joint = log_w[:, None] + _component_logpmf(values, means, log_pois)
    log_mix = _logsumexp(log_joint)
    resp = np.exp(log_joint - log_mix) * occ
    d_means = resp[:k] @ values / means - resp[:k].sum(axis=1)
    for c, (a, b) in enumerate(_pairs(k), start=k):
        width = means[b] - means[a]
        at_b = np.exp(log_w[c] + log_pois[b] - log_mix) * occ
        at_a = np.exp(log_w[c] + log_pois[a] - log_mix) * occ
        d_means[b] += (at_b.sum() - resp[c].sum()) / width
        d_means[a] += (resp[c].sum() - at_a.sum()) / width
    d_steps = np.exp(x[:k]) * np.cumsum(d_means[::-1])[::-1]
    d_z = resp.sum(axis=1) - occ.sum() * np.exp(log_w)
    return -float(occ @ log_mix), -np.concatenate([d_steps, d_z[1:]])


def crossings(means: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Counts where the weighted Poisson likelihoods of adjacent states are equal."""
    a, b = means[:-1], means[1:]
    wa, wb = weights[: len(means) - 1], weights[1 : len(means)]
    return (b - a + np.log(wa / wb)) / np.log(b / a)
