"""A small, fast random generator for the simulator kernels.

Uniforms come from splitmix64 (Steele, Lea & Flood, 2014): it passes the BigCrush battery and
costs about a nanosecond per draw, several times less than numba's Mersenne Twister. Exponential
and normal deviates use the ziggurat method (Marsaglia & Tsang, 2000) with 256 layers, built here
for 53-bit uniforms: almost every draw costs one multiplication and one comparison, only the rare
draws near a layer's edge or in the tail evaluate a logarithm or an exponential. The state is one
uint64 in a one-element array, seeded per call, so runs are reproducible. Gamma deviates of whole
shape and Poisson deviates (for the CW emitter's jumps from one detected photon to the next)
are built on these.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
_SCALE = 2.0**53

EXP_R = 7.69711747013104972  # start of the exponential ziggurat's tail
EXP_V = 3.949659822581572e-3  # area of each layer
NORM_R = 3.6541528853610088
NORM_V = 4.92867323399e-3
GAMMA_DIRECT = 6  # Gamma(n) of at most this many terms: the exponentials are summed
POISSON_INVERSION = 10.0  # Poisson means from here on: transformed rejection


def _exponential_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Layer thresholds k (in units of 2**-53), widths w and densities f for exp(-x)."""
    k, w, f = np.zeros(256), np.zeros(256), np.zeros(256)
    d = t = EXP_R
    q = EXP_V / math.exp(-d)
    k[0], k[1] = (d / q) * _SCALE, 0.0
    w[0], w[255] = q / _SCALE, d / _SCALE
    f[0], f[255] = 1.0, math.exp(-d)
    for i in range(254, 0, -1):
        d = -math.log(EXP_V / d + math.exp(-d))
        k[i + 1] = (d / t) * _SCALE
        t = d
        f[i] = math.exp(-d)
        w[i] = d / _SCALE
    return k, w, f


