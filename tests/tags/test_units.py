import pytest

from tagstream.errors import UnitError
from tagstream.tags import format_time, parse_frequency, parse_period_ps, parse_time


@pytest.mark.parametrize(
    "text,ps",
    [
        ("100 ps", 100),
        ("12.5 ns", 12_500),
        ("10 ms", 10**10),
        ("1 us", 10**6),
        ("1 µs", 10**6),
        ("1 μs", 10**6),
        ("2.5s", 2_500_000_000_000),
        ("1 min", 60 * 10**12),
        ("0.001 ns", 1),
        (" 7 ps ", 7),
        ("1e3 ps", 1000),
        ("-5 ns", -5000),
        (".5 ns", 500),
        (42, 42),
        (3.0, 3),
    ],
)
def test_parse_time(text, ps):
    assert parse_time(text) == ps


@pytest.mark.parametrize(
    "text,message",
    [
        ("100", "number with a unit"),
        ("ten ns", "number with a unit"),
        ("5 parsec", "unknown time unit"),
        ("80 MHz", "that is a frequency"),
        ("0.5 ps", "whole number"),
        ("1.0001 ns", "whole number"),
        (1.5, "whole number"),
        (True, "expected a time"),
        (None, "expected a time"),
    ],
)
def test_parse_time_errors_name_the_field(text, message):
    with pytest.raises(UnitError, match=message) as info:
        parse_time(text, field="window")
    assert str(info.value).startswith("window:")


def test_parse_frequency_and_period():
    assert parse_frequency("80 MHz") == 8e7
    assert parse_frequency("2.5 kHz") == 2500.0
    assert parse_period_ps("80 MHz") == 12_500.0
    assert parse_period_ps("12.5 ns") == 12_500.0
    assert abs(parse_period_ps("76 MHz") - 13157.894736842105) < 1e-9
    with pytest.raises(UnitError, match="that is a time"):
        parse_frequency("10 ns")
    with pytest.raises(UnitError, match="positive"):
        parse_period_ps("0 MHz")


def test_format_time():
    assert format_time(12_500) == "12.5 ns"
    assert format_time(10**10) == "10 ms"
    assert format_time(7) == "7 ps"
    assert format_time(3 * 10**12) == "3 s"


@pytest.mark.parametrize(
    ("ps", "text"),
    [(10**12, "1 s"), (10**12 - 1, "1 s"), (999_999_999, "1 ms"), (1500, "1.5 ns"), (0, "0 ps"),
     (-5, "-5 ps"), (12_500, "12.5 ns"), (-(10**12) + 1, "-1 s"), (3.6e15, "3600 s")],
)  # fmt: skip
def test_format_time_never_shows_1000_of_a_unit(ps, text):
    from tagstream.tags import format_time

    assert format_time(ps) == text


def test_format_frequency_picks_the_unit():
    from tagstream.tags import format_frequency

    assert format_frequency(1e7) == "10 MHz"
    assert format_frequency(80e6, digits=4) == "80 MHz"
    assert format_frequency(2.5e9) == "2.5 GHz"
    assert format_frequency(25.0) == "25 Hz"
    assert format_frequency(1500) == "1.5 kHz"
