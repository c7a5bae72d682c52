"""The one-call API on synthetic emitters with known parameters."""

import numpy as np
import pytest

import tagstream as ts
from tagstream.errors import ChannelError

from ..synthetic import cw_antibunched, pulsed_t3, telegraph


@pytest.fixture(scope="module")
def pulsed():
    rng = np.random.default_rng(7)
    return pulsed_t3(rng, 2 * 10**11, g2_zero=0.1, tau_ps=2_000.0, p1=0.3, eta=0.5)


def test_g2_zero_of_pulsed_emitter_by_channel_names(pulsed):
    tags, truth = pulsed
    g = ts.g2(tags, "A", "B", window="40 ns", bin="100 ps")
    assert g.channels == ("A", "B") and g.period_ps == 12_500
    z = g.g2_zero()
    assert z.excitation == "pulsed" and isinstance(z, ts.G2Zero)
    assert abs(z.value - truth) < 3 * z.error, (z, truth)
    assert z.to_dict()["pair"] == ["A", "B"] and z.to_dict()["period_ns"] == 12.5
    assert float(z) == z.value and "pulsed" in str(z)


def test_lifetime_fit_through_the_api(pulsed):
    tags, _ = pulsed
    decay = ts.lifetime(tags, "B", bin="16 ps")
    assert decay.counts.sum() > 10**5 and decay.period_ps == 12_500
    fit = decay.fit("mono")
    assert abs(fit.tau_ps[0] - 2_000) < 0.02 * 2_000
    assert abs(fit.tau_ps[0] - 2_000) < 4 * fit.tau_err_ps[0]


def test_unknown_channel_names_are_clear(pulsed):
    tags, _ = pulsed
    with pytest.raises(ChannelError, match="no channel named 'C'"):
        ts.g2(tags, "A", "C")


def test_cw_g2_zero_is_recognised_and_fitted():
    rng = np.random.default_rng(11)
    tags, (g0, k) = cw_antibunched(rng, 4 * 10**11, background_cps=20_000)
    z = ts.g2(tags, "A", "B", window="20 ns", bin="200 ps").g2_zero()
    assert z.excitation == "cw" and z.period_ps is None
    assert abs(z.value - g0) < 3 * z.error, (z, g0)
    fit = z.detail
    assert abs(fit.rate_per_ps - k) < 3 * fit.rate_err_per_ps


def test_blinking_states_lifetimes_and_on_g2():
    rng = np.random.default_rng(3)
    duration = 6 * 10**12  # 6 s
    switch, states = telegraph(rng, duration, mean_dwell_ps=(300 * 10**9, 150 * 10**9))
    per_state = {0: (1.0, 5_000.0), 1: (0.12, 900.0)}  # ON bright and slow, OFF dim and fast
    tags, _ = pulsed_t3(
        rng,
        duration,
        period_ps=100_000,
        p1=0.3,
        g2_zero=0.05,
        eta=0.5,
        blinking=(switch, states, per_state),
        dark_cps=50,
    )
    on_time = np.sum(np.diff(np.append(switch, duration).clip(0, duration))[states == 0])
    blink = ts.blinking(tags, bin="10 ms", n_states=2)
    assert abs(blink.fractions["on"] - on_time / duration) < 0.02
    assert abs(blink.fractions["off"] - (1 - on_time / duration)) < 0.02
    taus = {
        name: d.fit("mono").tau_ps[0]
        for name, d in ts.state_lifetimes(tags, blink, "A", bin="32 ps").items()
        if name in ("on", "off")
    }
    assert abs(taus["on"] - 5_000) < 0.05 * 5_000
    assert taus["off"] < 0.5 * taus["on"]  # the OFF state is Auger-quenched
    g_on = ts.g2_in_state(tags, blink, "A", "B", window="200 ns", bin="500 ps")
    assert g_on.live_ps < 0.8 * duration
    assert g_on.g2_zero().value < 0.2
