"""The S-Fifteen TDC1 adapter against an emulator of the device on a pseudo-terminal: the exact
command exchange, the timestamp words across wraps and read boundaries, refused settings, a
device that vanishes mid-run."""

from __future__ import annotations

import time

import numpy as np
import pytest
from tagstream.drivers.s15.tdc1 import Tdc1
from tagstream.drivers.s15.tdc1_words import WRAP_TICKS, decode_words, encode_words

from tagstream.errors import DeviceError, SettingsError

from ... import reference as ref
from ...emulators.tdc1 import Tdc1Emulator


def _stream(rng, seconds: float, rate_cps: float):
    """Tags on inputs 1-4 on whole 2 ns ticks, some inputs firing in the same tick."""
    n = rng.poisson(seconds * rate_cps)
    t = np.sort(rng.integers(0, int(seconds * 1e12) // 2000, n)) * 2000
    ch = rng.integers(1, 5, n).astype(np.uint8)
    both = rng.random(n) < 0.05  # a second input in the same tick
    t = np.concatenate((t, t[both]))
    ch = np.concatenate((ch, ch[both] % 4 + 1))
    keep = np.unique(np.stack((t, ch)), axis=1)  # one tag per input and tick
    return keep[0].astype(np.int64), keep[1].astype(np.uint8)


def _read_all(dev: Tdc1, n_tags: int, timeout_s: float = 10.0):
    times, chans = [], []
    got = 0
    deadline = time.monotonic() + timeout_s
    while got < n_tags and time.monotonic() < deadline:
        block = dev.read()
        times.append(block.timestamps)
        chans.append(block.channels)
        got += block.timestamps.size
    return np.concatenate(times), np.concatenate(chans)


@pytest.mark.parametrize("n_chunks", [1, 7, 500])
def test_words_decode_as_the_reference_in_any_chunking(rng, n_chunks):
    words = rng.integers(0, 1 << 32, 3000, dtype=np.uint64).astype(np.uint32)
    want = ref.tdc1_decode(words)
    cuts = np.sort(rng.integers(0, words.size + 1, n_chunks - 1))
    tick, wraps, got = -1, 0, []
    for part in np.split(words, cuts):
        t, ch, tick, wraps = decode_words(part, tick, wraps)
        got += list(zip(t.tolist(), ch.tolist(), strict=True))
    assert got == want


def test_words_edges():
    empty = decode_words(np.zeros(0, np.uint32), -1, 0)
    assert empty[0].size == 0 and empty[2:] == (-1, 0)
    t, ch, tick, wraps = decode_words(np.array([(5 << 5) | 0b1001], np.uint32), -1, 0)
    assert t.tolist() == [10_000, 10_000] and ch.tolist() == [1, 4] and (tick, wraps) == (5, 0)
    # the time going back by one tick at the top of the range is a wrap
    top = np.array([((WRAP_TICKS - 1) << 5) | 1, (0 << 5) | 2], np.uint32)
    t, ch, _, wraps = decode_words(top, -1, 0)
    assert t.tolist() == [(WRAP_TICKS - 1) * 2000, WRAP_TICKS * 2000] and wraps == 1
    # a word without event counts for the wrap but gives no tag
    t, _, _, wraps = decode_words(np.array([(200 << 5) | 0x10, 3 << 5 | 1], np.uint32), 100, 0)
    assert t.tolist() == [(WRAP_TICKS + 3) * 2000] and wraps == 1


def test_encoded_words_round_trip_across_wraps(rng):
    t, ch = _stream(rng, 0.8, 20_000)  # three wraps of the 268 ms counter
    words = encode_words(t, ch, mark_every_ticks=WRAP_TICKS // 2)
    got_t, got_ch, _, wraps = decode_words(words, -1, 0)
    assert wraps == 2
    np.testing.assert_array_equal(got_t, t)
    np.testing.assert_array_equal(got_ch, ch)


def test_a_run_replays_the_exact_command_exchange_and_every_tag(rng):
    t, ch = _stream(rng, 0.6, 50_000)
    words = encode_words(t, ch, mark_every_ticks=WRAP_TICKS // 4)
    with Tdc1Emulator(words, chunk=1001) as emu, Tdc1(emu.port) as dev:  # chunks cut words
        info = dev.info()
        dev.configure(level="NIM", threshold_v=-0.4, clock="external")
        dev.start()
        got_t, got_ch = _read_all(dev, t.size)
        dev.stop()
        assert dev.read().timestamps.size == 0
        rates = dev.status().count_rates_cps
    assert emu.commands == [
        "", "*idn?", "NIM", "NEG 0.400", "REFCLK 1", "INPKT", "time 0", "timestamp", "counts?",
        "abort",
    ]  # fmt: skip
    assert (info.model, info.serial, info.resolution_ps) == ("TDC1", "TDC1-0042", 2000.0)
    assert info.channels == (1, 2, 3, 4)
    np.testing.assert_array_equal(got_t, t)
    np.testing.assert_array_equal(got_ch, ch)
    assert set(rates) == {1, 2, 3, 4} and all(r > 0 for r in rates.values())


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"level": "ECL"}, "setting 'level' must be one of NIM, TTL, got 'ECL'"),
        ({"threshold_v": 4.0}, "setting 'threshold_v' must be within -3.3 .. 3.3 V, got 4.0"),
        ({"threshold_v": "high"}, "setting 'threshold_v' must be a number"),
        ({"clock": 1}, "setting 'clock' must be one of auto, external, internal"),
        ({"gain": 2}, "no setting 'gain' (settings: clock, level, threshold_v)"),
    ],
)
def test_refused_settings_name_the_setting_and_send_nothing(settings, message):
    with Tdc1Emulator(np.zeros(0, np.uint32)) as emu, Tdc1(emu.port) as dev:
        with pytest.raises(SettingsError, match=r"^S-Fifteen TDC1: ") as err:
            dev.configure(**{"level": "TTL", **settings})
        assert message in str(err.value)
        time.sleep(0.05)
        assert emu.commands == [""]


def test_a_device_that_vanishes_mid_run_is_a_clear_error_after_the_tags_before(rng):
    t, ch = _stream(rng, 0.2, 50_000)
    words = encode_words(t, ch)
    with Tdc1Emulator(words, chunk=400, lose_after=4 * (words.size // 2)) as emu:
        dev = Tdc1(emu.port, timeout_s=0.2)
        dev.start()
        got = []
        with pytest.raises(DeviceError, match=f"^S-Fifteen TDC1 at {emu.port}: lost"):
            while True:
                got.append(dev.read().timestamps)
        dev.close()
    got = np.concatenate(got)
    assert 0 < got.size <= t.size
    np.testing.assert_array_equal(got, t[: got.size])  # everything before the loss kept


def test_a_port_that_is_not_a_tdc1_or_not_there():
    with Tdc1Emulator(np.zeros(0, np.uint32), ident="ACME,COUNTER,1,1") as emu:
        with Tdc1(emu.port) as dev, pytest.raises(DeviceError, match="not a TDC1"):
            dev.info()
    with pytest.raises(DeviceError, match=r"^S-Fifteen TDC1 at /dev/nonexistent-tdc1: cannot open"):
        Tdc1("/dev/nonexistent-tdc1")
