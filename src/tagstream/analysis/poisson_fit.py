"""Poisson maximum-likelihood fitting of histogram models, with Fisher-matrix uncertainties.

Counts in histogram bins are Poisson distributed; least squares with sqrt(n) weights is biased at
low counts, so every fit in tagstream minimises the Poisson negative log-likelihood
``sum(mu - n log mu)`` instead. Uncertainties come from the inverse of the Fisher information
``J^T diag(1/mu) J`` at the optimum, ``J`` being the derivative of the model by the parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize

from ..errors import FitError

Model = Callable[[np.ndarray], np.ndarray]
#: ``jacobian(**params) -> (mu, {name: d mu / d name})``: the model and its derivatives by (at
#: least) every free parameter.
Jacobian = Callable[..., tuple[np.ndarray, Mapping[str, np.ndarray]]]
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
        """One-sigma uncertainty of parameter ``name``, in its units (0 for a fixed parameter)."""
        return float(self.errors[self.names.index(name)])

    def as_dict(self) -> dict[str, float]:
        """Best value of every parameter, by name."""
        return {n: float(v) for n, v in zip(self.names, self.values, strict=True)}

    @property
    def reduced_deviance(self) -> float:
        """Deviance per degree of freedom (about 1 for a good fit; NaN without degrees of
        freedom)."""
        return self.deviance / self.dof if self.dof > 0 else float("nan")


def poisson_deviance(counts: np.ndarray, mu: np.ndarray) -> float:
    """Poisson deviance ``2 sum(n log(n / mu) - (n - mu))`` of counts ``n`` against expected counts
    ``mu`` (bins of zero count contribute ``2 mu``)."""
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
    jacobian: Jacobian | None = None,
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
    max_iter
        Iterations of the optimiser.
    jacobian
        The model with its analytic derivatives (see :data:`Jacobian`). With it the likelihood
        is maximised by damped Fisher scoring (Levenberg-Marquardt steps on the Fisher matrix),
        which from a good start converges in a few model evaluations, and the uncertainties use
        the exact derivatives; without it by L-BFGS-B on finite differences.
    """
    names = tuple(p0)
    counts = np.asarray(counts, dtype=float)
    free = tuple(n for n in names if n not in set(fixed))
    n_bins = _fitted_bins(counts, free)
    base = {n: float(p0[n]) for n in names}
    scale = np.array(
        [float((scales or {}).get(n, abs(base[n]) if base[n] != 0 else 1.0)) or 1.0 for n in free]
    )
    lo_f, hi_f = _bound_arrays(dict(bounds or {}), free)
    like = _Likelihood(model, counts, base, free, scale, lo_f, hi_f, jacobian)
    lo, hi = lo_f / scale, hi_f / scale
    x0 = np.clip(np.array([base[n] for n in free]) / scale, lo, hi)
    x, converged, message = _maximise(like, x0, lo, hi, max_iter)
    mu, jac = like.jac_of(x)
    if jacobian is not None:
        _bound_columns(jac, like.mu_of, x, lo, hi)
    mu = np.maximum(mu, _MU_FLOOR)
    info = (jac / mu[:, None]).T @ jac
    cov = _inverse(info) * np.outer(scale, scale)
    params = like.params_of(x)
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
        success=converged or bool(np.isfinite(like.nll(x))),
        message=message,
        expected=mu,
    )


def _fitted_bins(counts: np.ndarray, free: tuple[str, ...]) -> int:
    """The bins with a finite count; a :class:`FitError` when nothing is free or there are no
    more bins than free parameters."""
    if not free:
        raise FitError("every parameter is fixed; nothing to fit")
    n_bins = int(np.count_nonzero(np.isfinite(counts)))
    if n_bins <= len(free):
        raise FitError(f"{n_bins} bins are too few to fit {len(free)} parameters")
    return n_bins


