"""Human-readable quantities: times in integer picoseconds and frequencies in hertz.

Inside tagstream every time is an ``int64`` number of picoseconds. Configs and the command line
accept strings such as ``"100 ps"``, ``"12.5 ns"``, ``"10 ms"`` or ``"80 MHz"``; this module turns
them into numbers and back, exactly (decimal arithmetic, no binary rounding).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from numbers import Integral, Real

import numpy as np

from ..errors import UnitError

PS_PER_UNIT: dict[str, int] = {
    "ps": 1,
    "ns": 10**3,
    "us": 10**6,
    "µs": 10**6,  # micro sign
    "μs": 10**6,  # Greek mu
    "ms": 10**9,
    "s": 10**12,
    "min": 60 * 10**12,
    "h": 3600 * 10**12,
}
HZ_PER_UNIT: dict[str, int] = {"Hz": 1, "kHz": 10**3, "MHz": 10**6, "GHz": 10**9}
W_PER_UNIT: dict[str, Decimal] = {
    "W": Decimal(1), "mW": Decimal("1e-3"), "uW": Decimal("1e-6"), "µW": Decimal("1e-6"),
    "μW": Decimal("1e-6"), "nW": Decimal("1e-9"), "pW": Decimal("1e-12"),
}  # fmt: skip
PS_PER_S = 10**12
#: Picoseconds per ns, µs and ms (whole numbers: exact in int64 arithmetic).
PS_PER_NS, PS_PER_US, PS_PER_MS = 10**3, 10**6, 10**9

_QUANTITY = re.compile(
    r"^\s*(?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>[A-Za-zµμ]+)\s*$"
)


def _split(value: str, field: str) -> tuple[Decimal, str]:
    match = _QUANTITY.match(value)
    if match is None:
        raise UnitError(f"{field}: cannot read {value!r} as a number with a unit (e.g. '12.5 ns')")
    try:
        number = Decimal(match["num"])
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid decimals
        raise UnitError(f"{field}: {match['num']!r} is not a number") from exc
    return number, match["unit"]


def parse_time(value: str | int, field: str = "time") -> int:
    """Parse a time into integer picoseconds.

    Parameters
    ----------
    value
        A string with a unit (``"100 ps"``, ``"12.5 ns"``, ``"10 ms"``, ``"2 min"``) or an integer,
        which is taken as picoseconds.
    field
        Name of the setting, used in error messages.

    Returns
    -------
    int
        The time in picoseconds.

    Raises
    ------
    UnitError
        Unknown unit, a frequency where a time was expected, or a value that is not a whole number
        of picoseconds.
    """
    if isinstance(value, bool):
        raise UnitError(f"{field}: expected a time such as '10 ns', got {value!r}")
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        if float(value).is_integer():
            return int(value)
        raise UnitError(f"{field}: {value!r} is not a whole number of picoseconds; add a unit")
    if not isinstance(value, str):
        raise UnitError(f"{field}: expected a time such as '10 ns', got {type(value).__name__}")
    number, unit = _split(value, field)
    if unit not in PS_PER_UNIT:
        hint = " (that is a frequency)" if unit in HZ_PER_UNIT else ""
        raise UnitError(
            f"{field}: unknown time unit {unit!r} in {value!r}{hint}; "
            "use ps, ns, us, ms, s, min or h"
        )
    ps = number * PS_PER_UNIT[unit]
    if ps != ps.to_integral_value():
        raise UnitError(f"{field}: {value!r} is not a whole number of picoseconds")
    return int(ps)


def parse_frequency(value: str | float, field: str = "frequency") -> float:
    """Parse a frequency into hertz (``"80 MHz"`` -> ``8e7``); a bare number is taken as hertz."""
    if isinstance(value, bool):
        raise UnitError(f"{field}: expected a frequency such as '80 MHz', got {value!r}")
    if isinstance(value, Real):
        return float(value)
    if not isinstance(value, str):
        raise UnitError(
            f"{field}: expected a frequency such as '80 MHz', got {type(value).__name__}"
        )
    number, unit = _split(value, field)
    if unit not in HZ_PER_UNIT:
        hint = " (that is a time)" if unit in PS_PER_UNIT else ""
        raise UnitError(
            f"{field}: unknown frequency unit {unit!r} in {value!r}{hint}; use Hz, kHz, MHz or GHz"
        )
    return float(number * HZ_PER_UNIT[unit])


def parse_power_w(value: str | float, field: str = "power") -> float:
    """Parse an optical power into watts (``"2 uW"`` -> ``2e-6``); a bare number is taken as
    watts."""
    if isinstance(value, bool):
        raise UnitError(f"{field}: expected a power such as '2 uW', got {value!r}")
    if isinstance(value, Real):
        return float(value)
    if not isinstance(value, str):
        raise UnitError(f"{field}: expected a power such as '2 uW', got {type(value).__name__}")
    number, unit = _split(value, field)
    if unit not in W_PER_UNIT:
        raise UnitError(
            f"{field}: unknown power unit {unit!r} in {value!r}; use W, mW, uW, nW or pW"
        )
    return float(number * W_PER_UNIT[unit])


def parse_period_ps(value: str | float, field: str = "period") -> float:
    """Parse a repetition period given either as a time (``"12.5 ns"``) or a rate (``"80 MHz"``).

    Returns the period in picoseconds as a float, since a rate such as 76 MHz has no whole-ps
    period.
    """
    if isinstance(value, str):
        _, unit = _split(value, field)
        if unit in HZ_PER_UNIT:
            hz = parse_frequency(value, field)
            if hz <= 0:
                raise UnitError(f"{field}: a repetition rate must be positive, got {value!r}")
            return PS_PER_S / hz
        return float(parse_time(value, field))
    if isinstance(value, bool) or not isinstance(value, Real):
        raise UnitError(f"{field}: expected a period such as '12.5 ns' or '80 MHz', got {value!r}")
    return float(value)


def format_time(ps: float) -> str:
    """Format picoseconds with the largest unit that keeps the number at or above one."""
    units = ("s", "ms", "us", "ns", "ps")
    magnitude = abs(ps)
    for i, unit in enumerate(units):
        if magnitude >= PS_PER_UNIT[unit] or unit == "ps":
            text = f"{ps / PS_PER_UNIT[unit]:.6g}"
            if i > 0 and abs(float(text)) >= 1000:  # 999.9999999 ms rounds to "1000": 1 s
                unit = units[i - 1]
                text = f"{ps / PS_PER_UNIT[unit]:.6g}"
            return f"{text} {unit}"
    raise AssertionError("unreachable")


def format_frequency(hz: float, digits: int = 6) -> str:
    """Format a rate in Hz with the largest of GHz, MHz, kHz, Hz that keeps it at or above
    one, to ``digits`` significant digits."""
    for unit in ("GHz", "MHz", "kHz"):
        scale = HZ_PER_UNIT[unit]
        if abs(hz) >= scale:
            return f"{hz / scale:.{digits}g} {unit}"
    return f"{hz:.{digits}g} Hz"


def parse_time_range(value, field: str = "range") -> tuple[int, int] | None:
    """Parse ``(start, stop)`` times into picoseconds; ``None`` stays ``None``."""
    if value is None:
        return None
    try:
        start, stop = value
    except (TypeError, ValueError):
        raise UnitError(f"{field}: expected (start, stop), got {value!r}") from None
    return parse_time(start, f"{field} start"), parse_time(stop, f"{field} stop")


#: Relative tolerance for a unit to count as a whole number of ps.
WHOLE_PS = 1e-9


def ps_factors(unit_ps: float) -> tuple[int, int, float]:
    """How :func:`to_ps` converts counts of ``unit_ps``: ``(whole, floor, fraction)``.

    ``whole`` is the unit in ps when it is a whole number of ps (within :data:`WHOLE_PS`),
    else 0; then ``raw * floor + rint(raw * fraction)`` is the conversion.
    """
    whole = round(unit_ps)
    if whole >= 1 and abs(unit_ps - whole) <= WHOLE_PS * unit_ps:
        return whole, whole, 0.0
    floor = math.floor(unit_ps)
    return 0, floor, unit_ps - floor


def to_ps(raw: np.ndarray, unit_ps: float) -> np.ndarray:
    """Integer counts of ``unit_ps`` as int64 ps, rounded to the nearest ps (ties to even).

    Computed as ``raw * floor(u) + round(raw * (u - floor(u)))`` so that long runs lose no
    precision; units that are whole picoseconds (within :data:`WHOLE_PS`) convert exactly.
    """
    raw = np.asarray(raw).astype(np.int64, copy=False)
    whole, floor, fraction = ps_factors(unit_ps)
    if whole:
        return raw if whole == 1 else raw * whole
    return raw * floor + np.rint(raw * fraction).astype(np.int64)
