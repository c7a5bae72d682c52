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
    the probability of one photon on each (both photons of one biexciton cascade)."""
    if config.excitation.mode != "pulsed":
        raise TagstreamError("photon statistics per pulse need pulsed excitation")
    e = config.detection_probabilities()
    if len(e) < 2:
        raise TagstreamError("g2 needs two detectors")
    _, more = _excitation_split(config)
    both = more * config.decay(state).quantum_yield * config.biexciton.quantum_yield
    mean = photons_per_pulse(config, state)
    return mean * e[0], mean * e[1], both * 2.0 * e[0] * e[1]


def uncorrelated_clicks(config: SimConfig, fractions: Mapping[str, float]) -> np.ndarray:
    """Clicks per second of each detector that are not emitter photons: dark counts,
    background, and afterpulses (of every click), ignoring dead time."""
    setup = config.setup
    e = np.array(config.detection_probabilities())
    emitter = (
        config.excitation.repetition_rate_hz
        * e
        * sum(f * photons_per_pulse(config, s) for s, f in fractions.items())
    )
    noise = np.array([d.dark_rate_hz for d in setup.detectors])
    noise = noise + setup.background_rate_hz * e / e.sum()
    afterpulsing = np.array([d.afterpulsing for d in setup.detectors])
    return noise + afterpulsing * (emitter + noise)


def expected_g2_zero(config: SimConfig, fractions: Mapping[str, float]) -> float:
    """g2(0) as measured from the adjacent-peak ratio of the first two detectors.

    The emitter's state is taken as constant over neighbouring pulses (dwells much longer than
    the period), so blinking enters through the time fractions ``fractions`` (state -> share of
    the run) and raises the adjacent peaks as much as the zero-delay peak. Dark counts,
    background and afterpulses add uncorrelated clicks to every peak window: ``beta`` per
    detector and period.
    """
    if config.excitation.mode != "pulsed":
        raise TagstreamError("the adjacent-peak g2(0) needs pulsed excitation")
    if config.drift_amplitude > 0:
        raise TagstreamError("expected g2(0) is not implemented with intensity drift")
    beta = uncorrelated_clicks(config, fractions)[:2] / config.excitation.repetition_rate_hz
    zero = side = float(beta[0] * beta[1])
    for state, f in fractions.items():
        m_a, m_b, both = photon_statistics(config, state)
        cross = m_a * beta[1] + beta[0] * m_b
        zero += f * (both + cross)
        side += f * (m_a * m_b + cross)
    return zero / side
