"""Two-photon interference of consecutive photons: a pulsed emitter, an unbalanced Mach-Zehnder
interferometer whose long arm delays by one laser period, two detectors at its outputs.

Written from the definitions, independently of tagstream's simulator; the detection chain after
the interferometer (jitter, cable delay, dark counts, dead time, sync, T2/T3) is that of
:mod:`tests.world.emitter`.

Model, per laser pulse ``k`` (at ``k * period_ps``):

* the emitter gives one photon with probability ``p_single`` after ``Exp(tau_ps)``; with
  probability ``p_double`` two photons (independent delays) which are distinguishable from
  every other photon (the multi-photon part that g2(0) measures);
* each photon is collected with ``collection`` and enters the short arm with probability
  ``short_share``, else the long arm (``+ period_ps``): it reaches the second beam splitter in
  slot ``k`` (short) or ``k + 1`` (long);
* at the second beam splitter (reflectance ``reflectance``): a photon from the short arm goes
  to detector 0 with probability ``1 - reflectance``, to detector 1 with ``reflectance``; one
  from the long arm the other way round. When a slot holds exactly one single photon from each
  arm (from pulses ``k`` and ``k - 1``), they leave by different outputs with probability
  ``R^2 + T^2 - 2 R T M``, ``M`` = ``indistinguishability`` (0 when ``parallel`` is False: the
  polarisations crossed), and then each output's detector gets one; otherwise both leave by the
  same output, either with equal chance of the rest;
* each detector then detects with its efficiency (equal efficiencies keep the model exact).
"""

from __future__ import annotations

import numpy as np

from .emitter import PS_PER_S, Setup, World, _assemble, _Photons, _uniform_events, _whole


def hom(
    rng: np.random.Generator,
    duration_ps: int,
    setup: Setup,
    period_ps: int,
    p_single: float,
    p_double: float,
    indistinguishability: float,
    parallel: bool = True,
    tau_ps: float = 300.0,
    collection: float = 1.0,
    short_share: float = 0.5,
    reflectance: float = 0.5,
) -> World:
    """A HOM run on the two-detector ``setup`` (see the module docstring)."""
    duration_ps, period_ps = _whole(duration_ps, "duration_ps"), _whole(period_ps, "period_ps")
    if len(setup.detectors) != 2:
        raise ValueError("the interferometer has two outputs: give two detectors")
    m = float(indistinguishability) if parallel else 0.0
    n_pulses = -(-duration_ps // period_ps)
    emitting = _bernoulli_positions(rng, n_pulses, p_single + p_double)
    is_two = rng.random(emitting.size) < p_double / (p_single + p_double)
    one, two = emitting[~is_two], emitting[is_two]
    pulse = np.concatenate([one, two, two])
    single = np.concatenate([np.ones(one.size, bool), np.zeros(2 * two.size, bool)])
    delay = rng.standard_exponential(pulse.size) * tau_ps
    kept = rng.random(pulse.size) < collection
    pulse, single, delay = pulse[kept], single[kept], delay[kept]
    long_arm = rng.random(pulse.size) >= short_share
    slot = pulse + long_arm
    output = _outputs(rng, slot, long_arm, single, reflectance, m)

    photons = _Photons(2)
    for j, det in enumerate(setup.detectors):
        sel = (output == j) & (rng.random(output.size) < det.efficiency)
        rel = delay[sel] + rng.standard_normal(int(sel.sum())) * det.jitter_ps + det.delay_ps
        base = slot[sel] * period_ps
        whole = np.floor(rel)
        photons.add(j, base + whole.astype(np.int64), rel - whole, 0)
        ti, tf = _uniform_events(rng, det.dark_cps, duration_ps)
        photons.add(j, ti, tf, 2)
    mean = p_single + 2 * p_double
    g = 2 * p_double / mean**2
    a, r = short_share, reflectance
    crossed_centre = g * r * (1 - r) * (a * a + (1 - a) ** 2) + a * (1 - a) * (r * r + (1 - r) ** 2)
    m_pairs = m * (p_single / mean) ** 2  # only single-photon pulses interfere
    truth = {
        "excitation": "pulsed",
        "period_ps": period_ps,
        "sync_period_ps": period_ps * int(setup.sync_divider),
        "laser_rate_hz": PS_PER_S / period_ps,
        "indistinguishability": m,
        "indistinguishability_pairs": m_pairs,
        # V_HOM = 1 - C0(parallel) / C0(crossed): the side peaks are the same in both runs
        "visibility": 2 * a * (1 - a) * r * (1 - r) * m_pairs / crossed_centre,
        "g2_zero": g,
        "short_share": short_share,
        "reflectance": reflectance,
    }
    settings = {"generator": "tests.world.hom", "period_ps": period_ps}
    return _assemble(setup, duration_ps, photons, period_ps, truth, settings)


def _bernoulli_positions(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    """Sorted indices in [0, n) of the successes of n Bernoulli(p) trials (geometric gaps)."""
    if p <= 0:
        return np.zeros(0, np.int64)
    size = int(n * p * 1.1 + 10 * np.sqrt(n * p) + 100)
    positions = np.cumsum(rng.geometric(p, size)) - 1
    while positions[-1] < n:
        more = np.cumsum(rng.geometric(p, size)) + positions[-1]
        positions = np.concatenate([positions, more])
    return positions[positions < n].astype(np.int64)


def _outputs(rng, slot, long_arm, single, reflectance, m):
    """Output port (0 or 1) of each photon: independent, except the interfering pairs."""
    r = float(reflectance)
    to_one = np.where(long_arm, 1.0 - r, r)  # P(output 1): short arm reflected, long transmitted
    output = (rng.random(slot.size) < to_one).astype(np.int64)
    order = np.lexsort((long_arm, slot))
    s, la, sg = slot[order], long_arm[order], single[order]
    # a slot with exactly two photons: one single photon from each arm
    first = np.flatnonzero(np.diff(s) == 0)
    alone = np.ones(first.size, bool)
    alone &= (first == 0) | (s[np.maximum(first - 1, 0)] != s[first])
    alone &= (first + 2 >= s.size) | (s[np.minimum(first + 2, s.size - 1)] != s[first])
    pairs = first[alone & ~la[first] & la[first + 1] & sg[first] & sg[first + 1]]
    # the four joint outcomes of a meeting pair (short photon's port, long photon's port):
    # split ways with T^2 and R^2 less the interference term, in proportion; bunched ways with
    # R T (1 + M) each
    t = 1 - r
    split_total = r * r + t * t - 2 * r * t * m
    weights = np.array([t * t, r * r]) / (r * r + t * t) * split_total
    probs = np.array([weights[0], weights[1], r * t * (1 + m), r * t * (1 + m)])
    outcome = np.searchsorted(np.cumsum(probs / probs.sum()), rng.random(pairs.size))
    short_out = np.array([0, 1, 0, 1])[np.minimum(outcome, 3)]
    long_out = np.array([1, 0, 0, 1])[np.minimum(outcome, 3)]
    output[order[pairs]] = short_out
    output[order[pairs + 1]] = long_out
    return output