def _bound_arrays(
    bounds: Mapping[str, tuple[float | None, float | None]], free: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of the free parameters, infinite for an open side."""
    lo = np.array([(bounds.get(n, (None, None))[0]) for n in free], dtype=object)
    hi = np.array([(bounds.get(n, (None, None))[1]) for n in free], dtype=object)
    lo_f = np.array([-np.inf if v is None else float(v) for v in lo])
    hi_f = np.array([np.inf if v is None else float(v) for v in hi])
    return lo_f, hi_f


class _Likelihood:
    """The Poisson negative log-likelihood of ``model`` as a function of the free parameters
    scaled by ``scale`` (and clipped to their bounds), with the model's derivatives."""

    def __init__(self, model, counts, base, free, scale, lo_f, hi_f, jacobian):
        self.model, self.counts, self.jacobian = model, counts, jacobian
        self.base, self.free, self.scale = base, free, scale
        self.lo_f, self.hi_f = lo_f, hi_f
        self._last: dict[str, Any] = {}

    def params_of(self, x: np.ndarray) -> dict[str, float]:
        p = dict(self.base)
        p.update(zip(self.free, np.clip(x * self.scale, self.lo_f, self.hi_f), strict=True))
        return p

    def mu_of(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.model(**self.params_of(x)), dtype=float)

    def nll(self, x: np.ndarray) -> float:
        return self.nll_of(self.mu_of(x))

    def nll_of(self, mu: np.ndarray) -> float:
        if not np.all(np.isfinite(mu)):
            return 1e300
        below = mu < _MU_FLOOR  # no Poisson law: a steep wall keeps every bin's mean >= 0
        wall = _WALL_SLOPE * float(np.sum(_MU_FLOOR - mu[below])) if below.any() else 0.0
        mu = np.maximum(mu, _MU_FLOOR)
        return float(np.sum(mu - self.counts * np.log(mu))) + wall

    def jac_of(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model and its derivatives by the scaled free parameters (the last one remembered:
        a step's trial point is the next step's start)."""
        if self.jacobian is None:
            lo, hi = self.lo_f / self.scale, self.hi_f / self.scale
            return self.mu_of(x), _jacobian(self.mu_of, x, lo, hi)
        key = x.tobytes()
        if self._last.get("key") != key:
            mu, derivs = self.jacobian(**self.params_of(x))
            columns = [np.asarray(derivs[n], dtype=float) for n in self.free]
            value = (np.asarray(mu, dtype=float), np.column_stack(columns))
            self._last.update(key=key, value=value)
        mu, jac = self._last["value"]
        return mu, jac * self.scale

    def nll_scored(self, x: np.ndarray) -> float:
        return self.nll_of(self.jac_of(x)[0])

    def nll_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        mu, jac = self.jac_of(x)
        if not np.all(np.isfinite(mu)):
            return 1e300, np.zeros_like(x)
        below = mu < _MU_FLOOR
        floored = np.maximum(mu, _MU_FLOOR)
        value = float(np.sum(floored - self.counts * np.log(floored)))
        weight = np.where(below, -_WALL_SLOPE, 1.0 - self.counts / floored)
        if below.any():
            value += _WALL_SLOPE * float(np.sum(_MU_FLOOR - mu[below]))
        return value, jac.T @ weight


def _maximise(
    like: _Likelihood, x0: np.ndarray, lo: np.ndarray, hi: np.ndarray, max_iter: int
) -> tuple[np.ndarray, bool, str]:
    """The maximum of the likelihood from ``x0`` (scaled, within ``lo`` and ``hi``), whether
    it converged, and a message: Fisher scoring with a Jacobian, else (or where the likelihood
    is too far from quadratic for it) L-BFGS-B polished by a few Fisher steps."""
    if like.jacobian is not None:
        steps = min(max_iter, _SCORING_STEPS)
        x0, converged, message = _fisher_scoring(
            x0, like.counts, like.jac_of, like.nll_scored, lo, hi, steps
        )
        if converged:
            return x0, converged, message
    opt_bounds = [
        (None if not np.isfinite(a) else a, None if not np.isfinite(b) else b)
        for a, b in zip(lo, hi, strict=True)
    ]
    res = minimize(
        like.nll if like.jacobian is None else like.nll_and_grad,
        x0,
        jac=like.jacobian is not None,
        method="L-BFGS-B",
        bounds=opt_bounds,
        options={"maxiter": max_iter},
    )
    x = _fisher_polish(res.x, like.counts, like.jac_of, like.nll, lo, hi)
    return x, bool(res.success), str(res.message)


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
    mu_of: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    which: Sequence[int] | None = None,
) -> np.ndarray:
    """Derivative of the model by each (scaled) parameter, or by those in ``which``: central
    differences, one-sided for a parameter on a bound (``mu_of`` clips to the bounds, so a step
    across one would not move)."""
    cols = []
    for i in range(len(x)) if which is None else which:
        h = 1e-6 * max(1.0, abs(x[i]))
        xp, xm = x.copy(), x.copy()
        xp[i] = min(x[i] + h, hi[i])
        xm[i] = max(x[i] - h, lo[i])
        cols.append((mu_of(xp) - mu_of(xm)) / (xp[i] - xm[i]))
    return np.column_stack(cols)


def _bound_columns(jac: np.ndarray, mu_of, x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
    """For a parameter on a bound, the one-sided difference quotient into the allowed side in
    place of the derivative: the slope there can vanish (a jitter of zero), which would declare
    the parameter unknown although moving it into the allowed range changes the model."""
    on_bound = np.flatnonzero((x <= lo) | (x >= hi))
    if on_bound.size:
        jac[:, on_bound] = _jacobian(mu_of, x, lo, hi, on_bound)


def _fisher_polish(x, counts, jac_of, nll, lo, hi, steps: int = 8) -> np.ndarray:
    """A few Fisher-scoring (Newton) steps from the optimiser's answer, kept inside the bounds."""
    best = nll(x)
    for _ in range(steps):
        mu, jac = jac_of(x)
        mu = np.maximum(mu, _MU_FLOOR)
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


#: Fisher-scoring steps tried before the fit falls back to L-BFGS-B (with the exact gradient).
_SCORING_STEPS = 40
#: Fisher scoring stops once the Newton decrement ``g^T I^-1 g`` (twice the log-likelihood still
#: to gain, in the quadratic model) falls below this: the parameters are then within about
#: ``sqrt(_DECREMENT_TOL)`` standard errors of the maximum.
_DECREMENT_TOL = 1e-10
_DAMPING_START = 1e-3
_DAMPING_MAX = 1e12


def _fisher_scoring(
    x: np.ndarray,
    counts: np.ndarray,
    jac_of: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    nll: Callable[[np.ndarray], float],
    lo: np.ndarray,
    hi: np.ndarray,
    max_iter: int,
) -> tuple[np.ndarray, bool, str]:
    """Minimise ``nll`` by Levenberg-Marquardt-damped Fisher scoring within box bounds.

    Each step solves ``(I + lambda diag I) dx = -grad`` over the parameters not held at a bound
    by their gradient; a step that does not lower ``nll`` is retried with more damping. Returns
    the optimum, whether it converged, and a message.
    """
    best = nll(x)
    damping = _DAMPING_START
    for iteration in range(max_iter):
        mu, jac = jac_of(x)
        mu = np.maximum(mu, _MU_FLOOR)
        grad = jac.T @ (1.0 - counts / mu)
        info = (jac / mu[:, None]).T @ jac
        pinned = ((x <= lo) & (grad > 0)) | ((x >= hi) & (grad < 0))
        move = ~pinned
        if not move.any():
            return x, True, "every parameter held at a bound"
        g = grad[move]
        sub = info[np.ix_(move, move)]
        diag = np.maximum(np.diag(sub), 1e-12 * max(float(np.max(np.diag(sub))), 1e-300))
        try:
            decrement = float(g @ np.linalg.solve(sub + 1e-12 * np.diag(diag), g))
        except np.linalg.LinAlgError:
            decrement = float("inf")
        if decrement < _DECREMENT_TOL:
            return x, True, f"converged after {iteration} Fisher-scoring steps"
        accepted = False
        while damping <= _DAMPING_MAX:
            try:
                step = np.linalg.solve(sub + damping * np.diag(diag), -g)
            except np.linalg.LinAlgError:
                damping *= 10.0
                continue
            trial = _moved(x, move, step, lo, hi)
            value = nll(trial)
            if value < best:
                trial, value = _line_refined(x, move, step, lo, hi, nll, best, g, trial, value)
                gain = best - value
                x, best, accepted = trial, value, True
                damping = max(damping / 10.0, 1e-12)
                break
            damping *= 10.0
        if not accepted:
            return x, True, f"no further gain after {iteration} Fisher-scoring steps"
        if gain <= 1e-13 * max(abs(best), 1.0) and decrement < 1e-6:
            return x, True, f"converged after {iteration + 1} Fisher-scoring steps"
    return x, False, f"Fisher scoring stopped after {max_iter} steps"


def _moved(x: np.ndarray, move: np.ndarray, step: np.ndarray, lo, hi) -> np.ndarray:
    trial = x.copy()
    trial[move] += step
    return np.clip(trial, lo, hi)


def _line_refined(x, move, step, lo, hi, nll, f0, g, trial, f1):
    """The better of a full step and the minimum of the parabola through the objective at the
    start (value and slope) and at the full step: where the Fisher matrix misjudges the
    curvature (a model that fits poorly), Fisher steps overshoot and zig-zag."""
    slope = float(g @ step)
    curvature = f1 - f0 - slope
    if not (slope < 0 and curvature > 0):
        return trial, f1
    alpha = -slope / (2.0 * curvature)
    if abs(alpha - 1.0) < 0.1:
        return trial, f1
    alpha = min(alpha, 4.0)
    other = _moved(x, move, alpha * step, lo, hi)
    value = nll(other)
    return (other, value) if value < f1 else (trial, f1)