def _normal_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same for the half normal exp(-x**2 / 2)."""
    k, w, f = np.zeros(256), np.zeros(256), np.zeros(256)
    d = t = NORM_R
    q = NORM_V / math.exp(-0.5 * d * d)
    k[0], k[1] = (d / q) * _SCALE, 0.0
    w[0], w[255] = q / _SCALE, d / _SCALE
    f[0], f[255] = 1.0, math.exp(-0.5 * d * d)
    for i in range(254, 0, -1):
        d = math.sqrt(-2.0 * math.log(NORM_V / d + math.exp(-0.5 * d * d)))
        k[i + 1] = (d / t) * _SCALE
        t = d
        f[i] = math.exp(-0.5 * d * d)
        w[i] = d / _SCALE
    return k, w, f


_KE, _WE, _FE = _exponential_tables()
_KN, _WN, _FN = _normal_tables()


def new_state(seed: int) -> np.ndarray:
    """Generator state for ``seed``."""
    return np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64)


@njit(nogil=True, cache=True, inline="always")
def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


# Each deviate exists twice: ``next_*(s)`` takes the state as a uint64 value and returns
# ``(value, new state)`` (hot loops keep the state in a register: no array, no reference
# counting); ``*(state)`` takes the one-element state array and updates it. Both give the same
# numbers from the same state.


@njit(nogil=True, cache=True, inline="always")
def next_u64(s):
    """Next 64 random bits and the new state."""
    s = s + _GOLDEN
    return _mix(s), s


@njit(nogil=True, cache=True, inline="always")
def next_uniform(s):
    """Uniform float in [0, 1) (53 bits) and the new state."""
    s = s + _GOLDEN
    return float(np.int64(_mix(s) >> np.uint64(11))) * _TO_UNIT, s


@njit(nogil=True, cache=True)
def _exponential_slow(s, j, i):
    while True:
        if i == 0:
            u, s = next_uniform(s)
            return EXP_R - np.log1p(-u), s
        x = j * _WE[i]
        u, s = next_uniform(s)
        if _FE[i] + u * (_FE[i - 1] - _FE[i]) < np.exp(-x):
            return x, s
        z, s = next_u64(s)
        i = np.int64(z & np.uint64(255))
        j = float(np.int64(z >> np.uint64(11)))
        if j < _KE[i]:
            return j * _WE[i], s


@njit(nogil=True, cache=True, inline="always")
def next_exponential(s):
    """Standard exponential (mean 1) and the new state."""
    z, s = next_u64(s)
    i = np.int64(z & np.uint64(255))
    j = float(np.int64(z >> np.uint64(11)))
    if j < _KE[i]:
        return j * _WE[i], s
    return _exponential_slow(s, j, i)


@njit(nogil=True, cache=True)
def _normal_slow(s, j, i, negative):
    while True:
        if i == 0:  # the tail beyond NORM_R
            while True:
                u, s = next_uniform(s)
                x = -np.log1p(-u) / NORM_R
                u, s = next_uniform(s)
                y = -np.log1p(-u)
                if y + y >= x * x:
                    break
            return (-(NORM_R + x) if negative else NORM_R + x), s
        x = j * _WN[i]
        u, s = next_uniform(s)
        if _FN[i] + u * (_FN[i - 1] - _FN[i]) < np.exp(-0.5 * x * x):
            return (-x if negative else x), s
        z, s = next_u64(s)
        i = np.int64(z & np.uint64(255))
        negative = (z & np.uint64(256)) != np.uint64(0)
        j = float(np.int64(z >> np.uint64(11)))
        if j < _KN[i]:
            x = j * _WN[i]
            return (-x if negative else x), s


@njit(nogil=True, cache=True, inline="always")
def next_normal(s):
    """Standard normal and the new state."""
    z, s = next_u64(s)
    i = np.int64(z & np.uint64(255))
    negative = (z & np.uint64(256)) != np.uint64(0)
    j = float(np.int64(z >> np.uint64(11)))
    if j < _KN[i]:
        x = j * _WN[i]
        return (-x if negative else x), s
    return _normal_slow(s, j, i, negative)


@njit(nogil=True, cache=True)
def next_gamma_int(s, n):
    """Sum of ``n`` standard exponentials (a Gamma(n, 1) deviate, ``n >= 0`` whole) and the
    new state.

    Up to :data:`GAMMA_DIRECT` terms the exponentials are summed; above, the method of
    Marsaglia & Tsang (2000): ``d (1 + c x)**3`` with x standard normal, ``d = n - 1/3``,
    ``c = 1 / sqrt(9 d)``, accepted by a squeeze or the exact log test.
    """
    if n <= GAMMA_DIRECT:
        total = 0.0
        for _ in range(n):
            e, s = next_exponential(s)
            total += e
        return total, s
    d = n - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    while True:
        x, s = next_normal(s)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u, s = next_uniform(s)
        x2 = x * x
        if u < 1.0 - 0.0331 * x2 * x2:
            return d * v, s
        if np.log(u) < 0.5 * x2 + d * (1.0 - v + np.log(v)):
            return d * v, s


@njit(nogil=True, cache=True)
def _poisson_ptrs(s, mu):
    """Poisson deviate of mean ``mu >= 10``: transformed rejection with squeeze (Hörmann,
    1993, algorithm PTRS)."""
    smu = np.sqrt(mu)
    log_mu = np.log(mu)
    b = 0.931 + 2.53 * smu
    a = -0.059 + 0.02483 * b
    log_inv_alpha = np.log(1.1239 + 1.1328 / (b - 3.4))
    v_r = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u, s = next_uniform(s)
        u -= 0.5
        v, s = next_uniform(s)
        us = 0.5 - abs(u)
        k = np.floor((2.0 * a / us + b) * u + mu + 0.43)
        if us >= 0.07 and v <= v_r:
            return np.int64(k), s
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        if np.log(v) + log_inv_alpha - np.log(a / (us * us) + b) <= (
            -mu + k * log_mu - math.lgamma(k + 1.0)
        ):
            return np.int64(k), s


@njit(nogil=True, cache=True)
def next_poisson(s, mu):
    """Poisson deviate of mean ``mu >= 0`` and the new state: inversion by sequential search
    below :data:`POISSON_INVERSION` (one uniform), transformed rejection above."""
    if mu >= POISSON_INVERSION:
        return _poisson_ptrs(s, mu)
    if mu <= 0.0:
        return np.int64(0), s
    p = np.exp(-mu)
    cdf = p
    u, s = next_uniform(s)
    k = 0
    while u >= cdf:
        k += 1
        p *= mu / k
        new = cdf + p
        if new == cdf:  # rounding: the rest of the tail is below one ulp of the sum
            break
        cdf = new
    return np.int64(k), s


# --------------------------------------------------------------------------- state arrays
@njit(nogil=True, cache=True, inline="always")
def _next(state):
    z, state[0] = next_u64(state[0])
    return z


@njit(nogil=True, cache=True, inline="always")
def uniform(state):
    """Uniform float in [0, 1) (53 bits)."""
    u, state[0] = next_uniform(state[0])
    return u


@njit(nogil=True, cache=True)
def exponential(state):
    """Standard exponential (mean 1)."""
    x, state[0] = next_exponential(state[0])
    return x


@njit(nogil=True, cache=True)
def normal(state):
    """Standard normal."""
    x, state[0] = next_normal(state[0])
    return x


@njit(nogil=True, cache=True)
def gamma_int(state, n):
    """Gamma(n, 1) deviate for whole ``n >= 0`` (see :func:`next_gamma_int`)."""
    x, state[0] = next_gamma_int(state[0], n)
    return x


@njit(nogil=True, cache=True)
def poisson(state, mu):
    """Poisson deviate of mean ``mu >= 0`` (see :func:`next_poisson`)."""
    k, state[0] = next_poisson(state[0], mu)
    return k
