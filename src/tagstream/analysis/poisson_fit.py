"""Poisson maximum-likelihood fitting of histogram models, with Fisher-matrix uncertainties.

Counts in histogram bins are Poisson distributed; least squares with sqrt(n) weights is biased at
low counts, so every fit in tagstream minimises the Poisson negative log-likelihood
``sum(mu - n log mu)`` instead. Uncertainties come from the inverse of the Fisher information
``J^T diag(1/mu) J`` at the optimum, ``J`` being the derivative of the model by the parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from ..errors import FitError

Model = Callable[[np.ndarray], np.ndarray]
_TINY = 1e-300
#: Expected counts below this are outside the model: the likelihood rises along a steep wall
#: (slope :data:`_WALL_SLOPE` per count) instead, so that a fitted background cannot turn the
#: expectation of empty bins negative to gain likelihood elsewhere.
_MU_FLOOR = 1e-9
_WALL_SLOPE = 1e6


@dataclass(frozen=True)
class PoissonFit:
    """Outcome of :func:`fit_poisson`.

    Attributes
    ----------
    names, values, errors
        Parameter names, best values and one-sigma uncertainties (0 for fixed parameters).
    covariance
        Covariance matrix of the free parameters, in the order of ``free``.
    deviance
        Poisson deviance ``2 sum(n log(n/mu) - (n - mu))``; about ``dof`` for a good fit.
    dof
        Bins minus free parameters.
    """

    names: tuple[str, ...]
    values: np.ndarray
    errors: np.ndarray
    free: tuple[str, ...]
    covariance: np.ndarray
    deviance: float
    dof: int
    success: bool
    message: str
    expected: np.ndarray = field(repr=False)

    def __getitem__(self, name: str) -> float:
        return float(self.values[self.names.index(name)])

    def error(self, name: str) -> float:
        return float(self.errors[self.names.index(name)])

    def as_dict(self) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.names, self.values, strict=True)}

    @property
    def reduced_deviance(self) -> float:
        return self.deviance / self.dof if self.dof > 0 else float("nan")


def poisson_deviance(counts: np.ndarray, mu: np.ndarray) -> float:
    n = np.asarray(counts, dtype=float)
    mu = np.maximum(np.asarray(mu, dtype=float), _TINY)
    term = np.where(n > 0, n * np.log(np.maximum(n, _TINY) / mu), 0.0)
    return float(2.0 * np.sum(term - (n - mu)))


def fit_poisson(
    model: Callable[..., np.ndarray],
    counts: np.ndarray,
    p0: Mapping[str, float],
    bounds: Mapping[str, tuple[float | None, float | None]] | None = None,
    fixed: Sequence[str] = (),
    scales: Mapping[str, float] | None = None,
    max_iter: int = 2000,
) -> PoissonFit:
    """Fit ``model(**params)`` to histogram ``counts`` by Poisson maximum likelihood.

    Parameters
    ----------
    model
        Called with every parameter as a keyword argument; returns the expected counts per bin
        (same shape as ``counts``, all > 0 where counts > 0).
    counts
        Observed counts.
    p0
        Starting values of all parameters (also the values of fixed ones).
    bounds
        ``(low, high)`` per parameter; ``None`` for an open side.
    fixed
        Parameters held at their starting value.
    scales
        Typical magnitude of each parameter, used to condition the optimiser; defaults to
        ``|p0|`` (or 1).
    """
    names = tuple(p0)
    counts = np.asarray(counts, dtype=float)
    free = tuple(n for n in names if n not in set(fixed))
    if not free:
        raise FitError("every parameter is fixed; nothing to fit")
    n_bins = int(np.count_nonzero(np.isfinite(counts)))
    if n_bins <= len(free):
        raise FitError(f"{n_bins} bins are too few to fit {len(free)} parameters")
    bounds = dict(bounds or {})
    base = {n: float(p0[n]) for n in names}
    scale = np.array(
        [float((scales or {}).get(n, abs(base[n]) if base[n] != 0 else 1.0)) or 1.0 for n in free]
    )
    lo = np.array([(bounds.get(n, (None, None))[0]) for n in free], dtype=object)
    hi = np.array([(bounds.get(n, (None, None))[1]) for n in free], dtype=object)
    lo_f = np.array([-np.inf if v is None else float(v) for v in lo])
    hi_f = np.array([np.inf if v is None else float(v) for v in hi])

    def params_of(x: np.ndarray) -> dict[str, float]:
        p = dict(base)
        p.update(zip(free, np.clip(x * scale, lo_f, hi_f), strict=True))
        return p

    def mu_of(x: np.ndarray) -> np.ndarray:
        return np.asarray(model(**params_of(x)), dtype=float)

    def nll(x: np.ndarray) -> float:
        mu = mu_of(x)
        if not np.all(np.isfinite(mu)):
            return 1e300
        below = mu < _MU_FLOOR  # no Poisson law: a steep wall keeps every bin's mean >= 0
        wall = _WALL_SLOPE * float(np.sum(_MU_FLOOR - mu[below])) if below.any() else 0.0
        mu = np.maximum(mu, _MU_FLOOR)
        return float(np.sum(mu - counts * np.log(mu))) + wall

    x0 = np.array([base[n] for n in free]) / scale
    x0 = np.clip(x0, lo_f / scale, hi_f / scale)
    opt_bounds = [
        (None if not np.isfinite(a) else a / s, None if not np.isfinite(b) else b / s)
        for a, b, s in zip(lo_f, hi_f, scale, strict=True)
    ]
    res = minimize(nll, x0, method="L-BFGS-B", bounds=opt_bounds, options={"maxiter": max_iter})
    x = _fisher_polish(res.x, counts, mu_of, nll, lo_f / scale, hi_f / scale)
    mu = np.maximum(mu_of(x), _MU_FLOOR)
    jac = _jacobian(mu_of, x, lo_f / scale, hi_f / scale)
    info = (jac / mu[:, None]).T @ jac
    cov = _inverse(info) * np.outer(scale, scale)
    params = params_of(x)
    values = np.array([params[n] for n in names])
    errors = np.zeros(len(names))
    diag = np.sqrt(np.clip(np.diag(cov), 0, None))
    for i, n in enumerate(free):
        errors[names.index(n)] = diag[i]
    return PoissonFit(
        names=names,
        values=values,
        errors=errors,
        free=free,
        covariance=cov,
        deviance=poisson_deviance(counts, mu),
        dof=n_bins - len(free),
        success=bool(res.success) or bool(np.isfinite(nll(x))),
        message=str(res.message),
        expected=mu,
    )


def _inverse(info: np.ndarray) -> np.ndarray:
    """Inverse of a Fisher matrix, scaled to unit diagonal first: one parameter measured far
    more precisely than the others (a background in bins that expect almost nothing) would
    otherwise leave the inverse to rounding."""
    diag = np.diag(info)
    known = np.isfinite(diag) & (diag > 0)
    out = np.zeros_like(info)
    out[~known, ~known] = np.inf  # a parameter the data say nothing about
    if not known.any():
        return out
    sub = info[np.ix_(known, known)]
    d = np.sqrt(np.diag(sub))
    scaled = sub / np.outer(d, d)
    try:
        inverse = np.linalg.inv(scaled)
    except np.linalg.LinAlgError:
        inverse = np.linalg.pinv(scaled)
    out[np.ix_(known, known)] = inverse / np.outer(d, d)
    return out


def _jacobian(
    mu_of: Callable[[np.ndarray], np.ndarray], x: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Derivative of the model by each (scaled) parameter: central differences, one-sided for a
    parameter on a bound (``mu_of`` clips to the bounds, so a step across one would not move)."""
    cols = []
    for i in range(len(x)):
        h = 1e-6 * max(1.0, abs(x[i]))
        xp, xm = x.copy(), x.copy()
        xp[i] = min(x[i] + h, hi[i])
        xm[i] = max(x[i] - h, lo[i])
        cols.append((mu_of(xp) - mu_of(xm)) / (xp[i] - xm[i]))
    return np.column_stack(cols)


def _fisher_polish(x, counts, mu_of, nll, lo, hi, steps: int = 8) -> np.ndarray:
    """A few Fisher-scoring (Newton) steps from the optimiser's answer, kept inside the bounds."""
    best = nll(x)
    for _ in range(steps):
        mu = np.maximum(mu_of(x), _MU_FLOOR)
        jac = _jacobian(mu_of, x, lo, hi)
        grad = jac.T @ (counts / mu - 1.0)
        info = (jac / mu[:, None]).T @ jac
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            break
        improved = False
        for _halving in range(20):
            trial = np.clip(x + step, lo, hi)
            value = nll(trial)
            if value < best - 1e-12 * abs(best):
                x, best, improved = trial, value, True
                break
            step = step / 2
        if not improved:
            break
    return x
