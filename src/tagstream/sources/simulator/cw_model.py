"""Tables for the CW emitter kernel: the law of the time to the next detected photon per state.

Under CW pumping the emitter is the chain ground (0) -> X (1) -> BX (2) (see
:mod:`tagstream.kernels.cw_emission`). Until the next detected photon it follows the generator
``S`` without the detected decays; from level ``L`` the density of a detected X photon at ``t``
is ``e_L exp(S t) r_X`` (``r_X = [0, g a, 0]``) and of a BX photon ``e_L exp(S t) r_B``
(``r_B = [0, 0, gb b]``). With ``S = V diag(-mu) V^-1`` both are sums of three exponentials,
``sum_i c_i exp(-mu_i t)``, some coefficients negative (the antibunching dip). The kernel draws
from the dominating mixture of the positive terms and accepts with the ratio (exact rejection).
Where the decomposition is ill-conditioned (nearly equal rates) the state falls back to the
kernel's jump over the chain's stays, equally exact and slower.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...kernels.cw_emission import (
    MODE_CHAIN,
    MODE_DARK,
    MODE_SPECTRAL,
    killed_generator,
)

#: Largest mean number of draws per accepted one before the chain is used instead.
MAX_REJECTION_COST = 4.0
#: Terms below this fraction of the slowest one are below double rounding.
NEGLIGIBLE = 2.0**-60


@dataclass(frozen=True)
class CWTables:
    """Per state (first axis): the kernel's mode, the rates ``mu`` (per ps, ascending), per
    start level the coefficients of the X and BX densities, the cumulative weights of the
    dominating mixture's terms, the time beyond which each term is below the rounding of the
    slowest one, the time beyond which only the slowest term counts and the X share there."""

    mode: np.ndarray  # int64[states]
    mu: np.ndarray  # float64[states, 3]
    c_x: np.ndarray  # float64[states, 3, 3]  (state, start level, term)
    c_bx: np.ndarray  # float64[states, 3, 3]
    cum_weight: np.ndarray  # float64[states, 3, 3]
    t_neg: np.ndarray  # float64[states, 3, 3], ps: beyond, the term is below rounding
    t_far: np.ndarray  # float64[states, 3], ps: the largest t_neg
    x_far: np.ndarray  # float64[states, 3]


def cw_tables(
    pump_per_ps: float,
    tau_x: np.ndarray,
    qy_x: np.ndarray,
    tau_bx: float,
    qy_bx: float,
    eta: float,
) -> CWTables:
    """The tables for every state of ``tau_x``/``qy_x``."""
    n = len(tau_x)
    tables = CWTables(
        mode=np.full(n, MODE_CHAIN, np.int64),
        mu=np.ones((n, 3)),
        c_x=np.zeros((n, 3, 3)),
        c_bx=np.zeros((n, 3, 3)),
        cum_weight=np.ones((n, 3, 3)),
        t_neg=np.full((n, 3, 3), np.inf),
        t_far=np.full((n, 3), np.inf),
        x_far=np.ones((n, 3)),
    )
    for s in range(n):
        a, b = qy_x[s] * eta, qy_bx * eta
        if a <= 0 and b <= 0:
            tables.mode[s] = MODE_DARK
            continue
        g, gb = 1.0 / tau_x[s], 1.0 / tau_bx
        found = _spectral(np.asarray(killed_generator(pump_per_ps, g, a, gb, b)), g * a, gb * b)
        if found is not None:
            tables.mode[s] = MODE_SPECTRAL
            mu, c_x, c_bx, cum, t_neg, x_far = found
            tables.mu[s], tables.c_x[s], tables.c_bx[s] = mu, c_x, c_bx
            tables.cum_weight[s], tables.t_neg[s], tables.x_far[s] = cum, t_neg, x_far
            tables.t_far[s] = t_neg.max(axis=1)
    return tables


def _spectral(generator: np.ndarray, x_rate: float, bx_rate: float):
    """The decomposition of one state, or ``None`` when it is not well conditioned."""
    values, vectors = np.linalg.eig(generator)
    if np.max(np.abs(values.imag)) > 1e-12 * np.max(np.abs(values.real)):
        return None
    mu = -values.real
    order = np.argsort(mu)
    mu, vectors = mu[order], vectors.real[:, order]
    if mu[0] <= 0 or np.min(np.diff(mu)) < 1e-6 * mu[-1] or np.linalg.cond(vectors) > 1e6:
        return None
    inverse = np.linalg.inv(vectors)
    c_x = vectors * (inverse @ np.array([0.0, x_rate, 0.0]))[None, :]
    c_bx = vectors * (inverse @ np.array([0.0, 0.0, bx_rate]))[None, :]
    positive = np.maximum(c_x, 0.0) + np.maximum(c_bx, 0.0)
    weight = positive / mu[None, :]
    total = weight.sum(axis=1)
    # every level is eventually followed by a detected photon (probability 1)
    if not np.all(np.abs(((c_x + c_bx) / mu[None, :]).sum(axis=1) - 1.0) < 1e-9):
        return None
    if not np.all(total <= MAX_REJECTION_COST) or not np.all(positive[:, 0] > 0):
        return None
    cum = np.cumsum(weight, axis=1) / total[:, None]
    cum[:, -1] = 1.0
    t_neg = np.zeros((3, 3))
    for level in range(3):
        for j in (1, 2):
            size = abs(c_x[level, j]) + abs(c_bx[level, j]) + positive[level, j]
            if size > 0:
                ratio = math.log(size / positive[level, 0]) - math.log(NEGLIGIBLE)
                t_neg[level, j] = max(ratio / (mu[j] - mu[0]), 0.0)
    x_far = c_x[:, 0] / positive[:, 0]
    return mu, c_x, c_bx, cum, t_neg, x_far
