"""Small photon-stream generators for analysis tests, written directly from the physics and
independent of the code under test (the project's full simulator is a separate source)."""

from __future__ import annotations

import numpy as np

from tagstream.tags import ChannelMap, RunMetadata, TagBatch

CHANNELS = ChannelMap.from_dict({"sync": {"number": 0, "role": "sync"}, "A": 1, "B": 2})


def telegraph(rng, duration_ps, mean_dwell_ps, levels=(1, 0)):
    """State changes of a random telegraph signal: (times of switches, state after each)."""
    times, states = [0], [0]
    t, s = 0, 0
    while t < duration_ps:
        t += int(rng.exponential(mean_dwell_ps[s]))
        s = (s + 1) % len(levels)
        times.append(t)
        states.append(s)
    return np.array(times, np.int64), np.array(states)


def pulsed_t3(
    rng,
    duration_ps,
    period_ps=12_500,
    p1=0.2,
    g2_zero=0.1,
    tau_ps=2_000.0,
    jitter_ps=50.0,
    eta=0.5,
    dark_cps=0.0,
    unit_ps=4,
    blinking=None,
):
    """A pulsed single emitter on an HBT setup, recorded in T3 mode.

    Per pulse the emitter gives 1 photon with probability ``p1`` and 2 with probability ``p2``
    set so that <n(n-1)>/<n>^2 = ``g2_zero``; each photon arrives an exponential delay
    (``tau_ps``) plus Gaussian jitter after the pulse, goes to detector A or B with probability
    1/2 and is detected with probability ``eta``. ``blinking`` = (switch times, states,
    {state: (p1 scale, tau_ps)}) modulates brightness and lifetime per state.
    Returns the batch and the true g2(0) of the emitted light.
    """
    # g = 2 p2 / (p1 + 2 p2)^2  ->  solve for p2
    a, b, c = 4 * g2_zero, 4 * g2_zero * p1 - 2, g2_zero * p1 * p1
    p2 = (-b - np.sqrt(b * b - 4 * a * c)) / (2 * a) if g2_zero > 0 else 0.0
    n_pulses = int(duration_ps // period_ps)
    pulse = np.arange(n_pulses, dtype=np.int64) * period_ps
    scale = np.ones(n_pulses)
    tau = np.full(n_pulses, tau_ps)
    if blinking is not None:
        switch, states, per_state = blinking
        state = states[np.searchsorted(switch, pulse, side="right") - 1]
        for s, (brightness, tau_s) in per_state.items():
            scale[state == s] = brightness
            tau[state == s] = tau_s
    u = rng.random(n_pulses)
    n_photons = (u < scale * (p1 + p2)).astype(np.int64) + (u < scale * p2)
    emitting = np.repeat(np.arange(n_pulses), n_photons)
    delay = rng.exponential(tau[emitting]) + rng.normal(0, jitter_ps, emitting.size)
    keep = rng.random(emitting.size) < eta
    t = pulse[emitting[keep]] + np.round(delay[keep]).astype(np.int64)
    ch = rng.integers(1, 3, t.size).astype(np.uint8)
    if dark_cps > 0:
        n_dark = rng.poisson(2 * dark_cps * duration_ps * 1e-12)
        t = np.concatenate([t, rng.integers(0, duration_ps, n_dark)])
        ch = np.concatenate([ch, rng.integers(1, 3, n_dark).astype(np.uint8)])
    inside = (t >= 0) & (t < duration_ps)
    t, ch = t[inside], ch[inside]
    order = np.argsort(t, kind="stable")
    t, ch = t[order], ch[order]
    nanotimes = ((t % period_ps) // unit_ps).astype(np.uint32)
    md = RunMetadata(
        "synthetic",
        CHANNELS,
        mode="T3",
        nanotime_unit_ps=unit_ps,
        sync_period_ps=period_ps,
        hbt_pair=("A", "B"),
    )
    batch = TagBatch(t, ch, 0, duration_ps, nanotimes=nanotimes, metadata=md)
    return batch, 2 * p2 / (p1 + 2 * p2) ** 2


def cw_antibunched(rng, duration_ps, k_pump=1e-3, k_rad=0.5e-3, eta=0.02, background_cps=0.0):
    """A two-level emitter under CW excitation: emission times form a renewal process with
    waiting times Exp(k_pump) + Exp(k_rad) (rates per ps); true g2(τ) = 1 - exp(-(k_pump +
    k_rad)|τ|) before background. Returns the batch and the true (g2(0), k)."""
    mean_wait = 1 / k_pump + 1 / k_rad
    n = int(duration_ps / mean_wait * 1.1) + 100
    waits = rng.exponential(1 / k_pump, n) + rng.exponential(1 / k_rad, n)
    t = np.cumsum(waits).astype(np.int64)
    t = t[t < duration_ps]
    t = t[rng.random(t.size) < eta]
    ch = rng.integers(1, 3, t.size).astype(np.uint8)
    signal_cps = t.size / (duration_ps * 1e-12)
    n_bg = rng.poisson(background_cps * duration_ps * 1e-12)
    t = np.concatenate([t, rng.integers(0, duration_ps, n_bg)])
    ch = np.concatenate([ch, rng.integers(1, 3, n_bg).astype(np.uint8)])
    order = np.argsort(t, kind="stable")
    rho = signal_cps / (signal_cps + background_cps)
    md = RunMetadata("synthetic", ChannelMap.from_dict({"A": 1, "B": 2}), hbt_pair=("A", "B"))
    batch = TagBatch(t[order], ch[order], 0, duration_ps, metadata=md)
    return batch, (1 - rho**2, k_pump + k_rad)
