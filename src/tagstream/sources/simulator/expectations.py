"""What the model predicts, computed from the settings alone: the reference the scenario tests
compare the analyses with."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ...errors import TagstreamError
from .config import SimConfig


def _excitation_split(config: SimConfig) -> tuple[float, float]:
    """Probabilities of exactly one and of two or more excitations per pulse."""
    n = config.excitation.mean_excitations
    one = n * math.exp(-n)
    return one, -math.expm1(-n) - one


def photons_per_pulse(config: SimConfig, state: str) -> float:
    """Mean photons emitted per pulse in ``state`` (exciton, plus the biexciton step)."""
    one, more = _excitation_split(config)
    qx = config.decay(state).quantum_yield
    return one * qx + more * (qx + config.biexciton.quantum_yield)


def photon_statistics(config: SimConfig, state: str) -> tuple[float, float, float]:
    """Per pulse in ``state``: mean detected photons on the first and the second detector, and
    the probability of one photon on each (both photons of one biexciton cascade), each line
    behind the detectors' spectral filters."""
    if config.excitation.mode != "pulsed":
        raise TagstreamError("photon statistics per pulse need pulsed excitation")
    if config.interferometer is not None:
        raise TagstreamError("photon statistics behind the HOM interferometer: see analysis.hom")
    e_x, e_bx = config.detection_probabilities("X"), config.detection_probabilities("BX")
    if len(e_x) < 2:
        raise TagstreamError("g2 needs two detectors")
    one, more = _excitation_split(config)
    qx, qb = config.decay(state).quantum_yield, config.biexciton.quantum_yield
    x_photons, bx_photons = (one + more) * qx, more * qb
    means = [x_photons * e_x[j] + bx_photons * e_bx[j] for j in (0, 1)]
    both = more * qx * qb * (e_bx[0] * e_x[1] + e_x[0] * e_bx[1])
    return means[0], means[1], both


def noise_clicks(config: SimConfig) -> np.ndarray:
    """Clicks per second of each detector that come from no emitter photon: dark counts and
    background."""
    setup = config.setup
    e = np.array(config.detection_probabilities())
    noise = np.array([d.dark_rate_hz for d in setup.detectors])
    return noise + setup.background_rate_hz * e / e.sum()


def afterpulse_windows(
    config: SimConfig, detector: int, fractions: Mapping[str, float], max_offset: int = 64
) -> np.ndarray:
    """Where afterpulses fall, in g2 peak windows: ``w[j]`` is the probability that an
    afterpulse of a photon from pulse k sits, relative to a photon of that same pulse on the
    other detector, in the window of lag ``j`` periods (``[(j - 1/2) T, (j + 1/2) T)``).

    The lag is the afterpulse delay (fixed part plus exponential spread) plus the difference of
    the two photons' emission delays (a two-sided exponential of the exciton lifetime, the
    states weighted by their photons).
    """
    det = config.setup.detectors[detector]
    period = config.excitation.period_ps
    weights = {s: f * photons_per_pulse(config, s) for s, f in fractions.items()}
    total = sum(weights.values())
    step = period / 400.0
    lags = np.arange(-4 * period, (max_offset + 1) * period, step)
    # density of the photons' delay difference: mixture of Laplace laws
    diff = sum(
        w
        / total
        * np.exp(-np.abs(lags) / config.decay(s).lifetime_ps)
        / (2 * config.decay(s).lifetime_ps)
        for s, w in weights.items()
    )
    spread = det.afterpulse_spread_ps
    after = lags - det.afterpulse_delay_ps
    if spread > 0:
        delay = np.where(after >= 0, np.exp(-np.clip(after, 0, None) / spread) / spread, 0.0)
    else:
        delay = np.zeros_like(lags)
        delay[np.argmin(np.abs(after))] = 1.0 / step
    density = np.convolve(diff, delay, mode="full")[: lags.size] * step
    shift = lags[0]  # the convolution of two grids starting at lags[0] starts at 2 lags[0]
    grid = 2 * shift + step * np.arange(lags.size)
    offsets = np.floor(grid / period + 0.5).astype(int)
    w = np.zeros(max_offset + 1)
    inside = (offsets >= 0) & (offsets <= max_offset)
    np.add.at(w, offsets[inside], density[inside] * step)
    return w


