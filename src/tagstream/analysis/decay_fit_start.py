"""Starting values of the decay fits: the rising edge of the histogram (pulse position and IRF
width), lifetimes on a logarithmic grid by their profiled deviance, and the starts for one more
component made from a fit with one fewer; with the tests that tell two fits reached the same
optimum."""

from __future__ import annotations

from itertools import combinations, pairwise
from typing import TYPE_CHECKING

import numpy as np

from .poisson_fit import PoissonFit

if TYPE_CHECKING:
    from .decay_fit_problem import DecayProblem

#: Points of the lifetime grid, by number of components.
GRID_POINTS = {1: 40, 2: 24, 3: 16}
#: Distinct grid combinations tried as starts.
GRID_STARTS = 2


def smoothed(counts: np.ndarray) -> np.ndarray:
    """Running mean over about 1 % of the bins (an odd number, at least one)."""
    m = max(1, counts.size // 100) | 1
    if m == 1:
        return counts.astype(float)
    padded = np.pad(counts.astype(float), m // 2, mode="edge")
    return np.convolve(padded, np.ones(m) / m, mode="valid")


def rise(counts: np.ndarray, edges: np.ndarray) -> tuple[float, float, float]:
    """Baseline, half-height time and Gaussian-equivalent width of the rising edge (ps)."""
    smooth = smoothed(counts)
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

    rise_time = crossing(0.8) - crossing(0.2)
    return base, crossing(0.5), max(rise_time / 1.683, 0.5 * width)


def split_starts(taus: np.ndarray) -> list[tuple[float, ...]]:
    """Starts for one more component, made by splitting or extending the previous lifetimes."""
    t = sorted(float(v) for v in taus)
    if len(t) == 1:
        return [(t[0] / 3, 1.3 * t[0]), (t[0] / 1.3, 3 * t[0])]
    out = [(t[0] / 3, *t), (*t, 3 * t[-1])]
    for a, b in pairwise(t):
        out.append(tuple(sorted([*t, float(np.sqrt(a * b))])))
    return out


def distinct(starts: list[tuple[float, ...]]) -> list[tuple[float, ...]]:
    """Drop starts whose sorted lifetimes all lie within 10 % of an earlier start's."""
    kept: list[tuple[float, ...]] = []
    for start in starts:
        s = np.sort(start)
        if not any(np.all(np.abs(np.log(s / np.sort(k))) < 0.1) for k in kept):
            kept.append(start)
    return kept


def same_optimum(a: PoissonFit, b: PoissonFit, order: int) -> bool:
    """Whether two fits reached the same likelihood maximum (deviance and lifetimes)."""
    if abs(a.deviance - b.deviance) > 0.05:
        return False
    return bool(np.allclose(np.sort(taus_of(a, order)), np.sort(taus_of(b, order)), rtol=0.01))


def taus_of(fit: PoissonFit, order: int) -> np.ndarray:
    """The fitted lifetimes ``tau1 .. tau<order>``, ps, in parameter order."""
    return np.array([fit[f"tau{i}"] for i in range(1, order + 1)])


def grid_profile(
    problem: DecayProblem, order: int, shift: float, sigma: float
) -> tuple[np.ndarray, list[tuple[float, tuple[int, ...]]]]:
    """Lifetime grid and the profiled deviance of every combination, best first."""
    grid = np.geomspace(*problem.grid_bounds, GRID_POINTS[order])
    shapes = problem.shapes(list(grid), shift, sigma)
    weighted = shapes * problem.weighted[0]
    scored = []
    for combo in combinations(range(grid.size), order):
        rows = list(combo)
        scored.append((problem.linear_solution(shapes[rows], weighted[rows])[2], combo))
    scored.sort()
    return grid, scored


def grid_starts(
    problem: DecayProblem, order: int, shift: float, sigma: float
) -> list[tuple[float, ...]]:
    """The best distinct lifetime combinations on a logarithmic grid (profile deviance)."""
    grid, scored = grid_profile(problem, order, shift, sigma)
    chosen: list[tuple[int, ...]] = []
    for _, combo in scored:
        if all(max(abs(a - b) for a, b in zip(combo, c, strict=True)) > 1 for c in chosen):
            chosen.append(combo)
        if len(chosen) == GRID_STARTS:
            break
    return [tuple(float(grid[i]) for i in combo) for combo in chosen]


def grid_confirms(problem: DecayProblem, fit: PoissonFit) -> bool:
    """Whether the best one-component grid lifetime, profiled with the fitted shift and IRF
    width, lies within one grid step of the fitted lifetime."""
    sigma = fit["sigma"] if "sigma" in fit.names else 0.0
    grid, scored = grid_profile(problem, 1, fit["shift"], sigma)
    step = np.log(grid[1] / grid[0])
    return bool(abs(np.log(grid[scored[0][1][0]] / fit["tau1"])) <= step)
