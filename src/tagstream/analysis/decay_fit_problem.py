"""The decay-fit problem: the fitted bins, the shape of each component, the parameter limits,
the model and its Jacobian, the linear solution for fixed lifetimes, and the maximum-likelihood
fit of a given number of components from several starts. Times in ps; photon numbers per
period; the background in counts per bin of the typical (median) fitted width."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.optimize import nnls

from ..errors import FitError
from .decay_fit_checks import checked_irf
from .decay_fit_shapes import AnalyticShapes, MeasuredIrf
from .decay_fit_start import distinct, grid_confirms, grid_starts, rise, same_optimum
from .poisson_fit import PoissonFit, fit_poisson, poisson_deviance

#: The shortest lifetime a fit allows, as a fraction of the narrowest bin.
SHORTEST_TAU_BINS = 0.05

MIN_COUNTS_PER_PARAMETER = 10
MAX_SCORING_STEPS = 2000

Shapes = Callable[[Sequence[float], float, float], np.ndarray]


@dataclass(frozen=True)
class DecayProblem:
    """The fitted bins, the shape of each component and the parameter limits."""

    counts: np.ndarray
    edges: np.ndarray
    kind: str
    period: float | None
    shapes: Shapes
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
    ) -> DecayProblem:
        """The problem of fitting ``counts`` (bin ``edges`` in ps) over ``bins``: the component
        shapes for the IRF ``kind`` (a measured ``irf`` histogram, a Gaussian of fixed or fitted
        width, or none), starting shift and width (ps) from the rise, and the limits of every
        parameter."""
        fit_edges = edges[bins.start : bins.stop + 1]
        fit_counts = counts[bins]
        widths = np.diff(fit_edges)
        typical = float(np.median(widths))
        span = float(fit_edges[-1] - fit_edges[0])
        reach = period if period is not None else span
        _, rise_time, rise_width = rise(counts, edges)
        sigma_bounds = (0.05 * float(widths.min()), max(span / 4, typical))
        start_sigma = float(np.clip(rise_width, *sigma_bounds))
        if irf_sigma_ps is not None:
            start_sigma = float(irf_sigma_ps)
        if kind == "measured":
            shapes = MeasuredIrf(checked_irf(irf, counts, edges), edges, bins, period)
            irf_rise = rise(shapes.irf, edges)[1]
            shift_bounds = (-0.5 * reach, 0.5 * reach)
            start_shift = float(np.clip(rise_time - irf_rise, *shift_bounds))
        else:
            shapes = AnalyticShapes(fit_edges, period)
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
        """Free parameters of a fit of ``n_components`` exponentials: photons and lifetime of each,
        the IRF's shift and width where fitted, and the background unless fixed."""
        extra = {"gaussian": 1 if self.fixed_sigma is not None else 2, "measured": 1, "none": 0}
        return 2 * n_components + extra[self.kind] + (self.fixed_background is None)

    def check_counts(self, n_components: int) -> None:
        """Check that the fitted bins hold enough photons and bins for ``n_components``
        exponentials; a :class:`FitError` saying why not."""
        total = float(self.counts.sum())
        if total <= 0:
            raise FitError("the decay histogram is empty in the fitted range")
        n_free = self.free_parameters(n_components)
        if total < MIN_COUNTS_PER_PARAMETER * n_free:
            raise FitError(
                f"{total:g} counts are too few to fit {n_free} decay parameters "
                f"(need at least {MIN_COUNTS_PER_PARAMETER * n_free})"
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
    def weighted(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
        weights, target, background = self.weighted
        columns = list(shapes * weights if weighted is None else weighted)
        if self.fixed_background is None:
            columns.append(background)
        coef, _ = nnls(np.column_stack(columns), target)
        photons = coef[: len(shapes)]
        bg = float(coef[-1]) if self.fixed_background is None else self.fixed_background
        mu = photons @ shapes + bg * self.background_shape
        return photons, bg, poisson_deviance(self.counts, mu)

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
        deviance (worked out only when the guess alone does not settle it); the search stops
        once two starts have reached the best optimum or, for one component, once the grid
        profiled at the fitted shift and IRF width agrees.
        """

        def ranked() -> list[tuple[float, ...]]:
            found = starts + grid_starts(self, order, shift, sigma)
            found.sort(key=lambda t: self.linear_solution(self.shapes(list(t), shift, sigma))[2])
            return distinct([guess, *found])[1:] if guess is not None else distinct(found)

        queue = [guess] if guess is not None else ranked()
        ranked_later = guess is not None
        best: PoissonFit | None = None
        agreeing = 0
        while queue:
            fit = self.fit_from(queue.pop(0), shift, sigma)
            if best is not None and same_optimum(fit, best, order):
                agreeing += 1
                best = fit if fit.deviance < best.deviance else best
            elif best is None or fit.deviance < best.deviance:
                best, agreeing = fit, 1
            if agreeing >= 2 or (order == 1 and best is fit and grid_confirms(self, fit)):
                break
            if ranked_later and not queue:  # the guess alone did not settle it
                queue, ranked_later = ranked(), False
        assert best is not None
        return best

    def fit_from(self, taus: tuple[float, ...], shift: float, sigma: float) -> PoissonFit:
        """The Poisson fit of ``len(taus)`` exponentials started from lifetimes ``taus``, ``shift``
        and IRF width ``sigma`` (ps), the photons and background from the linear solution at that
        start."""
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
            max_iter=MAX_SCORING_STEPS,
            jacobian=self.jacobian(order),
        )