def expected_g2_zero(config: SimConfig, fractions: Mapping[str, float]) -> float:
    """g2(0) as measured from the adjacent-peak ratio of the first two detectors.

    The emitter's state is taken as constant over neighbouring pulses (dwells much longer than
    the period), so blinking enters through the time fractions ``fractions`` (state -> share of
    the run) and raises the adjacent peaks as much as the zero-delay peak. Dark counts and
    background add uncorrelated clicks to every window (``beta`` per detector and period).
    Afterpulses are copies of photons, delayed: one that falls ``j`` periods after its photon
    forms pairs like a photon of pulse ``k + j``, so it adds to the peak ``j`` periods away the
    pairs its photon's pulse-mates make (see :func:`afterpulse_windows`); afterpulses of noise
    clicks and of afterpulses are neglected (second order).
    """
    if config.excitation.mode != "pulsed":
        raise TagstreamError("the adjacent-peak g2(0) needs pulsed excitation")
    if config.drift_amplitude > 0:
        raise TagstreamError("expected g2(0) is not implemented with intensity drift")
    rate = config.excitation.repetition_rate_hz
    noise = noise_clicks(config)[:2]
    p_ap = np.array([d.afterpulsing for d in config.setup.detectors[:2]])
    beta = (noise * (1 + p_ap)) / rate  # noise clicks and their afterpulses per window
    w = [afterpulse_windows(config, d, fractions) for d in (0, 1)]

    def peak(lag: int) -> float:
        """Pairs (A in the window of pulse k, B in that of pulse k + lag) per pulse."""
        total = beta[0] * beta[1]
        for state, f in fractions.items():
            m_a, m_b, both = photon_statistics(config, state)
            pairs = both if lag == 0 else m_a * m_b
            # an afterpulse of B from pulse k + lag - j, j periods late: pairs with A of pulse
            # k like a B photon of pulse k + lag; the same-pulse case uses the two-photon pairs
            for j, wj in enumerate(w[1]):
                origin = lag - j
                pairs += p_ap[1] * wj * (both if origin == 0 else m_a * m_b)
            for j, wj in enumerate(w[0]):
                origin = -lag - j  # A afterpulse from pulse k - j pairs with B of pulse k + lag
                pairs += p_ap[0] * wj * (both if origin == 0 else m_a * m_b)
            total += f * (pairs + m_a * beta[1] + beta[0] * m_b)
        return total

    return peak(0) / (0.5 * (peak(1) + peak(-1)))


def _cw_rates(config: SimConfig) -> tuple[np.ndarray, np.ndarray]:
    """Rate matrix Q (columns: from state; ground, X, BX) and the photon-emitting part J of a
    CW-pumped emitter in the ON state, per ps."""
    pump = config.excitation.pump_rate_hz * 1e-12
    gx = 1.0 / config.exciton.lifetime_ps
    gb = 1.0 / config.biexciton.lifetime_ps
    q = np.zeros((3, 3))
    q[1, 0] += pump  # ground -> X
    q[0, 1] += gx  # X -> ground
    q[2, 1] += pump  # X -> BX
    q[1, 2] += gb  # BX -> X
    q -= np.diag(q.sum(axis=0))
    j = np.zeros((3, 3))
    j[0, 1] = gx * config.exciton.quantum_yield
    j[1, 2] = gb * config.biexciton.quantum_yield
    return q, j


def cw_emitter_g2(config: SimConfig, tau_ps: np.ndarray) -> np.ndarray:
    """g2(tau) of the light a CW-pumped emitter gives off (no background, no jitter):
    ``1^T J exp(Q |tau|) J pi / R^2`` for the three-level chain ground, X, BX."""
    q, j = _cw_rates(config)
    w, v = np.linalg.eig(q)
    pi = np.real(v[:, np.argmin(np.abs(w))])
    pi = pi / pi.sum()
    rate = float(np.sum(j @ pi))
    start = j @ pi
    coeff = np.linalg.solve(v, start)
    tau = np.abs(np.atleast_1d(np.asarray(tau_ps, dtype=float)))
    propagated = np.real((v * coeff) @ np.exp(np.outer(w, tau)))
    return np.sum(j @ propagated, axis=0) / rate**2


def cw_photon_rate(config: SimConfig) -> float:
    """Photons the CW-pumped emitter gives off per ps."""
    q, j = _cw_rates(config)
    w, v = np.linalg.eig(q)
    pi = np.real(v[:, np.argmin(np.abs(w))])
    return float(np.sum(j @ (pi / pi.sum())))


def expected_cw_g2_zero(config: SimConfig) -> float:
    """g2(0) a CW measurement shows: the emitter's, diluted by uncorrelated clicks (dark
    counts, background, afterpulses) as ``1 + rho_A rho_B (g2_emitter(0) - 1)``."""
    e = np.array(config.detection_probabilities())[:2]
    signal = cw_photon_rate(config) * 1e12 * e
    afterpulsing = np.array([d.afterpulsing for d in config.setup.detectors[:2]])
    noise = noise_clicks(config)[:2]
    noise = noise + afterpulsing * (signal + noise)
    rho = signal / (signal + noise)
    return float(1.0 + rho[0] * rho[1] * (cw_emitter_g2(config, np.array([0.0]))[0] - 1.0))


def cw_recovery_rate(config: SimConfig) -> float:
    """The slowest relaxation rate of the CW chain, per ps: the antibunching dip recovers at
    about this rate (pump plus decay rate for a two-level emitter)."""
    q, _ = _cw_rates(config)
    w = np.sort(np.abs(np.real(np.linalg.eigvals(q))))
    return float(w[1])
