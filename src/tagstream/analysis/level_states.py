"""Intensity states from change-point levels: which levels are the same state, by likelihood.

As in Watkins & Yang (J. Phys. Chem. B 109, 617, 2005), the levels (photons ``n_j`` in live time
``T_j``) are first clustered agglomeratively: starting from one group per level, the two groups
whose merge loses the least log-likelihood,

    n1 ln(n1 / T1) + n2 ln(n2 / T2) - (n1 + n2) ln((n1 + n2) / (T1 + T2)),

are merged until one is left (merging only neighbours in intensity: the best groups of
one-dimensional data are intervals of it). The grouping into ``m`` states starts an
expectation-maximisation fit of ``m`` Poisson intensities ``I_s`` with weights ``p_s``, a level
being in state ``s`` with probability ``∝ p_s Poisson(n_j; I_s T_j)``. The number of states is the
one with the smallest integrated completed likelihood (the Bayesian information criterion
``-2 ln L + (2m - 1) ln(levels)`` plus twice the entropy of the assignments) among the groupings
whose states are distinct: each state holds at least :data:`MIN_STATE_SHARE` of the live time
or of the photons, and neighbouring states differ in intensity by at least
:data:`MIN_CONTRAST`. A short level caught mid-switch, or a slow drift of focus or excitation
that the change points follow at high count rates, is then not a state of its own. Each level
goes to its most probable state.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from ..errors import AnalysisError

#: Most states tried.
MAX_STATES = 3
#: EM iterations at most, and the change of ln L that ends them.
EM_ITERATIONS, EM_TOLERANCE = 500, 1e-7
#: Least share of the live time or of the photons in a state, when the number of states is
#: chosen (a dot OFF most of the time still has its ON state: it holds many of the photons).
MIN_STATE_SHARE = 0.01
#: Least intensity ratio of neighbouring states, when the number of states is chosen.
MIN_CONTRAST = 1.25


@dataclass(frozen=True)
class StateFit:
    """Intensity states of a set of levels.

    Attributes
    ----------
    rates_cps
        Intensity of each state, counts/s, increasing.
    weights
        Share of the levels in each state (the mixture's weights).
    state
        State of each level (index into :attr:`rates_cps`).
    bic
        The information criterion of each number of states tried.
    """

    rates_cps: np.ndarray
    weights: np.ndarray
    state: np.ndarray
    bic: dict[int, float]

    @property
    def n_states(self) -> int:
        """Number of states."""
        return int(self.rates_cps.size)


def fit_states(
    counts: np.ndarray, live_s: np.ndarray, n_states: int | None = None
) -> StateFit:
    """The intensity states of levels with ``counts`` photons in ``live_s`` seconds each.

    Parameters
    ----------
    counts, live_s
        Photons and live time (s) of each level; levels without live time are left out (state
        -1).
    n_states
        The number of states; None to choose 1 to :data:`MAX_STATES` (see the module
        docstring).

    Raises
    ------
    AnalysisError
        No level with live time, or ``n_states`` not in 1 to :data:`MAX_STATES`.
    """
    counts = np.asarray(counts, np.float64)
    live = np.asarray(live_s, np.float64)
    use = live > 0
    if not np.any(use):
        raise AnalysisError("no level with live time")
    if n_states is not None and not 1 <= n_states <= MAX_STATES:
        raise AnalysisError(f"n_states must be 1 to {MAX_STATES}, got {n_states}")
    n, t = counts[use], live[use]
    tries = range(1, min(MAX_STATES, n.size) + 1) if n_states is None else (n_states,)
    groupings = agglomerate(n, t, max(tries))
    fits = {m: _em(n, t, groupings[m]) for m in tries if m in groupings}
    if not fits:
        raise AnalysisError(f"{n.size} level(s) cannot make {n_states} states")
    if n_states is None:
        fits = {m: f for m, f in fits.items() if m == 1 or _distinct((*f, n), t)}
    bic = {m: _icl(f, n.size) for m, f in fits.items()}
    best = min(bic, key=bic.get)
    rates, weights, _, resp = fits[best]
    state = np.full(counts.size, -1, np.int64)
    state[use] = np.argmax(resp, axis=1)
    return StateFit(rates, weights, state, {m: float(b) for m, b in sorted(bic.items())})


def agglomerate(n: np.ndarray, t: np.ndarray, most: int) -> dict[int, np.ndarray]:
    """Groupings of the levels into 1 to ``most`` groups by greedy merging of neighbours in
    intensity (see the module docstring): ``{m: group of each level}``, groups numbered by
    increasing intensity."""
    order = np.argsort(n / t, kind="stable")
    gn, gt = list(n[order]), list(t[order])
    k = len(gn)
    nxt, prv = list(range(1, k + 1)), list(range(-1, k - 1))
    alive = [True] * k
    heap = [(_merge_cost(gn[i], gt[i], gn[i + 1], gt[i + 1]), i, i + 1) for i in range(k - 1)]
    heapq.heapify(heap)
    merges: list[int] = []  # the group merged into its lower neighbour, in turn
    while heap:
        cost, i, j = heapq.heappop(heap)
        if not (alive[i] and alive[j] and nxt[i] == j) or cost != _merge_cost(
            gn[i], gt[i], gn[j], gt[j]
        ):
            continue
        gn[i] += gn[j]
        gt[i] += gt[j]
        alive[j] = False
        merges.append(j)
        nxt[i] = nxt[j]
        if nxt[i] < k:
            prv[nxt[i]] = i
            heapq.heappush(heap, (_merge_cost(gn[i], gt[i], gn[nxt[i]], gt[nxt[i]]), i, nxt[i]))
        if prv[i] >= 0:
            heapq.heappush(heap, (_merge_cost(gn[prv[i]], gt[prv[i]], gn[i], gt[i]), prv[i], i))
    out: dict[int, np.ndarray] = {}
    starts = np.ones(k, bool)  # True where a group starts, in intensity order
    for step in range(k):
        groups = k - step
        if groups <= most:
            group = np.empty(k, np.int64)
            group[order] = np.cumsum(starts) - 1
            out[groups] = group
        if step < len(merges):
            starts[merges[step]] = False
    return out


def _distinct(fit, t: np.ndarray) -> bool:
    """Whether the fit's states are distinct (see the module docstring)."""
    rates, _, _, resp, n = fit
    state = np.argmax(resp, axis=1)
    time_share = np.bincount(state, weights=t, minlength=rates.size) / t.sum()
    photon_share = np.bincount(state, weights=n, minlength=rates.size) / max(n.sum(), 1.0)
    large = np.maximum(time_share, photon_share).min() >= MIN_STATE_SHARE
    return bool(large and np.all(rates[1:] >= MIN_CONTRAST * rates[:-1]))


def _icl(fit, levels: int) -> float:
    """The integrated completed likelihood: BIC plus twice the entropy of the assignments."""
    rates, _, loglik, resp = fit
    entropy = -float(np.sum(resp * np.log(np.where(resp > 0, resp, 1.0))))
    return -2 * loglik + (2 * rates.size - 1) * np.log(levels) + 2 * entropy


def _f(n: float, t: float) -> float:
    return n * np.log(n / t) if n > 0 else 0.0


def _merge_cost(n1: float, t1: float, n2: float, t2: float) -> float:
    return _f(n1, t1) + _f(n2, t2) - _f(n1 + n2, t1 + t2)


def _em(n: np.ndarray, t: np.ndarray, group: np.ndarray):
    """EM fit of a Poisson mixture started from ``group``: (rates, weights, ln L,
    responsibilities), states ordered by rate."""
    m = int(group.max()) + 1
    resp = np.zeros((n.size, m))
    resp[np.arange(n.size), group] = 1.0
    const = gammaln(n + 1)
    last = -np.inf
    for _ in range(EM_ITERATIONS):
        weights = resp.mean(axis=0)
        rates = np.maximum(resp.T @ n / np.maximum(resp.T @ t, 1e-300), 1e-12)
        logp = (
            n[:, None] * np.log(rates[None, :] * t[:, None])
            - rates[None, :] * t[:, None]
            - const[:, None]
            + np.log(np.maximum(weights, 1e-300))[None, :]
        )
        top = logp.max(axis=1, keepdims=True)
        total = top[:, 0] + np.log(np.exp(logp - top).sum(axis=1))
        resp = np.exp(logp - total[:, None])
        loglik = float(total.sum())
        if loglik - last < EM_TOLERANCE * max(1.0, abs(loglik)):
            break
        last = loglik
    order = np.argsort(rates)
    return rates[order], weights[order], loglik, resp[:, order]
