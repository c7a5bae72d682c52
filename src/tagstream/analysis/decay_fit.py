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

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations, pairwise
from typing import Any

import numpy as np
from scipy import fft as sfft
from scipy.optimize import nnls
from scipy.special import chdtrc  # chi2.sf without importing scipy.stats (slow)

from ..errors import FitError
from .decay_shapes import (
    ShapeDerivs,
    binned_decay_kernel_derivs,
    periodic_exp_gauss_bins_derivs,
    periodic_exp_gauss_bins_fast,
)
from .fit_progress import announce
from .poisson_fit import PoissonFit, fit_poisson, poisson_deviance

__all__ = ["MODELS", "DecayFit", "fit_decay"]

MODELS: dict[str, int] = {"mono": 1, "bi": 2, "tri": 3}

#: A lifetime whose one-sigma error exceeds this fraction of it is not determined.
UNDETERMINED_RELATIVE_ERROR = 0.5
#: A lifetime longer than this many histogram spans stands for a flat background.
LONG_COMPONENT_SPANS = 20.0
#: A fit whose deviance is this improbable for its degrees of freedom does not describe the data.
POOR_FIT_P_VALUE = 1e-6
#: The shortest lifetime a fit allows, as a fraction of the narrowest bin.
SHORTEST_TAU_BINS = 0.05

_MIN_COUNTS_PER_PARAMETER = 10
_GRID_POINTS = {1: 40, 2: 24, 3: 16}
_GRID_STARTS = 2
_UNIFORM_TOLERANCE = 1e-6
_MAX_SCORING_STEPS = 2000

_Shapes = Callable[[Sequence[float], float, float], np.ndarray]


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
    counts, edges = _checked_histogram(counts, edges_ps)
    period = _checked_period(period_ps, edges)
    kind = _irf_kind(irf, irf_sigma_ps, gaussian)
    bins = _fit_bins(counts, edges, fit_range_ps, kind)
    fixed_background = _checked_background(background)
    guess = _checked_guess(tau_guess_ps, n_components)
    problem = _Problem.build(counts, edges, bins, period, kind, irf, irf_sigma_ps, fixed_background)
    problem.check_counts(n_components)

    key = _problem_key(counts, edges, bins, period, kind, irf, irf_sigma_ps, fixed_background)
    shift, sigma = problem.start_shift, problem.start_sigma
    fit: PoissonFit | None = None
    for order in range(1, n_components + 1):
        order_guess = guess if order == n_components else None
        cached = _FIT_CACHE.get((key, order, order_guess))
        if cached is not None:
            fit = cached
            continue
        splits: list[tuple[float, ...]] = []
        if fit is not None:
            shift = fit["shift"]
            sigma = fit["sigma"] if "sigma" in fit.names else problem.start_sigma
            splits = _split_starts(_taus_of(fit, order - 1))
        announce(f"fitting lifetime ({_NAMES[order]})")
        fit = problem.fit_order(order, order_guess, splits, shift, sigma)
        _remember((key, order, order_guess), fit)
    assert fit is not None
    return _result(model, n_components, problem, fit)


#: Recent fits by problem and order: fitting ``"tri"`` fits ``"mono"`` and ``"bi"`` on the way,
#: so choosing the model (mono, then bi, then tri) reuses them instead of fitting them again.
_FIT_CACHE: OrderedDict[tuple, PoissonFit] = OrderedDict()
_FIT_CACHE_SIZE = 12
_NAMES = {n: name for name, n in MODELS.items()}


def _remember(key: tuple, fit: PoissonFit) -> None:
    _FIT_CACHE[key] = fit
    while len(_FIT_CACHE) > _FIT_CACHE_SIZE:
        _FIT_CACHE.popitem(last=False)


def _problem_key(
    counts: np.ndarray,
    edges: np.ndarray,
    bins: slice,
    period: float | None,
    kind: str,
    irf: np.ndarray | None,
    irf_sigma_ps: float | None,
    background: float | None,
) -> bytes:
    """A digest of everything that determines the fits of a decay histogram."""
    digest = hashlib.blake2b(digest_size=20)
    for array in (counts, edges, np.empty(0) if irf is None else irf):
        digest.update(np.ascontiguousarray(array, dtype=float).tobytes())
        digest.update(b"|")
    digest.update(repr((bins.start, bins.stop, period, kind, irf_sigma_ps, background)).encode())
    return digest.digest()


def _components(model: str) -> int:
    if not isinstance(model, str) or model not in MODELS:
        raise FitError(f"unknown decay model {model!r}; use one of {', '.join(MODELS)}")
    return MODELS[model]


def _checked_histogram(counts: np.ndarray, edges_ps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    counts = np.asarray(counts, dtype=float)
    edges = np.asarray(edges_ps, dtype=float)
    if counts.ndim != 1 or counts.size < 2:
        raise FitError(f"decay counts must be a 1-D histogram of 2+ bins, got shape {counts.shape}")
    if edges.shape != (counts.size + 1,):
        raise FitError(
            f"decay edges must have len(counts) + 1 = {counts.size + 1} values, got {edges.shape}"
        )
    if not (np.all(np.isfinite(counts)) and np.all(np.isfinite(edges))):
        raise FitError("decay histogram contains NaN or infinite values")
    if np.any(counts < 0):
        raise FitError("decay counts must not be negative")
    if np.any(np.diff(edges) <= 0):
        raise FitError("decay bin edges must be strictly increasing")
    return counts, edges


def _checked_period(period_ps: float | None, edges: np.ndarray) -> float | None:
    if period_ps is None:
        return None
    period = float(period_ps)
    if not (np.isfinite(period) and period > 0):
        raise FitError(f"laser period must be a positive number of ps, got {period_ps!r}")
    span = edges[-1] - edges[0]
    if span > period * (1 + 1e-9):
        raise FitError(
            f"the histogram spans {span:g} ps, more than one laser period ({period:g} ps)"
        )
    if np.max(np.diff(edges)) > period / 4:
        raise FitError("decay bins must be narrower than a quarter of the laser period")
    return period


def _irf_kind(irf: np.ndarray | None, irf_sigma_ps: float | None, gaussian: bool) -> str:
    if irf is not None:
        if irf_sigma_ps is not None:
            raise FitError("give either a measured irf or irf_sigma_ps, not both")
        return "measured"
    if not gaussian:
        if irf_sigma_ps is not None:
            raise FitError("irf_sigma_ps needs gaussian=True")
        return "none"
    if irf_sigma_ps is not None and not (np.isfinite(irf_sigma_ps) and irf_sigma_ps > 0):
        raise FitError(f"irf_sigma_ps must be a positive number of ps, got {irf_sigma_ps!r}")
    return "gaussian"


def _fit_bins(
    counts: np.ndarray, edges: np.ndarray, fit_range_ps: tuple[float, float] | None, kind: str
) -> slice:
    """The contiguous bins to fit: centres inside the range, or from the maximum for a tail fit."""
    if fit_range_ps is None:
        start = int(np.argmax(_smooth(counts))) if kind == "none" else 0
        return slice(start, counts.size)
    try:
        lo, hi = (float(v) for v in fit_range_ps)
    except (TypeError, ValueError) as exc:
        raise FitError(f"fit_range_ps must be (start, stop) in ps, got {fit_range_ps!r}") from exc
    if not lo < hi:
        raise FitError(f"fit_range_ps start must be below stop, got {fit_range_ps!r}")
    centres = 0.5 * (edges[:-1] + edges[1:])
    inside = np.flatnonzero((centres >= lo) & (centres <= hi))
    if inside.size == 0:
        raise FitError(f"no bins have their centre inside fit_range_ps {fit_range_ps!r}")
    return slice(int(inside[0]), int(inside[-1]) + 1)


def _checked_background(background: float | None) -> float | None:
    if background is None:
        return None
    value = float(background)
    if not (np.isfinite(value) and value >= 0):
        raise FitError(f"a fixed background must be a finite number >= 0, got {background!r}")
    return value


def _checked_guess(
    tau_guess_ps: Sequence[float] | None, n_components: int
) -> tuple[float, ...] | None:
    if tau_guess_ps is None:
        return None
    guess = np.atleast_1d(np.asarray(tau_guess_ps, dtype=float))
    if guess.shape != (n_components,) or not np.all(np.isfinite(guess) & (guess > 0)):
        raise FitError(
            f"tau_guess_ps needs {n_components} positive lifetime(s) in ps, got {tau_guess_ps!r}"
        )
    return tuple(float(t) for t in guess)


@dataclass(frozen=True)
class _Problem:
    """The fitted bins, the shape of each component and the parameter limits."""

    counts: np.ndarray
    edges: np.ndarray
    kind: str
    period: float | None
    shapes: _Shapes
    background_shape: np.ndarray
    fixed_background: float | None
    fixed_sigma: float | None
    start_shift: float
    start_sigma: float
    shift_bounds: tuple[float, float]
    sigma_bounds: tuple[float, float]
    tau_bounds: tuple[float, float]
    grid_bounds: tuple[float, float]

    @classmethod
    def build(
        cls,
        counts: np.ndarray,
        edges: np.ndarray,
        bins: slice,
        period: float | None,
        kind: str,
        irf: np.ndarray | None,
        irf_sigma_ps: float | None,
        fixed_background: float | None,
    ) -> _Problem:
        fit_edges = edges[bins.start : bins.stop + 1]
        fit_counts = counts[bins]
        widths = np.diff(fit_edges)
        typical = float(np.median(widths))
        span = float(fit_edges[-1] - fit_edges[0])
        reach = period if period is not None else span
        _, rise_time, rise_width = _rise(counts, edges)
        sigma_bounds = (0.05 * float(widths.min()), max(span / 4, typical))
        start_sigma = float(np.clip(rise_width, *sigma_bounds))
        if irf_sigma_ps is not None:
            start_sigma = float(irf_sigma_ps)
        if kind == "measured":
            shapes = _MeasuredIrf(_checked_irf(irf, counts, edges), edges, bins, period)
            irf_rise = _rise(shapes.irf, edges)[1]
            shift_bounds = (-0.5 * reach, 0.5 * reach)
            start_shift = float(np.clip(rise_time - irf_rise, *shift_bounds))
        else:
            shapes = _AnalyticShapes(fit_edges, period)
            shift_bounds = (float(fit_edges[0]) - 0.5 * reach, float(fit_edges[-1]))
            start_shift = (
                float(fit_edges[0]) if kind == "none" else float(np.clip(rise_time, *shift_bounds))
            )
        tau_low = SHORTEST_TAU_BINS * float(np.min(np.diff(edges)))
        return cls(
            counts=fit_counts,
            edges=fit_edges,
            kind=kind,
            period=period,
            shapes=shapes,
            background_shape=widths / typical,
            fixed_background=fixed_background,
            fixed_sigma=None if irf_sigma_ps is None else float(irf_sigma_ps),
            start_shift=start_shift,
            start_sigma=start_sigma if kind == "gaussian" else 0.0,
            shift_bounds=shift_bounds,
            sigma_bounds=sigma_bounds,
            tau_bounds=(tau_low, 1e3 * max(span, reach)),
            grid_bounds=(max(tau_low, 0.5 * typical), 20 * max(span, reach)),
        )

    def free_parameters(self, n_components: int) -> int:
        extra = {"gaussian": 1 if self.fixed_sigma is not None else 2, "measured": 1, "none": 0}
        return 2 * n_components + extra[self.kind] + (self.fixed_background is None)

    def check_counts(self, n_components: int) -> None:
        total = float(self.counts.sum())
        if total <= 0:
            raise FitError("the decay histogram is empty in the fitted range")
        n_free = self.free_parameters(n_components)
        if total < _MIN_COUNTS_PER_PARAMETER * n_free:
            raise FitError(
                f"{total:g} counts are too few to fit {n_free} decay parameters "
                f"(need at least {_MIN_COUNTS_PER_PARAMETER * n_free})"
            )
        if self.counts.size <= n_free + 1:
            raise FitError(f"{self.counts.size} bins are too few to fit {n_free} parameters")

    def model(self, n_components: int) -> Callable[..., np.ndarray]:
        """Expected counts per fitted bin as a function of the named parameters."""

        def expected(**p: float) -> np.ndarray:
            taus = [p[f"tau{i}"] for i in range(1, n_components + 1)]
            photons = np.array([p[f"n{i}"] for i in range(1, n_components + 1)])
            shapes = self.shapes(taus, p["shift"], p.get("sigma", 0.0))
            return photons @ shapes + p["background"] * self.background_shape

        return expected

    def jacobian(self, n_components: int) -> Callable[..., tuple[np.ndarray, dict]]:
        """The model of :meth:`model` with its derivatives by every parameter."""

        def expected_and_derivs(**p: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
            taus = [p[f"tau{i}"] for i in range(1, n_components + 1)]
            photons = np.array([p[f"n{i}"] for i in range(1, n_components + 1)])
            d = self.shapes.derivs(taus, p["shift"], p.get("sigma", 0.0))
            mu = photons @ d.value + p["background"] * self.background_shape
            derivs = {
                "shift": photons @ d.d_t0,
                "sigma": photons @ d.d_sigma,
                "background": self.background_shape,
            }
            for i in range(n_components):
                derivs[f"n{i + 1}"] = d.value[i]
                derivs[f"tau{i + 1}"] = photons[i] * d.d_tau[i]
            return mu, derivs

        return expected_and_derivs

    @cached_property
    def _weighted(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Least-squares weights, the weighted target and the weighted background column."""
        weights = 1.0 / np.sqrt(self.counts + 1.0)
        target = self.counts.copy()
        if self.fixed_background is not None:
            target = target - self.fixed_background * self.background_shape
        return weights, target * weights, self.background_shape * weights

    def linear_solution(
        self, shapes: np.ndarray, weighted: np.ndarray | None = None
    ) -> tuple[np.ndarray, float, float]:
        """Photon numbers and background for fixed shapes (weighted non-negative least squares),
        with the Poisson deviance of the result; ``weighted``: the shapes times the weights,
        when already at hand."""
        weights, target, background = self._weighted
        columns = list(shapes * weights if weighted is None else weighted)
        if self.fixed_background is None:
            columns.append(background)
        coef, _ = nnls(np.column_stack(columns), target)
        photons = coef[: len(shapes)]
        bg = float(coef[-1]) if self.fixed_background is None else self.fixed_background
        mu = photons @ shapes + bg * self.background_shape
        return photons, bg, poisson_deviance(self.counts, mu)

    def grid_profile(
        self, order: int, shift: float, sigma: float
    ) -> tuple[np.ndarray, list[tuple[float, tuple[int, ...]]]]:
        """Lifetime grid and the profiled deviance of every combination, best first."""
        grid = np.geomspace(*self.grid_bounds, _GRID_POINTS[order])
        shapes = self.shapes(list(grid), shift, sigma)
        weighted = shapes * self._weighted[0]
        scored = []
        for combo in combinations(range(grid.size), order):
            rows = list(combo)
            scored.append((self.linear_solution(shapes[rows], weighted[rows])[2], combo))
        scored.sort()
        return grid, scored

    def grid_starts(self, order: int, shift: float, sigma: float) -> list[tuple[float, ...]]:
        """The best distinct lifetime combinations on a logarithmic grid (profile deviance)."""
        grid, scored = self.grid_profile(order, shift, sigma)
        chosen: list[tuple[int, ...]] = []
        for _, combo in scored:
            if all(max(abs(a - b) for a, b in zip(combo, c, strict=True)) > 1 for c in chosen):
                chosen.append(combo)
            if len(chosen) == _GRID_STARTS:
                break
        return [tuple(float(grid[i]) for i in combo) for combo in chosen]

    def fit_order(
        self,
        order: int,
        guess: tuple[float, ...] | None,
        starts: list[tuple[float, ...]],
        shift: float,
        sigma: float,
    ) -> PoissonFit:
        """Maximum-likelihood fit of ``order`` components: the best of several starts.

        The user's guess comes first, then the given and the grid starts by their profiled
        deviance; the search stops once two starts have reached the best optimum or, for one
        component, once the grid profiled at the fitted shift and IRF width agrees.
        """
        starts = starts + self.grid_starts(order, shift, sigma)
        starts.sort(key=lambda taus: self.linear_solution(self.shapes(list(taus), shift, sigma))[2])
        if guess is not None:
            starts.insert(0, guess)
        best: PoissonFit | None = None
        agreeing = 0
        for taus in _distinct(starts):
            fit = self.fit_from(taus, shift, sigma)
            if best is not None and _same_optimum(fit, best, order):
                agreeing += 1
                best = fit if fit.deviance < best.deviance else best
            elif best is None or fit.deviance < best.deviance:
                best, agreeing = fit, 1
            if agreeing >= 2 or (order == 1 and best is fit and self.grid_confirms(fit)):
                break
        assert best is not None
        return best

    def grid_confirms(self, fit: PoissonFit) -> bool:
        """Whether the best one-component grid lifetime, profiled with the fitted shift and IRF
        width, lies within one grid step of the fitted lifetime."""
        sigma = fit["sigma"] if "sigma" in fit.names else 0.0
        grid, scored = self.grid_profile(1, fit["shift"], sigma)
        step = np.log(grid[1] / grid[0])
        return bool(abs(np.log(grid[scored[0][1][0]] / fit["tau1"])) <= step)

    def fit_from(self, taus: tuple[float, ...], shift: float, sigma: float) -> PoissonFit:
        order = len(taus)
        taus = tuple(float(np.clip(t, *self.tau_bounds)) for t in taus)
        photons, bg, _ = self.linear_solution(self.shapes(list(taus), shift, sigma))
        total = float(self.counts.sum())
        floor = 1e-3 * total / order
        p0: dict[str, float] = {}
        bounds: dict[str, tuple[float | None, float | None]] = {}
        scales: dict[str, float] = {}
        for i, (n, tau) in enumerate(zip(photons, taus, strict=True), start=1):
            p0[f"n{i}"], bounds[f"n{i}"], scales[f"n{i}"] = max(n, floor), (0.0, None), total
            p0[f"tau{i}"], bounds[f"tau{i}"], scales[f"tau{i}"] = tau, self.tau_bounds, tau
        width = float(np.median(np.diff(self.edges)))
        p0["shift"], bounds["shift"] = float(np.clip(shift, *self.shift_bounds)), self.shift_bounds
        scales["shift"] = max(sigma, width)
        fixed = [] if self.kind != "none" else ["shift"]
        if self.kind == "gaussian":
            p0["sigma"] = float(np.clip(sigma, *self.sigma_bounds))
            bounds["sigma"], scales["sigma"] = self.sigma_bounds, p0["sigma"]
            if self.fixed_sigma is not None:
                p0["sigma"] = self.fixed_sigma
                fixed.append("sigma")
        mean = total / self.counts.size
        p0["background"], bounds["background"] = max(bg, 1e-3 * mean), (None, None)
        scales["background"] = max(bg, 0.01 * mean, 1e-3)
        if self.fixed_background is not None:
            p0["background"] = self.fixed_background
            fixed.append("background")
        return fit_poisson(
            self.model(order),
            self.counts,
            p0,
            bounds=bounds,
            fixed=fixed,
            scales=scales,
            max_iter=_MAX_SCORING_STEPS,
            jacobian=self.jacobian(order),
        )


def _checked_irf(irf: np.ndarray | None, counts: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The measured IRF clipped at zero and normalised to unit sum."""
    irf = np.asarray(irf, dtype=float)
    if irf.shape != counts.shape:
        raise FitError(
            f"the measured IRF must have the shape of the decay histogram {counts.shape}, "
            f"got {irf.shape}"
        )
    if not np.all(np.isfinite(irf)):
        raise FitError("the measured IRF contains NaN or infinite values")
    widths = np.diff(edges)
    if np.ptp(widths) > _UNIFORM_TOLERANCE * widths.mean():
        raise FitError("reconvolution with a measured IRF needs uniform bin widths")
    irf = np.clip(irf, 0.0, None)
    if irf.sum() <= 0:
        raise FitError("the measured IRF has no counts")
    return irf / irf.sum()


class _AnalyticShapes:
    """Gaussian-broadened (or, with sigma 0, bare) periodic exponentials on the fitted bins."""

    def __init__(self, edges: np.ndarray, period: float | None) -> None:
        self.edges = edges
        self.period = period

    def __call__(self, taus: Sequence[float], shift: float, sigma: float) -> np.ndarray:
        rows = [
            periodic_exp_gauss_bins_fast(self.edges, tau, sigma, shift, self.period) for tau in taus
        ]
        return np.clip(np.array(rows), 0.0, None)

    def derivs(self, taus: Sequence[float], shift: float, sigma: float) -> ShapeDerivs:
        """The shapes of :meth:`__call__` and their derivatives by tau, shift and sigma."""
        rows = [
            periodic_exp_gauss_bins_derivs(self.edges, tau, sigma, shift, self.period)
            for tau in taus
        ]
        return _clipped(ShapeDerivs(*(np.array(part) for part in zip(*rows, strict=True))))


def _clipped(d: ShapeDerivs) -> ShapeDerivs:
    """Shapes clipped at zero (rounding below it), with zero derivatives where clipped."""
    below = d.value < 0
    if not below.any():
        return d
    return ShapeDerivs(*(np.where(below, 0.0, part) for part in d))


class _MeasuredIrf:
    """Periodic exponentials convolved with a measured IRF on uniform bins.

    The IRF histogram ``r`` launches decays uniformly within each of its bins; the probability
    that a decay launched in bin ``j`` lands in bin ``m`` depends only on ``m - j`` (and on the
    shift), so the model is ``sum_j r_j K(m - j)``, computed by FFT.
    """

    def __init__(
        self, irf: np.ndarray, edges: np.ndarray, bins: slice, period: float | None
    ) -> None:
        self.irf = irf
        self.bins = bins
        self.period = period
        self.n = irf.size
        self.width = float((edges[-1] - edges[0]) / self.n)
        self.lags = np.arange(-(self.n - 1), self.n) * self.width
        self.size = sfft.next_fast_len(3 * self.n - 2, real=True)
        self.irf_spectrum = sfft.rfft(irf, self.size)

    def __call__(self, taus: Sequence[float], shift: float, sigma: float = 0.0) -> np.ndarray:
        kernels = np.array(
            [_binned_decay_kernel(self.lags - shift, self.width, tau, self.period) for tau in taus]
        )
        spectrum = sfft.rfft(kernels, self.size, axis=1) * self.irf_spectrum
        full = sfft.irfft(spectrum, self.size, axis=1)[:, self.n - 1 : 2 * self.n - 1]
        return np.clip(full[:, self.bins], 0.0, None)

    def derivs(self, taus: Sequence[float], shift: float, sigma: float = 0.0) -> ShapeDerivs:
        """The shapes of :meth:`__call__` and their derivatives by tau and shift (sigma: 0)."""
        k = len(taus)
        lags = self.lags - shift
        parts = [binned_decay_kernel_derivs(lags, self.width, t, self.period) for t in taus]
        kernels = np.array([row for part in zip(*parts, strict=True) for row in part])
        spectrum = sfft.rfft(kernels, self.size, axis=1) * self.irf_spectrum
        full = sfft.irfft(spectrum, self.size, axis=1)[:, self.n - 1 : 2 * self.n - 1]
        full = full[:, self.bins]
        value, d_tau, d_lag = full[:k], full[k : 2 * k], full[2 * k :]
        return _clipped(ShapeDerivs(value, d_tau, -d_lag, np.zeros_like(value)))


def _binned_decay_kernel(
    centres: np.ndarray, width: float, tau: float, period: float | None
) -> np.ndarray:
    """Probability that a decay launched uniformly in a bin lands in the bin ``centres`` later.

    Integral of the (periodic) exponential density ``g(d) = exp(-(d mod period) / tau) /
    (tau (1 - exp(-period / tau)))`` against a unit triangle of half-width ``width`` centred on
    each lag in ``centres`` (ps). Without a period, ``g(d) = exp(-d / tau) / tau`` for ``d > 0``.
    """
    x = width / tau
    if period is None:
        lag = np.asarray(centres, dtype=float)
        q, norm = 0.0, 1.0
    else:
        lag = centres - period * np.round(centres / period)
        q, norm = float(np.exp(-period / tau)), 1.0 / float(-np.expm1(-period / tau))
    out = np.zeros_like(lag)
    tail = (tau / width) * np.expm1(-x) ** 2
    after = lag >= width
    out[after] = tail * np.exp(-(lag[after] - width) / tau)
    before = lag <= -width
    if period is not None:
        out[before] = tail * np.exp(-(lag[before] - width + period) / tau)
    near = ~(after | before)
    d = lag[near]
    second = _double_integral(d + width, tau, q) - 2 * _double_integral(d, tau, q)
    second += _double_integral(d - width, tau, q)
    out[near] = (tau / width) * second
    return norm * out


def _double_integral(d: np.ndarray, tau: float, q: float) -> np.ndarray:
    """``g`` integrated twice from 0 to ``d`` (ps), divided by ``tau`` and by the normalisation of
    ``g``; ``q = exp(-period / tau)`` weighs the wrapped part at ``d < 0`` (0 without a period)."""
    y = d / tau
    h = y + np.expm1(-y)
    return np.where(d >= 0, h, q * h)


def _smooth(counts: np.ndarray) -> np.ndarray:
    """Running mean over about 1 % of the bins (an odd number, at least one)."""
    m = max(1, counts.size // 100) | 1
    if m == 1:
        return counts.astype(float)
    padded = np.pad(counts.astype(float), m // 2, mode="edge")
    return np.convolve(padded, np.ones(m) / m, mode="valid")


def _rise(counts: np.ndarray, edges: np.ndarray) -> tuple[float, float, float]:
    """Baseline, half-height time and Gaussian-equivalent width of the rising edge (ps)."""
    smooth = _smooth(counts)
    centres = 0.5 * (edges[:-1] + edges[1:])
    low = max(1, smooth.size // 10)
    base = float(np.mean(np.sort(smooth)[:low]))
    peak = int(np.argmax(smooth))
    height = smooth[peak] - base
    width = float(np.median(np.diff(edges)))
    if height <= 0 or peak == 0:
        return base, float(edges[0]), width

    def crossing(fraction: float) -> float:
        level = base + fraction * height
        below = np.flatnonzero(smooth[:peak] < level)
        if below.size == 0:
            return float(edges[0])
        i = int(below[-1])
        step = smooth[i + 1] - smooth[i]
        frac = (level - smooth[i]) / step if step > 0 else 0.5
        return float(centres[i] + frac * (centres[i + 1] - centres[i]))

    rise = crossing(0.8) - crossing(0.2)
    return base, crossing(0.5), max(rise / 1.683, 0.5 * width)


def _split_starts(taus: np.ndarray) -> list[tuple[float, ...]]:
    """Starts for one more component, made by splitting or extending the previous lifetimes."""
    t = sorted(float(v) for v in taus)
    if len(t) == 1:
        return [(t[0] / 3, 1.3 * t[0]), (t[0] / 1.3, 3 * t[0])]
    out = [(t[0] / 3, *t), (*t, 3 * t[-1])]
    for a, b in pairwise(t):
        out.append(tuple(sorted([*t, float(np.sqrt(a * b))])))
    return out


def _distinct(starts: list[tuple[float, ...]]) -> list[tuple[float, ...]]:
    """Drop starts whose sorted lifetimes all lie within 10 % of an earlier start's."""
    kept: list[tuple[float, ...]] = []
    for start in starts:
        s = np.sort(start)
        if not any(np.all(np.abs(np.log(s / np.sort(k))) < 0.1) for k in kept):
            kept.append(start)
    return kept


def _same_optimum(a: PoissonFit, b: PoissonFit, order: int) -> bool:
    """Whether two fits reached the same likelihood maximum (deviance and lifetimes)."""
    if abs(a.deviance - b.deviance) > 0.05:
        return False
    return bool(np.allclose(np.sort(_taus_of(a, order)), np.sort(_taus_of(b, order)), rtol=0.01))


def _taus_of(fit: PoissonFit, order: int) -> np.ndarray:
    return np.array([fit[f"tau{i}"] for i in range(1, order + 1)])


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


def _result(model: str, k: int, problem: _Problem, fit: PoissonFit) -> DecayFit:
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
